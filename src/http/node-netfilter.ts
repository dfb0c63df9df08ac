// What a trace reads of a node: one netfilter with many owners. Its iptables
// dump of the packet's family (if any), its nft ruleset (if any) and, on a
// node using both iptables backends, the iptables-legacy dump of its
// companion node (see store/companions.ts); each the latest version unless a
// trace pins one by `dumpId`, and the host file stored with them.
import type { FastifyInstance } from 'fastify';
import type { Family, NftRuleset, Ruleset } from '../netfilter/index.ts';
import { findDumpHostJson, latestDumpIdIfAny, LEGACY_SUFFIX, legacyCompanionOf, loadDumpRuleset, loadNftRuleset, NotFoundError, type DumpInfo } from '../store/index.ts';
import { dumpInfo, latestDumpId } from './ruleset.ts';

export interface NodeNetfilter {
  readonly node: string;
  /** The iptables version traced (null: the node has none of the packet's family). */
  readonly iptablesDump: DumpInfo | null;
  /** The iptables ruleset (empty tables when the node has none). */
  readonly iptables: Ruleset;
  /** The nft version traced, and its ruleset (null: the node has none). */
  readonly nftDump: DumpInfo | null;
  readonly nftables: NftRuleset | null;
  /** The iptables-legacy version of the companion node traced with it, and its ruleset (null: none). */
  readonly legacyDump: DumpInfo | null;
  readonly legacy: Ruleset | null;
  /** The version whose host file the trace uses: the iptables one's, else the nft one's. */
  readonly hostDump: DumpInfo;
}

/** A node's latest version of `family` (an iptables family or `nft`), or null. */
export async function latestVersion(app: FastifyInstance, node: string, family: Family | 'nft'): Promise<DumpInfo | null> {
  const id = await latestDumpId(app, node, family);
  return id === null ? null : dumpInfo(app, id);
}

/** The versions' host file comes from the first of them that has one (the iptables dump before the nft ruleset). */
export const withHost = (...dumps: (DumpInfo | null | undefined)[]): DumpInfo | undefined => dumps.find((d): d is DumpInfo => !!d?.hasHost);

/** The JSON of the host file stored with the first of `dumps` that has one, or null. */
export async function hostJsonOf(app: FastifyInstance, ...dumps: (DumpInfo | null | undefined)[]): Promise<string | null> {
  const d = withHost(...dumps);
  return d ? ((await findDumpHostJson(app.db.prisma, d.id))?.hostJson ?? null) : null;
}

/**
 * A node's rulesets for a trace of a `family` packet. `pinned`: a dump id of
 * that node (of `family` or `nft`) used instead of that kind's latest. A node
 * with neither an iptables dump of the family nor an nft ruleset is a 404.
 */
export async function loadNodeNetfilter(app: FastifyInstance, node: string, family: Family, pinned?: DumpInfo): Promise<NodeNetfilter> {
  if (pinned && pinned.family !== family && pinned.family !== 'nft') {
    throw new NotFoundError(`dump ${pinned.id} is ${pinned.family}, not a ${family} or nft ruleset for this packet`);
  }
  const [iptablesDump, nftDump, legacyDump] = await Promise.all([
    pinned?.family === family ? pinned : latestVersion(app, node, family),
    pinned?.family === 'nft' ? pinned : latestVersion(app, node, 'nft'),
    latestLegacy(app, node, family),
  ]);
  if (!iptablesDump && !nftDump) throw new NotFoundError(`node "${node}" has no ${family} dump and no nft ruleset`);
  const [iptables, nftables, legacy] = await Promise.all([
    iptablesDump ? loadDumpRuleset(app.db.prisma, app.rulesetCache, iptablesDump).then((l) => l.ruleset) : Promise.resolve<Ruleset>({ family, tables: [] }),
    nftDump ? loadNftRuleset(app.db.prisma, app.rulesetCache, nftDump) : Promise.resolve(null),
    legacyDump ? loadDumpRuleset(app.db.prisma, app.rulesetCache, legacyDump).then((l) => l.ruleset) : Promise.resolve(null),
  ]);
  const hostDump = withHost(iptablesDump, nftDump) ?? (iptablesDump ?? nftDump)!;
  return { node, iptablesDump, iptables, nftDump, nftables, legacyDump, legacy, hostDump };
}

/** The dumps a trace of the node would read, without parsing them (for sizes, and what a worker is sent). */
export async function nodeDumps(app: FastifyInstance, node: string, family: Family): Promise<{ iptables: DumpInfo | null; nft: DumpInfo | null; legacy: DumpInfo | null }> {
  const [iptables, nft, legacy] = await Promise.all([latestVersion(app, node, family), latestVersion(app, node, 'nft'), latestLegacy(app, node, family)]);
  if (!iptables && !nft) throw new NotFoundError(`node "${node}" has no ${family} dump and no nft ruleset`);
  return { iptables, nft, legacy };
}

/** The latest iptables-legacy dump of `family` of the node's companion, when the node uses both backends. */
async function latestLegacy(app: FastifyInstance, node: string, family: Family): Promise<DumpInfo | null> {
  // A companion of a companion is not a thing; and a node named like one has none.
  if (node.endsWith(LEGACY_SUFFIX)) return null;
  const companion = legacyCompanionOf(node);
  const id = await app.readCache.volatile(`latest-if-any:${family}:${companion}`, () => latestDumpIdIfAny(app.db.prisma, companion, family));
  return id === null ? null : dumpInfo(app, id);
}
