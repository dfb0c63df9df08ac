// Content-addressed texts. A dump version points at blobs by sha256, so the
// same canonical ruleset uploaded by 1,000 nodes is stored once; a nearly
// identical one (another node of the cluster, the node's next version) is
// stored as a line delta of a whole text, and an uploaded iptables-save text
// as a line delta of its canonical text with the counters merged back in.
//
// Encodings (Blob.encoding):
//   identity, gzip   the whole text
//   delta            deflate-raw line delta of the text of `baseSha256`, which
//                    is stored whole (one level: reads fetch two blobs)
//   counted-delta    deflate-raw line delta of the text of `baseSha256` (a
//                    canonical text, whole or `delta`) with the counters of
//                    `countersSha256` merged in
//   counters         deflate-raw varint counters (encoding.ts), not a text
//   counters-delta   deflate-raw counters as a delta of the `counters` blob
//                    `baseSha256` (splice-deltas.ts): the counters that moved
//                    since it (a spliced delta upload's; one level)
// A blob referenced by another blob (`baseOf`, `mergedInto`) or by a dump is
// never deleted; `deleteUnreferencedBlobs` follows the references down.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { deflateRawSync, gunzip, gzip, inflateRaw, inflateRawSync } from 'node:zlib';
import type { LRUCache } from 'lru-cache';
import { providerOf, writeConnection, type Client } from './db.ts';
import { decodeLinesSteps, decodeText, decodeTextSteps } from './charset.ts';
import type { DeltaBase, DeltaBaseCache } from './delta-cache.ts';
export { createDeltaBaseCache, type DeltaBaseCache } from './delta-cache.ts';
import { applyCountersDelta, countersDeltaSources, encodeCountersDelta, lineDeltaSources, type TextHints } from './splice-deltas.ts';
import { sha256Hex } from './hash.ts';
import { applyLineDeltaSteps, deltaGives, encodeLineDelta, encodeLineDeltaBy, joinedLength, joinLinesSteps, lineIndex, splitLines } from './encoding.ts';
import { canonicalLayoutSteps, countedBase, countedLinesSteps, type CanonicalLayout, countersJsonOf, decodeCounters, decodeCountersSteps, encodeCounters, type CounterText } from './counters-codec.ts';
import { runSteps, type Steps } from '../netfilter/steps.ts';
import { EVENT_LOOP_TURNS, runStepsYielding, type ParseYielding } from './yielding.ts';

/** Texts at least this long are stored gzip-compressed. */
const COMPRESS_FROM_BYTES = 1024;
/** Texts shorter than this are always stored whole (a delta would not pay for its row). */
const DELTA_FROM_BYTES = 4096;
/** A delta is kept when its compressed size is at most this fraction of the text's size (≈ a third of its gzip). */
const DELTA_MAX_RATIO = 1 / 20;
/** Candidates whose inserted lines exceed this fraction of the text are not even compressed. */
const DELTA_MAX_LITERAL = 1 / 4;
/**
 * A guard, not a limit the layout reaches: deltas are written against whole
 * texts (canonical) or canonical texts (uploads), so a read is at most
 * counted-delta → delta → whole. Blobs can only reference older blobs, so
 * there are no cycles.
 */
const MAX_DEPTH = 8;


const bufferOf = (data: Uint8Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

async function exists(tx: Client, sha256: string): Promise<boolean> {
  return (await tx.blob.findUnique({ where: { sha256 }, select: { sha256: true } })) !== null;
}

// Blob data goes in and out through raw SQL: Prisma's driver adapter turns
// every Bytes value into a JS array of numbers and back (≈ 50 ms per MB each
// way); a Buffer parameter and hex(data) cost a few ms per MB. PostgreSQL:
// a hex text parameter decoded to bytea, encode(data, 'hex') back (pg sends a
// Buffer as hex text anyway), and ON CONFLICT DO NOTHING, because uploads to
// different nodes run concurrently there and may store the same new text.

interface NewBlob {
  sha256: string;
  size: number;
  encoding: string;
  data: Uint8Array;
  baseSha256?: string | null;
  countersSha256?: string | null;
}

const INSERT_BLOB = 'INSERT INTO "Blob" ("sha256", "size", "encoding", "data", "baseSha256", "countersSha256") VALUES (?, ?, ?, ?, ?, ?)';
const INSERT_BLOB_PG =
  'INSERT INTO "Blob" ("sha256", "size", "encoding", "data", "baseSha256", "countersSha256") VALUES ($1, $2, $3, decode($4, \'hex\'), $5, $6) ON CONFLICT ("sha256") DO NOTHING';

async function insertBlob(tx: Client, b: NewBlob): Promise<void> {
  if (providerOf(tx) === 'postgresql') {
    await tx.$executeRawUnsafe(INSERT_BLOB_PG, b.sha256, b.size, b.encoding, bufferOf(b.data).toString('hex'), b.baseSha256 ?? null, b.countersSha256 ?? null);
    return;
  }
  const args = [b.sha256, b.size, b.encoding, Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), b.baseSha256 ?? null, b.countersSha256 ?? null] as const;
  const connection = writeConnection(tx);
  if (connection) connection.prepare(INSERT_BLOB).run(...args);
  else await tx.$executeRawUnsafe(INSERT_BLOB, ...args);
}

type BlobRead = { encoding: string; data: Buffer; baseSha256: string | null; countersSha256: string | null };

async function readBlob(tx: Client, sha256: string): Promise<BlobRead | null> {
  const rows = await tx.$queryRawUnsafe<{ encoding: string; hex: string; baseSha256: string | null; countersSha256: string | null }[]>(
    providerOf(tx) === 'postgresql'
      ? 'SELECT "encoding", encode("data", \'hex\') AS "hex", "baseSha256", "countersSha256" FROM "Blob" WHERE "sha256" = $1'
      : 'SELECT "encoding", hex("data") AS "hex", "baseSha256", "countersSha256" FROM "Blob" WHERE "sha256" = ?',
    sha256,
  );
  const r = rows[0];
  return r ? { encoding: r.encoding, data: Buffer.from(r.hex, 'hex'), baseSha256: r.baseSha256, countersSha256: r.countersSha256 } : null;
}

const FAST_GZIP_FROM_BYTES = 8 * 2 ** 20;
/** Stores `text` whole unless a blob with its sha256 exists; returns the sha256. */
export async function putBlob(tx: Client, text: string, sha256: string = sha256Hex(text)): Promise<string> {
  return putBytes(tx, Buffer.from(text, 'utf8'), sha256);
}

/** Stores bytes whole (any encoding: an upload that is not UTF-8) unless a blob with its sha256 exists. */
export async function putBytes(tx: Client, input: Uint8Array, sha256: string = sha256Hex(input)): Promise<string> {
  if (await exists(tx, sha256)) return sha256;
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const compress = bytes.length >= COMPRESS_FROM_BYTES;
  // Big texts are written inside the upload's request: gzip -1 is 2.5× faster than -6 for ~13% more bytes.
  const data = compress ? await gzipAsync(bytes, { level: bytes.length >= FAST_GZIP_FROM_BYTES ? 1 : 6 }) : bytes;
  await insertBlob(tx, { sha256, size: bytes.length, encoding: compress ? 'gzip' : 'identity', data });
  return sha256;
}

// zlib in libuv's thread pool: (un)zipping a 10k-Service text takes the event loop 100-300 ms.
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The bytes of a blob stored whole (`identity` / `gzip`). */
async function blobBytes(blob: { encoding: string; data: Uint8Array }): Promise<Buffer> {
  const buf = bufferOf(blob.data);
  if (blob.encoding === 'gzip') return gunzipAsync(buf);
  if (blob.encoding === 'identity') return buf;
  throw new Error(`blob encoding "${blob.encoding}" is not a whole text`);
}

/** The text of a blob stored whole (`identity` / `gzip`); bytes that are not UTF-8 read as Latin-1, as uploads do. */
export async function decodeBlob(blob: { encoding: string; data: Uint8Array }): Promise<string> {
  return decodeText(await blobBytes(blob)).text;
}

/** The bytes of a blob as stored: whole blobs as they were put, texts of deltas as UTF-8. Null when there is none. */
export async function getBlobBytes(tx: Client, sha256: string): Promise<Buffer | null> {
  const blob = await readBlob(tx, sha256);
  if (!blob) return null;
  if (blob.encoding === 'identity' || blob.encoding === 'gzip') return blobBytes(blob);
  const text = await textOf(tx, sha256, 0, EVENT_LOOP_TURNS);
  return text === null ? null : Buffer.from(text, 'utf8');
}

/**
 * How a read runs its CPU work (decoding, splitting, applying deltas, merging counters, joining):
 * `runStepsYielding` with the server's turns (a 10k-Service text is ~27 MB and 235k lines: a
 * second of work in one piece), or at once (no `yielding`: a write transaction's reads of bases).
 */
type Runner = <T>(steps: Steps<T>) => Promise<T>;

const runnerOf = (yielding: ParseYielding | undefined): Runner =>
  yielding ? (steps) => runStepsYielding(steps, yielding) : (steps) => Promise.resolve(runSteps(steps));

const inflateRawAsync = promisify(inflateRaw);

async function textOf(tx: Client, sha256: string, depth: number, yielding?: ParseYielding): Promise<string | null> {
  if (depth > MAX_DEPTH) throw new Error(`blob ${sha256}: deltas nested deeper than ${MAX_DEPTH}`);
  const blob = await readBlob(tx, sha256);
  if (!blob) return null;
  const run = runnerOf(yielding);
  if (blob.encoding === 'identity' || blob.encoding === 'gzip') return run(decodeTextSteps(await blobBytes(blob)));
  return run(joinLinesSteps(await deltaLines(tx, sha256, blob, depth, undefined, yielding)));
}

/** What `blobLines` may keep between reads (a fleet's delta bases: `DeltaBaseCache`). */
export type BlobLinesCache = Pick<DeltaBaseCache, 'wholeLines'> & Partial<Pick<DeltaBaseCache, 'counters' | 'layouts'>>;

/**
 * The lines of blob `sha256` (whole, `delta` or `counted-delta`, resolved):
 * exactly `getBlobText(tx, sha256).split('\n')`; null when there is no such
 * blob. With a cache (a fleet's delta bases, delta-base.ts), whole texts
 * reached as the base of a delta come from (and go to) `wholeLines`, the
 * blob asked for itself is not kept there; decoded counters and the counter
 * layout of kept whole lines are kept too.
 */
export async function blobLines(tx: Client, sha256: string, cache?: BlobLinesCache, depth = 0, yielding?: ParseYielding): Promise<readonly string[] | null> {
  if (depth > MAX_DEPTH) throw new Error(`blob ${sha256}: deltas nested deeper than ${MAX_DEPTH}`);
  const kept = depth > 0 ? cache?.wholeLines.get(sha256) : undefined;
  if (kept) return kept;
  const blob = await readBlob(tx, sha256);
  if (!blob) return null;
  if (blob.encoding !== 'identity' && blob.encoding !== 'gzip') return deltaLines(tx, sha256, blob, depth, cache, yielding);
  const lines = await runnerOf(yielding)(decodeLinesSteps(await blobBytes(blob)));
  if (depth > 0) cache?.wholeLines.set(sha256, lines);
  return lines;
}

/** The lines a `delta` or `counted-delta` blob resolves to (its base's lines, read at `depth + 1`, with the delta applied). */
async function deltaLines(tx: Client, sha256: string, blob: BlobRead, depth: number, cache?: BlobLinesCache, yielding?: ParseYielding): Promise<string[]> {
  if (blob.encoding !== 'delta' && blob.encoding !== 'counted-delta') throw new Error(`blob ${sha256}: encoding "${blob.encoding}" is not a text`);
  if (!blob.baseSha256) throw new Error(`blob ${sha256}: delta without a base`);
  const run = runnerOf(yielding);
  const base = await blobLines(tx, blob.baseSha256, cache, depth + 1, yielding);
  if (base === null) throw new Error(`blob ${blob.baseSha256} (a delta base) is missing`);
  if (blob.encoding === 'delta') return run(applyLineDeltaSteps(base, inflateRawSync(blob.data)));
  const counters = blob.countersSha256 ? await readCounters(tx, blob.countersSha256, cache?.counters, yielding) : null;
  if (blob.countersSha256 && !counters) throw new Error(`blob ${sha256}: counters ${blob.countersSha256} are missing`);
  // The counter layout of the base's lines: kept with them when they are kept (a cluster's shared canonical text).
  let layout = cache?.layouts?.get(base);
  if (!layout) {
    layout = await run(canonicalLayoutSteps(base));
    if (cache?.wholeLines.peek(blob.baseSha256) === base) cache.layouts?.set(base, layout);
  }
  return run(applyLineDeltaSteps(await run(countedLinesSteps(layout, counters)), inflateRawSync(blob.data)));
}

/**
 * The text of a blob (whole or a delta, resolved), or null when there is none with that sha256.
 * Its decoding and resolving run in steps that give the event loop a turn every `yielding.sliceMs`.
 */
export async function getBlobText(tx: Client, sha256: string, yielding: ParseYielding = EVENT_LOOP_TURNS): Promise<string | null> {
  return textOf(tx, sha256, 0, yielding);
}

/** The whole text a new delta should be made against, for a candidate blob: itself when whole, its base when a `delta`. */
async function deltaBaseOf(tx: Client, sha256: string): Promise<string | null> {
  const blob = await tx.blob.findUnique({ where: { sha256 }, select: { encoding: true, baseSha256: true } });
  if (!blob) return null;
  if (blob.encoding === 'identity' || blob.encoding === 'gzip') return sha256;
  if (blob.encoding === 'delta') return blob.baseSha256;
  return null;
}

const BASE_CACHE_MAX_CHARS = 32 * 2 ** 20;

async function deltaBase(tx: Client, sha256: string, cache: DeltaBaseCache | undefined): Promise<DeltaBase> {
  if (cache?.last?.sha256 === sha256) return cache.last;
  const text = await textOf(tx, sha256, 1);
  if (text === null) throw new Error(`blob ${sha256} (a delta base) is missing`);
  const lines = splitLines(text);
  let index: Map<string, number> | undefined;
  // The line index is built on first need (most deltas never need it) and then kept with the lines.
  const entry = { sha256, lines, index: () => (index ??= lineIndex(lines)) };
  if (cache) cache.last = text.length <= BASE_CACHE_MAX_CHARS ? entry : null;
  return entry;
}

/** Hinted lines (`lines[i]`: a line of a text) mapped through that text's delta sources (its line → its base's), when it is a delta. */
function knownLines(lines: Int32Array, sources: Int32Array | null): Int32Array {
  if (!sources) return lines;
  const out = new Int32Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const b = lines[i]!;
    out[i] = b >= 0 && b < sources.length ? sources[b]! : -1;
  }
  return out;
}

/**
 * `hints.originalFrom` as lines of the new counted canonical text: an uploaded line copied from a
 * base upload line that the base's counted delta (`c0`) copied from base canonical line c is the
 * counted line of c's new place, unless that line's counter moved.
 */
function knownCounted(hints: TextHints, c0: Int32Array): Int32Array {
  const { canonicalFrom, countersMoved, originalFrom } = hints;
  let max = -1;
  for (let i = 0; i < canonicalFrom.length; i++) if (canonicalFrom[i]! > max) max = canonicalFrom[i]!;
  const moved = new Int32Array(max + 1).fill(-1);
  for (let i = 0; i < canonicalFrom.length; i++) if (canonicalFrom[i]! >= 0) moved[canonicalFrom[i]!] = i;
  const out = new Int32Array(originalFrom.length);
  for (let i = 0; i < out.length; i++) {
    const j = originalFrom[i]!;
    const c = j >= 0 && j < c0.length ? c0[j]! : -1;
    const to = c >= 0 && c < moved.length ? moved[c]! : -1;
    out[i] = to >= 0 && !countersMoved[to] ? to : -1;
  }
  return out;
}

const worthIt = (delta: { literalChars: number }, length: number): boolean => delta.literalChars <= length * DELTA_MAX_LITERAL;

/**
 * Stores a text (normally a canonical one) unless it exists: as a `delta` of
 * the first candidate whose delta is small enough (candidates: sha256s of
 * blobs with similar texts, e.g. the node's previous version and the latest
 * version of another node of its cluster; a `delta` candidate stands for its
 * whole base), else whole. Returns the sha256.
 */
export async function putText(
  tx: Client,
  text: string,
  sha256: string,
  candidates: readonly string[],
  lines?: readonly string[],
  cache?: DeltaBaseCache,
  /** The text's UTF-8 length, when the caller knows it (measuring a spliced text would flatten it). */
  knownSize?: number,
  /** Per line of the text, the line of the text of blob `from` it is, or -1 (a spliced delta's: TextHints). */
  hints?: { readonly from: string; readonly lines: Int32Array },
): Promise<string> {
  if (await exists(tx, sha256)) return sha256;
  const size = knownSize ?? Buffer.byteLength(text, 'utf8');
  if (size >= DELTA_FROM_BYTES) {
    const tried = new Set<string>();
    const target = lines ?? splitLines(text);
    for (const candidate of candidates) {
      // The hinted candidate's blob is read whole (its delta's ops map the hints onto its base).
      const hinted = hints?.from === candidate ? await readBlob(tx, candidate) : null;
      const baseSha = hinted ? (hinted.encoding === 'delta' ? hinted.baseSha256 : hinted.encoding === 'identity' || hinted.encoding === 'gzip' ? candidate : null) : await deltaBaseOf(tx, candidate);
      if (!baseSha || tried.has(baseSha)) continue;
      tried.add(baseSha);
      const { lines: base, index } = await deltaBase(tx, baseSha, cache);
      const known = hinted ? knownLines(hints!.lines, hinted.encoding === 'delta' ? lineDeltaSources(inflateRawSync(hinted.data), base.length) : null) : undefined;
      const delta = encodeLineDelta(base, target, index, known);
      if (!worthIt(delta, text.length)) continue;
      const data = deflateRawSync(delta.payload);
      if (data.length > size * DELTA_MAX_RATIO) continue;
      // Belt and braces: the delta must give the text back exactly (its ops decoded against the base's lines).
      if (joinedLength(target) !== text.length || !deltaGives({ length: base.length, same: (b, line) => base[b] === line, lookup: () => -1 }, delta.payload, target)) continue;
      await insertBlob(tx, { sha256, size, encoding: 'delta', data, baseSha256: baseSha });
      return sha256;
    }
  }
  return putBlob(tx, text, sha256);
}

/**
 * Stores an uploaded text unless it exists: as a `counted-delta` of its
 * canonical text (blob `canonicalSha256`, lines `canonicalLines`) with
 * `counters` (blob `countersSha256`) merged in when that is small, else
 * whole. Returns the sha256.
 */
export async function putCountedText(
  tx: Client,
  /** The text, or a function giving it (read only to split it or to store it whole). */
  sent: string | (() => string),
  sha256: string,
  canonical: { sha256: string; layout: CanonicalLayout },
  counters: { sha256: string; values: readonly CounterText[] } | null,
  textLines?: readonly string[],
  hints?: TextHints,
  /** The text's UTF-8 and UTF-16 lengths, when `textLines` are known to be its lines (a delta's). */
  sizes?: { readonly size: number; readonly length: number },
): Promise<string> {
  if (await exists(tx, sha256)) return sha256;
  const text = typeof sent === 'string' ? (): string => sent : sent;
  const size = sizes?.size ?? Buffer.byteLength(text(), 'utf8');
  const length = sizes?.length ?? text().length;
  const lines = textLines ?? splitLines(text());
  // The counted lines are compared in place, not made: 235k new strings for a 10k-Service node.
  const base = countedBase(canonical.layout, counters?.values ?? null);
  let known: Int32Array | undefined;
  if (hints && hints.originalFrom.length === lines.length) {
    // The base upload's counted delta says which base canonical line each of its lines is.
    const was = await readBlob(tx, hints.baseOriginal);
    if (was?.encoding === 'counted-delta' && was.baseSha256 === hints.baseCanonical) known = knownCounted(hints, lineDeltaSources(inflateRawSync(was.data), 0x7fffffff));
  }
  const delta = encodeLineDeltaBy(base, lines, known);
  if (worthIt(delta, length)) {
    const data = deflateRawSync(delta.payload);
    if (data.length <= Math.max(64, size * DELTA_MAX_RATIO) && (sizes !== undefined || joinedLength(lines) === length) && deltaGives(base, delta.payload, lines)) {
      await insertBlob(tx, { sha256, size, encoding: 'counted-delta', data, baseSha256: canonical.sha256, countersSha256: counters?.sha256 ?? null });
      return sha256;
    }
  }
  return putBlob(tx, text(), sha256);
}

/**
 * A `counters-delta` is written only while at most this fraction of its slots differ from its
 * whole `counters` base; past that the counters are stored whole again (the next deltas' base).
 */
const COUNTERS_DELTA_MAX_LITERAL = 1 / 8;

/**
 * Stores counters (in a canonical text's order) unless stored; returns the blob's sha256. With
 * `copied` (a spliced delta's: the previous counters blob of the node, and per slot the slot of it
 * each counter is, or -1), as a `counters-delta` of the whole counters that blob is or is a delta
 * of, when few enough moved since them: a re-upload then writes the counters that moved, not 235k.
 */
export async function putCounters(tx: Client, counters: readonly CounterText[], copied?: { readonly base: string; readonly from: Int32Array }): Promise<string> {
  if (copied && copied.from.length === counters.length) {
    const was = await readBlob(tx, copied.base);
    let whole: string | null = null;
    let from: Int32Array | null = null;
    let literal = 0;
    if (was?.encoding === 'counters') {
      whole = copied.base;
      from = copied.from;
      for (let s = 0; s < from.length; s++) if (from[s]! < 0) literal++;
    } else if (was?.encoding === 'counters-delta' && was.baseSha256) {
      // Through the previous delta to its whole base.
      whole = was.baseSha256;
      const before = countersDeltaSources(inflateRawSync(was.data), 0x7fffffff).from;
      from = new Int32Array(copied.from.length);
      for (let s = 0; s < from.length; s++) {
        const f = copied.from[s]!;
        const b = f >= 0 && f < before.length ? before[f]! : -1;
        from[s] = b;
        if (b < 0) literal++;
      }
    }
    if (whole && from && literal <= from.length * COUNTERS_DELTA_MAX_LITERAL) {
      const payload = encodeCountersDelta(from, counters);
      const sha256 = createHash('sha256').update(`counters-delta:${whole}:`).update(payload).digest('hex');
      if (await exists(tx, sha256)) return sha256;
      await insertBlob(tx, { sha256, size: payload.length, encoding: 'counters-delta', data: deflateRawSync(payload), baseSha256: whole });
      return sha256;
    }
  }
  const encoded = encodeCounters(counters);
  const sha256 = createHash('sha256').update('counters:').update(encoded).digest('hex');
  if (await exists(tx, sha256)) return sha256;
  await insertBlob(tx, { sha256, size: encoded.length, encoding: 'counters', data: deflateRawSync(encoded) });
  return sha256;
}

/**
 * The counters of a `counters` blob in text order; null when there is no such blob or it holds JSON
 * (older rows). With `kept` (a few decoded blobs by sha256), read from and kept there: not to be changed.
 */
export async function getCounters(tx: Client, sha256: string): Promise<CounterText[] | null>;
export async function getCounters(tx: Client, sha256: string, kept: LRUCache<string, readonly CounterText[]> | undefined): Promise<readonly CounterText[] | null>;
export async function getCounters(tx: Client, sha256: string, kept?: LRUCache<string, readonly CounterText[]>): Promise<readonly CounterText[] | null> {
  return readCounters(tx, sha256, kept);
}

/** `getCounters`; with `yielding`, whole counters are inflated off the event loop and decoded in steps. */
async function readCounters(tx: Client, sha256: string, kept: LRUCache<string, readonly CounterText[]> | undefined, yielding?: ParseYielding): Promise<readonly CounterText[] | null> {
  const hit = kept?.get(sha256);
  if (hit) return hit;
  const blob = await readBlob(tx, sha256);
  const whole = async (data: Buffer): Promise<CounterText[]> =>
    yielding ? runStepsYielding(decodeCountersSteps(await inflateRawAsync(data)), yielding) : decodeCounters(inflateRawSync(data));
  let values: CounterText[] | null = null;
  if (blob?.encoding === 'counters-delta') {
    // One level: its base is whole counters.
    const base = blob.baseSha256 ? await readBlob(tx, blob.baseSha256) : null;
    if (base?.encoding !== 'counters') throw new Error(`blob ${sha256}: counters delta without whole counters as its base`);
    values = applyCountersDelta(await whole(base.data), inflateRawSync(blob.data));
  } else if (blob?.encoding === 'counters') values = await whole(blob.data);
  if (values) kept?.set(sha256, values);
  return values;
}

/**
 * A dump's counters as the API shows them (`{table: {chain: {policy, rules}}}`),
 * from its counters blob and canonical text; null when the blob is missing.
 */
export async function getCountersJson(tx: Client, countersSha256: string, canonicalSha256: string): Promise<Record<string, unknown> | null> {
  const blob = await readBlob(tx, countersSha256);
  if (!blob) return null;
  // Rows written before the counters encoding hold the JSON text.
  if (blob.encoding !== 'counters' && blob.encoding !== 'counters-delta') return JSON.parse(await decodeBlob(blob)) as Record<string, unknown>;
  const canonical = await getBlobText(tx, canonicalSha256);
  if (canonical === null) throw new Error(`blob ${canonicalSha256} is missing`);
  const values = blob.encoding === 'counters' ? decodeCounters(inflateRawSync(blob.data)) : await getCounters(tx, countersSha256);
  return countersJsonOf(canonical, values!);
}

/** Blobs nothing references: no dump, and no other blob as its base or merged counters. */
const UNREFERENCED = {
  canonicalOf: { none: {} },
  originalOf: { none: {} },
  countersOf: { none: {} },
  baseOf: { none: {} },
  mergedInto: { none: {} },
} as const;

/**
 * Deletes those of the given blobs that nothing references any more, then the
 * blobs those referenced (bases, counters) that are left unreferenced in turn.
 */
export async function deleteUnreferencedBlobs(tx: Client, sha256s: Iterable<string | null | undefined>): Promise<number> {
  let candidates = [...new Set([...sha256s].filter((s): s is string => !!s))];
  let deleted = 0;
  while (candidates.length) {
    const rows = await tx.blob.findMany({ where: { sha256: { in: candidates }, ...UNREFERENCED }, select: { sha256: true, baseSha256: true, countersSha256: true } });
    if (!rows.length) break;
    const { count } = await tx.blob.deleteMany({ where: { sha256: { in: rows.map((r) => r.sha256) }, ...UNREFERENCED } });
    deleted += count;
    candidates = [...new Set(rows.flatMap((r) => [r.baseSha256, r.countersSha256]).filter((s): s is string => !!s))];
  }
  return deleted;
}

/** The `where` of blobs nothing references (for checks: there should be none). */
export const UNREFERENCED_BLOBS = UNREFERENCED;

/** Bytes stored for blobs (compressed sizes), for storage statistics. */
export async function blobStorageBytes(tx: Client): Promise<{ blobs: number; storedBytes: number; textBytes: number }> {
  const rows = await tx.$queryRawUnsafe<{ blobs: bigint | number; stored: bigint | number | null; text: bigint | number | null }[]>(
    'SELECT COUNT(*) AS blobs, SUM(LENGTH("data")) AS stored, SUM("size") AS text FROM "Blob"',
  );
  const r = rows[0];
  return { blobs: Number(r?.blobs ?? 0), storedBytes: Number(r?.stored ?? 0), textBytes: Number(r?.text ?? 0) };
}
