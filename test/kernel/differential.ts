// Runs the simulator and the real kernel side by side and compares them
// event for event.
import { runTopology, eventKey, type KernelEvent, type NodeSpec, type PacketRun, type PacketSpec, type TopologySpec } from './netns.ts';
import { buildHost, formatIp, parseCidr, parseDump, renderRuleset, tracePacket, validatePacket, type Family, type HostFile, type TraceOutcome, type Ruleset, type Host } from '../../src/netfilter/index.ts';

export interface CaseHost {
  interfaces: { name: string; addresses: string[] }[];
  routes: { dst: string; via?: string; dev?: string; type?: 'unicast' | 'local' | 'blackhole' | 'unreachable'; onlink?: boolean }[];
  forwarding: boolean;
  /** `ipset save` text: in the host file for the simulator, restored in the namespace for the kernel. */
  ipsets?: string;
  /** net.ipv4.conf.all.route_localnet, in the host file and set in the namespace. */
  routeLocalnet?: boolean;
}

/** A case's packet: a kernel PacketSpec whose `from` is an interface of the case's node, or 'local'. */
export interface CasePacket extends Omit<PacketSpec, 'from'> {
  /** Interface the packet arrives on, or 'local'. */
  from: string;
  /** Send this many times (conntrack flushed between) to compare statistic frequencies. */
  repeat?: number;
  note?: string;
}

export interface DiffCase {
  name: string;
  /** Any dump format packetpath parses; it is rendered to iptables-save for the kernel. */
  dump: string;
  /** ipv6: the dump is restored with ip6tables-restore and the packets are IPv6. Default ipv4. */
  family?: Family;
  host: CaseHost;
  packets: CasePacket[];
}

export interface PacketVerdict {
  case: string;
  packet: CasePacket;
  ok: boolean;
  detail: string;
  kernelKeys: string[];
  outcomeIndex: number;
}

/** The kernel's event key format for a simulator event. */
export function simKeys(o: TraceOutcome): string[] {
  return o.events.map((e) => {
    const pos = e.kind === 'rule' ? `:${e.rule}` : '';
    const [verdict, target] = e.verdict.includes(':') ? e.verdict.split(':') : [e.verdict, undefined];
    return `${e.table}:${e.chain}:${e.kind}${pos}:${verdict}${target ? `:${target}` : ''}`;
  });
}

export function kernelKeys(events: readonly KernelEvent[]): string[] {
  return events.map((e) => eventKey(e));
}

export function simPacketSpec(c: CasePacket): PacketSpec {
  return {
    from: c.from === 'local' ? { node: 'n1', local: true } : { node: 'n1', iface: c.from },
    src: c.src,
    dst: c.dst,
    proto: c.proto,
    sport: c.sport ?? 40000,
    ...(c.dport !== undefined ? { dport: c.dport } : c.proto === 'tcp' ? { dport: 80 } : c.proto === 'udp' ? { dport: 53 } : c.proto === 'sctp' ? { dport: 9999 } : {}),
    ...(c.icmpType !== undefined ? { icmpType: c.icmpType } : {}),
    ...(c.icmpCode !== undefined ? { icmpCode: c.icmpCode } : {}),
    ...(c.tcpFlags ? { tcpFlags: c.tcpFlags } : {}),
    ...(c.mark !== undefined ? { mark: c.mark } : {}),
    ...(c.ttl !== undefined ? { ttl: c.ttl } : {}),
  };
}

export function prepareCase(c: DiffCase): { ruleset: Ruleset; host: Host; rendered: string } {
  const family = c.family ?? 'ipv4';
  const parsed = parseDump(c.dump, { family });
  const rendered = renderRuleset(parsed.ruleset, { counters: false });
  const h = buildHost(c.host as HostFile);
  if (!h.ok) throw new Error(`${c.name}: bad host: ${h.errors.join('; ')}`);
  // The kernel sees the rendered text; the simulator must see exactly the same ruleset.
  return { ruleset: parseDump(rendered, { family }).ruleset, host: h.host, rendered };
}

const isIcmp = (proto: string): boolean => proto === 'icmp' || proto === 'icmpv6';

/** The simulator's packet for a harness packet (throws on a bad one). */
export function toSimPacket(p: PacketSpec): Parameters<typeof tracePacket>[1] {
  const v = validatePacket(packetInputOf(p));
  if (!v.ok) throw new Error(`bad packet: ${v.errors.join('; ')}`);
  return v.packet;
}

/** The harness packet as a trace request's `packet` (what the API and validatePacket take). */
export function packetInputOf(p: PacketSpec) {
  return {
    src: p.src,
    dst: p.dst,
    protocol: p.proto,
    ...(p.sport !== undefined && !isIcmp(p.proto) ? { sport: p.sport } : {}),
    ...(p.dport !== undefined && !isIcmp(p.proto) ? { dport: p.dport } : {}),
    ...(isIcmp(p.proto) ? { icmpType: p.icmpType ?? (p.proto === 'icmp' ? 8 : 128), icmpCode: p.icmpCode ?? 0 } : {}),
    ...('iface' in p.from ? { inInterface: p.from.iface } : { local: true }),
    ...(p.tcpFlags ? { tcpFlags: p.tcpFlags === 'SA' ? 'SYN,ACK' : p.tcpFlags } : {}),
    ...(p.mark !== undefined ? { mark: p.mark } : {}),
    ...(p.ttl !== undefined ? { ttl: p.ttl } : {}),
  };
}

export function simulate(ruleset: Ruleset, host: Host, p: PacketSpec): TraceOutcome[] {
  return [...tracePacket(ruleset, toSimPacket(p), { host }).outcomes];
}

export function networkOf(cidrText: string): string {
  const c = parseCidr(cidrText);
  if (!c) return cidrText;
  if (c.ip.family === 'ipv6') {
    const mask = ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - c.prefix)) - 1n);
    return `${formatIp({ family: 'ipv6', n: c.ip.n & mask })}/${c.prefix}`;
  }
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  return `${formatIp({ family: 'ipv4', n: ((c.ip.n as number) & mask) >>> 0 })}/${c.prefix}`;
}

/** Where the kernel left the packet: delivered to a peer, or not. */
function kernelDelivery(run: PacketRun): string {
  const d = run.delivered[0];
  if (!d) return 'none';
  return `${d.src}${d.sport !== undefined ? ':' + d.sport : ''}>${d.dst}${d.dport !== undefined ? ':' + d.dport : ''}`;
}

function simDelivery(o: TraceOutcome, kernelSport: number | undefined): string {
  if (o.disposition !== 'FORWARDED' && o.disposition !== 'SENT') return 'none';
  const p = o.packet as { src: string; dst: string; sport?: number; dport?: number; sportRandomized?: boolean };
  // A randomized source port (MASQUERADE --random-fully) is whatever the kernel picked.
  const sport = p.sportRandomized ? kernelSport : p.sport;
  return `${p.src}${sport !== undefined ? ':' + sport : ''}>${p.dst}${p.dport !== undefined ? ':' + p.dport : ''}`;
}

export function compareRun(c: DiffCase, cp: CasePacket, run: PacketRun, outcomes: TraceOutcome[]): PacketVerdict {
  const kk = kernelKeys(run.events.filter((e) => e.node === 'n1'));
  const kd = kernelDelivery(run);
  const candidates = outcomes.map((o, i) => ({ i, keys: simKeys(o), delivery: simDelivery(o, run.delivered[0]?.sport) }));
  const hit = candidates.find((x) => x.keys.length === kk.length && x.keys.every((k, j) => k === kk[j]));
  const base = { case: c.name, packet: cp, kernelKeys: kk };
  if (!hit) {
    return { ...base, ok: false, outcomeIndex: -1, detail: `no simulated path equals the kernel's events\n  kernel:    ${kk.join('\n             ')}\n${candidates.map((x) => `  sim #${x.i} (p=${outcomes[x.i]!.probability}): ${x.keys.join('\n             ')}`).join('\n')}` };
  }
  if (hit.delivery !== kd) {
    return { ...base, ok: false, outcomeIndex: hit.i, detail: `events agree but the packet differs: kernel delivered ${kd}, simulator ${hit.delivery} (${outcomes[hit.i]!.disposition})` };
  }
  return { ...base, ok: true, outcomeIndex: hit.i, detail: '' };
}

export async function runCase(c: DiffCase): Promise<{ verdicts: PacketVerdict[]; outcomes: TraceOutcome[][] }> {
  const { ruleset, host, rendered } = prepareCase(c);
  // The kernel adds connected routes itself; listing them again would fail.
  const connected = new Set(c.host.interfaces.flatMap((i) => i.addresses.map((a) => `${networkOf(a)} ${i.name}`)));
  const routes = c.host.routes.filter((r) => r.via || r.type || !connected.has(`${r.dst} ${r.dev}`));
  const dumps = c.family === 'ipv6' ? { dump: '', dump6: rendered } : { dump: rendered };
  const node: NodeSpec = {
    name: 'n1',
    ...dumps,
    interfaces: c.host.interfaces.filter((i) => i.name !== 'lo'),
    routes,
    forwarding: c.host.forwarding,
    ...(c.host.ipsets ? { ipsets: c.host.ipsets } : {}),
    ...(c.host.routeLocalnet !== undefined ? { sysctls: { 'net.ipv4.conf.all.route_localnet': c.host.routeLocalnet ? 1 : 0 } } : {}),
  };
  const topo: TopologySpec = { nodes: [node], links: [] };
  const specs: { cp: CasePacket; spec: PacketSpec }[] = [];
  for (const cp of c.packets) for (let k = 0; k < (cp.repeat ?? 1); k++) specs.push({ cp, spec: simPacketSpec(cp) });
  const runs = await runTopology(topo, specs.map((s) => s.spec), { minWaitMs: 60, quietMs: 40, maxWaitMs: 400 });
  const verdicts: PacketVerdict[] = [];
  const outcomes: TraceOutcome[][] = [];
  runs.forEach((run, i) => {
    const { cp, spec } = specs[i]!;
    const o = simulate(ruleset, host, spec);
    outcomes.push(o);
    verdicts.push(compareRun(c, cp, run, o));
  });
  return { verdicts, outcomes };
}
