// Issue 14.5: GET /diff compares nft rulesets (family=nft) rule by rule and
// sets by members, and probes compare nodes across kube-proxy modes by outcome.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { BOTH_ENDPOINTS, ENDPOINT_NODE_HOST, KUBE_WEB_IPTABLES, kubeWebNft } from '../support/stories.ts';

const V1 = '/api/v1';
describe('diffs of nft rulesets and across kube-proxy modes', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/ipt-mode/dumps`).send({ dump: KUBE_WEB_IPTABLES, host: ENDPOINT_NODE_HOST }).expect(201);
    await api.request.post(`${V1}/nodes/nft-mode/dumps`).send({ nft: kubeWebNft(BOTH_ENDPOINTS), host: ENDPOINT_NODE_HOST }).expect(201);
    await api.request.post(`${V1}/nodes/nft-mode-2/dumps`).send({ nft: kubeWebNft('\t\tgoto endpoint-a\n', '203.0.113.80 . tcp . 80 : goto service-web, 203.0.113.53 . tcp . 53 : goto service-dns'), host: ENDPOINT_NODE_HOST }).expect(201);
  });
  after(() => api?.close());

  it('family=nft: a changed chain rule by rule, a Service more as one map element', async () => {
    const r = await api.request.get(`${V1}/diff?left=nft-mode&right=nft-mode-2&family=nft`).expect(200);
    assert.equal(r.body.family, 'nft');
    assert.equal(typeof r.body.left.dump, 'number');
    assert.deepEqual(r.body.sets, [{ table: 'ip kube-proxy', set: 'service-ips', kind: 'map', status: 'changed', added: ['203.0.113.53 . tcp . 53 : goto service-dns'], removed: [] }]);
    assert.deepEqual(r.body.chains.map((c: { table: string; chain: string; added: number; removed: number }) => [c.table, c.chain, c.added, c.removed]), [['ip kube-proxy', 'service-web', 1, 1]]);
    assert.deepEqual({ ...r.body.summary }, { policiesDiffer: 0, chainsOnlyLeft: 0, chainsOnlyRight: 0, chainsChanged: 1, rulesAdded: 1, rulesRemoved: 1, setsChanged: 1, elementsAdded: 1, elementsRemoved: 0, identical: false });
    const text = await api.request.get(`${V1}/diff?left=nft-mode&right=nft-mode-2&family=nft&format=unified`).expect(200);
    assert.match(text.text, /@@ ip kube-proxy map service-ips @@\n\+element 203\.0\.113\.53 \. tcp \. 53 : goto service-dns\n/);
  });

  it('packets=auto across modes: the same Service in iptables and nftables mode differs in no probe to it; a lost endpoint does', async () => {
    const same = await api.request.get(`${V1}/diff?left=ipt-mode&right=nft-mode&packets=auto`).expect(200);
    assert.equal(same.body.right.dump, null, 'nft-mode has no ipv4 iptables dump: compared as empty');
    assert.ok(same.body.probes.count > 0);
    const web = (b: { probes: { differences: { probe: { dst: string; dport: number; protocol: string } }[] } }) => b.probes.differences.find((d) => d.probe.dst === '203.0.113.80' && d.probe.dport === 80 && d.probe.protocol === 'tcp');
    assert.equal(web(same.body), undefined, JSON.stringify(same.body.probes.differences).slice(0, 500));
    const lost = await api.request.get(`${V1}/diff?left=ipt-mode&right=nft-mode-2&packets=auto`).expect(200);
    assert.deepEqual(web(lost.body) && { left: (web(lost.body) as unknown as { left: string[] }).left, right: (web(lost.body) as unknown as { right: string[] }).right }, {
      left: ['ACCEPT FORWARDED 198.51.100.11:8080 (50.0%)', 'ACCEPT FORWARDED 198.51.100.12:8080 (50.0%)'],
      right: ['ACCEPT FORWARDED 198.51.100.11:8080 (100.0%)'],
    });
  });

  it('a node with neither kind is a 404; a pinned dump of the other family is a 404 naming it', async () => {
    await api.request.get(`${V1}/diff?left=ipt-mode&right=ghost`).expect(404);
    const nftId = (await api.request.get(`${V1}/diff?left=nft-mode&right=nft-mode-2&family=nft`)).body.left.dump;
    const r = await api.request.get(`${V1}/diff?left=nft-mode&right=ipt-mode&leftDump=${nftId}`).expect(404);
    assert.match(r.body.detail, /is nft, not ipv4/);
  });
});
