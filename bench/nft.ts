// nftables figures: parsing `nft -j list ruleset` of a kube-proxy nftables-mode
// node (10k Services, 50k endpoints) against `nft -c -f` of the same ruleset,
// and one trace through it at 1k and 10k Services.
import { spawnSync } from 'node:child_process';
import { generateKubeNft, type KubeNft } from '../scripts/kube-nft.ts';
import { expectStatus, startServer } from './server-process.ts';
import { buildHost, parseDump, parseNftJson, tracePacket, validatePacket, type Ruleset } from '../src/netfilter/index.ts';
import { verdict } from './common.ts';

type Add = (section: string, figure: string, value: string, target?: string) => void;

/** Traces run before timing, and traces timed, per size. */
const WARM_UP = 1000;
const TIMED = 1000;

function nftCheckMs(text: string): number | undefined {
  const t = performance.now();
  const r = spawnSync('unshare', ['--net', '--mount', '--', 'nft', '-c', '-f', '-'], { input: text, maxBuffer: 1 << 28 });
  return r.status === 0 ? performance.now() - t : undefined;
}

/**
 * The server's side: `nft -j list ruleset` of the node uploaded (parsed and stored in a worker),
 * then the first trace through it (a cold parse of the stored canonical text, in slices), on a
 * fresh server process running the shipped build; /healthz polled meanwhile.
 */
async function uploadToQueryable(add: Add, section: string, g: KubeNft, check: number | undefined): Promise<void> {
  const s = await startServer();
  try {
    const polls: number[] = [];
    let done = false;
    const t = performance.now();
    const work = (async () => {
      const up = await expectStatus('nft upload', [201], `${s.url}/api/v1/nodes/kp10k/dumps`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: g.json });
      const packet = { src: '192.0.2.10', dst: g.probe.ip, protocol: 'tcp', sport: 40000, dport: g.probe.port, inInterface: 'eth0' };
      const first = await expectStatus('first trace', [200], `${s.url}/api/v1/trace`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ node: 'kp10k', packet }) });
      return { upload: up.ms, first: first.ms };
    })().finally(() => {
      done = true;
    });
    while (!done) polls.push((await expectStatus('healthz', [200], `${s.url}/healthz`, {})).ms);
    const { upload, first } = await work;
    const total = performance.now() - t;
    polls.sort((a, b) => a - b);
    const p99 = polls[Math.min(polls.length - 1, Math.floor(polls.length * 0.99))] ?? 0;
    const mem = await s.memory();
    add(
      section,
      'upload → queryable over HTTP (nft -j JSON, then the first trace)',
      `${total.toFixed(0)} ms (upload ${upload.toFixed(0)} ms, first trace ${first.toFixed(0)} ms)${check !== undefined ? `; nft -c -f: ${check.toFixed(0)} ms` : ''}; /healthz p99 ${p99.toFixed(1)} ms, max ${(polls.at(-1) ?? 0).toFixed(1)} ms; server peak RSS ${(mem.vmHwm / 2 ** 20).toFixed(0)} MiB`,
      check !== undefined ? `side by side with nft -c -f (no goal set)` : undefined,
    );
  } finally {
    await s.stop();
  }
}

export async function nftBench(add: Add, sizes: readonly number[]): Promise<void> {
  const p50 = new Map<number, number>();
  const none: Ruleset = { ...parseDump('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n').ruleset, tables: [] };
  const host = buildHost({ interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'cni0', addresses: ['10.244.0.1/16'] }], routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }], forwarding: true });
  if (!host.ok) throw new Error(host.errors.join());
  for (const n of sizes) {
    const g = generateKubeNft({ services: n, endpoints: 5 });
    const section = `nft ${n} services`;
    let parsed = parseNftJson(g.json);
    let parseMs = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      parsed = parseNftJson(g.json);
      parseMs = Math.min(parseMs, performance.now() - t);
    }
    const rules = parsed.ruleset.tables.reduce((a, t) => a + t.chains.reduce((b, c) => b + c.rules.length, 0), 0);
    add(section, 'nft -j parse', `${parseMs.toFixed(0)} ms for ${(g.json.length / 1e6).toFixed(1)} MB, ${rules} rules`);
    const check = n >= 10000 ? nftCheckMs(g.text) : undefined;
    if (check !== undefined) add(section, 'nft -c -f of the same ruleset', `${check.toFixed(0)} ms; packetpath's parse is ${(check / parseMs).toFixed(1)}× its speed`, `faster than nft — ${verdict(check > parseMs)}`);
    if (n >= 10000) await uploadToQueryable(add, section, g, check);
    const v = validatePacket({ src: '192.0.2.10', dst: g.probe.ip, protocol: 'tcp', sport: 40000, dport: g.probe.port, inInterface: 'eth0' });
    if (!v.ok) throw new Error(v.errors.join());
    // Warm up until the JIT has compiled the trace path: with 50 warm-up traces the first size measured
    // mostly timed compilation (its p50 came out twice the second's), which hid how the cost scales.
    for (let i = 0; i < WARM_UP; i++) tracePacket(none, v.packet, { host: host.host, nftables: parsed.ruleset });
    const lat: number[] = [];
    for (let i = 0; i < TIMED; i++) {
      const t = performance.now();
      tracePacket(none, v.packet, { host: host.host, nftables: parsed.ruleset });
      lat.push((performance.now() - t) * 1000);
    }
    lat.sort((a, b) => a - b);
    const mid = lat[Math.floor(lat.length / 2)]!;
    const p90 = lat[Math.floor(lat.length * 0.9)]!;
    p50.set(n, mid);
    add(section, 'trace a ClusterIP (5 endpoints, numgen)', `p50 ${mid.toFixed(0)} µs, p90 ${p90.toFixed(0)} µs`, n === 10000 ? `≤ 100 µs — ${verdict(mid <= 100)}` : undefined);
  }
  if (p50.has(1000) && p50.has(10000)) {
    const r = p50.get(10000)! / p50.get(1000)!;
    add('nft scaling', 'trace p50 10k / 1k', `${r.toFixed(2)}×`, `≤ 2× — ${verdict(r <= 2)}`);
  }
}
