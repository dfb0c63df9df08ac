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
// - Counters: `[packets:bytes]` of every chain declaration and rule line of
//   the canonical text, in text order, as varints. The canonical text gives
//   them their meaning (which table, chain and rule), so the encoding carries
//   no names; `countersJsonOf` rebuilds the API's JSON from the two.
// - Counted text: the canonical text with counters merged back in, as
//   `iptables-save -c` prints it. Uploaded `iptables-save` texts are stored as a
//   line delta against it (typically only the `# Generated`/`# Completed`
//   comment lines differ).

/** Bytes written by a growable buffer of varints. */
class ByteWriter {
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

class ByteReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An unsigned LEB128 as a decimal string (exact beyond 2^53). */
  decimal(): string {
    let n = 0;
    let scale = 1;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      if (scale < 2 ** 46) {
        n += (b & 0x7f) * scale;
        scale *= 0x80;
        if (!(b & 0x80)) return String(n);
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

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

// ---------------------------------------------------------------- line deltas

/** The lines of a text: `splitLines(t).join('\n') === t`. */
export const splitLines = (text: string): string[] => text.split('\n');

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

/**
 * `target` as a delta of `base`. Payload: varint length of the op stream, the
 * ops, then the inserted lines joined by '\n'. An op is a varint `count*2+kind`:
 * kind 0 copies `count` base lines starting at (zigzag varint) offset from
 * where the previous copy ended; kind 1 takes the next `count` inserted lines.
 */
export function encodeLineDelta(base: readonly string[], target: readonly string[], index: Map<string, number> = lineIndex(base)): LineDelta {
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
  let i = 0;
  while (i < target.length) {
    const line = target[i]!;
    let start = expected < base.length && base[expected] === line ? expected : (index.get(line) ?? -1);
    if (start >= 0) {
      let n = 1;
      while (i + n < target.length && start + n < base.length && base[start + n] === target[i + n]) n++;
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

/** The target lines of a delta made by `encodeLineDelta` against `base`. */
export function applyLineDelta(base: readonly string[], payload: Uint8Array): string[] {
  const r = new ByteReader(payload);
  const opsLength = r.uint();
  const opsEnd = r.pos + opsLength;
  if (opsEnd > payload.length) throw new Error('line delta: truncated op stream');
  const literalBytes = payload.subarray(opsEnd);
  const literal = literalBytes.length ? Buffer.from(literalBytes.buffer, literalBytes.byteOffset, literalBytes.byteLength).toString('utf8') : '';
  let literalLines: string[] | null = null;
  let nextLiteral = 0;
  const out: string[] = [];
  let expected = 0;
  while (r.pos < opsEnd) {
    const head = r.uint();
    const count = Math.floor(head / 2);
    if (head % 2 === 0) {
      const start = expected + unzigzag(r.uint());
      if (start < 0 || start + count > base.length) throw new Error('line delta: copy outside the base');
      for (let k = 0; k < count; k++) out.push(base[start + k]!);
      expected = start + count;
    } else {
      literalLines ??= literal.split('\n');
      if (nextLiteral + count > literalLines.length) throw new Error('line delta: too few inserted lines');
      for (let k = 0; k < count; k++) out.push(literalLines[nextLiteral++]!);
    }
  }
  if (r.pos !== opsEnd) throw new Error('line delta: malformed op stream');
  return out;
}

// ------------------------------------------------------------------- counters

/** One counter as `packets:bytes` (decimal, exact), or null for "none". */
export type CounterText = string | null;

/** Where a counter of a canonical text goes: the line of a chain declaration (policy) or rule, and its table and chain. */
interface CounterSlot {
  readonly line: number;
  readonly kind: 'policy' | 'rule';
  readonly table: string;
  readonly chain: string;
}

/** A canonical text split into lines, with the places of its counters. */
export interface CanonicalLayout {
  readonly lines: readonly string[];
  readonly slots: readonly CounterSlot[];
}

/**
 * The chain declarations and rules of a canonical (packetpath-rendered)
 * iptables-save text, in text order: `*table`, `:CHAIN POLICY [0:0]`,
 * `-A CHAIN ...`.
 */
export function canonicalLayout(text: string | readonly string[]): CanonicalLayout {
  const lines = typeof text === 'string' ? splitLines(text) : text;
  const slots: CounterSlot[] = [];
  let table = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.charCodeAt(0);
    if (c === 42 /* * */) table = line.slice(1);
    else if (c === 58 /* : */) {
      const sp = line.indexOf(' ');
      slots.push({ line: i, kind: 'policy', table, chain: line.slice(1, sp < 0 ? undefined : sp) });
    } else if (c === 45 /* - */ && line.startsWith('-A ')) {
      const sp = line.indexOf(' ', 3);
      slots.push({ line: i, kind: 'rule', table, chain: line.slice(3, sp < 0 ? undefined : sp) });
    }
  }
  return { lines, slots };
}

const layoutOf = (canonical: string | CanonicalLayout): CanonicalLayout => (typeof canonical === 'string' ? canonicalLayout(canonical) : canonical);

type CountersJson = Record<string, Record<string, { policy: CounterText; rules: CounterText[] }>>;

/**
 * The counters of `countersJson` (ingest.ts `extractCounters`) in the text
 * order of the canonical text, or null when the two do not line up exactly
 * (same tables and chains in the same order, same rule counts), so that
 * `countersJsonOf` gives `countersJson` back; a caller then keeps the JSON.
 */
export function countersInTextOrder(canonical: string | CanonicalLayout, countersJson: string): CounterText[] | null {
  const json = JSON.parse(countersJson) as CountersJson;
  const { slots } = layoutOf(canonical);
  const out: CounterText[] = new Array<CounterText>(slots.length);
  // Walk the JSON in its key order alongside the declarations in text order.
  const tables = Object.keys(json);
  let ti = -1;
  let table = '';
  let chainKeys: string[] = [];
  let ci = 0;
  const seen = new Set<string>();
  const next = new Map<string, number>();
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s.table !== table || ti < 0) {
      // A new table section must be the JSON's next table, and the previous one must be used up.
      if (ti >= 0 && ci !== chainKeys.length) return null;
      if (seen.has(s.table) || tables[++ti] !== s.table) return null;
      seen.add(s.table);
      table = s.table;
      chainKeys = Object.keys(json[table]!);
      ci = 0;
    }
    const chain = json[table]![s.chain];
    if (!chain) return null;
    if (s.kind === 'policy') {
      if (chainKeys[ci++] !== s.chain) return null;
      out[i] = chain.policy;
    } else {
      const key = `${table}\0${s.chain}`;
      const k = next.get(key) ?? 0;
      if (k >= chain.rules.length) return null;
      out[i] = chain.rules[k]!;
      next.set(key, k + 1);
    }
  }
  if (ti + 1 !== tables.length || (ti >= 0 && ci !== chainKeys.length)) return null;
  // Every chain's rules used up (declared chains without rules have none to use).
  for (const t of tables) for (const [name, c] of Object.entries(json[t]!)) if ((next.get(`${t}\0${name}`) ?? 0) !== c.rules.length) return null;
  return out;
}

/** True when the counters say nothing: no rule counter, and every policy counter absent or `0:0`. */
export function countersAreEmpty(canonical: string | CanonicalLayout, counters: readonly CounterText[]): boolean {
  const { slots } = layoutOf(canonical);
  return slots.every((s, i) => counters[i] === null || (s.kind === 'policy' && counters[i] === '0:0'));
}

/** The API's counters JSON object from the canonical text and its counters in text order. */
export function countersJsonOf(canonical: string | CanonicalLayout, counters: readonly CounterText[]): CountersJson {
  const { slots } = layoutOf(canonical);
  if (slots.length !== counters.length) throw new Error(`counters: ${counters.length} stored for ${slots.length} slots of the canonical text`);
  const out: CountersJson = {};
  slots.forEach((s, i) => {
    const table = (out[s.table] ??= {});
    if (s.kind === 'policy') table[s.chain] = { policy: counters[i]!, rules: [] };
    else {
      const chain = table[s.chain];
      if (!chain) throw new Error(`counters: rule of undeclared chain ${s.chain}`);
      chain.rules.push(counters[i]!);
    }
  });
  return out;
}

const COUNTERS_VERSION = 1;

/**
 * Counters as bytes: a version byte, the count, then one varint per counter
 * (0: none, else packets + 1), then one varint of bytes per present counter.
 * Packets first and bytes after keep similar numbers together for deflate.
 */
export function encodeCounters(counters: readonly CounterText[]): Buffer {
  const head = new ByteWriter();
  head.byte(COUNTERS_VERSION);
  head.uint(counters.length);
  const bytes = new ByteWriter();
  for (const c of counters) {
    if (c === null) {
      head.uint(0);
      continue;
    }
    const colon = c.indexOf(':');
    const p = c.slice(0, colon);
    const b = c.slice(colon + 1);
    if (p.length < 16) head.uint(Number(p) + 1);
    else head.big(BigInt(p) + 1n);
    if (b.length < 16) bytes.uint(Number(b));
    else bytes.big(BigInt(b));
  }
  head.bytes(bytes.finish());
  return head.finish();
}

export function decodeCounters(data: Uint8Array): CounterText[] {
  const r = new ByteReader(data);
  const version = r.uint();
  if (version !== COUNTERS_VERSION) throw new Error(`counters encoding version ${version} is not supported`);
  const n = r.uint();
  const packets: (string | null)[] = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const p = r.decimal();
    packets[i] = p === '0' ? null : p.length < 16 ? String(Number(p) - 1) : (BigInt(p) - 1n).toString();
  }
  const out: CounterText[] = new Array<CounterText>(n);
  for (let i = 0; i < n; i++) out[i] = packets[i] === null ? null : `${packets[i]}:${r.decimal()}`;
  if (!r.done) throw new Error('counters: trailing bytes');
  return out;
}

/**
 * The canonical text's lines with its counters put back, as `iptables-save -c`
 * prints them: `:CHAIN POLICY [p:b]` and `[p:b] -A CHAIN ...` (absent counters
 * leave the line as it is).
 */
export function countedLines(canonical: readonly string[] | CanonicalLayout, counters: readonly CounterText[] | null): string[] {
  const layout = Array.isArray(canonical) ? null : (canonical as CanonicalLayout);
  const out = (layout ? layout.lines : (canonical as readonly string[])).slice();
  if (!counters) return out;
  const slots = layout ? layout.slots : canonicalLayout(out).slots;
  if (slots.length !== counters.length) throw new Error(`counters: ${counters.length} stored for ${slots.length} slots of the canonical text`);
  slots.forEach((s, i) => {
    const c = counters[i];
    if (c === null || c === undefined) return;
    const line = out[s.line]!;
    if (s.kind === 'rule') out[s.line] = `[${c}] ${line}`;
    else {
      const at = line.lastIndexOf(' [');
      out[s.line] = `${at < 0 ? line : line.slice(0, at)} [${c}]`;
    }
  });
  return out;
}
