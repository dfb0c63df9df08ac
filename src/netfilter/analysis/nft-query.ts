// Which rules of an nft ruleset mention an address, a port, a protocol or a
// kube-proxy Service: the nftables side of searchRules (query.ts). A value
// counts where the rule compares a field with it, directly, through an
// anonymous set, or through a named set or map of its table (kube-proxy's
// `ip daddr . meta l4proto . th dport vmap @service-ips` mentions every
// Service address in the map), and where NAT rewrites to it. Negated
// comparisons (`!=`) do not mention their values, as with iptables' `!`.
import type { NftChain, NftElement, NftExpr, NftRule, NftRuleset, NftSet, NftStmt, NftTable } from '../nftables/model.ts';
import { cidrContains, parseCidr, parseIp, type Ip } from '../pipeline/addr.ts';
import { extractNftServices } from './nft-services.ts';

export interface NftRuleFilter {
  /** `family name`, as nft names a table (`inet firewalld`). */
  readonly table?: string;
  /** A chain name; a trailing `*` matches a prefix. */
  readonly chain?: string;
  readonly comment?: string;
  /** A verdict (`drop`, `accept`...), an action (`reject`, `dnat`, `masquerade`, `log`...) or the chain a rule jumps or goes to. */
  readonly target?: string;
  readonly ip?: string;
  readonly port?: number;
  readonly proto?: string;
  /** kube-proxy Service port `ns/name[:port]`. */
  readonly service?: string;
}

export interface NftRuleHit {
  readonly table: NftTable;
  readonly chain: NftChain;
  readonly rule: NftRule;
}

const ADDRESS_FIELDS = new Set(['saddr', 'daddr']);
const PORT_FIELDS = new Set(['sport', 'dport']);
const PROTO_KEYS = (e: NftExpr): boolean =>
  (e.kind === 'meta' && (e.key === 'l4proto' || e.key === 'protocol')) || (e.kind === 'payload' && ((e.protocol === 'ip' && e.field === 'protocol') || (e.protocol === 'ip6' && e.field === 'nexthdr'))) || (e.kind === 'ct' && e.key === 'protocol');
const isAddressKey = (e: NftExpr): boolean => (e.kind === 'payload' && ADDRESS_FIELDS.has(e.field)) || (e.kind === 'ct' && ADDRESS_FIELDS.has(e.key));
const isPortKey = (e: NftExpr): boolean => (e.kind === 'payload' && PORT_FIELDS.has(e.field)) || (e.kind === 'ct' && (e.key === 'proto-src' || e.key === 'proto-dst'));

/** Stripped of a set element's wrapper (timeout, comment). */
const bare = (e: NftExpr): NftExpr => (e.kind === 'elem' ? e.value : e);

function findSet(table: NftTable, ref: NftExpr): NftSet | undefined {
  if (ref.kind !== 'setRef') return undefined;
  const name = ref.name.replace(/^@/, '');
  return table.sets.find((s) => s.name === name);
}

/** The values a comparison's right side stands for: itself, an anonymous set's members, a named set's or map's keys. */
function valuesOf(right: NftExpr, table: NftTable): NftExpr[] {
  const e = bare(right);
  if (e.kind === 'set') return e.elements.map((el) => bare(el.key));
  const named = findSet(table, e);
  if (named) return named.elements.map((el) => bare(el.key));
  return [e];
}

/** The comparisons of a rule: (key, right side) of each `==`-like match and verdict map lookup. */
function comparisons(rule: NftRule): { key: NftExpr; right: NftExpr }[] {
  const out: { key: NftExpr; right: NftExpr }[] = [];
  for (const s of rule.stmts) {
    if (s.kind === 'match' && s.op !== '!=') out.push({ key: s.left, right: s.right });
    else if (s.kind === 'vmap') out.push({ key: s.key, right: s.data });
  }
  return out;
}

/** The values compared with any key `isKey` picks, concatenations taken apart component by component. */
function comparedValues(rule: NftRule, table: NftTable, isKey: (e: NftExpr) => boolean): NftExpr[] {
  const out: NftExpr[] = [];
  for (const { key, right } of comparisons(rule)) {
    const k = bare(key);
    if (isKey(k)) {
      out.push(...valuesOf(right, table));
    } else if (k.kind === 'concat') {
      k.items.forEach((item, i) => {
        if (!isKey(item)) return;
        for (const v of valuesOf(right, table)) {
          const b = bare(v);
          if (b.kind === 'concat' && b.items[i]) out.push(b.items[i]!);
        }
      });
    }
  }
  return out;
}

const natStmts = (rule: NftRule): Extract<NftStmt, { kind: 'nat' }>[] => rule.stmts.filter((s): s is Extract<NftStmt, { kind: 'nat' }> => s.kind === 'nat');

function addressContains(e: NftExpr, ip: Ip): boolean {
  const b = bare(e);
  if (b.kind === 'literal' && typeof b.value === 'string') {
    const a = parseIp(b.value);
    return a !== undefined && a.family === ip.family && a.n === ip.n;
  }
  if (b.kind === 'prefix' && b.addr.kind === 'literal') {
    const c = parseCidr(`${b.addr.value}/${b.len}`);
    return c !== undefined && cidrContains(c, ip);
  }
  if (b.kind === 'range' && b.from.kind === 'literal' && b.to.kind === 'literal') {
    const lo = parseIp(String(b.from.value));
    const hi = parseIp(String(b.to.value));
    return !!lo && !!hi && lo.family === ip.family && ip.n >= lo.n && ip.n <= hi.n;
  }
  if (b.kind === 'concat') return b.items.some((x) => addressContains(x, ip));
  return false;
}

function portContains(e: NftExpr, port: number): boolean {
  const b = bare(e);
  if (b.kind === 'literal') return Number(b.value) === port;
  if (b.kind === 'range' && b.from.kind === 'literal' && b.to.kind === 'literal') return port >= Number(b.from.value) && port <= Number(b.to.value);
  return false;
}

function mentionsIp(rule: NftRule, table: NftTable, ip: Ip): boolean {
  if (comparedValues(rule, table, isAddressKey).some((v) => addressContains(v, ip))) return true;
  return natStmts(rule).some((n) => n.addr !== undefined && valuesOf(n.addr, table).some((v) => addressContains(v, ip)));
}

function mentionsPort(rule: NftRule, table: NftTable, port: number): boolean {
  if (comparedValues(rule, table, isPortKey).some((v) => portContains(v, port))) return true;
  return natStmts(rule).some((n) => n.port !== undefined && valuesOf(n.port, table).some((v) => portContains(v, port)));
}

function mentionsProto(rule: NftRule, table: NftTable, proto: string): boolean {
  if (comparedValues(rule, table, PROTO_KEYS).some((v) => { const b = bare(v); return b.kind === 'literal' && String(b.value) === proto; })) return true;
  // `tcp dport 80` compares a TCP header field: the rule is about TCP.
  return comparisons(rule).some(({ key }) => {
    const k = bare(key);
    const keys = k.kind === 'concat' ? k.items : [k];
    return keys.some((x) => x.kind === 'payload' && x.protocol === proto);
  });
}

/** Every jump/goto target a rule names: verdicts, verdict maps, anonymous chains. */
export function jumpTargets(rule: Pick<NftRule, 'stmts'>): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o['kind'] === 'verdict' && (o['verdict'] === 'jump' || o['verdict'] === 'goto') && typeof o['target'] === 'string' && o['chain'] === undefined) out.push(o['target']);
    for (const k of Object.keys(o)) walk(o[k]);
  };
  walk(rule.stmts);
  return [...new Set(out)];
}

/** jumpTargets, and the targets of the named verdict maps the rule looks up (kube-proxy's `service-ips`). */
function targetsOf(rule: NftRule, table: NftTable): Set<string> {
  const out = new Set(jumpTargets(rule));
  for (const s of rule.stmts) {
    if (s.kind !== 'vmap') continue;
    for (const el of findSet(table, bare(s.data))?.elements ?? []) {
      const d = el.data;
      if (d?.kind === 'verdict' && (d.verdict === 'jump' || d.verdict === 'goto')) out.add(d.target);
    }
  }
  return out;
}

/** What a rule does, in the words a `target` filter takes: its verdict, and reject, queue, log, notrack, dnat, snat, masquerade, redirect. */
function actionsOf(rule: NftRule): Set<string> {
  const out = new Set<string>();
  for (const s of rule.stmts) {
    if (s.kind === 'verdict') out.add(s.verdict);
    else if (s.kind === 'nat') out.add(s.type);
    else if (s.kind === 'reject' || s.kind === 'queue' || s.kind === 'log' || s.kind === 'notrack') out.add(s.kind);
  }
  return out;
}

/** The rules matching every given filter, in ruleset order. */
export function searchNftRules(ruleset: NftRuleset, f: NftRuleFilter): NftRuleHit[] {
  const ip = f.ip !== undefined ? parseIp(f.ip) : undefined;
  const proto = f.proto?.toLowerCase();
  const target = f.target;
  const serviceChains = f.service !== undefined ? chainsOfService(ruleset, f.service) : undefined;
  const chainOk = (name: string): boolean => f.chain === undefined || (f.chain.endsWith('*') ? name.startsWith(f.chain.slice(0, -1)) : name === f.chain);
  const hits: NftRuleHit[] = [];
  for (const table of ruleset.tables) {
    if (f.table !== undefined && f.table !== `${table.family} ${table.name}`) continue;
    for (const chain of table.chains) {
      if (!chainOk(chain.name)) continue;
      for (const rule of chain.rules) {
        if (f.comment !== undefined && !(rule.comment ?? '').toLowerCase().includes(f.comment.toLowerCase())) continue;
        if (target !== undefined && !targetsOf(rule, table).has(target) && !actionsOf(rule).has(target.toLowerCase())) continue;
        if (ip && !mentionsIp(rule, table, ip)) continue;
        if (f.port !== undefined && !mentionsPort(rule, table, f.port)) continue;
        if (proto !== undefined && !mentionsProto(rule, table, proto)) continue;
        if (serviceChains && !serviceChains.has(chain.name) && ![...targetsOf(rule, table)].some((t) => serviceChains.has(t)) && !namesService(rule, table, f.service!)) continue;
        hits.push({ table, chain, rule });
      }
    }
  }
  return hits;
}

const isService = (comment: string | undefined, service: string): boolean =>
  comment !== undefined && (comment === service || comment.startsWith(`${service}:`) || comment.startsWith(`${service} `));

/** kube-proxy names a Service port in the comment of its map elements (`ns/name:port`), e.g. in `no-endpoint-services`. */
function namesService(rule: NftRule, table: NftTable, service: string): boolean {
  if (isService(rule.comment, service)) return true;
  return comparisons(rule).some(({ right }) => {
    const r = bare(right);
    const elements: readonly NftElement[] = r.kind === 'set' ? r.elements : findSet(table, r)?.elements ?? [];
    return elements.some((el) => isService(el.comment ?? (el.key.kind === 'elem' ? el.key.comment : undefined), service));
  });
}

/** The chains kube-proxy's nftables mode made for a Service port (`ns/name` for all its ports). */
function chainsOfService(ruleset: NftRuleset, service: string): Set<string> {
  const out = new Set<string>();
  for (const s of extractNftServices(ruleset)) {
    if (s.name !== service && !(!service.includes(':') && s.name.startsWith(`${service}:`))) continue;
    for (const c of [s.svcChain, s.extChain, ...s.endpoints.map((e) => e.chain)]) if (c) out.add(c);
  }
  return out;
}
