// Memory bounds for heavy requests: the parsed-ruleset cache by weight, the
// analysis worker's capped heap (an analysis too big for it is a 503, the
// server lives on), and big uploads parsed in the worker with the same result
// (and the same line-numbered 422) as inline.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { createRulesetCache, prepareDump, prepareNftDump } from '../../src/store/index.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { parseDump } from '../../src/netfilter/index.ts';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';

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

  it('a big upload is parsed in the worker: the same version as an inline parse', async () => {
    assert.ok(g.text.length > 1 << 20, 'over the inline limit');
    const r = await api.request.post(`${V1}/nodes/big/dumps`).set('content-type', 'text/plain').send(g.text).expect(201);
    assert.equal(r.body.sha256, prepareDump(g.text).sha256);
    assert.ok(api.app.analysis.stats().ran >= 1, 'ran in a worker');
  });

  it('a big upload that cannot be read is a 422 with line and column, from the worker', async () => {
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

  it('an nft ruleset over 1 MiB is parsed in a worker: the same version as an inline parse; a broken one is a 422 with line and column', async () => {
    const kube = generateKubeNft({ services: 1000, endpoints: 5 });
    assert.ok(kube.text.length > 1 << 20, `${kube.text.length} chars: over the inline limit`);
    const ran = api.app.analysis.stats().ran;
    const r = await api.request.post(`${V1}/nodes/kp/dumps?family=nft`).set('content-type', 'text/plain').send(kube.text).expect(201);
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'ran in a worker');
    assert.equal(r.body.sha256, prepareNftDump(kube.text).sha256);
    const broken = kube.text.replace(/\n}\n$/, '\n');
    const bad = await api.request.post(`${V1}/nodes/kp2/dumps?family=nft`).set('content-type', 'text/plain').send(broken).expect(422);
    assert.match(bad.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.ok(bad.body.problems[0].line > 1000 && bad.body.problems[0].column >= 1, JSON.stringify(bad.body.problems[0]));
    await api.request.get(`${V1}/nodes/kp2`).expect(404);
  });
});
