// Opening the SQLite database (migrations, pragmas, the Prisma client), and
// what both stores share: the `Database` handle, write transactions, error
// classification. PostgreSQL's opening is in postgres.ts, the choice by URL in
// open.ts. No module-level singletons: every caller owns the `Database` it opened.
import { accessSync, constants, mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient, Prisma } from '../generated/prisma/client.ts';
import { applyMigrations, readMigrations, MIGRATIONS_DIR, type MigrationReport } from './migrate.ts';
import { createDeltaBaseCache, type DeltaBaseCache } from './delta-cache.ts';
import { StoreFullError, StoreUnavailableError } from './errors.ts';

/** A Prisma client or an interactive-transaction client: what every store function takes first. */
export type Client = PrismaClient | Prisma.TransactionClient;
export type Tx = Prisma.TransactionClient;
export { PrismaClient, Prisma };

/** Which database a `Database` (or a client) talks to. */
export type Provider = 'sqlite' | 'postgresql';

export interface Database {
  /** PostgreSQL's client has the same models and API; it is typed as SQLite's (see postgres.ts). */
  readonly prisma: PrismaClient;
  readonly provider: Provider;
  /** The URL it was opened with (`file:` or `postgres://`; may hold a password: log `redactedUrl(url)`). */
  readonly url: string;
  /** Split and indexed delta bases of recent uploads (see blobs.ts), for `uploadDumps`. */
  readonly deltaBases: DeltaBaseCache;
  /** What the migrator did when the database was opened (null when `migrate: false`). */
  readonly migrations: MigrationReport | null;
  /** A trivial query; rejects when the database is unusable (readiness), including when it cannot take writes. */
  ping(): Promise<void>;
  /** Throws StoreUnavailableError (→ 503) when the file was deleted or replaced since it was opened, or is read-only. */
  assertWritable(): void;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply pending migrations first (default true). */
  readonly migrate?: boolean;
  /** Directory holding the `<name>/migration.sql` folders (default: this checkout's prisma/migrations). */
  readonly migrationsDir?: string;
  /** SQLite busy timeout, PostgreSQL lock timeout of writes, in ms (default 10000). */
  readonly busyTimeoutMs?: number;
  /** PostgreSQL: connections in the pool at most (default 10). */
  readonly poolSize?: number;
}

export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

/** The file path of a `file:` URL (query string ignored). */
export function databaseFilePath(url: string): string {
  if (!url.startsWith('file:')) throw new DatabaseUrlError(`DATABASE_URL must be a file: URL, not "${url}"`);
  const path = decodeURIComponent(url.slice('file:'.length).replace(/^\/\/(?=\/)/, '').split('?')[0] ?? '');
  if (!path || path === ':memory:') throw new DatabaseUrlError('an in-memory database is not supported: give a file path (tests use a temp file)');
  return resolve(path);
}

/** Longest an interactive transaction may wait for the connection and run (ms). */
const TX_MAX_WAIT_MS = 60_000;
const TX_TIMEOUT_MS = 60_000;
export const TRANSACTION_OPTIONS = { maxWait: TX_MAX_WAIT_MS, timeout: TX_TIMEOUT_MS } as const;

/**
 * Opens (creating if needed) the SQLite file at `url`: creates its directory,
 * switches it to WAL, applies pending migrations and returns a Prisma client
 * on the better-sqlite3 driver adapter with a busy timeout.
 */
export async function openSqliteDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  const file = databaseFilePath(url);
  mkdirSync(dirname(file), { recursive: true });
  const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;

  // Migrations and persistent pragmas go through a short-lived connection of our own.
  let migrations: MigrationReport | null = null;
  const sqlite = new BetterSqlite3(file, { timeout: busyTimeoutMs });
  try {
    sqlite.pragma('journal_mode = WAL');
    if (options.migrate !== false) migrations = applyMigrations(sqlite, readMigrations(options.migrationsDir ?? MIGRATIONS_DIR));
  } finally {
    sqlite.close();
  }

  // `timeout` is better-sqlite3's busy timeout for the adapter's connection.
  const factory = new PrismaBetterSQLite3({ url: `file:${file}`, timeout: busyTimeoutMs });
  let prisma: PrismaClient;
  // The same factory, but it remembers the connection it opens (see writeConnection).
  const adapter = {
    provider: 'sqlite' as const,
    adapterName: factory.adapterName,
    connect: async () => {
      const connected = await factory.connect();
      const connection = (connected as unknown as { client?: unknown }).client;
      if (connection instanceof BetterSqlite3) {
        clientConnections.set(prisma, connection);
        guardTransactions(prisma, connected as unknown as AdapterWithTransactions, connection);
      }
      return connected;
    },
    connectToShadowDb: () => factory.connectToShadowDb(),
  };
  prisma = new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS });
  // Per-connection pragmas (the adapter keeps one connection).
  await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await prisma.$queryRawUnsafe(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
  await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');

  let closed = false;
  const failures = writeFailuresOf(prisma);
  // The file the connection holds: deleting or replacing it goes unnoticed by SQLite (writes land in
  // the unlinked inode and are lost at restart), so compare device and inode before writes.
  const opened = statSync(file);
  const writeProblem = (): string | undefined => {
    let now;
    try {
      now = statSync(file);
    } catch {
      return `the database file ${file} was deleted while the server runs; writes would be lost (restore it or restart the server)`;
    }
    if (now.ino !== opened.ino || now.dev !== opened.dev) return `the database file ${file} was replaced while the server runs; restart the server to use the new file`;
    const full = diskFullProblem(file, failures.full);
    if (full) return `${FULL_PREFIX}${full}`;
    try {
      accessSync(file, constants.W_OK);
      accessSync(dirname(file), constants.W_OK);
    } catch {
      return `the database file ${file} (or its directory) is read-only`;
    }
    return undefined;
  };
  return {
    prisma,
    provider: 'sqlite',
    url,
    deltaBases: createDeltaBaseCache(),
    migrations,
    async ping() {
      if (closed) throw new Error('database is closed');
      const problem = writeProblem();
      if (problem) throw new Error(problem.replace(FULL_PREFIX, ''));
      await prisma.$queryRawUnsafe('SELECT 1');
    },
    assertWritable() {
      const problem = writeProblem();
      if (problem?.startsWith(FULL_PREFIX)) throw new StoreFullError(problem.slice(FULL_PREFIX.length));
      if (problem) throw new StoreUnavailableError(problem);
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
    },
  };
}

/** The driver adapter's transaction side (@prisma/adapter-better-sqlite3). */
interface AdapterTransaction {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
interface AdapterWithTransactions {
  startTransaction(isolationLevel?: string): Promise<AdapterTransaction>;
}
interface OpenTransaction {
  done: boolean;
  /** Gives the adapter's lock back (its own rollback(): no SQL). */
  release(): Promise<void>;
}

/** The adapter transaction open on a client now (the adapter runs one at a time). Bookkeeping, like writeActivity. */
const openTransactions = new WeakMap<object, OpenTransaction>();

/**
 * The adapter takes a mutex, then runs BEGIN, and gives the mutex back only
 * through the transaction's commit() or rollback(). A COMMIT that fails
 * (SQLITE_FULL) can leave SQLite inside the transaction and the mutex held:
 * every later BEGIN then fails or waits forever. This wrapper knows which
 * adapter transaction is open so writeTransaction can end it, and rolls back
 * a transaction SQLite still holds when no adapter transaction is open.
 */
function guardTransactions(prisma: PrismaClient, adapter: AdapterWithTransactions, connection: BetterSqlite3.Database): void {
  const start = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => {
    const open = openTransactions.get(prisma);
    if (connection.inTransaction && (!open || open.done)) rollbackQuietly(connection);
    const tx = await start(isolationLevel);
    const commit = tx.commit.bind(tx);
    const rollback = tx.rollback.bind(tx);
    const entry: OpenTransaction = {
      done: false,
      release: async () => {
        if (entry.done) return;
        entry.done = true;
        await rollback();
      },
    };
    tx.commit = async () => {
      entry.done = true;
      await commit();
    };
    tx.rollback = async () => {
      entry.done = true;
      await rollback();
    };
    openTransactions.set(prisma, entry);
    return tx;
  };
}

function rollbackQuietly(connection: BetterSqlite3.Database): void {
  try {
    if (connection.inTransaction) connection.exec('ROLLBACK');
  } catch {
    // Nothing to roll back, or the connection is gone: the next BEGIN says so.
  }
}

/** After a failed write: end what the failure left open (SQLite's transaction, the adapter's lock). */
function recoverTransaction(prisma: PrismaClient, mine: OpenTransaction | undefined): void {
  if (!mine || mine.done) return;
  const connection = clientConnections.get(prisma);
  if (connection) rollbackQuietly(connection);
  void mine.release();
}

// PostgreSQL: 53100 disk_full, 25006 read_only_sql_transaction (a standby, default_transaction_read_only).
const FULL = /SQLITE_FULL|database or disk is full|\b53100\b|No space left on device/i;
const UNWRITABLE =
  /SQLITE_READONLY|attempt to write a readonly database|SQLITE_IOERR|disk I\/O error|SQLITE_CANTOPEN|unable to open database file|\b25006\b|read-only transaction/i;
// PostgreSQL unreachable: 57P01-57P03 shutdown/cannot connect now, 08xxx connection failures,
// Prisma's P1001/P1017 (server unreachable/closed the connection), the socket's errors.
const UNREACHABLE = /\b57P0[123]\b|\b08(000|001|003|004|006)\b|\bP1001\b|\bP1017\b|ECONNREFUSED|ECONNRESET|ENOENT[^"]*PGSQL|Connection terminated|terminating connection due to administrator command|the database system is (shutting down|starting up)/i;

/** A query failed because the database server cannot be reached (PostgreSQL down or restarting): retry later. */
export function isUnreachableError(err: unknown): boolean {
  return UNREACHABLE.test(errorText(err));
}

function errorText(err: unknown, depth = 0): string {
  if (typeof err !== 'object' || err === null || depth > 5) return '';
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; meta?: unknown };
  return [String(e.code ?? ''), String(e.message ?? ''), JSON.stringify(e.meta ?? ''), errorText(e.cause, depth + 1)].join(' ');
}

/** A write that failed because of the disk or the file: the problem to report, or undefined for other errors. */
export function storageError(err: unknown): StoreFullError | StoreUnavailableError | undefined {
  if (err instanceof StoreFullError || err instanceof StoreUnavailableError) return err;
  const text = errorText(err);
  if (FULL.test(text)) return new StoreFullError('the disk holding the database is full; nothing was stored (free space and retry)');
  if (UNWRITABLE.test(text)) return new StoreUnavailableError('the database cannot be written (read-only or an I/O error); nothing was stored');
  if (UNREACHABLE.test(text)) return new StoreUnavailableError('the database server cannot be reached; nothing was stored (retry shortly)');
  return undefined;
}

/** Per client: whether the last write failed for a full disk (readiness reports it until space is back). */
const writeFailures = new WeakMap<object, { full: boolean }>();
function writeFailuresOf(prisma: PrismaClient): { full: boolean } {
  let f = writeFailures.get(prisma);
  if (!f) {
    f = { full: false };
    writeFailures.set(prisma, f);
  }
  return f;
}

/** Marks writeProblem's disk-full answer (507 rather than 503). */
const FULL_PREFIX = 'full:';

/** Below this much free space a database that already hit a full disk is still reported full. */
const FULL_MARGIN_BYTES = 1 << 20;

function diskFullProblem(file: string, lastWriteFull: boolean): string | undefined {
  let free: number;
  try {
    const s = statfsSync(dirname(file));
    free = s.bavail * s.bsize;
  } catch {
    return undefined;
  }
  if (free === 0 || (lastWriteFull && free < FULL_MARGIN_BYTES)) return `the disk holding the database ${file} is full (${free} bytes free); writes fail until space is freed`;
  return undefined;
}

const BUSY = /SQLITE_BUSY|database is locked|SocketTimeout|timed out|could not serialize access|deadlock detected|lock timeout|canceling statement due to lock timeout/i;
/** PostgreSQL: serialization_failure, deadlock_detected, lock_not_available; Prisma: timeout, transaction API error, write conflict. */
const BUSY_CODES = new Set(['SQLITE_BUSY', 'P1008', 'P2028', 'P2034', '40001', '40P01', '55P03']);

/** True for errors that mean "another writer holds the lock; try again". */
export function isBusyError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; meta?: { code?: unknown } };
  if (BUSY_CODES.has(String(e.code)) || BUSY_CODES.has(String(e.meta?.code))) return true;
  return (typeof e.message === 'string' && BUSY.test(e.message)) || (e.cause !== undefined && e.cause !== err && isBusyError(e.cause));
}

export interface WriteOptions {
  /** Tries on lock errors (default 5). */
  readonly attempts?: number;
  /**
   * What the write changes, when it is confined to one key (an upload: `node:NAME`).
   * PostgreSQL runs writes with different keys concurrently; writes without
   * one exclude every other write (as SQLite's one write lock does for all).
   */
  readonly lock?: string;
}

/**
 * How a provider begins a write transaction (PostgreSQL's: postgres.ts).
 * Bookkeeping about a client object, like writeActivity.
 */
export interface WriteBegin {
  (tx: Tx, lock: string | undefined): Promise<void>;
}
const writeBegins = new WeakMap<object, WriteBegin>();
const providers = new WeakMap<object, Provider>();

/** Registers a client opened on another provider (postgres.ts): how its writes begin. */
export function registerClient(prisma: PrismaClient, provider: Provider, begin: WriteBegin): void {
  providers.set(prisma, provider);
  writeBegins.set(prisma, begin);
}

/** The provider a client or transaction client talks to (raw SQL differs: blobs.ts). */
export function providerOf(tx: Client): Provider {
  return providers.get(tx) ?? 'sqlite';
}

/** SQLite: a write statement that changes nothing still takes the RESERVED lock. */
const beginSqliteWrite: WriteBegin = async (tx) => {
  await tx.$executeRawUnsafe('UPDATE "Node" SET "id" = "id" WHERE 0');
};

/**
 * Runs `fn` in an interactive transaction that takes the write lock first
 * (SQLite: the database's, so concurrent writers queue on the busy timeout
 * instead of failing with SQLITE_BUSY on a read-to-write upgrade; PostgreSQL:
 * advisory locks, see postgres.ts), retrying on lock errors. Every store
 * write goes through here.
 */
export async function writeTransaction<T>(prisma: PrismaClient, fn: (tx: Tx) => Promise<T>, options: WriteOptions | number = {}): Promise<T> {
  const { attempts = 5, lock } = typeof options === 'number' ? { attempts: options } : options;
  const provider = providerOf(prisma);
  const begin = writeBegins.get(prisma) ?? beginSqliteWrite;
  const activity = writeActivityOf(prisma);
  activity.open++;
  activity.begun++;
  try {
    for (let attempt = 1; ; attempt++) {
      let mine: OpenTransaction | undefined;
      try {
        const result = await prisma.$transaction(async (tx) => {
          mine = openTransactions.get(prisma);
          providers.set(tx, provider);
          await begin(tx, lock);
          const connection = clientConnections.get(prisma);
          if (connection) transactionConnections.set(tx, connection);
          return fn(tx);
        });
        writeFailuresOf(prisma).full = false;
        return result;
      } catch (err) {
        recoverTransaction(prisma, mine);
        const storage = storageError(err);
        if (storage) {
          if (storage instanceof StoreFullError) writeFailuresOf(prisma).full = true;
          throw storage;
        }
        if (attempt >= attempts || !isBusyError(err)) throw err;
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
      }
    }
  } finally {
    activity.open--;
  }
}

/**
 * Write transactions on a client: how many are open now and how many have
 * begun. The driver adapter has one SQLite connection, so a query outside a
 * transaction sees that transaction's uncommitted rows while it is open;
 * caches of read answers (read-cache.ts) keep nothing read meanwhile.
 * Bookkeeping about a client object (a WeakMap entry), not a cache.
 */
export interface WriteActivity {
  open: number;
  begun: number;
}

const writeActivity = new WeakMap<object, WriteActivity>();

/**
 * The better-sqlite3 connection under a Prisma client, and under each of its
 * write transactions (registered by writeTransaction). Bookkeeping about
 * client objects, like writeActivity.
 */
const clientConnections = new WeakMap<object, BetterSqlite3.Database>();
const transactionConnections = new WeakMap<object, BetterSqlite3.Database>();

/**
 * The SQLite connection a write transaction runs on, for statements with big
 * byte parameters: through Prisma a Buffer parameter is serialized and copied
 * many times (inserting a 20 MB blob cost 350 MB of memory), while a statement
 * on the connection itself binds it directly. The statement is part of the
 * transaction (the adapter has one connection). Undefined outside
 * writeTransaction.
 */
export function writeConnection(tx: Client): BetterSqlite3.Database | undefined {
  return transactionConnections.get(tx);
}

export function writeActivityOf(prisma: PrismaClient): WriteActivity {
  let a = writeActivity.get(prisma);
  if (!a) {
    a = { open: 0, begun: 0 };
    writeActivity.set(prisma, a);
  }
  return a;
}
