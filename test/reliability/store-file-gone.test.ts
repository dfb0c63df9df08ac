// The database file deleted or replaced under a running server: SQLite keeps
// writing to the unlinked file and every upload would be lost at restart.
// The server must notice: /readyz 503 saying why, writes a 503 problem+json
// (nothing acknowledged that is not kept), reads of what is cached still fine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROBLEM_TYPE, seed, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

describe('the database file deleted or replaced while the server runs', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/kept/dumps`).set('content-type', 'text/plain').send(await seed()).expect(201);
  });
  after(() => api?.close());

  it('replaced: readyz 503 and uploads 503 naming the file', async () => {
    const file = join(api.dir, 'test.db');
    copyFileSync(file, `${file}.copy`);
    renameSync(`${file}.copy`, file); // same name, another inode
    const ready = await api.request.get('/readyz').expect(503);
    assert.match(ready.body.detail, /was replaced while the server runs/);
    const up = await api.request.post(`${V1}/nodes/new/dumps`).set('content-type', 'text/plain').send(await seed()).expect(503);
    assert.match(up.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.equal(up.body.type, '/problems/store-unavailable');
  });

  it('deleted: readyz 503 and uploads 503; a trace (a read) still answers', async () => {
    for (const f of ['test.db', 'test.db-wal', 'test.db-shm']) rmSync(join(api.dir, f), { force: true });
    const ready = await api.request.get('/readyz').expect(503);
    assert.match(ready.body.detail, /was deleted while the server runs/);
    const up = await api.request.post(`${V1}/nodes/new/dumps`).set('content-type', 'text/plain').send(await seed()).expect(503);
    assert.match(up.body.detail, /writes would be lost/);
    await api.request.post(`${V1}/trace`).send({ node: 'kept', packet: { src: '192.0.2.1', dst: '10.105.178.199', protocol: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0' } }).expect(200);
  });
});
