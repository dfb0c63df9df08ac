// Lean lookups for the query hot path (trace, tables, diff): only the columns
// needed, never a blob (no counters, no texts).
import type { StoredFamily } from './dumps.ts';
import type { Client } from './db.ts';
import { requireNodeId } from './nodes.ts';

/** The id of a node's latest version of `family`; null when it has none. NotFoundError for an unknown node. */
export async function latestDumpId(client: Client, node: string, family: StoredFamily): Promise<number | null> {
  const id = await latestDumpIdIfAny(client, node, family);
  if (id === null) await requireNodeId(client, node);
  return id;
}

/** A node's newest version of `family`, or null (also when there is no such node). */
export async function latestDumpIdIfAny(client: Client, node: string, family: StoredFamily): Promise<number | null> {
  const row = await client.dump.findFirst({ where: { node: { name: node }, family }, orderBy: { id: 'desc' }, select: { id: true } });
  return row?.id ?? null;
}

/** A version's host file JSON text (null: none) and its upload count; null when there is no such dump. */
export async function findDumpHostJson(client: Client, id: number): Promise<{ hostJson: string | null; uploads: number } | null> {
  return client.dump.findUnique({ where: { id }, select: { hostJson: true, uploads: true } });
}
