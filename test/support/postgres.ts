// A throwaway PostgreSQL cluster for tests: initdb + pg_ctl from the Debian
// package (PATH, else /usr/lib/postgresql/<version>/bin) on a temp directory,
// listening only on a unix socket there (any port number: the socket's name
// is private to the directory). PostgreSQL refuses to run as root, so as root
// the binaries run as `nobody` (runuser). One cluster per test process,
// started on first use, stopped when the process exits; every caller gets a
// database of its own.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import pg from 'pg';

export type Backend = 'sqlite' | 'postgresql';

function findBinDir(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

const BIN_DIR = findBinDir();
const AS_ROOT = process.getuid?.() === 0;
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p));

/** Why PostgreSQL tests cannot run here (undefined: they can). */
export const POSTGRES_MISSING: string | undefined = !BIN_DIR
  ? 'PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: install the postgresql package (apt-get install postgresql)'
  : AS_ROOT && !RUNUSER
    ? 'running as root without runuser: PostgreSQL cannot be started as root'
    : undefined;

let warned = false;
/** Loud: a skipped PostgreSQL test is a gap in coverage. */
export function warnPostgresMissing(): void {
  if (warned || !POSTGRES_MISSING) return;
  warned = true;
  console.warn(`\n*** WARNING: PostgreSQL tests SKIPPED: ${POSTGRES_MISSING} ***\n`);
}

export interface PostgresCluster {
  /** The socket directory (also the cluster's parent directory). */
  readonly dir: string;
  readonly port: number;
  /** A URL for database `name` (over the socket, as the postgres superuser). */
  url(name: string): string;
  /** Creates a fresh, empty database; returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (an outage), keeping its data. */
  stop(): void;
  /** Starts it again after stop(). */
  start(): void;
}

let cluster: PostgresCluster | undefined;
let created = 0;

function run(cmd: string, args: readonly string[]): string {
  const full = join(BIN_DIR!, cmd);
  const [file, argv] = AS_ROOT ? [RUNUSER!, ['-u', 'nobody', '--', full, ...args]] : [full, [...args]];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The process's cluster, started on first call. Throws when POSTGRES_MISSING. */
export function postgresCluster(): PostgresCluster {
  if (cluster) return cluster;
  if (POSTGRES_MISSING) throw new Error(POSTGRES_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-pg-'));
  if (AS_ROOT) chownSync(dir, Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim()));
  const data = join(dir, 'data');
  const port = 20000 + Math.floor(Math.random() * 40000);
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const options = `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = (): void => {
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  };
  try {
    start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  process.once('exit', () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = (name: string): string => `postgresql://postgres@localhost:${port}/${name}?host=${encodeURIComponent(dir)}`;
  cluster = {
    dir,
    port,
    url,
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${process.pid}_${++created}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    start,
  };
  return cluster;
}

/** The backends to run a suite on: both, PostgreSQL skipped loudly when it cannot run. */
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgresql'];

/**
 * `describe(name, fn)` once per backend (`name (postgresql)`), fn getting the
 * backend to pass on (startApi's `backend`); the PostgreSQL run is a skip with
 * the reason, and a console warning, when PostgreSQL cannot run here.
 */
export function describeEachBackend(name: string, fn: (backend: Backend) => void): void {
  for (const backend of BACKENDS) {
    if (backend === 'postgresql' && POSTGRES_MISSING) {
      warnPostgresMissing();
      describe(`${name} (postgresql)`, { skip: `PostgreSQL unavailable: ${POSTGRES_MISSING}` }, () => {});
      continue;
    }
    describe(backend === 'sqlite' ? name : `${name} (postgresql)`, () => fn(backend));
  }
}
