// Findings about a whole node, one netfilter with many owners: its iptables
// dump and its nft ruleset together. Each finding names the owner of the
// rules it blames (from table and chain names and comments), since the fix is
// theirs: an accept one owner gave that another's drop overrides, rules in
// two iptables backends, kube-proxy and the CNI in different modes, a forward
// policy drop without a pod path, queue verdicts no static answer can make,
// and an nft or kernel too old for kube-proxy's nftables mode.
import type { Ruleset } from '../iptables/model.ts';
import type { NftRuleset, NftStmt } from '../nftables/model.ts';
import { assumeAddress, assumedHost, type Host } from '../pipeline/host.ts';
import { validatePacket, type PacketInput } from '../pipeline/packet.ts';
import { tracePacket } from '../pipeline/trace.ts';
import { extractServices } from './query.ts';
import { extractNftServices } from './nft-services.ts';
import { ownerOfChain, ownerOfTable } from './owners.ts';
import { podAddress, podCidr, type Finding } from './lint.ts';
import type { BaseChainRun } from './base-chains.ts';

/** What the agent reports about the node besides its rulesets. */
export interface NodeFacts {
  /** `nft --version`'s version (`1.0.6`). */
  readonly nftVersion?: string;
  /** `uname -r` (`6.1.0-18-amd64`). */
  readonly kernel?: string;
  /** kube-proxy's mode as its /proxyMode endpoint said it (`iptables`, `nftables`, `ipvs`). */
  readonly kubeProxyMode?: string;
}

export interface NodeLintInput {
  readonly iptables?: Ruleset;
  readonly nftables?: NftRuleset;
  readonly host?: Host;
  readonly facts?: NodeFacts;
}

export interface NodeFinding extends Finding {
  /** Whose rules the finding blames. */
  readonly owner: string;
}

const IPTABLES_NFT_TABLES = new Set(['raw', 'mangle', 'nat', 'filter', 'security']);

/** `1.0.6` ≥ `1.0.1`, `6.1.0-18-amd64` ≥ `5.13`: numeric parts compared in order. */
export function versionAtLeast(version: string, minimum: string): boolean | undefined {
  const parts = (v: string) => (/^\d+(\.\d+)*/.exec(v.replace(/^v/, ''))?.[0] ?? '').split('.').filter(Boolean).map(Number);
  const a = parts(version);
  const b = parts(minimum);
  if (a.length === 0) return undefined;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Which modes each owner's rules are in: kube-proxy and the CNIs that have both an iptables and an nft form. */
function modesOf(iptables: Ruleset | undefined, nft: NftRuleset | undefined): Map<string, Set<'iptables' | 'nftables'>> {
  const modes = new Map<string, Set<'iptables' | 'nftables'>>();
  const add = (who: string, mode: 'iptables' | 'nftables') => modes.set(who, (modes.get(who) ?? new Set()).add(mode));
  for (const t of iptables?.tables ?? []) {
    for (const c of t.chains) {
      if (c.rules.length === 0) continue;
      if (/^KUBE-(SERVICES|SVC-|SEP-|NODEPORTS)/.test(c.name)) add('kube-proxy', 'iptables');
      else if (c.name.startsWith('cali-')) add('Calico', 'iptables');
      else if (c.name.startsWith('FLANNEL-')) add('flannel', 'iptables');
    }
  }
  for (const t of nft?.tables ?? []) {
    if (t.name === 'kube-proxy') add('kube-proxy', 'nftables');
    else if (t.name === 'calico') add('Calico', 'nftables');
    else if (/^flannel-ipv[46]$/.test(t.name)) add('flannel', 'nftables');
  }
  return modes;
}

/** The pod network: kube-proxy's masquerade exemption (`! -s CIDR -j KUBE-MARK-MASQ`, `ip saddr != CIDR jump mark-for-masquerade`). */
function podNetwork(iptables: Ruleset | undefined, nft: NftRuleset | undefined): string | undefined {
  const fromIptables = iptables && podCidr(iptables);
  if (fromIptables) return fromIptables;
  for (const t of nft?.tables ?? []) {
    if (t.name !== 'kube-proxy') continue;
    for (const c of t.chains) {
      for (const r of c.rules) {
        const m = /ip6? saddr != (\S+\/\d+) jump mark-for-masquerade/.exec(r.raw);
        if (m) return m[1];
      }
    }
  }
  return undefined;
}

/** Pod-to-pod traffic through the node, and traffic to each Service (up to 20) from a pod elsewhere. */
function probesOf(input: NodeLintInput, pod: string | undefined): { what: string; packet: PacketInput }[] {
  const out: { what: string; packet: PacketInput }[] = [];
  const [src, dst] = pod ? [podAddress(pod, 1), podAddress(pod, 2)] : [];
  if (!src || !dst) return out;
  const iface = input.host?.interfaces.find((i) => i.name !== 'lo')?.name ?? 'eth0';
  out.push({ what: `pod traffic ${src} → ${dst}:8080`, packet: { src, dst, protocol: 'tcp', sport: 40000, dport: 8080, inInterface: iface } });
  const services = [...(input.iptables ? extractServices(input.iptables) : []), ...(input.nftables ? extractNftServices(input.nftables) : [])];
  for (const s of services.filter((x) => x.clusterIP && x.port && x.endpoints.length && (x.protocol ?? 'tcp') === 'tcp').slice(0, 20)) {
    out.push({ what: `Service ${s.name} (${s.clusterIP}:${s.port}) from a pod`, packet: { src, dst: s.clusterIP!, protocol: 'tcp', sport: 40001, dport: s.port!, inInterface: iface } });
  }
  return out;
}

const ACCEPTED = new Set(['accept', 'ACCEPT']);

function lintProbes(input: NodeLintInput, findings: NodeFinding[]): void {
  const iptables = input.iptables ?? { family: 'ipv4' as const, tables: [] };
  // One finding per dropping chain (and the accepts it overrides), listing the traffic it drops.
  const byKey = new Map<string, { finding: Omit<NodeFinding, 'message'>; head: string; tail: string; what: string[] }>();
  const chainName = (b: BaseChainRun) => (b.language === 'nftables' ? `nft ${b.family} ${b.table} ${b.chain}` : `iptables ${b.table} ${b.chain}`);
  for (const probe of probesOf(input, podNetwork(input.iptables, input.nftables))) {
    const v = validatePacket(probe.packet);
    if (!v.ok) continue;
    const host = input.host ?? assumeAddress(assumedHost(), { address: v.packet.dst, local: false });
    const r = tracePacket(iptables, v.packet, { host, explain: true, ...(input.nftables ? { nftables: input.nftables } : {}) });
    for (const o of r.outcomes) {
      const runs = o.baseChains ?? [];
      const decider = runs.find((b) => b.decided);
      if (!decider || (o.disposition !== 'DROPPED' && o.disposition !== 'REJECTED')) continue;
      // Accepts a rule gave (a chain's policy accept is nobody's decision to let this traffic in).
      const overridden = runs.filter((b) => b.hook === decider.hook && b !== decider && ACCEPTED.has(b.verdict) && !b.byPolicy && b.owner !== decider.owner);
      const where = chainName(decider);
      const located = { owner: decider.owner, table: decider.language === 'nftables' ? `${decider.family} ${decider.table}` : decider.table, chain: decider.chain };
      let entry: { finding: Omit<NodeFinding, 'message'>; head: string; tail: string; what: string[] } | undefined;
      const key = `${where}|${overridden.map(chainName).join(',')}|${decider.byPolicy}`;
      entry = byKey.get(key);
      if (!entry && overridden.length) {
        entry = {
          finding: { code: 'accept-overridden', severity: 'error', ...located, explanation: 'In nftables an accept ends only its own base chain: every other base chain at the hook still runs, and a drop in any of them drops the packet. The owner of the dropping chain must accept this traffic too (or the accepting owner must stop relying on its accept).' },
          head: `${where} (${decider.owner}) drops `,
          tail: `, which ${overridden.map((b) => `${chainName(b)} (${b.owner})`).join(' and ')} accepted`,
          what: [],
        };
      } else if (!entry && decider.byPolicy && decider.hook === 'FORWARD' && decider.language === 'nftables') {
        entry = {
          finding: { code: 'forward-policy-drop-pod-traffic', severity: 'error', ...located, explanation: "A host firewall (firewalld's inet table, a distro ruleset) that drops forwarded packets by policy drops pod traffic between nodes unless it accepts the pod network; add the pod CIDR (or the CNI interfaces) to a trusted zone or an accept rule." },
          head: `${where} (${decider.owner}) has policy drop and no accept for `,
          tail: '',
          what: [],
        };
      }
      if (!entry) continue;
      byKey.set(key, entry);
      if (!entry.what.includes(probe.what)) entry.what.push(probe.what);
    }
  }
  for (const e of byKey.values()) {
    const shown = e.what.slice(0, 3).join('; ') + (e.what.length > 3 ? `; and ${e.what.length - 3} more` : '');
    findings.push({ ...e.finding, message: `${e.head}${shown}${e.tail}` });
  }
}

function lintQueues(input: NodeLintInput, findings: NodeFinding[]): void {
  for (const t of input.iptables?.tables ?? []) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        if (r.target?.kind === 'extension' && (r.target.name === 'NFQUEUE' || r.target.name === 'QUEUE')) {
          findings.push({ code: 'queue-verdict', severity: 'warning', owner: ownerOfChain(c.name), table: t.name, chain: c.name, rule: r.position, ...(r.line !== undefined ? { line: r.line } : {}), message: `${t.name} ${c.name} rule ${r.position} hands packets to userspace (${r.target.name})`, explanation: 'A userspace program decides these packets (an IPS, a policy agent); no static trace can say what it decides, so traces through this rule end UNKNOWN.' });
        }
      }
    }
  }
  const hasQueue = (stmts: readonly NftStmt[]): boolean => stmts.some((s) => s.kind === 'queue');
  for (const t of input.nftables?.tables ?? []) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        if (hasQueue(r.stmts)) {
          findings.push({ code: 'queue-verdict', severity: 'warning', owner: ownerOfTable('nftables', t.name), table: `${t.family} ${t.name}`, chain: c.name, rule: r.position, ...(r.line !== undefined ? { line: r.line } : {}), message: `nft ${t.family} ${t.name} ${c.name} rule ${r.position} hands packets to userspace (${r.raw})`, explanation: 'A userspace program decides these packets; no static trace can say what it decides, so traces through this rule end UNKNOWN.' });
        }
      }
    }
  }
}

function lintModes(input: NodeLintInput, findings: NodeFinding[]): void {
  const modes = modesOf(input.iptables, input.nftables);
  const kp = modes.get('kube-proxy');
  const live = input.facts?.kubeProxyMode;
  if (kp && kp.size === 2) {
    findings.push({
      code: 'kube-proxy-both-modes',
      severity: 'warning',
      owner: 'kube-proxy',
      message: `kube-proxy rules of both modes are on this node${live ? ` (kube-proxy says it runs in ${live} mode)` : ''}`,
      explanation: 'kube-proxy removes the other mode\'s rules when it starts; rules of both mean a restart did not clean up, or two kube-proxies. The stale mode\'s rules still run and can send Service traffic to endpoints that are gone.',
    });
  }
  const kubeMode = live === 'iptables' || live === 'nftables' ? live : kp?.size === 1 ? [...kp][0] : undefined;
  if (kubeMode) {
    for (const [who, m] of modes) {
      if (who === 'kube-proxy' || m.has(kubeMode)) continue;
      findings.push({
        code: 'modes-disagree',
        severity: 'warning',
        owner: who,
        message: `kube-proxy runs in ${kubeMode} mode but ${who}'s rules are in ${[...m].join(' and ')}`,
        explanation: `A node whose Service rules and CNI rules live in different netfilter front ends works, but their base chains interleave by priority: an accept in one does not stop a drop in the other, and iptables-save shows only half of it. Running ${who} in ${kubeMode} mode too keeps the node readable.`,
      });
    }
  }
  if (kubeMode === 'nftables' || kp?.has('nftables')) {
    const { nftVersion, kernel } = input.facts ?? {};
    if (nftVersion && versionAtLeast(nftVersion, '1.0.1') === false) {
      findings.push({ code: 'nft-too-old', severity: 'error', owner: 'kube-proxy (nftables mode)', message: `nft ${nftVersion} is older than 1.0.1, which kube-proxy's nftables mode needs`, explanation: 'kube-proxy in nftables mode needs nft 1.0.1 or later; older versions fail to load or list its ruleset.' });
    }
    if (kernel && versionAtLeast(kernel, '5.13') === false) {
      findings.push({ code: 'kernel-too-old', severity: 'error', owner: 'kube-proxy (nftables mode)', message: `kernel ${kernel} is older than 5.13, which kube-proxy's nftables mode needs`, explanation: 'kube-proxy in nftables mode needs kernel 5.13 or later (it uses features added then); on older kernels it cannot run in that mode.' });
    }
  }
}

function lintBackends(input: NodeLintInput, findings: NodeFinding[]): void {
  if (input.host?.backend !== 'legacy') return;
  const nftTables = (input.nftables?.tables ?? []).filter((t) => (t.family === 'ip' || t.family === 'ip6') && IPTABLES_NFT_TABLES.has(t.name) && t.chains.some((c) => c.rules.length));
  if (nftTables.length === 0) return;
  findings.push({
    code: 'split-brain',
    severity: 'warning',
    owner: 'unknown',
    message: `the iptables dump is from iptables-legacy, and the nft ruleset has iptables-nft tables with rules (${nftTables.map((t) => `${t.family} ${t.name}`).join(', ')})`,
    explanation: 'Both iptables backends are in use: components writing through iptables-legacy and others through iptables-nft (an old kube-proxy image, Docker, a CNI) each see only their half. Both halves run. Move every component to one backend.',
  });
}

/** Findings about the node as a whole (iptables and nft together), each naming the owner it blames. */
export function lintNode(input: NodeLintInput): NodeFinding[] {
  const findings: NodeFinding[] = [];
  lintProbes(input, findings);
  lintQueues(input, findings);
  lintModes(input, findings);
  lintBackends(input, findings);
  const order = { error: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => order[a.severity] - order[b.severity]);
}
