// Every node's latest version of each family in two queries (the newest id per
// node and family, then those rows' few columns): what /metrics reports per
// node at each scrape, without one query per node or any blob.
import { createHash } from 'node:crypto';
import type { Client } from './db.ts';
import type { StoredFamily, StoredFormat } from './dumps.ts';

/** A node's latest version of one family, as /metrics needs it. */
export interface LatestVersion {
  readonly node: string;
  readonly cluster: string | null;
  readonly family: StoredFamily;
  readonly id: number;
  readonly format: StoredFormat;
  /** sha256 of the canonical text without counters (the version's identity). */
  readonly sha256: string;
  /** When it was last uploaded (re-uploads of the same canonical text update it). */
  readonly lastSeenAt: Date;
  /** sha256 of the host file stored with it; null when it has none. */
  readonly hostSha256: string | null;
}

/** The latest version of every family of every node, by node name then family. */
export async function latestVersionsOfAllNodes(tx: Client): Promise<LatestVersion[]> {
  const groups = await tx.dump.groupBy({ by: ['nodeId', 'family'], _max: { id: true } });
  const ids = groups.map((g) => g._max.id).filter((id): id is number => id !== null);
  if (!ids.length) return [];
  const rows = await tx.dump.findMany({
    where: { id: { in: ids } },
    select: { id: true, family: true, format: true, sha256: true, lastSeenAt: true, hostJson: true, node: { select: { name: true, cluster: true } } },
  });
  return rows
    .map((r) => ({
      node: r.node.name,
      cluster: r.node.cluster,
      family: r.family as StoredFamily,
      id: r.id,
      format: r.format as StoredFormat,
      sha256: r.sha256,
      lastSeenAt: r.lastSeenAt,
      hostSha256: r.hostJson === null ? null : createHash('sha256').update(r.hostJson).digest('hex'),
    }))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.family < b.family ? -1 : a.family > b.family ? 1 : 0));
}
