// Trace drawings: the seed 004 story across the cluster and on node02 alone,
// and a statistic fork with its probabilities, folded past the lane cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildHost, parseDump, parseNftText, traceCluster, traceNode, tracePacket, validatePacket, type ClusterNode, type PacketInput } from '../../src/netfilter/index.ts';
import { Tone, type DrawNode, type Drawing } from '../../src/netfilter/analysis/draw/drawing.ts';
import { drawClusterTrace, drawTrace } from '../../src/netfilter/analysis/draw/trace.ts';
import { FIXTURES } from '../support/paths.ts';
import { DOCKER29_NFT, DOCKER_CLIENT, DOCKER_HOST, iptablesForward } from '../support/stories.ts';

const D = join(FIXTURES, 'seed004');
function seedNode(name: string): ClusterNode {
  const h = buildHost(JSON.parse(readFileSync(join(D, `${name}.host.json`), 'utf8')));
  assert.ok(h.ok);
  return { name, ruleset: parseDump(readFileSync(join(D, `${name}.txt`), 'utf8')).ruleset, host: h.host };
}
function packet(input: PacketInput) {
  const v = validatePacket(input);
  assert.ok(v.ok);
  return v.packet;
}
const BROWSER: PacketInput = { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'eth0' };

/** The frames a box sits in, innermost first. */
function framesOf(d: Drawing, n: DrawNode): string[] {
  const byId = new Map(d.frames.map((f) => [f.id, f]));
  const out: string[] = [];
  for (let f = n.frame; f !== undefined; f = byId.get(f)?.parent) out.push(byId.get(f)!.label);
  return out;
}

/** The boxes from `from` on, following arrows, in the order of the first path (near misses and assumptions aside). */
function walk(d: Drawing, from: string, choose: (ids: string[]) => string | undefined): DrawNode[] {
  const byId = new Map(d.nodes.map((n) => [n.id, n]));
  const out: DrawNode[] = [];
  for (let at: string | undefined = from; at !== undefined; ) {
    out.push(byId.get(at)!);
    const next = d.edges.filter((e) => e.from === at && e.tone !== Tone.NearMiss && e.tone !== Tone.Assumed).map((e) => e.to);
    at = choose(next);
  }
  return out;
}

function checkNode02Drop(d: Drawing): void {
  const node02 = d.frames.find((f) => f.label === 'node02' && f.parent === undefined);
  assert.ok(node02, 'a frame for node02');
  const decisive = d.nodes.filter((n) => n.tone === Tone.Decisive);
  assert.equal(decisive.length, 1, 'one deciding box');
  assert.deepEqual(decisive[0]!.label, ['filter FORWARD policy DROP']);
  assert.deepEqual(framesOf(d, decisive[0]!), ['filter FORWARD · iptables (nft backend) · priority 0', 'FORWARD', 'node02']);
  const into = d.edges.filter((e) => e.to === decisive[0]!.id);
  assert.ok(into.length === 1 && into[0]!.tone === Tone.Decisive, 'the arrow into it is decisive too');
  const misses = d.nodes.filter((n) => n.tone === Tone.NearMiss && framesOf(d, n).includes('node02'));
  const heads = misses.map((n) => n.label[0]);
  for (const want of ['KUBE-FORWARD #2 would ACCEPT', 'FORWARD #12 would ACCEPT', 'FORWARD #13 would ACCEPT']) assert.ok(heads.includes(want), `${want} in ${heads.join(' | ')}`);
  const twelve = misses.find((n) => n.label[0] === 'FORWARD #12 would ACCEPT')!;
  assert.equal(twelve.label[2], 'but the source 10.224.0.0 is not in 10.244.0.0/16');
  const anchor = d.edges.find((e) => e.to === twelve.id)!;
  assert.equal(anchor.style, 'dashed');
  assert.match(d.nodes.find((n) => n.id === anchor.from)!.label[0]!, /^FORWARD #7 /, 'hung after the last rule before it that acted');
  const end = d.nodes.find((n) => d.edges.some((e) => e.from === decisive[0]!.id && e.to === n.id))!;
  assert.equal(end.tone, Tone.Drop);
}

test('seed 004 across the cluster: master then node02, hooks in order, the drop at node02 FORWARD policy DROP decisive, near misses', () => {
  const r = traceCluster([seedNode('master'), seedNode('node02')], 'master', packet(BROWSER), { explain: true });
  const d = drawClusterTrace(r, { packet: BROWSER });
  assert.match(d.title, /192\.0\.2\.100:51000 → 10\.108\.94\.160:80/);
  checkNode02Drop(d);
  // Follow the path that reaches node02: its boxes' nodes and hooks in order.
  const reaches = (id: string): boolean => d.nodes.find((n) => n.id === id)!.label[0]! === 'filter FORWARD policy DROP' || d.edges.some((e) => e.from === id && e.tone !== Tone.NearMiss && reaches(e.to));
  const path = walk(d, 'start', (ids) => ids.find(reaches) ?? ids[0]);
  const seen: string[] = [];
  for (const n of path.slice(1)) {
    const f = framesOf(d, n);
    const where = f.length >= 2 ? `${f[f.length - 1]} ${f[f.length - 2]}` : f.join(' ');
    if (seen[seen.length - 1] !== where) seen.push(where);
  }
  assert.deepEqual(seen, ['master', 'master PREROUTING', 'master FORWARD', 'master POSTROUTING', 'node02', 'node02 FORWARD', 'node02']);
  const hop = d.edges.find((e) => e.label?.startsWith('out flannel.1 via 10.224.2.0'));
  assert.ok(hop, 'the arrow between the nodes names the interface and next hop');
  assert.deepEqual(d.nodes.find((n) => n.id === hop.to)!.label, ['in flannel.1']);
  // The kube-proxy fork on master: one arrow per endpoint with its probability.
  const fork = d.nodes.find((n) => n.label[0]!.startsWith('KUBE-MARK-MASQ #1'))!;
  assert.deepEqual(d.edges.filter((e) => e.from === fork.id).map((e) => e.label), ['50%', '50%']);
  const svcFrame = framesOf(d, fork);
  assert.deepEqual(svcFrame, ['nat PREROUTING · iptables (nft backend) · priority -100', 'PREROUTING', 'master']);
  const ends = d.nodes.filter((n) => !d.edges.some((e) => e.from === n.id) && n.tone !== Tone.NearMiss && n.tone !== Tone.Assumed && n.id !== '_legend');
  assert.deepEqual(ends.map((n) => n.label[0]).sort(), ['DROPPED on node02', 'LEFT_CLUSTER on master']);
  assert.ok(d.notes.some((n) => n.startsWith('50%: DROPPED on node02')));
});

test('seed 004 on node02 alone: the same drop, decisive, with its near misses', () => {
  const n = seedNode('node02');
  const input: PacketInput = { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' };
  const r = tracePacket(n.ruleset, packet(input), { host: n.host, explain: true, node: 'node02' });
  const d = drawTrace(r, { node: 'node02', packet: input });
  checkNode02Drop(d);
  assert.match(d.title, /on node02$/);
  const path = walk(d, 'start', (ids) => ids[0]);
  assert.deepEqual(path[1]!.label, ['in flannel.1']);
  assert.deepEqual(path.slice(2, -1).map((b) => b.label[0]!.split(' ')[0]), ['FORWARD', 'FORWARD', 'FORWARD', 'FORWARD', 'FORWARD', 'FORWARD', 'FORWARD', 'FORWARD', 'filter']);
  assert.equal(path[path.length - 1]!.label[0], 'DROPPED');
  assert.deepEqual(d.notes.slice(0, 1), ['100%: DROPPED — policy DROP of filter/FORWARD']);
});

test('events that real traffic counted lately (hits, from the counter history) say so in their box; a rule that counted nothing does not', () => {
  const n = seedNode('node02');
  const input: PacketInput = { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' };
  const r = tracePacket(n.ruleset, packet(input), { host: n.host, explain: true, node: 'node02' });
  const since = '2026-12-06T11:00:00.000Z';
  const marked = {
    ...r,
    outcomes: r.outcomes.map((o) => ({
      ...o,
      events: o.events.map((e) => (e.kind === 'policy' ? { ...e, hits: { packets: 1234, bytes: 103656, since } } : e.rule === 1 ? { ...e, hits: { packets: 0, bytes: 0, since } } : e)),
    })),
  };
  const d = drawTrace(marked, { node: 'node02', packet: input });
  const decisive = d.nodes.find((b) => b.tone === Tone.Decisive)!;
  assert.deepEqual(decisive.label, ['filter FORWARD policy DROP', `● traffic now: 1,234 packets since ${since}`]);
  const first = d.nodes.find((b) => b.label[0]!.startsWith('FORWARD #1 '))!;
  assert.ok(!first.label.some((l) => l.includes('traffic now')), first.label.join(' | '));
});

/** kube-proxy's Service with `n` endpoints, each 1/n by its statistic rules. */
function kubeService(n: number): string {
  const seps = Array.from({ length: n }, (_, i) => `SEP-${i + 1}`);
  const svc = seps.map((sep, i) => `-A KUBE-SVC-WEB -m comment --comment "default/web -> 10.244.${i + 1}.5:8080"${i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(11)}` : ''} -j KUBE-${sep}`);
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-WEB - [0:0]',
    ...seps.map((s) => `:KUBE-${s} - [0:0]`),
    '-A PREROUTING -j KUBE-SERVICES',
    '-A KUBE-SERVICES -d 10.96.0.80/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB',
    ...svc,
    ...seps.map((s, i) => `-A KUBE-${s} -p tcp -m tcp -j DNAT --to-destination 10.244.${i + 1}.5:8080`),
    'COMMIT',
    '',
  ].join('\n');
}
const HOST = { interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'cni0', addresses: ['10.244.0.1/16'] }], routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }], forwarding: true };
const CLIENT: PacketInput = { src: '192.0.2.9', dst: '10.96.0.80', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' };

function forkTrace(endpoints: number) {
  const h = buildHost(HOST);
  assert.ok(h.ok);
  return tracePacket(parseDump(kubeService(endpoints)).ruleset, packet(CLIENT), { host: h.host, explain: true, node: 'n1' });
}

test('a statistic fork: one arrow per endpoint with its probability, the shared prefix drawn once', () => {
  const r = forkTrace(4);
  assert.equal(r.outcomes.length, 4);
  const d = drawTrace(r, { node: 'n1', packet: CLIENT });
  const services = d.nodes.filter((n) => n.label[0]!.startsWith('KUBE-SERVICES #1'));
  assert.equal(services.length, 1, 'the shared prefix once');
  const out = d.edges.filter((e) => e.from === services[0]!.id);
  assert.deepEqual(out.map((e) => e.label), ['25%', '25%', '25%', '25%']);
  const branches = out.map((e) => d.nodes.find((n) => n.id === e.to)!.label[0]).sort();
  assert.deepEqual(branches, [1, 2, 3, 4].map((i) => `KUBE-SVC-WEB #${i} → JUMP:KUBE-SEP-${i}`));
  const dnat = d.nodes.filter((n) => n.tone === Tone.Nat).map((n) => n.label.at(-1)).sort();
  assert.deepEqual(dnat, [1, 2, 3, 4].map((i) => `⇒ DNAT to 10.244.${i}.5:8080`));
  assert.equal(d.nodes.filter((n) => n.tone === Tone.Decisive).length, 0, 'nothing dropped it');
  assert.equal(d.notes.filter((n) => n.startsWith('25%: FORWARDED')).length, 4);
});

test('past the lane cap, the less probable outcomes fold into one "more" box at the fork, and the notes say so', () => {
  const r = forkTrace(12);
  const d = drawTrace(r, { node: 'n1', packet: CLIENT, maxLanes: 3 });
  const services = d.nodes.find((n) => n.label[0]!.startsWith('KUBE-SERVICES #1'))!;
  const out = d.edges.filter((e) => e.from === services.id);
  assert.equal(out.length, 4);
  const more = d.nodes.find((n) => n.id === out[3]!.to)!;
  assert.deepEqual(more.label, ['+9 more outcomes', '9 FORWARDED']);
  assert.equal(more.tone, Tone.Muted);
  assert.equal(out[3]!.label, '75%');
  assert.ok(d.notes.some((n) => /^9 less probable outcomes are folded/.test(n)));
  assert.equal(d.notes.filter((n) => /^\d.*%: FORWARDED/.test(n)).length, 3);
});

test('one netfilter, two owners: the nft base chains framed with family, owner and priority beside iptables\' table, the iptables policy decisive', () => {
  const h = buildHost(DOCKER_HOST);
  assert.ok(h.ok);
  const input = DOCKER_CLIENT as PacketInput;
  const r = traceNode({ iptables: parseDump(iptablesForward('DROP')).ruleset, nftables: parseNftText(DOCKER29_NFT).ruleset }, packet(input), { host: h.host, explain: true, node: 'docker-host' });
  const d = drawTrace(r, { node: 'docker-host', packet: input });
  const frameOf = (head: RegExp) => framesOf(d, d.nodes.find((n) => head.test(n.label[0]!))!);
  assert.deepEqual(frameOf(/^nat-prerouting-and-output #1/), ['nft ip docker-bridges nat-PREROUTING · Docker (nftables backend) · priority -100', 'PREROUTING', 'docker-host']);
  assert.deepEqual(frameOf(/^filter-forward-in__docker0 #3/), ['nft ip docker-bridges filter-FORWARD · Docker (nftables backend) · priority 0', 'FORWARD', 'docker-host']);
  const decisive = d.nodes.filter((n) => n.tone === Tone.Decisive);
  assert.deepEqual(decisive.map((n) => n.label[0]), ['filter FORWARD policy DROP']);
  assert.deepEqual(framesOf(d, decisive[0]!), ['filter FORWARD · iptables (nft backend) · priority 0', 'FORWARD', 'docker-host']);
  // The rule shortened to 56 characters, its comment on its own line; the full text in the tooltip.
  const dnat = d.nodes.find((n) => /^nat-prerouting-and-output #1/.test(n.label[0]!))!;
  assert.deepEqual(dnat.label.slice(1), ['iifname != "docker0" tcp dport 8080 counter dnat to 172…', '/* DNAT */', '⇒ dnat to 172.17.0.2:80']);
  assert.equal(dnat.tone, Tone.Nat);
  assert.match(dnat.tooltip!, /^nft ip docker-bridges nat-prerouting-and-output rule 1[^\n]*\niifname != "docker0" tcp dport 8080 counter dnat to 172\.17\.0\.2:80 comment "DNAT"\n/);
});

const SSH_ONLY = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m addrtype --dst-type LOCAL -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -j DROP\nCOMMIT\n';

test('assumptions as dotted notes on the end they led to; routing that decides makes the end itself decisive', () => {
  // No host file: the trace assumes what is local and how it routes.
  const assumed = tracePacket(parseDump(SSH_ONLY).ruleset, packet({ src: '192.0.2.9', dst: '192.0.2.1', protocol: 'tcp', sport: 1, dport: 22, inInterface: 'eth0' }), { explain: true });
  const a = drawTrace(assumed);
  const notes = a.nodes.filter((n) => n.tone === Tone.Assumed);
  assert.deepEqual(notes.map((n) => n.tooltip), assumed.outcomes[0]!.assumptions);
  assert.ok(notes.every((n) => n.label[0] === 'assumed' && n.shape === 'note'));
  const end = a.nodes.find((n) => n.label[0] === 'FORWARDED')!;
  assert.deepEqual(a.edges.filter((e) => e.tone === Tone.Assumed).map((e) => [e.from, e.style]), notes.map(() => [end.id, 'dotted']));
  // No route out: no rule decided, routing did.
  const h = buildHost({ interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }], routes: [], forwarding: false });
  assert.ok(h.ok);
  const routed = tracePacket(parseDump(SSH_ONLY).ruleset, packet({ src: '192.0.2.9', dst: '198.51.100.1', protocol: 'tcp', sport: 1, dport: 22, inInterface: 'eth0' }), { explain: true, host: h.host });
  const r = drawTrace(routed, { node: 'n1' });
  assert.deepEqual(r.nodes.filter((n) => n.tone === Tone.Decisive).map((n) => [n.label[0], n.shape]), [['NO_ROUTE', 'octagon']]);
});
