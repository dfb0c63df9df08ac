// Small hand-written rulesets, one per match or target, on documentation
// addresses. Node n1: eth0 192.0.2.1/24 (clients), eth1 198.51.100.1/24 (servers).
import type { CaseHost, DiffCase } from '../differential.ts';

export const ROUTER: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'eth1', addresses: ['198.51.100.1/24'] },
  ],
  routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }],
  forwarding: true,
};

const filter = (rules: string, policies = { INPUT: 'ACCEPT', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' }, chains: string[] = []): string =>
  ['*filter', `:INPUT ${policies.INPUT} [0:0]`, `:FORWARD ${policies.FORWARD} [0:0]`, `:OUTPUT ${policies.OUTPUT} [0:0]`, ...chains.map((c) => `:${c} - [0:0]`), rules.trim(), 'COMMIT', ''].join('\n');

const C = '192.0.2.10';
const S = '198.51.100.10';
const ME = '192.0.2.1';

export const TARGETED: DiffCase[] = [
  {
    name: 'filter basics: protocol, ports, interfaces, policies',
    dump: filter(`
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p udp -m udp --sport 53 -j ACCEPT
-A INPUT -s 192.0.2.128/25 -j DROP
-A FORWARD -i eth0 -o eth1 -p tcp -m tcp --dport 443 -j ACCEPT
-A FORWARD ! -i eth0 -j ACCEPT
-A OUTPUT -o eth1 -p udp -j DROP
`, { INPUT: 'DROP', FORWARD: 'DROP', OUTPUT: 'ACCEPT' }),
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 22 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 23 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', sport: 53, dport: 5000 },
      { from: 'eth0', src: '192.0.2.200', dst: ME, proto: 'udp', sport: 53, dport: 5000 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 443 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth1', src: S, dst: C, proto: 'tcp', sport: 443, dport: 40000 },
      { from: 'local', src: ME, dst: S, proto: 'udp', dport: 53 },
      { from: 'local', src: ME, dst: S, proto: 'tcp', dport: 80 },
    ],
  },
  {
    name: 'jump, goto and RETURN',
    dump: filter(`
-A INPUT -p tcp -j TCPIN
-A INPUT -p udp -g UDPIN
-A INPUT -j ACCEPT
-A TCPIN -p tcp -m tcp --dport 80 -j RETURN
-A TCPIN -p tcp -m tcp --dport 81 -j SUB
-A TCPIN -j DROP
-A SUB -p tcp -m tcp --sport 1000 -j RETURN
-A SUB -j ACCEPT
-A UDPIN -p udp -m udp --dport 53 -j RETURN
-A UDPIN -p udp -m udp --dport 54 -g SUB
-A UDPIN -p udp -m udp --dport 55 -j ACCEPT
`, { INPUT: 'DROP', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' }, ['SUB', 'TCPIN', 'UDPIN']),
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 81 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', sport: 1000, dport: 81 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 82 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 53 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 54 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', sport: 1000, dport: 54 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 55 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 56 },
      { from: 'eth0', src: C, dst: ME, proto: 'icmp' },
    ],
  },
  {
    name: 'DNAT, SNAT, MASQUERADE and REDIRECT',
    dump: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.20:80
-A PREROUTING -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j REDIRECT --to-ports 53
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8443 -j DNAT --to-destination 198.51.100.21
-A OUTPUT -d 203.0.113.5/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.22:8080
-A POSTROUTING -s 192.0.2.0/24 -o eth1 -p udp -j SNAT --to-source 198.51.100.99
-A POSTROUTING -s 192.0.2.0/24 -o eth1 -j MASQUERADE
COMMIT
`,
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8080 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8443 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 5353 },
      { from: 'eth0', src: C, dst: S, proto: 'udp', dport: 53 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 22 },
      { from: 'eth1', src: S, dst: C, proto: 'tcp', dport: 22 },
      { from: 'local', src: '198.51.100.1', dst: '203.0.113.5', proto: 'tcp', dport: 80 },
      { from: 'local', src: '198.51.100.1', dst: '203.0.113.6', proto: 'tcp', dport: 80 },
    ],
  },
  {
    name: 'marks: MARK set/or/xor/and, mark match with masks, CONNMARK',
    dump: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j MARK --or-mark 0x4000
-A PREROUTING -p tcp -m tcp --dport 81 -j MARK --set-mark 0x1234/0xff00
-A PREROUTING -p tcp -m tcp --dport 82 -j MARK --set-xmark 0x8001/0xffffffff
-A PREROUTING -m mark --mark 0x4000/0x4000 -j MARK --xor-mark 0x4001
-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark
-A PREROUTING -m mark --mark 0x8001 -j MARK --and-mark 0xff
-A FORWARD -m mark ! --mark 0x0/0xffff -j CONNMARK --set-mark 0x7
-A FORWARD -m connmark --mark 0x7 -j CONNMARK --restore-mark
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m mark --mark 0x4001 -j ACCEPT
-A FORWARD -m mark --mark 0x1200/0xff00 -j ACCEPT
-A FORWARD -m connmark --mark 0x7 -j ACCEPT
-A INPUT -m mark --mark 0x1 -j DROP
COMMIT
`,
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 81 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 82 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 83 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 83, mark: 0x10000 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 80 },
    ],
  },
  {
    name: 'conntrack and state: NEW, DNAT, ctorigdst, INVALID',
    dump: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.20:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate NEW -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -m conntrack --ctstate DNAT --ctorigdst 192.0.2.1/32 -j LOG --log-prefix "dnat "
-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT
-A FORWARD -m conntrack ! --ctstate NEW -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW --ctproto tcp --ctorigdstport 443 -j ACCEPT
COMMIT
`,
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 22 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 23 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8080 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 443 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 444 },
    ],
  },
  {
    name: 'routing: no route, blackhole, unreachable, forwarding off, TTL',
    dump: filter(`
-A FORWARD -j ACCEPT
-A INPUT -p icmp -j ACCEPT
`),
    host: {
      interfaces: ROUTER.interfaces,
      routes: [
        { dst: '203.0.113.0/25', type: 'blackhole' },
        { dst: '203.0.113.128/25', type: 'unreachable' },
      ],
      forwarding: true,
    },
    packets: [
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: '203.0.113.5', proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: '203.0.113.200', proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: '198.18.0.1', proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80, ttl: 1 },
      { from: 'eth0', src: ME, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: '127.0.0.1', dst: ME, proto: 'icmp' },
    ],
  },
  {
    name: 'forwarding off',
    dump: filter(`
-A FORWARD -j ACCEPT
-A INPUT -j ACCEPT
`),
    host: { ...ROUTER, forwarding: false },
    packets: [
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: '198.51.100.1', proto: 'tcp', dport: 80 },
    ],
  },
  {
    name: 'statistic random: kube-proxy style 1/3, 1/2, rest',
    dump: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SEP-A - [0:0]
:SEP-B - [0:0]
:SEP-C - [0:0]
:SVC - [0:0]
-A PREROUTING -d 203.0.113.80/32 -p tcp -m tcp --dport 80 -j SVC
-A SEP-A -p tcp -m tcp -j DNAT --to-destination 198.51.100.11:8080
-A SEP-B -p tcp -m tcp -j DNAT --to-destination 198.51.100.12:8080
-A SEP-C -p tcp -m tcp -j DNAT --to-destination 198.51.100.13:8080
-A SVC -m statistic --mode random --probability 0.33333333349 -j SEP-A
-A SVC -m statistic --mode random --probability 0.50000000000 -j SEP-B
-A SVC -j SEP-C
COMMIT
`,
    host: ROUTER,
    packets: [{ from: 'eth0', src: C, dst: '203.0.113.80', proto: 'tcp', dport: 80, repeat: 60, note: 'statistic' }],
  },
];

/** More matches and targets: raw NOTRACK, local-to-local over lo, REDIRECT in OUTPUT, icmp, multiport, iprange, addrtype, nth statistic. */
TARGETED.push(
  {
    name: 'raw NOTRACK/CT --notrack skip nat; UNTRACKED state',
    dump: `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j NOTRACK
-A PREROUTING -p tcp -m tcp --dport 8081 -j CT --notrack
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8081 -j DNAT --to-destination 198.51.100.20:80
-A PREROUTING -p udp -m udp --dport 53 -j DNAT --to-destination 198.51.100.20:53
-A PREROUTING -p tcp -m tcp --dport 8082 -j DNAT --to-destination 198.51.100.20:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
-A FORWARD -m state --state NEW -j ACCEPT
COMMIT
`,
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 53 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8081 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8082 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8083 },
    ],
  },
  {
    name: 'local to local over lo, REDIRECT in OUTPUT, OUTPUT DNAT reroute',
    dump: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -d 203.0.113.53/32 -p udp -m udp --dport 53 -j REDIRECT --to-ports 5353
-A OUTPUT -d 192.0.2.1/32 -p tcp -m tcp --dport 9000 -j DNAT --to-destination 198.51.100.30:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -p udp -m udp --dport 5353 -j ACCEPT
-A INPUT -i lo -m conntrack --ctstate NEW -p tcp -m tcp --dport 22 -j ACCEPT
-A OUTPUT -o eth1 -p tcp -m tcp --dport 80 -j LOG --log-prefix "out80 "
COMMIT
`,
    host: ROUTER,
    packets: [
      { from: 'local', src: ME, dst: ME, proto: 'tcp', dport: 22 },
      { from: 'local', src: ME, dst: ME, proto: 'tcp', dport: 23 },
      { from: 'local', src: '198.51.100.1', dst: '203.0.113.53', proto: 'udp', dport: 53 },
      { from: 'local', src: ME, dst: ME, proto: 'tcp', dport: 9000 },
      { from: 'local', src: '198.51.100.1', dst: S, proto: 'tcp', dport: 80 },
    ],
  },
  {
    name: 'icmp types, multiport, iprange, addrtype, length-free matches',
    dump: filter(`
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 13 -j DROP
-A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT
-A INPUT -p udp -m multiport ! --dports 53,123 -j DROP
-A INPUT -m iprange --src-range 192.0.2.100-192.0.2.120 -j DROP
-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -p udp -j ACCEPT
-A INPUT -m addrtype --dst-type BROADCAST -j ACCEPT
-A FORWARD -m addrtype ! --dst-type LOCAL -j ACCEPT
`, { INPUT: 'DROP', FORWARD: 'DROP', OUTPUT: 'ACCEPT' }),
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'icmp', icmpType: 8 },
      { from: 'eth0', src: C, dst: ME, proto: 'icmp', icmpType: 13 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 443 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8050 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 9000 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 123 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 5000 },
      { from: 'eth0', src: '192.0.2.110', dst: ME, proto: 'tcp', dport: 22 },
      { from: 'eth0', src: C, dst: '198.51.100.1', proto: 'udp', dport: 123 },
      { from: 'eth0', src: C, dst: '192.0.2.255', proto: 'udp', dport: 123 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
    ],
  },
  {
    name: 'statistic nth every 3',
    dump: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 203.0.113.80/32 -p tcp -m tcp --dport 80 -m statistic --mode nth --every 3 --packet 0 -j DNAT --to-destination 198.51.100.11:80
-A PREROUTING -d 203.0.113.80/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.12:80
COMMIT
`,
    host: ROUTER,
    packets: [{ from: 'eth0', src: C, dst: '203.0.113.80', proto: 'tcp', dport: 80, repeat: 30, note: 'nth' }],
  },
);

/** Cases where the simulator once disagreed with the kernel: ipsets, SET, TPROXY, NAT ranges, route_localnet. */
const IPSETS = [
  'create ALLOW hash:net family inet hashsize 1024 maxelem 65536',
  'add ALLOW 192.0.2.0/28',
  'create PORTS hash:ip,port family inet hashsize 1024 maxelem 65536',
  'add PORTS 192.0.2.1,tcp:8080',
  'create EMPTY hash:ip family inet hashsize 1024 maxelem 65536',
  'create SEEN hash:ip family inet hashsize 1024 maxelem 65536',
  'create LIST list:set size 8',
  'add LIST EMPTY',
  'add LIST ALLOW',
  'create LIST2 list:set size 8',
  'add LIST2 PORTS',
  '',
].join('\n');

TARGETED.push(
  {
    name: 'list:set membership through member sets, and SET then --match-set on the same packet',
    dump: filter(`
-A INPUT -p tcp -m tcp --dport 22 -m set --match-set LIST src -j ACCEPT
-A INPUT -p tcp -m tcp --dport 23 -m set ! --match-set LIST src -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -m set --match-set LIST2 dst,dst -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -m set --match-set LIST2 dst -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m udp --dport 53 -j SET --add-set SEEN src
-A INPUT -p udp -m udp --dport 53 -m set --match-set SEEN src -j ACCEPT
-A INPUT -p udp -m udp --dport 54 -j SET --add-set LIST src
-A INPUT -p udp -m udp --dport 54 -m set --match-set EMPTY src -j ACCEPT
-A INPUT -p udp -m udp --dport 55 -j SET --del-set ALLOW src
-A INPUT -p udp -m udp --dport 55 -m set ! --match-set LIST src -j ACCEPT
`, { INPUT: 'DROP', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' }),
    host: { ...ROUTER, ipsets: IPSETS },
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 22 },
      { from: 'eth0', src: '192.0.2.100', dst: ME, proto: 'tcp', dport: 22 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 23 },
      { from: 'eth0', src: '192.0.2.100', dst: ME, proto: 'tcp', dport: 23 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8080 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 53 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 54 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 55 },
      { from: 'eth0', src: '192.0.2.100', dst: ME, proto: 'udp', dport: 55 },
    ],
  },
  {
    name: 'TPROXY without a transparent socket: the kernel drops',
    dump: `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 15001 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1
-A PREROUTING -p udp -m udp --dport 53 -j TPROXY --on-port 15053 --tproxy-mark 0x2/0x2
COMMIT
`,
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 53 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 81 },
    ],
  },
  {
    name: 'NAT to port and address ranges: ports in range kept, addresses by the kernel hash',
    dump: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 9000:9020 -j DNAT --to-destination 198.51.100.20:9000-9010
-A PREROUTING -d 192.0.2.1/32 -p udp -m udp --dport 7000:7010 -j REDIRECT --to-ports 7003-7005
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 198.51.100.40-198.51.100.47
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8001 -j DNAT --to-destination 198.51.100.40-198.51.100.47:80
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8002 -j DNAT --to-destination 198.51.100.40-198.51.100.47 --persistent
-A POSTROUTING -o eth1 -p udp -m udp --dport 5000 -j SNAT --to-source 198.51.100.60-198.51.100.69
-A POSTROUTING -o eth1 -p udp -m udp --dport 5001 -j SNAT --to-source 198.51.100.70:20000-20010
-A POSTROUTING -o eth1 -p udp -m udp --dport 5002 -j MASQUERADE --to-ports 30000-30010
-A POSTROUTING -o eth1 -p udp -m udp --dport 5003 -j SNAT --to-source 192.0.2.0-192.0.2.255
COMMIT
`,
    host: ROUTER,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 9005 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 9015 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 7004 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 7000 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8000 },
      { from: 'eth0', src: '192.0.2.11', dst: ME, proto: 'tcp', dport: 8000 },
      { from: 'eth0', src: '192.0.2.12', dst: ME, proto: 'tcp', dport: 8001 },
      { from: 'eth0', src: '192.0.2.13', dst: ME, proto: 'tcp', dport: 8002 },
      { from: 'eth0', src: C, dst: S, proto: 'udp', dport: 5000 },
      { from: 'eth0', src: '192.0.2.77', dst: S, proto: 'udp', dport: 5000 },
      { from: 'eth0', src: C, dst: S, proto: 'udp', sport: 20004, dport: 5001 },
      { from: 'eth0', src: C, dst: S, proto: 'udp', sport: 40000, dport: 5001 },
      { from: 'eth0', src: C, dst: S, proto: 'udp', sport: 30007, dport: 5002 },
      { from: 'eth0', src: C, dst: S, proto: 'udp', sport: 40000, dport: 5002 },
      { from: 'eth0', src: C, dst: S, proto: 'udp', dport: 5003 },
    ],
  },
  {
    name: 'route_localnet on: 127.0.0.1 from eth0 reaches INPUT',
    dump: filter(`
-A INPUT -d 127.0.0.0/8 -p tcp -m tcp --dport 80 -j ACCEPT
`, { INPUT: 'DROP', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' }),
    host: { ...ROUTER, routeLocalnet: true },
    packets: [
      { from: 'eth0', src: C, dst: '127.0.0.1', proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: '127.0.0.1', proto: 'tcp', dport: 81 },
    ],
  },
  {
    name: 'route_localnet off: 127.0.0.1 from eth0 is a martian',
    dump: filter(`
-A INPUT -d 127.0.0.0/8 -p tcp -m tcp --dport 80 -j ACCEPT
`, { INPUT: 'DROP', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' }),
    host: { ...ROUTER, routeLocalnet: false },
    packets: [{ from: 'eth0', src: C, dst: '127.0.0.1', proto: 'tcp', dport: 80 }],
  },
);

/** The IPv6 twin of ROUTER: eth0 2001:db8:0:1::1/64 (clients), eth1 2001:db8:0:2::1/64 (servers). */
export const ROUTER6: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['2001:db8:0:1::1/64'] },
    { name: 'eth1', addresses: ['2001:db8:0:2::1/64'] },
  ],
  routes: [{ dst: 'default', via: '2001:db8:0:2::fffe', dev: 'eth1' }],
  forwarding: true,
};

const C6 = '2001:db8:0:1::7';
const ME6 = '2001:db8:0:1::1';

/**
 * The state conntrack gives ICMP and ICMPv6 without a known connection. A state
 * shows in the events: NEW is DNATed (nat/PREROUTING rule event) and accepted
 * by INPUT rule 1, UNTRACKED skips nat and is accepted by rule 2, INVALID skips
 * nat and is dropped by rule 3. The raw rules show that before conntrack (raw)
 * every packet is INVALID, also the ones conntrack then leaves untracked.
 */
const ctStateRules = (family: 'ipv4' | 'ipv6'): string => `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -m conntrack --ctstate UNTRACKED -j DROP
-A PREROUTING -m conntrack --ctstate INVALID
-A OUTPUT -m conntrack --ctstate INVALID
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
${family === 'ipv4' ? '-A PREROUTING -p icmp -j DNAT --to-destination 198.51.100.1' : '-A PREROUTING -p ipv6-icmp -j DNAT --to-destination 2001:db8:0:2::1'}
${family === 'ipv4' ? '-A OUTPUT -p icmp -j DNAT --to-destination 198.51.100.99' : '-A OUTPUT -p ipv6-icmp -j DNAT --to-destination 2001:db8:0:2::99'}
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate NEW -j ACCEPT
-A OUTPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
COMMIT
`;

TARGETED.push(
  {
    name: 'ICMPv6 conntrack states: echo request NEW, unsolicited reply INVALID, ND/MLD UNTRACKED (nat skipped), errors INVALID',
    family: 'ipv6',
    dump: ctStateRules('ipv6'),
    host: ROUTER6,
    packets: [
      { from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6', icmpType: 128 },
      { from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6', icmpType: 129 },
      ...[130, 131, 132, 133, 134, 135, 136, 143].map((icmpType) => ({ from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6' as const, icmpType })),
      { from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6', icmpType: 139 },
      { from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6', icmpType: 140 },
      { from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6', icmpType: 137 },
      { from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6', icmpType: 1, icmpCode: 4 },
      { from: 'eth0', src: C6, dst: ME6, proto: 'icmpv6', icmpType: 2 },
      { from: 'local', src: ME6, dst: C6, proto: 'icmpv6', icmpType: 136, note: 'local neighbour advertisement: untracked, nat OUTPUT skipped' },
      { from: 'local', src: ME6, dst: C6, proto: 'icmpv6', icmpType: 129, note: 'local unsolicited echo reply: INVALID' },
    ],
  },
  {
    name: 'TCP and UDP over IPv6: NEW, INVALID RST, forwarded to a neighbour and via the gateway, local',
    family: 'ipv6',
    dump: ctStateRules('ipv6'),
    host: ROUTER6,
    packets: [
      { from: 'eth0', src: C6, dst: ME6, proto: 'tcp', dport: 22 },
      { from: 'eth0', src: C6, dst: ME6, proto: 'tcp', dport: 22, tcpFlags: 'RST' },
      { from: 'eth0', src: C6, dst: ME6, proto: 'udp', dport: 53 },
      { from: 'eth0', src: C6, dst: '2001:db8:0:2::10', proto: 'udp', dport: 53 },
      { from: 'eth0', src: C6, dst: '2001:db8:ff::5', proto: 'tcp', dport: 443 },
      { from: 'eth0', src: C6, dst: '2001:db8:ff::5', proto: 'tcp', dport: 443, ttl: 1 },
      { from: 'local', src: '2001:db8:0:2::1', dst: '2001:db8:0:2::10', proto: 'udp', dport: 53 },
    ],
  },
  {
    name: 'ICMP conntrack states: requests NEW, unsolicited replies, errors and unknown types INVALID',
    dump: ctStateRules('ipv4'),
    host: ROUTER,
    packets: [
      ...[8, 13, 15, 17].map((icmpType) => ({ from: 'eth0', src: C, dst: ME, proto: 'icmp' as const, icmpType })),
      ...[0, 14, 16, 18, 9, 10, 19, 42].map((icmpType) => ({ from: 'eth0', src: C, dst: ME, proto: 'icmp' as const, icmpType })),
      { from: 'eth0', src: C, dst: ME, proto: 'icmp', icmpType: 3, icmpCode: 3 },
      { from: 'eth0', src: C, dst: ME, proto: 'icmp', icmpType: 11 },
      { from: 'local', src: ME, dst: C, proto: 'icmp', icmpType: 0, note: 'local unsolicited echo reply: INVALID, nat OUTPUT skipped' },
    ],
  },
);
