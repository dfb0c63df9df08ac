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
// counted delta) and the line copies that apply them (blobs.ts `blobLines`,
// the resolver `getBlobText` uses too).
import { blobLines } from './blobs.ts';
import type { Client } from './db.ts';
import type { DeltaBaseCache } from './delta-cache.ts';

/** The lines of the text a node uploaded (its version's `originalSha256`): the base of its next delta. Throws when the blob is missing. */
export async function uploadedLines(tx: Client, originalSha256: string, cache: DeltaBaseCache): Promise<readonly string[]> {
  const lines = await blobLines(tx, originalSha256, cache);
  if (lines === null) throw new Error(`blob ${originalSha256} (the node's last upload) is missing`);
  return lines;
}
