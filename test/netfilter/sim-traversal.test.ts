// How the simulator walks a packet through netfilter: hook and table order,
// when nat is consulted, chain traversal (jump/goto/RETURN/policies), forks
// and their probabilities, and the routing decisions between the hooks.
// Rows marked "kernel-checked" were compared with iptables 1.8.9 (nft) in a
// network namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceToJson, type HostFile, type PacketInput } from '../../src/netfilter/index.ts';
import { HOST, PKT, only, show, sum, table, trace } from '../support/sim.ts';

const FWD: PacketInput = { ...PKT, dst: '198.51.100.9' };
const LOCAL: PacketInput = { src: '192.0.2.1', dst: '198.51.100.9', protocol: 'tcp', sport: 40000, dport: 80, local: true };
const LOCAL_TO_SELF: PacketInput = { ...LOCAL, dst: '192.0.2.1' };

/** All five tables, empty; one conntrack match so that conntrack (and with it nat) is active. */
const ALL_TABLES =
  table('raw', []) + table('mangle', []) + table('nat', []) + table('filter', '-A INPUT -m conntrack --ctstate INVALID -j DROP') + table('security', []);

const policies = (...chains: string[]): string[] => chains.map((c) => `${c}#policy:ACCEPT`);

interface OrderRow {
  readonly name: string;
  readonly pkt: PacketInput;
  readonly events: readonly string[];
  readonly disposition: string;
  readonly packet?: Record<string, unknown>;
}

const ORDER: OrderRow[] = [
  {
    // x_tables priorities: security INPUT (50) before nat INPUT (100). Note: iptables-nft registers its
    // security chains at priority 150, so with the nft backend the kernel reports nat/INPUT first.
    name: 'incoming, for this node: raw, mangle, nat PREROUTING; routing; mangle, filter, nat, security INPUT (iptables-nft priorities, kernel-checked)',
    pkt: PKT,
    events: policies('raw/PREROUTING', 'mangle/PREROUTING', 'nat/PREROUTING', 'mangle/INPUT', 'filter/INPUT', 'nat/INPUT', 'security/INPUT'),
    disposition: 'DELIVERED_LOCAL',
    packet: { inInterface: 'eth0', outInterface: null },
  },
  {
    name: 'incoming, forwarded: PREROUTING; routing; mangle, filter, security FORWARD; mangle, nat POSTROUTING (kernel-checked)',
    pkt: FWD,
    events: policies('raw/PREROUTING', 'mangle/PREROUTING', 'nat/PREROUTING', 'mangle/FORWARD', 'filter/FORWARD', 'security/FORWARD', 'mangle/POSTROUTING', 'nat/POSTROUTING'),
    disposition: 'FORWARDED',
    packet: { inInterface: 'eth0', outInterface: 'eth1' },
  },
  {
    name: 'locally generated: raw, mangle, nat, filter, security OUTPUT; mangle, nat POSTROUTING (kernel-checked)',
    pkt: LOCAL,
    events: policies('raw/OUTPUT', 'mangle/OUTPUT', 'nat/OUTPUT', 'filter/OUTPUT', 'security/OUTPUT', 'mangle/POSTROUTING', 'nat/POSTROUTING'),
    disposition: 'SENT',
    packet: { inInterface: null, outInterface: 'eth1' },
  },
  {
    name: 'local to local: OUTPUT and POSTROUTING, then back in via lo: raw, mangle PREROUTING, mangle, filter, security INPUT; nat only on the way out (kernel-checked)',
    pkt: LOCAL_TO_SELF,
    events: policies(
      'raw/OUTPUT', 'mangle/OUTPUT', 'nat/OUTPUT', 'filter/OUTPUT', 'security/OUTPUT', 'mangle/POSTROUTING', 'nat/POSTROUTING',
      'raw/PREROUTING', 'mangle/PREROUTING', 'mangle/INPUT', 'filter/INPUT', 'security/INPUT',
    ),
    disposition: 'DELIVERED_LOCAL',
    packet: { inInterface: 'lo', outInterface: null },
  },
];

for (const row of ORDER) {
  test(row.name, () => {
    const o = only(trace(ALL_TABLES, row.pkt));
    assert.deepEqual(o.events, row.events);
    assert.equal(o.disposition, row.disposition);
    assert.equal(o.verdict, 'ACCEPT');
    for (const [k, v] of Object.entries(row.packet ?? {})) assert.equal(o.packet[k], v, k);
  });
}

test('tables absent from the dump are not traversed', () => {
  const o = only(trace(table('filter', '-A FORWARD -j ACCEPT'), FWD));
  assert.deepEqual(o.events, ['filter/FORWARD#1:ACCEPT']);
  assert.deepEqual(only(trace(table('mangle', []), PKT)).events, policies('mangle/PREROUTING', 'mangle/INPUT'));
  assert.deepEqual(only(trace(table('raw', []) + table('security', []), LOCAL)).events, policies('raw/OUTPUT', 'security/OUTPUT'));
});

// ---------------------------------------------------------------- nat and conntrack state

const DNAT_ALL = table('nat', ['-A PREROUTING -j DNAT --to-destination 198.51.100.9', '-A OUTPUT -j DNAT --to-destination 198.51.100.10', '-A POSTROUTING -j MASQUERADE']);

test('nat is consulted for the first packet (NEW) of a connection', () => {
  const o = only(trace(DNAT_ALL, PKT));
  assert.deepEqual(o.events, ['nat/PREROUTING#1:ACCEPT', 'nat/POSTROUTING#1:ACCEPT']);
  assert.equal(o.packet['dst'], '198.51.100.9');
  assert.equal(o.packet['src'], '198.51.100.1');
  assert.equal(o.disposition, 'FORWARDED');
});

const NO_NAT: [string, Partial<PacketInput>, RegExp][] = [
  ['ESTABLISHED packets skip the nat table (and say so)', { state: 'ESTABLISHED' }, /ESTABLISHED.*nat/],
  ['INVALID packets skip the nat table', { state: 'INVALID' }, /.*/],
  ['UNTRACKED packets skip the nat table', { state: 'UNTRACKED' }, /.*/],
];
for (const [name, over, why] of NO_NAT) {
  test(name, () => {
    const o = only(trace(DNAT_ALL, { ...PKT, ...over }));
    assert.deepEqual(o.events, []);
    assert.equal(o.packet['dst'], '192.0.2.1');
    assert.equal(o.packet['src'], '203.0.113.7');
    assert.equal(o.disposition, 'DELIVERED_LOCAL');
    if (over.state === 'ESTABLISHED') assert.ok(o.assumptions.some((a) => why.test(a)), o.assumptions.join('\n'));
  });
}

test('NOTRACK in raw PREROUTING: the packet is UNTRACKED, nat is skipped', () => {
  const o = only(trace(table('raw', '-A PREROUTING -j NOTRACK') + DNAT_ALL + table('filter', '-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT'), PKT));
  assert.deepEqual(o.events, ['raw/PREROUTING#1:CONTINUE', 'raw/PREROUTING#policy:ACCEPT', 'filter/INPUT#1:ACCEPT']);
  assert.equal(o.packet['dst'], '192.0.2.1');
});

test('CT --notrack in raw OUTPUT: a local packet skips nat OUTPUT and POSTROUTING', () => {
  const o = only(trace(table('raw', '-A OUTPUT -j CT --notrack') + DNAT_ALL, LOCAL));
  assert.deepEqual(o.events, ['raw/OUTPUT#1:CONTINUE', 'raw/OUTPUT#policy:ACCEPT']);
  assert.equal(o.packet['dst'], '198.51.100.9');
  assert.equal(o.packet['src'], '192.0.2.1');
  assert.equal(o.disposition, 'SENT');
});

test('nat runs once per direction: DNAT in PREROUTING, then nat INPUT (source side) for local delivery', () => {
  const o = only(trace(table('nat', ['-A PREROUTING -p tcp -j DNAT --to-destination 192.0.2.1:8080', '-A INPUT -j SNAT --to-source 192.0.2.1']), { ...PKT, dst: '198.51.100.1' }));
  assert.deepEqual(o.events, ['nat/PREROUTING#1:ACCEPT', 'nat/INPUT#1:ACCEPT']);
  assert.deepEqual([o.packet['src'], o.packet['dst'], o.packet['dport']], ['192.0.2.1', '192.0.2.1', 8080]);
});

test('without a rule that needs conntrack, the nat table is not consulted (nft backend; kernel-checked by the harness)', () => {
  const dump = table('nat', []) + table('filter', []);
  assert.deepEqual(only(trace(dump, PKT)).events, policies('filter/INPUT'));
  // A host file can say that conntrack runs anyway.
  assert.deepEqual(only(trace(dump, PKT, { host: { ...HOST, conntrack: true } })).events, policies('nat/PREROUTING', 'filter/INPUT', 'nat/INPUT'));
});

test('DNAT in OUTPUT: rerouted after nat OUTPUT, but filter OUTPUT still sees the old out-interface (kernel-checked)', () => {
  const dump = table('nat', '-A OUTPUT -d 203.0.113.10/32 -j DNAT --to-destination 198.51.100.10') + table('filter', ['-A OUTPUT -o eth0 -j LOG', '-A OUTPUT -o eth1 -j LOG']);
  const o = only(trace(dump, { ...LOCAL, dst: '203.0.113.10' }));
  assert.deepEqual(o.events, ['nat/OUTPUT#1:ACCEPT', 'filter/OUTPUT#1:CONTINUE', 'filter/OUTPUT#policy:ACCEPT', 'nat/POSTROUTING#policy:ACCEPT']);
  assert.equal(o.packet['outInterface'], 'eth1');
  assert.equal(o.disposition, 'SENT');
});

test('DNAT in OUTPUT to a local address: looped back via lo, nat INPUT skipped (kernel-checked)', () => {
  const dump = table('nat', '-A OUTPUT -d 203.0.113.11/32 -j DNAT --to-destination 192.0.2.1') + table('filter', ['-A INPUT -i lo -j ACCEPT']);
  const o = only(trace(dump, { ...LOCAL, dst: '203.0.113.11' }));
  assert.deepEqual(o.events, ['nat/OUTPUT#1:ACCEPT', 'filter/OUTPUT#policy:ACCEPT', 'nat/POSTROUTING#policy:ACCEPT', 'filter/INPUT#1:ACCEPT']);
  assert.equal(o.disposition, 'DELIVERED_LOCAL');
  assert.equal(o.packet['dst'], '192.0.2.1');
});

// ---------------------------------------------------------------- chains: jump, goto, RETURN, policies

interface ChainRow {
  readonly name: string;
  readonly rules: readonly string[];
  readonly policy?: 'ACCEPT' | 'DROP';
  readonly events: readonly string[];
  readonly verdict: string;
}

const CHAINS: ChainRow[] = [
  { name: 'built-in policy ACCEPT', rules: [], events: ['filter/INPUT#policy:ACCEPT'], verdict: 'ACCEPT' },
  { name: 'built-in policy DROP', rules: [], policy: 'DROP', events: ['filter/INPUT#policy:DROP'], verdict: 'DROP' },
  { name: 'the first matching rule decides', rules: ['-A INPUT -p udp -j DROP', '-A INPUT -p tcp -j ACCEPT', '-A INPUT -j DROP'], policy: 'DROP', events: ['filter/INPUT#2:ACCEPT'], verdict: 'ACCEPT' },
  { name: 'jump into a user chain that decides', rules: ['-A INPUT -j A', '-A A -j DROP'], events: ['filter/INPUT#1:JUMP:A', 'filter/A#1:DROP'], verdict: 'DROP' },
  {
    name: 'the end of a jumped-to chain is not an event: the caller\'s next rule runs',
    rules: ['-A INPUT -j A', '-A INPUT -j LOG', '-A A -p udp -j DROP'],
    events: ['filter/INPUT#1:JUMP:A', 'filter/INPUT#2:CONTINUE', 'filter/INPUT#policy:ACCEPT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'explicit RETURN is a rule event and goes back to the caller',
    rules: ['-A INPUT -j A', '-A INPUT -j LOG', '-A A -p tcp -j RETURN', '-A A -j DROP'],
    events: ['filter/INPUT#1:JUMP:A', 'filter/A#1:RETURN', 'filter/INPUT#2:CONTINUE', 'filter/INPUT#policy:ACCEPT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'nested jumps return level by level',
    rules: ['-A INPUT -j A', '-A INPUT -j DROP', '-A A -j B', '-A A -j LOG', '-A B -j C', '-A B -j RETURN', '-A C -j LOG'],
    events: ['filter/INPUT#1:JUMP:A', 'filter/A#1:JUMP:B', 'filter/B#1:JUMP:C', 'filter/C#1:CONTINUE', 'filter/B#2:RETURN', 'filter/A#2:CONTINUE', 'filter/INPUT#2:DROP'],
    verdict: 'DROP',
  },
  {
    name: 'RETURN in a chain entered by -g returns to the caller of the chain that did the goto (kernel-checked)',
    rules: ['-A INPUT -j A', '-A INPUT -j LOG', '-A A -g B', '-A A -j DROP', '-A B -j RETURN'],
    policy: 'DROP',
    events: ['filter/INPUT#1:JUMP:A', 'filter/A#1:GOTO:B', 'filter/B#1:RETURN', 'filter/INPUT#2:CONTINUE', 'filter/INPUT#policy:DROP'],
    verdict: 'DROP',
  },
  {
    name: 'the end of a chain entered by -g also returns to the caller of the goto-ing chain, silently (kernel-checked)',
    rules: ['-A INPUT -j A', '-A INPUT -j LOG', '-A A -g B', '-A A -j DROP', '-A B -j LOG'],
    policy: 'DROP',
    events: ['filter/INPUT#1:JUMP:A', 'filter/A#1:GOTO:B', 'filter/B#1:CONTINUE', 'filter/INPUT#2:CONTINUE', 'filter/INPUT#policy:DROP'],
    verdict: 'DROP',
  },
  {
    name: 'RETURN in a chain entered by -g from a built-in chain: the built-in\'s policy (kernel-checked)',
    rules: ['-A INPUT -g B', '-A INPUT -j ACCEPT', '-A B -j RETURN'],
    policy: 'DROP',
    events: ['filter/INPUT#1:GOTO:B', 'filter/B#1:RETURN', 'filter/INPUT#policy:DROP'],
    verdict: 'DROP',
  },
  {
    name: 'falling off a chain entered by -g from a built-in chain: the policy',
    rules: ['-A INPUT -g B', '-A INPUT -j DROP', '-A B -j LOG'],
    events: ['filter/INPUT#1:GOTO:B', 'filter/B#1:CONTINUE', 'filter/INPUT#policy:ACCEPT'],
    verdict: 'ACCEPT',
  },
  { name: 'RETURN in a built-in chain applies its policy (kernel-checked)', rules: ['-A INPUT -j RETURN', '-A INPUT -j ACCEPT'], policy: 'DROP', events: ['filter/INPUT#1:RETURN', 'filter/INPUT#policy:DROP'], verdict: 'DROP' },
  { name: 'ACCEPT in a user chain ends the table, not just the chain', rules: ['-A INPUT -j A', '-A INPUT -j DROP', '-A A -j ACCEPT'], events: ['filter/INPUT#1:JUMP:A', 'filter/A#1:ACCEPT'], verdict: 'ACCEPT' },
];

for (const row of CHAINS) {
  test(row.name, () => {
    const o = only(trace(table('filter', [...row.rules], row.policy ? { INPUT: row.policy } : {}), PKT));
    assert.deepEqual(o.events, row.events);
    assert.equal(o.verdict, row.verdict);
    assert.equal(o.disposition, row.verdict === 'DROP' ? 'DROPPED' : 'DELIVERED_LOCAL');
  });
}

test('ACCEPT in one table does not skip the next table of the hook', () => {
  const o = only(trace(table('mangle', '-A INPUT -j ACCEPT') + table('filter', '-A INPUT -j DROP'), PKT));
  assert.deepEqual(o.events, ['mangle/PREROUTING#policy:ACCEPT', 'mangle/INPUT#1:ACCEPT', 'filter/INPUT#1:DROP']);
  assert.equal(o.verdict, 'DROP');
});

// A ruleset the kernel would refuse: the path ends UNKNOWN, its probability is
// unknown (null) and its assumptions say why. The timeouts only guard against a hang.
const BROKEN: { name: string; rules: string[]; warning: RegExp; assumption: RegExp }[] = [
  { name: 'a jump loop', rules: ['-A INPUT -j A', '-A A -j B', '-A B -j A'], warning: /loop/, assumption: /jumps loop through filter\/[AB]/ },
  { name: 'a goto loop', rules: ['-A INPUT -j A', '-A A -g B', '-A B -g A'], warning: /loop/, assumption: /rule evaluations|loop/ },
];
for (const row of BROKEN) {
  test(`${row.name} ends UNKNOWN with an unknown probability, not a hang`, { timeout: 60_000 }, () => {
    const r = trace(table('filter', row.rules), PKT);
    const o = only(r);
    assert.equal(o.verdict, 'UNKNOWN');
    assert.equal(o.disposition, 'UNKNOWN');
    assert.equal(o.p, null);
    assert.ok(o.assumptions.some((a) => row.assumption.test(a)), o.assumptions.join('\n'));
    assert.ok(r.warnings.some((w) => row.warning.test(w)), r.warnings.join('\n'));
  });
}

// ---------------------------------------------------------------- forks and probabilities

const KUBE = table('nat', [
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A KUBE-SERVICES -d 203.0.113.10/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB',
  '-A KUBE-SVC-WEB -m comment --comment "default/web -> 198.51.100.11:8080" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-1',
  '-A KUBE-SVC-WEB -m comment --comment "default/web -> 198.51.100.12:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-2',
  '-A KUBE-SVC-WEB -m comment --comment "default/web -> 198.51.100.13:8080" -j KUBE-SEP-3',
  '-A KUBE-SEP-1 -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination 198.51.100.11:8080',
  '-A KUBE-SEP-2 -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination 198.51.100.12:8080',
  '-A KUBE-SEP-3 -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination 198.51.100.13:8080',
]);

test('kube-proxy service with 3 endpoints: three outcomes of 1/3 each (within 1e-9), summing to 1', () => {
  const r = trace(KUBE, { ...PKT, dst: '203.0.113.10' });
  assert.equal(r.outcomes.length, 3, show(r));
  const byDst = new Map(r.outcomes.map((o) => [o.packet['dst'], o]));
  for (const [i, ep] of ['198.51.100.11', '198.51.100.12', '198.51.100.13'].entries()) {
    const o = byDst.get(ep);
    assert.ok(o, `an outcome for endpoint ${ep}`);
    assert.ok(Math.abs(o.p! - 1 / 3) < 1e-9, `p(${ep}) = ${o.p}`);
    assert.equal(o.packet['dport'], 8080);
    assert.equal(o.disposition, 'FORWARDED');
    assert.deepEqual(o.events.slice(0, 3), ['nat/PREROUTING#1:JUMP:KUBE-SERVICES', 'nat/KUBE-SERVICES#1:JUMP:KUBE-SVC-WEB', `nat/KUBE-SVC-WEB#${i + 1}:JUMP:KUBE-SEP-${i + 1}`]);
    assert.deepEqual(o.assumptions, []);
  }
  assert.ok(Math.abs(sum(r.outcomes.map((o) => o.p)) - 1) < 1e-12);
});

test('statistic random: the two outcomes are weighted p and 1-p (with the kernel\'s 2^-31 rounding)', () => {
  const r = trace(table('filter', '-A INPUT -m statistic --mode random --probability 0.1 -j DROP'), PKT);
  assert.equal(r.outcomes.length, 2);
  const drop = r.outcomes.find((o) => o.verdict === 'DROP')!;
  const accept = r.outcomes.find((o) => o.verdict === 'ACCEPT')!;
  assert.equal(drop.p, Math.round(0.1 * 2 ** 31) / 2 ** 31);
  assert.equal(accept.p, 1 - drop.p!);
  assert.equal(drop.p! + accept.p!, 1);
  // Outcomes come most likely first.
  assert.equal(r.outcomes[0], accept);
});

test('statistic nth --every 3: one packet in three (kernel-checked)', () => {
  const r = trace(table('filter', '-A INPUT -m statistic --mode nth --every 3 --packet 0 -j DROP'), PKT);
  assert.equal(r.outcomes.length, 2);
  const drop = r.outcomes.find((o) => o.verdict === 'DROP')!;
  const accept = r.outcomes.find((o) => o.verdict === 'ACCEPT')!;
  assert.ok(Math.abs(drop.p! - 1 / 3) < 1e-12, `p(DROP) = ${drop.p}`);
  assert.ok(Math.abs(accept.p! - 2 / 3) < 1e-12, `p(ACCEPT) = ${accept.p}`);
});

test('probabilities multiply along a path: two independent 50% rules', () => {
  const r = trace(
    table('mangle', '-A PREROUTING -m statistic --mode random --probability 0.5 -j MARK --set-xmark 0x1/0x1') +
      table('filter', '-A INPUT -m statistic --mode random --probability 0.5 -j DROP'),
    PKT,
  );
  assert.equal(r.outcomes.length, 4);
  for (const o of r.outcomes) assert.equal(o.p, 0.25);
  assert.deepEqual(r.outcomes.map((o) => `${o.packet['mark']} ${o.verdict}`).sort(), ['0x0 ACCEPT', '0x0 DROP', '0x1 ACCEPT', '0x1 DROP']);
});

const UNKNOWN_FORKS: [string, string, RegExp, HostFile?][] = [
  ['-m recent', '-A INPUT -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP', /recent/],
  ['-m limit', '-A INPUT -m limit --limit 5/sec -j DROP', /limit/],
  ['an unknown module', '-A INPUT -m nosuchmodule --foo bar -j DROP', /nosuchmodule/],
  ['an ipset whose contents were not given', '-A INPUT -m set --match-set BLOCKED src -j DROP', /BLOCKED/],
];

for (const [what, rule, why] of UNKNOWN_FORKS) {
  test(`${what}: both outcomes, probability null, each with an explicit assumption`, () => {
    const r = trace(table('filter', rule), PKT);
    assert.equal(r.outcomes.length, 2, show(r));
    const [drop, accept] = [r.outcomes.find((o) => o.verdict === 'DROP')!, r.outcomes.find((o) => o.verdict === 'ACCEPT')!];
    assert.deepEqual([drop.p, accept.p], [null, null]);
    assert.deepEqual(drop.events, ['filter/INPUT#1:DROP']);
    assert.deepEqual(accept.events, ['filter/INPUT#policy:ACCEPT']);
    assert.ok(drop.assumptions.some((a) => why.test(a) && !/not/.test(a)), drop.assumptions.join('\n'));
    assert.ok(accept.assumptions.some((a) => why.test(a) && /not/.test(a)), accept.assumptions.join('\n'));
    // JSON: null, not a number
    assert.deepEqual(traceToJson(r.raw).outcomes.map((o) => o.probability), [null, null]);
  });
}

test('an unknown fork after a statistic branch makes only that branch\'s probability unknown', () => {
  const r = trace(table('filter', ['-A INPUT -m statistic --mode random --probability 0.5 -j A', '-A A -m limit --limit 1/sec -j DROP']), PKT);
  assert.equal(r.outcomes.length, 3, show(r));
  const known = r.outcomes.filter((o) => o.p !== null);
  assert.equal(known.length, 1);
  assert.equal(known[0]!.p, 0.5);
  assert.deepEqual(known[0]!.events, ['filter/INPUT#policy:ACCEPT']);
  assert.equal(r.outcomes.filter((o) => o.p === null).length, 2);
});

// ---------------------------------------------------------------- routing

const ROUTES: HostFile = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'eth1', addresses: ['198.51.100.1/24'] },
  ],
  routes: [
    { dst: '203.0.113.0/26', type: 'blackhole' },
    { dst: '203.0.113.64/26', type: 'unreachable' },
    { dst: '203.0.113.128/26', type: 'prohibit' },
  ],
  forwarding: true,
};

const ROUTING: [string, PacketInput, HostFile, RegExp, readonly string[]][] = [
  ['no route: NO_ROUTE after the PREROUTING hooks', { ...PKT, dst: '203.0.113.200' }, ROUTES, /no route/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['blackhole route: NO_ROUTE', { ...PKT, dst: '203.0.113.5' }, ROUTES, /blackhole/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['unreachable route: NO_ROUTE', { ...PKT, dst: '203.0.113.70' }, ROUTES, /unreachable/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['prohibit route: NO_ROUTE', { ...PKT, dst: '203.0.113.130' }, ROUTES, /prohibit/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['forwarding off: NO_ROUTE', FWD, { ...HOST, forwarding: false }, /forwarding/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['martian source 127.0.0.1 from outside lo', { ...PKT, src: '127.0.0.1' }, { ...HOST, routeLocalnet: false }, /martian/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['martian source: one of the node\'s own addresses', { ...PKT, src: '198.51.100.1' }, HOST, /martian/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['martian source: a multicast address', { ...PKT, protocol: 'udp', src: '224.0.0.5' }, HOST, /martian/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['martian source: 0.0.0.0 to a unicast address', { ...PKT, protocol: 'udp', src: '0.0.0.0' }, HOST, /martian/, ['mangle/PREROUTING#policy:ACCEPT']],
  ['a local send without a route fails before OUTPUT', { ...LOCAL, dst: '203.0.113.200' }, ROUTES, /no route.*send fails/, []],
];

for (const [name, pkt, host, why, events] of ROUTING) {
  test(name, () => {
    const o = only(trace(table('mangle', []) + table('filter', ['-A INPUT -j LOG', '-A FORWARD -j LOG', '-A OUTPUT -j LOG']), pkt, { host }));
    assert.equal(o.verdict, 'DROP');
    assert.equal(o.disposition, 'NO_ROUTE');
    assert.match(o.reason, why);
    // nothing after routing: no INPUT/FORWARD/OUTPUT events
    const ev = o.events.filter((e) => !e.startsWith('mangle/PREROUTING') || events.includes(e));
    assert.deepEqual(ev, events);
  });
}

test('TTL 1 on a forwarded packet: dropped before the FORWARD hook; a forwarded packet leaves with TTL-1', () => {
  const dump = table('filter', '-A FORWARD -j LOG');
  const expired = only(trace(dump, { ...FWD, ttl: 1 }));
  assert.deepEqual(expired.events, []);
  assert.equal(expired.verdict, 'DROP');
  const ok = only(trace(dump, FWD));
  assert.equal(ok.final.ttl, 63);
  assert.equal(ok.disposition, 'FORWARDED');
});

test('routes: longest prefix wins, then the lower metric; the next hop is the gateway', () => {
  const host: HostFile = {
    ...HOST,
    routes: [
      { dst: 'default', via: '192.0.2.254', dev: 'eth0' },
      { dst: '203.0.113.0/24', via: '198.51.100.253', dev: 'eth1', metric: 200 },
      { dst: '203.0.113.0/24', via: '198.51.100.254', dev: 'eth1', metric: 100 },
      { dst: '203.0.113.128/25', via: '192.0.2.253', dev: 'eth0' },
    ],
  };
  const hop = (dst: string, over: Partial<PacketInput> = {}): [unknown, unknown] => {
    const r = trace(table('filter', []), { ...PKT, dst, ...over }, { host });
    const o = only(r);
    assert.equal(o.disposition, 'FORWARDED');
    return [o.packet['outInterface'], r.raw.outcomes[0]!.nextHop];
  };
  assert.deepEqual(hop('203.0.113.9'), ['eth1', '198.51.100.254']);
  assert.deepEqual(hop('203.0.113.200'), ['eth0', '192.0.2.253']);
  assert.deepEqual(hop('192.0.2.77', { src: '198.51.100.7', inInterface: 'eth1' }), ['eth0', '192.0.2.77']);
  assert.deepEqual(hop('198.18.0.1'), ['eth0', '192.0.2.254']);
});

test('a packet to the subnet broadcast address is delivered locally', () => {
  const o = only(trace(table('filter', []), { ...PKT, protocol: 'udp', dst: '192.0.2.255' }));
  assert.equal(o.disposition, 'DELIVERED_LOCAL');
});

test('without a host file the simulator says what it assumed', () => {
  const o = only(trace(table('filter', []), FWD, { host: null }));
  assert.equal(o.disposition, 'FORWARDED');
  assert.equal(o.packet['outInterface'], 'eth0');
  assert.ok(o.assumptions.some((a) => /no host file/.test(a)), o.assumptions.join('\n'));
  const local = only(trace(table('filter', []), { ...PKT, dst: '127.0.0.1', inInterface: 'lo', src: '127.0.0.1' }, { host: null }));
  assert.equal(local.disposition, 'DELIVERED_LOCAL');
});

test('warnings: packet family differs from the ruleset\'s; in-interface not in the host file', () => {
  const r = trace(table('filter', []), { ...PKT, inInterface: 'wg0' });
  assert.ok(r.warnings.some((w) => /wg0/.test(w)), r.warnings.join('\n'));
  const v6 = trace(table('filter', []), { src: '2001:db8::7', dst: '2001:db8::1', protocol: 'tcp', inInterface: 'eth0' }, { family: 'ipv4' });
  assert.ok(v6.warnings.some((w) => /ipv6.*ipv4/.test(w)), v6.warnings.join('\n'));
});

// ---------------------------------------------------------------- the trace JSON contract

test('trace JSON: the contract\'s fields, rule text as in the dump, policy events with rule null', () => {
  const oneEndpoint = KUBE.split('\n').filter((l) => !/KUBE-SEP-[12]\b/.test(l) || l.startsWith(':')).join('\n');
  const r = trace(oneEndpoint + table('filter', []), { ...PKT, dst: '203.0.113.10' });
  const json = traceToJson(r.raw);
  assert.deepEqual(Object.keys(json).sort(), ['outcomes', 'warnings']);
  assert.equal(json.outcomes.length, 1);
  const o = json.outcomes[0]!;
  for (const k of ['probability', 'verdict', 'disposition', 'packet', 'events', 'assumptions']) assert.ok(k in o, k);
  assert.ok(!('finalPacket' in o));
  assert.equal(o.probability, 1);
  assert.deepEqual(
    o.events.map((e) => [e.table, e.chain, e.kind, e.rule, e.verdict]),
    [
      ['nat', 'PREROUTING', 'rule', 1, 'JUMP:KUBE-SERVICES'],
      ['nat', 'KUBE-SERVICES', 'rule', 1, 'JUMP:KUBE-SVC-WEB'],
      ['nat', 'KUBE-SVC-WEB', 'rule', 1, 'JUMP:KUBE-SEP-3'],
      ['nat', 'KUBE-SEP-3', 'rule', 1, 'ACCEPT'],
      ['filter', 'FORWARD', 'policy', null, 'ACCEPT'],
      ['nat', 'POSTROUTING', 'policy', null, 'ACCEPT'],
    ],
  );
  assert.equal(o.events[0]!.text, '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  assert.equal(o.events[3]!.text, '-A KUBE-SEP-3 -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination 198.51.100.13:8080');
  assert.equal(o.events[4]!.text, '');
  assert.deepEqual(o.packet, {
    src: '203.0.113.7', dst: '198.51.100.13', sport: 40000, dport: 8080, protocol: 'tcp', mark: '0x0', connmark: '0x0', state: 'NEW', inInterface: 'eth0', outInterface: 'eth1',
  });
  JSON.parse(JSON.stringify(json)); // serialisable
});

test('a packet to 255.255.255.255 is delivered locally, not forwarded (kernel-checked)', () => {
  const o = only(trace(table('filter', ['-A INPUT -j LOG', '-A FORWARD -j LOG']), { ...PKT, protocol: 'udp', dst: '255.255.255.255' }));
  assert.equal(o.disposition, 'DELIVERED_LOCAL');
  assert.deepEqual(o.events, ['filter/INPUT#1:CONTINUE', 'filter/INPUT#policy:ACCEPT']);
});

test('route_localnet off: a packet from eth0 to 127.0.0.1 is dropped as a martian destination, before INPUT (kernel-checked)', () => {
  const o = only(trace(table('filter', '-A INPUT -j LOG'), { ...PKT, dst: '127.0.0.1' }, { host: { ...HOST, routeLocalnet: false } }));
  assert.equal(o.disposition, 'NO_ROUTE');
  assert.match(o.reason, /martian.*route_localnet is off/);
  assert.deepEqual(o.events, []);
});

test('route_localnet on (all, or the in-interface): 127.0.0.1 from eth0 reaches INPUT (kernel-checked)', () => {
  for (const routeLocalnet of [true, { all: false, interfaces: ['eth0'] }]) {
    const o = only(trace(table('filter', '-A INPUT -j LOG'), { ...PKT, dst: '127.0.0.1' }, { host: { ...HOST, routeLocalnet } }));
    assert.equal(o.disposition, 'DELIVERED_LOCAL');
    assert.deepEqual(o.events, ['filter/INPUT#1:CONTINUE', 'filter/INPUT#policy:ACCEPT']);
  }
  const other = only(trace(table('filter', '-A INPUT -j LOG'), { ...PKT, dst: '127.0.0.1' }, { host: { ...HOST, routeLocalnet: { interfaces: ['eth1'] } } }));
  assert.equal(other.disposition, 'NO_ROUTE');
});

test('route_localnet unknown: both outcomes, each with its assumption', () => {
  const r = trace(table('filter', '-A INPUT -j LOG'), { ...PKT, dst: '127.0.0.1' });
  assert.equal(r.outcomes.length, 2);
  const martian = r.outcomes.find((o) => o.disposition === 'NO_ROUTE')!;
  const delivered = r.outcomes.find((o) => o.disposition === 'DELIVERED_LOCAL')!;
  assert.ok(martian.assumptions.some((a) => /route_localnet is not known.*off/.test(a)), JSON.stringify(martian.assumptions));
  assert.ok(delivered.assumptions.some((a) => /route_localnet is not known.*on/.test(a)), JSON.stringify(delivered.assumptions));
  assert.equal(martian.p, null);
  assert.equal(delivered.p, null);
});

// ---------------------------------------------------------------- kernel behaviour not modelled yet (pipeline/trace.ts)

test('a DHCP discover (0.0.0.0 -> 255.255.255.255) is delivered locally, not a martian (kernel-checked)', () => {
  const o = only(trace(table('filter', []), { src: '0.0.0.0', dst: '255.255.255.255', protocol: 'udp', sport: 68, dport: 67, inInterface: 'eth0' }));
  assert.equal(o.disposition, 'DELIVERED_LOCAL');
});

test('iptables-legacy orders INPUT as x_tables priorities: security (50) before nat (100)', () => {
  const c = trace(ALL_TABLES, PKT, { host: { ...HOST, backend: 'legacy' } as HostFile });
  assert.deepEqual(only(c).events, policies('raw/PREROUTING', 'mangle/PREROUTING', 'nat/PREROUTING', 'mangle/INPUT', 'filter/INPUT', 'security/INPUT', 'nat/INPUT'));
});

test('iptables-legacy: a nat table alone switches conntrack (and nat) on', () => {
  const dump = table('nat', '-A PREROUTING -p tcp -j DNAT --to-destination 192.0.2.1:22') + table('filter', []);
  assert.deepEqual(only(trace(dump, PKT)).events.filter((e) => e.startsWith('nat/')), ['nat/PREROUTING#1:ACCEPT', 'nat/INPUT#policy:ACCEPT']);
  const noConntrack = table('nat', []) + table('filter', []);
  assert.deepEqual(only(trace(noConntrack, PKT)).events.filter((e) => e.startsWith('nat/')), [], 'nft: nothing asks for conntrack, nat never runs');
  assert.deepEqual(only(trace(noConntrack, PKT, { host: { ...HOST, backend: 'legacy' } as HostFile })).events.filter((e) => e.startsWith('nat/')), ['nat/PREROUTING#policy:ACCEPT', 'nat/INPUT#policy:ACCEPT']);
});

test('a goto loop ends with a warning instead of running on', () => {
  const c = trace(table('filter', ['-A INPUT -g A', '-A A -g B', '-A B -g A'], {}).replace(':OUTPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]'), PKT);
  assert.equal(only(c).verdict, 'UNKNOWN');
  assert.ok(c.warnings.some((w) => /loop/.test(w)), c.warnings.join());
  assert.ok(only(c).events.length <= 100_001);
});

test('without a host file, an address a path took as local (or not) stays so: later addrtype matches and routing agree', () => {
  const dump =
    table('nat', ['-A PREROUTING -j KUBE-SERVICES', '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS', '-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.1.5:80']) +
    table('filter', ['-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT', '-A FORWARD -m addrtype --dst-type LOCAL -j DROP', '-A FORWARD -m addrtype ! --dst-type LOCAL -j ACCEPT']);
  const r = trace(dump, { ...PKT, dst: '198.51.100.20' }, { host: null });
  assert.equal(r.outcomes.length, 2, show(r));
  const local = r.outcomes.find((o) => o.disposition === 'DELIVERED_LOCAL');
  const routed = r.outcomes.find((o) => o.disposition === 'FORWARDED');
  assert.ok(local && routed, show(r));
  assert.deepEqual(local.events.filter((e) => !e.includes('#policy')), ['nat/PREROUTING#1:JUMP:KUBE-SERVICES', 'nat/KUBE-SERVICES#1:JUMP:KUBE-NODEPORTS', 'filter/INPUT#1:ACCEPT']);
  assert.ok(local.assumptions.includes('assumed dst address 198.51.100.20 is local to the node'), local.assumptions.join('\n'));
  assert.deepEqual(routed.events.filter((e) => !e.includes('#policy')), ['nat/PREROUTING#1:JUMP:KUBE-SERVICES', 'filter/FORWARD#2:ACCEPT']);
  assert.ok(routed.assumptions.includes('assumed dst address 198.51.100.20 is not local to the node'), routed.assumptions.join('\n'));
  for (const o of r.outcomes) assert.equal(o.p, null);
});
