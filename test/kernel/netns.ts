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
 * ## xtables-monitor --trace output format (iptables 1.8.9, learned by experiment)
 *
 * For every base-chain evaluation the first trace message carries the packet headers, so
 * a `PACKET:` line precedes each group of `TRACE:` lines (it shows the packet as it
 * entered that hook: after DNAT the next PACKET line shows the new DST, MARK= appears
 * once set, OUT= once routed):
 *
 *   PACKET: <nfproto> <traceid-hex8> [IN=if] [OUT=if] [MACSRC=m MACDST=m MACPROTO=0800] SRC=a DST=a LEN=n TOS=0x0 TTL=n ID=n [DF] [MF] [SPORT=n DPORT=n] [SYN] [ACK] [FIN] [RST] [PSH] [URG] [MARK=0xn]
 *    TRACE: <family> <traceid> <table>:<chain>:rule:0x<handle>:<VERDICT>[:<jump/goto target>]  -4 -t <table> -A <chain> <rule as in iptables-save>
 *    TRACE: <family> <traceid> <table>:<chain>:policy:<ACCEPT|DROP>
 *    TRACE: <family> <traceid> <table>:<chain>:return:[<target>]     (parsed, never seen on 6.18)
 *
 * Real lines (1-node gateway, DNAT + MASQUERADE, user chain with RETURN):
 *
 *   PACKET: 2 afa124ac IN=eth0 MACSRC=2:70:0:0:1:1 MACDST=2:70:0:0:0:1 MACPROTO=0800 SRC=192.0.2.9 DST=192.0.2.1 LEN=40 TOS=0x0 TTL=64 ID=1002 DF SPORT=1234 DPORT=8080 SYN
 *    TRACE: 2 afa124ac nat:PREROUTING:rule:0x5:ACCEPT  -4 -t nat -A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.2:80
 *   PACKET: 2 afa124ac IN=eth0 OUT=eth1 MACSRC=2:70:0:0:1:1 MACDST=2:70:0:0:0:1 MACPROTO=0800 SRC=192.0.2.9 DST=198.51.100.2 LEN=40 TOS=0x0 TTL=63 ID=1002 DF SPORT=1234 DPORT=80 SYN
 *    TRACE: 2 afa124ac filter:FORWARD:policy:ACCEPT
 *    TRACE: 2 f2c15171 filter:INPUT:rule:0x5:JUMP:U  -4 -t filter -A INPUT -j U
 *    TRACE: 2 f2c15171 filter:U:rule:0x7:0xfffffffb  -4 -t filter -A U -p tcp -m tcp --dport 80 -j RETURN
 *    TRACE: 2 77708395 filter:USER:rule:0xa:GOTO:USER2  -4 -t filter -A USER -p udp -m udp --dport 5353 -g USER2
 *
 * Kernel facts visible in that format: RETURN is printed as `0xfffffffb` (mapped to
 * verdict 'RETURN' here); falling off the end of a user chain (implicit return, also of a
 * goto'ed chain) produces no event - the next event is simply the caller's next rule;
 * REJECT is reported as DROP, DNAT/SNAT/MASQUERADE/REDIRECT as ACCEPT, MARK/LOG/CONNMARK
 * as CONTINUE (use `ruleTarget`, parsed from the rule text, to tell them apart); nat
 * chains are only traversed by the first packet of a connection (conntrack is flushed
 * between packets); with no route the events stop after the PREROUTING hooks.  Rules
 * that do not match produce no event at all.  MAC addresses are printed by ether_ntoa
 * (no zero padding).
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
 * ## Rule positions
 *
 * Right after `iptables-restore` driver.py runs `nft -j list ruleset ip` in the node
 * and records, per table/chain, the rule handles in list (= evaluation) order.  The
 * trace's `0x<handle>` is looked up there -> 1-based `position`.  The position is then
 * cross-checked against the node's `iptables-save` output (the rule text printed by
 * xtables-monitor is the iptables-save line); `ruleTextMatchesSave` reports the result,
 * and if a handle is unknown the position falls back to the first save line with the
 * same text.
 */
import { spawn } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cidrContains, parseCidr, parseIp } from '../../src/netfilter/pipeline/addr.ts';
import { attachNftPositions, parseNftMonitorOutput, type NftChainHandles, type NftKernelEvent } from './nft-trace.ts';

// ---------------------------------------------------------------------------------
// process helpers

interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: string;
}

function exec(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; onStdoutLine?: (line: string) => void } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // own process group -> a timeout can kill the whole group by its id
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    let lineBuf = '';
    let timedOut = false;
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, opts.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (opts.onStdoutLine) {
        lineBuf += d;
        let nl: number;
        while ((nl = lineBuf.indexOf('\n')) >= 0) {
          opts.onStdoutLine(lineBuf.slice(0, nl));
          lineBuf = lineBuf.slice(nl + 1);
        }
      }
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.on('error', () => {
      /* EPIPE when the child exits early; reported via exit code */
    });
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (opts.onStdoutLine && lineBuf) opts.onStdoutLine(lineBuf);
      resolve({ code, signal, stdout, stderr: spawnError ? `${stderr}${spawnError}` : stderr, timedOut, spawnError });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const UNSHARE = ['--net', '--mount', '--'];

/** Run argv inside a brand-new private network + mount namespace. */
function inPrivateNs(argv: string[], input?: string, timeoutMs?: number): Promise<ExecResult> {
  return exec('unshare', [...UNSHARE, ...argv], { input, timeoutMs });
}

function describeFailure(r: ExecResult): string {
  if (r.timedOut) return 'timed out';
  const why = r.stderr.trim() || r.stdout.trim();
  return `exit ${r.code ?? r.signal}${why ? `: ${why}` : ''}`;
}

// ---------------------------------------------------------------------------------
// availability

export type Availability = { ok: true } | { ok: false; reason: string };

let kernelAvail: Promise<Availability> | undefined;

/**
 * Can we `unshare --net --mount` and run `iptables-restore --version` inside? (cached)
 * Set PPTRACE_DISABLE=<reason> to force "unavailable".
 */
export function kernelAvailable(): Promise<Availability> {
  kernelAvail ??= (async (): Promise<Availability> => {
    const disabled = process.env['PPTRACE_DISABLE'];
    if (disabled) return { ok: false, reason: `kernel tests disabled by PPTRACE_DISABLE=${disabled}` };
    if (process.platform !== 'linux') return { ok: false, reason: `platform is ${process.platform}, not linux` };
    const r = await inPrivateNs(['iptables-restore', '--version'], undefined, 15_000);
    if (r.spawnError) return { ok: false, reason: `cannot run unshare: ${r.spawnError}` };
    if (r.code !== 0) return { ok: false, reason: `unshare --net --mount iptables-restore --version failed (${describeFailure(r)})` };
    if (!/iptables-restore v\d/.test(r.stdout + r.stderr)) {
      return { ok: false, reason: `unexpected iptables-restore --version output: ${(r.stdout + r.stderr).trim()}` };
    }
    return { ok: true };
  })();
  return kernelAvail;
}

function pythonPath(): string {
  const env = process.env['PPTRACE_PYTHON'];
  if (env) return env;
  // the pyenv shim costs ~200 ms per start; the system interpreter is enough (stdlib only)
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

export const DRIVER_PATH = fileURLToPath(new URL('./driver.py', import.meta.url));

let topoAvail: Promise<Availability> | undefined;

/** kernelAvailable() plus the tools runTopology needs (python3, ip, nft, xtables-monitor, conntrack). Cached. */
export function topologyAvailable(): Promise<Availability> {
  topoAvail ??= (async (): Promise<Availability> => {
    const k = await kernelAvailable();
    if (!k.ok) return k;
    const tools = ['ip', 'nft', 'xtables-monitor', 'conntrack', 'iptables-save', 'mount'];
    const script = `for t in ${tools.join(' ')}; do command -v "$t" >/dev/null 2>&1 || echo "missing: $t"; done; "$0" -c 'import socket, ctypes; socket.AF_PACKET' || echo "python3 unusable: $0"`;
    const r = await inPrivateNs(['sh', '-c', script, pythonPath()], undefined, 15_000);
    const problems = (r.stdout + r.stderr).trim();
    if (r.code !== 0 || problems) return { ok: false, reason: problems || describeFailure(r) };
    return { ok: true };
  })();
  return topoAvail;
}

// ---------------------------------------------------------------------------------
// restore / save

export type Family = 'ipv4' | 'ipv6';

function tools(family: Family = 'ipv4'): { restore: string; save: string } {
  return family === 'ipv6'
    ? { restore: 'ip6tables-restore', save: 'ip6tables-save' }
    : { restore: 'iptables-restore', save: 'iptables-save' };
}

/** Remove the `# Generated by ...` / `# Completed on ...` lines of iptables-save output. */
export function stripSaveComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^# (Generated by|Completed on) /.test(l))
    .join('\n');
}

export type RestoreAndSaveResult = { ok: true; saved: string } | { ok: false; stderr: string };

/**
 * In a fresh private namespace: `iptables-restore [-c]` the dump (stdin), then
 * `iptables-save [-c]`. Returns the save output without the Generated/Completed lines.
 */
/** `ipset create` commands for the sets a dump's `-m set`/`-j SET` rules reference (the kernel refuses unknown sets). */
export function ipsetCreateScript(dump: string, family: Family = 'ipv4'): string {
  const sets = new Map<string, number>();
  for (const m of dump.matchAll(/--(?:match-set|add-set|del-set|map-set)\s+(\S+)\s+(\S+)/g)) {
    sets.set(m[1]!, Math.max(sets.get(m[1]!) ?? 1, m[2]!.split(',').length));
  }
  const types = ['hash:net', 'hash:ip,port', 'hash:ip,port,net'];
  const fam = family === 'ipv6' ? ' family inet6' : '';
  return [...sets].map(([name, dims]) => `ipset create '${name.replace(/'/g, '')}' ${types[Math.min(dims, 3) - 1]}${fam} || exit 112; `).join('');
}

export async function restoreAndSave(
  dump: string,
  opts: { family?: Family; counters?: boolean } = {},
): Promise<RestoreAndSaveResult> {
  const { restore, save } = tools(opts.family);
  const flags = opts.counters ? ['-c'] : [];
  // exit 111 marks a restore failure (vs. a save failure)
  const script = ipsetCreateScript(dump, opts.family) + 'r="$1"; s="$2"; shift 2; "$r" "$@" || exit 111; exec "$s" "$@"';
  const r = await inPrivateNs(['sh', '-c', script, 'sh', restore, save, ...flags], dump, 30_000);
  if (r.code !== 0) return { ok: false, stderr: r.stderr.trim() || describeFailure(r) };
  return { ok: true, saved: stripSaveComments(r.stdout) };
}

/** `iptables-restore --test` in a private namespace (parse/validate only; misses kernel-level rejections). */
export async function restoreTest(dump: string, family: Family = 'ipv4'): Promise<{ ok: boolean; stderr: string }> {
  const r = await inPrivateNs(['sh', '-c', ipsetCreateScript(dump, family) + 'exec "$0" --test', tools(family).restore], dump, 30_000);
  return { ok: r.code === 0, stderr: r.code === 0 ? r.stderr : r.stderr.trim() || describeFailure(r) };
}

/** Real `iptables-restore` into a throw-away namespace: also catches what only the kernel rejects. */
export async function restoreAccepts(dump: string, family: Family = 'ipv4'): Promise<{ ok: boolean; stderr: string }> {
  const r = await inPrivateNs([tools(family).restore], dump, 30_000);
  return { ok: r.code === 0, stderr: r.code === 0 ? r.stderr : r.stderr.trim() || describeFailure(r) };
}

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

export interface KernelEvent {
  node: string;
  /** nfproto of the trace: 2 (IPv4) or 10 (IPv6) */
  nfproto: number;
  traceId: string;
  table: string;
  chain: string;
  kind: 'rule' | 'policy' | 'return';
  /** nft rule handle (rule events) */
  handle?: number;
  /** 1-based position of the rule in its chain (rule events) */
  position?: number;
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
function linkNeighbours(topo: ResolvedTopology, ns: string): { address: string; mac: string; dev: string }[] {
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

// ---------------------------------------------------------------------------------
// xtables-monitor parsing

const VERDICT_NAMES: Record<string, string> = {
  '0xfffffffb': 'RETURN', // NFT_RETURN (-5)
  '0xfffffffc': 'GOTO', // NFT_GOTO (-4)
  '0xfffffffd': 'JUMP', // NFT_JUMP (-3)
  '0xfffffffe': 'BREAK', // NFT_BREAK (-2)
  '0xffffffff': 'CONTINUE', // NFT_CONTINUE (-1)
};

function splitVerdict(raw: string): { verdict: string; target?: string } {
  const m = /^(JUMP|GOTO):(.+)$/.exec(raw);
  if (m) return { verdict: m[1]!, target: m[2]! };
  return { verdict: VERDICT_NAMES[raw.toLowerCase()] ?? raw };
}

function parsePacketFields(text: string): { fields: Record<string, string>; flags: string[] } {
  const fields: Record<string, string> = {};
  const flags: string[] = [];
  const opt = /OPT \(([0-9A-F]*)\)/.exec(text);
  if (opt) {
    fields['OPT'] = opt[1]!;
    text = text.replace(opt[0], ' ');
  }
  for (const tok of text.trim().split(/\s+/)) {
    if (!tok) continue;
    const eq = tok.indexOf('=');
    if (eq > 0) fields[tok.slice(0, eq)] = tok.slice(eq + 1);
    else if (tok.startsWith('FRAG:')) fields['FRAG'] = tok.slice(5);
    else flags.push(tok);
  }
  return { fields, flags };
}

/** shell-like tokenizer for iptables-save rule text (double quotes only, as iptables prints them) */
function tokenizeRule(text: string): string[] {
  const toks: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) toks.push(m[1] !== undefined ? m[1] : m[2]!);
  return toks;
}

function ruleTargetOf(ruleText: string): string | undefined {
  const t = tokenizeRule(ruleText);
  let target: string | undefined;
  for (let i = 0; i < t.length - 1; i++) {
    if (t[i] === '-j' || t[i] === '--jump' || t[i] === '-g' || t[i] === '--goto') target = t[i + 1];
  }
  return target;
}

export interface ParseOptions {
  /** keep only traces whose PACKET lines carry this IPv4 ID (IPv6: this flow label) */
  ipId?: number;
  /** drop events of these tables (default: the harness' own `pptrace`) */
  ignoreTables?: string[];
}

/**
 * Parse `xtables-monitor --trace` output (format documented at the top of this file)
 * into events. Pure function: usable without a kernel.
 */
export function parseMonitorOutput(text: string, node: string, opts: ParseOptions = {}): KernelEvent[] {
  const ignore = new Set(opts.ignoreTables ?? ['pptrace']);
  const lastPacket = new Map<string, { fields: Record<string, string>; flags: string[] }>();
  const events: KernelEvent[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\s+$/, '');
    let m = /^PACKET: (\d+) ([0-9a-f]+) ?(.*)$/.exec(line);
    if (m) {
      lastPacket.set(m[2]!, parsePacketFields(m[3]!));
      continue;
    }
    m = /^ ?TRACE: (\d+) ([0-9a-f]+) (\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const traceId = m[2]!;
    const head = m[3]!;
    const rest = m[4];
    const table = head.slice(0, head.indexOf(':'));
    const afterTable = head.slice(table.length + 1);
    const km = /^(.*?):(rule:0x([0-9a-f]+)|policy|return)(?::(.*))?$/.exec(afterTable);
    if (!table || !km) continue;
    const chain = km[1]!;
    const kind = km[2]!.startsWith('rule') ? 'rule' : (km[2] as 'policy' | 'return');
    const tail = km[4] ?? '';
    const pkt = lastPacket.get(traceId) ?? { fields: {}, flags: [] };
    if (ignore.has(table)) continue;
    if (opts.ipId !== undefined && (pkt.fields['ID'] ?? pkt.fields['FLOWLBL']) !== String(opts.ipId)) continue;
    const ev: KernelEvent = {
      node,
      nfproto: Number(m[1]),
      traceId,
      table,
      chain,
      kind,
      verdict: '',
      rawVerdict: tail,
      packet: { ...pkt.fields },
      packetFlags: [...pkt.flags],
    };
    if (kind === 'rule') {
      ev.handle = parseInt(km[3]!, 16);
      const v = splitVerdict(tail);
      ev.verdict = v.verdict;
      if (v.target !== undefined) ev.target = v.target;
      if (rest) {
        ev.ruleText = rest.replace(/^-[46] -t \S+ /, '');
        const t = ruleTargetOf(ev.ruleText);
        if (t !== undefined) ev.ruleTarget = t;
      }
    } else if (kind === 'policy') {
      ev.verdict = splitVerdict(tail).verdict;
    } else {
      ev.verdict = 'RETURN';
      if (tail) ev.target = tail;
    }
    events.push(ev);
  }
  return events;
}

/** `iptables-save` text -> table -> chain -> rule lines ("-A CHAIN ...") in order */
export function saveRulesByChain(save: string): Map<string, Map<string, string[]>> {
  const res = new Map<string, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      cur = new Map();
      res.set(line.slice(1).trim(), cur);
    } else if (line.startsWith(':') && cur) {
      const name = line.slice(1).split(' ')[0]!;
      if (!cur.has(name)) cur.set(name, []);
    } else if (line.startsWith('-A ') && cur) {
      const chain = line.split(' ')[1]!;
      let list = cur.get(chain);
      if (!list) cur.set(chain, (list = []));
      list.push(line.trimEnd());
    }
  }
  return res;
}

/** Fill `position` / `ruleTextMatchesSave` of rule events from the node's handle lists and save text. */
export function attachPositions(events: KernelEvent[], info: NodeSetupInfo): void {
  const save4 = saveRulesByChain(info.save);
  const save6 = saveRulesByChain(info.save6 ?? '');
  for (const ev of events) {
    if (ev.kind !== 'rule') continue;
    const v6 = ev.nfproto === NFPROTO_IPV6;
    const save = v6 ? save6 : save4;
    const handles = (v6 ? info.chains6 : info.chains)?.[ev.table]?.[ev.chain];
    const lines = save.get(ev.table)?.get(ev.chain);
    const idx = handles && ev.handle !== undefined ? handles.indexOf(ev.handle) : -1;
    if (idx >= 0) ev.position = idx + 1;
    else if (lines && ev.ruleText) {
      const j = lines.indexOf(ev.ruleText);
      if (j >= 0) ev.position = j + 1;
    }
    if (ev.position !== undefined && lines && ev.ruleText !== undefined) {
      ev.ruleTextMatchesSave = lines[ev.position - 1] === ev.ruleText;
    }
  }
}

/** compact one-line rendering, handy in assertions: `node table:chain:kind[:pos]:VERDICT[:target]` */
export function eventKey(e: KernelEvent, withNode = false): string {
  const pos = e.kind === 'rule' ? `:${e.position ?? '?'}` : '';
  const tgt = e.target ? `:${e.target}` : '';
  return `${withNode ? `${e.node} ` : ''}${e.table}:${e.chain}:${e.kind}${pos}:${e.verdict}${tgt}`;
}

// ---------------------------------------------------------------------------------
// runner

const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const NFPROTO_IPV6 = 10;

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
