// Big what-ifs (more than 100 changes, or a node of more than 20,000 rules)
// run in an analysis worker: the answer is the one the event loop would give,
// and a change iptables would refuse is the same 422.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startApi, seed, type TestApi } from '../support/api.ts';
import { FIXTURES } from '../support/paths.ts';

const V1 = '/api/v1';
const PACKET = { src: '192.0.2.1', dst: '10.105.178.199', protocol: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0' };

describe('what-if traces in a worker', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/n/dumps`).set('content-type', 'text/plain').send(await seed()).expect(201);
  });
  after(() => api?.close());

  const changes = (n: number, last: string): string[] => [...Array.from({ length: n }, (_, i) => `-A INPUT -s 198.51.100.${i % 250}/32 -p udp -j ACCEPT`), last];

  it('101 changes: the same outcomes as 1 change computed on the event loop', async () => {
    const fix = '-I FORWARD 1 -j DROP';
    const ran = api.app.analysis.stats().ran;
    const big = await api.request.post(`${V1}/trace`).send({ node: 'n', packet: PACKET, changes: changes(100, fix) }).expect(200);
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'ran in a worker');
    const small = await api.request.post(`${V1}/trace`).send({ node: 'n', packet: PACKET, changes: [fix] }).expect(200);
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'one change stays on the event loop');
    const shape = (b: { outcomes: { verdict: string; disposition: string; events: { table: string; chain: string; rule: number | null; verdict: string }[] }[]; whatIf: { before: string[]; after: string[]; changed: boolean } }) => ({
      outcomes: b.outcomes.map((o) => [o.verdict, o.disposition, o.events.map((e) => `${e.table}/${e.chain}#${e.rule}:${e.verdict}`)]),
      before: b.whatIf.before,
      after: b.whatIf.after,
      changed: b.whatIf.changed,
    });
    assert.deepEqual(shape(big.body), shape(small.body));
    assert.equal(big.body.whatIf.changed, true);
  });

  it('a refused change in a big what-if is the same 422, naming the change', async () => {
    const r = await api.request.post(`${V1}/trace`).send({ node: 'n', packet: PACKET, changes: changes(100, '-A INPUT -j INPUT') }).expect(422);
    assert.equal(r.body.errors[0].path, '/body/changes/100');
    assert.match(r.body.detail, /change 101: cannot jump to the built-in chain INPUT/);
  });
});

describe('cluster what-if traces in a worker', () => {
  let api: TestApi;
  const s004 = (f: string) => readFile(join(FIXTURES, 'seed004', f), 'utf8');
  const body = { cluster: 'lab', from: { node: 'master', interface: 'eth0' }, packet: { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80 }, follow: true };
  const fix = '-A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT';
  const noise = Array.from({ length: 100 }, (_, i) => `-A INPUT -s 198.51.100.${i % 250}/32 -p udp -j ACCEPT`);
  before(async () => {
    api = await startApi();
    for (const name of ['master', 'node02']) {
      await api.request
        .post(`${V1}/nodes/${name}/dumps`)
        .send({ dump: await s004(`${name}.txt`), host: JSON.parse(await s004(`${name}.host.json`)), cluster: 'lab' })
        .expect(201);
    }
  });
  after(() => api?.close());

  it('101 changes across the cluster: the paths the event loop gives for the one change that matters', async () => {
    const ran = api.app.analysis.stats().ran;
    const big = await api.request.post(`${V1}/trace`).send({ ...body, changes: { master: noise, node02: [fix] } }).expect(200);
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'ran in a worker');
    const small = await api.request.post(`${V1}/trace`).send({ ...body, changes: { node02: [fix] } }).expect(200);
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'one change stays on the event loop');
    const shape = (b: { paths: { end: string; endNode: string; probability: number; summary: string; hops: { node: string }[] }[]; whatIf: unknown }) => ({
      paths: b.paths.map((p) => [p.end, p.endNode, p.probability, p.summary, p.hops.map((h) => h.node)]),
      whatIf: b.whatIf,
    });
    const { whatIf: bigWhatIf, ...bigRest } = shape(big.body);
    const { whatIf: smallWhatIf, ...smallRest } = shape(small.body);
    assert.deepEqual(bigRest, smallRest);
    assert.deepEqual({ ...(bigWhatIf as object), changes: null }, { ...(smallWhatIf as object), changes: null });
    assert.ok(big.body.paths.some((p: { endNode: string; end: string }) => p.endNode === 'node02' && p.end === 'LEFT_CLUSTER'));
  });

  it('a refused change in a big cluster what-if is a 422 naming the node and the change', async () => {
    const r = await api.request.post(`${V1}/trace`).send({ ...body, changes: { master: noise, node02: ['-D FORWARD 999'] } }).expect(422);
    assert.equal(r.body.errors[0].path, '/body/changes/0');
    assert.match(r.body.detail, /what-if changes for node02 cannot be applied: change 1: .*no rule 999/);
  });
});
