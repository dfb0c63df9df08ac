// Questions about a ruleset: who jumps where, which rules mention an
// address or port, and the kube-proxy Services its chains encode.
import type { Chain, Counters, ExtOption, Match, Rule, Ruleset, Table, TableName, Target } from '../iptables/model.ts';
import { findChain, findTable } from '../iptables/model.ts';
import { renderRule } from '../iptables/printer/render.ts';
import { cidrContains, parseCidr, parseIp, type Ip } from '../pipeline/addr.ts';
import { formatProbability, probabilityFraction } from '../iptables/syntax/values.ts';

export interface RuleRef {
  readonly table: TableName;
  readonly chain: string;
  readonly position: number;
}

export interface ChainSummary {
  readonly name: string;
  readonly builtin: boolean;
  readonly policy: string | null;
  readonly rules: number;
  readonly counters: Counters | null;
  readonly referencedBy: readonly RuleRef[];
  readonly jumpsTo: readonly string[];
}

export const targetChain = (t: Target | null): string | undefined => (t && (t.kind === 'jump' || t.kind === 'goto') ? t.chain : undefined);

export const targetName = (t: Target | null): string | undefined =>
  !t ? undefined : t.kind === 'verdict' ? t.verdict : t.kind === 'extension' ? t.name : t.chain;

export function referencesTo(table: Table, chain: string): RuleRef[] {
  const refs: RuleRef[] = [];
  for (const c of table.chains) for (const r of c.rules) if (targetChain(r.target) === chain) refs.push({ table: table.name, chain: c.name, position: r.position });
  return refs;
}

export function summarizeChains(table: Table): ChainSummary[] {
  const refs = new Map<string, RuleRef[]>();
  for (const c of table.chains) {
    for (const r of c.rules) {
      const to = targetChain(r.target);
      if (!to) continue;
      // push, not a spread copy: KUBE-MARK-MASQ of a 30k-Service node has 100k references
      const list = refs.get(to);
      if (list) list.push({ table: table.name, chain: c.name, position: r.position });
      else refs.set(to, [{ table: table.name, chain: c.name, position: r.position }]);
    }
  }
  return table.chains.map((c) => ({
    name: c.name,
    builtin: c.builtin,
    policy: c.policy,
    rules: c.rules.length,
    counters: c.counters ?? null,
    referencedBy: refs.get(c.name) ?? [],
    jumpsTo: jumpsFrom(c),
  }));
}

/** The chains a chain's rules jump or go to, each once, in rule order. */
export function jumpsFrom(c: Chain): string[] {
  return [...new Set(c.rules.map((r) => targetChain(r.target)).filter((x): x is string => !!x))];
}

export interface RuleFilter {
  readonly table?: TableName;
  readonly chain?: string;
  readonly service?: string;
  readonly ip?: string;
  readonly port?: number;
  readonly proto?: string;
  readonly target?: string;
  readonly comment?: string;
}

export interface RuleHit {
  readonly table: TableName;
  readonly chain: string;
  readonly position: number;
  readonly line: number;
  readonly text: string;
  readonly raw: string;
  readonly counters: Counters | null;
}

const moduleOpts = (r: Rule, module: string): ExtOption[] =>
  r.matches.flatMap((m) => (m.kind === 'module' && m.module === module ? [...m.options] : []));

export function ruleComments(r: Rule): string[] {
  return moduleOpts(r, 'comment').filter((o) => o.name === 'comment').map((o) => o.args[0] ?? '');
}

function ruleMentionsIp(r: Rule, ip: Ip): boolean {
  for (const m of r.matches) {
    if ((m.kind === 'source' || m.kind === 'destination') && !m.negated) {
      const c = parseCidr(m.cidr);
      if (c && cidrContains(c, ip)) return true;
    }
    if (m.kind === 'module' && m.module === 'iprange') {
      for (const o of m.options) {
        const [lo, hi] = (o.args[0] ?? '').split('-').map((x) => parseIp(x));
        if (lo && hi && lo.family === ip.family && ip.n >= lo.n && ip.n <= hi.n) return true;
      }
    }
  }
  if (r.target?.kind === 'extension') {
    for (const o of r.target.options) {
      if (!['to-destination', 'to-source', 'to', 'on-ip'].includes(o.name)) continue;
      const a = (o.args[0] ?? '').replace(/^\[/, '').split(/[\]:]/)[0]!;
      const [lo, hi] = a.split('-').map((x) => parseIp(x));
      const c = o.name === 'to' ? parseCidr(o.args[0] ?? '') : undefined;
      if (c && cidrContains(c, ip)) return true;
      if (lo && lo.family === ip.family && ip.n >= lo.n && ip.n <= (hi ?? lo).n) return true;
    }
  }
  return false;
}

function portIn(spec: string, port: number): boolean {
  return spec.split(',').some((x) => {
    const [a, b] = x.split(/[:-]/).map(Number);
    return port >= a! && port <= (b ?? a)!;
  });
}

function ruleMentionsPort(r: Rule, port: number): boolean {
  for (const m of r.matches) {
    if (m.kind !== 'module') continue;
    for (const o of m.options) {
      if (['sport', 'dport', 'sports', 'dports', 'ports', 'ctorigdstport', 'ctorigsrcport'].includes(o.name) && !o.negated && portIn(o.args[0] ?? '', port)) return true;
    }
  }
  if (r.target?.kind === 'extension') {
    for (const o of r.target.options) {
      if (o.name === 'to-ports' && portIn(o.args[0] ?? '', port)) return true;
      if ((o.name === 'to-destination' || o.name === 'to-source') && /:(\d+(?:-\d+)?)$/.test(o.args[0] ?? '')) {
        if (portIn(/:(\d+(?:-\d+)?)$/.exec(o.args[0]!)![1]!, port)) return true;
      }
    }
  }
  return false;
}

/** kube-proxy names a Service port `ns/name:port` in its comments. */
export function serviceOfComment(comment: string): string | undefined {
  // `ns/name:port`, `ns/name:` (old kube-proxy, unnamed port) or `ns/name` (unnamed port).
  const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[^\s]*)?)(\s|$)/i.exec(comment);
  return m?.[1];
}

function serviceMatches(wanted: string, svc: string): boolean {
  if (svc === wanted) return true;
  return !wanted.includes(':') && svc.startsWith(wanted + ':');
}

export function searchRules(ruleset: Ruleset, f: RuleFilter): RuleHit[] {
  return [...matchingRules(ruleset, f)].map(toHit);
}

/**
 * One page of searchRules: `limit` hits after the first `offset`, and whether more follow.
 * Only the page's rules are rendered (a search over a 700k-line node renders a page, not the node).
 */
export function searchRulesPage(ruleset: Ruleset, f: RuleFilter, offset: number, limit: number): { hits: RuleHit[]; more: boolean } {
  const hits: RuleHit[] = [];
  let seen = 0;
  for (const m of matchingRules(ruleset, f)) {
    if (seen++ < offset) continue;
    if (hits.length === limit) return { hits, more: true };
    hits.push(toHit(m));
  }
  return { hits, more: false };
}

interface RuleMatch {
  readonly table: Table;
  readonly chain: Chain;
  readonly rule: Rule;
}

const toHit = ({ table, chain, rule: r }: RuleMatch): RuleHit => ({ table: table.name, chain: chain.name, position: r.position, line: r.line, text: renderRule(chain.name, r), raw: r.raw, counters: r.counters ?? null });

function* matchingRules(ruleset: Ruleset, f: RuleFilter): Generator<RuleMatch> {
  const ip = f.ip ? parseIp(f.ip) : undefined;
  const serviceChains = f.service ? chainsOfService(ruleset, f.service) : undefined;
  for (const t of ruleset.tables) {
    if (f.table && t.name !== f.table) continue;
    for (const c of t.chains) {
      if (f.chain && !(f.chain.endsWith('*') ? c.name.startsWith(f.chain.slice(0, -1)) : c.name === f.chain)) continue;
      for (const r of c.rules) {
        if (ip && !ruleMentionsIp(r, ip)) continue;
        if (f.port !== undefined && !ruleMentionsPort(r, f.port)) continue;
        if (f.proto && !r.matches.some((m) => m.kind === 'protocol' && !m.negated && m.protocol === f.proto)) continue;
        if (f.target && targetName(r.target) !== f.target) continue;
        if (f.comment && !ruleComments(r).some((x) => x.toLowerCase().includes(f.comment!.toLowerCase()))) continue;
        if (serviceChains) {
          const svcInComment = ruleComments(r).some((x) => {
            const s = serviceOfComment(x);
            return s !== undefined && serviceMatches(f.service!, s);
          });
          const touches = serviceChains.has(c.name) || serviceChains.has(targetChain(r.target) ?? '');
          if (!svcInComment && !touches) continue;
        }
        yield { table: t, chain: c, rule: r };
      }
    }
  }
}

function chainsOfService(ruleset: Ruleset, service: string): Set<string> {
  const out = new Set<string>();
  for (const s of extractServices(ruleset)) {
    if (!serviceMatches(service, s.name)) continue;
    for (const c of [s.svcChain, s.extChain, ...s.endpoints.map((e) => e.chain)]) if (c) out.add(c);
  }
  return out;
}

export interface ServiceEndpoint {
  readonly chain: string;
  readonly ip: string | null;
  readonly port: number | null;
  /** The chance a new connection picks this endpoint. */
  readonly probability: number;
  /** The `statistic` probability on the KUBE-SVC rule (null for the last endpoint). */
  readonly ruleProbability: string | null;
  readonly hairpinMasquerade: boolean;
}

export interface KubeService {
  readonly name: string;
  readonly namespace: string;
  readonly service: string;
  readonly portName: string;
  readonly protocol: string | null;
  readonly clusterIP: string | null;
  readonly port: number | null;
  readonly nodePort: number | null;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly svcChain: string | null;
  readonly extChain: string | null;
  readonly endpoints: readonly ServiceEndpoint[];
  /** Rules that mark this service's traffic for masquerade (KUBE-MARK-MASQ). */
  readonly masqueradeRules: readonly RuleRef[];
  /** kube-proxy's REJECT/DROP for a service without endpoints. */
  readonly noEndpointRules: readonly RuleRef[];
}

interface MutableService {
  name: string;
  protocol: string | null;
  clusterIP: string | null;
  port: number | null;
  nodePort: number | null;
  externalIPs: Set<string>;
  loadBalancerIPs: Set<string>;
  svcChain: string | null;
  extChain: string | null;
  masqueradeRules: RuleRef[];
  noEndpointRules: RuleRef[];
}

const dportOf = (r: Rule): number | null => {
  const o = [...moduleOpts(r, 'tcp'), ...moduleOpts(r, 'udp'), ...moduleOpts(r, 'sctp')].find((x) => x.name === 'dport');
  return o ? Number(o.args[0]) : null;
};
const protoOf = (r: Rule): string | null => {
  const m = r.matches.find((x): x is Match & { kind: 'protocol' } => x.kind === 'protocol' && !x.negated);
  return m?.protocol ?? null;
};
const destOf = (r: Rule): string | null => {
  const m = r.matches.find((x): x is Match & { kind: 'destination' } => x.kind === 'destination' && !x.negated);
  return m ? m.cidr.replace(/\/(32|128)$/, '') : null;
};

/** Rebuilds kube-proxy's Services (iptables mode) from the nat and filter chains. */
export function extractServices(ruleset: Ruleset): KubeService[] {
  const nat = findTable(ruleset, 'nat');
  const filter = findTable(ruleset, 'filter');
  const services = new Map<string, MutableService>();
  const byChain = new Map<string, MutableService>();
  const get = (name: string): MutableService => {
    let s = services.get(name);
    if (!s) {
      s = { name, protocol: null, clusterIP: null, port: null, nodePort: null, externalIPs: new Set(), loadBalancerIPs: new Set(), svcChain: null, extChain: null, masqueradeRules: [], noEndpointRules: [] };
      services.set(name, s);
    }
    return s;
  };
  const nameFor = (r: Rule, fallback: string): string => {
    for (const c of ruleComments(r)) {
      const s = serviceOfComment(c);
      if (s) return s;
    }
    return fallback;
  };
  const dispatch = (chainName: string, kind: 'services' | 'nodeports'): void => {
    const chain = findChain(nat, chainName);
    for (const r of chain?.rules ?? []) {
      const to = targetChain(r.target);
      if (!to || !/^KUBE-(SVC|SVL|EXT|FW|XLB)-/.test(to)) continue;
      const svc = to.startsWith('KUBE-SVC-') || to.startsWith('KUBE-SVL-') ? byChain.get(to) : byChain.get(to);
      const s = svc ?? get(nameFor(r, to));
      if (to.startsWith('KUBE-SVC-') || to.startsWith('KUBE-SVL-')) {
        s.svcChain ??= to;
        byChain.set(to, s);
      } else {
        s.extChain ??= to;
        byChain.set(to, s);
      }
      s.protocol ??= protoOf(r);
      const comment = ruleComments(r).join(' ');
      if (kind === 'nodeports') s.nodePort = dportOf(r);
      else {
        const d = destOf(r);
        if (/external IP/.test(comment)) {
          if (d) s.externalIPs.add(d);
        } else if (/loadbalancer IP/i.test(comment)) {
          if (d) s.loadBalancerIPs.add(d);
        } else {
          s.clusterIP ??= d;
          s.port ??= dportOf(r);
        }
      }
    }
  };
  dispatch('KUBE-SERVICES', 'services');
  dispatch('KUBE-NODEPORTS', 'nodeports');
  // KUBE-EXT/FW chains lead to the service chain.
  for (const [chainName, s] of [...byChain]) {
    if (chainName.startsWith('KUBE-SVC-') || chainName.startsWith('KUBE-SVL-')) continue;
    for (const r of findChain(nat, chainName)?.rules ?? []) {
      const to = targetChain(r.target);
      if (to && (to.startsWith('KUBE-SVC-') || to.startsWith('KUBE-SVL-'))) {
        s.svcChain ??= to;
        byChain.set(to, s);
      }
      if (to === 'KUBE-MARK-MASQ') s.masqueradeRules.push({ table: 'nat', chain: chainName, position: r.position });
    }
  }
  for (const table of [filter, nat]) {
    for (const chainName of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS']) {
      for (const r of findChain(table, chainName)?.rules ?? []) {
        const t = targetName(r.target);
        const comment = ruleComments(r).join(' ');
        if ((t !== 'REJECT' && t !== 'DROP') || !/has no endpoints/.test(comment)) continue;
        const s = get(nameFor(r, `${chainName}#${r.position}`));
        s.protocol ??= protoOf(r);
        const d = destOf(r);
        if (chainName === 'KUBE-SERVICES' && d && !s.clusterIP) {
          s.clusterIP = d;
          s.port = dportOf(r);
        }
        if (chainName !== 'KUBE-SERVICES' && r.matches.some((m) => m.kind === 'module' && m.module === 'addrtype')) s.nodePort ??= dportOf(r);
        s.noEndpointRules.push({ table: table!.name, chain: chainName, position: r.position });
      }
    }
  }
  return [...services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((s) => finishService(s, nat));
}

function finishService(s: MutableService, nat: Table | undefined): KubeService {
  const endpoints: ServiceEndpoint[] = [];
  const masq = [...s.masqueradeRules];
  const svc = s.svcChain ? findChain(nat, s.svcChain) : undefined;
  let remaining = 1;
  for (const r of svc?.rules ?? []) {
    const to = targetChain(r.target);
    if (to === 'KUBE-MARK-MASQ') {
      masq.push({ table: 'nat', chain: svc!.name, position: r.position });
      continue;
    }
    if (!to || !to.startsWith('KUBE-SEP-')) continue;
    const stat = moduleOpts(r, 'statistic');
    const probText = stat.find((o) => o.name === 'probability')?.args[0] ?? null;
    const p = probText === null ? 1 : probabilityFraction(Number(probText)) / 0x80000000;
    const share = remaining * p;
    remaining -= share;
    const sep = findChain(nat, to);
    let ip: string | null = null;
    let port: number | null = null;
    let hairpin = false;
    for (const sr of sep?.rules ?? []) {
      if (targetChain(sr.target) === 'KUBE-MARK-MASQ') hairpin = true;
      if (sr.target?.kind === 'extension' && sr.target.name === 'DNAT') {
        const dest = sr.target.options.find((o) => o.name === 'to-destination')?.args[0] ?? '';
        const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(dest.includes('.') ? dest.replace(/^(.*):(\d+)$/, '[$1]:$2') : dest);
        ip = m?.[1] ?? null;
        port = m?.[2] ? Number(m[2]) : null;
      }
    }
    endpoints.push({ chain: to, ip, port, probability: share, ruleProbability: probText === null ? null : formatProbability(probabilityFraction(Number(probText))), hairpinMasquerade: hairpin });
  }
  const [ns = '', rest = ''] = s.name.split('/');
  const [svcName = rest, portName = ''] = rest.split(':');
  return {
    name: s.name,
    namespace: s.name.includes('/') ? ns : '',
    service: s.name.includes('/') ? svcName : s.name,
    portName,
    protocol: s.protocol,
    clusterIP: s.clusterIP,
    port: s.port,
    nodePort: s.nodePort,
    externalIPs: [...s.externalIPs],
    loadBalancerIPs: [...s.loadBalancerIPs],
    svcChain: s.svcChain,
    extChain: s.extChain,
    endpoints,
    masqueradeRules: masq,
    noEndpointRules: s.noEndpointRules,
  };
}

export type { Chain };
