// What a spliced delta upload stores (its line deltas written with the lines
// it knows it copied, blobs.ts TextHints) is byte for byte what the same
// texts uploaded whole store: one server takes a kube-proxy node's
// collections as deltas, another the same texts whole, and every blob of
// every version (canonical text, uploaded text, counters) is compared row by
// row (encoding, bytes, base, merged counters), over rounds of edits (rules
// changed at a chain's start or end, chains emptied and filled, counters
// alone, a fallback to the full path in between).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { makeLineScript } from '../../src/store/line-script.ts';
import { sha256Hex } from '../../src/store/index.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { arbitraryEdit, shapedEdit } from '../support/edits.ts';

const V1 = '/api/v1';

/** A blob row and, recursively, the rows it references. */
async function blobRows(api: TestApi, sha256: string | null, out = new Map<string, unknown>()): Promise<Map<string, unknown>> {
  if (!sha256 || out.has(sha256)) return out;
  const row = await api.db.prisma.blob.findUnique({ where: { sha256 }, select: { sha256: true, size: true, encoding: true, data: true, baseSha256: true, countersSha256: true } });
  assert.ok(row, `blob ${sha256}`);
  out.set(sha256, { ...row, data: Buffer.from(row.data).toString('hex') });
  await blobRows(api, row.baseSha256, out);
  await blobRows(api, row.countersSha256, out);
  return out;
}

async function latestBlobs(api: TestApi, node: string): Promise<Map<string, unknown>> {
  const dumps = await api.db.prisma.dump.findMany({ where: { node: { name: node } }, select: { sha256: true, originalSha256: true, countersSha256: true } });
  const out = new Map<string, unknown>();
  for (const d of dumps) for (const s of [d.sha256, d.originalSha256, d.countersSha256]) await blobRows(api, s, out);
  return out;
}

/** The counters of every line moved, and nothing else (the same version). */
const countersOnly = (text: string, round: number): string => text.replace(/^\[(\d+):(\d+)\] /gm, (m, p: string, b: string) => (Number(p) % 7 === round % 7 ? `[${Number(p) + 1}:${Number(b) + 60}] ` : m));

describe('a spliced delta stores the same blobs as the whole text', () => {
  let deltas: TestApi;
  let wholes: TestApi;
  before(async () => {
    deltas = await startApi();
    wholes = await startApi();
  });
  after(async () => {
    await deltas.close();
    await wholes.close();
  });

  it('kube-proxy collections over rounds of edits: every blob row is equal, byte for byte', async () => {
    const g = generateKubeDump({ services: 150, seed: 11, counters: true });
    let text = g.text;
    for (const api of [deltas, wholes]) await api.request.post(`${V1}/nodes/n1/dumps`).send({ dump: text }).expect(201);
    const stats = deltas.app.rulesetCache.splices.stats;
    for (let round = 0; round < 14; round++) {
      const edited = round === 9 ? arbitraryEdit(text, 5) : round % 5 === 4 ? countersOnly(text, round) : shapedEdit(text, 300 + round, 1 + (round % 3));
      if (edited === text) continue;
      const spliced = stats.spliced;
      const delta = { base: sha256Hex(text), sha256: sha256Hex(edited), ...makeLineScript(text, edited) };
      const a = await deltas.request.post(`${V1}/nodes/n1/dumps`).send({ delta });
      const b = await wholes.request.post(`${V1}/nodes/n1/dumps`).send({ dump: edited });
      assert.equal(a.status, b.status, `round ${round}: ${JSON.stringify(a.body)}`);
      // The first delta after a whole upload takes the full path (which keeps its base), and so does the arbitrary edit.
      if (round !== 0 && round !== 9) assert.equal(stats.spliced, spliced + 1, `round ${round} spliced (${stats.lastFallback})`);
      assert.deepEqual(await latestBlobs(deltas, 'n1'), await latestBlobs(wholes, 'n1'), `round ${round}`);
      text = edited;
    }
    assert.ok(stats.spliced >= 10, `${stats.spliced} spliced`);
  });
});
