/**
 * Kernel-differential test harness: runs real iptables / netfilter in throw-away
 * network namespaces so the simulator can be compared against the kernel.
 *
 * NOTHING here touches the namespace the tests run in: every command is started
 * through `unshare --net --mount`; the topology runner (driver.py, Python 3) runs as
 * a single `unshare --net --mount python3 driver.py` process which mounts a private
 * tmpfs on /run/netns and creates its `ip netns` namespaces under it (driver.py also
 * refuses to run if its net/mount namespace equals the caller's).
 *
 * ## Tracing: how events are produced
 *
 * The brief suggested `-t raw -I PREROUTING 1 -j TRACE` / `-t raw -I OUTPUT 1 -j TRACE`.
 * Measured on iptables 1.8.9 (nf_tables) + kernel 6.18 that has two side effects:
 *  - with the nft backend a table exists only if the dump contains it, so inserting
 *    into raw *creates* `raw` (only the PREROUTING/OUTPUT base chains); every packet then
 *    yields extra `raw:PREROUTING:rule:..:CONTINUE` (the TRACE rule itself) and
 *    `raw:PREROUTING:policy:ACCEPT` events that the ruleset under test never had;
 *  - when the dump does have a raw table, the inserted rule shifts every raw rule's
 *    position by one (and its handle is "foreign" to the dump).
 * Both are fixable by filtering, but the harness avoids them altogether: each node gets
 * an extra native nft table `ip pptrace` (never an iptables table) with base chains on
 * prerouting/output at priority -350, i.e. before raw (-300), conntrack (-200), mangle,
 * nat and filter.  A rule `ip id { <ids of our test packets> } jump settrace` jumps to a
 * chain whose only rule is `meta nftrace set 1`.  Consequences:
 *  - the iptables tables are exactly what the dump created; no positions shift; no raw
 *    table appears if the dump had none;
 *  - only the injected packets are traced (matched by their IPv4 ID, which NAT and
 *    forwarding never change), not ARP replies, RSTs or ICMP errors -> no ENOBUFS;
 *  - `ip id` itself is NOT translatable by xtables-monitor (it aborts with
 *    "unknown payload offset ... Parsing nftables rule failed" when it has to print such
 *    a rule), which is why the match sits in a jump rule that is evaluated while
 *    nftrace is still 0 (never reported); the only reported pptrace rule is
 *    `meta nftrace set 1` which xtables-monitor prints as `-j TRACE`;
 *  - the `pptrace` events (settrace rule + pre/out policy) are removed by the parser;
 *  - `PacketSpec.mark` for injected packets is applied by the same chain (`meta mark set
 *    ip id map {...}`) on the ingress node only, before raw; local packets use SO_MARK.
 *
 * ## Kernel behaviour worth knowing when comparing (observed here, nft backend, 6.18)
 *
 *  - nat chains are only evaluated when conntrack is active in the namespace, and only
 *    for a NEW connection.  An nft-backend namespace whose ruleset has no NAT target and
 *    no conntrack-using match (-m conntrack/state, CT, ...) has inactive conntrack: even
 *    an existing (empty) nat table yields NO nat:*:policy events, and `conntrack -L` is
 *    empty.  One `-m conntrack` rule anywhere makes the nat policies appear.
 *  - Tables the dump does not contain do not exist (nft backend): no mangle/raw events.
 *  - Routing drops happen after the PREROUTING chains and before INPUT/FORWARD: no route,
 *    blackhole/unreachable routes, rp_filter=1 with a source routed via another interface,
 *    a source that is one of the node's own addresses (accept_local=0) or 127/8 (martians),
 *    TTL <= 1 on a forwarded packet (ip_forward drops it before the FORWARD hook).
 *  - rp_filter defaults to 0 in a new netns here; use NodeSpec.sysctls to enable it.
 *
 * ## Injection / capture details
 *
 *  - `from: {node, iface}`: AF_PACKET (SOCK_DGRAM, ETH_P_IP) sendto on the far veth end
 *    with dst MAC = the node interface's MAC; IPv4 header (ID = harness id, DF, TTL),
 *    TCP/UDP checksums with pseudo header, ICMP checksum, SCTP CRC32c (INIT chunk,
 *    vtag 0) are computed by driver.py, so conntrack's PREROUTING checksum validation
 *    accepts them.  No ARP is needed to inject; the src may be any address.
 *  - `from: {node, local: true}`: raw IPPROTO_RAW socket (IP_HDRINCL) in the node, SO_MARK
 *    for `mark`.  A send error (e.g. ENETUNREACH: no route, nothing traced) is reported in
 *    `sendError`.
 *  - Peers own `local 0.0.0.0/0` ("anyIp": addresses added with noprefixroute - local and
 *    main FIB tables are merged, a connected /24 would otherwise win - plus accept_local=1,
 *    else ARP requests from the node's address are martians), so they answer ARP for any
 *    address the node forwards to; an nft policy-drop input/output table keeps them from
 *    answering (no RST / ICMP that would change conntrack state).  IPv6 is disabled in
 *    namespaces that have no IPv6 address (no RS/ND/MLD noise).
 *  - Every peer has an AF_PACKET listener; any incoming IPv4 packet with the test
 *    packet's IP ID is reported in `delivered` (NAT and forwarding never change the ID).
 *  - Per packet: one `xtables-monitor --trace -4` per node, started before sending and
 *    considered ready once /proc/<pid>/net/netlink shows its socket bound to group
 *    NFNLGRP_NFTRACE; after sending the driver waits >= minWaitMs and until nothing new
 *    arrived for quietMs; then monitors are stopped and `conntrack -L -o extended;
 *    conntrack -F` runs in every node.  ~125-150 ms per packet, ~100-150 ms setup.
 *
 * ## IPv6
 *
 * A packet with IPv6 addresses (proto tcp, udp or icmpv6) is told apart by its flow
 * label instead of the IPv4 ID: the node gets a second table `ip6 pptrace` whose rules
 * match `ip6 flowlabel { ... }` (set and mark map as above), the monitor runs as
 * `xtables-monitor --trace -6` and its PACKET lines carry `FLOWLBL=`, and peers listen
 * for ETH_P_IPV6 too. Nodes with IPv6 get net.ipv6.conf.all.forwarding = `forwarding`
 * and net.ipv6.auto_flowlabels=0 (their own packets carry no label that could name a
 * test packet). Peers keep IPv6 off, so they never answer neighbour solicitations:
 * the node gets permanent neighbour entries for its IPv6 gateways and for packet
 * destinations on a connected prefix. Rule positions come from `nft list ruleset ip6`
 * and `ip6tables-save` (NodeSetupInfo.chains6 / save6).
 *
 * ## nftables nodes (`NodeSpec.nft`)
 *
 * A node may carry an nft ruleset, loaded with `nft -f` after the iptables dumps. Such a
 * node is traced with `nft -a monitor trace` instead of xtables-monitor (`NodeSpec.monitor`,
 * default 'nft' when `nft` is given): it reports every base chain of every table and
 * family, iptables-nft tables included (family ip/ip6, rule text as nft's translation of
 * the xt expressions), so one monitor sees the whole hook. Its events land in
 * `PacketRun.nftEvents` (format and kernel facts: nft-trace.ts); `NodeSetupInfo` gets the
 * kernel's handle lists for every family (`nftChains`) and its `nft -j` / `nft -a` listings
 * taken before the pptrace tables are added. iptables-only nodes keep xtables-monitor, so
 * the iptables suite's events (iptables-save rule text, `-j` targets) are unchanged.
 *
 * ## Files
 *
 * private-ns.ts: processes in private namespaces, availability, restore/save;
 * topology.ts: specs, results and their resolution; xtables-trace.ts (its
 * monitor format and how rule positions are found) and nft-trace.ts: monitor
 * output; this file: the runner around driver.py.
 */
import { readlinkSync } from 'node:fs';
import { cidrContains, parseCidr, parseIp } from '../../src/netfilter/pipeline/addr.ts';
import { attachNftPositions, parseNftMonitorOutput, type NftKernelEvent } from './nft-trace.ts';
import { describeFailure, DRIVER_PATH, exec, pythonPath, stripSaveComments, UNSHARE } from './private-ns.ts';
import { IPV4_RE, linkNeighbours, resolveTopology, type Delivered, type KernelEvent, type NodeSetupInfo, type PacketRun, type PacketSpec, type ResolvedTopology, type RunOptions, type TopologyResult, type TopologySpec } from './topology.ts';
import { attachPositions, parseMonitorOutput } from './xtables-trace.ts';

export * from './private-ns.ts';
export * from './topology.ts';
export * from './xtables-trace.ts';

// ---------------------------------------------------------------------------------
// runner


/**
 * Permanent neighbour entries on the node for the IPv6 hops towards its peers
 * (gateways and packet destinations on a connected prefix): peers run with
 * IPv6 off and never answer neighbour solicitations, and a node resolving a
 * neighbour would hold the packet back.
 */
function peerNeighbours6(topo: ResolvedTopology, node: ResolvedTopology['nodes'][number], packets: readonly PacketSpec[]): { address: string; mac: string; dev: string }[] {
  const out: { address: string; mac: string; dev: string }[] = [];
  for (const p of topo.peers) {
    if (p.node !== node.name) continue;
    const ifc = node.interfaces.find((i) => i.name === p.nodeIface);
    const prefixes = (ifc?.addresses ?? []).map((a) => parseCidr(a)).filter((c) => c?.ip.family === 'ipv6');
    const wanted = new Set<string>();
    for (const r of node.routes) if (r.via?.includes(':') && (r.dev === undefined || r.dev === p.nodeIface)) wanted.add(r.via);
    for (const pk of packets) {
      const dst = parseIp(pk.dst);
      if (dst?.family === 'ipv6' && prefixes.some((c) => cidrContains(c!, dst))) wanted.add(pk.dst);
    }
    for (const address of wanted) {
      const ip = parseIp(address);
      if (ip && (prefixes.some((c) => cidrContains(c!, ip)) || node.routes.some((r) => r.via === address && r.dev === p.nodeIface))) out.push({ address, mac: p.mac, dev: p.nodeIface });
    }
  }
  return out;
}

interface DriverPacket {
  type: 'packet';
  index: number;
  ipId: number;
  monitors: Record<string, { stdout: string; stderr: string; firstMs: number | null }>;
  conntrack: Record<string, string[]>;
  delivered: (Delivered & { ipId: number; protoNum: number })[];
  timing: Record<string, number> & { sendError?: string };
}

/** Create the topology once, send every packet, return setup info plus one PacketRun per packet. */
export async function runTopologyDetailed(
  spec: TopologySpec,
  packets: PacketSpec[],
  opts: RunOptions = {},
): Promise<TopologyResult> {
  const topo = resolveTopology(spec);
  const nodeByName = new Map(topo.nodes.map((n) => [n.name, n]));
  const base = 0x1000 + Math.floor(Math.random() * 0xc000);
  const ipIds = packets.map((_, i) => base + i);
  const marks = new Map<string, Record<string, number>>();

  const driverPackets = packets.map((p, i) => {
    const family = IPV4_RE.test(p.src) ? 'ipv4' : 'ipv6';
    for (const a of [p.src, p.dst]) {
      const ip = parseIp(a);
      if (!ip || ip.family !== family || (family === 'ipv4' && !IPV4_RE.test(a))) throw new Error(`packet ${i}: src and dst must be IPv4 or IPv6 addresses of one family (got ${p.src} > ${p.dst})`);
    }
    if (!['tcp', 'udp', 'icmp', 'icmpv6', 'sctp'].includes(p.proto)) throw new Error(`packet ${i}: bad proto ${p.proto}`);
    if ((p.proto === 'icmp' && family === 'ipv6') || (p.proto === 'icmpv6' && family === 'ipv4')) throw new Error(`packet ${i}: ${p.proto} over ${family}`);
    if (p.proto === 'sctp' && family === 'ipv6') throw new Error(`packet ${i}: sctp over IPv6 is not built by the driver`);
    const node = nodeByName.get(p.from.node);
    if (!node) throw new Error(`packet ${i}: unknown node ${p.from.node}`);
    const ipId = ipIds[i]!;
    let inject: Record<string, string>;
    if ('local' in p.from) {
      inject = { kind: 'local', ns: node.ns };
    } else {
      const iface = p.from.iface;
      const mac = node.macs[iface];
      if (!mac) throw new Error(`packet ${i}: unknown interface ${p.from.node}:${iface}`);
      const link = topo.links.find(
        (l) => (l.a.ns === node.ns && l.a.iface === iface) || (l.b.ns === node.ns && l.b.iface === iface),
      );
      if (!link) throw new Error(`packet ${i}: interface ${p.from.node}:${iface} is not linked`);
      const other = link.a.ns === node.ns && link.a.iface === iface ? link.b : link.a;
      inject = { kind: 'packet', ns: other.ns, iface: other.iface, dstMac: mac };
      if (p.mark) {
        const m = marks.get(node.name) ?? {};
        m[String(ipId)] = p.mark >>> 0;
        marks.set(node.name, m);
      }
    }
    return { ...p, family, ipId, inject };
  });
  const ids6 = driverPackets.filter((p) => p.family === 'ipv6').map((p) => p.ipId);

  const input = {
    nodes: topo.nodes.map((n) => ({
      name: n.name,
      ns: n.ns,
      dump: n.dump,
      dump6: n.dump6 ?? null,
      interfaces: n.interfaces.map((i) => ({ ...i })),
      routes: n.routes,
      forwarding: n.forwarding,
      sysctls: n.sysctls ?? {},
      ipsets: n.ipsets ?? null,
      nft: n.nft ?? null,
      legacyDump: n.legacyDump ?? null,
      afterSetup: n.afterSetup ?? null,
      monitor: n.monitor ?? (n.nft !== undefined ? 'nft' : 'xtables'),
      neighbours: [...(n.neighbours ?? []), ...linkNeighbours(topo, n.ns), ...peerNeighbours6(topo, n, packets)],
      traceIds: ipIds,
      traceIds6: ids6,
      marks: marks.get(n.name) ?? {},
    })),
    peers: topo.peers,
    links: topo.links,
    packets: driverPackets,
    options: {
      minWaitMs: opts.minWaitMs ?? 100,
      quietMs: opts.quietMs ?? 50,
      maxWaitMs: opts.maxWaitMs ?? 500,
      silentMaxWaitMs: opts.silentMaxWaitMs ?? 3000,
      debugSetup: opts.debugSetup ?? false,
    },
  };

  let parentNet: string;
  let parentMnt: string;
  try {
    parentNet = readlinkSync('/proc/self/ns/net');
    parentMnt = readlinkSync('/proc/self/ns/mnt');
  } catch (e) {
    throw new Error(`cannot read own namespace ids: ${(e as Error).message}`);
  }

  let setup: Record<string, NodeSetupInfo> | undefined;
  let setupMs = 0;
  let driverError: string | undefined;
  let done = false;
  const results: PacketRun[] = [];
  const r = await exec('unshare', [...UNSHARE, pythonPath(), DRIVER_PATH], {
    input: JSON.stringify(input),
    timeoutMs: opts.timeoutMs ?? 20_000 + 3_000 * packets.length,
    env: { ...process.env, PPTRACE_PARENT_NETNS: parentNet, PPTRACE_PARENT_MNTNS: parentMnt },
    onStdoutLine: (line) => {
      if (!line.trim()) return;
      let msg: { type: string } & Record<string, unknown>;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        driverError = `unparsable driver output: ${line}`;
        return;
      }
      if (msg.type === 'setup') {
        const nodes = msg['nodes'] as Record<string, NodeSetupInfo>;
        for (const info of Object.values(nodes)) {
          info.save = stripSaveComments(info.save);
          if (info.chains6 === null) delete info.chains6;
          if (info.save6 !== undefined) info.save6 = stripSaveComments(info.save6);
        }
        setup = nodes;
        setupMs = msg['ms'] as number;
      } else if (msg.type === 'packet') {
        results.push(toPacketRun(msg as unknown as DriverPacket, packets, setup ?? {}, topo));
      } else if (msg.type === 'error') {
        driverError = String(msg['message']);
      } else if (msg.type === 'done') {
        done = true;
      }
    },
  });
  if (driverError) throw new Error(`topology driver: ${driverError}`);
  if (r.timedOut) throw new Error(`topology driver timed out after ${results.length}/${packets.length} packets`);
  if (r.code !== 0 || !done) throw new Error(`topology driver failed (${describeFailure(r)})`);
  return { setup: setup ?? {}, setupMs, runs: results };
}

/** See runTopologyDetailed; returns just the per-packet runs. */
export async function runTopology(spec: TopologySpec, packets: PacketSpec[], opts: RunOptions = {}): Promise<PacketRun[]> {
  return (await runTopologyDetailed(spec, packets, opts)).runs;
}

function toPacketRun(
  msg: DriverPacket,
  packets: PacketSpec[],
  setup: Record<string, NodeSetupInfo>,
  topo: ResolvedTopology,
): PacketRun {
  const packet = packets[msg.index]!;
  const perNode = new Map<string, KernelEvent[]>();
  const nftPerNode = new Map<string, NftKernelEvent[]>();
  const monitor: Record<string, string> = {};
  const monitorErrors: Record<string, string> = {};
  for (const n of topo.nodes) {
    const m = msg.monitors[n.name];
    if (!m) continue;
    monitor[n.name] = m.stdout;
    if (m.stderr.trim()) monitorErrors[n.name] = m.stderr.trim();
    const info = setup[n.name];
    if ((n.monitor ?? (n.nft !== undefined ? 'nft' : 'xtables')) === 'nft') {
      const evs = parseNftMonitorOutput(m.stdout, n.name, { ipId: msg.ipId });
      attachNftPositions(evs, info?.nftChains);
      nftPerNode.set(n.name, evs);
      continue;
    }
    const evs = parseMonitorOutput(m.stdout, n.name, { ipId: msg.ipId });
    if (info) attachPositions(evs, info);
    perNode.set(n.name, evs);
  }
  // Node order: the monitors are separate processes, so read times are not a reliable
  // order. Follow the packet instead: start at the sending node, continue through the
  // OUT= interfaces that are linked to other nodes; anything left by first-read time.
  const nodeOfNs = new Map(topo.nodes.map((n) => [n.ns, n.name]));
  const neighbour = new Map<string, string>();
  for (const l of topo.links) {
    const a = nodeOfNs.get(l.a.ns);
    const b = nodeOfNs.get(l.b.ns);
    if (a !== undefined && b !== undefined) {
      neighbour.set(`${a}\0${l.a.iface}`, b);
      neighbour.set(`${b}\0${l.b.iface}`, a);
    }
  }
  const order: string[] = [];
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    order.push(name);
    const outs = [...(perNode.get(name) ?? []).map((ev) => ev.packet['OUT']), ...(nftPerNode.get(name) ?? []).map((ev) => ev.packet['oif'])];
    for (const out of outs) {
      const next = out === undefined ? undefined : neighbour.get(`${name}\0${out}`);
      if (next !== undefined && ((perNode.get(next)?.length ?? 0) > 0 || (nftPerNode.get(next)?.length ?? 0) > 0)) visit(next);
    }
  };
  visit(packet.from.node);
  const rest = topo.nodes
    .map((n, i) => ({ name: n.name, i, first: msg.monitors[n.name]?.firstMs ?? null }))
    .filter((x) => !order.includes(x.name))
    .sort((a, b) => (a.first ?? Infinity) - (b.first ?? Infinity) || a.i - b.i);
  for (const x of rest) order.push(x.name);
  const events: KernelEvent[] = order.flatMap((name) => perNode.get(name) ?? []);
  const nftEvents: NftKernelEvent[] = order.flatMap((name) => nftPerNode.get(name) ?? []);
  const delivered: Delivered[] = msg.delivered.map((d) => {
    const o: Delivered = { peer: d.peer, iface: d.iface, src: d.src, dst: d.dst, ttl: d.ttl, atMs: d.atMs };
    if (d.proto !== undefined) o.proto = d.proto;
    if (d.sport !== undefined) o.sport = d.sport;
    if (d.dport !== undefined) o.dport = d.dport;
    if (d.icmpType !== undefined) o.icmpType = d.icmpType;
    if (d.icmpCode !== undefined) o.icmpCode = d.icmpCode;
    if (d.tcpFlags !== undefined) o.tcpFlags = d.tcpFlags;
    return o;
  });
  const { sendError, ...timing } = msg.timing;
  const run: PacketRun = {
    packet,
    ipId: msg.ipId,
    events,
    nftEvents,
    conntrack: msg.conntrack,
    delivered,
    monitor,
    monitorErrors,
    timing: timing as Record<string, number>,
  };
  if (sendError) run.sendError = sendError;
  return run;
}

