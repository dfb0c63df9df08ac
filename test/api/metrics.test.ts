// GET /metrics (plugins/metrics.ts, routes/metrics.ts, http/metrics/): the
// Prometheus text as a scraper reads it, after real uploads and traces; per
// node the age of its last upload and its findings (computed in the
// background); the scrape token; apps in one process counting apart; the
// node-collector extension point (the policy-drop gauges wired at merge).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createToken, sha256Hex, type LatestVersion } from '../../src/store/index.ts';
import { makeLineScript } from '../../src/store/line-script.ts';
import { uploadKind } from '../../src/http/upload.ts';
import { findingsCollector, findingsJob, NODE_FINDINGS, NODE_FINDINGS_FAILED, NODE_FINDINGS_PENDING } from '../../src/http/metrics/findings.ts';
import { NODE_POLICY_DROP_BYTES, NODE_POLICY_DROP_PACKETS, policyDropCollector } from '../../src/http/metrics/policy-drops.ts';
import { HttpProblem } from '../../src/http/plugins/errors.ts';
import { iptablesForward } from '../support/stories.ts';
import { FIXTURES } from '../support/paths.ts';
import { PROBLEM_TYPE, counterDump, startApi, type TestApi } from '../support/api.ts';
import { parseExposition, samplesOf, valueOf, type Exposition } from '../support/prometheus.ts';
import { describeEachBackend } from '../support/postgres.ts';

const V1 = '/api/v1';
const s004 = (f: string) => readFile(join(FIXTURES, 'seed004', f), 'utf8');
const bearer = (token: string): string => `Bearer ${token}`;
const NFT = 'table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n';
const PACKET = { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'flannel.1' };

async function scrape(api: TestApi, token?: string): Promise<Exposition> {
  const req = api.request.get('/metrics');
  const res = await (token ? req.set('authorization', bearer(token)) : req).expect(200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(res.text);
}

describe('uploadKind', () => {
  const rows: [string, unknown, Record<string, string> | undefined, string][] = [
    ['a text/plain iptables dump', counterDump(), undefined, 'whole'],
    ['a text/plain nft ruleset (detected)', NFT, undefined, 'nft'],
    ['a text/plain body with ?family=nft', 'anything', { family: 'nft' }, 'nft'],
    ['JSON dump', { dump: counterDump() }, undefined, 'whole'],
    ['JSON dump and nft', { dump: counterDump(), nft: NFT }, undefined, 'whole'],
    ['JSON nft alone', { nft: NFT }, undefined, 'nft'],
    ['JSON dump in an nft format', { dump: NFT, format: 'nft-text' }, undefined, 'nft'],
    ['JSON delta', { delta: { base: 'x', script: [], sha256: 'y' } }, undefined, 'delta'],
    ['JSON ip6Delta with a dump', { dump: counterDump(), ip6Delta: { base: 'x', script: [], sha256: 'y' } }, undefined, 'delta'],
    ['no body (refused before it was read)', undefined, undefined, 'whole'],
  ];
  for (const [what, body, query, kind] of rows) it(`${what}: ${kind}`, () => assert.equal(uploadKind(body, query as never), kind));
});

describe('GET /metrics on an open server (loopback, no tokens)', () => {
  let api: TestApi;
  let other: TestApi;
  let findingsRoute: { severity: string }[] = [];
  before(async () => {
    api = await startApi();
    other = await startApi();
    const host = JSON.parse(await s004('node02.host.json'));
    // Two uploads of node02 (stored, then the same text: unchanged), master as an nft ruleset alone, one refused upload.
    await api.request.post(`${V1}/nodes/node02/dumps`).send({ dump: await s004('node02.txt'), host, cluster: 'lab' }).expect(201);
    await api.request.post(`${V1}/nodes/node02/dumps`).send({ dump: await s004('node02.txt'), host, cluster: 'lab' }).expect(200);
    await api.request.post(`${V1}/nodes/master/dumps`).set('content-type', 'text/plain').send(NFT).expect(201);
    await api.request.post(`${V1}/nodes/bad/dumps`).set('content-type', 'text/plain').send('not a ruleset\n').expect(422);
    // An agent's incremental upload: a text, then a delta of it (a new version).
    const [v0, v1] = [counterDump({ variant: 0 }), counterDump({ variant: 1 })];
    await api.request.post(`${V1}/nodes/agent1/dumps`).set('content-type', 'text/plain').send(v0).expect(201);
    await api.request.post(`${V1}/nodes/agent1/dumps`).send({ delta: { base: sha256Hex(v0), sha256: sha256Hex(v1), ...makeLineScript(v0, v1) } }).expect(201);
    // A trace, a what-if trace, a cluster trace (answered as text) and a refused trace.
    await api.request.post(`${V1}/trace`).send({ node: 'node02', packet: PACKET }).expect(200);
    await api.request.post(`${V1}/trace/text`).send({ cluster: 'lab', from: { node: 'node02', interface: 'flannel.1' }, packet: PACKET }).expect(200);
    await api.request.post(`${V1}/trace`).send({ node: 'nobody', packet: PACKET }).expect(404);
    await api.request.post(`${V1}/trace`).send({ node: 'node02', packet: PACKET, changes: ['-P FORWARD ACCEPT'] }).expect(200);
    findingsRoute = (await api.request.get(`${V1}/nodes/node02/findings`).expect(200)).body.findings;
  });
  after(async () => {
    await api?.close();
    await other?.close();
  });

  it('counts uploads by kind and result, and their bytes as sent', async () => {
    const m = await scrape(api);
    assert.equal(valueOf(m, 'packetpath_uploads_total', { kind: 'whole', result: 'stored' }), 2);
    assert.equal(valueOf(m, 'packetpath_uploads_total', { kind: 'whole', result: 'unchanged' }), 1);
    assert.equal(valueOf(m, 'packetpath_uploads_total', { kind: 'delta', result: 'stored' }), 1);
    assert.equal(valueOf(m, 'packetpath_uploads_total', { kind: 'nft', result: 'stored' }), 1);
    assert.equal(valueOf(m, 'packetpath_uploads_total', { kind: 'whole', result: 'rejected' }), 1);
    assert.equal(valueOf(m, 'packetpath_upload_size_bytes_sum', { kind: 'nft' }), Buffer.byteLength(NFT));
    assert.equal(valueOf(m, 'packetpath_upload_duration_seconds_count', { kind: 'whole' }), 4);
    assert.equal(m.types.get('packetpath_upload_duration_seconds'), 'histogram');
  });

  it('counts traces by kind and what-if', async () => {
    const m = await scrape(api);
    assert.equal(valueOf(m, 'packetpath_traces_total', { kind: 'single', whatif: 'no', result: 'ok' }), 1);
    assert.equal(valueOf(m, 'packetpath_http_requests_total', { method: 'POST', route: '/api/v1/trace/text', status: '200' }), 1);
    assert.equal(valueOf(m, 'packetpath_traces_total', { kind: 'single', whatif: 'yes', result: 'ok' }), 1);
    assert.equal(valueOf(m, 'packetpath_traces_total', { kind: 'cluster', whatif: 'no', result: 'ok' }), 1);
    assert.equal(valueOf(m, 'packetpath_traces_total', { kind: 'single', whatif: 'no', result: 'rejected' }), 1);
    assert.equal(valueOf(m, 'packetpath_trace_duration_seconds_count', { kind: 'single', whatif: 'no' }), 2);
  });

  it('labels requests by route pattern, never the raw URL', async () => {
    const m = await scrape(api);
    assert.equal(valueOf(m, 'packetpath_http_requests_total', { method: 'POST', route: '/api/v1/nodes/:node/dumps', status: '201' }), 4);
    assert.equal(valueOf(m, 'packetpath_http_requests_total', { method: 'POST', route: '/api/v1/trace', status: '200' }), 2);
    assert.equal(valueOf(m, 'packetpath_http_requests_total', { method: 'POST', route: '/api/v1/trace', status: '404' }), 1);
    await api.request.get('/no/such/route/node02').expect(404);
    const after404 = await scrape(api);
    assert.equal(valueOf(after404, 'packetpath_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1);
    const routes = new Set(samplesOf(after404, 'packetpath_http_requests_total').map((s) => s.labels['route']));
    for (const r of routes) assert.doesNotMatch(r!, /node02|master|agent1|\/bad\//, `a raw URL as a label: ${r}`);
    assert.ok(routes.has('/metrics'));
  });

  it('reports the process metrics on the same registry', async () => {
    const m = await scrape(api);
    assert.ok(samplesOf(m, 'process_cpu_user_seconds_total').length === 1);
    assert.ok((valueOf(m, 'nodejs_heap_size_used_bytes') ?? 0) > 0);
  });

  it('gives the age of every node\'s last upload of each family', async () => {
    const m = await scrape(api);
    const ages = samplesOf(m, 'packetpath_node_last_upload_age_seconds');
    assert.deepEqual(ages.map((s) => `${s.labels['node']}/${s.labels['family']}`).sort(), ['agent1/ipv4', 'master/nft', 'node02/ipv4']);
    for (const a of ages) assert.ok(a.value >= 0 && Number.isFinite(a.value));
    assert.equal(m.types.get('packetpath_node_last_upload_age_seconds'), 'gauge');
  });

  it('counts findings by severity, computed in the background: node02 of seed 004 as its findings route says', async () => {
    await scrape(api); // queues any node not counted yet
    await api.app.metrics.findingsIdle();
    const m = await scrape(api);
    assert.equal(valueOf(m, NODE_FINDINGS_PENDING), 0);
    assert.equal(valueOf(m, NODE_FINDINGS_FAILED), 0);
    const bySeverity = (s: string) => findingsRoute.filter((f) => f.severity === s).length;
    assert.ok(bySeverity('error') > 0, 'seed 004 node02 has errors (undefined chains of its FORWARD listing)');
    for (const severity of ['error', 'warning', 'info']) assert.equal(valueOf(m, NODE_FINDINGS, { node: 'node02', severity }), bySeverity(severity), severity);
    assert.deepEqual(new Set(samplesOf(m, NODE_FINDINGS).map((s) => s.labels['node'])), new Set(['agent1', 'master', 'node02']));
  });

  it('another app in the same process counts its own requests only', async () => {
    const m = await scrape(other);
    assert.equal(samplesOf(m, 'packetpath_uploads_total').length, 0);
    assert.equal(samplesOf(m, 'packetpath_traces_total').length, 0);
    assert.equal(valueOf(m, 'packetpath_http_requests_total', { route: '/api/v1/nodes/:node/dumps' }), undefined);
    assert.equal(samplesOf(m, 'packetpath_node_last_upload_age_seconds').length, 0);
    assert.ok(samplesOf(m, 'process_cpu_user_seconds_total').length === 1);
  });

  it('node collectors added later fill their gauges at each scrape; a failing one is counted and leaves the others', async () => {
    let calls = 0;
    api.app.metrics.addNodeCollector({
      name: 'test-extra',
      gauges: [{ name: 'packetpath_test_extra', help: 'filled by the test', labelNames: ['node'] }],
      collect: async () => {
        calls++;
        return { packetpath_test_extra: [{ labels: { node: 'node02' }, value: 17 }] };
      },
    });
    api.app.metrics.addNodeCollector({
      name: 'broken',
      gauges: [{ name: 'packetpath_test_broken', help: 'never filled', labelNames: ['node'] }],
      collect: async () => {
        throw new Error('store unavailable');
      },
    });
    const m = await scrape(api);
    assert.equal(calls, 1);
    assert.equal(valueOf(m, 'packetpath_test_extra', { node: 'node02' }), 17);
    assert.equal(samplesOf(m, 'packetpath_test_broken').length, 0);
    assert.equal(valueOf(m, 'packetpath_scrape_collector_errors_total', { collector: 'broken' }), 1);
    assert.equal(samplesOf(m, 'packetpath_node_last_upload_age_seconds').length, 3);
  });

  it('the policy-drop collector turns the counter history\'s answer into one sample per chain', async () => {
    const collector = policyDropCollector(async () => [
      { node: 'node02', family: 'ipv4', chains: [{ table: 'filter', chain: 'FORWARD', packets: 17, bytes: 1428 }, { table: 'filter', chain: 'INPUT', packets: 0, bytes: 0 }] },
      { node: 'master', family: 'ipv6', chains: [] },
    ]);
    const samples = await collector.collect({ now: new Date(), versions: [], db: undefined as never });
    assert.deepEqual(samples[NODE_POLICY_DROP_PACKETS], [
      { labels: { node: 'node02', family: 'ipv4', table: 'filter', chain: 'FORWARD' }, value: 17 },
      { labels: { node: 'node02', family: 'ipv4', table: 'filter', chain: 'INPUT' }, value: 0 },
    ]);
    assert.deepEqual(samples[NODE_POLICY_DROP_BYTES]?.[0]?.value, 1428);
  });
});

describeEachBackend('packetpath_node_policy_drop_packets from the counter history', (backend) => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ backend });
  });
  after(async () => api?.close());

  it('reports what node02\'s FORWARD policy DROP counted between its last two uploads', async () => {
    const text = await s004('node02.txt');
    const withPolicy = (packets: number) => text.replace('Chain FORWARD (policy DROP 0 packets, 0 bytes)', `Chain FORWARD (policy DROP ${packets} packets, ${packets * 84} bytes)`);
    assert.notEqual(withPolicy(5), text);
    await api.request.post(`${V1}/nodes/node02/dumps`).set('content-type', 'text/plain').send(withPolicy(5)).expect(201);
    // One upload: nothing to compare with yet.
    assert.equal(samplesOf(await scrape(api), NODE_POLICY_DROP_PACKETS).length, 0);
    await api.request.post(`${V1}/nodes/node02/dumps`).set('content-type', 'text/plain').send(withPolicy(42)).expect(200);
    const m = await scrape(api);
    assert.equal(valueOf(m, NODE_POLICY_DROP_PACKETS, { node: 'node02', family: 'ipv4', table: 'filter', chain: 'FORWARD' }), 37);
    assert.equal(valueOf(m, NODE_POLICY_DROP_BYTES, { node: 'node02', family: 'ipv4', table: 'filter', chain: 'FORWARD' }), 37 * 84);
  });
});

describe('findingsCollector: the background queue', () => {
  const version = (node: string, family: LatestVersion['family'], sha256: string, hostSha256: string | null = null): LatestVersion => ({
    node,
    cluster: null,
    family,
    id: 1,
    format: family === 'nft' ? 'nft-text' : 'iptables-save',
    sha256,
    lastSeenAt: new Date(0),
    hostSha256,
  });
  const quiet = { warn: () => undefined } as never;
  const scrapeOf = (versions: LatestVersion[]) => ({ now: new Date(), versions, db: undefined as never });

  it('keys a node by the family it lints, its canonical versions and host file', () => {
    const m = (...v: LatestVersion[]) => new Map(v.map((x) => [x.family, x]));
    assert.deepEqual(findingsJob(m(version('a', 'ipv4', 'i4'), version('a', 'ipv6', 'i6'))), { family: 'ipv4', key: 'ipv4:i4:-:-' });
    assert.deepEqual(findingsJob(m(version('a', 'ipv6', 'i6', 'h'))), { family: 'ipv6', key: 'ipv6:i6:-:h' });
    assert.deepEqual(findingsJob(m(version('a', 'nft', 'n', 'h2'))), { family: 'ipv4', key: 'ipv4:-:n:h2' });
    assert.deepEqual(findingsJob(m(version('a', 'ipv4', 'i4'), version('a', 'nft', 'n', 'h2'))), { family: 'ipv4', key: 'ipv4:i4:n:h2' });
  });

  it('computes each node once per set of versions, keeps old counts while new ones are pending, retries a busy pool, not a failure', async () => {
    const asked: string[] = [];
    let answer: (node: string) => { severity: 'error' | 'warning' | 'info' }[] | Error = () => [{ severity: 'error' }, { severity: 'info' }, { severity: 'info' }];
    const c = findingsCollector(async (node, family) => {
      asked.push(`${node}/${family}`);
      const a = answer(node);
      if (a instanceof Error) throw a;
      return a;
    }, quiet);
    const first = await c.collect(scrapeOf([version('a', 'ipv4', 'v1'), version('b', 'ipv6', 'w1')]));
    assert.deepEqual(first[NODE_FINDINGS], [], 'nothing computed at the scrape itself');
    assert.deepEqual(first[NODE_FINDINGS_PENDING], [{ labels: {}, value: 2 }]);
    await c.idle();
    assert.deepEqual(asked, ['a/ipv4', 'b/ipv6']);
    const second = await c.collect(scrapeOf([version('a', 'ipv4', 'v1'), version('b', 'ipv6', 'w1')]));
    assert.deepEqual(second[NODE_FINDINGS_PENDING], [{ labels: {}, value: 0 }]);
    assert.deepEqual(second[NODE_FINDINGS]!.filter((s) => s.labels['node'] === 'a').map((s) => [s.labels['severity'], s.value]), [['error', 1], ['warning', 0], ['info', 2]]);
    await c.idle();
    assert.equal(asked.length, 2, 'same versions: not computed again');

    // a's versions change; the pool is busy once, then b is gone.
    let busy = true;
    answer = (node) => (node === 'a' && busy ? ((busy = false), new HttpProblem(503, 'analysis-busy', 'busy')) : [{ severity: 'warning' }]);
    const third = await c.collect(scrapeOf([version('a', 'ipv4', 'v2')]));
    assert.deepEqual(third[NODE_FINDINGS_PENDING], [{ labels: {}, value: 1 }]);
    assert.deepEqual(third[NODE_FINDINGS]!.map((s) => `${s.labels['node']}:${s.labels['severity']}=${s.value}`), ['a:error=1', 'a:warning=0', 'a:info=2'], 'old counts while pending; b gone');
    await c.idle();
    const fourth = await c.collect(scrapeOf([version('a', 'ipv4', 'v2')]));
    assert.deepEqual(fourth[NODE_FINDINGS_PENDING], [{ labels: {}, value: 1 }], 'busy: queued again');
    await c.idle();
    const fifth = await c.collect(scrapeOf([version('a', 'ipv4', 'v2')]));
    assert.deepEqual(fifth[NODE_FINDINGS]!.map((s) => s.value), [0, 1, 0]);

    answer = () => new Error('worker out of memory');
    await c.collect(scrapeOf([version('a', 'ipv4', 'v3')]));
    await c.idle();
    const asks = asked.length;
    const failed = await c.collect(scrapeOf([version('a', 'ipv4', 'v3')]));
    await c.idle();
    assert.equal(asked.length, asks, 'a failure is not retried for the same versions');
    assert.deepEqual(failed[NODE_FINDINGS_FAILED], [{ labels: {}, value: 1 }]);
    assert.deepEqual(failed[NODE_FINDINGS_PENDING], [{ labels: {}, value: 0 }]);
    c.stop();
  });
});

describe('GET /metrics with tokens', () => {
  let api: TestApi;
  const t: Record<'scrape' | 'read' | 'upload' | 'admin', string> = { scrape: '', read: '', upload: '', admin: '' };
  before(async () => {
    api = await startApi();
    for (const scope of ['scrape', 'read', 'upload', 'admin'] as const) t[scope] = (await createToken(api.db.prisma, { scope })).token;
    await api.request.post(`${V1}/nodes/n1/dumps`).set('authorization', bearer(t.upload)).send({ dump: iptablesForward('DROP') }).expect(201);
  });
  after(async () => api?.close());

  it('a scrape token reads /metrics (and so do read and admin tokens)', async () => {
    const m = await scrape(api, t.scrape);
    assert.equal(valueOf(m, 'packetpath_uploads_total', { kind: 'whole', result: 'stored' }), 1);
    assert.equal(samplesOf(m, 'packetpath_node_last_upload_age_seconds', { node: 'n1', family: 'ipv4' }).length, 1);
    await scrape(api, t.read);
    await scrape(api, t.admin);
  });

  it('an upload token gets 403, no token 401', async () => {
    const denied = await api.request.get('/metrics').set('authorization', bearer(t.upload)).expect(403);
    assert.match(denied.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.match(denied.body.detail, /needs "read" or "scrape"/);
    const none = await api.request.get('/metrics').expect(401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="packetpath"');
  });

  it('a scrape token reads nothing else', async () => {
    await api.request.get(`${V1}/nodes`).set('authorization', bearer(t.scrape)).expect(403);
    await api.request.post(`${V1}/nodes/n2/dumps`).set('authorization', bearer(t.scrape)).send({ dump: iptablesForward('DROP') }).expect(403);
    await api.request.get(`${V1}/tokens`).set('authorization', bearer(t.scrape)).expect(403);
  });

  it('the tokens API creates scrape tokens', async () => {
    const created = await api.request.post(`${V1}/tokens`).set('authorization', bearer(t.admin)).send({ scope: 'scrape', name: 'prometheus' }).expect(201);
    assert.equal(created.body.scope, 'scrape');
    await scrape(api, created.body.token);
  });
});

describeEachBackend('replicas on one database report the same per-node metrics', (backend) => {
  let a: TestApi;
  let b: TestApi;
  before(async () => {
    a = await startApi({ backend });
    b = await startApi({ shareDatabaseOf: a });
    await a.request.post(`${V1}/nodes/node02/dumps`).send({ dump: iptablesForward('DROP'), ip6Dump: counterDump({ family: 'ipv6' }) }).expect(201);
    await a.request.post(`${V1}/nodes/node03/dumps`).send({ nft: NFT }).expect(201);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it("B, which took no upload, reports A's nodes, their upload ages and findings; its own request counters stay its own", async () => {
    for (const api of [a, b]) {
      await scrape(api);
      await api.app.metrics.findingsIdle();
    }
    const [ma, mb] = [await scrape(a), await scrape(b)];
    const series = (m: Exposition, name: string) => samplesOf(m, name).map((s) => JSON.stringify(s.labels)).sort();
    assert.deepEqual(series(mb, 'packetpath_node_last_upload_age_seconds'), ['{"node":"node02","family":"ipv4"}', '{"node":"node02","family":"ipv6"}', '{"node":"node03","family":"nft"}']);
    assert.deepEqual(series(mb, 'packetpath_node_last_upload_age_seconds'), series(ma, 'packetpath_node_last_upload_age_seconds'));
    assert.deepEqual(samplesOf(mb, NODE_FINDINGS), samplesOf(ma, NODE_FINDINGS));
    assert.equal(samplesOf(mb, NODE_FINDINGS).length, 6);
    assert.equal(valueOf(ma, 'packetpath_uploads_total', { kind: 'whole', result: 'stored' }), 1);
    assert.equal(samplesOf(mb, 'packetpath_uploads_total').length, 0);
  });
});

describe('closing an app while findings are computed in the background', () => {
  it('closes without waiting for the lint and without an unhandled error', async () => {
    const api = await startApi();
    await api.request.post(`${V1}/nodes/node02/dumps`).send({ dump: await s004('node02.txt'), host: JSON.parse(await s004('node02.host.json')) }).expect(201);
    const m = await scrape(api);
    assert.equal(valueOf(m, NODE_FINDINGS_PENDING), 1, 'queued, running in the background');
    await api.close();
    await api.app.metrics.findingsIdle();
  });
});
