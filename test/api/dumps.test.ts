// Reading versions: list (paginated), detail, raw, canonical, latest + sha.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PROBLEM_TYPE, counterDump, seed, startApi, type TestApi } from '../support/api.ts';
import { describeEachBackend } from '../support/postgres.ts';
import { parseDump, renderRuleset } from '../../src/netfilter/index.ts';
import { loadNodeRuleset, loadRuleset } from '../../src/http/ruleset.ts';
import { prepareDump } from '../../src/store/index.ts';

const V1 = '/api/v1';
const sha256 = (t: string): string => createHash('sha256').update(t).digest('hex');

describeEachBackend('reading dumps', (backend) => {
  let api: TestApi;
  let seedText: string;
  const ids: number[] = [];
  before(async () => {
    api = await startApi({ backend });
    seedText = await seed();
    ids.push((await api.request.post(`${V1}/nodes/reader/dumps`).type('text/plain').send(seedText).expect(201)).body.id);
    for (let i = 1; i <= 6; i++) ids.push((await api.request.post(`${V1}/nodes/reader/dumps`).type('text/plain').send(counterDump({ variant: i })).expect(201)).body.id);
    await api.request.post(`${V1}/nodes/other/dumps`).type('text/plain').send(counterDump()).expect(201);
  });
  after(async () => api.close());

  it('lists versions newest first, paginated with limit and cursor', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: { id: number; node: string }[]; nextCursor: string | null } } = await api.request
        .get(`${V1}/nodes/reader/dumps`)
        .query({ limit: 3, ...(cursor ? { cursor } : {}) })
        .expect(200);
      assert.ok(res.body.items.length <= 3);
      assert.ok(res.body.items.every((i) => i.node === 'reader'));
      seen.push(...res.body.items.map((i) => i.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    const defaults = await api.request.get(`${V1}/nodes/reader/dumps`).expect(200);
    assert.equal(defaults.body.items.length, 7);
    assert.equal(defaults.body.nextCursor, null);
    const v6 = await api.request.get(`${V1}/nodes/reader/dumps?family=ipv6`).expect(200);
    assert.deepEqual(v6.body.items, []);
    await api.request.get(`${V1}/nodes/reader/dumps?cursor=%%%`).expect(400);
    await api.request.get(`${V1}/nodes/nobody/dumps`).expect(404).expect('content-type', PROBLEM_TYPE);
  });

  it('GET /dumps/{id} has metadata, stats and diagnostics', async () => {
    const res = await api.request.get(`${V1}/nodes/reader/dumps/${ids[0]}`).expect(200);
    assert.equal(res.body.id, ids[0]);
    assert.equal(res.body.format, 'iptables-save');
    assert.deepEqual(res.body.stats, { tables: 2, chains: 19, rules: 25 });
    assert.ok(res.body.diagnostics.length > 0);
    assert.equal(res.body.diagnosticCounts.warning + res.body.diagnosticCounts.info + res.body.diagnosticCounts.error, res.body.diagnostics.length);
    assert.equal(res.body.originalSha256, sha256(seedText));
    assert.equal(res.body.host, null);
    assert.equal(res.body.counters, null);
    assert.equal(res.body.hasCounters, false);
  });

  it('a dump id of another node, an unknown id, or a bad id are 404/404/400', async () => {
    const other = (await api.request.get(`${V1}/nodes/other/dumps`).expect(200)).body.items[0].id as number;
    await api.request.get(`${V1}/nodes/reader/dumps/${other}`).expect(404).expect('content-type', PROBLEM_TYPE);
    await api.request.get(`${V1}/nodes/reader/dumps/999999`).expect(404);
    await api.request.get(`${V1}/nodes/reader/dumps/abc`).expect(400);
    await api.request.get(`${V1}/nodes/reader/dumps/${other}/raw`).expect(404);
  });

  it('raw is the uploaded text byte for byte, as text/plain with an ETag', async () => {
    const res = await api.request.get(`${V1}/nodes/reader/dumps/${ids[0]}/raw`).expect(200).expect('content-type', /^text\/plain/);
    assert.equal(res.text, seedText);
    assert.equal(res.headers['etag'], `"${sha256(seedText)}"`);
  });

  it('canonical is renderRuleset of the counter-free model, and its sha256 is the version sha256', async () => {
    const res = await api.request.get(`${V1}/nodes/reader/dumps/${ids[0]}/canonical`).expect(200).expect('content-type', /^text\/plain/);
    const detail = await api.request.get(`${V1}/nodes/reader/dumps/${ids[0]}`).expect(200);
    assert.equal(sha256(res.text), detail.body.sha256);
    assert.equal(res.headers['etag'], `"${detail.body.sha256}"`);
    assert.equal(res.text, renderRuleset(parseDump(seedText).ruleset, { counters: false }));
    assert.match(res.text, /^\*nat$/m);
    assert.match(res.text, /^COMMIT$/m);
  });

  it('latest: GET with ETag, HEAD, If-None-Match 304, and /latest/sha', async () => {
    const last = ids[ids.length - 1]!;
    const latest = await api.request.get(`${V1}/nodes/reader/dumps/latest`).expect(200);
    assert.equal(latest.body.id, last);
    const etag = latest.headers['etag'];
    assert.equal(etag, `"${latest.body.sha256}"`);
    const head = await api.request.head(`${V1}/nodes/reader/dumps/latest`).expect(200);
    assert.equal(head.headers['etag'], etag);
    await api.request.get(`${V1}/nodes/reader/dumps/latest`).set('if-none-match', String(etag)).expect(304);
    await api.request.get(`${V1}/nodes/reader/dumps/latest`).set('if-none-match', '"0000"').expect(200);
    const sha = await api.request.get(`${V1}/nodes/reader/dumps/latest/sha`).expect(200);
    assert.deepEqual(sha.body, { node: 'reader', family: 'ipv4', id: last, sha256: latest.body.sha256 });
    // What an agent does: canonicalize its own dump (counters stripped) and compare.
    assert.equal(prepareDump(counterDump({ variant: 6, packets: 123 })).sha256, sha.body.sha256);
    const none = await api.request.get(`${V1}/nodes/reader/dumps/latest/sha?family=ipv6`).expect(404).expect('content-type', PROBLEM_TYPE);
    assert.match(none.body.detail, /ipv6/);
    await api.request.get(`${V1}/nodes/nobody/dumps/latest/sha`).expect(404);
  });

  it('latest/raw and latest/canonical are the latest version\'s texts (of ?family)', async () => {
    const last = ids[ids.length - 1]!;
    for (const kind of ['raw', 'canonical']) {
      const byId = await api.request.get(`${V1}/nodes/reader/dumps/${last}/${kind}`).expect(200);
      const latest = await api.request.get(`${V1}/nodes/reader/dumps/latest/${kind}`).expect(200);
      assert.equal(latest.text, byId.text, kind);
      assert.equal(latest.headers['etag'], byId.headers['etag'], kind);
      const none = await api.request.get(`${V1}/nodes/reader/dumps/latest/${kind}?family=ipv6`).expect(404).expect('content-type', PROBLEM_TYPE);
      assert.match(none.body.detail, /no ipv6 dump/);
    }
    await api.request.get(`${V1}/nodes/reader/dumps/newest/raw`).expect(400);
  });

  it('loadRuleset parses once per sha256 and serves later calls from the cache', async () => {
    const cache = api.app.rulesetCache;
    cache.clear();
    const before = { hits: cache.hits, misses: cache.misses };
    const a = await loadRuleset(api.app, ids[0]!);
    const b = await loadRuleset(api.app, ids[0]!);
    assert.equal(a.ruleset, b.ruleset);
    assert.equal(cache.hits - before.hits, 1);
    assert.equal(cache.misses - before.misses, 1);
    assert.equal(a.dump.node, 'reader');
    assert.deepEqual(a.ruleset.tables.map((t) => t.name), ['nat', 'filter']);
    const latest = await loadNodeRuleset(api.app, 'reader', 'latest');
    assert.equal(latest.dump.id, ids[ids.length - 1]);
    const original = await loadRuleset(api.app, ids[0]!, 'original');
    assert.equal(original.source, 'original');
    await assert.rejects(loadNodeRuleset(api.app, 'other', ids[0]!), /has no dump/);
    await assert.rejects(loadRuleset(api.app, 999999), /not found/);
  });
});
