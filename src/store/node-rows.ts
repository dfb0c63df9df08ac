// A node's row by name: the lookups a version's store functions need. Its own
// module so dumps.ts need not import nodes.ts, which imports dumps.ts.
import type { Client, Tx } from './db.ts';
import { NotFoundError } from './errors.ts';

export type Labels = Readonly<Record<string, string>>;

export interface NodeMeta {
  /** Cluster the node belongs to; undefined leaves it unchanged. */
  readonly cluster?: string | null | undefined;
  /** Labels; undefined leaves them unchanged, an object replaces them. */
  readonly labels?: Labels | undefined;
}

/** The id of a node, or NotFoundError. */
export async function requireNodeId(tx: Client, name: string): Promise<number> {
  const node = await tx.node.findUnique({ where: { name }, select: { id: true } });
  if (!node) throw new NotFoundError(`node "${name}" not found`);
  return node.id;
}

/** Creates the node if absent, updates cluster/labels when given and lastSeenAt; returns its id. */
export async function upsertNode(tx: Tx, name: string, meta: NodeMeta, now: Date): Promise<number> {
  const data = {
    lastSeenAt: now,
    ...(meta.cluster !== undefined ? { cluster: meta.cluster } : {}),
    ...(meta.labels !== undefined ? { labelsJson: JSON.stringify(meta.labels) } : {}),
  };
  const node = await tx.node.upsert({
    where: { name },
    create: { name, createdAt: now, ...data },
    update: data,
    select: { id: true },
  });
  return node.id;
}

