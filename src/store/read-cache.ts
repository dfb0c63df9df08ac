// Read-path caches for the hot query routes (trace above all), owned by the
// app (never a module singleton):
//
//  - *volatile* answers ("node X's latest ipv4 version is dump 17", "dump 17's
//    metadata", "no API token exists"), valid only until the database changes.
//    Any commit by any connection (this process's Prisma connection, the CLI,
//    another process) clears them: a dedicated read-only SQLite connection
//    polls `PRAGMA data_version` (a sub-microsecond header read), which
//    changes whenever another connection has committed (read once per
//    event-loop turn, and again after any write of this process). On
//    PostgreSQL a dedicated connection LISTENs for the NOTIFY every write
//    transaction of every replica sends, with a barrier before each turn's
//    reads so a write that returned on another replica is never missed
//    (pg-change-watch.ts).
//  - the *built host files* of dump versions, keyed by dump id and upload
//    count (a version's host file only changes when it absorbs an upload,
//    which increments `uploads`; ids are never reused), in a small LRU.
//
// While one of this process's write transactions is open, a read on the same
// (single) SQLite connection sees its uncommitted rows, which a rollback
// would undo without any commit to notice: nothing read while a write
// transaction was open or began is kept (`writes`, db.ts writeActivityOf).
//
// The parsed rulesets themselves live in the RulesetCache (keyed by blob
// sha256, immutable content).
import BetterSqlite3 from 'better-sqlite3';
import { databaseFilePath, type Provider, type WriteActivity } from './db.ts';
import { postgresChangeWatch } from './pg-change-watch.ts';
import { LruCache } from './rulesets.ts';

/** Reports a number that changes whenever another connection commits to the database. */
export interface ChangeWatch {
  version(): number;
  /**
   * Resolves once every commit that returned before the call is reflected in
   * `version()` (when noticing a commit is asynchronous); `version()` is then
   * read on every lookup (it is cheap).
   */
  barrier?(): Promise<void>;
  close(): void;
}

/** The `ChangeWatch` for an open database. */
export function changeWatchOf(db: { readonly provider: Provider; readonly url: string }): ChangeWatch {
  return db.provider === 'postgresql' ? postgresChangeWatch(db.url) : sqliteChangeWatch(db.url);
}

/** A `ChangeWatch` on the SQLite file of a `file:` URL (its own read-only connection). */
export function sqliteChangeWatch(url: string): ChangeWatch {
  const conn = new BetterSqlite3(databaseFilePath(url), { readonly: true, fileMustExist: true });
  const stmt = conn.prepare('PRAGMA data_version').pluck();
  return {
    version: () => stmt.get() as number,
    close: () => conn.close(),
  };
}

/** Volatile entries kept at most (cleared on every database change anyway). */
const VOLATILE_MAX = 4096;

export interface ReadCacheOptions {
  /** The write transactions of the client reads go through (db.ts `writeActivityOf`). */
  readonly writes?: WriteActivity | undefined;
  /** Built host files kept (default 1024). */
  readonly hostCacheSize?: number | undefined;
}

export class ReadCache<Host = unknown> {
  readonly #watch: ChangeWatch | null;
  readonly #writes: WriteActivity | undefined;
  #version = Number.NaN;
  readonly #volatile = new LruCache<string, unknown>(VOLATILE_MAX);
  /** Built host files by `${dumpId}:${uploads}` (null: the version has none). */
  readonly hosts: LruCache<string, Host | null>;
  /** How many times the volatile entries were dropped because the database changed. */
  invalidations = 0;

  /** `watch` null: no volatile caching (every volatile lookup loads). */
  constructor(watch: ChangeWatch | null, options: ReadCacheOptions = {}) {
    this.#watch = watch;
    this.#writes = options.writes;
    this.hosts = new LruCache<string, Host | null>(options.hostCacheSize ?? 1024);
  }

  /**
   * Runs `load` and says whether its answer may be kept: no write
   * transaction of this process was open while it ran (its rows could be
   * uncommitted ones).
   */
  async guarded<T>(load: () => Promise<T>): Promise<{ value: T; cacheable: boolean }> {
    const w = this.#writes;
    if (w && w.open > 0) return { value: await load(), cacheable: false };
    const begun = w?.begun ?? 0;
    const value = await load();
    return { value, cacheable: !w || (w.open === 0 && w.begun === begun) };
  }

  /** The version was read in this event-loop turn (and this process has not written since). */
  #checked = false;
  #checkedOpen = 0;
  #checkedBegun = 0;

  /**
   * Drops the volatile entries when the database changed since they were
   * loaded; returns the current version. The version is read once per
   * event-loop turn (a read takes SQLite's shared-memory locks: ~10 µs under
   * load, three lookups a trace), and again at once after any write
   * transaction of this process: its own commits are seen immediately,
   * another process's from the next turn on.
   */
  sync(): number {
    if (!this.#watch) return Number.NaN;
    const w = this.#writes;
    if (this.#checked && !this.#watch.barrier && (!w || (w.open === this.#checkedOpen && w.begun === this.#checkedBegun))) return this.#version;
    const v = this.#watch.version();
    if (v !== this.#version) {
      if (this.#volatile.size) this.invalidations++;
      this.#volatile.clear();
      this.#version = v;
    }
    if (!this.#checked) {
      this.#checked = true;
      setImmediate(() => {
        this.#checked = false;
      }).unref();
    }
    this.#checkedOpen = w?.open ?? 0;
    this.#checkedBegun = w?.begun ?? 0;
    return v;
  }

  /**
   * A volatile answer: from the cache while the database has not changed,
   * else `load()`ed and kept. The version is read *before* loading, and the
   * result kept only if no change was seen meanwhile, so a stale answer is
   * never cached past a commit. `keep(value)` false: do not cache it.
   */
  async volatile<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
    if (!this.#watch) return load();
    if (this.#watch.barrier) await this.#watch.barrier();
    const v = this.sync();
    const hit = this.#volatile.get(key);
    if (hit !== undefined) return hit as T;
    const { value, cacheable } = await this.guarded(load);
    if (cacheable && keep(value) && value !== undefined && this.sync() === v) this.#volatile.set(key, value);
    return value;
  }

  /** Volatile entries held now (after dropping stale ones). */
  get volatileSize(): number {
    this.sync();
    return this.#volatile.size;
  }

  get volatileStats(): { hits: number; misses: number } {
    return { hits: this.#volatile.hits, misses: this.#volatile.misses };
  }

  close(): void {
    this.#watch?.close();
  }
}
