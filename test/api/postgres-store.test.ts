// The store on PostgreSQL (a throwaway cluster, support/postgres.ts): migrations
// bookkept as Prisma does and applied once when replicas start together, blobs
// as bytea shared across nodes and collected with their nodes, concurrent
// uploads to one node and to many, read caches of two apps on one database,
// a read-only database refused with a 503.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  blobStorageBytes,
  deleteNode,
  getBlobText,
  MigrationError,
  openDatabase,
  prepareDump,
  readMigrations,
  redactedUrl,
  uploadDumps,
  writeTransaction,
  type Database,
} from '../../src/store/index.ts';
import { POSTGRES_MIGRATIONS_DIR } from '../../src/store/migrate-postgres.ts';
import { UNREFERENCED_BLOBS } from '../../src/store/blobs.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { counterDump, seed, startApi, type TestApi } from '../support/api.ts';
import { POSTGRES_MISSING, postgresCluster, warnPostgresMissing } from '../support/postgres.ts';

const V1 = '/api/v1';
if (POSTGRES_MISSING) warnPostgresMissing();
const skip = POSTGRES_MISSING ? `PostgreSQL unavailable: ${POSTGRES_MISSING}` : false;

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('store on PostgreSQL', { skip }, () => {
  it('migrates a fresh database once, bookkept in _prisma_migrations with Prisma\'s checksums', async () => {
    const url = await postgresCluster().createDatabase('fresh');
    const db = await openDatabase(url);
    assert.equal(db.provider, 'postgresql');
    const names = readMigrations(POSTGRES_MIGRATIONS_DIR).map((m) => m.name);
    assert.deepEqual(db.migrations?.applied, names);
    await db.close();
    const again = await openDatabase(url);
    assert.deepEqual(again.migrations, { applied: [], modified: [], unknown: [] });
    await again.close();
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY started_at',
    );
    assert.deepEqual(rows.map((r) => r.migration_name), names);
    assert.deepEqual(rows.map((r) => r.checksum), readMigrations(POSTGRES_MIGRATIONS_DIR).map((m) => m.checksum));
    assert.ok(rows.every((r) => r.finished_at && r.applied_steps_count === 1));
  });

  it('replicas starting at once apply each migration once', async () => {
    const url = await postgresCluster().createDatabase('together');
    const dbs = await Promise.all([openDatabase(url), openDatabase(url), openDatabase(url)]);
    try {
      const applied = dbs.map((d) => d.migrations?.applied.length ?? 0).sort();
      assert.deepEqual(applied, [0, 0, readMigrations(POSTGRES_MIGRATIONS_DIR).length]);
      const rows = await query<{ n: string }>(url, 'SELECT COUNT(*) AS n FROM "_prisma_migrations"');
      assert.equal(Number(rows[0]?.n), readMigrations(POSTGRES_MIGRATIONS_DIR).length);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  });

  // `prisma migrate deploy` through @prisma/adapter-pg 6.19 fails on PostgreSQL's `name` columns
  // (prisma/orm#27403), so the server is what applies migrations; status and diff work.
  it('`prisma migrate status` agrees with what the server applied (offline, JS engine)', { timeout: 60_000 }, async () => {
    const url = await postgresCluster().createDatabase('status');
    await (await openDatabase(url)).close();
    const prisma = join(REPO_ROOT, 'node_modules', '.bin', 'prisma');
    if (!existsSync(prisma)) throw new Error('node_modules/.bin/prisma missing: run npm ci');
    const env = { ...process.env, DATABASE_URL: url, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
    const status = spawnSync(prisma, ['migrate', 'status'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    assert.equal(status.status, 0, status.stdout + status.stderr + `\n${url}`);
    assert.match(status.stdout, /Database schema is up to date/);
    assert.match(status.stdout + status.stderr, /prisma\/postgres\/schema\.prisma/);
  });

  it('a failing migration rolls back entirely and is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'packetpath-pgmig-'));
    try {
      const migrations = join(dir, 'migrations');
      await cp(POSTGRES_MIGRATIONS_DIR, migrations, { recursive: true });
      await mkdir(join(migrations, '99990101000000_broken'));
      await writeFile(join(migrations, '99990101000000_broken', 'migration.sql'), 'CREATE TABLE "Fine" (id INTEGER);\nTHIS IS NOT SQL;\n');
      const url = await postgresCluster().createDatabase('broken');
      await assert.rejects(openDatabase(url, { migrationsDir: migrations }), (err: unknown) => err instanceof MigrationError && /99990101000000_broken/.test(err.message));
      const tables = await query<{ tablename: string }>(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
      assert.deepEqual(tables, [], 'rolled back');
      const db = await openDatabase(url);
      assert.deepEqual(db.migrations?.applied, readMigrations(POSTGRES_MIGRATIONS_DIR).map((m) => m.name));
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a process holds at most DB_POOL_SIZE connections (poolSize), however many queries run at once', async () => {
    const url = await postgresCluster().createDatabase('pool');
    const db = await openDatabase(url, { poolSize: 2 });
    try {
      const name = new URL(url).pathname.slice(1);
      const seen = await Promise.all(
        Array.from({ length: 8 }, () =>
          db.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT COUNT(*) AS "n" FROM pg_stat_activity, pg_sleep(0.2) WHERE datname = '${name}'`),
        ),
      );
      const most = Math.max(...seen.map((r) => Number(r[0]!.n)));
      assert.ok(most >= 1 && most <= 2, `${most} connections`);
    } finally {
      await db.close();
    }
  });

  it('the URL is logged without its password', () => {
    assert.equal(redactedUrl('postgres://pp:s3cret@db:5432/pp?sslmode=require'), 'postgres://pp:***@db:5432/pp?sslmode=require');
    assert.equal(redactedUrl('postgresql://pp@/pp?host=/run/postgresql'), 'postgresql://pp@/pp?host=/run/postgresql');
    assert.equal(redactedUrl('file:./data/packetpath.db'), 'file:./data/packetpath.db');
  });

  describe('blobs', () => {
    let db: Database;
    before(async () => {
      db = await openDatabase(await postgresCluster().createDatabase('blobs'));
    });
    after(async () => db.close());

    it('identical rulesets uploaded concurrently to many nodes share their blobs; deltas read back exactly', async () => {
      const text = await seed();
      const prepared = prepareDump(text);
      await Promise.all(Array.from({ length: 20 }, (_, i) => uploadDumps(db.prisma, { node: `many-${i}`, dumps: [prepared] })));
      const stats = await blobStorageBytes(db.prisma);
      assert.equal(await db.prisma.dump.count(), 20);
      assert.equal(await db.prisma.blob.count({ where: { sha256: prepared.sha256 } }), 1);
      assert.ok(stats.storedBytes < stats.textBytes, `${stats.storedBytes} < ${stats.textBytes}`);
      assert.equal(await getBlobText(db.prisma, prepared.sha256), prepared.canonicalText);
      assert.equal(await getBlobText(db.prisma, prepared.originalSha256), text);
      // A one-line change of a big text is stored as a delta of it (bytea, deflate-raw) and reads back exactly.
      const big = prepareDump(text.replace('COMMIT', Array.from({ length: 200 }, (_, i) => `-A INPUT -s 192.0.2.${i % 250}/32 -p tcp -m tcp --dport ${1000 + i} -j ACCEPT`).join('\n') + '\nCOMMIT'));
      await uploadDumps(db.prisma, { node: 'big', dumps: [big] });
      const next = prepareDump(big.originalText.replace('--dport 1000 ', '--dport 999 '));
      await uploadDumps(db.prisma, { node: 'big', dumps: [next] });
      const row = await db.prisma.blob.findUnique({ where: { sha256: next.sha256 }, select: { encoding: true } });
      assert.equal(row?.encoding, 'delta');
      assert.equal(await getBlobText(db.prisma, next.sha256), next.canonicalText);
    });

    it("deleting a node (its blobs collected) while another replica uploads the same text to another node loses nothing", async () => {
      const other = await openDatabase(db.url);
      try {
        for (let i = 0; i < 30; i++) {
          const prepared = prepareDump(counterDump({ variant: `gc-${i}`, packets: i + 1 }));
          await uploadDumps(db.prisma, { node: `doomed-${i}`, dumps: [prepared] });
          // The upload sees the blobs exist and does not store them again; the deletion finds them unreferenced.
          await Promise.all([writeTransaction(db.prisma, (tx) => deleteNode(tx, `doomed-${i}`)), uploadDumps(other.prisma, { node: `kept-${i}`, dumps: [prepared] })]);
          assert.equal(await getBlobText(db.prisma, prepared.sha256), prepared.canonicalText, `round ${i}`);
          assert.equal(await getBlobText(db.prisma, prepared.originalSha256), prepared.originalText, `round ${i}`);
        }
        for (let i = 0; i < 30; i++) await writeTransaction(db.prisma, (tx) => deleteNode(tx, `kept-${i}`));
      } finally {
        await other.close();
      }
    });

    it('counter updates and node deletion leave no orphan blobs', async () => {
      for (let p = 1; p < 6; p++) await uploadDumps(db.prisma, { node: 'counted', dumps: [prepareDump(counterDump({ packets: p }))] });
      const list = await db.prisma.dump.findMany({ where: { node: { name: 'counted' } } });
      assert.equal(list.length, 1);
      assert.equal(list[0]?.uploads, 5);
      for (const name of ['counted', 'big', ...Array.from({ length: 20 }, (_, i) => `many-${i}`)]) await writeTransaction(db.prisma, (tx) => deleteNode(tx, name));
      assert.equal(await db.prisma.blob.count({ where: UNREFERENCED_BLOBS }), 0);
      assert.equal(await db.prisma.blob.count(), 0);
      assert.equal(await db.prisma.dump.count(), 0);
    });
  });

  describe('two apps on one database', () => {
    let a: TestApi;
    let b: TestApi;
    before(async () => {
      a = await startApi({ backend: 'postgresql' });
      b = await startApi({ shareDatabaseOf: a });
    });
    after(async () => {
      await b.close();
      await a.close();
    });

    it("a read on one app right after the other's write returned sees it (NOTIFY + barrier), though reads are cached", async () => {
      let previous = (await a.request.post(`${V1}/nodes/watched/dumps`).type('text/plain').send(counterDump({ variant: 0 })).expect(201)).body.id as number;
      for (let i = 1; i <= 20; i++) {
        // B answers from its cache (the same lookups twice), then A writes, then B must not answer from the old cache.
        const before = b.app.readCache.invalidations;
        assert.equal((await b.request.get(`${V1}/nodes/watched/dumps/latest`).expect(200)).body.id, previous);
        assert.equal((await b.request.get(`${V1}/nodes/watched/dumps/latest`).expect(200)).body.id, previous);
        const up = await a.request.post(`${V1}/nodes/watched/dumps`).type('text/plain').send(counterDump({ variant: i })).expect(201);
        assert.equal((await b.request.get(`${V1}/nodes/watched/dumps/latest`).expect(200)).body.id, up.body.id);
        assert.ok(b.app.readCache.invalidations > before, 'B dropped its cached answers because of A\'s commit');
        previous = up.body.id;
      }
    });

    it('a read-only database refuses writes with a 503 and readiness says why; nothing is stored', async () => {
      const url = a.config.databaseUrl;
      const name = new URL(url).pathname.slice(1);
      const count = await a.db.prisma.dump.count();
      const admin = postgresCluster().url('postgres');
      await query(admin, `ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
      const ro = await startApi({ shareDatabaseOf: a });
      try {
        const ready = await ro.request.get('/readyz').expect(503);
        assert.match(JSON.stringify(ready.body), /read-only/);
        const res = await ro.request.post(`${V1}/nodes/ro/dumps`).type('text/plain').send(counterDump({ variant: 'ro' })).expect(503);
        assert.match(res.body.detail, /read-only|cannot be written/);
      } finally {
        await ro.close();
        await query(admin, `ALTER DATABASE "${name}" SET default_transaction_read_only = off`);
      }
      assert.equal(await a.db.prisma.dump.count(), count);
    });
  });
});
