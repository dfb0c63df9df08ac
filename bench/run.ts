// `npm run bench`: generates kube-proxy dumps and prints one table of figures.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { generateKubeDump, type KubeDump } from '../scripts/kube-dump.ts';
import { buildHost, diffRulesets, parseDump, renderRuleset, rulesetStats, tracePacket, validatePacket } from '../src/netfilter/index.ts';
import { best, tracePackets, verdict } from './common.ts';
import { httpIngest, httpTraces, serverMemory } from './http.ts';
import { storage } from './storage.ts';
import { heavyRequests } from './heavy.ts';
import { nftBench } from './nft.ts';
import { bigNodes } from './big.ts';
import { fleetBench } from './fleet.ts';
import { deltaBench } from './delta.ts';
import { metricsBench } from './metrics.ts';
import { drawTraceBench } from './draw-trace.ts';
import { chainGraphBench } from './chain-graph.ts';

interface Row {
  section: string;
  figure: string;
  value: string;
  target?: string;
}
const rows: Row[] = [];
const add = (section: string, figure: string, value: string, target?: string): void => {
  rows.push({ section, figure, value, ...(target ? { target } : {}) });
  process.stderr.write(`  ${section}: ${figure} = ${value}\n`);
};

function restoreTestMs(text: string): number | undefined {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const r = spawnSync('unshare', ['--net', '--mount', 'iptables-restore', '--test'], { input: text, maxBuffer: 1 << 26 });
    if (r.status !== 0) return undefined;
    runs.push(performance.now() - t);
  }
  return Math.min(...runs);
}

const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const SECTIONS = ['core', 'http', 'storage', 'memory', 'heavy', 'nft', 'fleet', 'big', 'delta', 'metrics', 'draw-trace', 'graph'] as const;
type Section = (typeof SECTIONS)[number];

/** Runs one section; a failure becomes a row (and a non-zero exit code) instead of losing the table. */
async function section(name: string, f: () => Promise<void>): Promise<void> {
  process.stderr.write(`${name}...\n`);
  try {
    await f();
  } catch (err) {
    process.exitCode = 1;
    add(name, 'FAILED', err instanceof Error ? err.message.split('\n')[0]! : String(err));
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const sizes = (process.env.BENCH_SIZES ?? '1000,10000,20000').split(',').map(Number);
  const sections = new Set((process.env.BENCH_SECTIONS ?? SECTIONS.join(',')).split(',').map((x) => x.trim()) as Section[]);
  const traceLatency = new Map<number, number>();
  const dumps = new Map<number, KubeDump>();
  const parseTimes = new Map<number, number>();
  const restoreTimes = new Map<number, number>();
  const dump = (n: number): KubeDump => {
    let g = dumps.get(n);
    if (!g) {
      process.stderr.write(`generating ${n} services...\n`);
      g = generateKubeDump({ services: n, seed: 1 });
      dumps.set(n, g);
    }
    return g;
  };
  for (const n of sections.has('core') ? sizes : []) {
    const g = dump(n);
    const mb = Buffer.byteLength(g.text) / 1e6;
    const [parsed, parseMs] = best(3, () => parseDump(g.text));
    parseTimes.set(n, parseMs);
    const stats = rulesetStats(parsed.ruleset);
    add(`${n} services`, 'dump size', `${mb.toFixed(1)} MB, ${g.text.split('\n').length} lines, ${stats.rules} rules`);
    add(`${n} services`, 'parse', `${parseMs.toFixed(0)} ms = ${(mb / (parseMs / 1000)).toFixed(1)} MB/s, ${Math.round(stats.rules / (parseMs / 1000))} rules/s`);
    const restore = restoreTestMs(g.text);
    if (restore !== undefined) {
      restoreTimes.set(n, restore);
      add(`${n} services`, 'iptables-restore --test', `${restore.toFixed(0)} ms; packetpath parse is ${(restore / parseMs).toFixed(2)}× its speed`, `≥ 2× (issue 15) — ${verdict(restore / parseMs >= 2)}`);
    } else add(`${n} services`, 'iptables-restore --test', 'not run (no private namespace or iptables here)');
    const [, renderMs] = best(3, () => renderRuleset(parsed.ruleset));
    add(`${n} services`, 'canonical render', `${renderMs.toFixed(0)} ms`);
    const host = buildHost(g.host);
    if (!host.ok) throw new Error(host.errors.join());
    const packets = tracePackets(g).map((p) => {
      const v = validatePacket(p);
      if (!v.ok) throw new Error(v.errors.join());
      return v.packet;
    });
    for (const p of packets.slice(0, 20)) tracePacket(parsed.ruleset, p, { host: host.host }); // warm-up and compile
    const lat: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (const p of packets) {
        const t = performance.now();
        tracePacket(parsed.ruleset, p, { host: host.host });
        lat.push((performance.now() - t) * 1000);
      }
    }
    lat.sort((a, b) => a - b);
    traceLatency.set(n, pct(lat, 50));
    add(`${n} services`, 'trace latency (ClusterIP, NodePort, no-match, external mix)', `p50 ${pct(lat, 50).toFixed(0)} µs, p99 ${pct(lat, 99).toFixed(0)} µs`, n === 10000 ? `p50 ≤ 100 µs — ${verdict(pct(lat, 50) <= 100)}` : undefined);
  }
  if (traceLatency.has(1000) && traceLatency.has(10000)) {
    const r = traceLatency.get(10000)! / traceLatency.get(1000)!;
    add('scaling', 'trace p50 10k / 1k', `${r.toFixed(2)}×`, `≤ 2× — ${verdict(r <= 2)}`);
  }
  if (sections.has('core') && dumps.has(10000)) {
    const a = dumps.get(10000)!;
    const changed = churnEndpoints(a.text, 0.01);
    const left = parseDump(a.text).ruleset;
    const right = parseDump(changed).ruleset;
    const [d, ms] = best(3, () => diffRulesets(left, right));
    add('diff', 'two 10k-service dumps, 1% of endpoints changed', `${ms.toFixed(0)} ms (${d.summary.rulesAdded} added, ${d.summary.rulesRemoved} removed)`, `< 1 s — ${verdict(ms < 1000)}`);
  }
  if (sections.has('http')) {
    await section('HTTP ingest (10k Services)', async () => {
      const g10k = dump(10000);
      const restoreMs = restoreTimes.get(10000) ?? restoreTestMs(g10k.text);
      await httpIngest(add, { g1k: dump(1000), g10k, restoreMs, parseMs: parseTimes.get(10000) });
    });
    await section('HTTP traces (10k Services)', () => httpTraces(add, { g1k: dump(1000), g10k: dump(10000), duration: Number(process.env.BENCH_HTTP_SECONDS ?? 10), connections: 20 }));
  }
  if (sections.has('storage')) {
    await section('storage', () => storage(add, { nodes: Number(process.env.BENCH_STORAGE_NODES ?? 1000), budgetSeconds: Number(process.env.BENCH_STORAGE_SECONDS ?? 300) }));
  }
  if (sections.has('heavy')) {
    await section('heavy requests (1 GiB budget)', () => heavyRequests(add, { g10k: dump(10000), other10k: generateKubeDump({ services: 10000, seed: 2 }) }));
  }
  if (sections.has('nft')) {
    await section('nftables (kube-proxy nftables mode)', () => nftBench(add, sizes.filter((n) => n <= 10000)));
  }
  if (sections.has('fleet')) {
    const fleet = { agents: Number(process.env.BENCH_FLEET_AGENTS ?? 1000), services: Number(process.env.BENCH_FLEET_SERVICES ?? 10000), concurrency: Number(process.env.BENCH_FLEET_CONCURRENCY ?? 16) };
    await section('fleet', () => fleetBench(add, fleet));
  }
  if (sections.has('big')) {
    await section('big nodes (2 GiB budget)', () => bigNodes(add, restoreTestMs, new Set((process.env.BENCH_BIG_NODES ?? 'iptables,nft').split(',').map((x) => x.trim()))));
  }
  if (sections.has('delta')) {
    await section('incremental upload (10k Services)', () => deltaBench(add, { g1k: dump(1000), restoreMs: (text) => restoreTestMs(text) }));
  }
  if (sections.has('metrics')) {
    await section('metrics (1,000 nodes)', () => metricsBench(add, { nodes: Number(process.env.BENCH_METRICS_NODES ?? 1000) }));
  }
  if (sections.has('draw-trace')) {
    await section('drawn trace (10k Services)', () => drawTraceBench(add, dump(10000)));
  }
  if (sections.has('graph')) {
    await section('chain graph (10k Services)', () => chainGraphBench(add, { g10k: dump(10000), churned: churnEndpoints(dump(10000).text, 0.01) }));
  }
  if (sections.has('memory')) {
    await section('server memory (20k Services)', () => serverMemory(add, { g20k: dump(20000) }));
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`;
  const w = [28, 60, 70];
  const line = (a: string, b: string, c: string, d = ''): string => `| ${a.padEnd(w[0]!)} | ${b.padEnd(w[1]!)} | ${c.padEnd(w[2]!)} | ${d} |`;
  console.log(`packetpath benchmark — ${new Date().toISOString()}\nmachine: ${machine}\nbench wall time: ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  console.log(line('section', 'figure', 'value', 'target'));
  console.log(line('-'.repeat(w[0]!), '-'.repeat(w[1]!), '-'.repeat(w[2]!), '------'));
  for (const r of rows) console.log(line(r.section, r.figure, r.value, r.target ?? ''));
}

/** Changes the DNAT target port of about `fraction` of the endpoints. */
function churnEndpoints(text: string, fraction: number): string {
  let i = 0;
  const every = Math.round(1 / fraction);
  return text.replace(/-j DNAT --to-destination (\S+):(\d+)/g, (m, ip: string, port: string) => (++i % every === 0 ? `-j DNAT --to-destination ${ip}:${Number(port) + 1}` : m));
}

await main();
