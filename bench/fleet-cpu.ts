// CPU per delta upload of a fleet's node whose base is not in the server's
// memory, in-process (process.cpuUsage: every thread, GC and zlib included):
// a server (buildApp) on a database seeded as bench/fleet.ts seeds it takes
// the nodes' deltas one after another, as a replica that did not store their
// bases does. `npx tsx bench/fleet-cpu.ts` (FLEET_CPU_NODES, FLEET_CPU_SERVICES);
// run on two commits to compare the code before and after.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/http/app.ts';
import { DEFAULT_CONFIG } from '../src/http/config.ts';
import { latestDump, openDatabase } from '../src/store/index.ts';
import { seedFleet } from './fleet-seed.ts';

const nodes = Number(process.env['FLEET_CPU_NODES'] ?? 8);
const services = Number(process.env['FLEET_CPU_SERVICES'] ?? 10000);
const dir = mkdtempSync(join(tmpdir(), 'packetpath-fleet-cpu-'));
try {
  const sqliteFile = join(dir, 'seed.db');
  const s = await seedFleet({ agents: nodes, services, sqliteFile, checkFile: join(dir, 'check.db') });
  const databaseUrl = `file:${sqliteFile}`;
  const db = await openDatabase(databaseUrl);
  const app = await buildApp({ config: { ...DEFAULT_CONFIG, databaseUrl, logLevel: 'silent' }, db, logger: false });
  // FLEET_CPU_PROFILE=file.cpuprofile: a CPU profile of the uploads after the first.
  const profileFile = process.env['FLEET_CPU_PROFILE'];
  const session = profileFile ? new Session() : undefined;
  session?.connect();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < nodes; i++) {
    if (i === 1 && session) {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await app.inject({ method: 'POST', url: `/api/v1/nodes/node-${i}/dumps`, payload: s.bodies[i] as object });
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (res.statusCode !== 201) throw new Error(`node-${i}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    if ((await latestDump(db.prisma, `node-${i}`, 'ipv4'))?.originalSha256 !== s.expectedSha(i)) throw new Error(`node-${i}: the latest upload is not the agent's text`);
  }
  if (session) writeFileSync(profileFile!, JSON.stringify((await session.post('Profiler.stop')).profile));
  const splices = (app.rulesetCache as { splices?: { stats: { spliced: number; fallbacks: number; lastFallback: string | null } } }).splices?.stats;
  const rest = cpu.slice(1).sort((a, b) => a - b);
  const ms = (x: number): string => `${Math.round(x)} ms`;
  console.log(
    `${nodes} nodes × ${services} Services, base not in memory: first upload CPU ${ms(cpu[0]!)} (wall ${ms(wall[0]!)}); the others CPU median ${ms(rest[Math.floor(rest.length / 2)]!)}, mean ${ms(rest.reduce((a, b) => a + b, 0) / rest.length)} (wall median ${ms(wall.slice(1).sort((a, b) => a - b)[Math.floor(rest.length / 2)]!)}); spliced ${splices?.spliced ?? '?'}, not spliced ${splices?.fallbacks ?? '?'}${splices?.lastFallback ? ` (last: ${splices.lastFallback})` : ''}`,
  );
  await app.close();
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
