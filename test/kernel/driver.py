#!/usr/bin/env python3
"""Topology driver for the kernel-differential test harness (test/kernel/netns.ts).

MUST run inside a private network + mount namespace, i.e. as
``unshare --net --mount python3 driver.py`` -- it refuses to run otherwise.

Input: one JSON document on stdin (the *resolved* topology built by
``resolveTopology()`` in netns.ts plus the packets and options).
Output: JSON lines on stdout:
  {"type":"setup", "nodes": {node: {"chains": {...}, "save": str, "save6": str,
   (monitor "nft" only:) "nftChains": {...}, "nftJson": str, "nftList": str}}, "ms": n}
  {"type":"packet", "index": i, "ipId": n, "monitors": {...}, "conntrack": {...},
   "delivered": [...], "timing": {...}}
  {"type":"error", "message": str}
  {"type":"done"}

Packets are IPv4 (told apart by their IP ID) or IPv6 (by their flow label).

Everything (ip, iptables-restore, nft, xtables-monitor, conntrack) is executed in
namespaces created *inside* the private namespace this process lives in:
``/run/netns`` (or ``/run`` when /run/netns does not exist) is first covered with a
private tmpfs via mount(2) (the mount namespace is private, so neither the tmpfs
nor the netns bind mounts are visible outside, and nothing is written to the
shared filesystem).
"""

import ctypes
import errno
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
NFNLGRP_NFTRACE_BIT = 1 << (9 - 1)  # NFNLGRP_NFTRACE == 9
SO_MARK = 36
TRACE_TABLE = "pptrace"

_libc = ctypes.CDLL(None, use_errno=True)
_children = []


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class DriverError(Exception):
    pass


# --------------------------------------------------------------------------
# namespaces


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


ROOT_NS_FD = os.open("/proc/self/ns/net", os.O_RDONLY)
_ns_fds = {}


def ns_fd(name):
    fd = _ns_fds.get(name)
    if fd is None:
        fd = os.open("/run/netns/" + name, os.O_RDONLY)
        _ns_fds[name] = fd
    return fd


class In:
    """Switch the calling (main) thread into netns `name`; children and sockets
    created inside the block belong to that namespace."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        if self.name is not None:
            _setns(ns_fd(self.name))
        return self

    def __exit__(self, *exc):
        if self.name is not None:
            _setns(ROOT_NS_FD)
        return False


def run(ns, argv, stdin_text=None, check=True):
    with In(ns):
        p = subprocess.run(argv, input=stdin_text if stdin_text is not None else "",
                           capture_output=True, text=True)
    if check and p.returncode != 0:
        raise DriverError("%s failed in netns %s (rc=%d): %s%s" % (
            " ".join(argv), ns, p.returncode, p.stderr.strip(), p.stdout.strip()))
    return p


def spawn(ns, argv, **kw):
    with In(ns):
        p = subprocess.Popen(argv, **kw)
    _children.append(p)
    return p


def write_sysctl(ns, key, value):
    path = "/proc/sys/" + key.replace(".", "/")
    with In(ns):
        try:
            with open(path, "w") as f:
                f.write(str(value))
        except OSError as e:
            raise DriverError("sysctl %s=%s in %s: %s" % (key, value, ns, e))


def ensure_private_namespaces():
    # Refuse to touch anything unless we are in namespaces different from the ones
    # of the process that launched us (netns.ts passes its own namespace ids).
    for kind in ("net", "mnt"):
        parent = os.environ.get("PPTRACE_PARENT_%sNS" % kind.upper())
        if not parent:
            raise DriverError("PPTRACE_PARENT_%sNS not set; run via netns.ts (unshare --net --mount)" % kind.upper())
        if os.readlink("/proc/self/ns/" + kind) == parent:
            raise DriverError("driver.py must run under `unshare --net --mount` (still in the parent's %s namespace)" % kind)
    # mount(2) directly, not mount(8): libmount would create /run/mount/utab on the
    # shared filesystem before our tmpfs is in place.
    MS_REC, MS_PRIVATE = 0x4000, 1 << 18
    if _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        e = ctypes.get_errno()
        raise DriverError("cannot make / private: " + os.strerror(e))
    # Cover /run/netns with a private tmpfs. If it does not exist, cover /run itself
    # rather than creating a directory on the shared filesystem underneath.
    target = "/run/netns" if os.path.isdir("/run/netns") else "/run"
    if _libc.mount(b"pptrace-run", target.encode(), b"tmpfs", 0, b"size=4m,mode=755") != 0:
        e = ctypes.get_errno()
        raise DriverError("cannot mount tmpfs on %s: %s" % (target, os.strerror(e)))
    os.makedirs("/run/netns", exist_ok=True)


# --------------------------------------------------------------------------
# packet building


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


TCP_FLAG_BITS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10,
                 "URG": 0x20, "ECE": 0x40, "CWR": 0x80,
                 "F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20,
                 "E": 0x40, "C": 0x80}


def tcp_flags(spec):
    if spec is None:
        return 0x02
    spec = spec.strip().upper()
    if spec in ("", "NONE"):
        return 0
    bits = 0
    parts = [p for p in spec.replace("|", ",").replace(" ", ",").split(",") if p]
    if len(parts) == 1 and parts[0] not in TCP_FLAG_BITS and all(ch in "FSRPAUEC" for ch in parts[0]):
        parts = list(parts[0])  # "SA" style
    for p in parts:
        if p not in TCP_FLAG_BITS:
            raise DriverError("unknown TCP flag %r in %r" % (p, spec))
        bits |= TCP_FLAG_BITS[p]
    return bits


PROTO_NUM = {"icmp": 1, "tcp": 6, "udp": 17, "sctp": 132}
PROTO_NUM6 = {"icmpv6": 58, "tcp": 6, "udp": 17}


def build_ipv4(pkt, ip_id):
    proto = pkt["proto"]
    src = socket.inet_aton(pkt["src"])
    dst = socket.inet_aton(pkt["dst"])
    pnum = PROTO_NUM[proto]
    sport = pkt.get("sport")
    dport = pkt.get("dport")
    if proto == "tcp":
        flags = tcp_flags(pkt.get("tcpFlags"))
        seq = 0x10000000 + ip_id
        ack = 0x20000000 if flags & 0x10 else 0
        hdr = struct.pack("!HHIIBBHHH", sport if sport is not None else 40000, dport if dport is not None else 80,
                          seq, ack, 5 << 4, flags, 64240, 0, 0)
        l4 = hdr
    elif proto == "udp":
        payload = b"pptrace!"
        ln = 8 + len(payload)
        l4 = struct.pack("!HHHH", sport if sport is not None else 40000, dport if dport is not None else 53, ln, 0) + payload
    elif proto == "icmp":
        itype = pkt.get("icmpType", 8)
        icode = pkt.get("icmpCode", 0)
        payload = b"pptrace!"
        ident = sport if sport is not None else 0x7070
        body = struct.pack("!BBHHH", itype, icode, 0, ident, 1) + payload
        l4 = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    elif proto == "sctp":
        # common header + INIT chunk (vtag 0 for INIT, as conntrack requires)
        init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x50505050, 65535, 10, 10, 0x1000 + ip_id)
        common = struct.pack("!HHII", sport if sport is not None else 40000, dport if dport is not None else 9999, 0, 0)
        raw = common + init
        c = crc32c(raw)
        l4 = raw[:8] + struct.pack("<I", c) + raw[12:]
    else:
        raise DriverError("unsupported proto " + repr(proto))

    if proto in ("tcp", "udp"):
        pseudo = src + dst + struct.pack("!BBH", 0, pnum, len(l4))
        c = csum(pseudo + l4)
        if proto == "udp" and c == 0:
            c = 0xFFFF
        off = 16 if proto == "tcp" else 6
        l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]

    ttl = pkt.get("ttl", 64)
    total = 20 + len(l4)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ip_id, 0x4000, ttl, pnum, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + l4


def build_ipv6(pkt, flow):
    """IPv6 header (flow label = the harness id, which nothing on the path changes) + TCP/UDP/ICMPv6."""
    proto = pkt["proto"]
    src = socket.inet_pton(socket.AF_INET6, pkt["src"])
    dst = socket.inet_pton(socket.AF_INET6, pkt["dst"])
    if proto not in PROTO_NUM6:
        raise DriverError("unsupported proto over IPv6 " + repr(proto))
    nh = PROTO_NUM6[proto]
    sport = pkt.get("sport")
    dport = pkt.get("dport")
    if proto == "tcp":
        flags = tcp_flags(pkt.get("tcpFlags"))
        ack = 0x20000000 if flags & 0x10 else 0
        l4 = struct.pack("!HHIIBBHHH", sport if sport is not None else 40000, dport if dport is not None else 80,
                         0x10000000 + flow, ack, 5 << 4, flags, 64240, 0, 0)
        off = 16
    elif proto == "udp":
        payload = b"pptrace!"
        l4 = struct.pack("!HHHH", sport if sport is not None else 40000, dport if dport is not None else 53, 8 + len(payload), 0) + payload
        off = 6
    else:
        # echo layout (identifier, sequence) for every type: conntrack reads only the first 8 bytes
        ident = sport if sport is not None else 0x7070
        l4 = struct.pack("!BBHHH", pkt.get("icmpType", 128), pkt.get("icmpCode", 0), 0, ident, 1) + b"pptrace!"
        off = 2
    # the checksum covers the pseudo header; conntrack checks it in PREROUTING
    pseudo = src + dst + struct.pack("!I3xB", len(l4), nh)
    c = csum(pseudo + l4)
    if proto == "udp" and c == 0:
        c = 0xFFFF
    l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    hop = pkt.get("ttl", 64)
    return struct.pack("!IHBB", (6 << 28) | (flow & 0xFFFFF), len(l4), nh, hop) + src + dst + l4


def parse_ipv6(data):
    if len(data) < 40 or data[0] >> 4 != 6:
        return None
    first, plen, nh, hop = struct.unpack("!IHBB", data[:8])
    rec = {"src": socket.inet_ntop(socket.AF_INET6, data[8:24]), "dst": socket.inet_ntop(socket.AF_INET6, data[24:40]),
           "ipId": first & 0xFFFFF, "ttl": hop, "protoNum": nh}
    names = {v: k for k, v in PROTO_NUM6.items()}
    if nh in names:
        rec["proto"] = names[nh]
    l4 = data[40:]
    if nh in (6, 17) and len(l4) >= 4:
        rec["sport"], rec["dport"] = struct.unpack("!HH", l4[:4])
    if nh == 58 and len(l4) >= 2:
        rec["icmpType"], rec["icmpCode"] = l4[0], l4[1]
    if nh == 6 and len(l4) >= 14:
        rec["tcpFlags"] = l4[13]
    return rec


def parse_ipv4(data):
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0xF) * 4
    total, ip_id = struct.unpack("!HH", data[2:6])
    ttl, pnum = data[8], data[9]
    rec = {"src": socket.inet_ntoa(data[12:16]), "dst": socket.inet_ntoa(data[16:20]),
           "ipId": ip_id, "ttl": ttl, "protoNum": pnum}
    names = {v: k for k, v in PROTO_NUM.items()}
    if pnum in names:
        rec["proto"] = names[pnum]
    l4 = data[ihl:]
    if pnum in (6, 17, 132) and len(l4) >= 4:
        rec["sport"], rec["dport"] = struct.unpack("!HH", l4[:4])
    if pnum == 1 and len(l4) >= 2:
        rec["icmpType"], rec["icmpCode"] = l4[0], l4[1]
    if pnum == 6 and len(l4) >= 14:
        rec["tcpFlags"] = l4[13]
    return rec


# --------------------------------------------------------------------------
# setup


def ip_batch(ns, lines):
    if not lines:
        return
    argv = ["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"]
    p = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True)
    if p.returncode != 0:
        raise DriverError("ip batch failed in %s: %s\n--- batch ---\n%s" % (ns or "<outer>", p.stderr.strip(), "\n".join(lines)))


def route_line(r):
    rtype = r.get("type") or "unicast"
    parts = ["route", "add"]
    if rtype != "unicast":
        parts.append(rtype)
    parts.append(r["dst"])
    if r.get("via"):
        parts += ["via", r["via"]]
    if r.get("dev"):
        parts += ["dev", r["dev"]]
    if r.get("onlink"):
        parts.append("onlink")
    if r.get("table") is not None:
        parts += ["table", str(r["table"])]
    if r.get("metric") is not None:
        parts += ["metric", str(r["metric"])]
    if r.get("src"):
        parts += ["src", r["src"]]
    return " ".join(parts)


def addr_line(a, dev):
    if ":" in a:
        return "addr add %s dev %s nodad" % (a, dev)
    return "addr add %s dev %s" % (a, dev)


def nft_positions(ns, family):
    """{table: {chain: [handle, ...]}} in rule order, for one nft family."""
    p = run(ns, ["nft", "-j", "list", "ruleset", family], check=False)
    res = {}
    if p.returncode != 0 or not p.stdout.strip():
        return res
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        return res
    for item in doc.get("nftables", []):
        if "chain" in item:
            c = item["chain"]
            res.setdefault(c["table"], {}).setdefault(c["name"], [])
        elif "rule" in item:
            r = item["rule"]
            res.setdefault(r["table"], {}).setdefault(r["chain"], []).append(r["handle"])
    return res


def nft_ruleset_info(ns):
    """After the node's rulesets are loaded (before the trace tables): rule handles in
    list (= evaluation) order for every family, {family: {table: {chain: [handle]}}},
    plus the kernel's own `nft -j list ruleset` (what the simulator is given)."""
    p = run(ns, ["nft", "-j", "list", "ruleset"])
    res = {}
    for item in json.loads(p.stdout).get("nftables", []):
        if "chain" in item:
            c = item["chain"]
            res.setdefault(c["family"], {}).setdefault(c["table"], {}).setdefault(c["name"], [])
        elif "rule" in item:
            r = item["rule"]
            res.setdefault(r["family"], {}).setdefault(r["table"], {}).setdefault(r["chain"], []).append(r["handle"])
    return res, p.stdout


def trace_ruleset6(flows, marks):
    """The IPv6 twin of trace_ruleset: packets are told apart by their flow label."""
    ids = ", ".join(str(i) for i in flows)
    lines = [
        "table ip6 %s {" % TRACE_TABLE,
        "  chain settrace { meta nftrace set 1; }",
        "  chain pre { type filter hook prerouting priority -350; policy accept;",
    ]
    if marks:
        m = ", ".join("%d : 0x%x" % (i, mk) for i, mk in marks.items())
        mids = ", ".join(str(i) for i in marks)
        lines.append("    ip6 flowlabel { %s } meta mark set ip6 flowlabel map { %s };" % (mids, m))
    lines.append("    ip6 flowlabel { %s } jump settrace;" % ids)
    lines.append("  }")
    lines.append("  chain out { type filter hook output priority -350; policy accept;")
    lines.append("    ip6 flowlabel { %s } jump settrace;" % ids)
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def trace_ruleset(ip_ids, marks):
    ids = ", ".join(str(i) for i in ip_ids)
    lines = [
        "table ip %s {" % TRACE_TABLE,
        # nftrace is set in a separate chain reached by a jump: the jump rule itself is
        # evaluated while nftrace is still 0, so xtables-monitor never has to translate
        # the `ip id` match (it aborts with "unknown payload offset" on it); the only
        # traced rule of this table is `meta nftrace set 1`, printed as `-j TRACE`.
        "  chain settrace { meta nftrace set 1; }",
        "  chain pre { type filter hook prerouting priority -350; policy accept;",
    ]
    if marks:
        m = ", ".join("%d : 0x%x" % (i, mk) for i, mk in marks.items())
        mids = ", ".join(str(i) for i in marks)
        lines.append("    ip id { %s } meta mark set ip id map { %s };" % (mids, m))
    if ip_ids:
        lines.append("    ip id { %s } jump settrace;" % ids)
    lines.append("  }")
    lines.append("  chain out { type filter hook output priority -350; policy accept;")
    if ip_ids:
        lines.append("    ip id { %s } jump settrace;" % ids)
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


class Topology:
    def __init__(self, spec):
        self.spec = spec
        self.nodes = spec["nodes"]
        self.peers = spec["peers"]
        self.links = spec["links"]
        self.opts = spec.get("options") or {}
        self.peer_socks = {}
        self.send_socks = {}
        self.local_socks = {}

    def setup(self):
        t0 = time.monotonic()
        all_ns = [n["ns"] for n in self.nodes] + [p["ns"] for p in self.peers]
        ip_batch(None, ["netns add " + ns for ns in all_ns])

        # sysctls that must precede link creation (new links inherit `default`)
        for n in self.nodes:
            has6 = any(":" in a for i in n["interfaces"] for a in i["addresses"]) or bool(n.get("dump6"))
            if not has6:
                write_sysctl(n["ns"], "net.ipv6.conf.all.disable_ipv6", 1)
                write_sysctl(n["ns"], "net.ipv6.conf.default.disable_ipv6", 1)
        for p in self.peers:
            if not any(":" in a for a in p["addresses"]):
                write_sysctl(p["ns"], "net.ipv6.conf.all.disable_ipv6", 1)
                write_sysctl(p["ns"], "net.ipv6.conf.default.disable_ipv6", 1)

        link_lines = []
        for l in self.links:
            a, b = l["a"], l["b"]
            link_lines.append("link add %s netns %s address %s type veth peer name %s netns %s address %s" % (
                a["iface"], a["ns"], a["mac"], b["iface"], b["ns"], b["mac"]))
        ip_batch(None, link_lines)

        for n in self.nodes:
            lines = ["link set lo up"]
            for i in n["interfaces"]:
                if i.get("mtu"):
                    lines.append("link set %s mtu %d" % (i["name"], i["mtu"]))
                lines.append("link set %s up" % i["name"])
                lines += [addr_line(a, i["name"]) for a in i["addresses"]]
            ip_batch(n["ns"], lines)
        for p in self.peers:
            lines = ["link set lo up", "link set %s up" % p["iface"]]
            any_ip = p.get("anyIp", True)
            for a in p["addresses"]:
                # anyIp: no connected prefix route, otherwise (local and main FIB tables
                # are merged) the /24 unicast route would win over `local 0.0.0.0/0`
                lines.append(addr_line(a, p["iface"]) + (" noprefixroute" if any_ip and ":" not in a else ""))
            if any_ip:
                # with everything local, the node's own (source) address is "local" to the
                # peer too; without accept_local the ARP request is a martian and ignored
                write_sysctl(p["ns"], "net.ipv4.conf.all.accept_local", 1)
                # every IPv4 address is local -> the peer answers ARP for anything the
                # node forwards onto this link (DNAT targets, pod IPs, gateways ...)
                lines.append("route add local 0.0.0.0/0 dev lo table local")
            ip_batch(p["ns"], lines)
            # the peer is a sink: it must never answer (RST/ICMP) and disturb conntrack
            run(p["ns"], ["nft", "-f", "-"], "table ip pppeer {\n chain in { type filter hook input priority 0; policy drop; }\n"
                                             " chain out { type filter hook output priority 0; policy drop; }\n}\n")

        for n in self.nodes:
            write_sysctl(n["ns"], "net.ipv4.ip_forward", 1 if n["forwarding"] else 0)
            if self.has6(n):
                write_sysctl(n["ns"], "net.ipv6.conf.all.forwarding", 1 if n["forwarding"] else 0)
                # the node's own packets (ICMPv6 errors, ...) must not carry a flow label that names a test packet
                write_sysctl(n["ns"], "net.ipv6.auto_flowlabels", 0)
            for k, v in (n.get("sysctls") or {}).items():
                write_sysctl(n["ns"], k, v)
            ip_batch(n["ns"], [route_line(r) for r in n["routes"]])
            for nb in n.get("neighbours") or []:
                ip_batch(n["ns"], ["neigh replace %s lladdr %s dev %s nud permanent" % (nb["address"], nb["mac"], nb["dev"])])

        setup_info = {}
        for n in self.nodes:
            ns = n["ns"]
            if n.get("ipsets"):
                p = run(ns, ["ipset", "restore"], n["ipsets"], check=False)
                if p.returncode != 0:
                    raise DriverError("ipset restore failed on node %s: %s" % (n["name"], p.stderr.strip()))
            # iptables-legacy tables first: registered before the iptables-nft ones, they run
            # after them on a priority tie (the simulator assumes the legacy tables are the oldest)
            if n.get("legacyDump") is not None:
                p = run(ns, ["iptables-legacy-restore"], n["legacyDump"], check=False)
                if p.returncode != 0:
                    raise DriverError("iptables-legacy-restore failed on node %s: %s" % (n["name"], p.stderr.strip()))
            if n.get("dump") is not None:
                p = run(ns, ["iptables-restore"], n["dump"], check=False)
                if p.returncode != 0:
                    raise DriverError("iptables-restore failed on node %s: %s" % (n["name"], p.stderr.strip()))
            if n.get("dump6") is not None:
                p = run(ns, ["ip6tables-restore"], n["dump6"], check=False)
                if p.returncode != 0:
                    raise DriverError("ip6tables-restore failed on node %s: %s" % (n["name"], p.stderr.strip()))
            # native nft tables come after the iptables-nft ones (a node may have both)
            if n.get("nft") is not None:
                p = run(ns, ["nft", "-f", "-"], n["nft"], check=False)
                if p.returncode != 0:
                    raise DriverError("nft -f failed on node %s: %s" % (n["name"], p.stderr.strip()))
            chains = nft_positions(ns, "ip")
            save = run(ns, ["iptables-save"]).stdout
            info = {"chains": chains, "save": save}
            if n.get("dump6") is not None:
                info["save6"] = run(ns, ["ip6tables-save"]).stdout
                info["chains6"] = nft_positions(ns, "ip6")
            if n.get("monitor") == "nft":
                info["nftChains"], info["nftJson"] = nft_ruleset_info(ns)
                info["nftList"] = run(ns, ["nft", "-a", "list", "ruleset"]).stdout
            # a command run in the node once its rules are loaded, before the trace tables
            # exist (the collection agent: it must see the node, not the harness)
            if n.get("afterSetup"):
                a = n["afterSetup"]
                with In(ns):
                    p = subprocess.run(a["argv"], cwd=a.get("cwd"), capture_output=True, text=True, timeout=a.get("timeoutS", 120))
                info["afterSetup"] = {"code": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
            setup_info[n["name"]] = info
            ids6 = set(n.get("traceIds6") or [])
            marks = {int(k): v for k, v in (n.get("marks") or {}).items()}
            run(ns, ["nft", "-f", "-"], trace_ruleset([i for i in n["traceIds"] if i not in ids6], {i: m for i, m in marks.items() if i not in ids6}))
            if ids6:
                run(ns, ["nft", "-f", "-"], trace_ruleset6(sorted(ids6), {i: m for i, m in marks.items() if i in ids6}))

        # sockets
        for p in self.peers:
            for proto in (ETH_P_IP, ETH_P_IPV6):
                with In(p["ns"]):
                    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                    s.bind((p["iface"], proto))
                    s.setblocking(False)
                self.peer_socks[(p["name"], proto)] = s
        if self.opts.get("debugSetup"):
            for n in self.nodes:
                setup_info[n["name"]]["debug"] = {
                    "addr": run(n["ns"], ["ip", "addr"]).stdout,
                    "route": run(n["ns"], ["ip", "route", "show", "table", "all"]).stdout,
                    "nft": run(n["ns"], ["nft", "list", "ruleset"]).stdout,
                }
        out({"type": "setup", "nodes": setup_info, "ms": round((time.monotonic() - t0) * 1000, 1)})

    # ---------------------------------------------------------------- per packet

    def sender(self, inj):
        key = (inj["ns"], inj["iface"])
        s = self.send_socks.get(key)
        if s is None:
            with In(inj["ns"]):
                s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
                s.bind((inj["iface"], ETH_P_IP))
            self.send_socks[key] = s
        return s

    def local_sender(self, ns, family="ipv4"):
        s = self.local_socks.get((ns, family))
        if s is None:
            with In(ns):
                af = socket.AF_INET6 if family == "ipv6" else socket.AF_INET
                s = socket.socket(af, socket.SOCK_RAW, socket.IPPROTO_RAW)  # implies IP_HDRINCL / IPV6_HDRINCL
            self.local_socks[(ns, family)] = s
        return s

    @staticmethod
    def has6(n):
        return any(":" in a for i in n["interfaces"] for a in i["addresses"]) or bool(n.get("dump6"))

    def drain_peers(self):
        for s in self.peer_socks.values():
            while True:
                try:
                    s.recvfrom(65535)
                except BlockingIOError:
                    break

    def start_monitors(self, family="ipv4"):
        mons = {}
        for n in self.nodes:
            # `nft monitor trace` reports every table of every family (iptables-nft ones
            # too, as nft translations); xtables-monitor prints iptables-save lines
            if n.get("monitor") == "nft":
                argv = ["nft", "-a", "monitor", "trace"]
            else:
                argv = ["xtables-monitor", "--trace", "-6" if family == "ipv6" else "-4"]
            p = spawn(n["ns"], argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            os.set_blocking(p.stdout.fileno(), False)
            mons[n["name"]] = {"proc": p, "buf": [], "err": b"", "first": None}
        deadline = time.monotonic() + 3.0
        pending = set(mons)
        while pending:
            for name in list(pending):
                m = mons[name]
                if m["proc"].poll() is not None:
                    raise DriverError("trace monitor exited early on %s: %s" % (name, m["proc"].stderr.read().decode(errors="replace")))
                if monitor_subscribed(m["proc"].pid):
                    pending.discard(name)
            if not pending:
                break
            if time.monotonic() > deadline:
                raise DriverError("trace monitor did not subscribe to NFNLGRP_NFTRACE on " + ",".join(sorted(pending)))
            time.sleep(0.002)
        return mons

    def stop_monitors(self, mons):
        for m in mons.values():
            try:
                m["proc"].send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        res = {}
        for name, m in mons.items():
            p = m["proc"]
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            rest = p.stdout.read() or b""
            m["buf"].append(rest)
            err = p.stderr.read() or b""
            p.stdout.close()
            p.stderr.close()
            if p in _children:
                _children.remove(p)
            res[name] = {"stdout": b"".join(m["buf"]).decode(errors="replace"),
                         "stderr": err.decode(errors="replace"),
                         "firstMs": m["first"]}
        return res

    def run_packet(self, idx, pkt):
        timing = {}
        t0 = time.monotonic()
        self.drain_peers()
        family = pkt.get("family", "ipv4")
        mons = self.start_monitors(family)
        timing["monitorsReadyMs"] = round((time.monotonic() - t0) * 1000, 1)
        ip_id = pkt["ipId"]
        frame = build_ipv6(pkt, ip_id) if family == "ipv6" else build_ipv4(pkt, ip_id)
        inj = pkt["inject"]
        tsend = time.monotonic()
        if inj["kind"] == "packet":
            s = self.sender(inj)
            ethertype = ETH_P_IPV6 if family == "ipv6" else ETH_P_IP
            s.sendto(frame, (inj["iface"], ethertype, 0, 0, bytes.fromhex(inj["dstMac"].replace(":", ""))))
        else:
            s = self.local_sender(inj["ns"], family)
            s.setsockopt(socket.SOL_SOCKET, SO_MARK, int(pkt.get("mark") or 0))
            try:
                s.sendto(frame, (pkt["dst"], 0))
            except OSError as e:
                # e.g. ENETUNREACH when the node has no route: the kernel refuses before
                # any OUTPUT hook runs; EPERM when an OUTPUT rule drops/rejects it
                timing["sendError"] = "%s: %s" % (errno.errorcode.get(e.errno, e.errno), e.strerror)

        delivered = []
        fd_map = {}
        for name, m in mons.items():
            fd_map[m["proc"].stdout.fileno()] = ("mon", name)
        for key, s in self.peer_socks.items():
            fd_map[s.fileno()] = ("peer", key)
        min_ms = self.opts.get("minWaitMs", 120)
        quiet_ms = self.opts.get("quietMs", 60)
        max_ms = self.opts.get("maxWaitMs", 400)
        # Every injected packet meets the pptrace settrace rule first, so some
        # monitor output always comes; on a loaded machine it can be late, and
        # stopping before it arrives would read as "the kernel saw nothing".
        silent_max_ms = self.opts.get("silentMaxWaitMs", 3000)
        last = tsend
        while True:
            now = time.monotonic()
            el = (now - tsend) * 1000
            heard = any(m["buf"] for m in mons.values()) or "sendError" in timing
            if el >= (max_ms if heard else silent_max_ms) or (heard and el >= min_ms and (now - last) * 1000 >= quiet_ms):
                break
            r, _, _ = select.select(list(fd_map), [], [], 0.01)
            for fd in r:
                kind, name = fd_map[fd]
                if kind == "mon":
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    if chunk:
                        m = mons[name]
                        if m["first"] is None:
                            m["first"] = round((time.monotonic() - tsend) * 1000, 2)
                        m["buf"].append(chunk)
                        last = time.monotonic()
                    else:
                        del fd_map[fd]  # EOF: monitor died (ENOBUFS?)
                        break
                else:
                    s = self.peer_socks[name]
                    while True:
                        try:
                            data, addr = s.recvfrom(65535)
                        except BlockingIOError:
                            break
                        if addr[2] == PACKET_OUTGOING:
                            continue
                        rec = parse_ipv6(data) if name[1] == ETH_P_IPV6 else parse_ipv4(data)
                        if rec is None or rec["ipId"] != ip_id:
                            continue
                        rec["peer"] = name[0]
                        rec["iface"] = addr[0]
                        rec["atMs"] = round((time.monotonic() - tsend) * 1000, 2)
                        delivered.append(rec)
                        last = time.monotonic()
        timing["waitMs"] = round((time.monotonic() - tsend) * 1000, 1)
        monitors = self.stop_monitors(mons)

        # conntrack: list then flush, all nodes in parallel
        t1 = time.monotonic()
        procs = {}
        for n in self.nodes:
            # a SET target changes ipsets: put back the given contents so packets stay independent
            reset = "; ipset flush; ipset restore -exist >/dev/null 2>&1" if n.get("ipsets") else ""
            procs[n["name"]] = spawn(n["ns"], ["sh", "-c", "conntrack -L -o extended 2>/dev/null; conntrack -F >/dev/null 2>&1" + reset],
                                     stdin=subprocess.PIPE if reset else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ct = {}
        for name, p in procs.items():
            n = next(x for x in self.nodes if x["name"] == name)
            o, _ = p.communicate(n["ipsets"].encode() if n.get("ipsets") else None)
            _children.remove(p)
            ct[name] = [l for l in o.decode(errors="replace").splitlines() if l.strip()]
        timing["conntrackMs"] = round((time.monotonic() - t1) * 1000, 1)
        timing["totalMs"] = round((time.monotonic() - t0) * 1000, 1)
        out({"type": "packet", "index": idx, "ipId": ip_id, "monitors": monitors, "conntrack": ct,
             "delivered": delivered, "timing": timing})


def monitor_subscribed(pid):
    """True once process `pid` owns a NETLINK_NETFILTER socket bound to NFNLGRP_NFTRACE."""
    try:
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
        if not inodes:
            return False
        with open("/proc/%d/net/netlink" % pid) as f:
            next(f)
            for line in f:
                cols = line.split()
                # sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
                if len(cols) >= 10 and cols[1] == "12" and cols[9] in inodes and int(cols[3], 16) & NFNLGRP_NFTRACE_BIT:
                    return True
    except (OSError, StopIteration):
        return False
    return False


def cleanup(*_):
    for p in list(_children):
        try:
            p.kill()
        except Exception:
            pass


def main():
    spec = json.load(sys.stdin)
    signal.signal(signal.SIGTERM, lambda *a: (cleanup(), os._exit(143)))
    try:
        ensure_private_namespaces()
        topo = Topology(spec)
        topo.setup()
        for i, pkt in enumerate(spec.get("packets") or []):
            topo.run_packet(i, pkt)
        out({"type": "done"})
    except DriverError as e:
        out({"type": "error", "message": str(e)})
        cleanup()
        sys.exit(2)
    except Exception as e:  # noqa
        import traceback
        out({"type": "error", "message": "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())})
        cleanup()
        sys.exit(3)
    cleanup()


if __name__ == "__main__":
    main()
