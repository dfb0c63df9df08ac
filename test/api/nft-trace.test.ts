// Issue 14.3/14.4: POST /trace runs a node's whole netfilter, its iptables
// dump and its nft ruleset in one pipeline; cluster traces cross nodes in
// different kube-proxy modes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startApi, type TestApi } from '../support/api.ts';
import { FIXTURES } from '../support/paths.ts';
import { DOCKER29_NFT, DOCKER_CLIENT, DOCKER_HOST, iptablesForward } from '../support/stories.ts';

const V1 = '/api/v1';
type Outcome = { disposition: string; events: { language?: string; backend?: string; table: string; chain: string; verdict: string }[]; baseChains: { hook: string; language: string; backend?: string; table: string; chain: string; owner: string; verdict: string; decided: boolean }[]; explanation: { origin?: string } };

describe('traces of a node with iptables and nft rulesets', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/docker-host/dumps`).send({ dump: iptablesForward('DROP'), nft: DOCKER29_NFT, host: DOCKER_HOST }).expect(201);
    await api.request.post(`${V1}/nodes/nft-only/dumps`).send({ nft: DOCKER29_NFT, host: DOCKER_HOST }).expect(201);
  });
  after(() => api?.close());

  it('the Docker 29 story: Docker accepts in its nft table, the iptables FORWARD policy DROP drops', async () => {
    const r = await api.request.post(`${V1}/trace`).send({ node: 'docker-host', packet: DOCKER_CLIENT }).expect(200);
    assert.equal(typeof r.body.nftDump, 'number');
    assert.notEqual(r.body.nftDump, r.body.dump);
    const o = r.body.outcomes[0] as Outcome;
    assert.equal(o.disposition, 'DROPPED');
    assert.deepEqual(
      o.baseChains.filter((b) => b.hook === 'FORWARD').map((b) => [b.language, b.table, b.chain, b.owner, b.verdict, b.decided]),
      [
        ['nftables', 'docker-bridges', 'filter-FORWARD', 'Docker (nftables backend)', 'accept', false],
        ['iptables', 'filter', 'FORWARD', 'iptables (nft backend)', 'DROP', true],
      ],
    );
    assert.match(o.explanation.origin!, /accept ends only its own base chain/);
    const text = await api.request.post(`${V1}/trace/text`).send({ node: 'docker-host', packet: DOCKER_CLIENT }).expect(200);
    assert.match(text.text, /^node docker-host, dump \d+, nft dump \d+\n/);
    assert.match(text.text, /iptables filter FORWARD \(iptables \(nft backend\)\) → DROP {2}← decided/);
  });

  it('a node with only an nft ruleset is traced; without the iptables DROP the packet is forwarded', async () => {
    const r = await api.request.post(`${V1}/trace`).send({ node: 'nft-only', packet: DOCKER_CLIENT }).expect(200);
    assert.equal(r.body.dump, r.body.nftDump, 'the nft version is the one traced');
    const o = r.body.outcomes[0] as Outcome;
    assert.equal(o.disposition, 'FORWARDED');
    assert.ok(o.events.every((e) => e.language === 'nftables'));
    await api.request.post(`${V1}/trace`).send({ node: 'nobody', packet: DOCKER_CLIENT }).expect(404);
  });

  it('a big what-if runs in the worker with the nft ruleset too: the same answer as on the event loop', async () => {
    const fix = '-I FORWARD 1 -o docker0 -j ACCEPT';
    const noise = Array.from({ length: 100 }, (_, i) => `-A INPUT -s 192.0.2.${i % 250}/32 -p udp -j ACCEPT`);
    const ran = api.app.analysis.stats().ran;
    const big = await api.request.post(`${V1}/trace`).send({ node: 'docker-host', packet: DOCKER_CLIENT, changes: [...noise, fix] }).expect(200);
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'ran in a worker');
    const small = await api.request.post(`${V1}/trace`).send({ node: 'docker-host', packet: DOCKER_CLIENT, changes: [fix] }).expect(200);
    const shape = (b: { outcomes: Outcome[] }) => b.outcomes.map((o) => [o.disposition, o.events.map((e) => `${e.language ?? 'iptables'} ${e.table}/${e.chain}:${e.verdict}`)]);
    assert.deepEqual(shape(big.body), shape(small.body));
    assert.equal(small.body.outcomes[0].disposition, 'FORWARDED');
    assert.ok(small.body.outcomes[0].events.some((e: { language?: string }) => e.language === 'nftables'), 'the nft chains ran');
  });
});

describe('a node using both iptables backends (the agent\'s <node>.iptables-legacy companion)', () => {
  let api: TestApi;
  const LEGACY = `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -d 172.17.0.2/32 -j DROP\nCOMMIT\n`;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/mixed/dumps`).send({ dump: iptablesForward('ACCEPT'), nft: DOCKER29_NFT, host: { ...DOCKER_HOST, backend: 'nft' } }).expect(201);
    await api.request.post(`${V1}/nodes/mixed.iptables-legacy/dumps`).send({ dump: LEGACY, host: { ...DOCKER_HOST, backend: 'legacy' } }).expect(201);
  });
  after(() => api?.close());

  it('traces the companion\'s legacy tables with the node: they drop what Docker and iptables-nft accepted', async () => {
    const r = await api.request.post(`${V1}/trace`).send({ node: 'mixed', packet: DOCKER_CLIENT }).expect(200);
    const legacy = (await api.request.get(`${V1}/nodes/mixed.iptables-legacy/dumps/latest`).expect(200)).body;
    assert.equal(r.body.legacyDump, legacy.id);
    const o = r.body.outcomes[0] as Outcome & { events: { backend?: string }[]; baseChains: { backend?: string }[] };
    assert.equal(o.disposition, 'DROPPED');
    assert.deepEqual(
      o.baseChains.filter((b) => b.hook === 'FORWARD').map((b) => [b.language, b.backend ?? '-', b.table, b.owner, b.verdict, b.decided]),
      [
        ['nftables', '-', 'docker-bridges', 'Docker (nftables backend)', 'accept', false],
        ['iptables', '-', 'filter', 'iptables (nft backend)', 'ACCEPT', false],
        ['iptables', 'legacy', 'filter', 'iptables (legacy backend)', 'DROP', true],
      ],
    );
    assert.equal(o.events.at(-1)!.backend, 'legacy');
    const text = await api.request.post(`${V1}/trace/text`).send({ node: 'mixed', packet: DOCKER_CLIENT }).expect(200);
    assert.match(text.text, /^node mixed, dump \d+, nft dump \d+, iptables-legacy dump \d+\n/);
    assert.match(text.text, /iptables-legacy filter FORWARD #1 +→ DROP/);
    // The companion itself is a node like any other; traced alone, it has no companion of its own.
    const alone = await api.request.post(`${V1}/trace`).send({ node: 'mixed.iptables-legacy', packet: DOCKER_CLIENT }).expect(200);
    assert.equal(alone.body.legacyDump, undefined);
  });

  it('a big what-if in the worker and a cluster trace see the legacy tables too', async () => {
    const noise = Array.from({ length: 101 }, (_, i) => `-A INPUT -s 192.0.2.${i % 250}/32 -p udp -j ACCEPT`);
    const ran = api.app.analysis.stats().ran;
    const big = await api.request.post(`${V1}/trace`).send({ node: 'mixed', packet: DOCKER_CLIENT, changes: noise }).expect(200);
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'ran in a worker');
    assert.equal(big.body.outcomes[0].disposition, 'DROPPED');
    assert.equal(big.body.outcomes[0].events.at(-1).backend, 'legacy');
    const cluster = await api.request.post(`${V1}/trace`).send({ from: { node: 'mixed', interface: 'eth0' }, packet: DOCKER_CLIENT }).expect(200);
    assert.equal(cluster.body.paths[0].hops[0].outcome.disposition, 'DROPPED');
    assert.equal(cluster.body.paths[0].hops[0].outcome.events.at(-1).backend, 'legacy');
  });
});

describe('a cluster across kube-proxy modes', () => {
  let api: TestApi;
  const s004 = (f: string) => readFile(join(FIXTURES, 'seed004', f), 'utf8');
  const body = { cluster: 'lab', from: { node: 'master', interface: 'eth0' }, packet: { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80 }, follow: true };
  // node02 has moved to nftables: no iptables rules, a forward chain with policy drop.
  const node02 = (extra: string) => `table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n${extra}\t}\n}\n`;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/master/dumps`).send({ dump: await s004('master.txt'), host: JSON.parse(await s004('master.host.json')), cluster: 'lab' }).expect(201);
    await api.request.post(`${V1}/nodes/node02/dumps`).send({ nft: node02(''), host: JSON.parse(await s004('node02.host.json')), cluster: 'lab' }).expect(201);
  });
  after(() => api?.close());

  it('master (iptables mode) DNATs and masquerades; node02 (nftables only) drops by its forward policy; an nft accept rule lets it through', async () => {
    const r = await api.request.post(`${V1}/trace`).send(body).expect(200);
    const drop = r.body.paths.find((p: { endNode: string }) => p.endNode === 'node02');
    assert.equal(drop.end, 'DROPPED');
    const hop = drop.hops[1].outcome as Outcome & { packet: { src: string; dst: string } };
    assert.deepEqual([hop.packet.src, hop.packet.dst], ['10.224.0.0', '10.224.2.16']);
    assert.deepEqual(hop.baseChains.filter((b) => b.decided).map((b) => [b.language, b.table, b.chain, b.verdict]), [['nftables', 'filter', 'forward', 'drop']]);
    await api.request.post(`${V1}/nodes/node02/dumps`).send({ nft: node02('\t\tiifname "flannel.1" ip daddr 10.224.2.0/24 accept\n'), host: JSON.parse(await s004('node02.host.json')), cluster: 'lab' }).expect(201);
    const open = await api.request.post(`${V1}/trace`).send(body).expect(200);
    const toPod = open.body.paths.find((p: { endNode: string }) => p.endNode === 'node02');
    assert.equal(toPod.end, 'LEFT_CLUSTER');
    assert.match(toPod.summary, /reaches 10\.224\.2\.16 on node02's cni0 link/);
  });
});
