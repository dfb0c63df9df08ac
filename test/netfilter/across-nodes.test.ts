// Issue "across nodes": the seed 004 story end to end, what-if changes,
// lints and the probe-based semantic diff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyRuleChanges, buildHost, lintRuleset, parseDump, parseNftText, semanticDiff, traceCluster, validatePacket, type ClusterNode } from '../../src/netfilter/index.ts';
import { FIXTURES } from '../support/paths.ts';
import { BOTH_ENDPOINTS, ENDPOINT_NODE_HOST, KUBE_WEB_IPTABLES, kubeWebNft } from '../support/stories.ts';

const D = join(FIXTURES, 'seed004');
function node(name: string): ClusterNode {
  const h = buildHost(JSON.parse(readFileSync(join(D, `${name}.host.json`), 'utf8')));
  assert.ok(h.ok);
  return { name, ruleset: parseDump(readFileSync(join(D, `${name}.txt`), 'utf8')).ruleset, host: h.host };
}
const browser = () => {
  const v = validatePacket({ src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'eth0' });
  assert.ok(v.ok);
  return v.packet;
};

test('seed 004: the browser packet dies at node02 filter FORWARD policy DROP, with the why and the fix', () => {
  const r = traceCluster([node('master'), node('node02')], 'master', browser());
  assert.equal(r.paths.length, 2);
  const drop = r.paths.find((p) => p.endNode === 'node02')!;
  assert.equal(drop.end, 'DROPPED');
  assert.equal(drop.probability, 0.5);
  assert.deepEqual(drop.hops.map((h) => [h.node, h.inInterface, h.outcome.disposition]), [['master', 'eth0', 'FORWARDED'], ['node02', 'flannel.1', 'DROPPED']]);
  const onMaster = drop.hops[0]!.outcome;
  assert.equal(onMaster.packet.src, '10.224.0.0', 'masqueraded to flannel.1');
  assert.equal(onMaster.packet.dst, '10.224.2.16');
  assert.equal(onMaster.nextHop, '10.224.2.0');
  const ex = drop.hops[1]!.outcome.explanation!;
  assert.match(ex.summary, /dropped on node02 by the filter FORWARD policy DROP/);
  assert.ok(ex.nearMisses.includes('filter KUBE-FORWARD rule 2 would ACCEPT, but the mark is 0x0, not 0x4000/0x4000'), ex.nearMisses.join('\n'));
  assert.ok(ex.nearMisses.some((n) => /FORWARD rule 12 would ACCEPT, but the source 10\.224\.0\.0 is not in 10\.244\.0\.0\/16/.test(n)));
  assert.match(ex.origin!, /Docker sets the filter FORWARD policy to DROP/);
  assert.deepEqual(ex.fix, ['iptables -I DOCKER-USER -i flannel.1 -o cni0 -j ACCEPT', 'iptables -A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT']);
  const masterEx = onMaster.explanation!;
  assert.ok(masterEx.changes.some((c) => c.startsWith('mark 0x0 → 0x4000 — nat KUBE-MARK-MASQ rule 1')));
  assert.ok(masterEx.changes.some((c) => c.startsWith('DNAT to 10.224.2.16:80 — nat KUBE-SEP-EKAXC3AGUDPBQ32C rule 2')));
  assert.ok(masterEx.changes.some((c) => c.startsWith('MASQUERADE: source becomes 10.224.0.0')));
  const other = r.paths.find((p) => p !== drop)!;
  assert.equal(other.end, 'LEFT_CLUSTER', 'node01 is not in the cluster: the trace says so');
  assert.match(other.summary, /no known node owns/);
});

test("seed 004: the article's fix as a what-if rule lets the packet reach the pod", () => {
  const n2 = node('node02');
  const fixed = applyRuleChanges(n2.ruleset, ['iptables -A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT']);
  assert.ok(fixed.ok);
  const r = traceCluster([node('master'), { ...n2, ruleset: fixed.ruleset }], 'master', browser());
  const toPod = r.paths.find((p) => p.endNode === 'node02')!;
  assert.equal(toPod.end, 'LEFT_CLUSTER');
  assert.match(toPod.summary, /reaches 10\.224\.2\.16 on node02's cni0 link/);
  const last = toPod.hops[1]!.outcome.events.at(-1)!;
  assert.equal(last.text, '-A FORWARD -d 10.224.2.0/24 -i flannel.1 -j ACCEPT');
  assert.equal(toPod.hops[1]!.outcome.disposition, 'FORWARDED');
});

test('what-if: -I, -D, -P and -t apply in order; refused commands name the change', () => {
  const rs = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 192.0.2.0/24 -j DROP\nCOMMIT\n').ruleset;
  const r = applyRuleChanges(rs, ['-I FORWARD 1 -d 198.51.100.7/32 -j ACCEPT', '-D FORWARD -s 192.0.2.0/24 -j DROP', '-P FORWARD ACCEPT', 'iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE']);
  assert.ok(r.ok);
  const f = r.ruleset.tables.find((t) => t.name === 'filter')!.chains.find((c) => c.name === 'FORWARD')!;
  assert.equal(f.policy, 'ACCEPT');
  assert.deepEqual(f.rules.map((x) => x.raw), ['-I FORWARD 1 -d 198.51.100.7/32 -j ACCEPT'], 'each rule keeps the text that created it');
  assert.ok(r.ruleset.tables.some((t) => t.name === 'nat'));
  const bad = applyRuleChanges(rs, ['-A FORWARD -j ACCEPT', '-D FORWARD 9', 'rm -rf /']);
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.errors.map((e) => e.change), [2]);
  const bad2 = applyRuleChanges(rs, ['-D FORWARD 9']);
  assert.equal(bad2.ok, false);
  assert.match(!bad2.ok ? bad2.errors[0]!.message : '', /no rule 9/);
});

const LINT_DUMP = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
:KUBE-SEP-3 - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-SERVICES ! -s 10.244.0.0/16 -d 10.96.0.5/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -d 10.96.0.5/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SEP-1 -p tcp -j DNAT --to-destination 10.244.1.5:8080
-A KUBE-SEP-2 -p tcp -j DNAT --to-destination 10.244.2.5:8080
-A KUBE-SEP-3 -p tcp -j DNAT --to-destination 10.244.3.5:8080
-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1
-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-2
-A KUBE-SVC-A -j KUBE-SEP-3
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:KUBE-SERVICES - [0:0]
:LOOP-A - [0:0]
:LOOP-B - [0:0]
:ORPHAN - [0:0]
-A INPUT -s 192.0.2.0/24 -j ACCEPT
-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -j DROP
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -j LOOP-A
-A INPUT -j MISSING
-A FORWARD -j DOCKER-USER
-A FORWARD -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.9/32 -p tcp -m comment --comment "default/empty:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A LOOP-A -j LOOP-B
-A LOOP-B -j LOOP-A
COMMIT
`;

test('lints: every finding on one fixture', () => {
  const parsed = parseDump('# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n' + LINT_DUMP);
  const f = lintRuleset({ ruleset: parsed.ruleset, diagnostics: parsed.diagnostics });
  const codes = (code: string) => f.filter((x) => x.code === code);
  assert.equal(codes('undefined-chain').length, 1);
  assert.match(codes('undefined-chain')[0]!.message, /MISSING/);
  assert.match(codes('chain-loop')[0]!.message, /LOOP-A → LOOP-B → LOOP-A|LOOP-B → LOOP-A → LOOP-B/);
  assert.deepEqual(codes('unreferenced-chain').map((x) => x.chain), ['ORPHAN']);
  assert.deepEqual(codes('shadowed-rule').map((x) => [x.chain, x.rule]), [['INPUT', 2]]);
  assert.deepEqual(codes('duplicate-rule').map((x) => [x.chain, x.rule]), [['INPUT', 4]]);
  assert.equal(codes('forward-drop-pod-traffic').length, 1);
  assert.equal(codes('masquerade-unreachable').length, 1);
  assert.match(codes('service-without-endpoints')[0]!.message, /default\/empty:http/);
  assert.match(codes('uneven-load-balancing')[0]!.message, /50\.0%, 25\.0%, 25\.0%/);
  assert.equal(codes('legacy-and-nft').length, 1);
  for (const x of f) assert.ok(x.explanation.length > 10 && ['error', 'warning', 'info'].includes(x.severity));
});

test('lints: a clean kube-proxy ruleset has no Kubernetes findings', () => {
  const fixed = LINT_DUMP.replace('-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1', '-A KUBE-SVC-A -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-1')
    .replace(':KUBE-SEP-3 - [0:0]', ':KUBE-SEP-3 - [0:0]\n:KUBE-POSTROUTING - [0:0]')
    .replace('-A PREROUTING -j KUBE-SERVICES', '-A PREROUTING -j KUBE-SERVICES\n-A POSTROUTING -j KUBE-POSTROUTING\n-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE');
  const f = lintRuleset({ ruleset: parseDump(fixed).ruleset });
  assert.deepEqual(f.filter((x) => ['uneven-load-balancing', 'masquerade-unreachable'].includes(x.code)), []);
});

test('semantic diff: probes whose outcomes differ between master and node02', () => {
  const d = semanticDiff(node('master').ruleset, node('node02').ruleset);
  assert.ok(d.probes > 10);
  const svc = d.differences.find((x) => x.probe.dst === '10.108.94.160' && x.probe.dport === 80);
  assert.ok(svc, JSON.stringify(d.differences.map((x) => x.probe)));
  assert.deepEqual(svc.left, ['ACCEPT FORWARDED 10.224.1.14:80 (50.0%)', 'ACCEPT FORWARDED 10.224.2.16:80 (50.0%)']);
  assert.deepEqual(svc.right, ['ACCEPT FORWARDED 10.108.94.160:80 (100.0%)']);
  const same = semanticDiff(node('master').ruleset, node('master').ruleset);
  assert.deepEqual(same.differences, []);
});

// Issue 14.4: a cluster in the middle of the move to nftables. master is in iptables mode (seed 004's
// dump: DNAT and masquerade to node02's pod); node02 has no iptables rules at all, only native nft
// tables, and its forward base chain decides.
const NODE02_NFT = (extra: string) => `table inet filter {
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t\tct state established,related accept
${extra}\t}
}
table ip docker-bridges {
\tchain filter-FORWARD {
\t\ttype filter hook forward priority filter; policy accept;
\t\toifname "docker0" drop
\t}
}
`;

function nftNode02(extra: string): ClusterNode {
  const parsed = parseNftText(NODE02_NFT(extra));
  assert.deepEqual(parsed.diagnostics, []);
  return { ...node('node02'), ruleset: { family: 'ipv4', tables: [] }, nftables: parsed.ruleset };
}

test('a cluster across modes: the packet DNATed and masqueraded by iptables on master meets node02 nftables forward chains', () => {
  const dropped = traceCluster([node('master'), nftNode02('')], 'master', browser());
  const drop = dropped.paths.find((p) => p.endNode === 'node02')!;
  assert.equal(drop.end, 'DROPPED');
  assert.equal(drop.probability, 0.5);
  const hop = drop.hops[1]!;
  assert.equal(hop.inInterface, 'flannel.1');
  assert.equal(hop.outcome.explanation!.summary, 'The packet is dropped on node02 by the nft inet filter forward policy drop.');
  assert.equal(hop.outcome.packet.dst, '10.224.2.16', 'the DNAT of master carried across');
  assert.equal(hop.outcome.packet.src, '10.224.0.0', 'and its masquerade');
  const last = hop.outcome.events.at(-1)!;
  assert.deepEqual([last.language, last.family, last.table, last.chain, last.kind, last.verdict], ['nftables', 'inet', 'filter', 'forward', 'policy', 'drop']);
  // docker-bridges' accept (policy) ran first at the same priority and did not save the packet.
  assert.ok(hop.outcome.events.some((e) => e.table === 'docker-bridges' && e.chain === 'filter-FORWARD'), JSON.stringify(hop.outcome.events.map((e) => `${e.table}/${e.chain}`)));

  const open = traceCluster([node('master'), nftNode02('\t\tiifname "flannel.1" ip daddr 10.224.2.0/24 accept\n')], 'master', browser());
  const toPod = open.paths.find((p) => p.endNode === 'node02')!;
  assert.equal(toPod.end, 'LEFT_CLUSTER');
  assert.match(toPod.summary, /reaches 10\.224\.2\.16 on node02's cni0 link/);
  const accept = toPod.hops[1]!.outcome.events.at(-1)!;
  assert.equal(accept.text, 'iifname "flannel.1" ip daddr 10.224.2.0/24 accept');
  assert.equal(accept.verdict, 'accept');
});

// Issue 14.5: a node in kube-proxy's iptables mode and one in nftables mode compare by outcome.
test('semantic diff across kube-proxy modes: the same Service in iptables and nftables mode has no probe that differs; a lost endpoint has', () => {
  const hostOf = (): ClusterNode['host'] => {
    const h = buildHost(ENDPOINT_NODE_HOST);
    assert.ok(h.ok);
    return h.host;
  };
  const iptables = parseDump(KUBE_WEB_IPTABLES).ruleset;
  const none = parseDump('').ruleset;
  const same = parseNftText(kubeWebNft(BOTH_ENDPOINTS));
  assert.deepEqual(same.diagnostics, []);
  const d = semanticDiff(iptables, none, { leftHost: hostOf(), rightHost: hostOf(), rightNft: same.ruleset });
  assert.ok(d.probes > 0);
  assert.ok(d.differences.every((x) => x.probe.dst !== '203.0.113.80'), JSON.stringify(d.differences.filter((x) => x.probe.dst === '203.0.113.80')));
  const lost = parseNftText(kubeWebNft('\t\tgoto endpoint-a\n'));
  const d2 = semanticDiff(iptables, none, { leftHost: hostOf(), rightHost: hostOf(), rightNft: lost.ruleset });
  const web = d2.differences.find((x) => x.probe.dst === '203.0.113.80' && x.probe.dport === 80 && x.probe.protocol === 'tcp');
  assert.ok(web, 'the Service probe differs');
  assert.deepEqual(web.left, ['ACCEPT FORWARDED 198.51.100.11:8080 (50.0%)', 'ACCEPT FORWARDED 198.51.100.12:8080 (50.0%)']);
  assert.deepEqual(web.right, ['ACCEPT FORWARDED 198.51.100.11:8080 (100.0%)']);
});
