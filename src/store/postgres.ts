// Opening a PostgreSQL database (DATABASE_URL=postgres://… or postgresql://…,
// a socket directory as `?host=/run/postgresql`): migrations, then a Prisma
// client on the pg driver adapter (@prisma/adapter-pg) with the same models
// and API as SQLite's, so every repository function runs on both.
//
// What SQLite's single write lock gives for free, PostgreSQL gets from
// advisory locks taken first in every write transaction (writeTransaction):
//  - a write with a `lock` key (an upload: `node:NAME`) takes the global write
//    lock shared and its key's lock exclusive: uploads to different nodes run
//    concurrently on any number of replicas, two uploads to one node queue, so
//    "same version or a new one" (dumps.ts recordDump) is decided on committed
//    rows and a version is never created twice;
//  - any other write (deleting a node and the blobs nobody references, tokens)
//    takes the global lock exclusive, as on SQLite.
// Blobs are content-addressed and shared across nodes: two uploads storing
// the same new text insert it with ON CONFLICT DO NOTHING (blobs.ts).
// Every write transaction also sends NOTIFY on CHANGES_CHANNEL (delivered at
// commit) for the read caches of every replica (pg-change-watch.ts).
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as PostgresPrismaClient } from '../generated/prisma-pg/client.ts';
import { registerClient, TRANSACTION_OPTIONS, type Database, type OpenOptions, type PrismaClient, type WriteBegin } from './db.ts';
import { createDeltaBaseCache } from './delta-cache.ts';
import { StoreUnavailableError } from './errors.ts';
import { readMigrations, type MigrationReport } from './migrate.ts';
import { applyPostgresMigrations, POSTGRES_MIGRATIONS_DIR } from './migrate-postgres.ts';

/** True for the URLs that select PostgreSQL. */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

/** The channel write transactions notify and read caches listen on. */
export const CHANGES_CHANNEL = 'packetpath_changes';

/** Advisory lock classes (the first int4 of the two-key form): the global write lock, and per-key write locks. */
const WRITE_LOCK = 0x70617468; // 'path'
const KEY_LOCK = WRITE_LOCK + 1;

/** The URL with its password replaced, for logs. */
export function redactedUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
}

function beginWrite(lockTimeoutMs: number): WriteBegin {
  const timeout = String(Math.max(1, Math.trunc(lockTimeoutMs)));
  return async (tx, lock) => {
    // One round trip: the lock wait bounded like SQLite's busy timeout (55P03 → retried, then 503), the locks, the notification.
    if (lock === undefined) {
      await tx.$executeRawUnsafe(
        `SELECT set_config('lock_timeout', $1, true), pg_advisory_xact_lock(${WRITE_LOCK}, 0), pg_notify('${CHANGES_CHANNEL}', '')`,
        timeout,
      );
    } else {
      await tx.$executeRawUnsafe(
        `SELECT set_config('lock_timeout', $1, true), pg_advisory_xact_lock_shared(${WRITE_LOCK}, 0), pg_advisory_xact_lock(${KEY_LOCK}, hashtext($2)), pg_notify('${CHANGES_CHANNEL}', '')`,
        timeout,
        lock,
      );
    }
  };
}

/** Opens the PostgreSQL database at `url`, applying pending migrations first. */
export async function openPostgresDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  let migrations: MigrationReport | null = null;
  if (options.migrate !== false) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      migrations = await applyPostgresMigrations(client, readMigrations(options.migrationsDir ?? POSTGRES_MIGRATIONS_DIR));
    } finally {
      await client.end();
    }
  }
  const adapter = new PrismaPg({ connectionString: url, max: options.poolSize ?? 10 });
  // Generated from prisma/postgres/schema.prisma: the same models, fields and
  // queries as SQLite's client, so it is used through that client's type.
  const prisma = new PostgresPrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS }) as unknown as PrismaClient;
  registerClient(prisma, 'postgresql', beginWrite(options.busyTimeoutMs ?? 10_000));

  let closed = false;
  // Set by ping(): why the server cannot take writes (a standby, a read-only default).
  let readOnly: string | undefined;
  const database: Database = {
    prisma,
    provider: 'postgresql',
    url,
    deltaBases: createDeltaBaseCache(),
    migrations,
    async ping() {
      if (closed) throw new Error('database is closed');
      const rows = await prisma.$queryRawUnsafe<{ standby: boolean; ro: string }[]>(
        `SELECT pg_is_in_recovery() AS "standby", current_setting('default_transaction_read_only') AS "ro"`,
      );
      const r = rows[0];
      readOnly = r?.standby
        ? 'the PostgreSQL server is a standby (read-only); point DATABASE_URL at the primary'
        : r?.ro === 'on'
          ? 'the PostgreSQL database is read-only (default_transaction_read_only)'
          : undefined;
      if (readOnly) throw new Error(readOnly);
    },
    assertWritable() {
      if (readOnly) throw new StoreUnavailableError(readOnly);
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
    },
  };
  // Fail at start, not at the first request, when the server is unreachable.
  await prisma.$queryRawUnsafe('SELECT 1');
  return database;
}
