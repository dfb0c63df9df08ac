// The nftables differential suite, kernel side: a case (native nft ruleset, optionally
// next to iptables-nft tables) is loaded into a namespace, every packet is traced with
// `nft monitor trace`, and the events become comparison keys. The simulator side
// (`traceNode` in src/netfilter/pipeline/) is compared by `compareNftRun`.
import { spawn } from 'node:child_process';
import { runTopologyDetailed, type NodeSetupInfo, type NodeSpec, type PacketSpec, type TopologySpec, type Delivered } from './netns.ts';
import { networkOf, simPacketSpec, type CaseHost, type CasePacket } from './differential.ts';
import { nftKernelKeys, type NftKernelEvent } from './nft-trace.ts';

export { nftKernelKeys } from './nft-trace.ts';

export interface NftDiffCase {
  name: string;
  /** `nft -f` text (native tables) */
  nft: string;
  /** iptables-save text restored first with iptables-restore (iptables-nft tables) */
  iptables?: string;
  /** ip6tables-save text restored first with ip6tables-restore */
  ip6tables?: string;
  host: CaseHost;
  packets: CasePacket[];
}

export interface NftKernelPacket {
  packet: CasePacket;
  spec: PacketSpec;
  events: NftKernelEvent[];
  /** nftKernelKeys(events) (by handle) */
  keys: string[];
  /** the same keys with the rule's 1-based position instead of its handle */
  positionKeys: string[];
  /** 'drop' when a rule or policy dropped it, else 'accept' (the last verdict that ends the packet) */
  verdict: 'accept' | 'drop';
  /** `src[:sport]>dst[:dport]` of the first copy a peer received, or 'none' */
  delivered: string;
  deliveredPackets: Delivered[];
  /** the packet mark last printed by the kernel (policy lines), if any */
  mark?: string;
  conntrack: string[];
  sendError?: string;
}

export interface NftKernelResult {
  setup: NodeSetupInfo;
  packets: NftKernelPacket[];
}

/**
 * The packet's final mark, when the kernel printed it: nft prints `meta mark` only on policy
 * lines (and only when non-zero), so it is known when the last event is a policy event.
 */
export function kernelFinalMark(events: readonly NftKernelEvent[]): number | undefined {
  const last = events[events.length - 1];
  if (!last || last.kind !== 'policy') return undefined;
  return last.mark === undefined ? 0 : parseInt(last.mark, 16) >>> 0;
}

/** The packet ends dropped when any rule or policy event says drop. */
export function finalVerdict(events: readonly NftKernelEvent[]): 'accept' | 'drop' {
  return events.some((e) => e.verdict === 'drop') ? 'drop' : 'accept';
}

export function deliveryText(d: Delivered | undefined): string {
  if (!d) return 'none';
  return `${d.src}${d.sport !== undefined ? ':' + d.sport : ''}>${d.dst}${d.dport !== undefined ? ':' + d.dport : ''}`;
}

export function nftCaseNode(c: NftDiffCase): NodeSpec {
  const connected = new Set(c.host.interfaces.flatMap((i) => i.addresses.map((a) => `${networkOf(a)} ${i.name}`)));
  return {
    name: 'n1',
    dump: c.iptables ?? '',
    ...(c.ip6tables !== undefined ? { dump6: c.ip6tables } : {}),
    nft: c.nft,
    monitor: 'nft',
    interfaces: c.host.interfaces.filter((i) => i.name !== 'lo'),
    routes: c.host.routes.filter((r) => r.via || r.type || !connected.has(`${r.dst} ${r.dev}`)),
    forwarding: c.host.forwarding,
    ...(c.host.ipsets ? { ipsets: c.host.ipsets } : {}),
    ...(c.host.routeLocalnet !== undefined ? { sysctls: { 'net.ipv4.conf.all.route_localnet': c.host.routeLocalnet ? 1 : 0 } } : {}),
  };
}

/**
 * Load the case into a namespace and trace every packet (repeat counts expanded) with `nft monitor trace`.
 * `node`: more for the node (iptables-legacy tables, a command run once the rules are loaded).
 */
export async function runNftCase(c: NftDiffCase, node: Pick<NodeSpec, 'legacyDump' | 'afterSetup'> = {}): Promise<NftKernelResult> {
  const topo: TopologySpec = { nodes: [{ ...nftCaseNode(c), ...node }], links: [] };
  const specs: { cp: CasePacket; spec: PacketSpec }[] = [];
  for (const cp of c.packets) for (let k = 0; k < (cp.repeat ?? 1); k++) specs.push({ cp, spec: simPacketSpec(cp) });
  const res = await runTopologyDetailed(topo, specs.map((s) => s.spec), {
    minWaitMs: 60,
    // `nft -a monitor trace` looks each rule up before it prints: slower than xtables-monitor, more so under load.
    quietMs: 80,
    maxWaitMs: 1500,
    silentMaxWaitMs: 10_000,
  });
  const packets = res.runs.map((run, i): NftKernelPacket => {
    const events = run.nftEvents.filter((e) => e.node === 'n1');
    const marks = events.filter((e) => e.mark !== undefined);
    const p: NftKernelPacket = {
      packet: specs[i]!.cp,
      spec: specs[i]!.spec,
      events,
      keys: nftKernelKeys(events),
      positionKeys: nftKernelKeys(events, { by: 'position' }),
      verdict: finalVerdict(events),
      delivered: deliveryText(run.delivered[0]),
      deliveredPackets: run.delivered,
      conntrack: run.conntrack['n1'] ?? [],
    };
    if (marks.length > 0) p.mark = marks[marks.length - 1]!.mark!;
    if (run.sendError) p.sendError = run.sendError;
    return p;
  });
  return { setup: res.setup['n1']!, packets };
}

/**
 * `nft -f` the text in a fresh private namespace, then `nft [-a] list ruleset` (for the
 * printer's kernel round trip: the listing after loading our rendering must equal the
 * listing after loading the original).
 */
export function nftLoadAndList(text: string, opts: { handles?: boolean } = {}): Promise<{ ok: true; listing: string } | { ok: false; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('unshare', ['--net', '--mount', '--', 'sh', '-c', `nft -f - && exec nft ${opts.handles ? '-a ' : ''}list ruleset`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => (err += e.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? { ok: true, listing: out } : { ok: false, stderr: err.trim() || `exit ${code}` });
    });
    child.stdin.end(text);
  });
}

/** The tables an iptables-save text creates (`*filter` ...). */
export function iptablesTables(save: string | undefined): string[] {
  return [...(save ?? '').matchAll(/^\*(\S+)/gm)].map((m) => m[1]!);
}

/**
 * The kernel's `nft -j list ruleset` without the tables iptables-restore made: the
 * simulator is given those as an iptables Ruleset, the rest as an nft ruleset.
 */
export function nativeNftJson(json: string, c: Pick<NftDiffCase, 'iptables' | 'ip6tables'>): string {
  const own = new Set([...iptablesTables(c.iptables).map((t) => `ip ${t}`), ...iptablesTables(c.ip6tables).map((t) => `ip6 ${t}`)]);
  const doc = JSON.parse(json) as { nftables: Record<string, { family?: string; table?: string; name?: string }>[] };
  doc.nftables = doc.nftables.filter((item) => {
    const [kind, v] = Object.entries(item)[0]!;
    if (kind === 'metainfo' || !v) return true;
    const table = kind === 'table' ? v.name : v.table;
    return !own.has(`${v.family} ${table}`);
  });
  return JSON.stringify(doc);
}

// ---------------------------------------------------------------------------------
// the simulator side, written against the pipeline's announced event shape

/**
 * A simulator event as `traceNode` reports it: nft events carry `language: 'nftables'`,
 * family, table, chain, handle, position and an nft verdict (`accept`, `jump X`, ...);
 * iptables events keep today's form (table, chain, kind, `rule` = position, `ACCEPT`, `JUMP:X`).
 */
export interface SimEventLike {
  language?: string;
  family?: string;
  table: string;
  chain: string;
  kind?: string;
  handle?: number;
  position?: number;
  rule?: number | null;
  verdict: string;
}

const IPT_FAMILY: Record<string, string> = { ipv4: 'ip', ipv6: 'ip6' };

/** iptables verdict spelling -> the one nft monitor prints for the same rule */
export function nftVerdictOf(verdict: string): string {
  const m = /^(JUMP|GOTO)[: ](.+)$/i.exec(verdict);
  if (m) return `${m[1]!.toLowerCase()} ${m[2]}`;
  return verdict.toLowerCase();
}

/** Keys for simulated events in the kernel's key format, by position (the simulator need not know handles). */
export function simNftKeys(events: readonly SimEventLike[], iptablesFamily: 'ipv4' | 'ipv6' = 'ipv4'): string[] {
  return events.map((e) => {
    const family = e.language === 'nftables' ? e.family! : IPT_FAMILY[e.family ?? iptablesFamily] ?? e.family ?? 'ip';
    const kind = e.kind ?? 'rule';
    const verdict = nftVerdictOf(e.verdict);
    if (kind === 'rule') return `${family} ${e.table} ${e.chain} rule ${e.position ?? e.rule ?? '?'} ${verdict}`;
    return `${family} ${e.table} ${e.chain} ${kind} ${verdict}`;
  });
}

export interface NftPacketVerdict {
  ok: boolean;
  detail: string;
  outcomeIndex: number;
}

/** One kernel packet against the simulator's outcomes: some outcome must have the same keys and the same delivered packet. */
export function compareNftRun(k: NftKernelPacket, outcomes: readonly { events: readonly SimEventLike[]; disposition?: string; packet?: Record<string, unknown>; probability?: number | null }[]): NftPacketVerdict {
  const family = k.spec.src.includes(':') ? 'ipv6' : 'ipv4';
  const cands = outcomes.map((o, i) => ({ i, keys: simNftKeys(o.events, family), o }));
  const hit = cands.find((x) => x.keys.length === k.positionKeys.length && x.keys.every((key, j) => key === k.positionKeys[j]));
  if (!hit) {
    return { ok: false, outcomeIndex: -1, detail: `no simulated path equals the kernel's events\n  kernel:    ${k.positionKeys.join('\n             ')}\n${cands.map((x) => `  sim #${x.i} (p=${x.o.probability}): ${x.keys.join('\n             ')}`).join('\n')}` };
  }
  const o = hit.o;
  const p = (o.packet ?? {}) as { src?: string; dst?: string; sport?: number; dport?: number; sportRandomized?: boolean };
  const simDelivered = o.disposition === 'FORWARDED' || o.disposition === 'SENT'
    ? `${p.src}${(p.sportRandomized ? k.deliveredPackets[0]?.sport : p.sport) !== undefined ? ':' + (p.sportRandomized ? k.deliveredPackets[0]?.sport : p.sport) : ''}>${p.dst}${p.dport !== undefined ? ':' + p.dport : ''}`
    : 'none';
  if (simDelivered !== k.delivered) return { ok: false, outcomeIndex: hit.i, detail: `events agree but the packet differs: kernel delivered ${k.delivered}, simulator ${simDelivered}` };
  const km = kernelFinalMark(k.events);
  const sm = (o.packet as { mark?: unknown } | undefined)?.mark;
  if (km !== undefined && typeof sm === 'number' && sm >>> 0 !== km) {
    return { ok: false, outcomeIndex: hit.i, detail: `events agree but the mark differs: kernel 0x${km.toString(16)}, simulator 0x${(sm >>> 0).toString(16)}` };
  }
  return { ok: true, outcomeIndex: hit.i, detail: '' };
}
