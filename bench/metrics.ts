// Metrics section of `npm run bench`: GET /metrics of a fleet of 1,000 nodes
// (100 Services each, distinct rulesets) and one 10k-Service node. The cold
// scrape answers at once and queues every node's findings; they are computed in
// the background (analysis worker), reported at later scrapes. Measured: the
// scrapes, how long the background takes for the whole fleet, and the
// event loop's worst delay meanwhile (nothing heavy may run on it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateKubeDump } from '../scripts/kube-dump.ts';
import { buildApp } from '../src/http/app.ts';
import { DEFAULT_CONFIG } from '../src/http/config.ts';
import { openDatabase, prepareDump, uploadDumps } from '../src/store/index.ts';
import { fmt, type AddRow } from './common.ts';

const SECTION = 'metrics (1,000 nodes + one of 10k Services)';

export async function metricsBench(add: AddRow, options: { nodes: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-bench-metrics-'));
  const config = { ...DEFAULT_CONFIG, databaseUrl: `file:${join(dir, 'metrics.db')}`, logLevel: 'silent' as const };
  const db = await openDatabase(config.databaseUrl, { busyTimeoutMs: config.busyTimeoutMs, poolSize: config.dbPoolSize });
  try {
    const t0 = performance.now();
    for (let i = 0; i < options.nodes; i++) {
      const g = generateKubeDump({ services: 100, seed: i + 1 });
      await uploadDumps(db.prisma, { node: `node-${i}`, dumps: [prepareDump(g.text)], hostJson: JSON.stringify(g.host) });
    }
    const big = generateKubeDump({ services: 10000, seed: 7 });
    await uploadDumps(db.prisma, { node: 'big-10k', dumps: [prepareDump(big.text)], hostJson: JSON.stringify(big.host) });
    add(SECTION, 'seeding (store functions, not measured below)', `${fmt((performance.now() - t0) / 1000, 1)} s`);

    const app = await buildApp({ config, db, logger: false });
    await app.ready();
    try {
      const scrape = async (): Promise<{ ms: number; text: string }> => {
        const s = performance.now();
        const res = await app.inject({ method: 'GET', url: '/metrics' });
        if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
        return { ms: performance.now() - s, text: res.body };
      };
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const cold = await scrape();
      add(SECTION, 'cold scrape (queues every node\'s findings)', `${fmt(cold.ms)} ms`);
      const d0 = performance.now();
      await app.metrics.findingsIdle();
      const drained = performance.now() - d0;
      loop.disable();
      add(SECTION, `findings of all ${fmt(options.nodes + 1)} nodes in the background (one at a time, worker)`, `${fmt(drained / 1000, 1)} s`);
      add(SECTION, 'event loop worst delay meanwhile', `${fmt(loop.max / 1e6)} ms`, 'under 100 ms');
      const warm: number[] = [];
      let text = '';
      for (let i = 0; i < 5; i++) {
        const w = await scrape();
        warm.push(w.ms);
        text = w.text;
      }
      const pending = /^packetpath_node_findings_pending (\S+)$/m.exec(text)?.[1];
      add(SECTION, 'warm scrape (median of 5)', `${fmt(warm.sort((a, b) => a - b)[2]!)} ms`);
      add(SECTION, 'answer size / nodes pending after the background run', `${fmt(text.length / 1024)} KiB / ${pending}`);
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
