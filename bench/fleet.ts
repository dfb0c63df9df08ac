// Fleet simulation (ISSUE-15): every node of a cluster re-uploads after one
// Service change, as the agent does (a delta of its last upload, gzip JSON,
// through the agent's own client; a 409 stale base is followed by the whole
// text, counted apart), against one server on SQLite, one replica on
// PostgreSQL and three replicas on one PostgreSQL. The servers run as
// `npm start` runs them, on a copy of one seeded database per backend.
//
// Seeding (not timed, reported; bench/fleet-seed.ts): node i's previous
// collection is node 0's dump (the generator's, with counters) with every
// non-zero counter moved by a per-node amount, so every node has its own
// uploaded text and counters blob while the nodes share one canonical
// ruleset. Node 0 is uploaded with uploadDumps; node i's texts, stored blobs
// and agent's delta are derived from node 0's, and checked against the
// obvious way (prepareDump, uploadDumps, makeLineScript) for two nodes. One
// SQLite file and one PostgreSQL database are seeded and copied for the
// targets (file copy, CREATE DATABASE … TEMPLATE).
//
// Timed: all agents upload, at most `concurrency` at once, round-robin over
// the replicas. Figures: wall time, uploads/s, per-upload p50/p99 (first try
// → answer, 503 retries included), CPU seconds of the server processes and
// of PostgreSQL (from /proc) per upload, load average during the run, the
// servers' peak RSS; and, in-process, what reading one node's delta base from
// the store costs (getDumpText against delta-base.ts's shared whole lines).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { ApiError, createClient, parseServer } from '../src/agent/client.ts';
import type { DeltaUploadBody, UploadBody } from '../src/agent/snapshot.ts';
import { createDeltaBaseCache } from '../src/store/delta-cache.ts';
import { uploadedLines } from '../src/store/delta-base.ts';
import { getBlobText, latestDump, openDatabase } from '../src/store/index.ts';
import { seedFleet, type FleetSeed } from './fleet-seed.ts';
import { POSTGRES_MISSING, postgresCluster } from '../test/support/postgres.ts';
import { fmt, type AddRow } from './common.ts';
import { freePort } from '../test/support/ports.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLK_TCK = 100;

export interface FleetOptions {
  readonly agents: number;
  readonly services: number;
  readonly concurrency: number;
}

interface Replica {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startReplica(databaseUrl: string): Promise<Replica> {
  const port = await freePort();
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const child = spawn('sh', ['-c', start], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env['PATH'] ?? ''}`, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

async function stop(r: Replica): Promise<void> {
  if (r.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    r.child.once('exit', () => resolve());
    r.child.kill('SIGTERM');
  });
}

// ---- /proc: CPU seconds of process trees, peak RSS, load ----

function procTable(): Map<number, { ppid: number; ticks: number; childTicks: number }> {
  const out = new Map<number, { ppid: number; ticks: number; childTicks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields after the name: state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based from pid.
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU seconds of the processes under `roots` (themselves included) and of their reaped children. */
function treeCpuSeconds(roots: readonly number[]): number {
  const table = procTable();
  const inTree = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of table) if (!inTree.has(pid) && inTree.has(p.ppid)) (inTree.add(pid), (grew = true));
  }
  let ticks = 0;
  for (const pid of inTree) {
    const p = table.get(pid);
    if (p) ticks += p.ticks + p.childTicks;
  }
  return ticks / CLK_TCK;
}

/** Peak RSS (VmHWM) of the processes under `root`, MiB: the largest one (the server's node process). */
function peakRssMiB(root: number): number {
  const table = procTable();
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of table) if (!tree.has(pid) && tree.has(p.ppid)) (tree.add(pid), (grew = true));
  }
  let peak = 0;
  for (const pid of tree) {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    } catch {
      // exited
    }
  }
  return peak;
}

function postmasterPid(): number | undefined {
  const file = join(postgresCluster().dir, 'data', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

const pct = (xs: readonly number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** What one node's delta base costs read from the store, in-process: the whole text (getDumpText's way) against delta-base.ts. */
async function baseReadCost(databaseUrl: string, o: FleetOptions, add: AddRow, section: string): Promise<void> {
  const db = await openDatabase(databaseUrl);
  try {
    const whole: number[] = [];
    const shared: number[] = [];
    const cache = createDeltaBaseCache();
    for (let k = 0; k < Math.min(12, o.agents); k++) {
      const node = `node-${Math.floor((k * o.agents) / 12)}`;
      const sha = (await latestDump(db.prisma, node, 'ipv4'))!.originalSha256;
      let t = performance.now();
      const a = (await getBlobText(db.prisma, sha))!.split('\n');
      whole.push(performance.now() - t);
      t = performance.now();
      const b = await uploadedLines(db.prisma, sha, cache);
      if (k > 0) shared.push(performance.now() - t);
      if (!isDeepStrictEqual(a, b)) throw new Error(`fleet: ${node}'s base read two ways differs`);
    }
    add(section, `a node's delta base read from the store (${db.provider}, in-process, median of ${whole.length})`, `whole text (getDumpText + split): ${fmt(median(whole))} ms; over the shared whole lines (delta-base.ts, after the first): ${fmt(median(shared))} ms`);
  } finally {
    await db.close();
  }
}

/** A copy of the seeded PostgreSQL database. */
async function copyPg(seedUrl: string, name: string): Promise<string> {
  const cluster = postgresCluster();
  const client = new pg.Client({ connectionString: cluster.url('postgres') });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${new URL(seedUrl).pathname.slice(1)}"`);
  } finally {
    await client.end();
  }
  return cluster.url(name);
}

interface FleetRun {
  wallMs: number;
  latencies: number[];
  failures: string[];
  retries: number;
  fallbacks: number;
  serverCpu: number;
  pgCpu: number | undefined;
  load: number[];
  peakRss: number[];
}

/** One target: start the replicas, time the fleet's re-uploads. */
async function runFleet(databaseUrl: string, replicas: number, s: FleetSeed, o: FleetOptions, postgres: boolean): Promise<FleetRun> {
  const servers: Replica[] = [];
  try {
    for (let i = 0; i < replicas; i++) servers.push(await startReplica(databaseUrl));
    const clients = servers.map((r) => createClient({ server: parseServer(r.url), token: () => '', timeoutMs: 600_000, userAgent: 'packetpath-fleet-bench' }));
    const latencies: number[] = [];
    const failures: string[] = [];
    let retries = 0;
    let fallbacks = 0;
    let next = 0;
    const pgPid = postgres ? postmasterPid() : undefined;
    const serverPids = servers.map((r) => r.child.pid!);
    const cpu0 = treeCpuSeconds(serverPids);
    const pg0 = pgPid !== undefined ? treeCpuSeconds([pgPid]) : 0;
    const load: number[] = [loadavg()[0]!];
    const sampler = setInterval(() => load.push(loadavg()[0]!), 5000);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(o.concurrency, o.agents) }, async () => {
        for (let i = next++; i < o.agents; i = next++) {
          const client = clients[i % clients.length]!;
          const node = `node-${i}`;
          const t = performance.now();
          // As the agent: a delta; refused (409 and the like) → the whole text; a 503 is retried after Retry-After.
          let body: DeltaUploadBody | UploadBody = s.bodies[i]!;
          for (let attempt = 1; ; attempt++) {
            try {
              const res = await client.upload(node, body);
              if (res.sha256 === undefined) failures.push(`${node}: no sha256`);
              break;
            } catch (err) {
              if (err instanceof ApiError && err.kind === 'rejected' && 'delta' in body) {
                fallbacks++;
                body = s.wholeBody(i);
                continue;
              }
              if (err instanceof ApiError && err.kind === 'retryable' && attempt < 50) {
                retries++;
                await new Promise((r) => setTimeout(r, (err.retryAfterMs ?? 1000) * (0.5 + Math.random() / 2)));
                continue;
              }
              failures.push(`${node}: ${(err as Error).message.slice(0, 120)}`);
              break;
            }
          }
          latencies.push(performance.now() - t);
          if (latencies.length % 100 === 0) process.stderr.write(`    ${latencies.length} uploads, ${((performance.now() - started) / 1000).toFixed(0)} s (${new Date().toISOString()})\n`);
        }
      }),
    );
    const wallMs = performance.now() - started;
    clearInterval(sampler);
    load.push(loadavg()[0]!);
    const serverCpu = treeCpuSeconds(serverPids) - cpu0;
    const pgCpu = pgPid !== undefined ? treeCpuSeconds([pgPid]) - pg0 : undefined;
    const peakRss = serverPids.map(peakRssMiB);
    // Spot checks: the nodes' latest uploads are the texts the agents made.
    for (const i of [0, Math.floor(o.agents / 2), o.agents - 1]) {
      const res = await fetch(`${servers[0]!.url}/api/v1/nodes/node-${i}/dumps/latest`);
      const latest = (await res.json()) as { originalSha256?: string };
      if (latest.originalSha256 !== s.expectedSha(i)) failures.push(`node-${i}: latest upload is ${latest.originalSha256}, not the agent's text`);
    }
    return { wallMs, latencies: latencies.sort((a, b) => a - b), failures, retries, fallbacks, serverCpu, pgCpu, load, peakRss };
  } finally {
    await Promise.all(servers.map(stop));
  }
}

export async function fleetBench(add: AddRow, o: FleetOptions): Promise<void> {
  const section = `fleet (${fmt(o.agents)} agents, ${fmt(o.services)} Services)`;
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-fleet-'));
  try {
    process.stderr.write('  seeding...\n');
    const sqliteFile = join(dir, 'seed.db');
    const s = await seedFleet({
      agents: o.agents,
      services: o.services,
      sqliteFile,
      ...(POSTGRES_MISSING ? {} : { pgSeed: await postgresCluster().createDatabase('fleet_seed') }),
      checkFile: join(dir, 'check.db'),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    add(
      section,
      'seeding (not timed below)',
      `${fmt(s.seedSeconds, 1)} s for ${fmt(o.agents)} nodes on ${s.pgSeed ? 'SQLite and PostgreSQL' : 'SQLite'} (bench/fleet-seed.ts: derived from node 0's upload, checked against real uploads); text ${fmt(s.textBytes)} B per node, delta body ${fmt(s.deltaBytes / o.agents)} B per agent before gzip`,
    );
    for (const url of [`file:${sqliteFile}`, ...(s.pgSeed ? [s.pgSeed] : [])]) await baseReadCost(url, o, add, section);
    // BENCH_FLEET_START_AT (a time, e.g. 2026-12-06T03:10:00Z): the timed part waits for it (seeding on a busy machine ahead of a quieter hour).
    const startAt = Date.parse(process.env['BENCH_FLEET_START_AT'] ?? '');
    if (startAt > Date.now()) {
      process.stderr.write(`  waiting until ${new Date(startAt).toISOString()}...\n`);
      await new Promise((r) => setTimeout(r, startAt - Date.now()));
    }
    const targets: { name: string; replicas: number; url: () => Promise<string>; postgres: boolean }[] = [];
    targets.push({
      name: 'SQLite, 1 server',
      replicas: 1,
      postgres: false,
      url: async () => {
        const file = join(dir, `run-${Date.now()}.db`);
        copyFileSync(s.sqliteFile, file);
        return `file:${file}`;
      },
    });
    if (!s.pgSeed) add(section, 'PostgreSQL', `skipped: ${POSTGRES_MISSING}`);
    else {
      const seedUrl = s.pgSeed;
      targets.push({ name: 'PostgreSQL, 1 replica', replicas: 1, postgres: true, url: () => copyPg(seedUrl, `fleet1_${Date.now()}`) });
      targets.push({ name: 'PostgreSQL, 3 replicas', replicas: 3, postgres: true, url: () => copyPg(seedUrl, `fleet3_${Date.now()}`) });
    }
    const only = process.env['BENCH_FLEET_TARGETS']?.split(',').map((x) => x.trim());
    for (const t of targets) {
      if (only && !only.some((x) => t.name.toLowerCase().startsWith(x.toLowerCase()))) continue;
      process.stderr.write(`  ${t.name}... (${new Date().toISOString()}, load ${loadavg()[0]!.toFixed(1)})\n`);
      const r = await runFleet(await t.url(), t.replicas, s, o, t.postgres);
      const per = (x: number): string => `${fmt((x * 1000) / o.agents)} ms`;
      add(
        section,
        t.name,
        `${(r.wallMs / 1000).toFixed(1)} s total, ${fmt(o.agents / (r.wallMs / 1000), 1)} uploads/s, p50 ${fmt(pct(r.latencies, 50))} ms, p99 ${fmt(pct(r.latencies, 99))} ms; CPU per upload: servers ${per(r.serverCpu)}${r.pgCpu !== undefined ? `, PostgreSQL ${per(r.pgCpu)}` : ''} (${fmt(r.serverCpu + (r.pgCpu ?? 0), 1)} CPU s in ${(r.wallMs / 1000).toFixed(1)} s = ${((r.serverCpu + (r.pgCpu ?? 0)) / (r.wallMs / 1000)).toFixed(2)} cores); load average ${fmt(Math.min(...r.load), 1)}–${fmt(Math.max(...r.load), 1)}; peak RSS ${r.peakRss.map((x) => `${fmt(x)} MiB`).join(', ')}; ${r.fallbacks} whole-text fallbacks after a refused delta, ${r.retries} retries after 503${r.failures.length ? `; FAILED ${r.failures.length}: ${r.failures.slice(0, 3).join(' | ')}` : ''}`,
      );
      if (r.failures.length) process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
