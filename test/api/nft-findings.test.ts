// Issue 14.7: /nodes/{node}/findings lints a node with an nft ruleset across
// owners, with the facts the agent reports in the host file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { firewalldForward, KUBE_POD_IPTABLES, POD_NODE_HOST } from '../support/stories.ts';

const V1 = '/api/v1';
const KUBE_NFT = 'table ip kube-proxy {\n\tchain nat-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t}\n}\n';

describe('findings across owners', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/fw/dumps`).send({ dump: KUBE_POD_IPTABLES, nft: firewalldForward('drop'), host: POD_NODE_HOST }).expect(201);
    await api.request.post(`${V1}/nodes/old/dumps`).send({ nft: KUBE_NFT, host: { ...POD_NODE_HOST, nft: { status: 'ok', version: '0.9.8' }, kernel: '5.10.0-28-amd64', kubeProxy: { mode: 'nftables', source: 'endpoint' } } }).expect(201);
  });
  after(() => api?.close());

  it("firewalld's forward policy drop overrides kube-proxy's iptables accept: named with its owner", async () => {
    const r = await api.request.get(`${V1}/nodes/fw/findings`).expect(200);
    assert.equal(typeof r.body.nftDump, 'number');
    const f = r.body.findings.find((x: { code: string }) => x.code === 'accept-overridden');
    assert.ok(f, JSON.stringify(r.body.findings.map((x: { code: string }) => x.code)));
    assert.equal(f.owner, 'firewalld');
    assert.equal(f.table, 'inet firewalld');
    assert.match(f.message, /drops pod traffic 10\.244\.1\.10 → 10\.244\.2\.10:8080; Service default\/web\S* \(10\.96\.0\.80:80\) from a pod, which iptables filter FORWARD \(iptables \(nft backend\)\) accepted/);
  });

  it('an nft-only node in kube-proxy nftables mode with an old nft and kernel (facts from the agent)', async () => {
    const r = await api.request.get(`${V1}/nodes/old/findings`).expect(200);
    assert.equal(r.body.dump, r.body.nftDump);
    assert.deepEqual(r.body.findings.map((x: { code: string; owner: string }) => [x.code, x.owner]).sort(), [['kernel-too-old', 'kube-proxy (nftables mode)'], ['nft-too-old', 'kube-proxy (nftables mode)']]);
  });
});
