/**
 * What a kernel test asks for (nodes, peers, links, packets) and what it gets
 * back (events, deliveries, setup info), and the resolution of a topology spec
 * into namespaces, interfaces and MACs. Pure: no process is started here.
 */
import type { NftChainHandles, NftKernelEvent, TraceEventBase } from './nft-trace.ts';

export const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

// ---------------------------------------------------------------------------------
// topology types

export interface InterfaceSpec {
  /** real interface name, <= 15 chars (eth0, cni0, flannel.1, ...) - created as a veth end */
  name: string;
  /** CIDR addresses, e.g. 192.0.2.1/24 (IPv6 allowed; added with nodad) */
  addresses: string[];
  mtu?: number;
}

export interface RouteSpec {
  dst: string; // 'default' or CIDR
  via?: string;
  dev?: string;
  type?: 'unicast' | 'local' | 'blackhole' | 'unreachable';
  onlink?: boolean;
  table?: number | string;
  metric?: number;
  src?: string;
}

export interface NodeSpec {
  name: string;
  /** iptables-save style dump restored with iptables-restore (IPv4) */
  dump: string;
  /** optional ip6tables dump, restored with ip6tables-restore (IPv6 packets are traced against it) */
  dump6?: string;
  interfaces: InterfaceSpec[];
  routes: RouteSpec[];
  /** net.ipv4.ip_forward (and net.ipv6.conf.all.forwarding on a node with IPv6) */
  forwarding: boolean;
  /** extra sysctls applied after links exist, e.g. {'net.ipv4.conf.all.rp_filter': 1} */
  sysctls?: Record<string, string | number>;
  /** `ipset save` text restored before the dump, and again after every packet (a SET target changes sets) */
  ipsets?: string;
  /** static neighbour entries (nud permanent) */
  neighbours?: { address: string; mac: string; dev: string }[];
  /** nftables ruleset text loaded with `nft -f` after the iptables dumps (both may be given) */
  nft?: string;
  /** iptables-save text restored with iptables-legacy-restore, before `dump` (a node using both backends) */
  legacyDump?: string;
  /** a command run in the node's namespace once its rules are loaded, before the trace tables exist (e.g. the agent) */
  afterSetup?: { argv: string[]; cwd?: string; timeoutS?: number };
  /**
   * trace monitor: `xtables-monitor --trace` (events in `PacketRun.events`) or `nft monitor trace`
   * (every table of every family, iptables-nft ones included; events in `PacketRun.nftEvents`,
   * format in nft-trace.ts). Default: 'nft' when `nft` is given, else 'xtables'.
   */
  monitor?: 'xtables' | 'nft';
}

export interface NodeEnd {
  node: string;
  iface: string;
}

/** A generated plain host: one veth end, drops everything it receives, records it. */
export interface PeerEnd {
  peer: string;
  /** interface name inside the peer namespace (default eth0) */
  iface?: string;
  /** default: chosen automatically (a gateway `via` of the node in the subnet, else the highest free host) */
  addresses?: string[];
  /**
   * default true: `local 0.0.0.0/0` in the peer, so it answers ARP for every IPv4 address
   * (DNAT targets, pod IPs ...) and "delivered" reflects the kernel's forwarding decision.
   */
  anyIp?: boolean;
}

export interface LinkSpec {
  a: NodeEnd;
  b: NodeEnd | PeerEnd;
}

export interface TopologySpec {
  nodes: NodeSpec[];
  links: LinkSpec[];
}

export type PacketSource = { node: string; iface: string } | { node: string; local: true };

export interface PacketSpec {
  /**
   * `{node, iface}`: injected with AF_PACKET from the other end of that interface (peer
   * or neighbouring node), dst MAC = the node interface's MAC, headers exactly as given.
   * `{node, local: true}`: sent by the node itself through a raw IP socket (IP_HDRINCL).
   */
  from: PacketSource;
  /** IPv4 or IPv6 (both the same family; 2001:db8::/32 for IPv6) */
  src: string;
  dst: string;
  /** icmp over IPv4 only, icmpv6 over IPv6 only */
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp';
  /** default 40000 (for icmp/icmpv6: the echo identifier, default 0x7070) */
  sport?: number;
  /** default tcp 80, udp 53, sctp 9999 */
  dport?: number;
  /** default 8 (echo request), 128 for icmpv6 */
  icmpType?: number;
  icmpCode?: number;
  /** e.g. 'SYN' (default), 'SYN,ACK', 'ACK', 'FIN,ACK', 'RST', 'SA', 'none' */
  tcpFlags?: string;
  /** initial skb mark (ingress node only) */
  mark?: number;
  /** default 64 */
  ttl?: number;
}

export interface KernelEvent extends TraceEventBase {
  /** nfproto of the trace: 2 (IPv4) or 10 (IPv6) */
  nfproto: number;
  /** rule as printed by xtables-monitor without the `-4 -t <table> ` prefix, i.e. the iptables-save line */
  ruleText?: string;
  /** the `-j`/`-g` target of ruleText (REJECT, DNAT, MARK, KUBE-SVC-...) */
  ruleTarget?: string;
  /** ruleText equals the iptables-save line at `position` */
  ruleTextMatchesSave?: boolean;
  /** ACCEPT | DROP | CONTINUE | RETURN | JUMP | GOTO | QUEUE | STOLEN | BREAK | 0x... */
  verdict: string;
  /** chain jumped/gone to (JUMP/GOTO) or returned to (return events) */
  target?: string;
  /** verdict exactly as printed, e.g. `JUMP:KUBE-SVC`, `0xfffffffb` */
  rawVerdict: string;
  /** KEY=VALUE fields of the PACKET line in effect (IN, OUT, SRC, DST, TTL, ID, SPORT, DPORT, MARK, ...) */
  packet: Record<string, string>;
  /** bare words of that PACKET line: DF, MF, SYN, ACK, ... */
  packetFlags: string[];
}

export interface Delivered {
  peer: string;
  iface: string;
  src: string;
  dst: string;
  proto?: string;
  sport?: number;
  dport?: number;
  ttl: number;
  icmpType?: number;
  icmpCode?: number;
  tcpFlags?: number;
  /** ms after sending */
  atMs: number;
}

export interface PacketRun {
  packet: PacketSpec;
  /** IPv4 ID (IPv6: flow label) the harness gave the packet (unique within a run) */
  ipId: number;
  /** events of all nodes in kernel order per node; nodes in path order (sender first, then via OUT= links) */
  events: KernelEvent[];
  /** `conntrack -L -o extended` lines per node, taken before the flush */
  conntrack: Record<string, string[]>;
  /** packets with this ipId (IPv6: flow label) seen arriving at any peer */
  delivered: Delivered[];
  /** nodes traced with `nft monitor trace`: their events, nodes in the order of `events` */
  nftEvents: NftKernelEvent[];
  /** raw monitor stdout per node (debugging) */
  monitor: Record<string, string>;
  /** non-empty xtables-monitor stderr per node (e.g. ENOBUFS) */
  monitorErrors: Record<string, string>;
  /** e.g. ENETUNREACH when a local send had no route */
  sendError?: string;
  timing: Record<string, number>;
}

export interface NodeSetupInfo {
  /** table -> chain -> rule handles in order (nft family ip) */
  chains: Record<string, Record<string, number[]>>;
  /** the same for nft family ip6, when the node has an ip6tables dump */
  chains6?: Record<string, Record<string, number[]>>;
  /** iptables-save after restore (with comments stripped) */
  save: string;
  save6?: string;
  /** monitor 'nft' nodes: rule handles in order for every nft family (after loading, before the trace tables) */
  nftChains?: NftChainHandles;
  /** monitor 'nft' nodes: the kernel's `nft -j list ruleset` / `nft -a list ruleset` right after loading */
  nftJson?: string;
  nftList?: string;
  /** only with RunOptions.debugSetup */
  debug?: { addr: string; route: string; nft: string };
  /** what NodeSpec.afterSetup printed and its exit code */
  afterSetup?: { code: number; stdout: string; stderr: string };
}

export interface TopologyResult {
  setup: Record<string, NodeSetupInfo>;
  setupMs: number;
  runs: PacketRun[];
}

export interface RunOptions {
  /** wait at least this long after sending (default 100) */
  minWaitMs?: number;
  /** ...and until monitors/listeners were quiet this long (default 50) */
  quietMs?: number;
  /** hard cap per packet once a monitor has printed something (default 500) */
  maxWaitMs?: number;
  /** how long to wait for a monitor's first line (default 3000; a loaded machine can be slow) */
  silentMaxWaitMs?: number;
  /** whole-driver timeout (default 20 s + 3 s per packet) */
  timeoutMs?: number;
  /** add `ip addr`, `ip route show table all`, `nft list ruleset` of each node to the setup info */
  debugSetup?: boolean;
}

// ---------------------------------------------------------------------------------
// topology resolution

interface ResolvedEnd {
  ns: string;
  iface: string;
  mac: string;
}

export interface ResolvedPeer {
  name: string;
  ns: string;
  iface: string;
  mac: string;
  addresses: string[];
  anyIp: boolean;
  /** node interface it is attached to */
  node: string;
  nodeIface: string;
}

/**
 * Permanent neighbour entries for the far end of every node-to-node link, so
 * a packet crossing nodes is not held back by ARP: a slow ARP exchange on a
 * loaded machine could outlast the driver's quiet period and lose the next
 * node's events. ARP is not seen by iptables, so no event changes.
 */
export function linkNeighbours(topo: ResolvedTopology, ns: string): { address: string; mac: string; dev: string }[] {
  const out: { address: string; mac: string; dev: string }[] = [];
  const nodeByNs = new Map(topo.nodes.map((n) => [n.ns, n]));
  for (const { a, b } of topo.links) {
    for (const [near, far] of [[a, b], [b, a]] as const) {
      const farNode = nodeByNs.get(far.ns);
      if (near.ns !== ns || !farNode) continue;
      const farIface = farNode.interfaces.find((i) => i.name === far.iface);
      for (const addr of farIface?.addresses ?? []) {
        const address = addr.split('/')[0]!;
        if (IPV4_RE.test(address)) out.push({ address, mac: far.mac, dev: near.iface });
      }
    }
  }
  return out;
}

export interface ResolvedTopology {
  nodes: (NodeSpec & { ns: string; macs: Record<string, string> })[];
  peers: ResolvedPeer[];
  links: { a: ResolvedEnd; b: ResolvedEnd }[];
}

function ipv4ToInt(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${s}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new Error(`not an IPv4 address: ${s}`);
    n = n * 256 + v;
  }
  return n;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function parseCidr4(cidr: string): { addr: number; len: number } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  return { addr: ipv4ToInt(m[1]!), len: Number(m[2]) };
}

function inSubnet(addr: number, net: { addr: number; len: number }): boolean {
  if (net.len === 0) return true;
  const mask = net.len === 32 ? 0xffffffff : (~(0xffffffff >>> net.len)) >>> 0;
  return ((addr & mask) >>> 0) === ((net.addr & mask) >>> 0);
}

function macFor(n: number): string {
  const b = [0x02, 0x70, 0x74, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function isPeerEnd(e: NodeEnd | PeerEnd): e is PeerEnd {
  return (e as PeerEnd).peer !== undefined;
}

/** Choose peer addresses for a node interface: the node's gateways in the subnet, else the highest free host. */
function autoPeerAddresses(node: NodeSpec, iface: InterfaceSpec, used: Set<number>): string[] {
  const res: string[] = [];
  for (const a of iface.addresses) {
    const net = parseCidr4(a);
    if (!net || net.len >= 32) continue;
    const vias = node.routes
      .filter((r) => r.via && !r.via.includes(':') && (r.dev === undefined || r.dev === iface.name))
      .map((r) => ipv4ToInt(r.via!))
      .filter((v) => inSubnet(v, net) && !used.has(v));
    if (vias.length > 0) {
      for (const v of new Set(vias)) {
        res.push(`${intToIpv4(v)}/${net.len}`);
        used.add(v);
      }
      continue;
    }
    const size = 2 ** (32 - net.len);
    const base = net.addr - (net.addr % size);
    let cand = net.len === 31 ? (net.addr === base ? base + 1 : base) : base + size - 2;
    while (cand > base && used.has(cand)) cand--;
    if (cand > base || net.len === 31) {
      res.push(`${intToIpv4(cand)}/${net.len}`);
      used.add(cand);
    }
  }
  return res;
}

/** Validate the spec, name the namespaces, assign MACs and create the automatic peers. */
export function resolveTopology(spec: TopologySpec): ResolvedTopology {
  let macN = 1;
  const nodeNames = new Set<string>();
  const nodes = spec.nodes.map((n, i) => {
    if (nodeNames.has(n.name)) throw new Error(`duplicate node ${n.name}`);
    nodeNames.add(n.name);
    const macs: Record<string, string> = {};
    for (const ifc of n.interfaces) {
      if (!/^[^\s/:]{1,15}$/.test(ifc.name) || ifc.name === '.' || ifc.name === '..') {
        throw new Error(`invalid interface name ${JSON.stringify(ifc.name)} on ${n.name} (max 15 chars, no '/', ':' or spaces)`);
      }
      if (ifc.name === 'lo') throw new Error(`node ${n.name}: interface lo is implicit`);
      if (macs[ifc.name]) throw new Error(`node ${n.name}: duplicate interface ${ifc.name}`);
      macs[ifc.name] = macFor(macN++);
    }
    return { ...n, ns: `n${i}-${n.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`, macs };
  });
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const usedAddrs = new Set<number>();
  for (const n of nodes) {
    for (const ifc of n.interfaces) {
      for (const a of ifc.addresses) {
        const c = parseCidr4(a);
        if (c) usedAddrs.add(c.addr);
      }
    }
  }

  const linked = new Set<string>();
  const nodeEnd = (e: NodeEnd): ResolvedEnd => {
    const n = nodeByName.get(e.node);
    if (!n) throw new Error(`link references unknown node ${e.node}`);
    const mac = n.macs[e.iface];
    if (!mac) throw new Error(`link references unknown interface ${e.node}:${e.iface}`);
    const key = `${e.node}\0${e.iface}`;
    if (linked.has(key)) throw new Error(`interface ${e.node}:${e.iface} is linked twice`);
    linked.add(key);
    return { ns: n.ns, iface: e.iface, mac };
  };

  const peers: ResolvedPeer[] = [];
  const peerNames = new Set<string>();
  const links: { a: ResolvedEnd; b: ResolvedEnd }[] = [];
  const addPeer = (a: NodeEnd, p: PeerEnd): ResolvedEnd => {
    if (peerNames.has(p.peer)) throw new Error(`duplicate peer ${p.peer}`);
    peerNames.add(p.peer);
    const node = nodeByName.get(a.node)!;
    const ifc = node.interfaces.find((x) => x.name === a.iface)!;
    const iface = p.iface ?? 'eth0';
    if (iface.length > 15) throw new Error(`peer interface name too long: ${iface}`);
    const rp: ResolvedPeer = {
      name: p.peer,
      ns: `p${peers.length}`,
      iface,
      mac: macFor(macN++),
      addresses: p.addresses ?? autoPeerAddresses(node, ifc, usedAddrs),
      anyIp: p.anyIp ?? true,
      node: a.node,
      nodeIface: a.iface,
    };
    peers.push(rp);
    return { ns: rp.ns, iface: rp.iface, mac: rp.mac };
  };

  for (const l of spec.links) {
    const a = nodeEnd(l.a);
    const b = isPeerEnd(l.b) ? addPeer(l.a, l.b) : nodeEnd(l.b);
    links.push({ a, b });
  }
  for (const n of nodes) {
    for (const ifc of n.interfaces) {
      if (linked.has(`${n.name}\0${ifc.name}`)) continue;
      const a = nodeEnd({ node: n.name, iface: ifc.name });
      links.push({ a, b: addPeer({ node: n.name, iface: ifc.name }, { peer: `${n.name}:${ifc.name}` }) });
    }
  }
  return { nodes, peers, links };
}
