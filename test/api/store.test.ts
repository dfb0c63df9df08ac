// The store below the HTTP layer: migrations (compatible with Prisma's own
// bookkeeping), WAL, content-addressed blobs shared across nodes, cleanup.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  applyMigrations,
  blobStorageBytes,
  deleteNode,
  MIGRATIONS_DIR,
  MigrationError,
  openDatabase,
  prepareDump,
  readMigrations,
  uploadDumps,
  writeTransaction,
  type Database,
} from '../../src/store/index.ts';
import { UNREFERENCED_BLOBS } from '../../src/store/blobs.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { counterDump, seed } from '../support/api.ts';

describe('store', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'packetpath-store-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('migrates a fresh file once, in WAL mode, bookkept in _prisma_migrations', async () => {
    const url = `file:${join(dir, 'fresh', 'nested', 'a.db')}`;
    const db = await openDatabase(url);
    const names = readMigrations().map((m) => m.name);
    assert.ok(names.length >= 1);
    assert.deepEqual(db.migrations?.applied, names);
    await db.close();
    const again = await openDatabase(url);
    assert.deepEqual(again.migrations, { applied: [], modified: [], unknown: [] });
    await again.close();
    const raw = new BetterSqlite3(join(dir, 'fresh', 'nested', 'a.db'));
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const rows = raw.prepare('SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations').all() as { migration_name: string; checksum: string; finished_at: string; applied_steps_count: number }[];
      assert.deepEqual(rows.map((r) => r.migration_name), names);
      assert.deepEqual(rows.map((r) => r.checksum), readMigrations().map((m) => m.checksum));
      assert.ok(rows.every((r) => r.finished_at && r.applied_steps_count === 1));
      const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
      for (const t of ['Blob', 'Dump', 'Node', '_prisma_migrations']) assert.ok(tables.includes(t), t);
    } finally {
      raw.close();
    }
  });

  it('`prisma migrate status` agrees with what the server applied (offline, JS engine)', { timeout: 60_000 }, async () => {
    const file = join(dir, 'status.db');
    const db = await openDatabase(`file:${file}`);
    await db.close();
    const prisma = join(REPO_ROOT, 'node_modules', '.bin', 'prisma');
    if (!existsSync(prisma)) throw new Error('node_modules/.bin/prisma missing: run npm ci');
    const env = { ...process.env, DATABASE_URL: `file:${file}`, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
    const status = spawnSync(prisma, ['migrate', 'status'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    assert.equal(status.status, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /Database schema is up to date/);
    const deploy = spawnSync(prisma, ['migrate', 'deploy'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    assert.equal(deploy.status, 0, deploy.stdout + deploy.stderr);
    assert.match(deploy.stdout, /No pending migrations/);
  });

  it('a failing migration rolls back entirely and is reported', async () => {
    const migrations = join(dir, 'bad-migrations');
    await cp(MIGRATIONS_DIR, migrations, { recursive: true });
    await mkdir(join(migrations, '99990101000000_broken'));
    await writeFile(join(migrations, '99990101000000_broken', 'migration.sql'), 'CREATE TABLE "Fine" (id INTEGER);\nTHIS IS NOT SQL;\n');
    const file = join(dir, 'broken.db');
    await assert.rejects(openDatabase(`file:${file}`, { migrationsDir: migrations }), (err: unknown) => err instanceof MigrationError && /99990101000000_broken/.test(err.message));
    const raw = new BetterSqlite3(file);
    try {
      const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      assert.ok(!tables.includes('Fine') && !tables.includes('Node'), `rolled back: ${tables.join(',')}`);
      // Applying the good ones afterwards works.
      const report = applyMigrations(raw, readMigrations(MIGRATIONS_DIR));
      assert.deepEqual(report.applied, readMigrations().map((m) => m.name));
    } finally {
      raw.close();
    }
  });

  it('an in-memory or non-file URL is refused with a clear message', async () => {
    await assert.rejects(openDatabase('file::memory:'), /in-memory/);
    await assert.rejects(openDatabase('mysql://x'), /file URL \(file:PATH\) or a PostgreSQL URL/);
  });

  describe('blobs', () => {
    let db: Database;
    before(async () => {
      db = await openDatabase(`file:${join(dir, 'blobs.db')}`);
    });
    after(async () => db.close());

    it('identical rulesets on many nodes share their text blobs', async () => {
      const text = await seed();
      const prepared = prepareDump(text);
      await uploadDumps(db.prisma, { node: 'one', dumps: [prepared] });
      const one = await blobStorageBytes(db.prisma);
      for (let i = 0; i < 100; i++) await uploadDumps(db.prisma, { node: `many-${i}`, dumps: [prepared] });
      const many = await blobStorageBytes(db.prisma);
      assert.equal(many.blobs, one.blobs);
      assert.equal(many.storedBytes, one.storedBytes);
      assert.equal(await db.prisma.dump.count(), 101);
      // Texts are stored compressed.
      assert.ok(one.storedBytes < one.textBytes, `${one.storedBytes} < ${one.textBytes}`);
    });

    it('counter updates and node deletion leave no orphan blobs', async () => {
      await uploadDumps(db.prisma, { node: 'counted', dumps: [prepareDump(counterDump({ packets: 1 }))] });
      const first = await blobStorageBytes(db.prisma);
      for (let p = 2; p < 12; p++) await uploadDumps(db.prisma, { node: 'counted', dumps: [prepareDump(counterDump({ packets: p }))] });
      assert.equal((await blobStorageBytes(db.prisma)).blobs, first.blobs, 'old raw texts and counters are dropped when replaced');
      await writeTransaction(db.prisma, (tx) => deleteNode(tx, 'counted'));
      const orphans = await db.prisma.blob.count({ where: UNREFERENCED_BLOBS });
      assert.equal(orphans, 0);
      for (let i = 0; i < 100; i++) await writeTransaction(db.prisma, (tx) => deleteNode(tx, `many-${i}`));
      await writeTransaction(db.prisma, (tx) => deleteNode(tx, 'one'));
      assert.equal(await db.prisma.blob.count(), 0);
      assert.equal(await db.prisma.dump.count(), 0);
    });
  });
});
