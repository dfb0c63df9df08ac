// `npm run bench` section "big": issue 15's big nodes, on the shipped server.
// A ~700k-line iptables dump (30k Services, up to 9 endpoints each, as in
// kubernetes#96018) and a 44k-Service kube-proxy nftables ruleset
// (kubernetes#139513): parse next to `iptables-restore --test`, upload, a page
// of the biggest chain, the first and a warm trace, a one-Service-changed
// twin uploaded and diffed, each figure with the server's peak RSS against the
// 2 GiB budget. Uploads go gzip-compressed, with the upload limits raised the
// way an operator of such nodes sets them (MAX_UPLOAD_BYTES, MAX_DUMP_LINES, RULESET_CACHE_RULES,
// MAX_DECOMPRESSED_BYTES, ANALYSIS_WORKER_MEMORY_MB).
import { gzipSync } from 'node:zlib';
import { generateKubeDump } from '../scripts/kube-dump.ts';
import { generateKubeNft } from '../scripts/kube-nft.ts';
import { parseDump } from '../src/netfilter/index.ts';
import { fmt, mib, verdict, type AddRow } from './common.ts';
import { expectStatus, startServer, type ServerProcess } from './server-process.ts';

const SECTION = 'big nodes (2 GiB budget)';
const GiB = 2 ** 30;
const API = '/api/v1';
// RULESET_CACHE_RULES: a node's reads (its uploaded text's parse, with counters) and its traces (its
// canonical text's) are two entries of ~690k (iptables) or ~880k (nft) each, both kept from the upload's one parse.
// HEAP_GROWING_PERCENT 30: V8 collects when the heap has grown 30% past what survived its last full
// GC, instead of up to 4× (src/http/heap.ts).
const LIMITS = { maxUploadBytes: 512 * 2 ** 20, maxDecompressedBytes: 512 * 2 ** 20, maxDumpLines: 1_000_000, rulesetCacheRules: 2_000_000, analysisWorkerMemoryMb: 2048, heapGrowingPercent: 30 };

const gzipText = (text: string) => ({ method: 'POST', headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, body: gzipSync(text, { level: 1 }) });
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function peak(s: ServerProcess): Promise<number> {
  const m = await s.memory();
  return m.vmHwm || m.rss;
}

/** The same dump with one Service changed: one endpoint's DNAT port moved. */
function oneServiceChanged(text: string): string {
  return text.replace(/(--to-destination \d+\.\d+\.\d+\.\d+:)(\d+)/, (_m, a: string, p: string) => `${a}${Number(p) + 1}`);
}

/** `nodes`: which of the two big nodes to run (`BENCH_BIG_NODES=iptables,nft`, both by default). */
export async function bigNodes(add: AddRow, restoreTestMs: (text: string) => number | undefined, nodes: ReadonlySet<string> = new Set(['iptables', 'nft'])): Promise<void> {
  if (nodes.has('iptables')) await bigIptablesNode(add, restoreTestMs);
  if (nodes.has('nft')) await bigNftNode(add);
}

async function bigIptablesNode(add: AddRow, restoreTestMs: (text: string) => number | undefined): Promise<void> {
  const g = generateKubeDump({ services: 30_000, seed: 7, maxEndpoints: 9 });
  const lines = g.text.split('\n').length;
  const what = `${fmt(lines)}-line dump (30k Services, ${mib(g.text.length)})`;
  const t0 = performance.now();
  const parsed = parseDump(g.text);
  const parseMs = performance.now() - t0;
  const restore = restoreTestMs(g.text);
  add(SECTION, `${what}: cold parse (parseDump)`, `${fmt(parseMs)} ms${restore !== undefined ? `; iptables-restore --test ${fmt(restore)} ms (${(restore / parseMs).toFixed(1)}×)` : ''}; ${fmt(parsed.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0))} rules`, restore !== undefined ? `≥ 2× iptables-restore --test — ${verdict(restore / parseMs >= 2)}` : undefined);

  const s = await startServer(LIMITS);
  try {
    const up = await expectStatus('upload 700k', [201], `${s.url}${API}/nodes/big/dumps`, gzipText(g.text), 600_000);
    const page = await expectStatus('chain page', [200], `${s.url}${API}/nodes/big/tables/nat/chains/KUBE-SERVICES?limit=1000`, {}, 600_000);
    const total = (JSON.parse(page.body) as { total: number }).total;
    const packet = { src: '203.0.113.7', dst: g.services[1]!.clusterIP, protocol: g.services[1]!.protocol, sport: 40000, dport: g.services[1]!.port, inInterface: 'eth0' };
    const first = await expectStatus('first trace', [200], `${s.url}${API}/trace`, json({ node: 'big', packet }), 600_000);
    let warm = Infinity;
    for (let i = 0; i < 20; i++) warm = Math.min(warm, (await expectStatus('trace', [200], `${s.url}${API}/trace`, json({ node: 'big', packet }))).ms);
    const up2 = await expectStatus('upload twin', [201], `${s.url}${API}/nodes/big2/dumps`, gzipText(oneServiceChanged(g.text)), 600_000);
    const diff = await expectStatus('diff', [200], `${s.url}${API}/diff?left=big&right=big2`, {}, 600_000);
    const changed = (JSON.parse(diff.body) as { summary: { rulesAdded: number; rulesRemoved: number } }).summary;
    const rss = await peak(s);
    add(SECTION, `${what}: upload (gzip), new node`, `${fmt(up.ms)} ms`);
    add(SECTION, `${what}: first page of nat KUBE-SERVICES (1,000 of ${fmt(total)} rules)`, `${fmt(page.ms)} ms`);
    add(SECTION, `${what}: trace a ClusterIP (first, then warm best of 20)`, `${fmt(first.ms)} ms, then ${fmt(warm, 1)} ms`);
    add(SECTION, `${what}: its one-Service-changed twin uploaded, then diffed`, `upload ${fmt(up2.ms)} ms; diff ${fmt(diff.ms)} ms (${changed.rulesAdded} added, ${changed.rulesRemoved} removed)`);
    add(SECTION, `${what}: server peak RSS over all of the above`, mib(rss), `< 2 GiB — ${verdict(rss < 2 * GiB)}`);
  } finally {
    await s.stop();
  }
}

async function bigNftNode(add: AddRow): Promise<void> {
  const n = generateKubeNft({ services: 44_000, endpoints: 5 });
  const nwhat = `44k-Service nft ruleset (nft -j, ${mib(n.json.length)})`;
  const s2 = await startServer(LIMITS);
  try {
    // The peak so far after each step (VmHWM only grows): where the budget goes.
    const steps: string[] = [];
    const step = async (name: string) => {
      steps.push(`${name} ${mib(await peak(s2))}`);
      if (process.env['BENCH_PEAK_LOG']) process.stderr.write(`[step ${new Date().toISOString()}] ${steps.at(-1)}\n`);
    };
    const up = await expectStatus('nft upload', [201], `${s2.url}${API}/nodes/kp44k/dumps`, gzipText(n.json), 900_000);
    await step('upload');
    const packet = { src: '192.0.2.10', dst: n.probe.ip, protocol: 'tcp', sport: 40000, dport: n.probe.port, inInterface: 'eth0' };
    const first = await expectStatus('nft first trace', [200], `${s2.url}${API}/trace`, json({ node: 'kp44k', packet }), 900_000);
    await step('trace');
    const page = await expectStatus('nft chains', [200], `${s2.url}${API}/nodes/kp44k/tables/${encodeURIComponent('ip kube-proxy')}/chains?limit=1000`, {}, 900_000);
    const total = (JSON.parse(page.body) as { total: number }).total;
    await step('page');
    const rss = await peak(s2);
    add(SECTION, `${nwhat}: upload (gzip), then the first trace`, `upload ${fmt(up.ms)} ms, first trace ${fmt(first.ms)} ms`);
    add(SECTION, `${nwhat}: first page of the kube-proxy table's chains (1,000 of ${fmt(total)})`, `${fmt(page.ms)} ms`);
    add(SECTION, `${nwhat}: server peak RSS (upload, trace, page)`, mib(rss), `< 2 GiB — ${verdict(rss < 2 * GiB)}`);
    // Then its one-Service-changed twin (one endpoint's port) as another node, and the nft diff of the two (on the event loop, over the cached parses).
    const twin = n.json.replace(/("port": ?)8080\b/, (_m, a: string) => `${a}8081`);
    const up2 = await expectStatus('nft upload twin', [201], `${s2.url}${API}/nodes/kp44k2/dumps`, gzipText(twin), 900_000);
    await step('twin upload');
    const diff = await expectStatus('nft diff', [200, 503], `${s2.url}${API}/diff?left=kp44k&right=kp44k2&family=nft`, {}, 900_000);
    const summary = diff.status === 200 ? (JSON.parse(diff.body) as { summary: { rulesAdded: number; rulesRemoved: number } }).summary : undefined;
    await step('diff');
    const rss2 = await peak(s2);
    add(SECTION, `${nwhat}: its one-Service-changed twin uploaded, then diffed (family=nft)`, `upload ${fmt(up2.ms)} ms; diff ${summary ? `${fmt(diff.ms)} ms (${summary.rulesAdded} added, ${summary.rulesRemoved} removed)` : `${diff.status} after ${fmt(diff.ms)} ms`}`);
    add(SECTION, `${nwhat}: server peak RSS over all of the above`, `${mib(rss2)} (peak after ${steps.join(', ')})`, `< 2 GiB — ${verdict(rss2 < 2 * GiB)}`);
  } finally {
    await s2.stop();
  }
}
