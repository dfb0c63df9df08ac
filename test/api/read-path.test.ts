// The query hot path (issue 7): an upload's parsed canonical ruleset goes
// into the ruleset cache and equals a fresh parse of the canonical text;
// warm traces by node run no database query (no counters, no blob); the read
// cache follows every commit (new versions, a re-upload's host file, tokens
// created by another connection).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import fastJsonStringify from 'fast-json-stringify';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { parseDump } from '../../src/netfilter/index.ts';
import { renderRuleset } from '../../src/netfilter/index.ts';
import { createToken, extractCounters, openDatabase, prepareDump, ReadCache, revokeToken, rulesetCacheKey, stripCounters, uploadDumps, type Database } from '../../src/store/index.ts';
import type { Ruleset } from '../../src/netfilter/index.ts';
import { CORPUS, FIXTURES } from '../support/paths.ts';
import { startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(md|json|tsv)$/.test(f) ? [] : [p];
  });
}

/** The upload's canonical ruleset must be what a parse of the canonical text gives, to the line numbers and raw text. */
function assertExact(name: string, text: string): boolean {
  let p;
  try {
    p = prepareDump(text);
  } catch {
    return false; // nothing usable: rejected uploads are not cached anyway
  }
  if (!p.canonicalExact) return false;
  const again = parseDump(p.canonicalText, { family: p.family, format: 'iptables-save' });
  assert.deepEqual(again.diagnostics, [], `${name}: canonical text parses without diagnostics`);
  assert.equal(again.format, 'iptables-save');
  assert.deepEqual(p.ruleset, again.ruleset, `${name}: cached canonical ruleset equals a fresh parse of the canonical text`);
  return true;
}

describe('canonical ruleset of an upload', () => {
  it('equals a fresh parse of the canonical text for the fixtures, the corpus and a generated kube dump', () => {
    const inputs = [...files(FIXTURES), ...files(CORPUS)];
    let exact = 0;
    for (const f of inputs) if (assertExact(f, readFileSync(f, 'utf8'))) exact++;
    assert.ok(exact >= 5, `at least a few fixtures are exact (${exact})`);
    assert.equal(assertExact('kube 200', generateKubeDump({ services: 200, seed: 3 }).text), true);
    // iptables-save -c output: the counters differ, the canonical ruleset is the same.
    const counted = generateKubeDump({ services: 50, seed: 5 }).text.replace(/^-A /gm, '[7:420] -A ');
    assert.equal(assertExact('kube 50 with counters', counted), true);
  });

  it('renders exactly the canonical text the counter-stripped ruleset renders', () => {
    const g = generateKubeDump({ services: 30, seed: 9 });
    const p = prepareDump(g.text);
    const parsed = parseDump(g.text);
    assert.equal(p.canonicalText, renderRuleset(stripCounters(parsed.ruleset), { counters: false }));
    for (const t of p.ruleset!.tables) for (const c of t.chains) for (const r of c.rules) assert.equal(p.canonicalText.split('\n')[r.line - 1], r.raw);
  });

  it('extractCounters writes the same JSON as the object-tree version', () => {
    const reference = (ruleset: Ruleset): string | null => {
      let any = false;
      const out: Record<string, Record<string, { policy: string | null; rules: (string | null)[] }>> = {};
      for (const t of ruleset.tables) {
        const chains: Record<string, { policy: string | null; rules: (string | null)[] }> = {};
        for (const c of t.chains) {
          const policy = c.counters ? `${c.counters.packets}:${c.counters.bytes}` : null;
          const rules = c.rules.map((r) => (r.counters ? `${r.counters.packets}:${r.counters.bytes}` : null));
          if (policy !== null || rules.some((r) => r !== null)) any = true;
          chains[c.name] = { policy, rules };
        }
        out[t.name] = chains;
      }
      return any ? JSON.stringify(out) : null;
    };
    const texts = [
      readFileSync(join(FIXTURES, 'seed004', 'master.txt'), 'utf8'),
      readFileSync(join(FIXTURES, 'seeds', 'seed000.save.txt'), 'utf8'),
      generateKubeDump({ services: 20, seed: 2 }).text.replace(/^-A /gm, '[3:180] -A '),
      '*filter\n:INPUT ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n',
    ];
    for (const text of texts) {
      const r = parseDump(text).ruleset;
      assert.equal(extractCounters(r), reference(r));
    }
    assert.equal(extractCounters(parseDump(texts[3]!).ruleset), null);
  });

  it('is not vouched for when the input is a listing or had diagnostics', () => {
    const listing = readFileSync(join(FIXTURES, 'seed004', 'master.txt'), 'utf8');
    assert.equal(prepareDump(listing).canonicalExact, false);
    assert.equal(prepareDump('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m bogusmatch --x 1 -j ACCEPT\nCOMMIT\n').canonicalExact, false);
  });
});

describe('ReadCache', () => {
  it('keeps volatile answers until the database changes, and nothing read while a write transaction was open or began', async () => {
    let version = 1;
    const writes = { open: 0, begun: 0 };
    const cache = new ReadCache({ version: () => version, close: () => {} }, { writes });
    let loads = 0;
    const load = async () => ++loads;
    // The version is read once per event-loop turn: the next turn sees a commit made elsewhere.
    const nextTurn = () => new Promise((r) => setImmediate(r));
    assert.equal(await cache.volatile('k', load), 1);
    assert.equal(await cache.volatile('k', load), 1, 'cached');
    version++;
    await nextTurn();
    assert.equal(await cache.volatile('k', load), 2, 'a commit elsewhere drops it');
    version++;
    await nextTurn();
    writes.open = 1;
    assert.equal(await cache.volatile('k', load), 3);
    assert.equal(await cache.volatile('k', load), 4, 'read during an open write transaction: not kept');
    writes.open = 0;
    const beginning = async () => {
      writes.begun++;
      return ++loads;
    };
    assert.equal(await cache.volatile('k', beginning), 5);
    assert.equal(await cache.volatile('k', load), 6, 'a write began while loading: not kept');
    assert.equal(await cache.volatile('k', load), 6, 'kept again once writes are quiet');
    const committing = async () => {
      version++;
      await nextTurn();
      return ++loads;
    };
    assert.equal(await cache.volatile('j', committing), 7);
    assert.equal(await cache.volatile('j', load), 8, 'a commit elsewhere while loading: not kept');
    // This process's own writes are seen at once, in the same turn.
    assert.equal(await cache.volatile('j', load), 8);
    writes.begun++;
    version++;
    assert.equal(await cache.volatile('j', load), 9, 'own write: checked again at once');
    const { cacheable } = await cache.guarded(async () => {
      writes.open++;
      writes.begun++;
      writes.open--;
      return 0;
    });
    assert.equal(cacheable, false);
  });
});

const HOST_A = { interfaces: [{ name: 'eth0', addresses: ['10.0.0.1/24'] }], routes: [{ dst: '10.0.0.0/24', dev: 'eth0' }] };
const HOST_B = { interfaces: [{ name: 'eth0', addresses: ['10.0.0.9/24'] }], routes: [{ dst: '10.0.0.0/24', dev: 'eth0' }] };
const ssh = (verdict: 'ACCEPT' | 'DROP', extra = '') =>
  `*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ${verdict}\n${extra}COMMIT\n`;
const packet = (dst = '10.0.0.1') => ({ src: '10.0.0.2', dst, protocol: 'tcp', sport: 40000, dport: 22, inInterface: 'eth0' });

/** A Database whose Prisma client counts every property read (every query starts with one). */
function counting(db: Database): { db: Database; reads: Map<string, number>; total(): number; reset(): void } {
  const reads = new Map<string, number>();
  const prisma = new Proxy(db.prisma, {
    get(target, key, receiver) {
      if (typeof key === 'string') reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return {
    db: { ...db, prisma, close: async () => {} },
    reads,
    total: () => [...reads.values()].reduce((a, b) => a + b, 0),
    reset: () => reads.clear(),
  };
}

/** A server on a database shared with `base`, whose queries `spy` counts; both closed after the suite. */
function useSpiedApi(): { base: TestApi; api: TestApi; spy: ReturnType<typeof counting> } {
  const ctx = {} as { base: TestApi; api: TestApi; spy: ReturnType<typeof counting> };
  before(async () => {
    ctx.base = await startApi();
    ctx.spy = counting(ctx.base.db);
    ctx.api = await startApi({ shareDatabaseOf: ctx.base, db: ctx.spy.db });
  });
  after(async () => {
    await ctx.api.close();
    await ctx.base.close();
  });
  return ctx;
}

describe('trace hot path', () => {
  const t = useSpiedApi();
  const g = generateKubeDump({ services: 40, seed: 11 });

  it('puts the upload’s ruleset in the cache; the first trace neither reads a blob nor re-parses', async () => {
    const up = await t.api.request.post(`${V1}/nodes/kube/dumps`).send({ dump: g.text, host: g.host }).expect(201);
    assert.ok(t.spy.total() > 0, 'the spy sees the upload’s queries');
    const key = rulesetCacheKey('canonical', 'ipv4', up.body.sha256);
    assert.equal(t.api.app.rulesetCache.has(key), true);
    const cached = t.api.app.rulesetCache.get(key)!;
    const canonical = await t.api.request.get(`${V1}/nodes/kube/dumps/${up.body.id}/canonical`).expect(200);
    assert.deepEqual(cached.ruleset, parseDump(canonical.text, { family: 'ipv4', format: 'iptables-save' }).ruleset);
    assert.deepEqual(cached.diagnostics, []);

    t.spy.reset();
    const misses = t.api.app.rulesetCache.misses;
    const svc = g.services.find((s) => s.endpoints.length > 0)!;
    const body = { node: 'kube', packet: { src: '10.244.0.77', dst: svc.clusterIP, protocol: svc.protocol, sport: 40000, dport: svc.port, inInterface: 'cni0' } };
    const first = await t.api.request.post(`${V1}/trace`).send(body).expect(200);
    assert.equal(first.body.dump, up.body.id);
    assert.equal(t.spy.reads.get('blob') ?? 0, 0, 'no blob (counters, canonical text) is read');
    assert.equal(t.api.app.rulesetCache.misses, misses, 'the ruleset came from the cache');

    // Warm: no database query at all (latest version, metadata, host file, token check all cached).
    t.spy.reset();
    for (let i = 0; i < 20; i++) await t.api.request.post(`${V1}/trace`).send(body).expect(200);
    assert.equal(t.spy.total(), 0, `warm traces query nothing (${JSON.stringify([...t.spy.reads])})`);
  });

  it('a trace after a new upload uses the new version; a re-upload’s new host file is used', async () => {
    await t.api.request.post(`${V1}/nodes/n1/dumps`).send({ dump: ssh('ACCEPT'), host: HOST_A }).expect(201);
    const a = await t.api.request.post(`${V1}/trace`).send({ node: 'n1', packet: packet() }).expect(200);
    assert.equal(a.body.outcomes[0].verdict, 'ACCEPT');
    const v2 = await t.api.request.post(`${V1}/nodes/n1/dumps`).send({ dump: ssh('DROP'), host: HOST_A }).expect(201);
    const b = await t.api.request.post(`${V1}/trace`).send({ node: 'n1', packet: packet() }).expect(200);
    assert.equal(b.body.dump, v2.body.id);
    assert.equal(b.body.outcomes[0].verdict, 'DROP');
    // Same ruleset, new host file: the version absorbs the upload and traces see the new addresses.
    await t.api.request.post(`${V1}/nodes/n1/dumps`).send({ dump: ssh('DROP'), host: HOST_B }).expect(200);
    const viaA = await t.api.request.post(`${V1}/trace`).send({ node: 'n1', packet: packet('10.0.0.1') }).expect(200);
    const viaB = await t.api.request.post(`${V1}/trace`).send({ node: 'n1', packet: packet('10.0.0.9') }).expect(200);
    assert.equal(viaB.body.outcomes[0].verdict, 'DROP', 'addressed to the new host address: INPUT');
    assert.notDeepEqual(viaA.body.outcomes[0].events, viaB.body.outcomes[0].events, '10.0.0.1 is no longer the node');
  });

  it('single-node trace answers (written with JSON.stringify) are exactly what the TraceResponse schema serializes', async () => {
    const serialize = fastJsonStringify({ $ref: 'TraceResponse#' }, { schema: t.api.app.getSchemas() } as fastJsonStringify.Options);
    const s004 = (f: string) => readFileSync(join(FIXTURES, 'seed004', f), 'utf8');
    for (const name of ['master', 'node02']) {
      await t.api.request.post(`${V1}/nodes/${name}/dumps`).send({ dump: s004(`${name}.txt`), host: JSON.parse(s004(`${name}.host.json`)) }).expect(201);
    }
    await t.api.request.post(`${V1}/nodes/odd/dumps`).type('text/plain').send('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j SOMETHINGNEW\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n').expect(201);
    const web = { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'eth0' };
    const bodies: object[] = [
      { node: 'master', packet: web },
      { node: 'node02', packet: { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' } },
      { node: 'node02', packet: { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' }, changes: ['-I FORWARD -i flannel.1 -j ACCEPT'] },
      { node: 'master', packet: { src: '10.224.0.5', dst: '8.8.8.8', protocol: 'udp', sport: 5353, dport: 53, local: true } },
      { node: 'master', packet: { src: '192.0.2.100', dst: '192.0.2.11', protocol: 'icmp', inInterface: 'eth0' } },
      { node: 'odd', packet: { src: '192.0.2.1', dst: '192.0.2.2', protocol: 'tcp', sport: 1, dport: 22, inInterface: 'eth0' } },
      { node: 'n1', packet: packet() },
      ...g.services.slice(0, 6).map((svc) => ({ node: 'kube', packet: { src: '10.244.0.77', dst: svc.clusterIP, protocol: svc.protocol, sport: 40000, dport: svc.port, inInterface: 'cni0' } })),
    ];
    for (const body of bodies) {
      const res = await t.api.request.post(`${V1}/trace`).send(body).expect(200).expect('content-type', 'application/json; charset=utf-8');
      assert.deepEqual(JSON.parse(serialize(res.body)), res.body, JSON.stringify(body));
    }
  });

  it('warm cluster traces query nothing; a node joining the cluster is seen at once', async () => {
    await t.api.request.post(`${V1}/nodes/c1/dumps`).send({ dump: ssh('ACCEPT'), host: HOST_A, cluster: 'lab2' }).expect(201);
    const body = { cluster: 'lab2', from: { node: 'c1', interface: 'eth0' }, packet: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 'tcp', sport: 40000, dport: 22 } };
    await t.api.request.post(`${V1}/trace`).send(body).expect(200);
    t.spy.reset();
    for (let i = 0; i < 5; i++) await t.api.request.post(`${V1}/trace`).send(body).expect(200);
    assert.equal(t.spy.total(), 0, `warm cluster traces query nothing (${JSON.stringify([...t.spy.reads])})`);
    const from2 = { ...body, from: { node: 'c2', interface: 'eth0' }, packet: { ...body.packet, dst: '10.0.0.9' } };
    await t.api.request.post(`${V1}/trace`).send(from2).expect(404);
    await t.api.request.post(`${V1}/nodes/c2/dumps`).send({ dump: ssh('DROP'), host: HOST_B, cluster: 'lab2' }).expect(201);
    const res = await t.api.request.post(`${V1}/trace`).send(from2).expect(200);
    assert.equal(res.body.paths[0].endNode, 'c2');
  });

  it('sees writes made by another connection (e.g. another process) at once', async () => {
    const other = await openDatabase(t.api.config.databaseUrl);
    try {
      await t.api.request.post(`${V1}/trace`).send({ node: 'n2', packet: packet() }).expect(404);
      await uploadDumps(other.prisma, { node: 'n2', dumps: [prepareDump(ssh('ACCEPT'))], hostJson: JSON.stringify(HOST_A) });
      const a = await t.api.request.post(`${V1}/trace`).send({ node: 'n2', packet: packet() }).expect(200);
      assert.equal(a.body.outcomes[0].verdict, 'ACCEPT');
      await uploadDumps(other.prisma, { node: 'n2', dumps: [prepareDump(ssh('DROP'))], hostJson: JSON.stringify(HOST_A) });
      const b = await t.api.request.post(`${V1}/trace`).send({ node: 'n2', packet: packet() }).expect(200);
      assert.equal(b.body.outcomes[0].verdict, 'DROP');
      await t.api.request.delete(`${V1}/nodes/n2`).expect(204);
      await t.api.request.post(`${V1}/trace`).send({ node: 'n2', packet: packet() }).expect(404);
      assert.ok(t.api.app.readCache.invalidations > 0);

      // Open mode ends as soon as another connection creates the first token.
      await t.api.request.get(`${V1}/nodes`).expect(200);
      await createToken(other.prisma, { scope: 'read' });
      await t.api.request.get(`${V1}/nodes`).expect(401);
    } finally {
      await other.close();
    }
  });
});

describe('trace hot path with tokens', () => {
  const t = useSpiedApi();

  it('a warm authenticated trace queries nothing; a revocation by another connection applies at once', async () => {
    const admin = (await createToken(t.base.db.prisma, { scope: 'admin' })).token;
    const read = await createToken(t.base.db.prisma, { scope: 'read' });
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    await t.api.request.post(`${V1}/nodes/t1/dumps`).set(auth(admin)).send({ dump: ssh('ACCEPT'), host: HOST_A }).expect(201);
    // The first use records lastUsedAt (a write, at most once a minute per token): the next request reloads once.
    await t.api.request.post(`${V1}/trace`).set(auth(read.token)).send({ node: 't1', packet: packet() }).expect(200);
    await t.api.request.post(`${V1}/trace`).set(auth(read.token)).send({ node: 't1', packet: packet() }).expect(200);
    await t.api.request.post(`${V1}/trace`).send({ node: 't1', packet: packet() }).expect(401);
    t.spy.reset();
    for (let i = 0; i < 10; i++) await t.api.request.post(`${V1}/trace`).set(auth(read.token)).send({ node: 't1', packet: packet() }).expect(200);
    assert.equal(t.spy.total(), 0, `warm authenticated traces query nothing (${JSON.stringify([...t.spy.reads])})`);
    // A wrong secret for a known id is still refused (the hash is checked on every request).
    await t.api.request.post(`${V1}/trace`).set(auth(read.token.slice(0, -2) + (read.token.endsWith('AA') ? 'BB' : 'AA'))).send({ node: 't1', packet: packet() }).expect(401);
    const other = await openDatabase(t.api.config.databaseUrl);
    try {
      await revokeToken(other.prisma, read.info.id);
    } finally {
      await other.close();
    }
    await t.api.request.post(`${V1}/trace`).set(auth(read.token)).send({ node: 't1', packet: packet() }).expect(401);
  });
});
