// What an upload writes besides its Dump row: the canonical text, the counters
// and the uploaded text, each as compact as it can be (blobs.ts):
// - the canonical text as a line delta of the node's previous version or of
//   the latest version of another node of its cluster (whole when neither is
//   close), so a fleet's nearly identical rulesets share one whole text;
// - the counters as varints in the canonical text's order, no blob at all
//   when they say nothing (no rule counter, every policy counter [0:0]);
// - an uploaded iptables-save text as a line delta of the canonical text with
//   the counters merged in (usually just the `# Generated`/`# Completed` lines).
import { putBlob, putBytes, putCountedText, putCounters, putText, type DeltaBaseCache } from './blobs.ts';
import type { Tx } from './db.ts';
import { canonicalLayout, countersAreEmpty, countersInTextOrder, type CanonicalLayout, type CounterText } from './counters-codec.ts';
import type { PreparedVersion } from './nft-ingest.ts';

/** sha256s of canonical texts similar to a new version's: the node's latest of that family, then the cluster's latest. */
async function deltaCandidates(tx: Tx, nodeId: number, family: string): Promise<string[]> {
  const out: string[] = [];
  const own = await tx.dump.findFirst({ where: { nodeId, family }, orderBy: { id: 'desc' }, select: { sha256: true } });
  if (own) out.push(own.sha256);
  const node = await tx.node.findUnique({ where: { id: nodeId }, select: { cluster: true } });
  const peer = await tx.dump.findFirst({
    where: { family, nodeId: { not: nodeId }, node: { cluster: node?.cluster ?? null } },
    orderBy: { id: 'desc' },
    select: { sha256: true },
  });
  if (peer && peer.sha256 !== own?.sha256) out.push(peer.sha256);
  return out;
}

export interface StoredTexts {
  /** The counters blob for Dump.countersSha256 (null: the dump had no counters worth keeping). */
  readonly countersSha256: string | null;
  /** The canonical text's counter layout. */
  readonly layout: CanonicalLayout;
  /** The counters in its text order, even when they say nothing (null: none, or they do not line up). */
  readonly counters: readonly CounterText[] | null;
}

/**
 * Stores the blobs of a prepared dump (the canonical text too when
 * `withCanonical`; it exists already when the version does). Call before
 * creating or updating the Dump row, in the same transaction.
 */
export async function storeDumpTexts(tx: Tx, nodeId: number, p: PreparedVersion, withCanonical: boolean, deltaBases?: DeltaBaseCache): Promise<StoredTexts> {
  const layout = ('canonicalLayout' in p ? p.canonicalLayout : undefined) ?? canonicalLayout(('canonicalLines' in p ? p.canonicalLines : undefined) ?? p.canonicalText);
  // A spliced delta knows which lines it copied from its base version's texts (TextHints).
  const hints = 'textHints' in p ? p.textHints : undefined;
  if (withCanonical) {
    const candidates = await deltaCandidates(tx, nodeId, p.family);
    await putText(tx, p.canonicalText, p.sha256, candidates, layout.lines, deltaBases, 'canonicalSize' in p ? p.canonicalSize : undefined, hints && { from: hints.baseCanonical, lines: hints.canonicalFrom });
  }

  let counters: { sha256: string; values: readonly CounterText[] } | null = null;
  let countersSha256: string | null = null;
  let countable = true;
  let inOrder: readonly CounterText[] | null = null;
  // In text order when the prepared dump has them so (a spliced delta writes its JSON only when asked).
  const inTextOrder = 'countersInTextOrder' in p ? p.countersInTextOrder : undefined;
  if (inTextOrder !== undefined || p.countersJson !== null) {
    const values = inTextOrder ?? countersInTextOrder(layout, p.countersJson!);
    inOrder = values;
    if (values === null) {
      // Counters that do not line up with the canonical text (should not happen): kept as JSON, the upload whole.
      countersSha256 = await putBlob(tx, p.countersJson!);
      countable = false;
    } else if (!countersAreEmpty(layout, values)) {
      // A spliced delta's counters, as a delta of the node's previous ones when those are its base's.
      const previous = hints ? await tx.dump.findFirst({ where: { nodeId, family: p.family }, orderBy: { id: 'desc' }, select: { originalSha256: true, countersSha256: true } }) : null;
      const copied = hints && previous?.countersSha256 && previous.originalSha256 === hints.baseOriginal ? { base: previous.countersSha256, from: hints.countersFrom } : undefined;
      countersSha256 = await putCounters(tx, values, copied);
      counters = { sha256: countersSha256, values };
    }
  }

  if (p.originalBytes) {
    // Not UTF-8: kept byte for byte, whole (deltas are of texts).
    await putBytes(tx, p.originalBytes, p.originalSha256);
  } else if (countable && p.format === 'iptables-save') {
    // A delta's text is read (joined) only when it is stored whole.
    const sizes = 'originalSize' in p && p.originalSize !== undefined && p.originalLength !== undefined ? { size: p.originalSize, length: p.originalLength } : undefined;
    await putCountedText(tx, () => p.originalText, p.originalSha256, { sha256: p.sha256, layout }, counters, 'originalLines' in p ? p.originalLines : undefined, hints, sizes);
  } else if (p.format === 'nft-text') {
    // `nft list ruleset` is the canonical printing plus counters and handles: a line delta of it.
    await putText(tx, p.originalText, p.originalSha256, [p.sha256], undefined, deltaBases);
  } else {
    await putBlob(tx, p.originalText, p.originalSha256);
  }
  return { countersSha256, layout, counters: inOrder };
}
