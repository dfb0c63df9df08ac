// Findings about a ruleset: structural problems (undefined chains, loops,
// unreferenced chains), dead and duplicate rules, and Kubernetes-specific
// trouble (FORWARD DROP without a pod path, masquerade marks nobody acts on,
// Services without endpoints, uneven load balancing).
import type { Chain, Diagnostic, Match, Rule, Ruleset, Table } from '../iptables/model.ts';
import { findChain, findTable } from '../iptables/model.ts';
import { renderRule, renderRuleSpec } from '../iptables/printer/render.ts';
import { cidrContains, parseCidr } from '../pipeline/addr.ts';
import { extractServices, targetChain } from './query.ts';
import { assumeAddress, assumedHost, type Host } from '../pipeline/host.ts';
import { validatePacket } from '../pipeline/packet.ts';
import { tracePacket } from '../pipeline/trace.ts';

export type FindingSeverity = 'error' | 'warning' | 'info';

export interface Finding {
  readonly code: string;
  readonly severity: FindingSeverity;
  readonly table?: string;
  readonly chain?: string;
  readonly rule?: number;
  readonly line?: number;
  readonly message: string;
  readonly explanation: string;
}

export interface LintInput {
  readonly ruleset: Ruleset;
  readonly diagnostics?: readonly Diagnostic[];
  readonly host?: Host;
}

const TERMINAL = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP', 'QUEUE', 'NFQUEUE']);

function isTerminal(r: Rule): boolean {
  const t = r.target;
  if (!t) return false;
  if (t.kind === 'verdict') return true;
  if (t.kind === 'goto') return true;
  return t.kind === 'extension' && TERMINAL.has(t.name);
}

const at = (t: Table, c: Chain, r?: Rule): Pick<Finding, 'table' | 'chain' | 'rule' | 'line'> => ({
  table: t.name,
  chain: c.name,
  ...(r ? { rule: r.position, line: r.line } : c.line !== undefined ? { line: c.line } : {}),
});

function portRange(text: string): [number, number] {
  const [a, b] = text.split(':').map(Number);
  return [a!, b ?? a!];
}

/** Whether every packet `narrow` matches also matches `broad` (for the matches we can compare), or undefined when not comparable. */
function covers(broad: readonly Match[], narrow: readonly Match[]): boolean | undefined {
  for (const b of broad) {
    if (b.kind === 'module' && b.module === 'comment') continue;
    switch (b.kind) {
      case 'source':
      case 'destination': {
        const n = narrow.find((x) => x.kind === b.kind);
        if (!n || n.kind !== b.kind || n.negated !== b.negated) return b.negated ? undefined : false;
        const bc = parseCidr(b.cidr);
        const nc = parseCidr(n.cidr);
        if (!bc || !nc) return undefined;
        if (b.negated ? !(nc.prefix <= bc.prefix && cidrContains(nc, bc.ip)) : !(bc.prefix <= nc.prefix && cidrContains(bc, nc.ip))) return false;
        break;
      }
      case 'protocol': {
        const n = narrow.find((x) => x.kind === 'protocol');
        if (!n || n.kind !== 'protocol' || n.negated !== b.negated || n.protocol !== b.protocol) return false;
        break;
      }
      case 'inInterface':
      case 'outInterface': {
        const n = narrow.find((x) => x.kind === b.kind);
        if (!n || n.kind !== b.kind || n.negated !== b.negated) return false;
        const ok = b.name.endsWith('+') ? n.name.replace(/\+$/, '').startsWith(b.name.slice(0, -1)) : n.name === b.name;
        if (!ok) return false;
        break;
      }
      case 'module': {
        if (!['tcp', 'udp', 'sctp'].includes(b.module)) return undefined;
        const n = narrow.find((x) => x.kind === 'module' && x.module === b.module);
        if (!n || n.kind !== 'module') return false;
        for (const o of b.options) {
          if (o.name !== 'dport' && o.name !== 'sport') return undefined;
          const no = n.options.find((x) => x.name === o.name);
          if (!no || no.negated || o.negated) return no && no.negated === o.negated && no.args[0] === o.args[0] ? true : false;
          const [bl, bh] = portRange(o.args[0]!);
          const [nl, nh] = portRange(no.args[0]!);
          if (nl < bl || nh > bh) return false;
        }
        break;
      }
      default:
        return undefined;
    }
  }
  return true;
}

function lintChains(t: Table, findings: Finding[]): void {
  const referenced = new Set<string>();
  for (const c of t.chains) for (const r of c.rules) {
    const to = targetChain(r.target);
    if (to) referenced.add(to);
  }
  for (const c of t.chains) {
    if (!c.builtin && !referenced.has(c.name)) {
      findings.push({ code: 'unreferenced-chain', severity: 'info', ...at(t, c), message: `user chain ${c.name} is never jumped to`, explanation: 'No rule in this table jumps or goes to it, so its rules never run.' });
    }
    const seen = new Map<string, Rule>();
    c.rules.forEach((r, j) => {
      const spec = renderRuleSpec(r);
      const dup = seen.get(spec);
      if (dup) {
        findings.push({ code: 'duplicate-rule', severity: 'warning', ...at(t, c, r), message: `rule ${r.position} repeats rule ${dup.position}: ${renderRule(c.name, r)}`, explanation: `An identical rule earlier in ${c.name} already ${isTerminal(dup) ? 'decides every packet this one would see' : 'does the same'}.` });
        return;
      }
      seen.set(spec, r);
      for (let i = 0; i < j; i++) {
        const e = c.rules[i]!;
        if (!isTerminal(e)) continue;
        if (covers(e.matches, r.matches) === true) {
          findings.push({
            code: 'shadowed-rule',
            severity: 'warning',
            ...at(t, c, r),
            message: `rule ${r.position} can never match: rule ${e.position} (${renderRuleSpec(e)}) takes every packet it would`,
            explanation: `Rule ${e.position} matches a superset of rule ${r.position}'s addresses, protocol, ports and interfaces and ends the chain, so rule ${r.position} is dead.`,
          });
          break;
        }
      }
    });
  }
}

function lintLoops(t: Table, findings: Finding[]): void {
  const state = new Map<string, 0 | 1 | 2>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 1);
    stack.push(name);
    const c = findChain(t, name);
    for (const r of c?.rules ?? []) {
      const to = targetChain(r.target);
      if (!to) continue;
      const s = state.get(to) ?? 0;
      if (s === 1) {
        const cycle = [...stack.slice(stack.indexOf(to)), to];
        findings.push({ code: 'chain-loop', severity: 'error', table: t.name, chain: name, rule: r.position, line: r.line, message: `jump loop: ${cycle.join(' → ')}`, explanation: 'The kernel refuses rulesets with loops; a packet would never leave these chains.' });
      } else if (s === 0) visit(to);
    }
    stack.pop();
    state.set(name, 2);
  };
  for (const c of t.chains) if ((state.get(c.name) ?? 0) === 0) visit(c.name);
}

/** Chains reachable from a chain through jumps and gotos. */
function reachable(t: Table, from: string): Set<string> {
  const out = new Set<string>([from]);
  const todo = [from];
  while (todo.length) {
    for (const r of findChain(t, todo.pop()!)?.rules ?? []) {
      const to = targetChain(r.target);
      if (to && !out.has(to)) {
        out.add(to);
        todo.push(to);
      }
    }
  }
  return out;
}

function lintKubernetes(rs: Ruleset, host: Host | undefined, findings: Finding[]): void {
  const nat = findTable(rs, 'nat');
  const filter = findTable(rs, 'filter');
  const markMasq = findChain(nat, 'KUBE-MARK-MASQ');
  if (nat && markMasq && nat.chains.some((c) => c.rules.some((r) => targetChain(r.target) === 'KUBE-MARK-MASQ'))) {
    const post = reachable(nat, 'POSTROUTING');
    const masq = [...post].some((name) => findChain(nat, name)?.rules.some((r) => r.target?.kind === 'extension' && (r.target.name === 'MASQUERADE' || r.target.name === 'SNAT')));
    if (!masq) {
      findings.push({ code: 'masquerade-unreachable', severity: 'error', table: 'nat', chain: 'KUBE-MARK-MASQ', message: 'KUBE-MARK-MASQ marks packets, but no MASQUERADE is reachable from nat POSTROUTING', explanation: 'kube-proxy marks traffic that must be source-NATed (0x4000) and expects KUBE-POSTROUTING to MASQUERADE it; without that, replies from the endpoint bypass this node and connections hang.' });
    }
  }
  for (const s of extractServices(rs)) {
    if (s.endpoints.length === 0 && s.noEndpointRules.length > 0) {
      const r = s.noEndpointRules[0]!;
      findings.push({ code: 'service-without-endpoints', severity: 'warning', table: r.table, chain: r.chain, rule: r.position, message: `Service ${s.name} has no endpoints${s.clusterIP ? ` (${s.clusterIP}${s.port ? ':' + s.port : ''})` : ''}`, explanation: 'kube-proxy REJECTs its traffic; check the Service selector and whether its pods are Ready.' });
    }
    const n = s.endpoints.length;
    if (n > 1 && s.endpoints.some((e) => Math.abs(e.probability - 1 / n) > 1e-6)) {
      findings.push({ code: 'uneven-load-balancing', severity: 'warning', table: 'nat', ...(s.svcChain ? { chain: s.svcChain } : {}), message: `Service ${s.name}: endpoints get ${s.endpoints.map((e) => `${(e.probability * 100).toFixed(1)}%`).join(', ')}, not ${(100 / n).toFixed(1)}% each`, explanation: 'kube-proxy gives endpoint i of n the probability 1/(n-i); these statistic rules do not, so some pods get more new connections than others.' });
    }
  }
  const forward = findChain(filter, 'FORWARD');
  if (forward?.policy === 'DROP') {
    const pod = podCidr(rs);
    if (pod) {
      const verdict = podTrafficVerdict(rs, pod, host);
      if (verdict) {
        findings.push({ code: 'forward-drop-pod-traffic', severity: 'error', table: 'filter', chain: 'FORWARD', message: `filter FORWARD policy is DROP and new pod traffic within ${pod} has no ACCEPT path (${verdict})`, explanation: `Docker sets FORWARD's policy to DROP. Pod-to-pod traffic between nodes needs an ACCEPT, e.g. \`iptables -I DOCKER-USER -s ${pod} -j ACCEPT\` or \`iptables -A FORWARD -d ${pod} -j ACCEPT\`.` });
      }
    }
  }
}

/** The pod network, from kube-proxy's `! -s <cluster CIDR> ... -j KUBE-MARK-MASQ` rules. */
export function podCidr(rs: Ruleset): string | undefined {
  const nat = findTable(rs, 'nat');
  for (const c of nat?.chains ?? []) {
    for (const r of c.rules) {
      if (targetChain(r.target) !== 'KUBE-MARK-MASQ') continue;
      const s = r.matches.find((m) => m.kind === 'source' && m.negated);
      if (s && s.kind === 'source') return s.cidr;
    }
  }
  return undefined;
}

/** Address .10 of the `subnet`-th /24 of an IPv4 pod network (a pod on another node), for probes. */
export function podAddress(pod: string, subnet: number): string | undefined {
  const c = parseCidr(pod);
  if (!c || c.ip.family !== 'ipv4') return undefined;
  const n = c.ip.n as number;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${((n >>> 8) & 255) + subnet}.10`;
}

function podTrafficVerdict(rs: Ruleset, pod: string, host: Host | undefined): string | undefined {
  const [src, dst] = [podAddress(pod, 1), podAddress(pod, 2)];
  if (!src || !dst) return undefined;
  const p = validatePacket({ src, dst, protocol: 'tcp', sport: 40000, dport: 8080, inInterface: 'flannel.1' });
  if (!p.ok) return undefined;
  // The probe's destination is a pod on another node, never an address of this one.
  const probeHost = host ?? assumeAddress(assumedHost(), { address: p.packet.dst, local: false });
  const r = tracePacket(rs, p.packet, { host: probeHost });
  const dropped = r.outcomes.filter((o) => o.disposition === 'DROPPED' && o.events.at(-1)?.kind === 'policy' && o.events.at(-1)?.chain === 'FORWARD');
  return dropped.length > 0 && dropped.length === r.outcomes.length ? `a probe ${src} → ${dst}:8080 ends at the policy` : undefined;
}

/** A finding that names a rule gets that rule's line; one that names only a chain, the chain's declaration line. */
function locate(rs: Ruleset, f: Finding): Finding {
  if (f.line !== undefined || !f.table || !f.chain) return f;
  const chain = findChain(rs.tables.find((t) => t.name === f.table), f.chain);
  const line = f.rule !== undefined ? chain?.rules[f.rule - 1]?.line : chain?.line;
  return line === undefined ? f : { ...f, line };
}

export function lintRuleset(input: LintInput): Finding[] {
  const findings: Finding[] = [];
  for (const d of input.diagnostics ?? []) {
    if (d.code === 'undeclared-chain' && /is used but never declared/.test(d.message)) {
      findings.push({ code: 'undefined-chain', severity: 'error', line: d.line, message: d.message.replace(/; declared as an empty user chain$/, ''), explanation: 'iptables-restore refuses a jump to a chain that does not exist; packetpath treats it as empty.' });
    }
    if (d.code === 'legacy-tables-present') {
      findings.push({ code: 'legacy-and-nft', severity: 'warning', line: d.line, message: 'both iptables-legacy and iptables-nft tables exist on this node', explanation: 'Rules in the legacy tables also run but are not in this dump; components writing to different backends (an old kube-proxy, Docker, a CNI) disagree about what the node does. Collect both (the agent uploads the legacy tables as the node `<node>.iptables-legacy`, and traces of the node then run them too) or move everything to one backend.' });
    }
  }
  for (const t of input.ruleset.tables) {
    lintChains(t, findings);
    lintLoops(t, findings);
  }
  lintKubernetes(input.ruleset, input.host, findings);
  const order = { error: 0, warning: 1, info: 2 };
  return findings.map((f) => locate(input.ruleset, f)).sort((a, b) => order[a.severity] - order[b.severity] || (a.line ?? 0) - (b.line ?? 0));
}
