// The simulator's inputs: the packet a user asks about (validation, defaults),
// the host file in its two formats, and ipset contents (`ipset save` / `ipset list`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressType,
  buildHost,
  formatIp,
  lookupRoute,
  packetToJson,
  parseIp,
  parseIpsets,
  validatePacket,
  type Host,
  type PacketInput,
} from '../../src/netfilter/index.ts';
import { setContains } from '../../src/netfilter/pipeline/ipset.ts';
import { copyPacket, PACKET_OPTIONAL_FIELDS, type Packet } from '../../src/netfilter/pipeline/packet.ts';
import { PKT, only, table, trace } from '../support/sim.ts';

// ---------------------------------------------------------------- packets

const BAD: [string, Partial<PacketInput> & Record<string, unknown>, RegExp][] = [
  ['source is not an IP address', { src: '203.0.113.300' }, /src "203\.0\.113\.300" is not an IP address/],
  ['destination is not an IP address', { dst: 'node-1' }, /dst "node-1" is not an IP address/],
  // inet_aton spellings ipaddr.js would accept as another address: 1.2.0.3, 8.0.0.1, 192.168.1.1.
  ['source in three parts', { src: '1.2.3' }, /src "1\.2\.3" is not an IP address/],
  ['destination with a leading zero (octal to inet_aton)', { dst: '010.0.0.1' }, /dst "010\.0\.0\.1" is not an IP address/],
  ['destination as one 32-bit number', { dst: '3232235777' }, /dst "3232235777" is not an IP address/],
  ['destination in hex parts', { dst: '0x7f.0.0.1' }, /dst "0x7f\.0\.0\.1" is not an IP address/],
  ['IPv6 destination with a zone', { src: '2001:db8::7', dst: 'fe80::1%eth0' }, /dst "fe80::1%eth0" is not an IP address/],
  ['source and destination of different families', { dst: '2001:db8::1' }, /same address family/],
  ['destination port above 65535', { dport: 70000 }, /dport must be a port in 1\.\.65535, not 70000/],
  ['port 0 (reserved)', { dport: 0 }, /dport must be a port in 1\.\.65535, not 0/],
  ['negative source port', { sport: -1 }, /sport must be a port in 1\.\.65535/],
  ['fractional port', { dport: 80.5 }, /dport must be a port/],
  ['unknown protocol name', { protocol: 'tcpx' }, /unknown protocol "tcpx"/],
  ['protocol number above 255', { protocol: '300' }, /unknown protocol "300"/],
  ['ports on a protocol without ports', { protocol: 'icmp' }, /sport given, but icmp has no ports/],
  ['both an in-interface and local', { local: true }, /either arrives on an interface or is sent locally, not both/],
  ['neither an in-interface nor local', { inInterface: undefined }, /say where the packet comes from/],
  ['an in-interface name with a space', { inInterface: 'eth 0' }, /"eth 0" is not an interface name/],
  ['an in-interface name longer than 15 characters', { inInterface: 'averyveryverylongname' }, /not an interface name/],
  ['unknown conntrack state', { state: 'OPEN' as never }, /state must be one of NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED, not "OPEN"/],
  ['unknown conntrack status flag', { ctStatus: ['SEEN'] }, /unknown conntrack status "SEEN"/],
  ['mark that is not a number', { mark: 'high' }, /mark must be a 32-bit number/],
  ['mark above 32 bits', { mark: 0x1_0000_0000 }, /mark must be a 32-bit number/],
  ['connmark that is not a number', { connmark: '0xzz' }, /connmark must be a 32-bit number/],
  ['ICMP type above 255', { protocol: 'icmp', sport: undefined, dport: undefined, icmpType: 256 }, /icmpType must be in 0\.\.255/],
  ['unknown TCP flag', { tcpFlags: 'SYN,PUSH' }, /unknown TCP flag "PUSH"/],
];

for (const [name, over, msg] of BAD) {
  test(`bad packet: ${name}`, () => {
    const input: Record<string, unknown> = { ...PKT, ...over };
    for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
    const r = validatePacket(input as unknown as PacketInput);
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.errors.some((e) => msg.test(e)), `errors ${JSON.stringify(r.errors)} should match ${msg}`);
  });
}

test('bad packet: every problem is reported, not just the first', () => {
  const r = validatePacket({ src: 'x', dst: 'y', protocol: 'nope', dport: 99999, inInterface: 'eth0' });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.errors.length, 4, r.errors.join('\n'));
});

const GOOD: [string, PacketInput, Record<string, unknown>][] = [
  ['defaults: state NEW, mark 0, TTL 64, TCP flags SYN', PKT, { state: 'NEW', mark: 0, connmark: 0, ttl: 64, tos: 0, fragment: false, tcpFlags: 0x02, family: 'ipv4', protoNum: 6 }],
  ['an ESTABLISHED TCP packet defaults to ACK', { ...PKT, state: 'ESTABLISHED' }, { state: 'ESTABLISHED', tcpFlags: 0x10 }],
  ['TCP flags as a list', { ...PKT, tcpFlags: ['syn', 'ack'] }, { tcpFlags: 0x12 }],
  ['TCP flags NONE', { ...PKT, tcpFlags: 'NONE' }, { tcpFlags: 0 }],
  ['a mark as hex text', { ...PKT, mark: '0x4000', connmark: 7 }, { mark: 0x4000, connmark: 7 }],
  ['ICMP defaults to an echo request', { src: '203.0.113.7', dst: '192.0.2.1', protocol: 'ICMP', inInterface: 'eth0' }, { protocol: 'icmp', icmpType: 8, icmpCode: 0 }],
  ['icmp on IPv6 is ipv6-icmp, echo request 128', { src: '2001:db8::7', dst: '2001:db8::1', protocol: 'icmp', inInterface: 'eth0' }, { family: 'ipv6', protocol: 'ipv6-icmp', protoNum: 58, icmpType: 128 }],
  ['protocol icmpv6', { src: '2001:db8::7', dst: '2001:db8::1', protocol: 'icmpv6', inInterface: 'eth0' }, { protocol: 'ipv6-icmp' }],
  ['protocol number 6 is tcp', { ...PKT, protocol: '6' }, { protocol: 'tcp', protoNum: 6, tcpFlags: 0x02 }],
  ['protocol number 17 is udp', { ...PKT, protocol: '17' }, { protocol: 'udp', protoNum: 17 }],
  ['an unnamed protocol number stays a number', { src: '203.0.113.7', dst: '192.0.2.1', protocol: '253', inInterface: 'eth0' }, { protocol: '253', protoNum: 253 }],
  ['local: no in-interface', { src: '192.0.2.1', dst: '203.0.113.7', protocol: 'udp', sport: 5353, dport: 53, local: true }, { inInterface: null, outInterface: null }],
];

for (const [name, input, want] of GOOD) {
  test(`packet: ${name}`, () => {
    const r = validatePacket(input);
    assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
    if (!r.ok) return;
    for (const [k, v] of Object.entries(want)) assert.deepEqual((r.packet as unknown as Record<string, unknown>)[k], v, k);
  });
}

test('packet: missing ports are noted, and rules that test them fork', () => {
  const r = validatePacket({ src: '203.0.113.7', dst: '192.0.2.1', protocol: 'udp', inInterface: 'eth0' });
  assert.ok(r.ok);
  if (r.ok) assert.deepEqual(r.notes, ['source port not given: rules that test it fork', 'destination port not given: rules that test it fork']);
});

test('packet JSON: addresses as text, marks in hex, interfaces', () => {
  const r = validatePacket({ ...PKT, mark: 16384 });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.deepEqual(packetToJson(r.packet), {
    src: '203.0.113.7', dst: '192.0.2.1', sport: 40000, dport: 80, protocol: 'tcp', mark: '0x4000', connmark: '0x0', state: 'NEW', inInterface: 'eth0', outInterface: null,
  });
});

test('copyPacket: the same fields, in the same order, as a spread copy; optional fields only when set', () => {
  const full = validatePacket({ ...PKT, icmpType: 3, icmpCode: 1, tcpFlags: 'SYN', uid: 1000, gid: 100, length: 60, mark: 1, connmark: 2, ttl: 9, tos: 4, state: 'NEW' });
  const bare = validatePacket({ src: '192.0.2.9', dst: '198.51.100.1', protocol: 'gre', inInterface: 'eth1' });
  assert.ok(full.ok && bare.ok);
  if (!full.ok || !bare.ok) return;
  const nat: Packet = { ...full.packet, sportRandomized: true, sportRange: '1024-65535', dportRandomized: true, dportRange: '8080-8081' };
  for (const p of [full.packet, bare.packet, nat]) {
    const c = copyPacket(p);
    assert.notEqual(c, p);
    assert.deepEqual(Object.entries(c), Object.entries({ ...p }));
  }
  // Every optional field is carried (the list is checked against Packet's type at compile time).
  for (const k of PACKET_OPTIONAL_FIELDS) assert.ok(k in nat && k in copyPacket(nat), k);
  assert.deepEqual(Object.keys(copyPacket(bare.packet)).filter((k) => (PACKET_OPTIONAL_FIELDS as readonly string[]).includes(k)), []);
});

// ---------------------------------------------------------------- host file: the contract's JSON

const CONTRACT_HOST = {
  interfaces: [{ name: 'eth0', addresses: ['192.168.0.2/24'] }],
  routes: [
    { dst: 'default', via: '192.168.0.1', dev: 'eth0' },
    { dst: '10.244.1.0/24', via: '10.244.1.0', dev: 'flannel.1' },
  ],
  forwarding: true,
};

function hostOf(input: unknown): Host {
  const r = buildHost(input);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
  return (r as { host: Host }).host;
}

const route = (h: Host, dst: string): string => {
  const r = lookupRoute(h, parseIp(dst)!);
  return r ? `${r.type}${r.dev ? ` dev ${r.dev}` : ''}${r.via ? ` via ${formatIp(r.via)}` : ''}` : 'none';
};

test('host file (contract JSON): interfaces, routes, forwarding; loopback added', () => {
  const r = buildHost(CONTRACT_HOST);
  assert.ok(r.ok);
  if (!r.ok) return;
  const h = r.host;
  assert.deepEqual(r.warnings, []);
  assert.equal(h.known, true);
  assert.deepEqual(h.forwarding, { ipv4: true, ipv6: true });
  assert.deepEqual(h.interfaces.map((i) => i.name), ['lo', 'eth0']);
  assert.equal(route(h, '192.168.0.2'), 'local dev eth0');
  assert.equal(route(h, '127.0.0.53'), 'local dev lo');
  assert.equal(route(h, '192.168.0.255'), 'broadcast dev eth0');
  assert.equal(route(h, '192.168.0.77'), 'unicast dev eth0');
  assert.equal(route(h, '10.244.1.5'), 'unicast dev flannel.1 via 10.244.1.0');
  assert.equal(route(h, '8.8.8.8'), 'unicast dev eth0 via 192.168.0.1');
});

test('host file (contract JSON): the simulator uses it to route', () => {
  const dump = table('filter', []);
  const pod = only(trace(dump, { src: '192.168.0.50', dst: '10.244.1.5', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' }, { host: CONTRACT_HOST }));
  assert.equal(pod.disposition, 'FORWARDED');
  assert.equal(pod.packet['outInterface'], 'flannel.1');
  assert.deepEqual(pod.assumptions, []);
});

const HOST_ERRORS: [string, unknown, RegExp][] = [
  ['not an object', [1, 2], /must be a JSON object/],
  ['an interface without a name', { interfaces: [{ addresses: ['192.0.2.1/24'] }] }, /every interface needs a "name"/],
  ['an address that is not an address', { interfaces: [{ name: 'eth0', addresses: ['192.0.2.300/24'] }] }, /interface eth0: "192\.0\.2\.300\/24" is not an address\/prefix/],
  ['a route without dst', { routes: [{ via: '192.0.2.254' }] }, /every route needs a "dst"/],
  ['a route with a bad gateway', { routes: [{ dst: 'default', via: 'gw' }] }, /bad gateway "gw"/],
  ['a route with a bad destination', { routes: [{ dst: '192.0.2.0/33' }] }, /"192\.0\.2\.0\/33" is not a destination/],
  ['a route of an unknown type', { routes: [{ dst: '192.0.2.0/24', type: 'anycastish' }] }, /unknown type "anycastish"/],
];

for (const [name, input, msg] of HOST_ERRORS) {
  test(`bad host file: ${name}`, () => {
    const r = buildHost(input);
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.errors.some((e) => msg.test(e)), JSON.stringify(r.errors));
  });
}

test('host file: forwarding per family; missing forwarding is off, with a warning', () => {
  assert.deepEqual(hostOf({ forwarding: { ipv4: true } }).forwarding, { ipv4: true, ipv6: false });
  assert.deepEqual(hostOf({ forwarding: false, forwarding6: true }).forwarding, { ipv4: false, ipv6: true });
  const r = buildHost({ interfaces: [] });
  assert.ok(r.ok);
  if (r.ok) {
    assert.deepEqual(r.host.forwarding, { ipv4: false, ipv6: false });
    assert.ok(r.warnings.some((w) => /forwarding/.test(w)));
    assert.ok(r.host.assumptions.some((w) => /forwarding/.test(w)));
  }
});

test('host file: routes pick the longest prefix, then the lowest metric; local addresses first', () => {
  const h = hostOf({
    interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }],
    routes: [
      { dst: 'default', via: '192.0.2.254', dev: 'eth0' },
      { dst: '203.0.113.0/24', via: '198.51.100.2', dev: 'eth1', metric: 20 },
      { dst: '203.0.113.0/24', via: '198.51.100.3', dev: 'eth1', metric: 10 },
      { dst: '203.0.113.64/26', type: 'blackhole' },
      { dst: '192.0.2.1/32', via: '198.51.100.9', dev: 'eth1' },
    ],
    forwarding: true,
  });
  assert.equal(route(h, '203.0.113.9'), 'unicast dev eth1 via 198.51.100.3');
  assert.equal(route(h, '203.0.113.65'), 'blackhole');
  assert.equal(route(h, '192.0.2.1'), 'local dev eth0');
  assert.equal(route(h, '198.51.100.255'), 'broadcast dev eth1');
});

test('host: addrtype view of addresses (LOCAL / BROADCAST / MULTICAST / UNICAST, per interface)', () => {
  const h = hostOf(CONTRACT_HOST);
  const t = (ip: string, dev?: string) => addressType(h, parseIp(ip)!, dev);
  assert.equal(t('192.168.0.2'), 'LOCAL');
  assert.equal(t('192.168.0.2', 'eth0'), 'LOCAL');
  assert.equal(t('192.168.0.2', 'flannel.1'), 'UNICAST');
  assert.equal(t('127.0.0.1'), 'LOCAL');
  assert.equal(t('192.168.0.255'), 'BROADCAST');
  assert.equal(t('255.255.255.255'), 'BROADCAST');
  assert.equal(t('239.1.1.1'), 'MULTICAST');
  assert.equal(t('10.244.1.5'), 'UNICAST');
});

// ---------------------------------------------------------------- host file: `ip -j addr` + `ip -j route`

// Real output of `ip -j addr show` / `ip -j route show` / `ip -6 -j route show` (iproute2, a network namespace).
const IP_J = {
  addr: [
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, qdisc: 'noqueue', operstate: 'UNKNOWN', group: 'default', txqlen: 1000, link_type: 'loopback', address: '00:00:00:00:00:00', broadcast: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo', valid_life_time: 4294967295, preferred_life_time: 4294967295 }, { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host', valid_life_time: 4294967295, preferred_life_time: 4294967295 }] },
    { ifindex: 3, link: 'p0', ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, qdisc: 'noqueue', operstate: 'UP', group: 'default', txqlen: 1000, link_type: 'ether', address: '26:0f:63:6d:fd:eb', broadcast: 'ff:ff:ff:ff:ff:ff', addr_info: [{ family: 'inet', local: '192.0.2.1', prefixlen: 24, scope: 'global', label: 'eth0', valid_life_time: 4294967295, preferred_life_time: 4294967295 }, { family: 'inet6', local: '2001:db8::1', prefixlen: 64, scope: 'global', nodad: true, valid_life_time: 4294967295, preferred_life_time: 4294967295 }, { family: 'inet6', local: 'fe80::240f:63ff:fe6d:fdeb', prefixlen: 64, scope: 'link', tentative: true, valid_life_time: 4294967295, preferred_life_time: 4294967295 }] },
    { ifindex: 5, link: 'p1', ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, qdisc: 'noqueue', operstate: 'UP', group: 'default', txqlen: 1000, link_type: 'ether', address: '36:9d:ca:56:a1:9d', broadcast: 'ff:ff:ff:ff:ff:ff', addr_info: [{ family: 'inet', local: '198.51.100.1', prefixlen: 24, scope: 'global', label: 'eth1', valid_life_time: 4294967295, preferred_life_time: 4294967295 }, { family: 'inet6', local: 'fe80::349d:caff:fe56:a19d', prefixlen: 64, scope: 'link', tentative: true, valid_life_time: 4294967295, preferred_life_time: 4294967295 }] },
  ],
  route: [
    { dst: 'default', gateway: '192.0.2.254', dev: 'eth0', flags: [] },
    { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.1', flags: [] },
    { type: 'unreachable', dst: '198.18.0.0/15', flags: [] },
    { dst: '198.51.100.0/24', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: '198.51.100.1', flags: [] },
    { dst: '203.0.113.0/25', gateway: '198.51.100.254', dev: 'eth1', metric: 100, flags: [] },
    { type: 'blackhole', dst: '203.0.113.128/25', flags: [] },
    // ip -6 -j route show
    { dst: '2001:db8::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
    { dst: 'fe80::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
    { dst: 'default', gateway: '2001:db8::fffe', dev: 'eth0', metric: 1024, flags: [], pref: 'medium' },
  ],
};

test('host file (ip -j addr / ip -j route): interfaces with their addresses and MACs', () => {
  const h = hostOf(IP_J);
  assert.deepEqual(h.interfaces.map((i) => [i.name, i.addresses.map((a) => a.text)]), [
    ['lo', ['127.0.0.1/8', '::1/128']],
    ['eth0', ['192.0.2.1/24', '2001:db8::1/64', 'fe80::240f:63ff:fe6d:fdeb/64']],
    ['eth1', ['198.51.100.1/24', 'fe80::349d:caff:fe56:a19d/64']],
  ]);
  assert.equal(h.interfaces[1]!.mac, '26:0f:63:6d:fd:eb');
});

test('host file (ip -j addr / ip -j route): routes by type, gateway, metric; IPv4 and IPv6 defaults', () => {
  const h = hostOf(IP_J);
  assert.equal(route(h, '192.0.2.1'), 'local dev eth0');
  assert.equal(route(h, '192.0.2.99'), 'unicast dev eth0');
  assert.equal(route(h, '203.0.113.5'), 'unicast dev eth1 via 198.51.100.254');
  assert.equal(route(h, '203.0.113.200'), 'blackhole');
  assert.equal(route(h, '198.19.1.1'), 'unreachable');
  assert.equal(route(h, '8.8.8.8'), 'unicast dev eth0 via 192.0.2.254');
  assert.equal(route(h, '2001:db8::1'), 'local dev eth0');
  assert.equal(route(h, '2001:db8::99'), 'unicast dev eth0');
  assert.equal(route(h, '2001:db8:ffff::1'), 'unicast dev eth0 via 2001:db8::fffe');
});

test('host file: a gatewayless `default dev X` is IPv4 unless the route says inet6 (as the agent tags `ip -6 route` entries)', () => {
  const h = hostOf({
    ...IP_J,
    route: [
      { dst: 'default', dev: 'eth1', flags: [] },
      { dst: 'default', dev: 'eth0', family: 'inet6', flags: [] },
    ],
  });
  assert.equal(route(h, '8.8.8.8'), 'unicast dev eth1');
  assert.equal(route(h, '2001:db8:ffff::1'), 'unicast dev eth0');
});

test('host file (ip -j addr / ip -j route): no forwarding sysctl in it, so forwarding is assumed off and said so', () => {
  const r = buildHost(IP_J);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.deepEqual(r.host.forwarding, { ipv4: false, ipv6: false });
  const o = only(trace(table('filter', []), { ...PKT, dst: '198.51.100.9' }, { host: IP_J as never }));
  assert.equal(o.disposition, 'NO_ROUTE');
  assert.match(o.reason, /forwarding/);
  assert.ok(o.assumptions.some((a) => /forwarding/.test(a)));
  const blackholed = only(trace(table('filter', []), { ...PKT, dst: '203.0.113.200' }, { host: { ...IP_J, forwarding: true } as never }));
  assert.equal(blackholed.disposition, 'NO_ROUTE');
  assert.match(blackholed.reason, /blackhole/);
});

test('host file: both formats in one file are merged', () => {
  const h = hostOf({ ...CONTRACT_HOST, addr: IP_J.addr.slice(1, 2), route: IP_J.route.slice(4, 5) });
  assert.deepEqual(h.interfaces.map((i) => i.name), ['lo', 'eth0']);
  assert.deepEqual(h.interfaces[1]!.addresses.map((a) => a.text), ['192.168.0.2/24', '192.0.2.1/24', '2001:db8::1/64', 'fe80::240f:63ff:fe6d:fdeb/64']);
  assert.equal(route(h, '203.0.113.5'), 'unicast dev eth1 via 198.51.100.254');
  assert.equal(route(h, '10.244.1.5'), 'unicast dev flannel.1 via 10.244.1.0');
});

// ---------------------------------------------------------------- ipsets

// Real `ipset save` / `ipset list` output (ipset 7.17, a network namespace).
const IPSET_SAVE = `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x3607e621
add KUBE-CLUSTER-IP 203.0.113.53,udp:53
add KUBE-CLUSTER-IP 203.0.113.10,tcp:80
add KUBE-CLUSTER-IP 203.0.113.54,tcp:53
create ALLOW6 hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x84abe302
add ALLOW6 2001:db8:ffff::/48
add ALLOW6 2001:db8:ffff:1::/64 nomatch
create TEMP hash:ip family inet hashsize 1024 maxelem 65536 timeout 300 comment bucketsize 12 initval 0x1fdf3264
add TEMP 192.0.2.7 timeout 299 comment "blocked: scanner"
create RANGE bitmap:port range 0-1024
add RANGE 22
`;

const IPSET_LIST = `Name: KUBE-CLUSTER-IP
Type: hash:ip,port
Revision: 7
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x3607e621
Size in memory: 360
References: 0
Number of entries: 3
Members:
203.0.113.53,udp:53
203.0.113.10,tcp:80
203.0.113.54,tcp:53

Name: ALLOW6
Type: hash:net
Revision: 7
Header: family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x84abe302
Size in memory: 1384
References: 0
Number of entries: 2
Members:
2001:db8:ffff::/48
2001:db8:ffff:1::/64 nomatch

Name: TEMP
Type: hash:ip
Revision: 6
Header: family inet hashsize 1024 maxelem 65536 timeout 300 comment bucketsize 12 initval 0x1fdf3264
Size in memory: 329
References: 0
Number of entries: 1
Members:
192.0.2.7 timeout 299 comment "blocked: scanner"

Name: RANGE
Type: bitmap:port
Revision: 3
Header: range 0-1024
Size in memory: 208
References: 0
Number of entries: 1
Members:
22
`;

for (const [format, text] of [['ipset save', IPSET_SAVE], ['ipset list', IPSET_LIST]] as const) {
  test(`${format}: sets, types, dimensions and elements`, () => {
    const { sets, warnings } = parseIpsets(text);
    assert.deepEqual(warnings, []);
    assert.deepEqual([...sets.keys()], ['KUBE-CLUSTER-IP', 'ALLOW6', 'TEMP', 'RANGE']);
    assert.deepEqual(
      [...sets.values()].map((s) => [s.type, s.dimensions.join(','), s.members.length]),
      [['hash:ip,port', 'ip,port', 3], ['hash:net', 'net', 2], ['hash:ip', 'ip', 1], ['bitmap:port', 'port', 1]],
    );
    assert.deepEqual(sets.get('ALLOW6')!.members, [{ parts: ['2001:db8:ffff::/48'] }, { parts: ['2001:db8:ffff:1::/64'], nomatch: true }]);
    assert.deepEqual(sets.get('TEMP')!.members, [{ parts: ['192.0.2.7'] }]);
  });

  test(`${format}: membership (ip,port with protocol; nomatch; bitmap:port for any protocol)`, () => {
    const { sets } = parseIpsets(text);
    const has = (set: string, values: { ip?: string; port?: number; protocol?: string }[]) =>
      setContains(sets.get(set)!, values.map((v) => ({ ...(v.ip ? { ip: parseIp(v.ip)! } : {}), ...(v.port !== undefined ? { port: v.port } : {}), ...(v.protocol ? { protocol: v.protocol } : {}) })));
    assert.equal(has('KUBE-CLUSTER-IP', [{ ip: '203.0.113.10' }, { port: 80, protocol: 'tcp' }]), true);
    assert.equal(has('KUBE-CLUSTER-IP', [{ ip: '203.0.113.10' }, { port: 80, protocol: 'udp' }]), false);
    assert.equal(has('KUBE-CLUSTER-IP', [{ ip: '203.0.113.53' }, { port: 53, protocol: 'udp' }]), true);
    assert.equal(has('KUBE-CLUSTER-IP', [{ ip: '203.0.113.54' }, { port: 53, protocol: 'udp' }]), false);
    assert.equal(has('ALLOW6', [{ ip: '2001:db8:ffff:2::1' }]), true);
    assert.equal(has('ALLOW6', [{ ip: '2001:db8:ffff:1::1' }]), false, 'the nomatch /64 inside the /48');
    assert.equal(has('ALLOW6', [{ ip: '192.0.2.7' }]), false);
    assert.equal(has('TEMP', [{ ip: '192.0.2.7' }]), true);
    assert.equal(has('TEMP', [{ ip: '192.0.2.8' }]), false);
    assert.equal(has('RANGE', [{ port: 22, protocol: 'udp' }]), true);
    assert.equal(has('RANGE', [{ port: 23, protocol: 'tcp' }]), false);
  });
}

test('ipset: "add" to a set that was never created is a warning', () => {
  const { sets, warnings } = parseIpsets('add GHOST 192.0.2.1\n');
  assert.equal(sets.size, 0);
  assert.deepEqual(warnings, ['ipset: "add" to unknown set GHOST']);
});

test('ipset: a port written without a protocol in a hash:ip,port is TCP', () => {
  const { sets } = parseIpsets('create S hash:ip,port\nadd S 192.0.2.1,53\n');
  const s = sets.get('S')!;
  assert.equal(setContains(s, [{ ip: parseIp('192.0.2.1')! }, { port: 53, protocol: 'tcp' }]), true);
  assert.equal(setContains(s, [{ ip: parseIp('192.0.2.1')! }, { port: 53, protocol: 'udp' }]), false);
});

test('ipset: ranges as elements', () => {
  const { sets } = parseIpsets('create R hash:net\nadd R 192.0.2.10-192.0.2.20\n');
  assert.equal(setContains(sets.get('R')!, [{ ip: parseIp('192.0.2.15')! }]), true);
  assert.equal(setContains(sets.get('R')!, [{ ip: parseIp('192.0.2.21')! }]), false);
});

test('host file: ipsets as `ipset save` text or as name -> elements, used by -m set', () => {
  const dump = table('filter', ['-A INPUT -m set --match-set ALLOW6 src -j ACCEPT', '-A INPUT -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT'], { INPUT: 'DROP' });
  const withSave = { ...CONTRACT_HOST, ipsets: IPSET_SAVE };
  const a = only(trace(dump, { src: '192.168.0.50', dst: '203.0.113.10', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' }, { host: { ...withSave, routes: [...CONTRACT_HOST.routes, { dst: '203.0.113.10/32', type: 'local', dev: 'eth0' }] } }));
  assert.deepEqual(a.events, ['filter/INPUT#2:ACCEPT']);
  const withRecord = { ...CONTRACT_HOST, ipsets: { BLOCK: ['192.168.0.0/24'] } };
  const b = only(trace(table('filter', '-A INPUT -m set --match-set BLOCK src -j DROP'), { src: '192.168.0.50', dst: '192.168.0.2', protocol: 'tcp', sport: 40000, dport: 22, inInterface: 'eth0' }, { host: withRecord }));
  assert.deepEqual(b.events, ['filter/INPUT#1:DROP']);
});
