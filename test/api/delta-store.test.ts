// What a spliced delta upload stores (its line deltas written with the lines
// it knows it copied, splice-deltas.ts TextHints) is byte for byte what the
// same texts uploaded whole store, and its counters (a `counters-delta` of
// the node's last whole counters) hold the same values: one server takes a
// kube-proxy node's collections as deltas, another the same texts whole, and
// every version's text blobs are compared row by row (encoding, bytes, base)
// and its counters by value, over rounds of edits (rules
// changed at a chain's start or end, chains emptied and filled, counters
// alone, a fallback to the full path in between).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { makeLineScript } from '../../src/store/line-script.ts';
import { sha256Hex } from '../../src/store/index.ts';
import { getCounters } from '../../src/store/blobs.ts';
import type { CounterText } from '../../src/store/counters-codec.ts';
import { applyCountersDelta, countersDeltaSources, encodeCountersDelta } from '../../src/store/splice-deltas.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { arbitraryEdit, shapedEdit } from '../support/edits.ts';

const V1 = '/api/v1';

/** A text blob's row and its base's (bytes as hex); the counters it merges in as their values. */
async function textRows(api: TestApi, sha256: string | null): Promise<unknown[]> {
  if (!sha256) return [];
  const row = await api.db.prisma.blob.findUnique({ where: { sha256 }, select: { sha256: true, size: true, encoding: true, data: true, baseSha256: true, countersSha256: true } });
  assert.ok(row, `blob ${sha256}`);
  const { countersSha256, ...rest } = row;
  return [{ ...rest, data: Buffer.from(row.data).toString('hex'), counters: countersSha256 ? await getCounters(api.db.prisma, countersSha256) : null }, ...(await textRows(api, row.baseSha256))];
}

/**
 * Every version's texts as stored (canonical and uploaded, byte for byte) and its counters' values
 * (a spliced delta stores them as a `counters-delta`, a whole upload whole: same values).
 */
async function versions(api: TestApi, node: string, encodings: Set<string>): Promise<unknown[]> {
  const dumps = await api.db.prisma.dump.findMany({ where: { node: { name: node } }, orderBy: { id: 'asc' }, select: { sha256: true, originalSha256: true, countersSha256: true } });
  const out: unknown[] = [];
  for (const d of dumps) {
    const counters = d.countersSha256 ? await api.db.prisma.blob.findUnique({ where: { sha256: d.countersSha256 }, select: { encoding: true } }) : null;
    if (counters) encodings.add(counters.encoding);
    out.push({ canonical: await textRows(api, d.sha256), original: await textRows(api, d.originalSha256), counters: d.countersSha256 ? await getCounters(api.db.prisma, d.countersSha256) : null });
  }
  return out;
}

/** The counters of every line moved, and nothing else (the same version). */
const countersOnly = (text: string, round: number): string => text.replace(/^\[(\d+):(\d+)\] /gm, (m, p: string, b: string) => (Number(p) % 7 === round % 7 ? `[${Number(p) + 1}:${Number(b) + 60}] ` : m));

describe('counters deltas (splice-deltas.ts)', () => {
  it('round-trip: copies of the base in any order, literals, big and absent counters', () => {
    const base: CounterText[] = Array.from({ length: 300 }, (_, i) => (i % 11 === 0 ? null : `${i * 7}:${i * 700}`));
    let seedValue = 5;
    const rnd = (): number => (seedValue = (seedValue * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 20; round++) {
      const n = 1 + Math.floor(rnd() * 400);
      const from = new Int32Array(n);
      const want: CounterText[] = [];
      let at = Math.floor(rnd() * 300);
      for (let s = 0; s < n; s++) {
        const k = rnd();
        if (k < 0.2) at = Math.floor(rnd() * 300);
        if (k > 0.9 || at >= 300) {
          from[s] = -1;
          want.push(rnd() < 0.3 ? null : rnd() < 0.1 ? '123456789012345678901:98765432109876543210' : `${Math.floor(rnd() * 1e6)}:${Math.floor(rnd() * 1e9)}`);
        } else {
          from[s] = at;
          want.push(base[at++]!);
        }
      }
      const payload = encodeCountersDelta(from, want);
      assert.deepEqual(applyCountersDelta(base, payload), want, `round ${round}`);
      assert.deepEqual(Array.from(countersDeltaSources(payload, base.length).from), Array.from(from));
    }
    assert.throws(() => applyCountersDelta(base.slice(0, 10), encodeCountersDelta(Int32Array.of(50), ['1:2'])), /outside the base/);
  });
});

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
    const encodings = new Set<string>();
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
      assert.deepEqual(await versions(deltas, 'n1', encodings), await versions(wholes, 'n1', new Set()), `round ${round}`);
      // And the API's counters of the version.
      const latest = (api: TestApi) => api.request.get(`${V1}/nodes/n1/dumps/latest`).expect(200).then((r) => (r.body as { counters: unknown }).counters);
      assert.deepEqual(await latest(deltas), await latest(wholes), `round ${round}: counters`);
      text = edited;
    }
    assert.ok(stats.spliced >= 10, `${stats.spliced} spliced`);
    assert.ok(encodings.has('counters-delta'), `counters written as deltas (${[...encodings]})`);
    // Forgetting the node leaves no blob behind (a counters delta's whole base included).
    await deltas.request.delete(`${V1}/nodes/n1`).expect(204);
    assert.equal(await deltas.db.prisma.blob.count(), 0);
  });
});
