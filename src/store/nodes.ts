// Nodes: the hosts dumps are uploaded for.
import { deleteUnreferencedBlobs } from './blobs.ts';
import { clampLimit, decodeCursor, encodeCursor, type Page, type PageRequest } from './cursor.ts';
import type { Client, Tx } from './db.ts';
import { findDumpsByIds, type DumpInfo, type StoredFamily } from './dumps.ts';
import { NotFoundError } from './errors.ts';
import { requireNodeId, type Labels, type NodeMeta } from './node-rows.ts';
export { requireNodeId, upsertNode, type Labels, type NodeMeta } from './node-rows.ts';

export interface NodeInfo {
  readonly name: string;
  readonly cluster: string | null;
  readonly labels: Labels;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  /** Number of stored versions, all families. */
  readonly dumpCount: number;
  /** The latest version of each family, null when there is none. */
  readonly latest: Readonly<Record<StoredFamily, DumpInfo | null>>;
}

type NodeRow = { id: number; name: string; cluster: string | null; labelsJson: string; createdAt: Date; lastSeenAt: Date };

const NODE_SELECT = { id: true, name: true, cluster: true, labelsJson: true, createdAt: true, lastSeenAt: true } as const;

/** Creates a node; a duplicate name raises Prisma's P2002 (→ 409). */
export async function createNode(tx: Client, name: string, meta: NodeMeta, now: Date = new Date()): Promise<NodeInfo> {
  await tx.node.create({
    data: {
      name,
      createdAt: now,
      lastSeenAt: now,
      cluster: meta.cluster ?? null,
      labelsJson: JSON.stringify(meta.labels ?? {}),
    },
  });
  const info = await findNode(tx, name);
  if (!info) throw new Error(`node ${name} vanished after creation`);
  return info;
}

async function withLatest(tx: Client, rows: readonly NodeRow[]): Promise<NodeInfo[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const groups = await tx.dump.groupBy({ by: ['nodeId', 'family'], where: { nodeId: { in: ids } }, _max: { id: true }, _count: { _all: true } });
  const latestIds = groups.map((g) => g._max.id).filter((id): id is number => id !== null);
  const latest = await findDumpsByIds(tx, latestIds);
  return rows.map((r) => {
    const mine = groups.filter((g) => g.nodeId === r.id);
    const pick = (family: StoredFamily): DumpInfo | null => {
      const id = mine.find((g) => g.family === family)?._max.id;
      return (id !== undefined && id !== null && latest.get(id)) || null;
    };
    return {
      name: r.name,
      cluster: r.cluster,
      labels: JSON.parse(r.labelsJson) as Labels,
      createdAt: r.createdAt,
      lastSeenAt: r.lastSeenAt,
      dumpCount: mine.reduce((n, g) => n + g._count._all, 0),
      latest: { ipv4: pick('ipv4'), ipv6: pick('ipv6'), nft: pick('nft') },
    };
  });
}

/** A node with its latest versions, or null. */
export async function findNode(tx: Client, name: string): Promise<NodeInfo | null> {
  const row = await tx.node.findUnique({ where: { name }, select: NODE_SELECT });
  if (!row) return null;
  const [info] = await withLatest(tx, [row]);
  return info ?? null;
}

/** Like findNode, but NotFoundError when absent. */
export async function getNode(tx: Client, name: string): Promise<NodeInfo> {
  const node = await findNode(tx, name);
  if (!node) throw new NotFoundError(`node "${name}" not found`);
  return node;
}

export interface ListNodesOptions extends PageRequest {
  readonly cluster?: string | undefined;
}

/** Nodes by name. */
export async function listNodes(tx: Client, options: ListNodesOptions = {}): Promise<Page<NodeInfo>> {
  const limit = clampLimit(options.limit);
  const after = options.cursor ? decodeCursor(options.cursor, 'name', 'string').name : undefined;
  const rows = await tx.node.findMany({
    where: { ...(options.cluster !== undefined ? { cluster: options.cluster } : {}), ...(after !== undefined ? { name: { gt: after } } : {}) },
    orderBy: { name: 'asc' },
    take: limit + 1,
    select: NODE_SELECT,
  });
  const items = await withLatest(tx, rows.slice(0, limit));
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor({ name: last.name }) : null };
}

/** Deletes a node, its versions and the blobs nothing else references. NotFoundError when absent. Run inside `writeTransaction`. */
export async function deleteNode(tx: Tx, name: string): Promise<void> {
  const nodeId = await requireNodeId(tx, name);
  const dumps = await tx.dump.findMany({ where: { nodeId }, select: { sha256: true, originalSha256: true, countersSha256: true } });
  await tx.node.delete({ where: { id: nodeId } });
  await deleteUnreferencedBlobs(tx, dumps.flatMap((d) => [d.sha256, d.originalSha256, d.countersSha256]));
}
