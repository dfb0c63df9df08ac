// Probes, request ids, and the problem+json shape of errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';

describe('health, request ids and problem documents', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  it('GET /healthz is 200 {status: ok}', async () => {
    const res = await api.request.get('/healthz').expect(200).expect('content-type', /application\/json/);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  it('GET /readyz checks the database', async () => {
    const res = await api.request.get('/readyz').expect(200);
    assert.deepEqual(res.body, { status: 'ready', checks: { database: 'ok' } });
  });

  it('GET /readyz is a 503 problem when the database is down', async () => {
    const down = await startApi({ shareDatabaseOf: api, db: { ...api.db, ping: async () => Promise.reject(new Error('disk on fire')), close: async () => {} } });
    try {
      const res = await down.request.get('/readyz').expect(503).expect('content-type', PROBLEM_TYPE);
      assert.equal(res.body.status, 503);
      assert.equal(res.body.type, '/problems/not-ready');
      assert.match(res.body.detail, /disk on fire/);
      assert.equal(res.headers['retry-after'], '5');
    } finally {
      await down.close();
    }
  });

  it('echoes a valid x-request-id and generates one otherwise', async () => {
    const mine = await api.request.get('/healthz').set('x-request-id', 'agent-42.req-7').expect(200);
    assert.equal(mine.headers['x-request-id'], 'agent-42.req-7');
    const generated = await api.request.get('/healthz').expect(200);
    assert.match(generated.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    const bogus = await api.request.get('/healthz').set('x-request-id', 'has spaces and ' + 'x'.repeat(200)).expect(200);
    assert.match(bogus.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  it('an unknown route is a 404 problem+json with every member', async () => {
    const res = await api.request.get('/api/v1/nope?x=1').set('x-request-id', 'rid-404').expect(404).expect('content-type', PROBLEM_TYPE);
    assert.deepEqual(res.body, {
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: 'no route GET /api/v1/nope',
      instance: '/api/v1/nope',
      requestId: 'rid-404',
    });
    assert.equal(res.headers['x-request-id'], 'rid-404');
  });

  it('validation errors are 400 problems listing each error', async () => {
    const res = await api.request.get('/api/v1/nodes?limit=0').expect(400).expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/validation-error');
    assert.equal(res.body.status, 400);
    assert.ok(Array.isArray(res.body.errors) && res.body.errors.length >= 1);
    assert.equal(res.body.errors[0].path, '/querystring/limit');
    const bad = await api.request.get('/api/v1/nodes/-bad-name-').expect(400).expect('content-type', PROBLEM_TYPE);
    assert.equal(bad.body.errors[0].path, '/params/node');
  });
});
