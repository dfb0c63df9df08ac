// Listings and `-S` fragments do not say which table a chain belongs to.
// Chains that jump to each other share a table; the table is then read from
// what the chains contain. Every inference is reported as a diagnostic.
import type { Diagnostic, TableName } from '../model.ts';
import { BUILTIN_CHAINS, TABLE_NAMES } from '../model.ts';
import type { ChainDraft } from './build.ts';
import { createDisjointSets } from '../../analysis/disjoint-sets.ts';

const NAT_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP']);
const MANGLE_TARGETS = new Set(['TOS', 'TTL', 'HL', 'DSCP', 'TPROXY', 'CHECKSUM', 'TCPMSS', 'CLASSIFY', 'CONNSECMARK', 'SECMARK']);
const RAW_TARGETS = new Set(['NOTRACK', 'CT', 'TRACE']);
const FILTER_TARGETS = new Set(['REJECT']);
const NAT_CHAIN = /^(KUBE-(SEP|SVC|SVL|EXT|FW|XLB|MARK-MASQ|MARK-DROP|POSTROUTING|LOAD-BALANCER|NODE-PORT)|CNI-|FLANNEL-POSTRTG|cali-nat|cali-fip|DOCKER_OUTPUT|DOCKER_POSTROUTING)/;
const FILTER_CHAIN = /^(KUBE-(FORWARD|FIREWALL|PROXY-FIREWALL|EXTERNAL-SERVICES|KUBELET-CANARY)|DOCKER-(USER|ISOLATION)|FLANNEL-FWD|ufw-|f2b-|cali-(FORWARD|INPUT|OUTPUT|from|to|wl|fw|tw|pri|pro|po|pi))/;

export interface Inference {
  readonly table: TableName;
  readonly reason: string;
}

/** Assigns each chain a table. `hint` (from `-t` or the caller) wins. */
export function inferTables(
  chains: readonly ChainDraft[],
  hint: TableName | undefined,
  diagnostics: Diagnostic[],
): Map<string, TableName> {
  const result = new Map<string, TableName>();
  if (hint) {
    for (const c of chains) result.set(c.name, hint);
    return result;
  }
  // Union-find over jumps.
  const sets = createDisjointSets(chains.map((c) => c.name));
  const find = sets.find;
  const union = (a: string, b: string): void => {
    if (!sets.has(a) || !sets.has(b)) return;
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) sets.attach(ra, rb);
  };
  for (const c of chains) {
    for (const r of c.rules) {
      if (r.target && sets.has(r.target.name)) union(c.name, r.target.name);
    }
  }
  const groups = new Map<string, ChainDraft[]>();
  for (const c of chains) {
    const root = find(c.name);
    groups.set(root, [...(groups.get(root) ?? []), c]);
  }
  for (const group of groups.values()) {
    const inf = inferGroup(group);
    for (const c of group) result.set(c.name, inf.table);
    const first = group.reduce((m, c) => Math.min(m, c.line ?? Infinity), Infinity);
    diagnostics.push({
      line: Number.isFinite(first) ? first : 1,
      severity: 'info',
      code: 'inferred-table',
      message: `table not given for chain${group.length > 1 ? 's' : ''} ${group.map((c) => c.name).join(', ')}; inferred "${inf.table}" (${inf.reason})`,
    });
  }
  return result;
}

function inferGroup(group: readonly ChainDraft[]): Inference {
  // Tables that have every built-in chain named in the group.
  let candidates = [...TABLE_NAMES];
  const builtins = group.map((c) => c.name).filter((n) => TABLE_NAMES.some((t) => BUILTIN_CHAINS[t].includes(n)));
  for (const b of builtins) candidates = candidates.filter((t) => BUILTIN_CHAINS[t].includes(b));
  const targets = group.flatMap((c) => c.rules.map((r) => r.target?.name ?? ''));
  const names = group.map((c) => c.name);
  const pick = (table: TableName, reason: string): Inference | undefined =>
    candidates.includes(table) || candidates.length === 0 ? { table, reason } : undefined;

  const nat = targets.find((t) => NAT_TARGETS.has(t));
  const natChain = names.find((n) => NAT_CHAIN.test(n)) ?? targets.find((t) => NAT_CHAIN.test(t));
  const raw = targets.find((t) => RAW_TARGETS.has(t));
  const mangle = targets.find((t) => MANGLE_TARGETS.has(t));
  const filter = targets.find((t) => FILTER_TARGETS.has(t));
  const filterChain = names.find((n) => FILTER_CHAIN.test(n)) ?? targets.find((t) => FILTER_CHAIN.test(t));
  return (
    (nat && pick('nat', `target ${nat} exists only in nat`)) ||
    (natChain && pick('nat', `${natChain} is a nat chain`)) ||
    (filter && pick('filter', `target ${filter} is used in filter`)) ||
    (filterChain && pick('filter', `${filterChain} is a filter chain`)) ||
    (raw && pick('raw', `target ${raw} is used in raw`)) ||
    (mangle && pick('mangle', `target ${mangle} is used in mangle`)) ||
    (builtins.length > 0 && candidates.includes('filter') && { table: 'filter', reason: `built-in chain ${builtins[0]} exists in filter` }) ||
    (builtins.length > 0 && candidates.includes('nat') && { table: 'nat', reason: `built-in chain ${builtins[0]} exists in nat (not in filter)` }) ||
    (candidates[0] && builtins.length > 0 && { table: candidates[0], reason: `built-in chain ${builtins[0]} exists in ${candidates[0]}` }) ||
    { table: 'filter', reason: 'no table-specific targets or chains; filter is iptables\' default table' }
  );
}
