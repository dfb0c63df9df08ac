// Memory bounds for heavy requests: the parsed-ruleset cache by weight, the
// analysis worker's capped heap (an analysis too big for it is a 503, the
// server lives on), and big uploads parsed once, on the event loop in slices,
// with the same result (and the same line-numbered 422) as inline, their parse
// the cache's entry for reads and traces.
import { after, before, describe, it, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { createRulesetCache, parseNftDump, prepareDump, prepareNftDump, rulesetCacheKey } from '../../src/store/index.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { parseDump } from '../../src/netfilter/index.ts';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';
import { reachableObjects } from '../support/sharing.ts';

const V1 = '/api/v1';

test('the ruleset cache keeps at most its weight in rules and chains, newest first; an entry heavier than all of it is not kept', () => {
  const small = { ruleset: parseDump('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n').ruleset, format: 'iptables-save' as const, diagnostics: [] };
  const weight = small.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length + 1, 0), 0);
  const cache = createRulesetCache(100, weight * 3);
  for (const k of ['a', 'b', 'c', 'd']) cache.set(k, small);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => cache.has(k)), [false, true, true, true]);
  assert.equal(cache.weight, weight * 3);
  const tiny = createRulesetCache(100, weight - 1);
  tiny.set('x', small);
  assert.equal(tiny.has('x'), false);
  assert.equal(tiny.weight, 0);
});

describe('analysis workers with a small heap', () => {
  let api: TestApi;
  const g = generateKubeDump({ services: 1500, seed: 5 });
  before(async () => {
    api = await startApi({ config: { analysisWorkerMemoryMb: 64 } });
  });
  after(() => api?.close());

  it('a big upload is parsed once, not in a worker: the same version as an inline parse, its parse the cache entry the first trace uses', async () => {
    assert.ok(g.text.length > 1 << 20, 'over the inline limit');
    const ran = api.app.analysis.stats().ran;
    const r = await api.request.post(`${V1}/nodes/big/dumps`).set('content-type', 'text/plain').send(g.text).expect(201);
    const inline = prepareDump(g.text);
    assert.equal(r.body.sha256, inline.sha256);
    assert.equal(api.app.analysis.stats().ran, ran, 'no worker parsed it');
    const key = rulesetCacheKey('canonical', 'ipv4', r.body.sha256);
    assert.equal(api.app.rulesetCache.has(key), true, 'the upload left its parse in the ruleset cache');
    // And its parse of the uploaded text (counters, its lines): what the chain and rule reads parse.
    const read = `${V1}/nodes/big/tables/nat/chains/KUBE-SERVICES?limit=100`;
    assert.equal(api.app.rulesetCache.has(rulesetCacheKey('original', 'ipv4', inline.originalSha256)), true, 'and the parse of the uploaded text');
    const readMisses = api.app.rulesetCache.misses;
    const page = await api.request.get(read).expect(200);
    assert.equal(api.app.rulesetCache.misses, readMisses, 'the first chain read parsed nothing');
    const svc = g.services.find((s) => s.endpoints.length > 0)!;
    const trace = { node: 'big', packet: { src: '203.0.113.9', dst: svc.clusterIP, protocol: svc.protocol, sport: 40000, dport: svc.port, inInterface: 'eth0' } };
    const misses = api.app.rulesetCache.misses;
    const first = await api.request.post(`${V1}/trace`).send(trace).expect(200);
    assert.equal(api.app.rulesetCache.misses, misses, 'the first trace parsed nothing');
    // The same answer as from a parse of the stored canonical text.
    api.app.rulesetCache.clear();
    const parsed = await api.request.post(`${V1}/trace`).send(trace).expect(200);
    assert.equal(api.app.rulesetCache.misses, misses + 1, 'this one parsed the stored text');
    assert.deepEqual(first.body, parsed.body);
    assert.deepEqual((await api.request.get(read).expect(200)).body, page.body, 'the same page from a parse of the stored text');
  });

  it('a big upload that cannot be read is a 422 with line and column', async () => {
    const broken = `*filter\n:INPUT ACCEPT [0:0]\n${'#'.repeat(1 << 20)}\n-A INPUT --bogus\nCOMMIT\n`;
    const r = await api.request.post(`${V1}/nodes/broken/dumps?strict=true`).set('content-type', 'text/plain').send(broken).expect(422);
    assert.match(r.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.equal(r.body.problems[0].line, 4);
  });

  it('an analysis the worker heap cannot hold is a 503 analysis-too-large, and the server answers on', async () => {
    const other = generateKubeDump({ services: 1500, seed: 6 });
    await api.request.post(`${V1}/nodes/other/dumps`).set('content-type', 'text/plain').send(other.text).expect(201);
    const r = await api.request.get(`${V1}/diff?left=big&right=other&packets=auto`);
    assert.equal(r.status, 503, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.type, '/problems/analysis-too-large');
    assert.match(r.body.detail, /ANALYSIS_WORKER_MEMORY_MB/);
    await api.request.get('/healthz').expect(200);
    await api.request.get(`${V1}/nodes/big/dumps`).expect(200);
  });
});

describe('admission per kind of work', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ config: { analysisWorkers: 2, analysisQueue: 1 } });
    for (const [name, seed] of [['l', 21], ['r', 22]] as const) {
      await api.request.post(`${V1}/nodes/${name}/dumps`).set('content-type', 'text/plain').send(generateKubeDump({ services: 1500, seed }).text).expect(201);
    }
  });
  after(() => api?.close());

  it('diffs run one at a time even with two workers; past the queue a 503 with Retry-After naming the bound', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map(() => api.request.get(`${V1}/diff?left=l&right=r`)));
    const statuses = answers.map((a) => a.status).sort();
    assert.ok(statuses.includes(200), `statuses ${statuses}`);
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length >= 1, `statuses ${statuses}`);
    for (const r of refused) {
      assert.equal(r.body.type, '/problems/analysis-busy');
      assert.match(r.body.detail, /diffs are waiting \(at most 1 at once, ANALYSIS_QUEUE=1\)/);
      assert.ok(Number(r.headers['retry-after']) > 0);
    }
  });
});

describe('big nft uploads', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(() => api?.close());

  it('an nft ruleset over 1 MiB is parsed once, not in a worker: the same version as an inline parse; a broken one is a 422 with line and column', async () => {
    const kube = generateKubeNft({ services: 1000, endpoints: 5 });
    assert.ok(kube.text.length > 1 << 20, `${kube.text.length} chars: over the inline limit`);
    const ran = api.app.analysis.stats().ran;
    const r = await api.request.post(`${V1}/nodes/kp/dumps?family=nft`).set('content-type', 'text/plain').send(kube.text).expect(201);
    assert.equal(api.app.analysis.stats().ran, ran, 'no worker parsed it');
    assert.equal(r.body.sha256, prepareNftDump(kube.text).sha256);
    const broken = kube.text.replace(/\n}\n$/, '\n');
    const bad = await api.request.post(`${V1}/nodes/kp2/dumps?family=nft`).set('content-type', 'text/plain').send(broken).expect(422);
    assert.match(bad.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.ok(bad.body.problems[0].line > 1000 && bad.body.problems[0].column >= 1, JSON.stringify(bad.body.problems[0]));
    await api.request.get(`${V1}/nodes/kp2`).expect(404);
  });

  it("a big nft -j upload's parse is the cache entry its reads use: the first read parses nothing, with the answers of a parse of the stored text", async () => {
    const kube = generateKubeNft({ services: 1000, endpoints: 5 });
    assert.ok(kube.json.length > 1 << 20, `${kube.json.length} chars: over the inline limit`);
    const r = await api.request.post(`${V1}/nodes/kpj/dumps`).set('content-type', 'text/plain').set('content-encoding', 'gzip').send(gzipSync(kube.json)).expect(201);
    const inline = prepareNftDump(kube.json);
    assert.equal(r.body.sha256, inline.sha256);
    assert.equal(api.app.rulesetCache.nft.has(inline.originalSha256), true, 'the upload left its parse in the ruleset cache');
    const table = encodeURIComponent('ip kube-proxy');
    const reads = [`${V1}/nodes/kpj/tables/${table}/chains?limit=50`, `${V1}/nodes/kpj/tables/${table}/chains/services`, `${V1}/nodes/kpj/rules?family=nft&ip=${kube.probe.ip}`];
    const misses = api.app.rulesetCache.nft.misses;
    const first = await Promise.all(reads.map((u) => api.request.get(u).expect(200)));
    assert.equal(api.app.rulesetCache.nft.misses, misses, 'the first reads parsed nothing');
    api.app.rulesetCache.nft.clear();
    const parsed = await Promise.all(reads.map((u) => api.request.get(u).expect(200)));
    assert.ok(api.app.rulesetCache.nft.misses > misses, 'these parsed the stored text');
    assert.deepEqual(first.map((a) => a.body), parsed.map((a) => a.body));
  });

  it("an nft node's two cached parses (reads: the uploaded text; traces: the canonical text) share their equal objects, in either order, with the answers and models of parses alone", async () => {
    const kube = generateKubeNft({ services: 300, endpoints: 5 });
    const inline = prepareNftDump(kube.json);
    const r = await api.request.post(`${V1}/nodes/kps/dumps`).set('content-type', 'text/plain').send(kube.json).expect(201);
    assert.equal(r.body.sha256, inline.sha256);
    const cache = api.app.rulesetCache.nft;
    const packet = { src: '192.0.2.10', dst: kube.probe.ip, protocol: 'tcp', sport: 40000, dport: kube.probe.port, inInterface: 'eth0' };
    const table = encodeURIComponent('ip kube-proxy');
    const reads = [`${V1}/nodes/kps/tables/${table}/chains?limit=50`, `${V1}/nodes/kps/tables/${table}/chains/services`, `${V1}/nodes/kps/rules?family=nft&ip=${kube.probe.ip}`];
    const answers = async () => [(await api.request.post(`${V1}/trace`).send({ node: 'kps', packet }).expect(200)).body, ...(await Promise.all(reads.map((u) => api.request.get(u).expect(200)))).map((a) => a.body)];
    const readsFirst = async () => {
      const bodies = (await Promise.all(reads.map((u) => api.request.get(u).expect(200)))).map((a) => a.body);
      return [(await api.request.post(`${V1}/trace`).send({ node: 'kps', packet }).expect(200)).body, ...bodies];
    };
    const objects = reachableObjects;
    const shared = () => {
      const uploaded = cache.peek(inline.originalSha256);
      const canonical = cache.peek(r.body.sha256);
      assert.ok(uploaded && canonical, 'both parses are cached');
      assert.deepEqual(canonical, parseNftDump(inline.canonicalText, 'nft-text').ruleset, 'the canonical parse is what a parse alone gives');
      assert.deepEqual(uploaded, parseNftDump(kube.json, 'nft-json').ruleset, 'the uploaded parse is what a parse alone gives');
      const alone = objects(parseNftDump(inline.canonicalText, 'nft-text').ruleset).size;
      const one = objects(uploaded).size;
      // Alone, the canonical parse adds all of its objects; sharing, only its rules and the statements spelled otherwise (`implicit` for `==`).
      return (objects(canonical, objects(uploaded)).size - one) / alone;
    };
    // The upload's parse is cached; the first trace parses the canonical text once, sharing with it.
    const misses = cache.misses;
    const upFirst = await answers();
    assert.equal(cache.misses - misses, 1, 'the first trace parsed once (the canonical text), the reads nothing');
    const ratio = shared();
    assert.ok(ratio < 0.65, `the canonical parse adds ${ratio.toFixed(2)} of the objects it holds alone`);
    // After a restart (cache cleared): a trace first, then the reads, whose parse shares with the trace's.
    cache.clear();
    assert.deepEqual(await answers(), upFirst);
    assert.ok(shared() < 0.65);
    cache.clear();
    assert.deepEqual(await readsFirst(), upFirst);
    assert.ok(shared() < 0.65);
  });
});
