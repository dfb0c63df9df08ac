// Issue 15.4: GET routes that list rules and chains answer a page at a time
// (`limit`, `cursor` → `nextCursor`), and a walk stays on the version it began
// with even when a newer one is uploaded meanwhile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

const dump = (n: number, extra = '') =>
  ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...Array.from({ length: 6 }, (_, i) => `:C${i} - [0:0]`), ...Array.from({ length: n }, (_, i) => `-A INPUT -s 192.0.2.${i % 250}/32 -p tcp -m tcp --dport ${1000 + i} -j ACCEPT`), extra, 'COMMIT', ''].filter((l) => l !== '').join('\n') + '\n';

const NFT = `table inet fw {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n${Array.from({ length: 7 }, (_, i) => `\t\ttcp dport ${2000 + i} accept`).join('\n')}\n\t}\n}\n`;

describe('pages of rules and chains', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/big/dumps`).send({ dump: dump(25), nft: NFT }).expect(201);
  });
  after(() => api?.close());

  /** Every page of `url` with `limit`, and what the pages said. */
  async function walk(url: string, key: string, limit: number, between?: () => Promise<void>) {
    const items: unknown[] = [];
    const dumps = new Set<number>();
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const r = await api.request.get(url).query({ limit, ...(cursor ? { cursor } : {}) }).expect(200);
      items.push(...r.body[key]);
      dumps.add(r.body.dump);
      assert.ok(r.body[key].length <= limit);
      cursor = r.body.nextCursor;
      pages++;
      if (pages === 1) await between?.();
    } while (cursor);
    return { items, dumps, pages };
  }

  it('a chain\'s rules: pages of `limit`, together the whole chain in order, `total` on each', async () => {
    const whole = await api.request.get(`${V1}/nodes/big/tables/filter/chains/INPUT`).expect(200);
    assert.equal(whole.body.rules.length, 25, 'the default page holds a small chain whole');
    assert.equal(whole.body.total, 25);
    assert.equal(whole.body.nextCursor, null);
    const paged = await walk(`${V1}/nodes/big/tables/filter/chains/INPUT`, 'rules', 10);
    assert.equal(paged.pages, 3);
    assert.deepEqual(paged.items, whole.body.rules);
  });

  it('a search and a table\'s chains, iptables and nft, page the same way', async () => {
    const all = (await api.request.get(`${V1}/nodes/big/rules`).query({ proto: 'tcp' }).expect(200)).body.rules;
    assert.equal(all.length, 25);
    const paged = await walk(`${V1}/nodes/big/rules?proto=tcp`, 'rules', 7);
    assert.equal(paged.pages, 4);
    assert.deepEqual(paged.items, all);
    const chains = (await api.request.get(`${V1}/nodes/big/tables/filter/chains`).expect(200)).body;
    assert.equal(chains.total, 9);
    assert.deepEqual((await walk(`${V1}/nodes/big/tables/filter/chains`, 'chains', 4)).items, chains.chains);
    const nftRules = (await api.request.get(`${V1}/nodes/big/tables/${encodeURIComponent('inet fw')}/chains/input`).expect(200)).body;
    assert.equal(nftRules.total, 7);
    assert.deepEqual((await walk(`${V1}/nodes/big/tables/${encodeURIComponent('inet fw')}/chains/input`, 'rules', 3)).items, nftRules.rules);
    assert.deepEqual((await walk(`${V1}/nodes/big/rules?family=nft&port=2003`, 'rules', 1)).items.length, 1);
    assert.equal((await walk(`${V1}/nodes/big/rules?family=nft&proto=tcp`, 'rules', 2)).items.length, 7);
  });

  it('a walk stays on its version when a newer one is uploaded between two pages', async () => {
    const first = (await api.request.get(`${V1}/nodes/big/tables/filter/chains/INPUT`).expect(200)).body;
    const w = await walk(`${V1}/nodes/big/tables/filter/chains/INPUT`, 'rules', 10, async () => {
      await api.request.post(`${V1}/nodes/big/dumps`).send({ dump: dump(40) }).expect(201);
    });
    assert.deepEqual([...w.dumps], [first.dump]);
    assert.deepEqual(w.items, first.rules);
    const now = (await api.request.get(`${V1}/nodes/big/tables/filter/chains/INPUT`).expect(200)).body;
    assert.notEqual(now.dump, first.dump);
    assert.equal(now.total, 40);
  });

  it('a bad cursor or limit is a 400 problem', async () => {
    const bad = await api.request.get(`${V1}/nodes/big/tables/filter/chains/INPUT`).query({ cursor: 'nope!' }).expect(400);
    assert.match(bad.headers['content-type'] ?? '', /application\/problem\+json/);
    await api.request.get(`${V1}/nodes/big/rules`).query({ cursor: Buffer.from('{"at":-1,"dump":1}').toString('base64url') }).expect(400);
    await api.request.get(`${V1}/nodes/big/rules`).query({ limit: 0 }).expect(400);
    await api.request.get(`${V1}/nodes/big/rules`).query({ limit: 10_001 }).expect(400);
  });
});
