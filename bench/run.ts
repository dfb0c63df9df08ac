// `npm run bench`: generates kube-proxy dumps and prints one table of figures.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { generateKubeDump, type KubeDump } from '../scripts/kube-dump.ts';
import { buildHost, diffRulesets, parseDump, renderRuleset, rulesetStats, tracePacket, validatePacket, type PacketInput } from '../src/netfilter/index.ts';

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

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
}

function best<T>(n: number, f: () => T): [T, number] {
  let out: T | undefined;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const [r, ms] = time(f);
    out = r;
    min = Math.min(min, ms);
  }
  return [out!, min];
}

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

function tracePackets(g: KubeDump): PacketInput[] {
  const node = g.host.interfaces.find((i) => i.name === 'eth0')!.addresses[0]!.split('/')[0]!;
  const withEp = g.services.filter((s) => s.endpoints.length > 0);
  const nodePorts = withEp.filter((s) => s.nodePort !== undefined);
  const out: PacketInput[] = [];
  for (let i = 0; i < 200; i++) {
    const s = withEp[(i * 7919) % withEp.length]!;
    const np = nodePorts[(i * 104729) % nodePorts.length]!;
    switch (i % 4) {
      case 0:
        out.push({ src: '10.244.0.77', dst: s.clusterIP, protocol: s.protocol, sport: 40000, dport: s.port, inInterface: 'cni0' });
        break;
      case 1:
        out.push({ src: '203.0.113.50', dst: node, protocol: np.protocol, sport: 40000, dport: np.nodePort!, inInterface: 'eth0' });
        break;
      case 2:
        out.push({ src: '10.244.0.77', dst: '10.96.0.250', protocol: 'tcp', sport: 40000, dport: 9, inInterface: 'cni0' });
        break;
      default:
        out.push({ src: '10.244.0.77', dst: '198.51.100.7', protocol: 'tcp', sport: 40000, dport: 443, inInterface: 'cni0' });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '1000,10000,20000').split(',').map(Number);
  const traceLatency = new Map<number, number>();
  const dumps = new Map<number, KubeDump>();
  for (const n of sizes) {
    process.stderr.write(`generating ${n} services...\n`);
    const g = generateKubeDump({ services: n, seed: 1 });
    dumps.set(n, g);
    const mb = Buffer.byteLength(g.text) / 1e6;
    const [parsed, parseMs] = best(3, () => parseDump(g.text));
    const stats = rulesetStats(parsed.ruleset);
    add(`${n} services`, 'dump size', `${mb.toFixed(1)} MB, ${g.text.split('\n').length} lines, ${stats.rules} rules`);
    add(`${n} services`, 'parse', `${parseMs.toFixed(0)} ms = ${(mb / (parseMs / 1000)).toFixed(1)} MB/s, ${Math.round(stats.rules / (parseMs / 1000))} rules/s`);
    const restore = restoreTestMs(g.text);
    if (restore !== undefined) {
      add(`${n} services`, 'iptables-restore --test', `${restore.toFixed(0)} ms; packetpath parse is ${(restore / parseMs).toFixed(2)}× its speed`, '≥ 10×');
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
    add(`${n} services`, 'trace latency (ClusterIP, NodePort, no-match, external mix)', `p50 ${pct(lat, 50).toFixed(0)} µs, p99 ${pct(lat, 99).toFixed(0)} µs`, n === 10000 ? 'p50 ≤ 100 µs' : undefined);
  }
  if (traceLatency.has(1000) && traceLatency.has(10000)) {
    add('scaling', 'trace p50 10k / 1k', `${(traceLatency.get(10000)! / traceLatency.get(1000)!).toFixed(2)}×`, '≤ 2×');
  }
  if (dumps.has(10000)) {
    const a = dumps.get(10000)!;
    const changed = churnEndpoints(a.text, 0.01);
    const left = parseDump(a.text).ruleset;
    const right = parseDump(changed).ruleset;
    const [d, ms] = best(3, () => diffRulesets(left, right));
    add('diff', 'two 10k-service dumps, 1% of endpoints changed', `${ms.toFixed(0)} ms (${d.summary.rulesAdded} added, ${d.summary.rulesRemoved} removed)`, '< 1 s');
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`;
  const w = [28, 60, 70];
  const line = (a: string, b: string, c: string, d = ''): string => `| ${a.padEnd(w[0]!)} | ${b.padEnd(w[1]!)} | ${c.padEnd(w[2]!)} | ${d} |`;
  console.log(`packetpath benchmark — ${new Date().toISOString()}\nmachine: ${machine}\n`);
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
