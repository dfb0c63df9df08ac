// Storage layout (src/store/blobs.ts, texts.ts): nearly identical dumps of a
// fleet share one whole canonical text (the others are line deltas of it),
// uploads are deltas of the counted canonical text, counters are varints; raw
// and canonical texts read back byte for byte, and garbage collection keeps
// every base some other blob still needs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import BetterSqlite3 from 'better-sqlite3';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { UNREFERENCED_BLOBS } from '../../src/store/blobs.ts';
import { MIGRATIONS_DIR, deleteNode, findDump, getBlobText, getDumpText, openDatabase, prepareDump, putBlob, uploadDumps, writeTransaction, type Database } from '../../src/store/index.ts';
import { writeConnection } from '../../src/store/db.ts';
import { counterDump, startApi, type TestApi } from '../support/api.ts';
import { FIXTURES } from '../support/paths.ts';

const V1 = '/api/v1';
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const fixture = (f: string): string => readFileSync(join(FIXTURES, f), 'utf8');
/** A node of one simulated cluster: same Services, its own node IP (4 lines differ) and counters. */
const kube = (ip: string, counters = true, services = 150): string => generateKubeDump({ services, seed: 1, counters, nodeIp: ip, nodeName: `n-${ip}` }).text;

describe('storage layout', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  const blob = (sha: string) => api.db.prisma.blob.findUnique({ where: { sha256: sha }, select: { encoding: true, baseSha256: true, countersSha256: true, data: true, size: true } });
  const upload = async (node: string, dump: string, cluster = 'c1') => (await api.request.post(`${V1}/nodes/${node}/dumps`).send({ dump, cluster }).expect((r) => assert.ok(r.status === 201 || r.status === 200, r.text))).body as { id: number; sha256: string; created: boolean };
  const readBack = async (node: string, id: number, text: string): Promise<void> => {
    const raw = await api.request.get(`${V1}/nodes/${node}/dumps/${id}/raw`).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks).toString('utf8')));
    });
    assert.equal(raw.status, 200);
    assert.equal(raw.body, text, `${node}: raw is the upload byte for byte`);
    const canonical = await api.request.get(`${V1}/nodes/${node}/dumps/${id}/canonical`).expect(200);
    assert.equal(canonical.text, prepareDump(text).canonicalText, `${node}: canonical`);
    const detail = await api.request.get(`${V1}/nodes/${node}/dumps/${id}`).expect(200);
    const p = prepareDump(text);
    assert.equal(detail.body.sha256, p.sha256);
    if (detail.body.hasCounters) assert.deepEqual(detail.body.counters, JSON.parse(p.countersJson!), `${node}: counters`);
    else assert.equal(detail.body.counters, null);
  };

  const kubeA = kube('10.1.0.2');
  const texts: [string, string, string][] = [
    // [name, text, expected encoding of the uploaded text]
    ['save-with-counters', kubeA, 'counted-delta'],
    ['save-without-counters', kube('10.1.0.3', false), 'counted-delta'],
    ['crlf', kube('10.1.0.4').replace(/\n/g, '\r\n'), 'gzip'],
    ['no-final-newline', kube('10.1.0.5').replace(/\n$/, ''), 'counted-delta'],
    ['comment-lines-inside', kube('10.1.0.6').replace(/^COMMIT$/m, '# a note\nCOMMIT\n\n'), 'counted-delta'],
    ['listing-nvL', fixture('listing/kernel-v4-nvL.txt'), 'gzip'],
    ['listing-L', fixture('listing/kernel-v6-L.txt'), 'gzip'],
    ['listing-seed004', fixture('seed004/master.txt'), 'gzip'],
    ['paste', fixture('seeds/seed001.paste.txt'), 'gzip'],
    ['save-seed', fixture('seeds/seed000.save.txt'), 'counted-delta'],
    ['small-counters', counterDump({ packets: 5, variant: 'x' }), 'identity'],
  ];
  for (const [name, text, encoding] of texts) {
    it(`raw, canonical and counters read back exactly: ${name}`, async () => {
      const r = await upload(`raw-${name}`, text);
      await readBack(`raw-${name}`, r.id, text);
      assert.equal((await blob(sha256(text)))?.encoding, encoding);
    });
  }

  it('blobs are written on the transaction\'s own SQLite connection: part of the transaction, rolled back with it', async () => {
    const prisma = api.db.prisma;
    assert.equal(writeConnection(prisma), undefined, 'never outside a write transaction');
    const text = `${'x'.repeat(3 * 2 ** 20)}\n`;
    const sha = sha256(text);
    await assert.rejects(
      writeTransaction(prisma, async (tx) => {
        assert.ok(writeConnection(tx), 'a write transaction knows its connection');
        await putBlob(tx, text, sha);
        assert.equal((await tx.blob.findUnique({ where: { sha256: sha }, select: { size: true } }))?.size, text.length, 'visible inside the transaction');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await blob(sha), null, 'rolled back with the transaction');
    await writeTransaction(prisma, (tx) => putBlob(tx, text, sha));
    assert.equal(await getBlobText(prisma, sha), text);
    await prisma.blob.delete({ where: { sha256: sha } }); // no node refers to it: later tests count orphans
  });

  it('a plain iptables-save (policies [0:0], no rule counters) stores no counters', async () => {
    const detail = await api.request.get(`${V1}/nodes/raw-save-without-counters/dumps/latest`).expect(200);
    assert.equal(detail.body.hasCounters, false);
    const row = await api.db.prisma.dump.findFirst({ where: { node: { name: 'raw-save-without-counters' } }, select: { countersSha256: true } });
    assert.equal(row?.countersSha256, null);
  });

  const textA = kube('10.1.0.8');
  it('two nodes of a cluster: the shared text is stored once, the second costs a small delta', async () => {
    const textB = kube('10.1.0.9');
    const a = await upload('share-a', textA, 'share');
    const b = await upload('share-b', textB, 'share');
    assert.notEqual(a.sha256, b.sha256);
    const canonA = await blob(a.sha256);
    const canonB = await blob(b.sha256);
    assert.equal(canonA?.encoding, 'gzip');
    assert.equal(canonB?.encoding, 'delta');
    assert.equal(canonB?.baseSha256, a.sha256);
    assert.equal(api.db.deltaBases.last?.sha256, a.sha256, "the base is kept split in the database's own cache for the next node");
    assert.ok(canonB!.data.length * 100 < canonA!.data.length, `delta ${canonB!.data.length} bytes, whole ${canonA!.data.length}`);
    const origB = await blob(sha256(textB));
    assert.equal(origB?.encoding, 'counted-delta');
    assert.equal(origB?.baseSha256, b.sha256);
    assert.ok(origB!.data.length < 200, `uploaded text costs ${origB!.data.length} bytes`);
    await readBack('share-a', a.id, textA);
    await readBack('share-b', b.id, textB);
    // Same ruleset as A on a third node, other counters: no new canonical blob.
    const before = await api.db.prisma.blob.count();
    const c = await upload('share-c', textA.replace(/^\[(\d+):/m, '[$1999:'), 'share');
    assert.equal(c.sha256, a.sha256);
    assert.equal(await api.db.prisma.blob.count(), before + 2, 'only the uploaded text and counters of C');
  });

  it("deleting the node whose text is the others' base keeps the base; the others read back exactly", async () => {
    const textB = kube('10.1.0.9');
    const a = (await api.request.get(`${V1}/nodes/share-a/dumps/latest`).expect(200)).body as { id: number; sha256: string };
    const b = (await api.request.get(`${V1}/nodes/share-b/dumps/latest`).expect(200)).body as { id: number };
    await api.request.delete(`${V1}/nodes/share-a`).expect(204);
    assert.equal((await blob(a.sha256))?.encoding, 'gzip', 'the base stays while B and C need it');
    assert.equal(await blob(sha256(textA)), null, "A's uploaded text is gone");
    await readBack('share-b', b.id, textB);
    await api.request.delete(`${V1}/nodes/share-c`).expect(204);
    await readBack('share-b', b.id, textB);
    assert.equal(await api.db.prisma.blob.count({ where: UNREFERENCED_BLOBS }), 0, 'no orphans');
    await api.request.delete(`${V1}/nodes/share-b`).expect(204);
    assert.equal(await blob(a.sha256), null, 'the base goes with the last delta');
    assert.equal(await api.db.prisma.blob.count({ where: UNREFERENCED_BLOBS }), 0, 'no orphans');
  });

  it("a node's versions are deltas of one whole base (depth 1); counters-only changes keep the version and drop old blobs", async () => {
    const v1 = kube('10.2.0.2');
    const v2 = kube('10.2.0.2', true, 151);
    const v3 = kube('10.2.0.2', true, 152);
    const r1 = await upload('versions', v1, 'solo');
    const r2 = await upload('versions', v2, 'solo');
    const r3 = await upload('versions', v3, 'solo');
    assert.ok(r2.created && r3.created);
    assert.equal((await blob(r1.sha256))?.encoding, 'gzip');
    assert.equal((await blob(r2.sha256))?.baseSha256, r1.sha256);
    assert.equal((await blob(r3.sha256))?.baseSha256, r1.sha256, 'v3 is a delta of the whole v1, not of the delta v2');
    for (const [r, t] of [[r1, v1], [r2, v2], [r3, v3]] as const) await readBack('versions', r.id, t);
    const blobs = await api.db.prisma.blob.count();
    const recounted = v3.replace(/^\[(\d+):(\d+)\] -A KUBE-SERVICES/gm, '[1$1:2$2] -A KUBE-SERVICES');
    const again = await upload('versions', recounted, 'solo');
    assert.equal(again.created, false);
    assert.equal(again.id, r3.id);
    await readBack('versions', r3.id, recounted);
    assert.equal(await api.db.prisma.blob.count(), blobs, 'the old uploaded text and counters are replaced');
    assert.equal(await api.db.prisma.blob.count({ where: UNREFERENCED_BLOBS }), 0, 'no orphans');
    // Deleting the version owning the base (v1, via the node) removes everything.
    await api.request.delete(`${V1}/nodes/versions`).expect(204);
    assert.equal(await blob(r1.sha256), null);
    assert.equal(await api.db.prisma.blob.count({ where: UNREFERENCED_BLOBS }), 0, 'no orphans');
  });
});

describe('storage: a database written before blob deltas migrates forward', () => {
  let dir: string;
  let db: Database;
  before(async () => {
    const api = await startApi();
    dir = join(api.dir, 'old');
    await api.close();
    await mkdir(join(dir, 'migrations'), { recursive: true });
    const names = (await readdir(MIGRATIONS_DIR)).filter((n) => n < '20261205010000').sort();
    for (const n of names) await cp(join(MIGRATIONS_DIR, n), join(dir, 'migrations', n), { recursive: true });
    await cp(join(MIGRATIONS_DIR, 'migration_lock.toml'), join(dir, 'migrations', 'migration_lock.toml'));
  });
  after(async () => db?.close());

  it('old rows (whole texts, JSON counters) read back, take new uploads and are collected', async () => {
    const file = join(dir, 'old.db');
    const old = await openDatabase(`file:${file}`, { migrationsDir: join(dir, 'migrations') });
    await old.close();
    // What the previous layout wrote: gzip texts and gzip JSON counters.
    const text = counterDump({ packets: 3 }) + '# padding\n'.repeat(150);
    const p = prepareDump(text);
    const sqlite = new BetterSqlite3(file);
    const putOld = (s: string): string => {
      const sha = sha256(s);
      sqlite.prepare('INSERT OR IGNORE INTO "Blob" ("sha256", "size", "encoding", "data") VALUES (?, ?, ?, ?)').run(sha, Buffer.byteLength(s), 'gzip', gzipSync(s));
      return sha;
    };
    sqlite.prepare('INSERT INTO "Node" ("id", "name", "cluster") VALUES (1, \'legacy\', NULL)').run();
    sqlite
      .prepare('INSERT INTO "Dump" ("id", "nodeId", "family", "format", "sha256", "originalSha256", "countersSha256", "statsJson") VALUES (1, 1, \'ipv4\', \'iptables-save\', ?, ?, ?, \'{"tables":1,"chains":3,"rules":1}\')')
      .run(putOld(p.canonicalText), putOld(text), putOld(p.countersJson!));
    sqlite.close();

    db = await openDatabase(`file:${file}`);
    assert.ok(db.migrations?.applied.includes('20261205010000_blob_deltas'));
    assert.equal((await getDumpText(db.prisma, 'legacy', 1, 'original')).text, text);
    assert.equal((await getDumpText(db.prisma, 'legacy', 1, 'canonical')).text, p.canonicalText);
    assert.deepEqual((await findDump(db.prisma, 'legacy', 1)).counters, JSON.parse(p.countersJson!));

    // A counters-only re-upload replaces the old JSON counters and text.
    const text2 = counterDump({ packets: 4 }) + '# padding\n'.repeat(150);
    await uploadDumps(db.prisma, { node: 'legacy', dumps: [prepareDump(text2)] });
    assert.equal((await getDumpText(db.prisma, 'legacy', 1, 'original')).text, text2);
    assert.deepEqual((await findDump(db.prisma, 'legacy', 1)).counters, JSON.parse(prepareDump(text2).countersJson!));
    assert.equal(await db.prisma.blob.count({ where: { sha256: { in: [sha256(text), sha256(p.countersJson!)] } } }), 0);
    await writeTransaction(db.prisma, (tx) => deleteNode(tx, 'legacy'));
    assert.equal(await db.prisma.blob.count(), 0);
  });
});
