// Findings and services run in a worker thread (the event loop keeps
// answering /healthz), are computed once per version content (cache), equal
// what the core computes in-process, and past the queue bound are a 503 with
// Retry-After rather than an ever longer wait.
import { after, before, describe, it } from 'node:test';
import fastJsonStringify from 'fast-json-stringify';
import assert from 'node:assert/strict';
import { buildHost, diffRulesets, extractServices, lintRuleset, parseDump } from '../../src/netfilter/index.ts';
import { prepareDump } from '../../src/store/ingest.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

describe('heavy analyses in worker threads', () => {
  let api: TestApi;
  const node = generateKubeDump({ services: 400, seed: 3 });
  before(async () => {
    api = await startApi({ config: { analysisWorkers: 1, analysisQueue: 1 } });
    await api.request.post(`${V1}/nodes/k1/dumps`).set('content-type', 'application/json').send({ dump: node.text, host: node.host }).expect(201);
  });
  after(() => api?.close());

  it('findings equal the in-process lint of the uploaded text, computed once per version', async () => {
    const first = await api.request.get(`${V1}/nodes/k1/findings`).expect(200);
    const parsed = parseDump(node.text);
    const host = buildHost(node.host);
    assert.ok(host.ok);
    const expected = lintRuleset({ ruleset: parsed.ruleset, diagnostics: parsed.diagnostics, host: host.host });
    assert.deepEqual(first.body.findings, JSON.parse(JSON.stringify(expected)));
    assert.ok(first.body.findings.length > 0);
    const before = api.app.analysis.stats();
    const again = await api.request.get(`${V1}/nodes/k1/findings`).expect(200);
    assert.deepEqual(again.body, first.body);
    assert.deepEqual(api.app.analysis.stats(), { ran: before.ran, cached: before.cached + 1, queued: 0 }, 'the second answer comes from the cache');
  });

  it('services equal the in-process extraction and were computed on another thread', async () => {
    const r = await api.request.get(`${V1}/nodes/k1/services`).expect(200);
    assert.equal(r.body.services.length, extractServices(parseDump(node.text).ruleset).length);
    const result = await api.app.analysis.run({ kind: 'services', text: node.text, family: 'ipv4', format: 'iptables-save', hostJson: null }, 'direct');
    assert.notEqual(result.threadId, 0, 'a worker thread, not the main one');
  });

  it('concurrent requests for one version share one run', async () => {
    const other = generateKubeDump({ services: 300, seed: 9 });
    await api.request.post(`${V1}/nodes/k2/dumps`).set('content-type', 'text/plain').send(other.text).expect(201);
    const ran = api.app.analysis.stats().ran;
    const answers = await Promise.all([1, 2, 3].map(() => api.request.get(`${V1}/nodes/k2/findings`)));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    assert.equal(api.app.analysis.stats().ran, ran + 1);
  });

  it('a diff takes its admitted turn and equals the in-process diff', async () => {
    const other = generateKubeDump({ services: 300, seed: 9 });
    await api.request.post(`${V1}/nodes/d2/dumps`).set('content-type', 'text/plain').send(other.text).expect(201);
    const ran = api.app.analysis.stats().ran;
    const r = await api.request.get(`${V1}/diff?left=k1&right=d2`).expect(200);
    assert.equal(api.app.analysis.stats().ran, ran + 1);
    const expected = diffRulesets(prepareDump(node.text).ruleset!, prepareDump(other.text).ruleset!);
    assert.deepEqual(r.body.summary, expected.summary);
    // Written with JSON.stringify (on the event loop, in chunks): exactly what the DiffResult schema serializes.
    const serialize = fastJsonStringify({ $ref: 'DiffResult#' }, { schema: api.app.getSchemas() } as fastJsonStringify.Options);
    assert.deepEqual(JSON.parse(serialize(r.body)), r.body);
    assert.ok(r.body.chains.length > 0);
    const text = await api.request.get(`${V1}/diff?left=k1&right=d2&format=unified`).expect(200).expect('content-type', /text\/plain/);
    assert.match(text.text, /^--- k1 \(dump \d+\)\n\+\+\+ d2 \(dump \d+\)\n/);
  });

  it('past the queue bound: 503 problem+json with Retry-After', async () => {
    const texts = [11, 12, 13, 14].map((seed) => generateKubeDump({ services: 1500, seed }).text);
    for (const [i, text] of texts.entries()) await api.request.post(`${V1}/nodes/q${i}/dumps`).set('content-type', 'text/plain').send(text).expect(201);
    // One worker, a queue of one: of four different versions at once, one runs, one waits, the rest are refused.
    const answers = await Promise.all(texts.map((_, i) => api.request.get(`${V1}/nodes/q${i}/findings`)));
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length >= 1, `statuses ${answers.map((a) => a.status)}`);
    for (const r of refused) {
      assert.match(r.headers['content-type'] ?? '', PROBLEM_TYPE);
      assert.ok(Number(r.headers['retry-after']) > 0);
      assert.match(r.body.detail, /ANALYSIS_QUEUE=1/);
    }
    assert.ok(answers.some((a) => a.status === 200));
  });
});
