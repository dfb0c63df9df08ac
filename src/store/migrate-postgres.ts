// Applies prisma/postgres/migrations/*/migration.sql to a PostgreSQL database,
// in name order, bookkept in Prisma's `_prisma_migrations` table (Prisma's
// PostgreSQL columns, checksum = sha256 of the file) so `prisma migrate
// deploy` and `prisma migrate status` agree with what the server applied.
//
// All pending migrations run in one transaction (PostgreSQL's DDL is
// transactional: a failing migration leaves the database as it was) under
// the advisory lock `prisma migrate deploy` takes too, so replicas starting
// at once apply each migration once. A migration that cannot run in a
// transaction (CREATE INDEX CONCURRENTLY) needs `prisma migrate deploy`.
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { MigrationError, type Migration, type MigrationReport } from './migrate.ts';

/** `prisma/postgres/migrations` of this checkout. */
export const POSTGRES_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma', 'postgres', 'migrations');

/** The advisory lock key of Prisma's migrate commands (schema-engine's `pg_advisory_lock(72707369)`). */
const PRISMA_MIGRATE_LOCK = 72707369;

const PRISMA_MIGRATIONS_DDL = `CREATE TABLE "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Applies the pending migrations on an open connection (not inside a transaction). */
export async function applyPostgresMigrations(client: pg.ClientBase, migrations: readonly Migration[]): Promise<MigrationReport> {
  const applied: string[] = [];
  const modified: string[] = [];
  let unknown: string[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [PRISMA_MIGRATE_LOCK]);
    // Not CREATE TABLE IF NOT EXISTS: a migrated database that is read-only (a standby) still opens.
    const { rows: table } = await client.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
    if (table[0]?.t === null) await client.query(PRISMA_MIGRATIONS_DDL);
    const { rows } = await client.query<AppliedRow>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at');
    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(`migration ${failed.migration_name} failed earlier and is not resolved; fix the database, then run \`prisma migrate resolve\``);
    }
    const done = new Map(rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => [r.migration_name, r]));
    for (const m of migrations) {
      const row = done.get(m.name);
      if (row) {
        if (row.checksum !== m.checksum) modified.push(m.name);
        continue;
      }
      const started = new Date();
      try {
        await client.query(m.sql);
      } catch (err) {
        throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      await client.query(
        'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES ($1, $2, $3, $4, NULL, NULL, $5, 1)',
        [randomUUID(), m.checksum, new Date(), m.name, started],
      );
      applied.push(m.name);
    }
    const known = new Set(migrations.map((m) => m.name));
    unknown = [...done.keys()].filter((n) => !known.has(n));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return { applied, modified, unknown };
}
