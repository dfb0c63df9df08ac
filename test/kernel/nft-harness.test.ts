// The nftables kernel harness itself: small rulesets are loaded into a private
// namespace, packets traced with `nft monitor trace`, and the parsed events must
// say what nftables semantics say they must (no simulator involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologyAvailable } from './netns.ts';
import { runNftCase, type NftDiffCase } from './nft-differential.ts';
import { nftKernelKeys, parseNftMonitorOutput } from './nft-trace.ts';
import { ROUTER } from './cases/targeted.ts';

const avail = await topologyAvailable();
const skip = avail.ok ? false : avail.reason;

const C = '192.0.2.10';
const S = '198.51.100.10';
const ME = '192.0.2.1';
const POD = '198.51.100.20';

/** handle of the rule whose `nft -a list ruleset` line contains `text` */
function handleOf(list: string, text: string): number {
  const line = list.split('\n').find((l) => l.includes(text) && / # handle \d+$/.test(l));
  assert.ok(line, `no rule "${text}" in\n${list}`);
  return Number(/ # handle (\d+)$/.exec(line)![1]);
}

async function run(c: Omit<NftDiffCase, 'host'> & { host?: NftDiffCase['host'] }) {
  return runNftCase({ host: ROUTER, ...c });
}

test('parser: rule, policy, jump/return lines and the packet filter by ip id', () => {
  const text = [
    'trace id d078e608 ip pptrace pre packet: iif "eth0" ip saddr 192.0.2.10 ip daddr 192.0.2.1 ip id 4660 ip protocol udp udp sport 40000 udp dport 7',
    'trace id d078e608 ip pptrace settrace rule meta nftrace set 1 # handle 4 (verdict continue)',
    'trace id d078e608 inet t in packet: iif "eth0" ip saddr 192.0.2.10 ip daddr 192.0.2.1 ip id 4660 ip protocol udp udp sport 40000 udp dport 7 udp length 9',
    'trace id d078e608 inet t in rule jump sub # handle 6 (verdict jump sub)',
    'trace id d078e608 inet t sub rule udp dport 7 counter packets 3 bytes 87 return # handle 8 (verdict return)',
    'trace id d078e608 inet t in policy accept meta mark 0x00000005 ',
    'trace id 0000beef inet t in packet: iif "eth0" ip saddr 192.0.2.10 ip daddr 192.0.2.1 ip id 999 ip protocol udp',
    'trace id 0000beef inet t in policy drop ',
  ].join('\n');
  const evs = parseNftMonitorOutput(text, 'n1', { ipId: 4660 });
  assert.deepEqual(nftKernelKeys(evs), ['inet t in rule 6 jump sub', 'inet t sub rule 8 return', 'inet t in policy accept']);
  assert.equal(evs[1]!.ruleText, 'udp dport 7 counter return');
  assert.equal(evs[2]!.mark, '0x00000005');
  assert.deepEqual([evs[0]!.packet['iif'], evs[0]!.packet['saddr'], evs[0]!.packet['dport'], evs[0]!.packet['l4proto']], ['eth0', C, '7', 'udp']);
});

test('kernel: accept by rule handle N in inet t input; a drop in a later base chain after an accept; policy drop', { skip }, async () => {
  const nft = `table inet t {
  chain input {
    type filter hook input priority 0; policy drop;
    tcp dport 22 accept
    udp dport 53 accept
  }
}
table ip late {
  chain input {
    type filter hook input priority 10; policy accept;
    udp dport 53 drop
  }
}
`;
  const r = await run({
    name: 'h1',
    nft,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 22 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 53 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 23 },
    ],
  });
  const list = r.setup.nftList!;
  const h22 = handleOf(list, 'tcp dport 22 accept');
  const h53 = handleOf(list, 'udp dport 53 accept');
  const hDrop = handleOf(list, 'udp dport 53 drop');
  const [ssh, dns, other] = r.packets;
  assert.deepEqual(ssh!.keys, [`inet t input rule ${h22} accept`, 'ip late input policy accept']);
  assert.deepEqual(ssh!.positionKeys, ['inet t input rule 1 accept', 'ip late input policy accept']);
  assert.equal(ssh!.verdict, 'accept');
  assert.deepEqual(dns!.keys, [`inet t input rule ${h53} accept`, `ip late input rule ${hDrop} drop`]);
  assert.equal(dns!.verdict, 'drop');
  assert.deepEqual(other!.keys, ['inet t input policy drop']);
  assert.equal(other!.events[0]!.packet['iif'], 'eth0');
  assert.equal(other!.events[0]!.packet['dport'], '23');
});

test('kernel: priority decides the order of base chains (-10 before 10, whatever the load order)', { skip }, async () => {
  const nft = `table ip b {
  chain fw {
    type filter hook forward priority 10; policy accept;
    tcp dport 80 drop
  }
}
table ip a {
  chain fw {
    type filter hook forward priority -10; policy accept;
    tcp dport 80 accept
    tcp dport 81 drop
  }
}
`;
  const r = await run({
    name: 'h2',
    nft,
    packets: [
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 81 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 82 },
    ],
  });
  const [p80, p81, p82] = r.packets;
  assert.deepEqual(p80!.positionKeys, ['ip a fw rule 1 accept', 'ip b fw rule 1 drop']);
  assert.equal(p80!.delivered, 'none');
  assert.deepEqual(p81!.positionKeys, ['ip a fw rule 2 drop']);
  assert.deepEqual(p82!.positionKeys, ['ip a fw policy accept', 'ip b fw policy accept']);
  assert.equal(p82!.delivered, `${C}:40000>${S}:82`);
  assert.equal(p82!.events[0]!.packet['oif'], 'eth1');
});

test('kernel: jump and return, goto, falling off a jumped chain prints nothing', { skip }, async () => {
  const nft = `table inet f {
  chain input {
    type filter hook input priority 0; policy drop;
    jump checks
    udp dport 5000 goto tail
    tcp dport 443 accept
  }
  chain checks {
    tcp dport 443 return
    tcp dport 444 accept
  }
  chain tail {
    udp sport 1000 accept
  }
}
`;
  const r = await run({
    name: 'h3',
    nft,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 443 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 444 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', dport: 5000 },
      { from: 'eth0', src: C, dst: ME, proto: 'udp', sport: 1000, dport: 5000 },
    ],
  });
  const [p443, p444, udp, udp1000] = r.packets;
  assert.deepEqual(p443!.positionKeys, ['inet f input rule 1 jump checks', 'inet f checks rule 1 return', 'inet f input rule 3 accept']);
  assert.deepEqual(p444!.positionKeys, ['inet f input rule 1 jump checks', 'inet f checks rule 2 accept']);
  assert.deepEqual(udp!.positionKeys, ['inet f input rule 1 jump checks', 'inet f input rule 2 goto tail', 'inet f input policy drop']);
  assert.deepEqual(udp1000!.positionKeys, ['inet f input rule 1 jump checks', 'inet f input rule 2 goto tail', 'inet f tail rule 1 accept']);
});

test('kernel: iptables-nft FORWARD policy DROP drops what a native table accepted', { skip }, async () => {
  const iptables = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`;
  const nft = `table ip docker-bridges {
  chain forward {
    type filter hook forward priority filter; policy accept;
    tcp dport { 22, 80 } accept
  }
}
`;
  const r = await run({
    name: 'h4',
    nft,
    iptables,
    packets: [
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 80 },
      { from: 'eth0', src: C, dst: S, proto: 'tcp', dport: 22 },
    ],
  });
  const [p80, p22] = r.packets;
  // same priority (filter = 0): the chain registered last (the nft table, loaded after iptables-restore) runs first
  assert.deepEqual(p80!.positionKeys, ['ip docker-bridges forward rule 1 accept', 'ip filter FORWARD policy drop']);
  assert.equal(p80!.verdict, 'drop');
  assert.equal(p80!.delivered, 'none');
  assert.deepEqual(p22!.positionKeys, ['ip docker-bridges forward rule 1 accept', 'ip filter FORWARD rule 1 accept']);
  assert.equal(p22!.events[1]!.ruleText, 'tcp dport 22 counter accept');
  assert.equal(p22!.delivered, `${C}:40000>${S}:22`);
});

test('simulator keys: nft events by position, iptables events in nft spelling, final mark from the last policy line', async () => {
  const { simNftKeys, compareNftRun, kernelFinalMark } = await import('./nft-differential.ts');
  const sim = [
    { language: 'nftables', family: 'inet', table: 't', chain: 'input', kind: 'rule', handle: 9, position: 2, verdict: 'jump sub' },
    { language: 'nftables', family: 'inet', table: 't', chain: 'input', kind: 'policy', verdict: 'accept' },
    { table: 'filter', chain: 'INPUT', kind: 'rule', rule: 3, verdict: 'JUMP:KUBE-X' },
    { table: 'filter', chain: 'KUBE-X', kind: 'rule', rule: 1, verdict: 'RETURN' },
    { table: 'filter', chain: 'INPUT', kind: 'policy', rule: null, verdict: 'DROP' },
  ];
  assert.deepEqual(simNftKeys(sim), ['inet t input rule 2 jump sub', 'inet t input policy accept', 'ip filter INPUT rule 3 jump KUBE-X', 'ip filter KUBE-X rule 1 return', 'ip filter INPUT policy drop']);
  assert.deepEqual(simNftKeys([{ table: 'filter', chain: 'FORWARD', kind: 'rule', rule: 1, verdict: 'ACCEPT' }], 'ipv6'), ['ip6 filter FORWARD rule 1 accept']);
  const events = parseNftMonitorOutput([
    'trace id 00000001 inet t input packet: iif "eth0" ip saddr 192.0.2.10 ip daddr 192.0.2.1 ip id 7 ip protocol tcp tcp sport 40000 tcp dport 22',
    'trace id 00000001 inet t input rule meta mark set 0x00000042 # handle 4 (verdict continue)',
    'trace id 00000001 inet t input policy accept meta mark 0x00000042 ',
  ].join('\n'), 'n1');
  events[0]!.position = 1;
  assert.equal(kernelFinalMark(events), 0x42);
  const k = { packet: { from: 'eth0', src: C, dst: ME, proto: 'tcp' as const }, spec: { from: { node: 'n1', iface: 'eth0' }, src: C, dst: ME, proto: 'tcp' as const }, events, keys: nftKernelKeys(events), positionKeys: nftKernelKeys(events, { by: 'position' }), verdict: 'accept' as const, delivered: 'none', deliveredPackets: [], conntrack: [] };
  const out = (mark: number, verdict = 'continue') => ({ events: [{ language: 'nftables', family: 'inet', table: 't', chain: 'input', kind: 'rule', position: 1, verdict }, { language: 'nftables', family: 'inet', table: 't', chain: 'input', kind: 'policy', verdict: 'accept' }], disposition: 'LOCAL', packet: { mark } });
  assert.equal(compareNftRun(k, [out(0x42)]).ok, true);
  assert.match(compareNftRun(k, [out(0x41)]).detail, /mark differs/);
  assert.match(compareNftRun(k, [out(0x42, 'accept')]).detail, /no simulated path/);
});

test('kernel: DNAT shows in the next packet line, masquerade, marks on policy lines, IPv6 by flow label', { skip }, async () => {
  const nft = `table inet nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8080 dnat ip to 198.51.100.20:80
    tcp dport 8080 dnat ip6 to [2001:db8:a::20]:80
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth1" masquerade
  }
}
table inet f {
  chain fw {
    type filter hook forward priority 0; policy accept;
    tcp dport 80 meta mark set 0x00000007
  }
}
`;
  const host = {
    interfaces: [
      { name: 'eth0', addresses: ['192.0.2.1/24', '2001:db8:1::1/64'] },
      { name: 'eth1', addresses: ['198.51.100.1/24', '2001:db8:2::1/64'] },
    ],
    routes: [{ dst: '2001:db8:a::/64', via: '2001:db8:2::fe', dev: 'eth1' }],
    forwarding: true,
  };
  const r = await run({
    name: 'h5',
    nft,
    host,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8080 },
      { from: 'eth0', src: '2001:db8:1::10', dst: '2001:db8:1::1', proto: 'tcp', dport: 8080 },
    ],
  });
  const [v4, v6] = r.packets;
  assert.deepEqual(v4!.positionKeys, ['inet nat pre rule 1 accept', 'inet f fw rule 1 continue', 'inet f fw policy accept', 'inet nat post rule 1 accept']);
  assert.equal(v4!.events[0]!.packet['daddr'], ME);
  assert.deepEqual([v4!.events[1]!.packet['daddr'], v4!.events[1]!.packet['dport'], v4!.events[1]!.packet['oif']], [POD, '80', 'eth1']);
  assert.equal(v4!.events[2]!.mark, '0x00000007');
  assert.equal(v4!.mark, '0x00000007');
  assert.equal(v4!.delivered, `198.51.100.1:40000>${POD}:80`);
  // an inet `dnat ip to` rule matches an IPv6 packet but does nothing: the kernel reports `continue`
  assert.deepEqual(v6!.positionKeys, ['inet nat pre rule 1 continue', 'inet nat pre rule 2 accept', 'inet f fw rule 1 continue', 'inet f fw policy accept', 'inet nat post rule 1 accept']);
  assert.equal(v6!.events[2]!.packet['daddr'], '2001:db8:a::20');
  assert.ok(v6!.events.every((e) => e.family === 'inet'));
  assert.equal(v6!.delivered, `2001:db8:2::1:40000>2001:db8:a::20:80`);
});

test('nftLoadAndList: the kernel listing of every case ruleset, and a clear error for bad text', { skip }, async () => {
  const { nftLoadAndList } = await import('./nft-differential.ts');
  const { NFT_CASES } = await import('./cases/nft.ts');
  for (const c of NFT_CASES) {
    const r = await nftLoadAndList(c.nft);
    assert.ok(r.ok, `${c.name}: ${r.ok ? '' : r.stderr}`);
    // the kernel's listing loads again and lists the same (what the printer round trip relies on)
    const again = await nftLoadAndList(r.listing);
    assert.ok(again.ok && again.listing === r.listing, c.name);
  }
  const bad = await nftLoadAndList('table ip t { chain c { type filter hook input priority 0; policy maybe; } }\n');
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.stderr, /Error/);
});

test('kernel: the first nat chain that binds a mapping ends the hook for nat; notrack skips nat', { skip }, async () => {
  const nft = `table ip early {
  chain pre {
    type nat hook prerouting priority dstnat - 10; policy accept;
    tcp dport 8080 dnat to 198.51.100.10:80
    tcp dport 9091 counter
  }
}
table ip late {
  chain pre {
    type nat hook prerouting priority dstnat + 10; policy accept;
    tcp dport { 8080, 9091 } dnat to 198.51.100.11:80
  }
}
table ip raw {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    tcp dport 7000 notrack
  }
}
`;
  const r = await run({
    name: 'h6',
    nft,
    packets: [
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 8080 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 9091 },
      { from: 'eth0', src: C, dst: ME, proto: 'tcp', dport: 7000 },
    ],
  });
  const [bound, passed, untracked] = r.packets;
  assert.deepEqual(bound!.positionKeys, ['ip raw pre policy accept', 'ip early pre rule 1 accept']);
  assert.equal(bound!.delivered, `${C}:40000>198.51.100.10:80`);
  assert.deepEqual(passed!.positionKeys, ['ip raw pre policy accept', 'ip early pre rule 2 continue', 'ip early pre policy accept', 'ip late pre rule 1 accept']);
  assert.equal(passed!.delivered, `${C}:40000>198.51.100.11:80`);
  assert.deepEqual(untracked!.positionKeys, ['ip raw pre rule 1 continue', 'ip raw pre policy accept']);
});
