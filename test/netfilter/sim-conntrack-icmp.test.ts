// The conntrack state the kernel gives an ICMP or ICMPv6 packet that belongs to
// no known connection (nf_conntrack_proto_icmp.c, nf_conntrack_proto_icmpv6.c):
// requests open a connection (NEW), replies and errors without one are INVALID,
// and ICMPv6 neighbour discovery and MLD are never tracked (UNTRACKED: nat is
// skipped). The kernel-differential case "ICMP and ICMPv6 conntrack states"
// checks the same rows against the real kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceCluster, validatePacket, type ClusterNode, type HostFile, type PacketInput } from '../../src/netfilter/index.ts';
import { HOST, HOST6, eventKey, host, only, parse, show, table, trace } from '../support/sim.ts';

/** HOST6 with a connected route only: 2001:db8:0:2::/64 is on eth1. */
const HOST6_ROUTER: HostFile = { ...HOST6, routes: [] };

type Family = 'ipv4' | 'ipv6';
type State = 'NEW' | 'INVALID' | 'UNTRACKED';

const RULES = (family: Family): string =>
  table('nat', `-A PREROUTING -j DNAT --to-destination ${family === 'ipv4' ? '198.51.100.1' : '2001:db8:0:2::1'}`) +
  table('filter', ['-A INPUT -m conntrack --ctstate NEW -j ACCEPT', '-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT', '-A INPUT -m conntrack --ctstate INVALID -j DROP']);

const PACKET: Record<Family, PacketInput> = {
  ipv4: { src: '192.0.2.7', dst: '192.0.2.1', protocol: 'icmp', inInterface: 'eth0' },
  ipv6: { src: '2001:db8:0:1::7', dst: '2001:db8:0:1::1', protocol: 'icmpv6', inInterface: 'eth0' },
};

/** What each state makes of RULES: NEW is DNATed (nat runs), the others skip nat. */
const EXPECT: Record<State, { events: string[]; dst: Record<Family, string>; disposition: string }> = {
  NEW: { events: ['nat/PREROUTING#1:ACCEPT', 'filter/INPUT#1:ACCEPT', 'nat/INPUT#policy:ACCEPT'], dst: { ipv4: '198.51.100.1', ipv6: '2001:db8:0:2::1' }, disposition: 'DELIVERED_LOCAL' },
  UNTRACKED: { events: ['filter/INPUT#2:ACCEPT'], dst: { ipv4: '192.0.2.1', ipv6: '2001:db8:0:1::1' }, disposition: 'DELIVERED_LOCAL' },
  INVALID: { events: ['filter/INPUT#3:DROP'], dst: { ipv4: '192.0.2.1', ipv6: '2001:db8:0:1::1' }, disposition: 'DROPPED' },
};

interface Row {
  readonly family: Family;
  readonly type: number;
  readonly state: State;
  /** What the outcome's reason must say about the kernel rule (INVALID, UNTRACKED). */
  readonly why?: RegExp;
}

const ROWS: Row[] = [
  // nf_conntrack_icmp_packet valid_new
  { family: 'ipv4', type: 8, state: 'NEW' },
  { family: 'ipv4', type: 13, state: 'NEW' },
  { family: 'ipv4', type: 15, state: 'NEW' },
  { family: 'ipv4', type: 17, state: 'NEW' },
  // Replies without their request
  { family: 'ipv4', type: 0, state: 'INVALID', why: /unsolicited ICMP echo reply \(type 0\).*types 8, 13, 15, 17/ },
  { family: 'ipv4', type: 14, state: 'INVALID', why: /timestamp reply/ },
  { family: 'ipv4', type: 16, state: 'INVALID', why: /information reply/ },
  { family: 'ipv4', type: 18, state: 'INVALID', why: /address mask reply/ },
  // Errors quoting no known connection (icmp_is_err)
  { family: 'ipv4', type: 3, state: 'INVALID', why: /destination unreachable\) is an error message.*RELATED/ },
  { family: 'ipv4', type: 4, state: 'INVALID', why: /source quench/ },
  { family: 'ipv4', type: 5, state: 'INVALID', why: /redirect/ },
  { family: 'ipv4', type: 11, state: 'INVALID', why: /time exceeded/ },
  { family: 'ipv4', type: 12, state: 'INVALID', why: /parameter problem/ },
  // No reply type: the tuple cannot be inverted
  { family: 'ipv4', type: 9, state: 'INVALID', why: /nf_conntrack_invert_icmp_tuple/ },
  { family: 'ipv4', type: 10, state: 'INVALID', why: /nf_conntrack_invert_icmp_tuple/ },
  // Above NR_ICMP_TYPES
  { family: 'ipv4', type: 19, state: 'INVALID', why: /above 18/ },
  { family: 'ipv4', type: 42, state: 'INVALID', why: /above 18/ },
  // nf_conntrack_icmpv6_packet valid_new
  { family: 'ipv6', type: 128, state: 'NEW' },
  { family: 'ipv6', type: 139, state: 'NEW' },
  { family: 'ipv6', type: 129, state: 'INVALID', why: /unsolicited ICMPv6 echo reply \(type 129\).*types 128, 139/ },
  { family: 'ipv6', type: 140, state: 'INVALID', why: /node information reply/ },
  // noct_valid_new: MLD and neighbour discovery
  ...[130, 131, 132, 133, 134, 135, 136, 143].map((type): Row => ({ family: 'ipv6', type, state: 'UNTRACKED', why: new RegExp(`ICMPv6 type ${type} \\(.*\\): nf_conntrack_icmpv6_error marks .* untracked`) })),
  // Errors quoting no known connection
  { family: 'ipv6', type: 1, state: 'INVALID', why: /destination unreachable\) is an error message/ },
  { family: 'ipv6', type: 2, state: 'INVALID', why: /packet too big/ },
  { family: 'ipv6', type: 3, state: 'INVALID', why: /time exceeded/ },
  { family: 'ipv6', type: 4, state: 'INVALID', why: /parameter problem/ },
  { family: 'ipv6', type: 100, state: 'INVALID', why: /type 100 is an error message/ },
  // Informational types with no reply type (redirect, inverse ND, private use)
  { family: 'ipv6', type: 137, state: 'INVALID', why: /nf_conntrack_invert_icmpv6_tuple/ },
  { family: 'ipv6', type: 141, state: 'INVALID', why: /nf_conntrack_invert_icmpv6_tuple/ },
  { family: 'ipv6', type: 200, state: 'INVALID', why: /nf_conntrack_invert_icmpv6_tuple/ },
];

for (const r of ROWS) {
  test(`${r.family} ICMP type ${r.type} asked for as NEW: conntrack makes it ${r.state}`, () => {
    const c = trace(RULES(r.family), { ...PACKET[r.family], icmpType: r.type, icmpCode: 0 }, { host: r.family === 'ipv4' ? HOST : HOST6, family: r.family });
    const o = only(c);
    const want = EXPECT[r.state];
    assert.deepEqual(o.events, want.events, show(c));
    assert.equal(o.packet['dst'], want.dst[r.family]);
    assert.equal(o.packet['state'], r.state);
    assert.equal(o.disposition, want.disposition);
    if (r.why) {
      assert.match(o.reason, r.why);
      assert.match(o.reason, new RegExp(`\\(${r.state}\\)$`));
      assert.ok(o.assumptions.some((a) => a.startsWith('state NEW asked for, but') && r.why!.test(a)), o.assumptions.join('\n'));
    } else {
      assert.ok(!/conntrack/.test(o.reason), o.reason);
    }
  });
}

const ND: PacketInput = { ...PACKET.ipv6, icmpType: 135, icmpCode: 0 };

test('neighbour solicitation asked for as ESTABLISHED is still UNTRACKED (conntrack never tracks it)', () => {
  const o = only(trace(RULES('ipv6'), { ...ND, state: 'ESTABLISHED' }, { host: HOST6, family: 'ipv6' }));
  assert.deepEqual(o.events, EXPECT.UNTRACKED.events);
  assert.ok(o.assumptions.some((a) => a.startsWith('state ESTABLISHED asked for, but conntrack never tracks ICMPv6 type 135')), o.assumptions.join('\n'));
});

test('an echo reply asked for as ESTABLISHED stays ESTABLISHED (it answers a request conntrack knows)', () => {
  const o = only(trace(RULES('ipv6'), { ...PACKET.ipv6, icmpType: 129, state: 'ESTABLISHED' }, { host: HOST6, family: 'ipv6' }));
  assert.equal(o.packet['state'], 'ESTABLISHED');
  assert.ok(!o.assumptions.some((a) => a.includes('asked for, but')), o.assumptions.join('\n'));
});

test('raw PREROUTING runs before conntrack: a neighbour solicitation is INVALID there, UNTRACKED after', () => {
  const dump = table('raw', ['-A PREROUTING -m conntrack --ctstate UNTRACKED -j DROP', '-A PREROUTING -m conntrack --ctstate INVALID -j ACCEPT']) + RULES('ipv6');
  const o = only(trace(dump, ND, { host: HOST6, family: 'ipv6' }));
  assert.deepEqual(o.events, ['raw/PREROUTING#2:ACCEPT', ...EXPECT.UNTRACKED.events]);
});

test('NOTRACK in raw before conntrack: UNTRACKED at once, and the reason needs no conntrack rule', () => {
  const dump = table('raw', ['-A PREROUTING -j CT --notrack', '-A PREROUTING -m conntrack --ctstate UNTRACKED -j ACCEPT']) + RULES('ipv6');
  const o = only(trace(dump, ND, { host: HOST6, family: 'ipv6' }));
  assert.deepEqual(o.events, ['raw/PREROUTING#1:CONTINUE', 'raw/PREROUTING#2:ACCEPT', ...EXPECT.UNTRACKED.events]);
  assert.ok(!o.reason.includes('nf_conntrack'), o.reason);
});

test('a local neighbour advertisement: nat OUTPUT is skipped, filter OUTPUT sees UNTRACKED', () => {
  const dump =
    table('nat', '-A OUTPUT -j DNAT --to-destination 2001:db8:0:2::9') +
    table('filter', ['-A OUTPUT -m conntrack --ctstate UNTRACKED -j ACCEPT', '-A OUTPUT -j DROP']);
  const o = only(trace(dump, { src: '2001:db8:0:1::1', dst: '2001:db8:0:1::7', protocol: 'icmpv6', icmpType: 136, local: true }, { host: HOST6, family: 'ipv6' }));
  assert.deepEqual(o.events, ['filter/OUTPUT#1:ACCEPT']);
  assert.equal(o.packet['dst'], '2001:db8:0:1::7');
  assert.equal(o.disposition, 'SENT');
});

test('across nodes: each node\'s conntrack decides afresh, so the next node\'s raw table sees the neighbour solicitation as INVALID too', () => {
  const mk = (name: string, dump: string, file: HostFile): ClusterNode => ({ name, ruleset: parse(dump, 'ipv6'), host: host(file)! });
  const a = mk('a', table('filter', '-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT', { FORWARD: 'DROP' }), HOST6_ROUTER);
  const b = mk('b', table('raw', ['-A PREROUTING -m conntrack --ctstate UNTRACKED -j DROP']) + table('filter', '-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT', { INPUT: 'DROP' }), {
    interfaces: [{ name: 'eth0', addresses: ['2001:db8:0:2::2/64'] }],
    routes: [{ dst: 'default', via: '2001:db8:0:2::1', dev: 'eth0' }],
    forwarding: false,
  });
  const v = validatePacket({ ...ND, dst: '2001:db8:0:2::2' });
  assert.ok(v.ok);
  const r = traceCluster([a, b], 'a', v.packet);
  assert.equal(r.paths.length, 1);
  const hops = r.paths[0]!.hops.map((h) => [h.node, h.outcome.disposition, h.outcome.events.map(eventKey)]);
  assert.deepEqual(hops, [
    ['a', 'FORWARDED', ['filter/FORWARD#1:ACCEPT']],
    ['b', 'DELIVERED_LOCAL', ['raw/PREROUTING#policy:ACCEPT', 'filter/INPUT#1:ACCEPT']],
  ]);
});

test('TCP without a connection: the reason names the conntrack rule too', () => {
  const rows: [string, RegExp][] = [
    ['RST', /cannot open a connection: only SYN, or ACK picked up mid-stream \(nf_conntrack_tcp_loose\)/],
    ['SYN,FIN', /tcp_valid_flags/],
  ];
  for (const [tcpFlags, why] of rows) {
    const o = only(trace(RULES('ipv4'), { src: '192.0.2.7', dst: '192.0.2.1', protocol: 'tcp', sport: 40000, dport: 22, tcpFlags, inInterface: 'eth0' }));
    assert.deepEqual(o.events, EXPECT.INVALID.events);
    assert.match(o.reason, why);
  }
});
