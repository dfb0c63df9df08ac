// Uploads cannot exhaust the server: a gzip bomb stops at the decoded-size
// limit and a dump of too many lines is refused before it is parsed, each
// with a 413 problem naming the limit; nothing is stored, and the server
// goes on serving.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { DEFAULT_CONFIG } from '../../src/http/config.ts';
import { PROBLEM_TYPE, seed, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

describe('upload limits', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ config: { maxDecompressedBytes: 1024 * 1024, maxDumpLines: 1000 } });
  });
  after(() => api?.close());

  it('the defaults fit the shipped 1 GiB memory limit', () => {
    assert.equal(DEFAULT_CONFIG.maxDecompressedBytes, 64 * 1024 * 1024);
    assert.equal(DEFAULT_CONFIG.maxDumpLines, 500_000);
  });

  it('a gzip bomb (8 MiB of rules in 10 KiB) stops at the decoded limit: 413 naming it', async () => {
    const rule = '-A INPUT -s 192.0.2.1/32 -j ACCEPT\n';
    const bomb = gzipSync(Buffer.from('*filter\n:INPUT ACCEPT [0:0]\n' + rule.repeat((8 * 1024 * 1024) / rule.length)), { level: 9 });
    assert.ok(bomb.length < 64 * 1024);
    const r = await api.request.post(`${V1}/nodes/bomb/dumps`).set('content-type', 'text/plain').set('content-encoding', 'gzip').send(bomb).expect(413);
    assert.match(r.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.match(r.body.detail, /MAX_DECOMPRESSED_BYTES/);
    assert.equal(r.body.limit, 1024 * 1024);
    await api.request.get(`${V1}/nodes/bomb`).expect(404);
  });

  it('too many lines (under the byte limit): 413 naming MAX_DUMP_LINES, for dump and ip6Dump', async () => {
    const many = '*filter\n:INPUT ACCEPT [0:0]\n' + '-A INPUT -j ACCEPT\n'.repeat(1000) + 'COMMIT\n';
    const r = await api.request.post(`${V1}/nodes/lines/dumps`).set('content-type', 'text/plain').send(many).expect(413);
    assert.match(r.body.detail, /more than 1000 lines \(MAX_DUMP_LINES\)/);
    assert.deepEqual([r.body.limit, r.body.field], [1000, 'dump']);
    const six = await api.request.post(`${V1}/nodes/lines/dumps`).send({ dump: await seed(), ip6Dump: many }).expect(413);
    assert.equal(six.body.field, 'ip6Dump');
    await api.request.get(`${V1}/nodes/lines`).expect(404);
  });

  it('the server goes on serving: a normal upload right after', async () => {
    await api.request.post(`${V1}/nodes/fine/dumps`).set('content-type', 'text/plain').send(await seed()).expect(201);
    await api.request.get('/healthz').expect(200);
  });
});
