// The query routes' view of a node's nft version (tables, chains, rules,
// counters), read from the version's uploaded text so counters and handles
// are there. Tables are named the way nft names them: `inet firewalld`.
// Parsed rulesets are kept in the app's ruleset cache by the text's sha256,
// parsed in slices on a first read (a 10k-Service `nft -j` takes over a second).
import type { FastifyInstance } from 'fastify';
import type { NftDumpFormat } from '../store/nft-ingest.ts';
import { loadNftBlob, NotFoundError, type DumpInfo } from '../store/index.ts';
import type { NftChain, NftRule, NftRuleset, NftStmt, NftTable } from '../netfilter/index.ts';
import { jumpTargets, printNftRule, printNftRuleset } from '../netfilter/index.ts';
import { nodeVersionOf } from './ruleset.ts';

/** `inet firewalld`: an nft table's name in the API. */
export const NFT_TABLE_NAME = /^(ip|ip6|inet|arp|bridge|netdev) (\S{1,255})$/;
export const nftTableName = (t: Pick<NftTable, 'family' | 'name'>): string => `${t.family} ${t.name}`;
export const isNftTableName = (name: string): boolean => NFT_TABLE_NAME.test(name);

/** A node's nft version (`latest` or an id of that node) and its parsed uploaded ruleset (in slices, cached by the app). */
export async function loadNftVersion(app: FastifyInstance, node: string, id: number | 'latest'): Promise<{ dump: DumpInfo; ruleset: NftRuleset }> {
  const dump = await nodeVersionOf(app, node, id, 'nft');
  if (dump.family !== 'nft') throw new NotFoundError(`dump ${dump.id} of node "${node}" is an iptables (${dump.family}) dump, not an nft ruleset`);
  return { dump, ruleset: await loadNftBlob(app.db.prisma, app.rulesetCache, dump.originalSha256, dump.format as NftDumpFormat, dump.sha256) };
}

export function findNftTable(ruleset: NftRuleset, name: string): NftTable | undefined {
  return ruleset.tables.find((t) => nftTableName(t) === name);
}

/** The rule's counter values (its first `counter` statement that has them), null when none. */
export function ruleCounters(rule: Pick<NftRule, 'stmts'>): { packets: number; bytes: number } | null {
  const c = rule.stmts.find((s): s is Extract<NftStmt, { kind: 'counter' }> => s.kind === 'counter' && s.packets !== undefined);
  return c ? { packets: c.packets ?? 0, bytes: c.bytes ?? 0 } : null;
}

/**
 * The summaries of `chains` (by default all) of the table: who jumps to each (from anywhere in the
 * table) and where each jumps. A page asks for its own chains only: a 44k-Service table's 264k
 * summaries and its whole jump index would be built for 1,000 of them.
 */
export function summarizeNftChains(table: NftTable, chains: readonly NftChain[] = table.chains) {
  const name = nftTableName(table);
  const wanted = chains === table.chains ? undefined : new Set(chains.map((c) => c.name));
  const referencedBy = new Map<string, { table: string; chain: string; position: number }[]>();
  const jumps = new Map<string, string[]>();
  for (const c of table.chains) {
    const to = new Set<string>();
    for (const r of c.rules) {
      for (const target of jumpTargets(r)) {
        to.add(target);
        if (wanted && !wanted.has(target)) continue;
        const list = referencedBy.get(target) ?? [];
        list.push({ table: name, chain: c.name, position: r.position });
        referencedBy.set(target, list);
      }
    }
    if (!wanted || wanted.has(c.name)) jumps.set(c.name, [...to]);
  }
  return chains.map((c) => ({
    name: c.name,
    builtin: c.base !== undefined,
    policy: c.base?.policy ?? null,
    rules: c.rules.length,
    counters: null,
    referencedBy: referencedBy.get(c.name) ?? [],
    jumpsTo: jumps.get(c.name) ?? [],
    ...(c.base ? { type: c.base.type, hook: c.base.hook, priority: c.base.priority } : {}),
  }));
}

export function nftRuleJson(r: NftRule) {
  const stmts = JSON.parse(JSON.stringify(r.stmts, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))) as { kind: string }[];
  return {
    position: r.position,
    line: r.line ?? 0,
    ...(r.handle !== undefined ? { handle: r.handle } : {}),
    text: printNftRule(r),
    raw: r.raw,
    counters: ruleCounters(r),
    ...(r.comment !== undefined ? { comment: r.comment } : {}),
    stmts,
  };
}

/** The chain as `nft list chain FAMILY TABLE CHAIN` prints it (with its table around it). */
export function printNftChain(table: NftTable, chain: NftChain): string {
  return printNftRuleset({ tables: [{ ...table, sets: [], objects: [], flowtables: [], chains: [chain], flags: [] }] });
}
