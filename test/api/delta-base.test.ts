// Delta bases read from the store (src/store/delta-base.ts): a node's last
// upload, as lines, over the whole canonical text its cluster shares (kept in
// `Database.deltaBases.wholeLines`) plus the node's own small blobs. What a
// replica does when the base is not among the texts it keeps in memory.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { createDeltaBaseCache } from '../../src/store/delta-cache.ts';
import { uploadedLines } from '../../src/store/delta-base.ts';
import { makeLineScript } from '../../src/store/line-script.ts';
import { getBlobText, prepareDump, sha256Hex } from '../../src/store/index.ts';
import { describeEachBackend } from '../support/postgres.ts';
import { startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

/** Node i of one cluster: the same Services, its own node IP (the kubernetes endpoint's lines) and counters. */
function nodeText(i: number, round = 0, services = 40): string {
  let rule = 0;
  const g = generateKubeDump({ services, seed: 1, counters: true, nodeIp: `10.10.0.${2 + i}` });
  return g.text
    .replace(/^\[(\d+):(\d+)\] /gm, (_m, p: string, b: string) => `[${Number(p) + ((++rule * (i + 3) + round) % 7)}:${Number(b) + i * 60}] `)
    .replace(/-j DNAT --to-destination (\S+):(\d+)/, (_m, ip: string, port: string) => `-j DNAT --to-destination ${ip}:${Number(port) + round}`);
}

/** The whole (not delta) blobs other blobs are deltas of: the cluster's shared canonical text. */
async function sharedWholeBlobs(api: TestApi): Promise<string[]> {
  const bases = await api.app.db.prisma.blob.findMany({ where: { encoding: 'delta' }, select: { baseSha256: true } });
  const shas = [...new Set(bases.map((b) => b.baseSha256!))];
  const whole = await api.app.db.prisma.blob.findMany({ where: { sha256: { in: shas }, encoding: { in: ['gzip', 'identity'] } }, select: { sha256: true } });
  return whole.map((b) => b.sha256);
}

/** Garbles a stored blob: whoever reads it again gets an error or another text. */
async function garble(api: TestApi, sha256: string): Promise<void> {
  await api.app.db.prisma.blob.update({ where: { sha256 }, data: { encoding: 'identity', data: Buffer.from('garbled') } });
}

describeEachBackend('delta bases from the store', (backend) => {
  let first: TestApi;
  let replica: TestApi;
  before(async () => {
    first = await startApi({ backend });
    // Another replica on the same database: none of the first one's texts in its memory.
    replica = await startApi({ shareDatabaseOf: first });
  });
  after(async () => {
    await replica.close();
    await first.close();
  });

  const post = (api: TestApi, node: string, body: object) => api.request.post(`${V1}/nodes/${node}/dumps`).send(body);

  it('every node’s uploaded text, as lines over the shared whole text, is the stored text; the shared text is read once', async () => {
    for (let i = 0; i < 3; i++) await post(first, `s-${i}`, { dump: nodeText(i), cluster: 'shared' }).expect(201);
    const [whole, ...others] = await sharedWholeBlobs(first);
    assert.ok(whole && others.length === 0, 'the three canonical texts are deltas of one whole text');
    const cache = createDeltaBaseCache();
    const originals: string[] = [];
    for (let i = 0; i < 3; i++) originals.push((await first.request.get(`${V1}/nodes/s-${i}/dumps/latest`).expect(200)).body.originalSha256 as string);
    const expected = await Promise.all(originals.map(async (sha) => (await getBlobText(first.app.db.prisma, sha))!.split('\n')));
    assert.deepEqual(expected.map((lines) => sha256Hex(lines.join('\n'))), [0, 1, 2].map((i) => sha256Hex(nodeText(i))));
    assert.deepEqual(await uploadedLines(first.app.db.prisma, originals[0]!, cache), expected[0]);
    assert.deepEqual([...cache.wholeLines.keys()], [whole], 'the shared whole text is kept as lines');
    // From here on the whole text is not read again: the other nodes' bases come from its kept lines.
    await garble(first, whole);
    assert.deepEqual(await uploadedLines(first.app.db.prisma, originals[1]!, cache), expected[1]);
    assert.deepEqual(await uploadedLines(first.app.db.prisma, originals[2]!, cache), expected[2]);
    await assert.rejects(uploadedLines(first.app.db.prisma, originals[0]!, createDeltaBaseCache()), 'a cache without it reads the garbled blob');
  });

  it('a delta whose base another replica stored: rebuilt over the shared whole text, stored as its full upload would be', async () => {
    // Another cluster than the test above's (whose shared text is garbled now).
    const text = (i: number, round = 0): string => nodeText(i, round, 41);
    const nodes = ['r-0', 'r-1', 'full-0', 'full-1'];
    for (const [k, node] of nodes.entries()) await post(first, node, { dump: text(k % 2), cluster: 'replicas' }).expect(201);
    const deltaOf = (i: number) => ({ base: sha256Hex(text(i)), sha256: sha256Hex(text(i, 1)), ...makeLineScript(text(i), text(i, 1)) });
    const viaDelta = await post(replica, 'r-0', { delta: deltaOf(0), cluster: 'replicas' }).expect(201);
    const viaFull = await post(first, 'full-0', { dump: text(0, 1), cluster: 'replicas' }).expect(201);
    const { id: _a, node: _n1, ...d } = viaDelta.body;
    const { id: _b, node: _n2, ...f } = viaFull.body;
    assert.deepEqual(d, f);
    const raw = await replica.request.get(`${V1}/nodes/r-0/dumps/latest/raw`).expect(200);
    assert.equal(raw.text, text(0, 1));
    // The replica has read the cluster's whole text once; the next node's base needs only that node's own blobs.
    const expected = prepareDump(text(1, 1));
    for (const sha of await sharedWholeBlobs(first)) await garble(first, sha);
    const next = await post(replica, 'r-1', { delta: deltaOf(1), cluster: 'replicas' }).expect(201);
    assert.equal(next.body.sha256, expected.sha256);
    assert.equal(next.body.created, true);
  });
});
