// /api/v1/nodes: list (paginated), create (409 on duplicates), get, delete;
// on SQLite and on PostgreSQL.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROBLEM_TYPE, counterDump, startApi, type TestApi } from '../support/api.ts';
import { describeEachBackend } from '../support/postgres.ts';

const V1 = '/api/v1';

describeEachBackend('nodes', (backend) => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ backend });
  });
  after(async () => api.close());

  it('starts empty', async () => {
    const res = await api.request.get(`${V1}/nodes`).expect(200);
    assert.deepEqual(res.body, { items: [], nextCursor: null });
  });

  it('POST /nodes creates a node (201) and a duplicate is a 409 problem', async () => {
    const res = await api.request.post(`${V1}/nodes`).send({ name: 'alpha', cluster: 'c1', labels: { role: 'worker' } }).expect(201);
    assert.equal(res.headers['location'], `${V1}/nodes/alpha`);
    assert.equal(res.body.name, 'alpha');
    assert.equal(res.body.cluster, 'c1');
    assert.deepEqual(res.body.labels, { role: 'worker' });
    assert.equal(res.body.dumpCount, 0);
    assert.deepEqual(res.body.latest, { ipv4: null, ipv6: null });
    const dup = await api.request.post(`${V1}/nodes`).send({ name: 'alpha' }).expect(409).expect('content-type', PROBLEM_TYPE);
    assert.equal(dup.body.type, '/problems/conflict');
    assert.equal(dup.body.status, 409);
    assert.equal(dup.body.title, 'Conflict');
    await api.request.post(`${V1}/nodes`).send({ name: 'no good' }).expect(400);
  });

  it('GET /nodes/{node} shows cluster, labels, lastSeenAt and the latest dump summary', async () => {
    const up = await api.request.post(`${V1}/nodes/beta/dumps?cluster=c2`).type('text/plain').send(counterDump({ packets: 2 })).expect(201);
    const res = await api.request.get(`${V1}/nodes/beta`).expect(200);
    assert.equal(res.body.cluster, 'c2');
    assert.equal(res.body.dumpCount, 1);
    assert.equal(res.body.latest.ipv6, null);
    const latest = res.body.latest.ipv4;
    assert.equal(latest.id, up.body.id);
    assert.equal(latest.sha256, up.body.sha256);
    assert.deepEqual(latest.stats, { tables: 1, chains: 3, rules: 1 });
    assert.equal(latest.hasCounters, true);
    assert.equal(typeof latest.diagnosticCounts.warning, 'number');
    assert.ok(Date.parse(res.body.lastSeenAt) >= Date.parse(res.body.createdAt));
    await api.request.get(`${V1}/nodes/nobody`).expect(404).expect('content-type', PROBLEM_TYPE);
  });

  it('GET /nodes paginates by name with limit and cursor, and filters by cluster', async () => {
    for (const n of ['n01', 'n02', 'n03', 'n04', 'n05']) await api.request.post(`${V1}/nodes`).send({ name: n, cluster: 'pager' }).expect(201);
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { items: { name: string }[]; nextCursor: string | null } } = await api.request
        .get(`${V1}/nodes`)
        .query({ cluster: 'pager', limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      names.push(...res.body.items.map((i) => i.name));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(names, ['n01', 'n02', 'n03', 'n04', 'n05']);
    assert.equal(pages, 3);
    const all = await api.request.get(`${V1}/nodes?limit=500`).expect(200);
    assert.deepEqual(all.body.items.map((i: { name: string }) => i.name), ['alpha', 'beta', 'n01', 'n02', 'n03', 'n04', 'n05']);
    const bad = await api.request.get(`${V1}/nodes?cursor=definitely-not-a-cursor`).expect(400).expect('content-type', PROBLEM_TYPE);
    assert.equal(bad.body.type, '/problems/invalid-cursor');
    await api.request.get(`${V1}/nodes?limit=501`).expect(400);
  });

  it('DELETE /nodes/{node} removes the node and its dumps (204), then 404', async () => {
    const up = await api.request.post(`${V1}/nodes/gamma/dumps`).type('text/plain').send(counterDump()).expect(201);
    await api.request.delete(`${V1}/nodes/gamma`).expect(204);
    await api.request.get(`${V1}/nodes/gamma`).expect(404);
    await api.request.get(`${V1}/nodes/gamma/dumps/${up.body.id}`).expect(404);
    const again = await api.request.delete(`${V1}/nodes/gamma`).expect(404).expect('content-type', PROBLEM_TYPE);
    assert.match(again.body.detail, /gamma/);
    // A deleted node can be uploaded again from scratch.
    const fresh = await api.request.post(`${V1}/nodes/gamma/dumps`).type('text/plain').send(counterDump()).expect(201);
    assert.equal(fresh.body.created, true);
  });
});
