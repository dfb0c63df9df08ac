// nftables rulesets for the nft differential suite, written for these tests in
// the shapes real owners use (kube-proxy nftables mode, Docker 29, firewalld,
// Calico, netavark, flannel) and mixed with iptables-nft tables. Documentation
// addresses only. Node n1: eth0 192.0.2.1/24 + 2001:db8:1::1/64 (clients),
// eth1 198.51.100.1/24 + 2001:db8:2::1/64 (pods/servers; 2001:db8:a::/64 behind
// 2001:db8:2::fe), default via 198.51.100.254 and 2001:db8:2::fe.
import type { CaseHost, CasePacket } from '../differential.ts';
import type { NftDiffCase } from '../nft-differential.ts';

export const NODE: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24', '2001:db8:1::1/64'] },
    { name: 'eth1', addresses: ['198.51.100.1/24', '2001:db8:2::1/64'] },
  ],
  routes: [
    { dst: 'default', via: '198.51.100.254', dev: 'eth1' },
    { dst: '2001:db8:a::/64', via: '2001:db8:2::fe', dev: 'eth1' },
    { dst: '::/0', via: '2001:db8:2::fe', dev: 'eth1' },
  ],
  forwarding: true,
};

/** Docker-style node: the bridge is docker0 (198.51.100.0/24), uplink eth0. */
const DOCKER: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'docker0', addresses: ['198.51.100.1/24'] },
  ],
  routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }],
  forwarding: true,
};

/** Calico-style node: workloads behind cali1234, uplink eth0. */
const CALICO: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'cali1234', addresses: ['198.51.100.1/24'] },
  ],
  routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }],
  forwarding: true,
};

/** netavark/podman: bridge podman0. */
const PODMAN: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24', '2001:db8:1::1/64'] },
    { name: 'podman0', addresses: ['198.51.100.1/24', '2001:db8:2::1/64'] },
  ],
  routes: [
    { dst: 'default', via: '192.0.2.254', dev: 'eth0' },
    { dst: '2001:db8:a::/64', via: '2001:db8:2::fe', dev: 'podman0' },
  ],
  forwarding: true,
};

/** flannel: cni0 local pods, flannel.1 towards other nodes' pods (203.0.113.0/24). */
const FLANNEL: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'cni0', addresses: ['198.51.100.1/24'] },
    { name: 'flannel.1', addresses: ['203.0.113.0/32'] },
  ],
  routes: [
    { dst: '203.0.113.128/25', via: '203.0.113.128', dev: 'flannel.1', onlink: true },
    { dst: 'default', via: '192.0.2.254', dev: 'eth0' },
  ],
  forwarding: true,
};

const C = '192.0.2.10';
const C2 = '192.0.2.77';
const ME = '192.0.2.1';
const POD = '198.51.100.20';
const C6 = '2001:db8:1::10';
const ME6 = '2001:db8:1::1';

type P = Omit<CasePacket, 'from' | 'src' | 'dst' | 'proto'>;
const tcp = (from: string, src: string, dst: string, dport: number, o: P = {}): CasePacket => ({ from, src, dst, proto: 'tcp', dport, ...o });
const udp = (from: string, src: string, dst: string, dport: number, o: P = {}): CasePacket => ({ from, src, dst, proto: 'udp', dport, ...o });
const icmp = (from: string, src: string, dst: string, o: P = {}): CasePacket => ({ from, src, dst, proto: src.includes(':') ? 'icmpv6' : 'icmp', ...o });
/** the same packet to each port */
const ports = (mk: (p: number) => CasePacket, list: number[]): CasePacket[] => list.map(mk);

// ---------------------------------------------------------------------------------
// kube-proxy nftables mode

interface KubeService {
  id: string;
  name: string;
  ip: string;
  port: number;
  proto?: 'tcp' | 'udp';
  endpoints: { ip: string; port: number }[];
  nodePort?: number;
  /** LoadBalancerSourceRanges: only these sources may use `lbIp` */
  lbIp?: string;
  sourceRanges?: string;
  /** no endpoints: 'reject' (ClusterIP) or 'drop' (external) */
}

function kubeProxy(family: 'ip' | 'ip6', svcs: KubeService[], o: { podCidr: string; serviceCidr: string; withFib?: boolean }): string {
  const A = family === 'ip' ? 'ip' : 'ip6';
  const addrType = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const loop = family === 'ip' ? '127.0.0.0/8' : '::1';
  const chains: string[] = [];
  const svcIps: string[] = [];
  const nodePorts: string[] = [];
  const noEpSvc: string[] = [];
  const noEpNp: string[] = [];
  const fw: string[] = [];
  const clusterIps: string[] = [];
  for (const s of svcs) {
    const proto = s.proto ?? 'tcp';
    const base = `${s.id}-${s.name}/${proto}/p${s.port}`;
    clusterIps.push(s.ip);
    if (s.endpoints.length === 0) {
      noEpSvc.push(`${s.ip} . ${proto} . ${s.port} : goto reject-chain`);
      if (s.nodePort) noEpNp.push(`${proto} . ${s.nodePort} : drop`);
      if (s.lbIp) noEpSvc.push(`${s.lbIp} . ${proto} . ${s.port} : drop`);
      continue;
    }
    const eps = s.endpoints.map((e) => ({ ...e, chain: `endpoint-${s.id}-${s.name}/${proto}/p${s.port}__${e.ip.replace(/:/g, '.')}/${e.port}` }));
    const vmap = eps.map((e, i) => `${i} : goto ${e.chain}`).join(', ');
    chains.push(`  chain service-${base} {
    ${A} daddr ${s.ip} ${A} saddr != ${o.podCidr} jump mark-for-masquerade
    numgen random mod ${eps.length} vmap { ${vmap} }
  }`);
    for (const e of eps) {
      const dst = family === 'ip' ? `${e.ip}:${e.port}` : `[${e.ip}]:${e.port}`;
      chains.push(`  chain ${e.chain} {
    ${A} saddr ${e.ip} jump mark-for-masquerade
    meta l4proto ${proto} dnat to ${dst}
  }`);
    }
    svcIps.push(`${s.ip} . ${proto} . ${s.port} : goto service-${base}`);
    if (s.nodePort || s.lbIp) {
      chains.push(`  chain external-${base} {
    ${A} saddr ${o.podCidr} goto service-${base} comment "short-circuit pod traffic"
    fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
    fib saddr type local goto service-${base} comment "short-circuit local traffic"
    jump mark-for-masquerade
    goto service-${base}
  }`);
      if (s.nodePort) nodePorts.push(`${proto} . ${s.nodePort} : goto external-${base}`);
      if (s.lbIp) svcIps.push(`${s.lbIp} . ${proto} . ${s.port} : goto external-${base}`);
    }
    if (s.lbIp && s.sourceRanges) {
      chains.push(`  chain firewall-${base} {
    ${A} saddr != { ${s.sourceRanges} } drop
  }`);
      fw.push(`${s.lbIp} . ${proto} . ${s.port} : goto firewall-${base}`);
    }
  }
  const els = (xs: string[]): string => (xs.length ? `\n    elements = { ${xs.join(', ')} }` : '');
  const npMatch = o.withFib === false ? `${A} daddr @nodeport-ips` : `fib daddr type local ${A} daddr != ${loop}`;
  return `table ${family} kube-proxy {
  comment "rules for kube-proxy"
  set cluster-ips {
    type ${addrType}
    comment "Active ClusterIPs"${els(clusterIps)}
  }
  set nodeport-ips {
    type ${addrType}${els(family === 'ip' ? [ME] : [ME6])}
  }
  map firewall-ips {
    type ${addrType} . inet_proto . inet_service : verdict${els(fw)}
  }
  map no-endpoint-nodeports {
    type inet_proto . inet_service : verdict${els(noEpNp)}
  }
  map no-endpoint-services {
    type ${addrType} . inet_proto . inet_service : verdict${els(noEpSvc)}
  }
  map service-ips {
    type ${addrType} . inet_proto . inet_service : verdict${els(svcIps)}
  }
  map service-nodeports {
    type inet_proto . inet_service : verdict${els(nodePorts)}
  }
  chain filter-prerouting-pre-dnat {
    type filter hook prerouting priority dstnat - 10; policy accept;
    ct state new jump firewall-check
  }
  chain filter-output-pre-dnat {
    type filter hook output priority -110; policy accept;
    ct state new jump firewall-check
  }
  chain filter-forward {
    type filter hook forward priority filter; policy accept;
    ct state new jump service-endpoints-check
    ct state new jump cluster-ips-check
  }
  chain filter-input {
    type filter hook input priority filter; policy accept;
    ct state new jump nodeport-endpoints-check
    ct state new jump service-endpoints-check
  }
  chain filter-output {
    type filter hook output priority filter; policy accept;
    ct state new jump service-endpoints-check
    ct state new jump cluster-ips-check
  }
  chain nat-prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump services
  }
  chain nat-output {
    type nat hook output priority -100; policy accept;
    jump services
  }
  chain nat-postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump masquerading
  }
  chain firewall-check {
    ${A} daddr . meta l4proto . th dport vmap @firewall-ips
  }
  chain services {
    ${A} daddr . meta l4proto . th dport vmap @service-ips
    ${npMatch} meta l4proto . th dport vmap @service-nodeports
  }
  chain service-endpoints-check {
    ${A} daddr . meta l4proto . th dport vmap @no-endpoint-services
  }
  chain nodeport-endpoints-check {
    ${npMatch} meta l4proto . th dport vmap @no-endpoint-nodeports
  }
  chain cluster-ips-check {
    ${A} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
    ${A} daddr { ${o.serviceCidr} } drop comment "Drop traffic to unallocated ClusterIPs"
  }
  chain mark-for-masquerade {
    meta mark set meta mark or 0x4000
  }
  chain masquerading {
    meta mark & 0x00004000 == 0x00000000 return
    meta mark set meta mark xor 0x4000
    masquerade fully-random
  }
  chain reject-chain {
    comment "helper for @no-endpoint-services / @no-endpoint-nodeports"
    reject
  }
${chains.join('\n')}
}
`;
}

const KUBE4: KubeService[] = [
  { id: 'ULMVA6XW', name: 'ns1/web', ip: '203.0.113.10', port: 80, endpoints: [{ ip: '198.51.100.20', port: 8080 }, { ip: '198.51.100.21', port: 8080 }], nodePort: 30080 },
  { id: '42NFTM6N', name: 'ns1/dns', ip: '203.0.113.53', port: 53, proto: 'udp', endpoints: [{ ip: '198.51.100.30', port: 5353 }] },
  { id: '4AT6LBPK', name: 'ns2/empty', ip: '203.0.113.12', port: 80, endpoints: [], nodePort: 30082 },
  { id: 'HVFWP5L3', name: 'ns3/lb', ip: '203.0.113.13', port: 443, endpoints: [{ ip: '198.51.100.40', port: 8443 }], nodePort: 30443, lbIp: '192.0.2.200', sourceRanges: '192.0.2.0/28' },
  { id: 'LAUZTJTB', name: 'ns4/three', ip: '203.0.113.14', port: 80, endpoints: [{ ip: '198.51.100.50', port: 80 }, { ip: '198.51.100.51', port: 80 }, { ip: '198.51.100.52', port: 80 }] },
];

const KUBE6: KubeService[] = [
  { id: 'Q6HQ3ZAF', name: 'ns1/web', ip: '2001:db8:5::10', port: 80, endpoints: [{ ip: '2001:db8:a::20', port: 8080 }, { ip: '2001:db8:a::21', port: 8080 }], nodePort: 30080 },
  { id: 'ZZ2B5Y3D', name: 'ns2/empty', ip: '2001:db8:5::12', port: 80, endpoints: [], nodePort: 30082 },
];

const kubeClusterIpPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, '203.0.113.10', p), [80, 80, 80, 80, 81, 443]),
  tcp('eth0', C, '203.0.113.10', 80, { repeat: 12 }),
  udp('eth0', C, '203.0.113.53', 53, { repeat: 3 }),
  udp('eth0', C, '203.0.113.53', 54),
  tcp('eth0', C, '203.0.113.53', 53),
  ...ports((p) => tcp('eth0', C, '203.0.113.12', p), [80, 81]),
  tcp('eth0', C, '203.0.113.14', 80, { repeat: 12 }),
  ...ports((p) => tcp('eth0', C, '203.0.113.99', p), [80, 22]),
  tcp('eth0', C, '203.0.113.13', 443, { repeat: 2 }),
  tcp('eth0', C, '203.0.113.13', 80),
  tcp('local', ME, '203.0.113.10', 80, { repeat: 4 }),
  tcp('local', ME, '203.0.113.12', 80),
  tcp('local', ME, '203.0.113.99', 80),
  udp('local', ME, '203.0.113.53', 53),
  tcp('eth0', C, '203.0.113.10', 80, { tcpFlags: 'ACK', repeat: 2, note: 'not new: no NAT, conntrack invalid/new-ack' }),
  icmp('eth0', C, '203.0.113.10', { repeat: 2 }),
  tcp('eth0', C, '198.51.100.9', 80, { note: 'plain forward, no service' }),
];

const kubeNodePortPackets: CasePacket[] = [
  tcp('eth0', C, ME, 30080, { repeat: 10 }),
  tcp('eth0', C2, ME, 30080, { sport: 41000, repeat: 4 }),
  tcp('eth0', C, ME, 30082, { repeat: 2 }),
  tcp('eth0', C, ME, 30443, { repeat: 2 }),
  tcp('eth0', C, ME, 30081),
  udp('eth0', C, ME, 30080),
  tcp('eth0', C, '198.51.100.1', 30080, { note: 'another local address' }),
  tcp('eth0', C, '192.0.2.2', 30080, { note: 'not local: no nodeport' }),
  tcp('local', ME, ME, 30080, { repeat: 3 }),
  tcp('local', ME, ME, 30082),
  tcp('eth1', POD, ME, 30080, { repeat: 3, note: 'pod to nodeport: short-circuit' }),
  tcp('eth0', '192.0.2.5', '192.0.2.200', 443, { repeat: 3, note: 'LB IP, allowed source' }),
  tcp('eth0', '192.0.2.50', '192.0.2.200', 443, { repeat: 2, note: 'LB IP, source outside the ranges' }),
  tcp('eth0', C, '192.0.2.200', 80),
  tcp('eth0', C, ME, 22),
];

const kubeHairpinPackets: CasePacket[] = [
  tcp('eth1', POD, '203.0.113.10', 80, { repeat: 12, note: 'endpoint to its own service: hairpin masquerade half the time' }),
  tcp('eth1', '198.51.100.21', '203.0.113.10', 80, { repeat: 8 }),
  tcp('eth1', '198.51.100.30', '203.0.113.53', 53),
  udp('eth1', '198.51.100.30', '203.0.113.53', 53, { repeat: 3 }),
  udp('eth1', POD, '203.0.113.53', 53, { repeat: 2 }),
  tcp('eth1', POD, '203.0.113.14', 80, { repeat: 6 }),
  tcp('eth1', POD, '203.0.113.12', 80),
  tcp('eth1', POD, C, 80, { note: 'pod egress, no service' }),
];

const kube6Packets: CasePacket[] = [
  tcp('eth0', C6, '2001:db8:5::10', 80, { repeat: 10 }),
  tcp('eth0', C6, '2001:db8:5::10', 81),
  tcp('eth0', C6, '2001:db8:5::12', 80, { repeat: 2 }),
  tcp('eth0', C6, '2001:db8:5::99', 80),
  tcp('eth0', C6, ME6, 30080, { repeat: 6 }),
  tcp('eth0', C6, ME6, 30082, { repeat: 2 }),
  tcp('eth0', C6, ME6, 22),
  udp('eth0', C6, '2001:db8:5::10', 80),
  icmp('eth0', C6, '2001:db8:5::10'),
  tcp('eth0', C6, '2001:db8:a::20', 8080),
];

// ---------------------------------------------------------------------------------
// Docker 29 (nftables backend, table ip docker-bridges)

const dockerBridges = `table ip docker-bridges {
  map filter-forward-in-jumps {
    type ifname : verdict
    elements = { "docker0" : jump filter-forward-in__docker0 }
  }
  map filter-forward-out-jumps {
    type ifname : verdict
    elements = { "docker0" : jump filter-forward-out__docker0 }
  }
  map nat-postrouting-in-jumps {
    type ifname : verdict
    elements = { "docker0" : jump nat-postrouting-in__docker0 }
  }
  map nat-postrouting-out-jumps {
    type ifname : verdict
    elements = { "docker0" : jump nat-postrouting-out__docker0 }
  }
  chain filter-FORWARD {
    type filter hook forward priority filter; policy accept;
    oifname vmap @filter-forward-in-jumps
    iifname vmap @filter-forward-out-jumps
  }
  chain nat-OUTPUT {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local counter jump nat-prerouting-and-output
  }
  chain nat-POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    iifname vmap @nat-postrouting-out-jumps
    oifname vmap @nat-postrouting-in-jumps
  }
  chain nat-PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump nat-prerouting-and-output
  }
  chain nat-prerouting-and-output {
    iifname != "docker0" tcp dport 8080 dnat to 198.51.100.2:80 comment "DNAT"
    iifname != "docker0" udp dport 5353 dnat to 198.51.100.3:53 comment "DNAT"
  }
  chain raw-PREROUTING {
    type filter hook prerouting priority raw; policy accept;
    ip daddr 198.51.100.2 iifname != "docker0" tcp dport 80 drop comment "DROP DIRECT ACCESS"
  }
  chain filter-forward-in__docker0 {
    ct state established,related counter accept
    iifname "docker0" counter accept comment "ICC"
    ip daddr 198.51.100.2 tcp dport 80 counter accept
    ip daddr 198.51.100.3 udp dport 53 counter accept
    counter drop comment "UNPUBLISHED PORT DROP"
  }
  chain filter-forward-out__docker0 {
    ct state established,related counter accept
    oifname "docker0" counter accept comment "ICC"
    counter accept comment "OUTGOING"
  }
  chain nat-postrouting-in__docker0 {
    iifname "docker0" fib saddr type local counter masquerade comment "MASQ TO CONTAINER"
  }
  chain nat-postrouting-out__docker0 {
    oifname != "docker0" ip saddr 198.51.100.0/24 counter masquerade comment "MASQUERADE"
  }
}
`;

const dockerPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [8080, 8080, 8080, 8081, 80]),
  udp('eth0', C, ME, 5353, { repeat: 2 }),
  udp('eth0', C, ME, 5354),
  tcp('eth0', C, '198.51.100.2', 80, { note: 'direct access to the container: raw drop' }),
  tcp('eth0', C, '198.51.100.2', 81, { note: 'unpublished port' }),
  tcp('eth0', C, '198.51.100.3', 53),
  udp('eth0', C, '198.51.100.3', 53),
  tcp('docker0', '198.51.100.2', '203.0.113.5', 443, { repeat: 3, note: 'container egress: masquerade' }),
  udp('docker0', '198.51.100.2', '203.0.113.5', 53),
  tcp('docker0', '198.51.100.2', ME, 8080, { note: 'container to published port on the host' }),
  tcp('docker0', '198.51.100.2', C, 22),
  tcp('local', ME, ME, 8080, { repeat: 2 }),
  tcp('local', ME, '198.51.100.2', 80),
  tcp('eth0', C, ME, 22),
  icmp('eth0', C, '198.51.100.2'),
  icmp('docker0', '198.51.100.2', C),
];

const iptablesForwardDrop = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -s 192.0.2.77/32 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`;

// ---------------------------------------------------------------------------------
// firewalld (inet firewalld, policy drop)

const firewalld = `table inet firewalld {
  set public-allowed {
    type inet_proto . inet_service
    elements = { tcp . 22, tcp . 443, udp . 546 }
  }
  chain filter_PREROUTING {
    type filter hook prerouting priority filter + 10; policy accept;
    icmpv6 type { nd-router-advert, nd-neighbor-solicit } accept
    meta nfproto ipv6 fib saddr . mark . iif oif missing drop
  }
  chain filter_INPUT {
    type filter hook input priority filter + 10; policy accept;
    ct state { established, related } accept
    ct status dnat accept
    iifname "lo" accept
    ct state invalid drop
    jump filter_INPUT_POLICIES
    reject with icmpx admin-prohibited
  }
  chain filter_FORWARD {
    type filter hook forward priority filter + 10; policy accept;
    ct state { established, related } accept
    ct status dnat accept
    iifname "lo" accept
    ct state invalid drop
    ip6 daddr { ::/96, ::ffff:0.0.0.0/96, 2002::/24, 2002:a00::/24, 2002:7f00::/24, 2002:a9fe::/32, 2002:ac10::/28, 2002:c0a8::/32, 2002:e000::/19 } reject with icmpv6 addr-unreachable
    jump filter_FORWARD_POLICIES
    reject with icmpx admin-prohibited
  }
  chain filter_OUTPUT {
    type filter hook output priority filter + 10; policy accept;
    ct state { established, related } accept
    oifname "lo" accept
    ip6 daddr { ::/96, ::ffff:0.0.0.0/96 } reject with icmpv6 addr-unreachable
    jump filter_OUTPUT_POLICIES
  }
  chain filter_INPUT_POLICIES {
    iifname "eth1" jump filter_IN_policy_allow-host-ipv6
    iifname "eth1" jump filter_IN_trusted
    iifname "eth1" accept
    iifname "eth0" jump filter_IN_public
    iifname "eth0" reject with icmpx admin-prohibited
    jump filter_IN_public
    reject with icmpx admin-prohibited
  }
  chain filter_FORWARD_POLICIES {
    iifname "eth1" oifname "eth1" accept
    iifname "eth1" oifname "eth0" accept
    iifname "eth0" oifname "eth1" jump filter_FWD_public
    iifname "eth0" reject with icmpx admin-prohibited
  }
  chain filter_OUTPUT_POLICIES {
    return
  }
  chain filter_IN_policy_allow-host-ipv6 {
    icmpv6 type { nd-neighbor-advert, nd-neighbor-solicit, nd-router-advert, nd-redirect } accept
  }
  chain filter_IN_trusted {
    accept
  }
  chain filter_IN_public {
    meta l4proto { icmp, ipv6-icmp } accept
    meta l4proto . th dport @public-allowed ct state new,untracked accept
    ip saddr 192.0.2.64/26 tcp dport 9090 ct state new,untracked accept
  }
  chain filter_FWD_public {
    tcp dport 80 accept
    ip6 daddr 2001:db8:a::/64 tcp dport 443 accept
  }
}
`;

const firewalldPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [22, 443, 80, 9090, 3306, 8080]),
  ...ports((p) => tcp('eth0', '192.0.2.70', ME, p), [9090, 22]),
  udp('eth0', C, ME, 546),
  udp('eth0', C, ME, 547),
  icmp('eth0', C, ME, { repeat: 2 }),
  tcp('eth0', C, ME, 22, { tcpFlags: 'ACK', note: 'not new: ct state invalid? (no conntrack entry, ACK picks up the connection)' }),
  ...ports((p) => tcp('eth1', POD, '198.51.100.1', p), [22, 80, 5432]),
  ...ports((p) => tcp('eth0', C, '198.51.100.9', p), [80, 443, 22]),
  tcp('eth1', POD, C, 443),
  udp('eth1', POD, '203.0.113.9', 53),
  ...ports((p) => tcp('eth0', C6, ME6, p), [22, 443, 80]),
  icmp('eth0', C6, ME6),
  icmp('eth0', C6, ME6, { icmpType: 135, note: 'neighbour solicitation' }),
  ...ports((p) => tcp('eth0', C6, '2001:db8:a::20', p), [80, 443, 22]),
  tcp('local', ME, C, 443),
  udp('local', ME, '203.0.113.9', 53),
];

// ---------------------------------------------------------------------------------
// Calico (nftables data plane: table ip calico, base chains at priority 0)

const calico = `table ip calico {
  set cali40all-ipam-pools {
    type ipv4_addr
    flags interval
    elements = { 198.51.100.0/24 }
  }
  set cali40masq-ipam-pools {
    type ipv4_addr
    flags interval
    elements = { 198.51.100.0/24 }
  }
  map cali-from-wl-dispatch {
    type ifname : verdict
    elements = { "cali1234" : goto cali-fw-cali1234 }
  }
  map cali-to-wl-dispatch {
    type ifname : verdict
    elements = { "cali1234" : goto cali-tw-cali1234 }
  }
  chain filter-FORWARD {
    type filter hook forward priority filter; policy accept;
    meta mark set meta mark & 0xfffeffff
    jump filter-cali-from-hep-forward
    iifname "cali*" jump filter-cali-from-wl-dispatch
    oifname "cali*" jump filter-cali-to-wl-dispatch
    meta mark & 0x00010000 == 0x00010000 accept comment "policy accepted"
    iifname "cali*" accept
    oifname "cali*" accept
  }
  chain filter-INPUT {
    type filter hook input priority filter; policy accept;
    iifname "cali*" goto filter-cali-wl-to-host
    meta mark & 0x00010000 == 0x00010000 accept
  }
  chain filter-OUTPUT {
    type filter hook output priority filter; policy accept;
    oifname "cali*" return
    meta mark & 0x00010000 == 0x00010000 accept
  }
  chain filter-cali-from-hep-forward {
    meta mark & 0x00010000 == 0x00010000 return
  }
  chain filter-cali-from-wl-dispatch {
    iifname vmap @cali-from-wl-dispatch
    drop comment "Unknown interface"
  }
  chain filter-cali-to-wl-dispatch {
    oifname vmap @cali-to-wl-dispatch
    drop comment "Unknown interface"
  }
  chain filter-cali-wl-to-host {
    jump filter-cali-from-wl-dispatch
    accept comment "Configured DefaultEndpointToHostAction"
  }
  chain cali-fw-cali1234 {
    ct state established,related accept
    ct state invalid drop
    meta mark set meta mark & 0xfffeffff
    udp dport 53 meta mark set meta mark | 0x00010000
    meta mark & 0x00010000 == 0x00010000 return
    ip daddr 203.0.113.0/24 tcp dport 443 meta mark set meta mark | 0x00010000
    meta mark & 0x00010000 == 0x00010000 return
    drop comment "Drop if no profiles matched"
  }
  chain cali-tw-cali1234 {
    ct state established,related accept
    ct state invalid drop
    meta mark set meta mark & 0xfffeffff
    ip saddr 192.0.2.0/26 tcp dport 8080 meta mark set meta mark | 0x00010000
    meta mark & 0x00010000 == 0x00010000 return
    drop comment "Drop if no profiles matched"
  }
  chain nat-POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr @cali40masq-ipam-pools ip daddr != @cali40all-ipam-pools masquerade fully-random
  }
}
`;

const calicoPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, POD, p), [8080, 8080, 80, 443]),
  tcp('eth0', '192.0.2.100', POD, 8080),
  udp('cali1234', POD, '203.0.113.53', 53, { repeat: 2 }),
  ...ports((p) => tcp('cali1234', POD, '203.0.113.5', p), [443, 80]),
  tcp('cali1234', POD, C, 443),
  tcp('cali1234', POD, ME, 10250),
  udp('cali1234', POD, ME, 53),
  tcp('eth0', C, ME, 22),
  tcp('local', ME, POD, 8080),
  tcp('local', ME, C, 443),
  tcp('eth0', C, '203.0.113.7', 80, { note: 'host forward, no workload' }),
  icmp('cali1234', POD, C),
];

// ---------------------------------------------------------------------------------
// netavark (Podman 6: table inet netavark)

const netavark = `table inet netavark {
  set podman-subnets {
    type ipv4_addr
    flags interval
    elements = { 198.51.100.0/24 }
  }
  chain INPUT {
    type filter hook input priority filter; policy accept;
    ip saddr 198.51.100.0/24 meta l4proto { tcp, udp } th dport 53 accept
  }
  chain FORWARD {
    type filter hook forward priority filter; policy accept;
    ct state invalid drop
    jump NETAVARK-ISOLATION-1
    ip daddr 198.51.100.0/24 ct state related,established accept
    ip saddr 198.51.100.0/24 accept
    ip6 daddr 2001:db8:a::/64 ct state related,established accept
    ip6 saddr 2001:db8:a::/64 accept
  }
  chain POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    meta mark & 0x00002000 == 0x00002000 meta mark set meta mark & 0xffffdfff masquerade
    ip saddr 198.51.100.0/24 jump nv_2f259bab_198_51_100_0_nm24
    ip6 saddr 2001:db8:a::/64 jump nv_2f259bab_2001_db8_a__nm64
  }
  chain PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local jump NETAVARK-HOSTPORT-DNAT
  }
  chain OUTPUT {
    type nat hook output priority -100; policy accept;
    fib daddr type local jump NETAVARK-HOSTPORT-DNAT
  }
  chain NETAVARK-ISOLATION-1 {
  }
  chain NETAVARK-HOSTPORT-DNAT {
    ip daddr != 127.0.0.0/8 tcp dport 8080 jump nv_2f259bab_198_51_100_0_nm24_dnat
    ip6 daddr != ::1 tcp dport 8080 jump nv_2f259bab_2001_db8_a__nm64_dnat
  }
  chain nv_2f259bab_198_51_100_0_nm24 {
    ip daddr 198.51.100.0/24 accept
    ip daddr 224.0.0.0/4 accept
    masquerade
  }
  chain nv_2f259bab_2001_db8_a__nm64 {
    ip6 daddr 2001:db8:a::/64 accept
    ip6 daddr ff00::/8 accept
    masquerade
  }
  chain nv_2f259bab_198_51_100_0_nm24_dnat {
    ip saddr 198.51.100.0/24 ip daddr 198.51.100.1 meta mark set meta mark | 0x2000
    fib saddr type local meta mark set meta mark | 0x2000
    meta l4proto tcp dnat ip to 198.51.100.2:80
  }
  chain nv_2f259bab_2001_db8_a__nm64_dnat {
    meta l4proto tcp dnat ip6 to [2001:db8:a::2]:80
  }
}
`;

const netavarkPackets: CasePacket[] = [
  tcp('eth0', C, ME, 8080, { repeat: 3 }),
  tcp('eth0', C, ME, 8081),
  tcp('eth0', C, '198.51.100.2', 80),
  tcp('podman0', '198.51.100.2', '203.0.113.5', 443, { repeat: 2 }),
  udp('podman0', '198.51.100.2', '198.51.100.1', 53),
  tcp('podman0', '198.51.100.2', '198.51.100.1', 22),
  tcp('podman0', '198.51.100.3', '198.51.100.1', 8080, { note: 'container to host port: mark + masquerade' }),
  tcp('local', ME, ME, 8080),
  tcp('eth0', C6, ME6, 8080, { repeat: 2 }),
  tcp('podman0', '2001:db8:a::2', C6, 443, { note: 'v6 egress from the pod prefix (via podman0)' }),
  icmp('eth0', C, '198.51.100.2'),
];

// ---------------------------------------------------------------------------------
// flannel (table ip flannel-ipv4)

const flannel = `table ip flannel-ipv4 {
  comment "rules for flanneld"
  chain postrtr {
    type nat hook postrouting priority srcnat; policy accept;
    meta mark & 0x04000000 == 0x04000000 return
    ip saddr 198.51.100.0/24 ip daddr 203.0.113.128/25 return
    ip saddr 203.0.113.128/25 ip daddr 198.51.100.0/24 return
    ip saddr != 198.51.100.0/24 ip daddr 198.51.100.0/24 return
    ip saddr 198.51.100.0/24 ip daddr != 224.0.0.0/4 masquerade fully-random
    ip saddr != 198.51.100.0/24 ip daddr 198.51.100.0/24 masquerade fully-random
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr 198.51.100.0/24 accept
    ip daddr 198.51.100.0/24 accept
  }
}
`;

const iptablesKubeForward = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
COMMIT
`;

const flannelPackets: CasePacket[] = [
  tcp('cni0', POD, '203.0.113.130', 80, { repeat: 2, note: 'pod to remote pod over flannel.1' }),
  tcp('flannel.1', '203.0.113.130', POD, 8080, { repeat: 2 }),
  tcp('cni0', POD, '203.0.113.5', 443, { repeat: 2, note: 'pod to the world: masquerade (remote pods are .128/25)' }),
  udp('cni0', POD, '192.0.2.53', 53),
  tcp('eth0', C, POD, 80, { repeat: 2 }),
  tcp('eth0', C, '203.0.113.131', 80),
  tcp('eth0', C, '203.0.113.5', 80, { note: 'transit: FORWARD policy DROP' }),
  tcp('cni0', POD, '198.51.100.21', 80, { note: 'pod to pod on the bridge (routed back out cni0)' }),
  tcp('local', ME, POD, 80),
  tcp('cni0', POD, '203.0.113.5', 443, { mark: 0x4000000, note: 'marked: no masquerade' }),
];

// ---------------------------------------------------------------------------------
// mixes: iptables-nft tables next to native ones

const mixPriorities = `table inet early {
  chain input {
    type filter hook input priority filter - 10; policy accept;
    tcp dport 23 drop
    tcp dport 22 accept comment "accept ends only this base chain"
    tcp dport 8000-8999 meta mark set 0x00000042
  }
  chain forward {
    type filter hook forward priority -10; policy accept;
    ip saddr 192.0.2.64/26 tcp dport 80 accept
  }
}
table inet late {
  chain input {
    type filter hook input priority filter + 10; policy accept;
    tcp dport 22 ip saddr != 192.0.2.0/28 drop
    meta mark 0x00000042 tcp dport 8443 drop
  }
  chain forward {
    type filter hook forward priority 10; policy drop;
    tcp dport { 80, 443 } accept
  }
}
`;

const iptablesMixFilter = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 8000:8999 -j ACCEPT
-A FORWARD -s 192.0.2.64/26 -j DROP
-A FORWARD -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
`;

const mixPrioritiesPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [22, 23, 24, 8080, 8443, 8999, 9000]),
  ...ports((p) => tcp('eth0', '192.0.2.20', ME, p), [22, 8443]),
  ...ports((p) => tcp('eth0', C, '198.51.100.9', p), [80, 443, 22]),
  ...ports((p) => tcp('eth0', '192.0.2.70', '198.51.100.9', p), [80, 443, 8080]),
  udp('eth0', C, ME, 53),
  tcp('local', ME, C, 22),
];

const natMixNft = `table ip natfirst {
  chain pre {
    type nat hook prerouting priority dstnat - 10; policy accept;
    tcp dport 8080 dnat to 198.51.100.10:80
  }
}
table inet natsame {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 9090 dnat ip to 198.51.100.12:80
    tcp dport 9091 counter
  }
  chain post {
    type nat hook postrouting priority srcnat + 10; policy accept;
    oifname "eth1" ip daddr 198.51.100.0/24 snat ip to 198.51.100.1
  }
}
`;

const iptablesNat = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.11:80
-A PREROUTING -p tcp -m tcp --dport 9090 -j DNAT --to-destination 198.51.100.13:80
-A PREROUTING -p tcp -m tcp --dport 9091 -j DNAT --to-destination 198.51.100.14:80
-A POSTROUTING -o eth1 -p tcp -m tcp --dport 80 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT
COMMIT
`;

const natMixPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [8080, 8080, 9090, 9090, 9091, 9092]),
  tcp('eth0', C, '198.51.100.9', 80),
  tcp('eth0', C, '198.51.100.9', 8080),
  udp('eth0', C, ME, 8080),
];

const rawNotrack = `table inet raw-like {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    udp dport 53 notrack
    tcp dport 7000 notrack
  }
}
table ip filt {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state untracked udp dport 53 accept
    ct state new tcp dport { 22, 7000 } accept
    ct state untracked counter
  }
  chain nat-pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 7000 dnat to 192.0.2.1:22
    udp dport 53 dnat to 192.0.2.1:5353
  }
}
`;

const rawNotrackPackets: CasePacket[] = [
  udp('eth0', C, ME, 53, { repeat: 2 }),
  udp('eth0', C, ME, 54),
  tcp('eth0', C, ME, 7000, { repeat: 2 }),
  tcp('eth0', C, ME, 22),
  tcp('eth0', C, ME, 23),
  icmp('eth0', C, ME),
];

const marks = `table ip mangle-like {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    iifname "eth0" tcp dport 443 meta mark set 0x00000001
    iifname "eth0" udp dport 53 meta mark set meta mark | 0x00000010
    meta mark 0x00000001 ct mark set 0x00000007
  }
  chain out {
    type route hook output priority mangle; policy accept;
    tcp dport 25 meta mark set 0x00000099
  }
}
table inet filtering {
  chain fw {
    type filter hook forward priority filter; policy accept;
    meta mark 0x00000001 ct mark 0x00000007 accept
    meta mark & 0x00000010 == 0x00000010 drop
    meta mark 0x00000005 reject with tcp reset
  }
  chain out {
    type filter hook output priority filter; policy accept;
    meta mark 0x00000099 drop
  }
}
`;

const marksPackets: CasePacket[] = [
  tcp('eth0', C, '198.51.100.9', 443, { repeat: 2 }),
  udp('eth0', C, '198.51.100.9', 53),
  udp('eth0', C, '198.51.100.9', 53, { mark: 0x10 }),
  tcp('eth0', C, '198.51.100.9', 80, { mark: 0x5 }),
  tcp('eth0', C, '198.51.100.9', 80, { mark: 0x4 }),
  tcp('eth0', C, '198.51.100.9', 22),
  tcp('local', ME, '198.51.100.9', 25),
  tcp('local', ME, '198.51.100.9', 587),
  tcp('local', ME, '198.51.100.9', 443, { mark: 0x1 }),
];

const setsConcat = `table inet sets {
  set allowed {
    type ipv4_addr . inet_service
    flags interval
    elements = { 192.0.2.0/28 . 22, 192.0.2.64/26 . 80-90, 192.0.2.10 . 443 }
  }
  set blocked6 {
    type ipv6_addr
    flags interval
    elements = { 2001:db8:1::100-2001:db8:1::1ff }
  }
  map port-to-chain {
    type inet_service : verdict
    elements = { 8080 : jump web, 5432 : goto db, 6379 : drop }
  }
  chain input {
    type filter hook input priority 0; policy drop;
    ip saddr . tcp dport @allowed accept
    ip6 saddr @blocked6 drop
    tcp dport vmap @port-to-chain
    ip6 nexthdr ipv6-icmp accept
    meta l4proto icmp icmp type echo-request accept
  }
  chain web {
    ip saddr 192.0.2.0/25 accept
    ip6 saddr 2001:db8:1::/64 accept
  }
  chain db {
    ip saddr 192.0.2.10 accept
    reject with icmp port-unreachable
  }
}
`;

const setsPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [22, 80, 443, 8080, 5432, 6379, 25]),
  ...ports((p) => tcp('eth0', '192.0.2.70', ME, p), [22, 80, 85, 91, 8080, 5432]),
  ...ports((p) => tcp('eth0', '192.0.2.200', ME, p), [8080, 443]),
  icmp('eth0', C, ME),
  icmp('eth0', C, ME, { icmpType: 13 }),
  ...ports((p) => tcp('eth0', C6, ME6, p), [8080, 22, 6379]),
  ...ports((p) => tcp('eth0', '2001:db8:1::150', ME6, p), [8080, 22]),
  icmp('eth0', C6, ME6),
  icmp('eth0', '2001:db8:1::150', ME6),
];

const ifaceVmaps = `table inet zones {
  map zone-in {
    type ifname : verdict
    elements = { "eth0" : jump zone-public, "eth1" : jump zone-trusted }
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname vmap @zone-in
    iifname "eth*" log prefix "dropped " counter
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname . oifname { "eth1" . "eth0", "eth0" . "eth1" } jump fwd-checks
  }
  chain fwd-checks {
    ip daddr 198.51.100.0/25 tcp dport { 80, 443 } accept
    ip daddr 198.51.100.128/25 return
    oifname "eth0" accept
  }
  chain zone-public {
    tcp dport 22 jump ssh
    udp dport 123 accept
    icmp type echo-request accept
  }
  chain zone-trusted {
    accept
  }
  chain ssh {
    ip saddr 192.0.2.0/28 return
    ip saddr 192.0.2.0/24 accept
    drop
  }
}
`;

const ifaceVmapPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [22, 80]),
  tcp('eth0', '192.0.2.50', ME, 22),
  udp('eth0', C, ME, 123),
  udp('eth0', C, ME, 124),
  icmp('eth0', C, ME),
  ...ports((p) => tcp('eth1', POD, '198.51.100.1', p), [22, 5000]),
  ...ports((p) => tcp('eth0', C, '198.51.100.9', p), [80, 443, 22]),
  ...ports((p) => tcp('eth0', C, '198.51.100.200', p), [80, 443]),
  tcp('eth1', POD, C, 8080),
  tcp('eth1', POD, '203.0.113.7', 443, { note: 'eth1 to eth1 (default route): not a zone pair' }),
];

const outputPath = `table inet host-out {
  chain output {
    type filter hook output priority filter; policy accept;
    oifname "lo" accept
    ip daddr 203.0.113.0/24 tcp dport 25 reject with tcp reset
    ip daddr 198.51.100.0/24 udp dport 53 accept
    meta l4proto udp drop
    tcp dport 443 goto https-out
  }
  chain https-out {
    ip daddr 192.0.2.0/24 drop
  }
  chain nat-out {
    type nat hook output priority -100; policy accept;
    ip daddr 203.0.113.53 udp dport 53 dnat to 198.51.100.53
  }
  chain nat-post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth1" ip saddr 192.0.2.1 snat ip to 198.51.100.1
  }
}
`;

const outputPackets: CasePacket[] = [
  tcp('local', ME, '203.0.113.9', 25),
  tcp('local', ME, '203.0.113.9', 587),
  udp('local', ME, '198.51.100.53', 53),
  udp('local', ME, '203.0.113.53', 53, { repeat: 2 }),
  udp('local', ME, '203.0.113.54', 53),
  tcp('local', ME, C, 443),
  tcp('local', ME, '198.51.100.9', 443),
  tcp('local', '198.51.100.1', '198.51.100.9', 443),
  icmp('local', ME, '198.51.100.9'),
];

const ipv6Only = `table ip6 v6filter {
  chain input {
    type filter hook input priority 0; policy drop;
    icmpv6 type { echo-request, nd-neighbor-solicit, nd-neighbor-advert } accept
    tcp dport { 22, 80 } accept
    ip6 saddr 2001:db8:1::/120 udp dport 53 accept
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip6 daddr 2001:db8:a::/64 tcp dport != 443 drop
    ip6 daddr 2001:db8:a::/64 jump fwd-log
  }
  chain fwd-log {
    log prefix "v6fwd "
    return
  }
}
table ip6 v6nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8443 dnat to [2001:db8:a::20]:443
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip6 saddr 2001:db8:1::/64 oifname "eth1" masquerade
  }
}
`;

const ipv6Packets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C6, ME6, p), [22, 80, 8443, 8444, 443]),
  udp('eth0', C6, ME6, 53),
  udp('eth0', '2001:db8:1::1000', ME6, 53),
  icmp('eth0', C6, ME6),
  icmp('eth0', C6, ME6, { icmpType: 129 }),
  ...ports((p) => tcp('eth0', C6, '2001:db8:a::20', p), [443, 80]),
  tcp('eth0', C6, '2001:db8:a::20', 443, { repeat: 2 }),
];

const ip6tablesFilter = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 80 -j DROP
-A FORWARD -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
`;

const jumpsDeep = `table ip deep {
  chain input {
    type filter hook input priority 0; policy accept;
    jump l1
    tcp dport 1 drop
  }
  chain l1 {
    tcp dport 2 return
    jump l2
    tcp dport 3 accept
  }
  chain l2 {
    tcp dport 3 goto l3
    tcp dport 4 drop
    tcp dport 5 jump l3
    udp dport 6 accept
  }
  chain l3 {
    tcp dport 3 return
    tcp dport 5 accept
    drop
  }
}
table ip after {
  chain input {
    type filter hook input priority 5; policy accept;
    tcp dport { 1, 2, 3 } counter
    udp dport 6 drop
  }
}
`;

const jumpsPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [1, 2, 3, 4, 5, 7]),
  udp('eth0', C, ME, 6),
  udp('eth0', C, ME, 8),
];

const kubeWithIptables = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A CNI-FORWARD -d 198.51.100.50/32 -j DROP
-A CNI-FORWARD -d 198.51.100.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;

const rejects = `table inet rej {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 1 reject with tcp reset
    tcp dport 2 reject
    udp dport 3 reject with icmp port-unreachable
    udp dport 4 reject with icmpx admin-prohibited
    meta nfproto ipv6 udp dport 5 reject with icmpv6 addr-unreachable
    tcp dport 6 ct state new counter drop
    tcp dport 8 log prefix "eight " accept
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip daddr 198.51.100.66 reject with icmp host-prohibited
    ip6 daddr 2001:db8:a::66 reject with icmpv6 admin-prohibited
    tcp dport 9 reject with tcp reset
  }
}
`;

const rejectPackets: CasePacket[] = [
  ...ports((p) => tcp('eth0', C, ME, p), [1, 2, 6, 7, 8, 9, 10]),
  ...ports((p) => udp('eth0', C, ME, p), [2, 3, 4, 5, 6]),
  ...ports((p) => tcp('eth0', C6, ME6, p), [1, 2, 7, 8]),
  ...ports((p) => udp('eth0', C6, ME6, p), [3, 4, 5]),
  ...ports((p) => tcp('eth0', C, '198.51.100.66', p), [80, 443]),
  ...ports((p) => tcp('eth0', C, '198.51.100.67', p), [9, 80]),
  ...ports((p) => tcp('eth0', C6, '2001:db8:a::66', p), [80, 9]),
  tcp('eth0', C6, '2001:db8:a::67', 9),
  icmp('eth0', C, '198.51.100.66'),
];

export const NFT_CASES: NftDiffCase[] = [
  { name: 'kube-proxy nftables: ClusterIP, no endpoints, invalid port, unallocated', nft: kubeProxy('ip', KUBE4, { podCidr: '198.51.100.0/24', serviceCidr: '203.0.113.0/24' }), host: NODE, packets: kubeClusterIpPackets },
  { name: 'kube-proxy nftables: NodePort via fib daddr type local, LoadBalancer source ranges', nft: kubeProxy('ip', KUBE4, { podCidr: '198.51.100.0/24', serviceCidr: '203.0.113.0/24' }), host: NODE, packets: kubeNodePortPackets },
  { name: 'kube-proxy nftables: hairpin masquerade from endpoints', nft: kubeProxy('ip', KUBE4, { podCidr: '198.51.100.0/25', serviceCidr: '203.0.113.0/24' }), host: NODE, packets: kubeHairpinPackets },
  { name: 'kube-proxy nftables: NodePort via @nodeport-ips (older kube-proxy)', nft: kubeProxy('ip', KUBE4.slice(0, 3), { podCidr: '198.51.100.0/24', serviceCidr: '203.0.113.0/24', withFib: false }), host: NODE, packets: kubeNodePortPackets.slice(0, 10) },
  { name: 'kube-proxy nftables: IPv6 table', nft: kubeProxy('ip6', KUBE6, { podCidr: '2001:db8:a::/64', serviceCidr: '2001:db8:5::/112' }), host: NODE, packets: kube6Packets },
  { name: 'kube-proxy nftables next to an iptables-nft CNI FORWARD chain', nft: kubeProxy('ip', KUBE4, { podCidr: '198.51.100.0/24', serviceCidr: '203.0.113.0/24' }), iptables: kubeWithIptables, host: NODE, packets: [...kubeClusterIpPackets.slice(0, 12), tcp('eth0', C, '203.0.113.14', 80, { repeat: 9 })] },
  { name: 'Docker 29 docker-bridges: published ports, ICC, masquerade', nft: dockerBridges, host: DOCKER, packets: dockerPackets },
  { name: 'Docker 29 docker-bridges with iptables-nft FORWARD policy DROP', nft: dockerBridges, iptables: iptablesForwardDrop, host: DOCKER, packets: [...dockerPackets, tcp('eth0', C2, ME, 8080, { repeat: 2 })] },
  { name: 'firewalld: inet firewalld zones, reject and policy', nft: firewalld, host: NODE, packets: firewalldPackets },
  { name: 'Calico: table ip calico at priority 0, workload dispatch by mark', nft: calico, host: CALICO, packets: calicoPackets },
  { name: 'Calico next to iptables-nft filter at the same priority', nft: calico, iptables: iptablesForwardDrop.replace(/docker0/g, 'cali1234'), host: CALICO, packets: calicoPackets },
  { name: 'netavark: inet netavark, host port DNAT and masquerade, dual stack', nft: netavark, host: PODMAN, packets: netavarkPackets },
  { name: 'flannel: flannel-ipv4 masquerade and forward', nft: flannel, host: FLANNEL, packets: flannelPackets },
  { name: 'flannel next to kube-proxy iptables-nft FORWARD policy DROP', nft: flannel, iptables: iptablesKubeForward, host: FLANNEL, packets: flannelPackets },
  { name: 'priorities: native -10 / +10 around iptables-nft filter INPUT DROP policy', nft: mixPriorities, iptables: iptablesMixFilter, host: NODE, packets: mixPrioritiesPackets },
  { name: 'nat: the first nat chain that binds wins (native -110, inet -100, iptables-nft -100)', nft: natMixNft, iptables: iptablesNat, host: NODE, packets: natMixPackets },
  { name: 'notrack in a raw-priority chain: ct state untracked, nat skipped', nft: rawNotrack, host: NODE, packets: rawNotrackPackets },
  { name: 'marks: meta mark / ct mark set in mangle-priority chains, matched later', nft: marks, host: NODE, packets: marksPackets },
  { name: 'sets: concatenated intervals, IPv6 ranges, verdict map jump/goto/drop', nft: setsConcat, host: NODE, packets: setsPackets },
  { name: 'interface verdict maps and iifname . oifname sets', nft: ifaceVmaps, host: NODE, packets: ifaceVmapPackets },
  { name: 'output path: reject, goto, nat output and snat for local packets', nft: outputPath, host: NODE, packets: outputPackets },
  { name: 'IPv6 native tables next to ip6tables-nft', nft: ipv6Only, ip6tables: ip6tablesFilter, host: NODE, packets: ipv6Packets },
  { name: 'nested jump / goto / return across chains and a second base chain', nft: jumpsDeep, host: NODE, packets: jumpsPackets },
  { name: 'reject variants and log', nft: rejects, host: NODE, packets: rejectPackets },
];
