// The base of a delta upload at fleet scale (issue 15): the text the node last
// uploaded, as lines. The upload route keeps recent ones in memory
// (DeltaBaseTexts), but 1,000 nodes of 10k Services (29 MB each) do not fit
// there, so most bases are read from the store. Read as a text (getDumpText),
// that is the cluster's whole canonical text un-gzipped and split, two line
// deltas, the counters merged in, a join and, in the route, a split again: all
// per upload, although every node of the cluster shares that whole text (their
// canonical texts are line deltas of it, blobs.ts). Here the lines of such
// shared whole texts are kept (`DeltaBaseCache.wholeLines`, by sha256), and a
// node's base costs only its own small blobs (canonical delta, counters,
// counted delta) and the line copies that apply them.
import { decodeBlob, getCounters, readBlob } from './blobs.ts';
import type { Client } from './db.ts';
import type { DeltaBaseCache } from './delta-cache.ts';
import { applyLineDelta, countedLines, splitLines } from './encoding.ts';
import { inflateRawSync } from 'node:zlib';

/** As blobs.ts: deltas are one level deep (counted-delta → delta → whole); this only guards against a loop. */
const MAX_DEPTH = 8;

/**
 * The lines of blob `sha256` (whole, `delta` or `counted-delta`, resolved),
 * exactly `getBlobText(tx, sha256).split('\n')`; null when there is no such
 * blob. Whole texts reached as the base of a delta come from (and go to)
 * `cache.wholeLines`; the blob asked for itself is not kept there.
 */
export async function blobLines(tx: Client, sha256: string, cache: DeltaBaseCache, depth = 0): Promise<readonly string[] | null> {
  if (depth > MAX_DEPTH) throw new Error(`blob ${sha256}: deltas nested deeper than ${MAX_DEPTH}`);
  if (depth > 0) {
    const kept = cache.wholeLines.get(sha256);
    if (kept) return kept;
  }
  const blob = await readBlob(tx, sha256);
  if (!blob) return null;
  switch (blob.encoding) {
    case 'identity':
    case 'gzip': {
      const lines = splitLines(await decodeBlob(blob));
      if (depth > 0) cache.wholeLines.set(sha256, lines);
      return lines;
    }
    case 'delta':
      return applyLineDelta(await baseLines(tx, sha256, blob.baseSha256, cache, depth), inflateRawSync(blob.data));
    case 'counted-delta': {
      const canonical = await baseLines(tx, sha256, blob.baseSha256, cache, depth);
      const counters = blob.countersSha256 ? await getCounters(tx, blob.countersSha256) : null;
      if (blob.countersSha256 && !counters) throw new Error(`blob ${sha256}: counters ${blob.countersSha256} are missing`);
      return applyLineDelta(countedLines(canonical, counters), inflateRawSync(blob.data));
    }
    default:
      throw new Error(`blob ${sha256}: encoding "${blob.encoding}" is not a text`);
  }
}

async function baseLines(tx: Client, sha256: string, base: string | null, cache: DeltaBaseCache, depth: number): Promise<readonly string[]> {
  if (!base) throw new Error(`blob ${sha256}: delta without a base`);
  const lines = await blobLines(tx, base, cache, depth + 1);
  if (lines === null) throw new Error(`blob ${base} (a delta base) is missing`);
  return lines;
}

/** The lines of the text a node uploaded (its version's `originalSha256`): the base of its next delta. Throws when the blob is missing. */
export async function uploadedLines(tx: Client, originalSha256: string, cache: DeltaBaseCache): Promise<readonly string[]> {
  const lines = await blobLines(tx, originalSha256, cache);
  if (lines === null) throw new Error(`blob ${originalSha256} (the node's last upload) is missing`);
  return lines;
}
