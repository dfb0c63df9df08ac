// Fleet simulation (ISSUE-15): every node of a cluster re-uploads after one
// Service change, against one server on SQLite, one replica on PostgreSQL and
// three replicas on one PostgreSQL. The servers run as `npm start` runs them
// (the start script); the nodes' previous versions are stored first, through
// the store (not timed); then every agent uploads the changed dump over HTTP,
// at most `concurrency` at once, spread over the replicas. Figures: total wall
// time and per-upload p50/p99 (request sent → answer received).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKubeDump } from '../scripts/kube-dump.ts';
import { openDatabase, prepareDump, uploadDumps } from '../src/store/index.ts';
import { POSTGRES_MISSING, postgresCluster } from '../test/support/postgres.ts';
import { fmt, type AddRow } from './common.ts';
import { freePort } from '../test/support/ports.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

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

/** The dump with one Service's endpoint moved: every occurrence of its first DNAT destination address replaced. */
function oneServiceChanged(text: string): string {
  const ip = /--to-destination (\d+\.\d+\.\d+\.\d+):/.exec(text)?.[1];
  if (!ip) throw new Error('no DNAT rule in the generated dump');
  return text.replace(new RegExp(`\\b${ip.replace(/\./g, '\\.')}(?=[/:])`, 'g'), '198.51.100.77');
}

const pct = (xs: readonly number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** One target: seed every node's previous version, start the replicas, time the fleet's re-uploads. */
async function runFleet(databaseUrl: string, replicas: number, base: string, changed: string, o: FleetOptions): Promise<{ wallMs: number; latencies: number[]; failures: number[]; retries: number }> {
  const db = await openDatabase(databaseUrl);
  try {
    const prepared = prepareDump(base);
    for (let i = 0; i < o.agents; i++) await uploadDumps(db.prisma, { node: `node-${i}`, dumps: [prepared], cluster: 'fleet' });
  } finally {
    await db.close();
  }
  const servers: Replica[] = [];
  try {
    for (let i = 0; i < replicas; i++) servers.push(await startReplica(databaseUrl));
    const latencies: number[] = [];
    const failures: number[] = [];
    let retries = 0;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(o.concurrency, o.agents) }, async () => {
        for (let i = next++; i < o.agents; i = next++) {
          const server = servers[i % servers.length]!;
          // Like the agent: a 503 with Retry-After (the server's parse queue is full) is retried after it; the latency counts from the first try.
          const t = performance.now();
          for (let attempt = 1; ; attempt++) {
            const res = await fetch(`${server.url}/api/v1/nodes/node-${i}/dumps`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: changed });
            await res.arrayBuffer();
            if (res.status === 503 && attempt < 50) {
              retries++;
              await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000 * (0.5 + Math.random() / 2)));
              continue;
            }
            if (res.status !== 201) failures.push(res.status);
            break;
          }
          latencies.push(performance.now() - t);
        }
      }),
    );
    return { wallMs: performance.now() - started, latencies: latencies.sort((a, b) => a - b), failures, retries };
  } finally {
    await Promise.all(servers.map(stop));
  }
}

export async function fleetBench(add: AddRow, o: FleetOptions): Promise<void> {
  const section = `fleet (${fmt(o.agents)} agents, ${fmt(o.services)} Services)`;
  const g = generateKubeDump({ services: o.services, seed: 1 });
  const changed = oneServiceChanged(g.text);
  const targets: { name: string; replicas: number; url: () => Promise<string> }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-fleet-'));
  targets.push({ name: 'SQLite, 1 server', replicas: 1, url: async () => `file:${join(dir, 'fleet.db')}` });
  if (POSTGRES_MISSING) add(section, 'PostgreSQL', `skipped: ${POSTGRES_MISSING}`);
  else {
    targets.push({ name: 'PostgreSQL, 1 replica', replicas: 1, url: () => postgresCluster().createDatabase('fleet1') });
    targets.push({ name: 'PostgreSQL, 3 replicas', replicas: 3, url: () => postgresCluster().createDatabase('fleet3') });
  }
  try {
    for (const t of targets) {
      process.stderr.write(`  ${t.name}...\n`);
      const r = await runFleet(await t.url(), t.replicas, g.text, changed, o);
      add(
        section,
        t.name,
        `${(r.wallMs / 1000).toFixed(1)} s total, ${fmt(o.agents / (r.wallMs / 1000), 1)} uploads/s, p50 ${fmt(pct(r.latencies, 50))} ms, p99 ${fmt(pct(r.latencies, 99))} ms, ${r.retries} retries after 503${r.failures.length ? `, FAILED: ${r.failures.join(' ')}` : ''}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
