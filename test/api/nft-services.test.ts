// Issue 14.6: /nodes/{node}/services reads kube-proxy's nftables mode as well
// as its iptables mode, and says which mode each Service came from.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { extractNftServices, parseNftJson } from '../../src/netfilter/index.ts';
import { seed, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

describe('Services in both kube-proxy modes', () => {
  let api: TestApi;
  const kube = generateKubeNft({ services: 3, endpoints: 2 });
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/nft-mode/dumps`).set('content-type', 'text/plain').send(kube.json).expect(201);
    await api.request.post(`${V1}/nodes/ipt-mode/dumps`).set('content-type', 'text/plain').send(await seed()).expect(201);
    await api.request.post(`${V1}/nodes/migrating/dumps`).send({ dump: await seed(), nft: kube.text }).expect(201);
  });
  after(() => api?.close());

  it('nftables mode: the Services of the kube-proxy table, each marked nftables', async () => {
    const r = await api.request.get(`${V1}/nodes/nft-mode/services`).expect(200);
    assert.deepEqual(r.body.modes, ['nftables']);
    assert.equal(r.body.dump, r.body.nftDump, 'only an nft ruleset: it is the version read');
    const expected = extractNftServices(parseNftJson(kube.json).ruleset);
    assert.equal(r.body.services.length, 3);
    assert.deepEqual(
      r.body.services.map((s: { name: string; clusterIP: string; port: number; mode: string; endpoints: { ip: string; probability: number }[] }) => [s.name, s.clusterIP, s.port, s.mode, s.endpoints.map((e) => [e.ip, e.probability])]),
      expected.map((s) => [s.name, s.clusterIP, s.port, 'nftables', s.endpoints.map((e) => [e.ip, e.probability])]),
    );
    assert.ok(r.body.services.every((s: { endpoints: unknown[] }) => s.endpoints.length === 2));
  });

  it('iptables mode: as before, each marked iptables; a node changing mode shows both', async () => {
    const ipt = await api.request.get(`${V1}/nodes/ipt-mode/services`).expect(200);
    assert.deepEqual(ipt.body.modes, ['iptables']);
    assert.equal(ipt.body.nftDump, undefined);
    assert.ok(ipt.body.services.length > 0 && ipt.body.services.every((s: { mode: string }) => s.mode === 'iptables'));
    const both = await api.request.get(`${V1}/nodes/migrating/services`).expect(200);
    assert.deepEqual(both.body.modes, ['iptables', 'nftables']);
    assert.equal(both.body.services.length, ipt.body.services.length + 3);
    const pinned = await api.request.get(`${V1}/nodes/migrating/services?dump=${both.body.nftDump}`).expect(200);
    assert.deepEqual(pinned.body.modes, ['nftables']);
    await api.request.get(`${V1}/nodes/ghost/services`).expect(404);
  });
});
