// Issue 14.3: a node is one netfilter with many owners. The trace lists the
// base chains each path ran, hook by hook in the kernel's order, whose they
// are, and which one decided; the Docker 29 story reads from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHost, formatTraceText, parseDump, parseNftText, traceNode, validatePacket } from '../../src/netfilter/index.ts';
import { ownerOfTable } from '../../src/netfilter/analysis/owners.ts';
import { DOCKER29_NFT, DOCKER_CLIENT, DOCKER_HOST, iptablesForward } from '../support/stories.ts';

const host = () => {
  const h = buildHost(DOCKER_HOST);
  assert.ok(h.ok, h.ok ? '' : h.errors.join('; '));
  return h.host;
};
const client = (dst = DOCKER_CLIENT.dst, dport = DOCKER_CLIENT.dport) => {
  const v = validatePacket({ ...DOCKER_CLIENT, dst, dport });
  assert.ok(v.ok);
  return v.packet;
};

test('Docker 29 (nftables): filter-FORWARD accepts the published port, the iptables FORWARD policy DROP still drops it', () => {
  const nft = parseNftText(DOCKER29_NFT);
  assert.deepEqual(nft.diagnostics, []);
  const r = traceNode({ iptables: parseDump(iptablesForward('DROP')).ruleset, nftables: nft.ruleset }, client(), { host: host(), explain: true, node: 'docker-host' });
  assert.equal(r.outcomes.length, 1);
  const o = r.outcomes[0]!;
  assert.equal(o.disposition, 'DROPPED');
  assert.equal(o.packet.dst, '172.17.0.2', 'Docker DNATed the published port');
  assert.deepEqual(
    o.baseChains!.map((b) => [b.hook, b.language, b.family ?? '-', b.table, b.chain, b.priority, b.owner, b.verdict, b.decided]),
    [
      ['PREROUTING', 'nftables', 'ip', 'docker-bridges', 'nat-PREROUTING', -100, 'Docker (nftables backend)', 'accept', false],
      ['FORWARD', 'nftables', 'ip', 'docker-bridges', 'filter-FORWARD', 0, 'Docker (nftables backend)', 'accept', false],
      ['FORWARD', 'iptables', '-', 'filter', 'FORWARD', 0, 'iptables (nft backend)', 'DROP', true],
    ],
  );
  assert.deepEqual(o.baseChains!.map((b) => b.byPolicy), [false, false, true], 'the iptables FORWARD chain decided by its policy');
  const ex = o.explanation!;
  assert.equal(ex.summary, 'The packet is dropped on docker-host by the filter FORWARD policy DROP.');
  assert.match(ex.origin!, /the nft chain ip docker-bridges filter-FORWARD \(Docker \(nftables backend\)\) accepted the packet, but in nftables an accept ends only its own base chain: the iptables filter FORWARD chain \(iptables \(nft backend\), priority 0\) at the same FORWARD hook still ran and dropped it/);
  assert.deepEqual(ex.fix, ['iptables -t filter -I FORWARD -i eth0 -o docker0 -d 172.17.0.2 -j ACCEPT']);
  const text = formatTraceText(r);
  assert.match(text, / {4}FORWARD {8}0 {2}nft ip docker-bridges filter-FORWARD \(Docker \(nftables backend\)\) → accept\n {4}FORWARD {8}0 {2}iptables filter FORWARD \(iptables \(nft backend\)\) → DROP {2}← decided/);

  // With the policy ACCEPT the packet is forwarded; no base chain decided.
  const open = traceNode({ iptables: parseDump(iptablesForward('ACCEPT')).ruleset, nftables: nft.ruleset }, client(), { host: host(), explain: true });
  assert.equal(open.outcomes[0]!.disposition, 'FORWARDED');
  assert.ok(open.outcomes[0]!.baseChains!.every((b) => !b.decided));
});

test('an nft drop decides; two base chains of one table at one hook are two runs', () => {
  const nft = parseNftText(`table inet firewalld {
\tchain filter_FORWARD {
\t\ttype filter hook forward priority filter + 10; policy accept;
\t\toifname "docker0" ip daddr 172.17.0.2 drop
\t}
\tchain filter_FORWARD_early {
\t\ttype filter hook forward priority filter - 10; policy accept;
\t}
}
`);
  assert.deepEqual(nft.diagnostics, []);
  const r = traceNode({ iptables: parseDump(iptablesForward('ACCEPT')).ruleset, nftables: nft.ruleset }, client('172.17.0.2', 80), { host: host(), explain: true });
  const o = r.outcomes[0]!;
  assert.equal(o.disposition, 'DROPPED');
  assert.deepEqual(
    o.baseChains!.filter((b) => b.hook === 'FORWARD').map((b) => [b.table, b.chain, b.priority, b.owner, b.verdict, b.decided]),
    [
      ['firewalld', 'filter_FORWARD_early', -10, 'firewalld', 'accept', false],
      ['filter', 'FORWARD', 0, 'iptables (nft backend)', 'ACCEPT', false],
      ['firewalld', 'filter_FORWARD', 10, 'firewalld', 'drop', true],
    ],
  );
  assert.match(o.explanation!.summary, /dropped by nft inet firewalld filter_FORWARD rule 1 \(oifname "docker0" ip daddr 172\.17\.0\.2 drop\)/);
});

test('owners: iptables by backend, nft tables by the names their owners give them, else unknown', () => {
  const cases: [Parameters<typeof ownerOfTable>, string][] = [
    [['iptables', 'filter'], 'iptables (nft backend)'],
    [['iptables', 'nat', 'legacy'], 'iptables (legacy backend)'],
    [['nftables', 'kube-proxy'], 'kube-proxy (nftables mode)'],
    [['nftables', 'docker-bridges'], 'Docker (nftables backend)'],
    [['nftables', 'netavark'], 'netavark (Podman)'],
    [['nftables', 'flannel-ipv4'], 'flannel (nftables mode)'],
    [['nftables', 'calico'], 'Calico (nftables data plane)'],
    [['nftables', 'my-table'], 'unknown'],
  ];
  for (const [args, owner] of cases) assert.equal(ownerOfTable(...args), owner, args.join(' '));
});

test("kube-proxy nftables mode: a Service without endpoints is rejected by kube-proxy's reject-chain, explained as such", async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { FIXTURES } = await import('../support/paths.ts');
  const { parseNftJson } = await import('../../src/netfilter/index.ts');
  const kp = parseNftJson(readFileSync(join(FIXTURES, 'nft', 'kube-proxy-mini.json'), 'utf8')).ruleset;
  const h = buildHost(JSON.parse(readFileSync(join(FIXTURES, 'nft', 'kube-proxy-mini.host.json'), 'utf8')));
  assert.ok(h.ok);
  const v = validatePacket({ src: '192.0.2.50', dst: '203.0.113.10', protocol: 'udp', sport: 40000, dport: 53, inInterface: 'eth0' });
  assert.ok(v.ok);
  const o = traceNode({ nftables: kp }, v.packet, { host: h.host, explain: true }).outcomes[0]!;
  assert.equal(o.disposition, 'REJECTED');
  assert.equal(o.explanation!.origin, 'kube-proxy rejects traffic to a Service that has no ready endpoints.');
  assert.deepEqual(o.baseChains!.filter((b) => b.decided).map((b) => [b.table, b.chain, b.owner]), [['kube-proxy', 'filter-forward', 'kube-proxy (nftables mode)']]);
});

// Issue 14 done-when: a node with iptables-legacy, iptables-nft and native nft rules at once.
const LEGACY_FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j DROP
COMMIT
`;
const NFT_BACKEND_FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -o docker0 -j ACCEPT
COMMIT
`;

test('both iptables backends: a legacy drop overrides the iptables-nft accept; events, base chains and text say which backend', () => {
  const nft = parseNftText(DOCKER29_NFT).ruleset;
  const legacy = parseDump(LEGACY_FILTER).ruleset;
  const r = traceNode({ iptables: parseDump(NFT_BACKEND_FILTER).ruleset, nftables: nft, legacy }, client(), { host: host(), explain: true, node: 'mixed' });
  assert.equal(r.outcomes.length, 1);
  const o = r.outcomes[0]!;
  assert.equal(o.disposition, 'DROPPED');
  assert.deepEqual(
    o.events.filter((e) => e.hook === 'FORWARD').map((e) => [e.language ?? 'iptables', e.backend ?? '-', e.table, e.chain, e.verdict]),
    [
      ['nftables', '-', 'docker-bridges', 'filter-FORWARD', 'jump filter-forward-in__docker0'],
      ['nftables', '-', 'docker-bridges', 'filter-forward-in__docker0', 'accept'],
      ['iptables', '-', 'filter', 'FORWARD', 'ACCEPT'],
      ['iptables', 'legacy', 'filter', 'FORWARD', 'DROP'],
    ],
  );
  assert.deepEqual(
    o.baseChains!.filter((b) => b.hook === 'FORWARD').map((b) => [b.language, b.backend ?? '-', b.table, b.priority, b.owner, b.verdict, b.decided]),
    [
      ['nftables', '-', 'docker-bridges', 0, 'Docker (nftables backend)', 'accept', false],
      ['iptables', '-', 'filter', 0, 'iptables (nft backend)', 'ACCEPT', false],
      ['iptables', 'legacy', 'filter', 0, 'iptables (legacy backend)', 'DROP', true],
    ],
    'on a priority tie the legacy table (the oldest registration) runs last',
  );
  assert.ok(r.warnings.some((w) => /iptables-legacy filter and .*share priority 0.*legacy table is the oldest/.test(w)), r.warnings.join('\n'));
  const ex = o.explanation!;
  assert.equal(ex.summary, 'The packet is dropped on mixed by iptables-legacy filter FORWARD rule 1 (-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j DROP).');
  assert.match(ex.origin!, /Docker \(nftables backend\)\) accepted the packet; the iptables filter FORWARD chain \(iptables \(nft backend\)\) accepted the packet, but in nftables an accept ends only its own base chain: the iptables-legacy filter FORWARD chain \(iptables \(legacy backend\), priority 0\)/);
  assert.equal(ex.fix![0], 'iptables-legacy -t filter -I FORWARD -i eth0 -o docker0 -d 172.17.0.2 -j ACCEPT');
  assert.match(formatTraceText(r), /iptables-legacy filter FORWARD #1 +→ DROP[\s\S]*iptables-legacy filter FORWARD \(iptables \(legacy backend\)\) → DROP {2}← decided/);

  // Without the legacy tables the same packet is forwarded: they are what dropped it.
  const without = traceNode({ iptables: parseDump(NFT_BACKEND_FILTER).ruleset, nftables: nft }, client(), { host: host() });
  assert.equal(without.outcomes[0]!.disposition, 'FORWARDED');
});

test('both iptables backends: the first nat table to bind a mapping ends the hook\'s NAT (legacy nat runs after nft-backend nat on a tie)', () => {
  const nat = (to: string) => `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${to}\nCOMMIT\n`;
  const r = traceNode({ iptables: parseDump(nat('172.17.0.3:80')).ruleset, legacy: parseDump(nat('172.17.0.4:80')).ruleset }, client(), { host: host(), explain: true });
  const o = r.outcomes[0]!;
  assert.equal(o.packet.dst, '172.17.0.3', 'the iptables-nft nat table bound the mapping first');
  assert.deepEqual(o.events.filter((e) => e.hook === 'PREROUTING').map((e) => `${e.backend ?? 'nft-backend'} ${e.table} ${e.verdict}`), ['nft-backend nat ACCEPT']);
  // Legacy alone: its mapping.
  const alone = traceNode({ legacy: parseDump(nat('172.17.0.4:80')).ruleset }, client(), { host: host() });
  assert.equal(alone.outcomes[0]!.packet.dst, '172.17.0.4');
});
