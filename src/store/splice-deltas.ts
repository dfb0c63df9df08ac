// What a spliced delta upload (splice.ts) writes from what it knows instead of
// comparing its texts again: which lines it copied (TextHints, used by the
// line delta encoder, encoding.ts, to skip comparisons: same bytes stored) and
// which counters it copied (a `counters-delta` blob: the counters that moved
// since a whole `counters` blob, blobs.ts). Pure: no database here.
import { ByteReader, ByteWriter, readDeltaOps, zigzag } from './encoding.ts';
import { decodeCounters, encodeCounters, type CounterText } from './counters-codec.ts';

/**
 * What a spliced delta upload (splice.ts) knows of its two texts' lines, so
 * the store's line deltas compare only the lines it does not know
 * (`encodeLineDeltaBy`'s `known`; the stored bytes are the same as without).
 */
export interface TextHints {
  /** sha256 of the base version's canonical text. */
  readonly baseCanonical: string;
  /** Per line of the new canonical text: the base canonical line it is (a chain copied whole), or -1. */
  readonly canonicalFrom: Int32Array;
  /** Per line of the new canonical text: 1 when its counter is not the one its `canonicalFrom` line had (the script's overrides). */
  readonly countersMoved: Uint8Array;
  /** sha256 of the base upload (the text the script was applied to). */
  readonly baseOriginal: string;
  /** Per line of the uploaded text: the base upload line it copies as it was (its counter too), or -1. */
  readonly originalFrom: Int32Array;
  /** Per counter slot (the canonical text's order): the base upload's slot whose counter it is, or -1 (moved, or of a changed chain). */
  readonly countersFrom: Int32Array;
}

/**
 * Where each line of a delta's target comes from: its base line (0-based), or
 * -1 for an inserted line. Reads only the op stream (a few bytes for a
 * fleet's deltas); `baseLength` bounds the copies. Throws on a malformed one.
 */
export function lineDeltaSources(payload: Uint8Array, baseLength: number): Int32Array {
  const { ops } = readDeltaOps(new ByteReader(payload), payload.length, baseLength, 'line delta');
  let total = 0;
  for (let k = 1; k < ops.length; k += 2) total += ops[k]!;
  const out = new Int32Array(total);
  let t = 0;
  for (let k = 0; k < ops.length; k += 2) {
    const start = ops[k]!;
    const count = ops[k + 1]!;
    if (start < 0) out.fill(-1, t, t + count);
    else for (let j = 0; j < count; j++) out[t + j] = start + j;
    t += count;
  }
  return out;
}

// ------------------------------------------------------------- counters deltas

const COUNTERS_DELTA_VERSION = 1;

/**
 * Counters as a delta of whole counters F (a `counters` blob): `from[s]` is
 * the slot of F counter s equals, or -1. Payload: a version byte, the slot
 * count, the varint length of the op stream, the ops (varint `count*2+kind`:
 * kind 0 copies `count` slots of F from a zigzag offset to where the last copy
 * ended, kind 1 takes the next `count` literal counters), then the literal
 * counters as `encodeCounters` writes them.
 */
export function encodeCountersDelta(from: Int32Array, counters: readonly CounterText[]): Buffer {
  const ops = new ByteWriter();
  const literal: CounterText[] = [];
  let expected = 0;
  for (let s = 0; s < from.length; ) {
    let n = 1;
    if (from[s]! < 0) {
      while (s + n < from.length && from[s + n]! < 0) n++;
      for (let k = 0; k < n; k++) literal.push(counters[s + k]!);
      ops.uint(n * 2 + 1);
    } else {
      while (s + n < from.length && from[s + n] === from[s]! + n) n++;
      ops.uint(n * 2);
      ops.uint(zigzag(from[s]! - expected));
      expected = from[s]! + n;
    }
    s += n;
  }
  const opBytes = ops.finish();
  const out = new ByteWriter();
  out.byte(COUNTERS_DELTA_VERSION);
  out.uint(from.length);
  out.uint(opBytes.length);
  out.bytes(opBytes);
  out.bytes(encodeCounters(literal));
  return out.finish();
}

/** A counters delta's slots: per slot, the slot of F it copies, or -1; and its literal counters in order. */
export function countersDeltaSources(payload: Uint8Array, baseLength: number): { from: Int32Array; literal: CounterText[] } {
  const r = new ByteReader(payload);
  const version = r.uint();
  if (version !== COUNTERS_DELTA_VERSION) throw new Error(`counters delta encoding version ${version} is not supported`);
  const from = new Int32Array(r.uint());
  const { ops, opsEnd } = readDeltaOps(r, payload.length, baseLength, 'counters delta');
  let s = 0;
  let literals = 0;
  for (let k = 0; k < ops.length; k += 2) {
    const start = ops[k]!;
    const count = ops[k + 1]!;
    if (s + count > from.length) throw new Error('counters delta: too many slots');
    if (start < 0) {
      from.fill(-1, s, s + count);
      literals += count;
    } else {
      for (let j = 0; j < count; j++) from[s + j] = start + j;
    }
    s += count;
  }
  if (s !== from.length) throw new Error('counters delta: malformed op stream');
  const literal = decodeCounters(payload.subarray(opsEnd));
  if (literal.length !== literals) throw new Error('counters delta: literal counters do not match the ops');
  return { from, literal };
}

/** The counters a delta of `base` (whole counters) holds. */
export function applyCountersDelta(base: readonly CounterText[], payload: Uint8Array): CounterText[] {
  const { from, literal } = countersDeltaSources(payload, base.length);
  const out = new Array<CounterText>(from.length);
  let next = 0;
  for (let s = 0; s < from.length; s++) out[s] = from[s]! >= 0 ? base[from[s]!]! : literal[next++]!;
  return out;
}
