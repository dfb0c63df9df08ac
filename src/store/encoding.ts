// Compact encodings of what the store keeps per dump, so a fleet's nearly
// identical dumps cost a few hundred bytes each instead of a full text.
// Pure: no database here (blobs.ts stores and resolves them).
//
// - Line deltas: a text as copies of line runs of a base text plus inserted
//   literal lines. Lines are split on '\n' only ('\r' stays part of a line), so
//   `lines.join('\n')` is the text again, byte for byte, with or without a
//   final newline. The encoder anchors on lines: linear time, any size, and
//   moved blocks cost a copy each (kube-proxy dumps of one cluster differ in a
//   few lines, scattered through the text).
// Counters and counted texts are in counters-codec.ts.
import { runSteps, type Steps } from '../netfilter/steps.ts';

/** Bytes written by a growable buffer of varints. */
export class ByteWriter {
  #buf = Buffer.allocUnsafe(256);
  #len = 0;

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  uint(n: number): void {
    this.#room(8);
    while (n >= 0x80) {
      this.#buf[this.#len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#len++] = n;
  }

  /** Unsigned LEB128 of a non-negative bigint of any size. */
  big(n: bigint): void {
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return this.uint(Number(n));
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

export class ByteReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An unsigned LEB128 as a decimal string (exact beyond 2^53). */
  decimal(): string {
    const n = this.exact();
    return typeof n === 'number' ? String(n) : n;
  }

  /** An unsigned LEB128: a number when below 2^49 (exact), else its decimal string. */
  exact(): number | string {
    let n = 0;
    let scale = 1;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      if (scale < 2 ** 46) {
        n += (b & 0x7f) * scale;
        scale *= 0x80;
        if (!(b & 0x80)) return n;
      } else {
        // Long varint: redo it with bigints.
        this.pos = start;
        return this.#bigDecimal();
      }
    }
  }

  #bigDecimal(): string {
    let n = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      n |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return n.toString();
    }
  }

  uint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (!(b & 0x80)) return n;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Error('varint too long');
    }
  }
}

export const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
export const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

// ---------------------------------------------------------------- line deltas

/** The lines of a text: `splitLines(t).join('\n') === t`. */
export const splitLines = (text: string): string[] => text.split('\n');

/** The length of `lines` joined by newlines (the text they were split from), without joining them. */
export function joinedLength(lines: readonly string[]): number {
  let n = lines.length - 1;
  for (const l of lines) n += l.length;
  return n;
}

/** First position of each line in `lines`. */
export function lineIndex(lines: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) if (!index.has(lines[i]!)) index.set(lines[i]!, i);
  return index;
}

export interface LineDelta {
  /** The encoded delta (see `encodeLineDelta`), not compressed. */
  readonly payload: Buffer;
  /** UTF-16 length of the inserted (literal) lines: what the base did not provide. */
  readonly literalChars: number;
  /** Lines copied from the base. */
  readonly copiedLines: number;
}

/** How far a mismatch looks around the expected base line before asking the index. */
const WINDOW = 4;

/**
 * `target` as a delta of `base`. Payload: varint length of the op stream, the
 * ops, then the inserted lines joined by '\n'. An op is a varint `count*2+kind`:
 * kind 0 copies `count` base lines starting at (zigzag varint) offset from
 * where the previous copy ended; kind 1 takes the next `count` inserted lines.
 *
 * Lines are matched where the previous copy ended first; a mismatch looks a
 * few lines ahead on both sides (a few lines deleted, or inserted) and only
 * then asks the index of the base's lines (`index`, built on first need when
 * not given or given as a function): the usual delta, a few scattered edits,
 * never builds it.
 */
export function encodeLineDelta(
  base: readonly string[],
  target: readonly string[],
  index?: Map<string, number> | (() => Map<string, number>),
  known?: Int32Array,
): LineDelta {
  let built: Map<string, number> | undefined = index instanceof Map ? index : undefined;
  const lookup = (line: string): number => {
    built ??= typeof index === 'function' ? index() : lineIndex(base);
    return built.get(line) ?? -1;
  };
  return encodeLineDeltaBy({ length: base.length, same: (b, line) => base[b] === line, lookup }, target, known);
}

/**
 * A base text's lines as the delta encoder asks about them: whether base line
 * `b` is `line`, and the first base line equal to a line (-1: none).
 * Lets a base that is not materialized as strings (the canonical text with
 * counters merged in, say) be compared without making its lines.
 */
export interface DeltaBaseLines {
  readonly length: number;
  readonly same: (b: number, line: string) => boolean;
  readonly lookup: (line: string) => number;
}

/**
 * `encodeLineDelta` against a base described by `DeltaBaseLines`: the same payload.
 *
 * `known` (optional, one entry per target line): `known[i] = b ≥ 0` says that
 * target line i is base line b (a delta upload knows this of every line it
 * copied: splice.ts), so that comparison is answered without looking at the
 * lines; any other is made as usual. The payload is the same as without it
 * (a comparison it answers would have said the same), so a re-upload's deltas
 * cost a pass over typed arrays instead of 235k string comparisons.
 */
export function encodeLineDeltaBy(base: DeltaBaseLines, target: readonly string[], known?: Int32Array): LineDelta {
  const { lookup } = base;
  const same = known ? (b: number, i: number): boolean => known[i] === b || base.same(b, target[i]!) : (b: number, i: number): boolean => base.same(b, target[i]!);
  const ops = new ByteWriter();
  const literal: string[] = [];
  let literalChars = 0;
  let copiedLines = 0;
  let pendingInsert = 0;
  let expected = 0;
  const flushInsert = (): void => {
    if (pendingInsert) ops.uint(pendingInsert * 2 + 1);
    pendingInsert = 0;
  };
  /** Where to copy `target[i]` from, or -1 to insert it. */
  const startFor = (i: number): number => {
    const line = target[i]!;
    if (expected < base.length && same(expected, i)) return expected;
    // A few base lines deleted: the line (and the next) a little further on.
    for (let k = 1; k <= WINDOW && expected + k < base.length; k++) {
      if (same(expected + k, i) && (i + 1 >= target.length || (expected + k + 1 < base.length && same(expected + k + 1, i + 1)))) return expected + k;
    }
    // A few lines inserted: the expected base line comes back shortly.
    if (expected < base.length) for (let k = 1; k <= WINDOW && i + k < target.length; k++) if (same(expected, i + k)) return -1;
    return lookup(line);
  };
  let i = 0;
  while (i < target.length) {
    const line = target[i]!;
    let start = startFor(i);
    if (start >= 0) {
      let n = 1;
      for (;;) {
        // Known lines first, in a plain loop over the typed array (a re-upload's copies are runs of them).
        if (known) while (i + n < target.length && start + n < base.length && known[i + n] === start + n) n++;
        if (i + n < target.length && start + n < base.length && base.same(start + n, target[i + n]!)) n++;
        else break;
      }
      // A lone short line copied from elsewhere (COMMIT, a blank line) is cheaper inline.
      if (n === 1 && start !== expected && line.length < 8) start = -1;
      else {
        flushInsert();
        ops.uint(n * 2);
        ops.uint(zigzag(start - expected));
        expected = start + n;
        copiedLines += n;
        i += n;
        continue;
      }
    }
    literal.push(line);
    literalChars += line.length + 1;
    pendingInsert++;
    i++;
  }
  flushInsert();
  const opBytes = ops.finish();
  const out = new ByteWriter();
  out.uint(opBytes.length);
  out.bytes(opBytes);
  out.bytes(Buffer.from(literal.join('\n'), 'utf8'));
  return { payload: out.finish(), literalChars, copiedLines };
}

/**
 * A line delta's op stream (`encodeLineDelta`'s; a counters delta has the same one), read from `r`
 * at its length prefix: pairs (start, count) per op, `start` the base index a run is copied from or
 * -1 for `count` inserted items, and `opsEnd`, where the inserted items begin. Throws `${what}: ...`
 * when the stream is truncated or malformed or a copy lies outside a base of `baseLength`.
 */
export function readDeltaOps(r: ByteReader, payloadLength: number, baseLength: number, what: string): { ops: number[]; opsEnd: number } {
  const opsEnd = r.uint() + r.pos;
  if (opsEnd > payloadLength) throw new Error(`${what}: truncated op stream`);
  const ops: number[] = [];
  let expected = 0;
  while (r.pos < opsEnd) {
    const head = r.uint();
    const count = Math.floor(head / 2);
    let start = -1;
    if (head % 2 === 0) {
      start = expected + unzigzag(r.uint());
      if (start < 0 || start + count > baseLength) throw new Error(`${what}: copy outside the base`);
      expected = start + count;
    }
    ops.push(start, count);
  }
  if (r.pos !== opsEnd) throw new Error(`${what}: malformed op stream`);
  return { ops, opsEnd };
}

/** The target lines of a delta made by `encodeLineDelta` against `base`. */
export function applyLineDelta(base: readonly string[], payload: Uint8Array): string[] {
  return runSteps(applyLineDeltaSteps(base, payload));
}

/** Lines a step makes or walks before it may pause (a 10k-Service text: ~235k lines, 20-300 ms per pass). */
export const LINES_PER_STEP = 4096;

/** `applyLineDelta` in steps that pause every `LINES_PER_STEP` lines (for a server's event loop). */
export function* applyLineDeltaSteps(base: readonly string[], payload: Uint8Array): Steps<string[]> {
  const { ops, opsEnd } = readDeltaOps(new ByteReader(payload), payload.length, base.length, 'line delta');
  const literalBytes = payload.subarray(opsEnd);
  const literal = literalBytes.length ? Buffer.from(literalBytes.buffer, literalBytes.byteOffset, literalBytes.byteLength).toString('utf8') : '';
  let literalLines: string[] | null = null;
  let nextLiteral = 0;
  const out: string[] = [];
  let pauseAt = LINES_PER_STEP;
  for (let k = 0; k < ops.length; k += 2) {
    const start = ops[k]!;
    const count = ops[k + 1]!;
    if (start >= 0) {
      for (let j = 0; j < count; j++) {
        out.push(base[start + j]!);
        if (out.length >= pauseAt) {
          yield;
          pauseAt += LINES_PER_STEP;
        }
      }
    } else {
      literalLines ??= literal.split('\n');
      if (nextLiteral + count > literalLines.length) throw new Error('line delta: too few inserted lines');
      for (let j = 0; j < count; j++) out.push(literalLines[nextLiteral++]!);
    }
  }
  return out;
}

/**
 * `lines.join('\n')` in steps of `LINES_PER_STEP` lines: the pieces are joined, then
 * concatenated (V8 keeps the concatenation as a rope until the text is read through).
 */
export function* joinLinesSteps(lines: readonly string[]): Steps<string> {
  if (lines.length <= LINES_PER_STEP) return lines.join('\n');
  let text = lines.slice(0, LINES_PER_STEP).join('\n');
  for (let i = LINES_PER_STEP; i < lines.length; i += LINES_PER_STEP) {
    yield;
    text += '\n' + lines.slice(i, i + LINES_PER_STEP).join('\n');
  }
  return text;
}

/**
 * Whether a delta made by `encodeLineDeltaBy` against `base` gives `target`
 * (checked with the base's `same`, without making the result's lines): the
 * op stream decodes to exactly the target's line count, every inserted line
 * is the target's, and each copied run starts and ends on lines equal to the
 * target's (the encoder compared every line of a run as it made it).
 */
export function deltaGives(base: DeltaBaseLines, payload: Uint8Array, target: readonly string[]): boolean {
  try {
    const { ops, opsEnd } = readDeltaOps(new ByteReader(payload), payload.length, base.length, 'line delta');
    const literalBytes = payload.subarray(opsEnd);
    const literal = Buffer.from(literalBytes.buffer, literalBytes.byteOffset, literalBytes.byteLength).toString('utf8').split('\n');
    let nextLiteral = 0;
    let t = 0;
    for (let k = 0; k < ops.length; k += 2) {
      const start = ops[k]!;
      const count = ops[k + 1]!;
      if (start >= 0) {
        if (t + count > target.length) return false;
        if (count > 0 && (!base.same(start, target[t]!) || !base.same(start + count - 1, target[t + count - 1]!))) return false;
        t += count;
      } else {
        for (let j = 0; j < count; j++) if (target[t++] !== literal[nextLiteral++]) return false;
      }
    }
    return t === target.length && (nextLiteral === literal.length || (nextLiteral === 0 && literalBytes.length === 0));
  } catch {
    return false;
  }
}
