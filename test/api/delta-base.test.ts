// Delta bases read from the store (src/store/delta-base.ts): a node's last
// upload, as lines, over the whole canonical text its cluster shares (kept in
// `Database.deltaBases.wholeLines`) plus the node's own small blobs. What a
// replica does when the base is not among the texts it keeps in memory; and
// the splice fast path over such a base (src/store/splice-base.ts): its
// layouts made from the store, what it stores and answers is the full path's.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { createDeltaBaseCache } from '../../src/store/delta-cache.ts';
import { uploadedLines } from '../../src/store/delta-base.ts';
import { makeLineScript } from '../../src/store/line-script.ts';
import { getBlobText, prepareDump, sha256Hex } from '../../src/store/index.ts';
import { getCounters } from '../../src/store/blobs.ts';
import { canonicalKey, createSpliceCache, type SpliceCache } from '../../src/store/splice-layout.ts';
import { describeEachBackend } from '../support/postgres.ts';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';

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

  it('a delta whose base no replica keeps in memory is spliced from the store: it stores and answers what the full path does', async () => {
    // Database A: the base uploaded whole by one server, each delta by a fresh replica (nothing of
    // the base in its memory). Database B: the same texts uploaded whole (the full path).
    const full = await startApi({ backend });
    const replicas: TestApi[] = [];
    try {
      const counted = generateKubeDump({ services: 45, seed: 5, counters: true });
      // Without rule counters: no counters blob is stored, the policies' `[0:0]` still count.
      const plain = generateKubeDump({ services: 35, seed: 6, counters: false });
      const served = counted.services.filter((x) => x.endpoints.length > 0);
      const svc = served[1]!;
      // Round r moves an endpoint of the r-th Service with endpoints, and some counters.
      const moved = (text: string, round: number): string => {
        const ip = served[round]!.endpoints[0]!.ip;
        let rule = 0;
        return text
          .replaceAll(`${ip}:`, `198.51.100.${10 + round}:`)
          .replaceAll(`${ip}/32`, `198.51.100.${10 + round}/32`)
          .replace(/^\[(\d+):(\d+)\] /gm, (m, p: string, b: string) => (++rule % 9 === round ? `[${Number(p) + 5}:${Number(b) + 300}] ` : m));
      };
      // A rule with counters added to a chain of the counter-less dump, and one removed.
      const added = (text: string): string =>
        text.replace(/^(-A KUBE-SERVICES .*)$/m, '[7:420] -A KUBE-SERVICES -d 203.0.113.9/32 -p tcp -m tcp --dport 8443 -j ACCEPT\n$1').replace(/^-A KUBE-SVC-\S+ .*\n/m, '');
      const cases: { node: string; texts: string[]; packet?: object }[] = [
        { node: 'sp-counted', texts: [counted.text, moved(counted.text, 1), moved(moved(counted.text, 1), 2)], packet: { src: '10.244.0.77', dst: svc.clusterIP, protocol: svc.protocol, sport: 40000, dport: svc.port, inInterface: 'cni0' } },
        { node: 'sp-plain', texts: [plain.text, added(plain.text)] },
      ];
      for (const c of cases) {
        await post(first, c.node, { dump: c.texts[0], cluster: 'splice' }).expect(201);
        await post(full, c.node, { dump: c.texts[0], cluster: 'splice' }).expect(201);
        for (let r = 1; r < c.texts.length; r++) {
          const replica = await startApi({ shareDatabaseOf: first });
          replicas.push(replica);
          const stats = replica.app.rulesetCache.splices.stats;
          const delta = { base: sha256Hex(c.texts[r - 1]!), sha256: sha256Hex(c.texts[r]!), ...makeLineScript(c.texts[r - 1]!, c.texts[r]!) };
          const viaDelta = await post(replica, c.node, { delta, cluster: 'splice' }).expect(201);
          assert.equal(stats.spliced, 1, `${c.node} round ${r}: spliced (${stats.lastFallback})`);
          const viaFull = await post(full, c.node, { dump: c.texts[r], cluster: 'splice' }).expect(201);
          const { id: _a, ...d } = viaDelta.body;
          const { id: _b, ...f } = viaFull.body;
          assert.deepEqual(d, f, `${c.node} round ${r}`);
          assert.deepEqual(await stored(replica, c.node), await stored(full, c.node), `${c.node} round ${r}: what is stored`);
          assert.deepEqual(await answers(replica, c.node, c.packet), await answers(full, c.node, c.packet), `${c.node} round ${r}: answers`);
        }
      }
      // A stale base (the node's upload before its latest) is still a 409 with the current one; nothing stored.
      const c = cases[0]!;
      const replica = await startApi({ shareDatabaseOf: first });
      replicas.push(replica);
      const before = await stored(replica, c.node);
      const stale = { base: sha256Hex(c.texts[1]!), sha256: sha256Hex(c.texts[0]!), ...makeLineScript(c.texts[1]!, c.texts[0]!) };
      const res = await post(replica, c.node, { delta: stale }).expect(409).expect('content-type', PROBLEM_TYPE);
      assert.equal(res.body.currentBase, sha256Hex(c.texts[2]!));
      assert.deepEqual(await stored(replica, c.node), before);
      assert.equal(replica.app.rulesetCache.splices.stats.spliced + replica.app.rulesetCache.splices.stats.fallbacks, 0);
    } finally {
      for (const r of replicas) await r.close();
      await full.close();
    }
  });

  it('one replica splicing a fleet’s nodes from the store makes their shared layouts once: the canonical one with hash checkpoints, one line layout; each node stores and answers what the full path does', async () => {
    const full = await startApi({ backend });
    const replica = await startApi({ shareDatabaseOf: first });
    try {
      // A small checkpoint step, so a 45-Service canonical text has hash checkpoints (10k Services: 2 MiB).
      const splices = createSpliceCache(undefined, undefined, 4096);
      (replica.app.rulesetCache as { splices: SpliceCache }).splices = splices;
      const g = generateKubeDump({ services: 45, seed: 7, counters: true });
      const served = g.services.filter((x) => x.endpoints.length > 0);
      // Node k: every non-zero counter moved by k (as bench/fleet-seed.ts); its next collection: one
      // endpoint moved (the same on every node) and some counters.
      const nodeTextOf = (k: number): string => g.text.replace(/\[(\d+):(\d+)\]/g, (m, p: string, b: string) => (p === '0' && b === '0' ? m : `[${Number(p) + 3 * k}:${Number(b) + 180 * k}]`));
      const ip = served[2]!.endpoints[0]!.ip;
      const next = (text: string): string => {
        let rule = 0;
        return text.replaceAll(`${ip}:`, '198.51.100.40:').replaceAll(`${ip}/32`, '198.51.100.40/32').replace(/^\[(\d+):(\d+)\] /gm, (m, p: string, b: string) => (++rule % 11 === 0 ? `[${Number(p) + 1}:${Number(b) + 60}] ` : m));
      };
      const svc = served[2]!;
      const packet = { src: '10.244.0.77', dst: svc.clusterIP, protocol: svc.protocol, sport: 40000, dport: svc.port, inInterface: 'cni0' };
      const nodes = [0, 1, 2];
      for (const k of nodes) {
        await post(first, `fl-${k}`, { dump: nodeTextOf(k), cluster: 'fleet' }).expect(201);
        await post(full, `fl-${k}`, { dump: nodeTextOf(k), cluster: 'fleet' }).expect(201);
      }
      // Their uploaded texts are the same counted delta of one canonical text, each with its own counters.
      const blobs = await Promise.all(nodes.map((k) => first.app.db.prisma.blob.findUnique({ where: { sha256: sha256Hex(nodeTextOf(k)) } })));
      assert.ok(blobs.every((b) => b?.encoding === 'counted-delta' && b.baseSha256 === blobs[0]!.baseSha256 && Buffer.from(b.data).equals(Buffer.from(blobs[0]!.data))));
      assert.equal(new Set(blobs.map((b) => b!.countersSha256)).size, nodes.length);
      for (const k of nodes) {
        const delta = { base: sha256Hex(nodeTextOf(k)), sha256: sha256Hex(next(nodeTextOf(k))), ...makeLineScript(nodeTextOf(k), next(nodeTextOf(k))) };
        const viaDelta = await post(replica, `fl-${k}`, { delta, cluster: 'fleet' }).expect(201);
        assert.equal(splices.stats.spliced, k + 1, `fl-${k}: spliced (${splices.stats.lastFallback})`);
        const viaFull = await post(full, `fl-${k}`, { dump: next(nodeTextOf(k)), cluster: 'fleet' }).expect(201);
        const { id: _a, ...d } = viaDelta.body;
        const { id: _b, ...f } = viaFull.body;
        assert.deepEqual(d, f, `fl-${k}`);
        assert.deepEqual(await stored(replica, `fl-${k}`), await stored(full, `fl-${k}`), `fl-${k}: what is stored`);
        assert.deepEqual(await answers(replica, `fl-${k}`, packet), await answers(full, `fl-${k}`, packet), `fl-${k}: answers`);
      }
      // The canonical layout, made once from the store, has hash checkpoints; the nodes' line layouts are one, their counters their own.
      const canonical = splices.canonical.get(canonicalKey('ipv4', blobs[0]!.baseSha256!));
      assert.ok(canonical?.checkpoints && canonical.checkpoints.length > 0, 'the stored canonical layout has hash checkpoints');
      const layouts = nodes.map((k) => splices.uploads.get(sha256Hex(nodeTextOf(k))));
      assert.ok(layouts.every((u) => u !== undefined && u.lineKind === layouts[0]!.lineKind && u.lineChain === layouts[0]!.lineChain && u.runStart === layouts[0]!.runStart));
      assert.deepEqual(layouts.map((u) => u!.counters), await Promise.all(blobs.map((b) => getCounters(first.app.db.prisma, b!.countersSha256!))));
      assert.equal(replica.app.db.deltaBases.uploadShapes.size, 1);
    } finally {
      await replica.close();
      await full.close();
    }
  });

  it('decoded counters are kept by sha256: a second read does not read the blob again', async () => {
    await post(first, 'kc-0', { dump: nodeText(5, 0, 30), cluster: 'kept-counters' }).expect(201);
    const { countersSha256 } = (await first.app.db.prisma.dump.findFirst({ where: { node: { name: 'kc-0' } }, select: { countersSha256: true } }))!;
    assert.ok(countersSha256);
    const cache = createDeltaBaseCache();
    const want = await getCounters(first.app.db.prisma, countersSha256);
    assert.deepEqual(await getCounters(first.app.db.prisma, countersSha256, cache.counters), want);
    await garble(first, countersSha256);
    assert.equal(await getCounters(first.app.db.prisma, countersSha256), null, 'the blob is garbled');
    assert.deepEqual(await getCounters(first.app.db.prisma, countersSha256, cache.counters), want);
  });

  /** A node's latest version as stored: its row and its blobs, decoded (texts and counters) with their encodings and references. */
  async function stored(api: TestApi, node: string): Promise<unknown> {
    const prisma = api.app.db.prisma;
    const row = await prisma.dump.findFirst({
      where: { node: { name: node } },
      orderBy: { id: 'desc' },
      select: { family: true, format: true, sha256: true, originalSha256: true, countersSha256: true, diagnosticsJson: true, statsJson: true, hostJson: true, uploads: true },
    });
    assert.ok(row);
    // Counters by value: a spliced delta stores them as a `counters-delta` of the node's last whole
    // counters (test/api/delta-store.test.ts), a whole upload whole, so their blobs' ids differ.
    const blob = async (sha: string | null) => {
      if (!sha) return null;
      const b = await prisma.blob.findUnique({ where: { sha256: sha }, select: { size: true, encoding: true, baseSha256: true, countersSha256: true } });
      assert.ok(b);
      const { countersSha256, ...rest } = b;
      return { ...rest, counted: countersSha256 !== null, content: await getBlobText(prisma, sha) };
    };
    const { countersSha256, ...rowRest } = row;
    return {
      row: { ...rowRest, counted: countersSha256 !== null },
      canonical: await blob(row.sha256),
      original: await blob(row.originalSha256),
      counters: countersSha256 ? await getCounters(prisma, countersSha256) : null,
    };
  }

  /** What the API says about a node's latest version (ids and times left out), and a trace. */
  async function answers(api: TestApi, node: string, packet?: object): Promise<unknown> {
    const V = `${V1}/nodes/${node}/dumps/latest`;
    const { id: _id, receivedAt: _r, lastSeenAt: _l, collectedAt: _c, ...latest } = (await api.request.get(V).expect(200)).body as Record<string, unknown>;
    const raw = (await api.request.get(`${V}/raw`).buffer(true).expect(200)).text;
    const canonical = (await api.request.get(`${V}/canonical`).expect(200)).text;
    const counted = (await api.request.get(`${V}/canonical?counters=true`).expect(200)).text;
    const { dump: _d, nextCursor: _n, ...rules } = (await api.request.get(`${V1}/nodes/${node}/rules`).expect(200)).body as Record<string, unknown>;
    let trace: unknown = null;
    if (packet) {
      const { dump: _t, ...rest } = (await api.request.post(`${V1}/trace`).send({ node, packet }).expect(200)).body as Record<string, unknown>;
      trace = rest;
    }
    return { latest, raw, canonical, counted, rules, trace };
  }
});
