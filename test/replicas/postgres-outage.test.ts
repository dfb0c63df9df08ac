// PostgreSQL going away under a running server (a restart, a failover): reads
// and writes are 503 `database-unavailable` with Retry-After (not 500s),
// readiness fails, nothing half-stored; once it is back the same server
// serves again without a restart (the pool and the LISTEN connection
// reconnect) and its read cache still hears other replicas' writes.
// Its own file: it stops the test process's cluster.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { counterDump, startApi, type TestApi } from '../support/api.ts';
import { POSTGRES_MISSING, postgresCluster, warnPostgresMissing } from '../support/postgres.ts';

const V1 = '/api/v1';
if (POSTGRES_MISSING) warnPostgresMissing();

describe('PostgreSQL outage under a running server', { skip: POSTGRES_MISSING ? `PostgreSQL unavailable: ${POSTGRES_MISSING}` : false }, () => {
  let a: TestApi;
  let b: TestApi;
  before(async () => {
    a = await startApi({ backend: 'postgresql' });
    b = await startApi({ shareDatabaseOf: a });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('503 database-unavailable while it is down, then serving again (cache included) without a restart', { timeout: 120_000 }, async () => {
    const first = await a.request.post(`${V1}/nodes/n1/dumps`).type('text/plain').send(counterDump({ variant: 1 })).expect(201);
    assert.equal((await b.request.get(`${V1}/nodes/n1/dumps/latest`).expect(200)).body.id, first.body.id);
    postgresCluster().stop();
    try {
      const read = await a.request.get(`${V1}/nodes`).expect(503);
      assert.equal(read.body.type, '/problems/database-unavailable');
      assert.equal(read.headers['retry-after'], '5');
      const write = await a.request.post(`${V1}/nodes/n1/dumps`).type('text/plain').send(counterDump({ variant: 2 })).expect(503);
      assert.match(write.body.detail, /cannot be reached/);
      await a.request.get('/readyz').expect(503);
    } finally {
      postgresCluster().start();
    }
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await a.request.get('/readyz')).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200);
    // Nothing of the failed upload was stored.
    const list = await a.request.get(`${V1}/nodes/n1/dumps`).expect(200);
    assert.deepEqual(list.body.items.map((d: { id: number }) => d.id), [first.body.id]);
    // B's change watch is listening again (it reconnects within a second): A's write is seen on B at once.
    await new Promise((r) => setTimeout(r, 1500));
    await b.request.get(`${V1}/nodes/n1/dumps/latest`).expect(200);
    const second = await a.request.post(`${V1}/nodes/n1/dumps`).type('text/plain').send(counterDump({ variant: 3 })).expect(201);
    assert.equal((await b.request.get(`${V1}/nodes/n1/dumps/latest`).expect(200)).body.id, second.body.id);
  });
});
