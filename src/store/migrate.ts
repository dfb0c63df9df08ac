// Applies prisma/migrations/*/migration.sql to a SQLite file, in name order,
// bookkept in Prisma's own `_prisma_migrations` table (same columns, same
// checksum: sha256 of the file) so `prisma migrate deploy` and
// `prisma migrate status` agree with what the server applied.
//
// All pending migrations run in one `BEGIN IMMEDIATE` transaction: two
// processes starting at once serialize on the write lock, and a failing
// migration leaves the database as it was.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  /** Directory name, e.g. `20261122000000_init`. */
  readonly name: string;
  readonly sql: string;
  /** sha256 (hex) of migration.sql, as Prisma computes it. */
  readonly checksum: string;
}

export interface MigrationReport {
  /** Migrations applied by this call, in order. */
  readonly applied: readonly string[];
  /** Applied migrations whose file changed since (Prisma's deploy ignores these too). */
  readonly modified: readonly string[];
  /** Migrations recorded in the database that this checkout does not have (database is newer). */
  readonly unknown: readonly string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** `prisma/migrations` of this checkout. */
export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma', 'migrations');

const PRISMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  if (!existsSync(dir)) throw new MigrationError(`migrations directory not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

/** Prisma's timestamp format in `_prisma_migrations` (RFC 3339 with milliseconds and `+00:00`). */
const prismaTime = (d: Date): string => d.toISOString().replace('Z', '+00:00');

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: string | null;
  rolled_back_at: string | null;
}

/** Applies the pending migrations on an open better-sqlite3 connection. */
export function applyMigrations(sqlite: BetterSqlite3.Database, migrations: readonly Migration[] = readMigrations()): MigrationReport {
  // Table rebuilds in Prisma's SQLite migrations need foreign keys off; the
  // pragma is ignored inside a transaction, so set it before and check after.
  const fkWasOn = Number(sqlite.pragma('foreign_keys', { simple: true })) === 1;
  sqlite.pragma('foreign_keys = OFF');
  const applied: string[] = [];
  const modified: string[] = [];
  let unknown: string[] = [];
  try {
    sqlite.exec('BEGIN IMMEDIATE');
    try {
      sqlite.exec(PRISMA_MIGRATIONS_DDL);
      const rows = sqlite
        .prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at')
        .all() as AppliedRow[];
      const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
      if (failed) {
        throw new MigrationError(`migration ${failed.migration_name} failed earlier and is not resolved; fix the database, then run \`prisma migrate resolve\``);
      }
      const done = new Map(rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => [r.migration_name, r]));
      const insert = sqlite.prepare(
        'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)',
      );
      for (const m of migrations) {
        const row = done.get(m.name);
        if (row) {
          if (row.checksum !== m.checksum) modified.push(m.name);
          continue;
        }
        const started = prismaTime(new Date());
        try {
          sqlite.exec(m.sql);
        } catch (err) {
          throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        insert.run(randomUUID(), m.checksum, prismaTime(new Date()), m.name, started);
        applied.push(m.name);
      }
      const known = new Set(migrations.map((m) => m.name));
      unknown = [...done.keys()].filter((n) => !known.has(n));
      const violations = sqlite.pragma('foreign_key_check') as unknown[];
      if (violations.length) throw new MigrationError(`migrations left ${violations.length} foreign key violations`);
      sqlite.exec('COMMIT');
    } catch (err) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      throw err;
    }
  } finally {
    if (fkWasOn) sqlite.pragma('foreign_keys = ON');
  }
  return { applied, modified, unknown };
}
