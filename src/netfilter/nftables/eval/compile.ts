// An nft ruleset prepared for tracing one address family: its base chains
// by hook (with priorities), and each table's sets compiled for lookups.
import type { Family } from '../../pipeline/family.ts';
import type { Hook } from '../../pipeline/context.ts';
import { isDynamicSet, packetUpdatedSets, type NftChain, type NftExpr, type NftRuleset, type NftSet, type NftStmt, type NftTable } from '../model.ts';
import { compileSet, type CompiledSet } from './sets.ts';
import { keyTypes, type NftType } from './types.ts';

export interface NftHookEntry {
  readonly table: NftTable;
  readonly chain: NftChain;
  readonly priority: number;
  readonly type: 'filter' | 'nat' | 'route';
  readonly sets: ReadonlyMap<string, { readonly compiled: CompiledSet; readonly dynamic: boolean; readonly isMap: boolean }>;
  /** The table's chains by name, for jump and goto. */
  readonly chains: ReadonlyMap<string, NftChain>;
}

export interface CompiledNft {
  readonly hooks: ReadonlyMap<Hook, readonly NftHookEntry[]>;
  /** Some rule or chain needs conntrack (ct expressions, nat chains, notrack): the kernel loads it. */
  readonly conntrack: boolean;
  readonly warnings: readonly string[];
}

const HOOKS: Readonly<Record<string, Hook>> = { prerouting: 'PREROUTING', input: 'INPUT', forward: 'FORWARD', output: 'OUTPUT', postrouting: 'POSTROUTING' };
const IPTABLES_TABLES = new Set(['raw', 'mangle', 'nat', 'filter', 'security']);

const TYPE_NAMES: Readonly<Record<string, NftType>> = {
  ipv4_addr: 'ipv4_addr',
  ipv6_addr: 'ipv6_addr',
  inet_proto: 'inet_proto',
  inet_service: 'inet_service',
  ifname: 'ifname',
  iface_index: 'iface_index',
  mark: 'mark',
  ct_state: 'ct_state',
  ct_status: 'ct_status',
  nf_proto: 'nf_proto',
  ether_type: 'ether_type',
  icmp_type: 'icmp_type',
  icmpv6_type: 'icmpv6_type',
  tcp_flag: 'tcp_flag',
  pkt_type: 'pkt_type',
  integer: 'integer',
  fib_addrtype: 'fib_addrtype',
};

function setTypes(s: NftSet): NftType[] {
  if (s.keyTypeof?.length) return s.keyTypeof.flatMap((e) => keyTypes(e));
  return s.keyType.map((t) => TYPE_NAMES[t] ?? 'unknown');
}

function compileSets(t: NftTable): NftHookEntry['sets'] {
  const updated = packetUpdatedSets(t);
  return new Map(t.sets.map((s) => [s.name, { compiled: compileSet(s.elements, setTypes(s)), dynamic: isDynamicSet(s, updated), isMap: s.kind === 'map' }]));
}

function usesConntrack(stmts: readonly NftStmt[]): boolean {
  const expr = (e: NftExpr): boolean => e.kind === 'ct' || (e.kind === 'concat' && e.items.some(expr)) || (e.kind === 'binop' && (expr(e.left) || expr(e.right)));
  return stmts.some((s) => s.kind === 'notrack' || s.kind === 'nat' || (s.kind === 'match' && expr(s.left)) || (s.kind === 'vmap' && expr(s.key)) || (s.kind === 'mangle' && (expr(s.key) || expr(s.value))));
}

/**
 * Base chains a packet of `family` meets: ip tables for IPv4, ip6 for IPv6,
 * inet for both. Tables of other families are not simulated (warned).
 * `iptablesTables` names the tables an iptables dump of this family already
 * has: iptables-nft's own nft tables are the same rules and are skipped.
 */
const compiledCache = new WeakMap<NftRuleset, Map<string, CompiledNft>>();

/** compileNft, kept with the ruleset object (a ruleset is readonly: its compilation never goes stale). */
export function compileNftCached(ruleset: NftRuleset, family: Family, iptablesTables: ReadonlySet<string> = new Set()): CompiledNft {
  let byKey = compiledCache.get(ruleset);
  if (!byKey) {
    byKey = new Map();
    compiledCache.set(ruleset, byKey);
  }
  const key = `${family} ${[...iptablesTables].sort().join(',')}`;
  let c = byKey.get(key);
  if (!c) {
    c = compileNft(ruleset, family, iptablesTables);
    byKey.set(key, c);
  }
  return c;
}

export function compileNft(ruleset: NftRuleset, family: Family, iptablesTables: ReadonlySet<string> = new Set()): CompiledNft {
  const hooks = new Map<Hook, NftHookEntry[]>();
  const warnings: string[] = [];
  let conntrack = false;
  const mine = family === 'ipv4' ? 'ip' : 'ip6';
  for (const table of ruleset.tables) {
    if (table.family !== mine && table.family !== 'inet') {
      if (table.family !== 'ip' && table.family !== 'ip6') warnings.push(`table ${table.family} ${table.name} is not simulated (only ip, ip6 and inet tables see routed packets here)`);
      continue;
    }
    if (table.family === mine && IPTABLES_TABLES.has(table.name) && iptablesTables.has(table.name)) {
      warnings.push(`nft table ${table.family} ${table.name} is iptables-nft's; it is traced from the iptables dump`);
      continue;
    }
    const sets = compileSets(table);
    const chains = new Map(table.chains.map((c) => [c.name, c]));
    for (const chain of table.chains) {
      if (chain.rules.some((r) => usesConntrack(r.stmts))) conntrack = true;
      const base = chain.base;
      if (!base) continue;
      const hook = HOOKS[base.hook];
      if (!hook) {
        warnings.push(`base chain ${table.family} ${table.name} ${chain.name} on hook ${base.hook} is not simulated`);
        continue;
      }
      if (base.type === 'nat') conntrack = true;
      const list = hooks.get(hook) ?? [];
      list.push({ table, chain, priority: base.priority, type: base.type, sets, chains });
      hooks.set(hook, list);
    }
  }
  // The kernel orders a hook's chains by priority; equal ones by registration (listing order).
  for (const list of hooks.values()) list.sort((a, b) => a.priority - b.priority);
  return { hooks, conntrack, warnings };
}
