// Incremental uploads (`{delta: {base, sha256, script, counters?}}`): the
// text is rebuilt from the node's last upload and stored exactly as a full
// upload of it would be; a stale or unknown base is a 409 with the current
// one; a bad script or a wrong sha256 is a 4xx that stores nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLineScript } from '../../src/store/line-script.ts';
import { sha256Hex } from '../../src/store/index.ts';
import { PROBLEM_TYPE, counterDump, seed, startApi, type TestApi } from '../support/api.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { shapedEdit } from '../support/edits.ts';

const V1 = '/api/v1';

function deltaOf(base: string, text: string): { base: string; sha256: string; script: unknown; counters?: unknown } {
  return { base: sha256Hex(base), sha256: sha256Hex(text), ...makeLineScript(base, text) };
}

/** Deterministic random edits: lines removed, inserted, moved, counters changed. */
function randomEdit(text: string, seedValue: number): string {
  let s = seedValue;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines = text.split('\n');
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * lines.length);
    const k = rnd();
    if (k < 0.25) lines.splice(at, 1);
    else if (k < 0.5) lines.splice(at, 0, `-A INPUT -s 192.0.2.${Math.floor(rnd() * 250)}/32 -p tcp -m tcp --dport ${1 + Math.floor(rnd() * 9000)} -j DROP`);
    else if (k < 0.75) lines[at] = lines[at]!.replace(/^\[\d+:\d+\]/, `[${Math.floor(rnd() * 99)}:${Math.floor(rnd() * 9999)}]`).replace(/\[\d+:\d+\]$/, '[5:300]');
    else lines.splice(at, 0, ...lines.splice(Math.floor(rnd() * lines.length), 2));
  }
  return lines.join('\n');
}

describe('incremental uploads (delta)', () => {
  let api: TestApi;
  let seedText: string;
  before(async () => {
    api = await startApi();
    seedText = await seed();
  });
  after(async () => api.close());

  const post = (node: string, body: unknown) => api.request.post(`${V1}/nodes/${node}/dumps`).send(body as object);
  const versions = async (node: string) => (await api.request.get(`${V1}/nodes/${node}/dumps`)).body as { items?: { id: number; uploads: number }[] };

  /** Everything the API says about a node's latest version of a family, without ids, names and times. */
  async function answers(node: string, family: string): Promise<unknown> {
    const strip = (v: Record<string, unknown>) => {
      const { id: _id, node: _node, receivedAt: _r, lastSeenAt: _l, collectedAt: _c, ...rest } = v;
      return rest;
    };
    const latest = await api.request.get(`${V1}/nodes/${node}/dumps/latest?family=${family}`).expect(200);
    const raw = await api.request.get(`${V1}/nodes/${node}/dumps/latest/raw?family=${family}`).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks).toString('utf8')));
    });
    const canonical = await api.request.get(`${V1}/nodes/${node}/dumps/latest/canonical?family=${family}`);
    const counted = await api.request.get(`${V1}/nodes/${node}/dumps/latest/canonical?family=${family}&counters=true`);
    const rules = await api.request.get(`${V1}/nodes/${node}/rules?family=${family}`);
    // A page's cursor names the version (an id): not compared.
    const { dump: _dump, nextCursor: _cursor, ...ruleList } = rules.body as Record<string, unknown>;
    return { dump: strip(latest.body as Record<string, unknown>), raw: raw.body, canonical: canonical.text, counted: counted.text, rules: ruleList };
  }

  it('a delta is stored as the full upload of the same text: version, canonical text, diagnostics, counters, raw', async () => {
    const edited = seedText.replace(':INPUT ACCEPT', ':INPUT DROP').replace('COMMIT', '-A INPUT -s 192.0.2.0/24 -j ACCEPT\nCOMMIT');
    assert.notEqual(edited, seedText);
    await post('d-a', { dump: seedText }).expect(201);
    const viaDelta = await post('d-a', { delta: deltaOf(seedText, edited), cluster: 'c1' }).expect(201);
    const viaFull = await post('f-a', { dump: edited, cluster: 'c1' }).expect(201);
    const { id: _a, node: _n1, ...d } = viaDelta.body;
    const { id: _b, node: _n2, ...f } = viaFull.body;
    assert.deepEqual(d, f);
    assert.deepEqual(await answers('d-a', 'ipv4'), await answers('f-a', 'ipv4'));
    assert.equal((await versions('d-a')).items?.length, 2);
  });

  it('deltas that change only a target, or a DNAT port, or use a chain named like a number: the same answers as full uploads', async () => {
    // The canonical text takes unchanged chains from their last rendering and the counters come in text order from the parse:
    // a chain whose matches are the same but whose target changed is printed again; a numeric chain name keeps its counters as JSON.
    const dump = (verdict: string, port: number) =>
      [
        '*nat',
        ':PREROUTING ACCEPT [7:420]',
        ':SVC - [0:0]',
        ':123 - [0:0]',
        '[3:180] -A PREROUTING -d 203.0.113.10/32 -p tcp -m tcp --dport 80 -j SVC',
        `[2:120] -A SVC -p tcp -m tcp -j DNAT --to-destination 198.51.100.7:${port}`,
        '[1:60] -A 123 -s 192.0.2.0/24 -j RETURN',
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [5:300]',
        `[4:240] -A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ${verdict}`,
        '[0:0] -A INPUT -s 198.51.100.0/24 -j DROP',
        'COMMIT',
        '',
      ].join('\n');
    const steps = [dump('ACCEPT', 8080), dump('DROP', 8080), dump('DROP', 8081), dump('ACCEPT', 8080).replace('[4:240]', '[9:540]')];
    await post('d-t', { dump: steps[0] }).expect(201);
    for (let i = 1; i < steps.length; i++) {
      await post('d-t', { delta: deltaOf(steps[i - 1]!, steps[i]!) }).expect((res) => assert.ok(res.status === 200 || res.status === 201, `step ${i}: ${res.status}`));
      await post(`f-t${i}`, { dump: steps[i] }).expect(201);
      const [d, f] = [await answers('d-t', 'ipv4'), await answers(`f-t${i}`, 'ipv4')];
      assert.deepEqual(d, f, `step ${i}`);
      assert.equal((d as { raw: string }).raw, steps[i]);
    }
  });

  it('counters that moved travel apart from the script; counters alone keep the version (200)', async () => {
    const a = counterDump({ packets: 1, variant: 'x' });
    const b = counterDump({ packets: 9, variant: 'x' });
    await post('d-b', { dump: a }).expect(201);
    const delta = deltaOf(a, b);
    assert.ok(Array.isArray(delta.counters), 'the changed counters are sent as overrides');
    assert.ok((delta.script as unknown[]).every((op) => Array.isArray(op)), 'no line is resent for its counters');
    const res = await post('d-b', { delta }).expect(200);
    assert.equal(res.body.created, false);
    const raw = await api.request.get(`${V1}/nodes/d-b/dumps/latest/raw`).expect(200);
    assert.equal(raw.text, b);
  });

  it('texts that are not ASCII: made as UTF-8 byte ranges of the base (copies, new counters, inserted lines) with the sha256 of the whole text', async () => {
    // Multi-byte characters before, inside and after copied runs, counters moved after them, lines inserted with them.
    const text = (round: number, p: number) =>
      [
        `# Generated by iptables-save v1.8.7 on Sun Nov 22 0${round}:00:00 2026 — é`,
        '*filter',
        `:INPUT ACCEPT [${p}:${p * 60}]`,
        ':FORWARD DROP [0:0]',
        `[${p}:${p * 60}] -A INPUT -m comment --comment "crème brûlée 🍮" -j ACCEPT`,
        '[3:180] -A INPUT -s 192.0.2.0/24 -m comment --comment "日本語" -j ACCEPT',
        ...(round % 2 ? ['[0:0] -A INPUT -s 198.51.100.9/32 -m comment --comment "ünïcödé ✓" -j DROP'] : []),
        `[${p * 2}:${p * 120}] -A FORWARD -m comment --comment "Ωmega" -j ACCEPT`,
        'COMMIT',
        `# Completed on Sun Nov 22 0${round}:00:00 2026 — ß`,
        '',
      ].join('\n');
    const texts = [text(0, 1), text(1, 2), text(2, 3), text(3, 3), text(4, 7)];
    await post('d-utf8', { dump: texts[0] }).expect(201);
    for (let i = 1; i < texts.length; i++) {
      await post('d-utf8', { delta: deltaOf(texts[i - 1]!, texts[i]!) }).expect((res) => assert.ok(res.status === 200 || res.status === 201, `step ${i}: ${res.status} ${JSON.stringify(res.body)}`));
      await post(`f-utf8-${i}`, { dump: texts[i] }).expect(201);
      const [d, f] = [await answers('d-utf8', 'ipv4'), await answers(`f-utf8-${i}`, 'ipv4')];
      assert.deepEqual(d, f, `step ${i}`);
      assert.equal((d as { raw: string }).raw, texts[i]);
    }
    // The sha256 is still the whole text's: a wrong one is refused.
    const bad = { ...deltaOf(texts[4]!, texts[1]!), sha256: sha256Hex(texts[2]!) };
    await post('d-utf8', { delta: bad }).expect(422);
  });

  it('ipv6 too (ip6Delta beside delta), each against its own last upload', async () => {
    const v4 = counterDump({ variant: 4 });
    const v6 = counterDump({ variant: 6, family: 'ipv6' });
    await post('d-c', { dump: v4, ip6Dump: v6 }).expect(201);
    const v4b = counterDump({ variant: '4b' });
    const v6b = counterDump({ variant: '6b', family: 'ipv6' });
    const res = await post('d-c', { delta: deltaOf(v4, v4b), ip6Delta: deltaOf(v6, v6b) }).expect(201);
    const full = await post('f-c', { dump: v4b, ip6Dump: v6b }).expect(201);
    assert.equal(res.body.sha256, full.body.sha256);
    assert.equal(res.body.ip6.sha256, full.body.ip6.sha256);
    assert.equal((await api.request.get(`${V1}/nodes/d-c/dumps/latest/raw?family=ipv6`)).text, v6b);
  });

  it('a stale base is a 409 problem with the current base; an unknown node too; nothing is stored', async () => {
    const a = counterDump({ variant: 'a' });
    const b = counterDump({ variant: 'b' });
    const c = counterDump({ variant: 'c' });
    await post('d-d', { dump: a }).expect(201);
    await post('d-d', { dump: b }).expect(201);
    const before = await answers('d-d', 'ipv4');
    const res = await post('d-d', { delta: deltaOf(a, c) }).expect(409).expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/stale-delta-base');
    assert.equal(res.body.currentBase, sha256Hex(b));
    assert.equal(res.body.currentSha256, (await api.request.get(`${V1}/nodes/d-d/dumps/latest/sha`)).body.sha256);
    assert.match(res.body.detail, /send the whole text/);
    assert.deepEqual(await answers('d-d', 'ipv4'), before);
    assert.equal((await versions('d-d')).items?.length, 2);

    const unknown = await post('nobody', { delta: deltaOf(a, c) }).expect(409).expect('content-type', PROBLEM_TYPE);
    assert.equal(unknown.body.currentBase, null);
    await api.request.get(`${V1}/nodes/nobody`).expect(404);
    // The base of another family is not this family's base.
    await post('d-d', { delta: deltaOf(b, c), family: 'ipv6' }).expect(409);
  });

  it('a wrong sha256 is a 422 delta-mismatch; nothing is stored', async () => {
    const a = counterDump({ variant: 'm' });
    await post('d-e', { dump: a }).expect(201);
    const before = await answers('d-e', 'ipv4');
    const delta = { ...deltaOf(a, counterDump({ variant: 'n' })), sha256: sha256Hex('something else') };
    const res = await post('d-e', { delta }).expect(422).expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/delta-mismatch');
    assert.match(res.body.detail, /rebuilt text has sha256 [0-9a-f]{64}, not [0-9a-f]{64}/);
    assert.deepEqual(await answers('d-e', 'ipv4'), before);
  });

  it('malformed scripts: a clear 4xx naming the item; nothing is stored', async () => {
    const a = counterDump({ variant: 'q' });
    await post('d-f', { dump: a }).expect(201);
    const before = await answers('d-f', 'ipv4');
    const base = sha256Hex(a);
    const sha256 = sha256Hex('x');
    const lines = a.split('\n').length;
    const past = await post('d-f', { delta: { base, sha256, script: [[1, 2], [lines, 5]] } }).expect(422).expect('content-type', PROBLEM_TYPE);
    assert.equal(past.body.type, '/problems/bad-delta');
    assert.match(past.body.detail, new RegExp(`script item 1: copies base lines ${lines}–${lines + 4}, but the base has ${lines} lines`));
    assert.equal(past.body.errors[0].path, '/body/delta/script/1');
    const newline = await post('d-f', { delta: { base, sha256, script: ['a\nb'] } }).expect(422);
    assert.match(newline.body.detail, /must not contain a newline/);
    const counter = await post('d-f', { delta: { base, sha256, script: ['*filter'], counters: [1, '3:4'] } }).expect(422);
    assert.match(counter.body.detail, /counters item 0: result line 1 is not a copied line with a counter/);
    const shape = await post('d-f', { delta: { base, sha256, script: [[0, 1]] } }).expect(400).expect('content-type', PROBLEM_TYPE);
    assert.match(shape.body.detail, /delta\/script\/0/);
    await post('d-f', { delta: { base, sha256, script: [{ copy: 1 }] } }).expect(400);
    await post('d-f', { delta: { base: 'nope', sha256, script: [] } }).expect(400);
    const both = await post('d-f', { dump: a, delta: { base, sha256, script: [] } }).expect(400);
    assert.match(both.body.detail, /not both/);
    assert.deepEqual(await answers('d-f', 'ipv4'), before);
    assert.equal((await versions('d-f')).items?.length, 1);
  });

  it('a small script that would make a huge text is a 413 before it is made', async () => {
    const a = counterDump({ variant: 'big' });
    await post('d-h', { dump: a }).expect(201);
    const base = sha256Hex(a);
    const lines = a.split('\n').length;
    const manyLines = await post('d-h', { delta: { base, sha256: base, script: Array.from({ length: 60_000 }, () => [1, lines]) } }).expect(413).expect('content-type', PROBLEM_TYPE);
    assert.equal(manyLines.body.type, '/problems/too-many-lines');
    const small = await startApi({ config: { maxDecompressedBytes: 4096 } });
    try {
      await small.request.post(`${V1}/nodes/d-h/dumps`).send({ dump: a }).expect(201);
      const chars = await small.request.post(`${V1}/nodes/d-h/dumps`).send({ delta: { base, sha256: base, script: Array.from({ length: 50 }, () => [1, lines]) } }).expect(413);
      assert.equal(chars.body.type, '/problems/payload-too-large');
      assert.match(chars.body.detail, /MAX_DECOMPRESSED_BYTES/);
    } finally {
      await small.close();
    }
    assert.equal((await versions('d-h')).items?.length, 1);
  });

  it('the old forms are untouched: text/plain and {dump} still upload', async () => {
    await api.request.post(`${V1}/nodes/d-g/dumps`).type('text/plain').send(seedText).expect(201);
    await post('d-g', { dump: counterDump() }).expect(201);
  });

  it('a kube-proxy node re-uploading as deltas: spliced from the base (the fast path), answers and traces as full uploads', async () => {
    const g = generateKubeDump({ services: 150, seed: 9, counters: true });
    const stats = api.app.rulesetCache.splices.stats;
    const node = g.host;
    const svc = g.services.find((x) => x.endpoints.length > 0)!;
    const packet = { src: '10.244.0.77', dst: svc.clusterIP, protocol: svc.protocol, sport: 40000, dport: svc.port, inInterface: 'cni0' };
    const traceOf = async (name: string) => {
      const res = await api.request.post(`${V1}/trace`).send({ node: name, packet }).expect(200);
      const { node: _n, dump: _d, ...rest } = res.body as Record<string, unknown>;
      return JSON.parse(JSON.stringify(rest).replaceAll(name, 'NODE')) as unknown;
    };
    await post('d-k', { dump: g.text, host: node }).expect(201);
    await post('f-k', { dump: g.text, host: node }).expect(201);
    let base = g.text;
    for (let round = 0; round < 6; round++) {
      const edited = shapedEdit(base, 1000 + round);
      const before = stats.spliced;
      const viaDelta = await post('d-k', { delta: deltaOf(base, edited) });
      const viaFull = await post('f-k', { dump: edited });
      assert.equal(viaDelta.status, viaFull.status, `round ${round}`);
      // The first delta after a whole upload is prepared in full and kept as the next one's base.
      if (round > 0) assert.equal(stats.spliced, before + 1, `round ${round} spliced (${stats.lastFallback})`);
      const { id: _a, node: _b, ...d } = viaDelta.body;
      const { id: _c, node: _e, ...f } = viaFull.body;
      assert.deepEqual(d, f, `round ${round}`);
      // Queryable at once, and the same trace (first on the delta's node: its spliced ruleset is the cache's entry).
      assert.deepEqual(await traceOf('d-k'), await traceOf('f-k'), `round ${round}`);
      assert.deepEqual(await answers('d-k', 'ipv4'), await answers('f-k', 'ipv4'), `round ${round}`);
      base = edited;
    }
  });

  it('a delta whose sha256 names another text: 422, and nothing is kept under that sha256 (its hash is checked while the text is spliced)', async () => {
    const g = generateKubeDump({ services: 120, seed: 11, counters: true });
    const e1 = shapedEdit(g.text, 2001);
    const e2 = shapedEdit(e1, 2002);
    const e3 = shapedEdit(e1, 2003);
    const e4 = shapedEdit(e3, 2004);
    assert.notEqual(e2, e3);
    for (const node of ['d-w', 'f-w']) await post(node, { dump: g.text, host: g.host }).expect(201);
    await post('d-w', { delta: deltaOf(g.text, e1) }).expect(201);
    await post('f-w', { dump: e1 }).expect(201);
    const stats = api.app.rulesetCache.splices.stats;
    const spliced = stats.spliced;
    // The script makes e2 but the delta says e3: the splice runs while the hash is checked, and is dropped.
    const lie = await post('d-w', { delta: { ...deltaOf(e1, e2), sha256: sha256Hex(e3) } }).expect(422).expect('content-type', PROBLEM_TYPE);
    assert.equal(lie.body.type, '/problems/delta-mismatch');
    assert.equal(lie.body.got, sha256Hex(e2));
    assert.equal(stats.spliced, spliced + 1, `spliced before the 422 (${stats.lastFallback})`);
    assert.equal(api.app.rulesetCache.splices.uploads.has(sha256Hex(e3)), false);
    // e3 itself, whole; then a delta of it: spliced from e3 (not from the e2 the lie made), as the full upload answers.
    for (const node of ['d-w', 'f-w']) await post(node, { dump: e3 }).expect(201);
    await post('d-w', { delta: deltaOf(e3, e4) }).expect(201);
    await post('f-w', { dump: e4 }).expect(201);
    assert.deepEqual(await answers('d-w', 'ipv4'), await answers('f-w', 'ipv4'));
  });

  it('random edits of the seeds and the corpus: the delta upload answers as the full upload does', async (t) => {
    const texts: [string, string][] = [['seed000', seedText]];
    if (corpusAvailable()) {
      const dir = join(CORPUS, 'iptables-save');
      for (const f of readdirSync(dir).sort()) texts.push([f, readFileSync(join(dir, f), 'utf8')]);
    } else t.diagnostic('../shared/corpus not found: seeds only');
    let n = 0;
    for (const [name, text] of texts) {
      // Its twin gets the same texts whole: same history, so the same answers.
      const first = await post(`d-r${n}`, { dump: text });
      if (first.status !== 201) continue;
      await post(`f-r${n}`, { dump: text }).expect(201);
      const family = first.body.family as string;
      let base = text;
      for (let round = 0; round < 3; round++) {
        const edited = randomEdit(base, n * 31 + round + 1);
        const viaDelta = await post(`d-r${n}`, { delta: deltaOf(base, edited), family });
        const viaFull = await post(`f-r${n}`, { dump: edited, family });
        assert.equal(viaDelta.status, viaFull.status, `${name} round ${round}`);
        if (viaFull.status >= 400) {
          assert.equal(viaDelta.body.detail, viaFull.body.detail, `${name} round ${round}`);
          continue;
        }
        const { id: _a, node: _b, ...d } = viaDelta.body;
        const { id: _d, node: _e, ...f } = viaFull.body;
        assert.deepEqual(d, f, `${name} round ${round}`);
        assert.deepEqual(await answers(`d-r${n}`, family), await answers(`f-r${n}`, family), `${name} round ${round}`);
        base = edited;
      }
      n++;
    }
    assert.ok(n >= 1);
  });
});

describe('delta uploads are admitted like big whole uploads', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ config: { analysisWorkers: 1, analysisQueue: 1 } });
  });
  after(async () => api.close());

  it('while the one slot is taken, one delta waits for it and the next is a 503 with Retry-After that stores nothing; a retry succeeds', async () => {
    const texts = ['a', 'b'].map((_, i) => generateKubeDump({ services: 200, seed: 40 + i }).text);
    await Promise.all(['a', 'b'].map((node, i) => api.request.post(`${V1}/nodes/${node}/dumps`).set('content-type', 'text/plain').send(texts[i]!).expect(201)));
    const edited = texts.map((t, i) => shapedEdit(t, 7 + i));
    const deltaBody = (i: number) => ({ delta: deltaOf(texts[i]!, edited[i]!) });
    // Something else holds the only slot (a big upload being parsed, say) until `release`.
    let release!: () => void;
    const holding = api.app.analysis.admitUpload(() => new Promise<void>((resolve) => (release = resolve)));
    const waiting = api.request.post(`${V1}/nodes/a/dumps`).send(deltaBody(0)).then((r) => r);
    // Give the first delta time to reach the queue before the second arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await api.request.post(`${V1}/nodes/b/dumps`).send(deltaBody(1));
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.match(refused.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.equal(refused.body.type, '/problems/analysis-busy');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal((await api.request.get(`${V1}/nodes/b/dumps`).expect(200)).body.items.length, 1, 'the refused delta stored nothing');
    release();
    await holding;
    assert.equal((await waiting).status, 201);
    await api.request.post(`${V1}/nodes/b/dumps`).send(deltaBody(1)).expect(201);
    for (const [node, i] of [['a', 0], ['b', 1]] as const) {
      const raw = await api.request.get(`${V1}/nodes/${node}/dumps/latest/raw`).buffer(true);
      assert.equal(raw.text, edited[i]);
    }
  });
});
