// 50 concurrent uploads against two app instances (two SQLite connections)
// sharing one database file: all stored, none fails with SQLITE_BUSY. The
// same on one PostgreSQL database (two Prisma clients, two change watches).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { counterDump, startApi, type TestApi } from '../support/api.ts';
import { describeEachBackend } from '../support/postgres.ts';

const V1 = '/api/v1';

describeEachBackend('concurrent uploads', (backend) => {
  let a: TestApi;
  let b: TestApi;
  before(async () => {
    a = await startApi({ backend });
    b = await startApi({ shareDatabaseOf: a });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('50 concurrent distinct uploads over 10 nodes are all stored (201), no 5xx', async () => {
    const uploads = Array.from({ length: 50 }, (_, i) => {
      const api = i % 2 === 0 ? a : b;
      return api.request.post(`${V1}/nodes/busy-${i % 10}/dumps`).type('text/plain').send(counterDump({ variant: `c${i}`, packets: i }));
    });
    const results = await Promise.all(uploads);
    const statuses = results.map((r) => r.status);
    assert.deepEqual(statuses, Array(50).fill(201), JSON.stringify(results.filter((r) => r.status !== 201).map((r) => r.body)));
    assert.equal(new Set(results.map((r) => r.body.id)).size, 50);
    let total = 0;
    for (let n = 0; n < 10; n++) {
      const list = await a.request.get(`${V1}/nodes/busy-${n}/dumps`).expect(200);
      assert.equal(list.body.items.length, 5);
      total += list.body.items.length;
    }
    assert.equal(total, 50);
  });

  it('50 concurrent identical uploads to one node create exactly one version', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).request.post(`${V1}/nodes/same/dumps`).type('text/plain').send(counterDump({ packets: i }))),
    );
    const created = results.filter((r) => r.status === 201);
    const deduped = results.filter((r) => r.status === 200);
    assert.equal(created.length, 1, JSON.stringify(results.filter((r) => r.status >= 300).map((r) => r.body)));
    assert.equal(deduped.length, 49);
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    const list = await b.request.get(`${V1}/nodes/same/dumps`).expect(200);
    assert.equal(list.body.items.length, 1);
    assert.equal(list.body.items[0].uploads, 50);
  });
});
