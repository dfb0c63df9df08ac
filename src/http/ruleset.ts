// For query routes (trace, diff, ...): the parsed ruleset of a stored dump,
// through the app's sha256-keyed cache, so a ruleset is parsed once; the
// version's metadata, a node's latest version and its built host file
// through the app's read cache (app.readCache), so a warm query runs no
// database query at all.
import type { FastifyInstance } from 'fastify';
import { buildHost, type Family } from '../netfilter/index.ts';
import {
  findDumpById,
  findDumpHostJson,
  getBlobText,
  InvalidInputError,
  listNodes,
  latestDumpId as queryLatestDumpId,
  loadDumpRuleset,
  NotFoundError,
  type DumpInfo,
  type LoadedRuleset,
  type RulesetSource,
  type StoredFamily,
} from '../store/index.ts';

/** What `buildHost` gives: the host, or the reasons it is not one. */
export type HostResult = ReturnType<typeof buildHost>;

/** A version's metadata by id (any node), or null. Cached until the database changes. */
export function dumpInfo(app: FastifyInstance, dumpId: number): Promise<DumpInfo | null> {
  return app.readCache.volatile(`dump:${dumpId}`, () => findDumpById(app.db.prisma, dumpId));
}

/** The id of a node's latest version of `family` (null: none). NotFoundError for an unknown node. Cached until the database changes. */
export function latestDumpId(app: FastifyInstance, node: string, family: StoredFamily): Promise<number | null> {
  return app.readCache.volatile(`latest:${family}:${node}`, () => queryLatestDumpId(app.db.prisma, node, family));
}

/** The id of a node's newest version of `family`. NotFoundError (→ 404) when it has none. */
export async function requireLatestDumpId(app: FastifyInstance, node: string, family: StoredFamily): Promise<number> {
  const latest = await latestDumpId(app, node, family);
  if (latest === null) throw new NotFoundError(`node "${node}" has no ${family} dump`);
  return latest;
}

/** Names of a cluster's nodes that have a `family` dump or an nft ruleset, by name. Cached until the database changes. */
export function clusterNodeNames(app: FastifyInstance, cluster: string, family: Family): Promise<readonly string[]> {
  return app.readCache.volatile(`cluster:${family}:${cluster}`, async () => {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listNodes(app.db.prisma, { cluster, limit: 500, ...(cursor ? { cursor } : {}) });
      names.push(...page.items.filter((n) => n.latest[family] || n.latest.nft).map((n) => n.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return names;
  });
}

/** The ruleset of dump `dumpId` (any node). NotFoundError (→ 404) when absent. */
export async function loadRuleset(app: FastifyInstance, dumpId: number, source: RulesetSource = 'canonical'): Promise<LoadedRuleset> {
  const dump = await dumpInfo(app, dumpId);
  if (!dump) throw new NotFoundError(`dump ${dumpId} not found`);
  return loadDumpRuleset(app.db.prisma, app.rulesetCache, dump, source);
}

/**
 * The ruleset of a node's version: `id` a dump id of that node, or 'latest'
 * for its newest version of `family`. NotFoundError (→ 404) when absent.
 */
export async function loadNodeRuleset(
  app: FastifyInstance,
  node: string,
  id: number | 'latest',
  options: { family?: Family; source?: RulesetSource } = {},
): Promise<LoadedRuleset> {
  const family = options.family ?? 'ipv4';
  if (id === 'latest') return loadRuleset(app, await requireLatestDumpId(app, node, family), options.source);
  const loaded = await loadRuleset(app, id, options.source);
  if (loaded.dump.node !== node) throw new NotFoundError(`node "${node}" has no dump ${id}`);
  return loaded;
}

/**
 * The host file stored with a version, built (`buildHost`); undefined when
 * the version has none. Cached by dump id and upload count (a version's host
 * file changes only when it absorbs an upload).
 */
export async function storedHost(app: FastifyInstance, dump: Pick<DumpInfo, 'id' | 'uploads'>): Promise<HostResult | undefined> {
  const hit = app.readCache.hosts.get(`${dump.id}:${dump.uploads}`);
  if (hit !== undefined) return hit ?? undefined;
  const { value: row, cacheable } = await app.readCache.guarded(() => findDumpHostJson(app.db.prisma, dump.id));
  if (!row) throw new NotFoundError(`dump ${dump.id} not found`);
  const built = row.hostJson === null ? null : buildHost(JSON.parse(row.hostJson) as unknown);
  if (cacheable) app.readCache.hosts.set(`${dump.id}:${row.uploads}`, built);
  return built ?? undefined;
}

/** A node's version by id or 'latest' (of `family`); NotFoundError (→ 404) when absent. */
export async function nodeVersion(app: FastifyInstance, node: string, id: number | 'latest', family: Family = 'ipv4'): Promise<DumpInfo> {
  const dump = await nodeVersionOf(app, node, id, family);
  if (dump.family === 'nft') throw nftNotHere(dump.id);
  return dump;
}

/** A node's version of any family (nft included) by id or 'latest' (of `family`); NotFoundError (→ 404) when absent. */
export async function nodeVersionOf(app: FastifyInstance, node: string, id: number | 'latest', family: StoredFamily): Promise<DumpInfo> {
  const dumpId = id === 'latest' ? await requireLatestDumpId(app, node, family) : id;
  const dump = await dumpInfo(app, dumpId);
  if (!dump || dump.node !== node) throw new NotFoundError(id === 'latest' ? `node "${node}" has no ${family} dump` : `node "${node}" has no dump ${id}`);
  return dump;
}

/** A 422 for an nft version given where an iptables one is read (diff, findings, Services, trace: not for nft yet). */
export const nftNotHere = (id: number): InvalidInputError =>
  new InvalidInputError(`dump ${id} is an nftables ruleset; this operation reads iptables dumps (ipv4/ipv6)`, [{ path: '/dump', message: 'is an nft ruleset' }]);

/** A stored text by its sha256 (a version's canonical or uploaded text). */
export async function versionText(app: FastifyInstance, sha256: string): Promise<string> {
  const text = await getBlobText(app.db.prisma, sha256, app.rulesetCache.yielding);
  if (text === null) throw new Error(`blob ${sha256} is missing`);
  return text;
}
