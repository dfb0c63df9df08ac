// HTTP sections of `npm run bench`: ingest (upload → queryable), traces per
// second under autocannon, and the server's memory on the 20k dump. The app
// runs in a child process (bench/server.ts) on a fresh temporary SQLite file,
// so the load generator does not share its event loop (it still shares the
// machine's cores).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import type { KubeDump } from '../scripts/kube-dump.ts';
import { buildHost, parseDump, tracePacket, validatePacket } from '../src/netfilter/index.ts';
import { createRulesetCache, loadBlobRuleset, openDatabase, prepareDump, primeCanonicalRuleset, uploadDumps } from '../src/store/index.ts';
import { fmt, mib, tracePackets, verdict, type AddRow } from './common.ts';
import { call, expectStatus, startServer, type ServerProcess } from './server-process.ts';

const API = '/api/v1';
const JSON_TYPE = { 'content-type': 'application/json' };

async function upload(server: ServerProcess, node: string, body: Uint8Array, headers: Record<string, string>): Promise<number> {
  const a = await expectStatus(`upload ${node}`, [200, 201], `${server.url}${API}/nodes/${node}/dumps`, { method: 'POST', headers, body });
  return a.ms;
}

async function trace(server: ServerProcess, node: string, packet: unknown): Promise<number> {
  const a = await expectStatus(`trace on ${node}`, [200], `${server.url}${API}/trace`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ node, packet }) });
  return a.ms;
}

/** Uploads the 1k dump and traces on it, so the 10k figures are taken on a warm (JIT-compiled) server. */
async function warmUp(server: ServerProcess, g1k: KubeDump): Promise<void> {
  await upload(server, 'warm-up', Buffer.from(JSON.stringify({ dump: g1k.text, host: g1k.host })), JSON_TYPE);
  for (const p of tracePackets(g1k).slice(0, 8)) await trace(server, 'warm-up', p);
}

export interface IngestInput {
  g1k: KubeDump;
  g10k: KubeDump;
  /** iptables-restore --test on the 10k dump, ms (undefined when it could not run). */
  restoreMs: number | undefined;
  /** packetpath parse of the 10k dump, ms (best of 3, in-process). */
  parseMs: number | undefined;
}

/**
 * Upload → queryable: from the start of the POST until the first trace on the
 * new version has answered. Each variant gets a fresh server (empty database
 * and parsed-ruleset cache), warmed up on the 1k dump first.
 */
export async function httpIngest(add: AddRow, input: IngestInput): Promise<void> {
  const { g1k, g10k, restoreMs } = input;
  const node = 'node-10k';
  const packet = tracePackets(g10k)[0]!; // ClusterIP from a pod
  const json = Buffer.from(JSON.stringify({ dump: g10k.text, host: g10k.host }));
  const gzStart = performance.now();
  const gz = gzipSync(json, { level: 6 });
  const gzMs = performance.now() - gzStart;
  const variants = [
    { label: 'JSON {dump, host}', body: json, headers: JSON_TYPE },
    { label: `JSON {dump, host}, gzip (${mib(gz.length)} sent; gzip -6 took ${fmt(gzMs)} ms, not counted)`, body: gz, headers: { ...JSON_TYPE, 'content-encoding': 'gzip' } },
    { label: 'text/plain (no host file)', body: Buffer.from(g10k.text), headers: { 'content-type': 'text/plain' } },
  ];
  const target = restoreMs !== undefined ? `< 0.5× iptables-restore --test (< ${fmt(restoreMs / 2)} ms)` : '< 0.5× iptables-restore --test';
  for (const v of variants) {
    const server = await startServer();
    try {
      await warmUp(server, g1k);
      const post = await upload(server, node, v.body, v.headers);
      const first = await trace(server, node, packet);
      const second = await trace(server, node, packet);
      const total = post + first;
      const ratio = restoreMs !== undefined ? ` = ${(total / restoreMs).toFixed(2)}× iptables-restore --test` : '';
      add(
        'HTTP ingest (10k Services)',
        `upload → queryable, ${v.label}`,
        `${fmt(total)} ms (POST ${fmt(post)} + first trace ${fmt(first)}; next trace ${fmt(second, 1)} ms)${ratio}`,
        restoreMs !== undefined ? `${target} — ${verdict(total < restoreMs / 2)}` : target,
      );
    } finally {
      await server.stop();
    }
  }
  await ingestBreakdown(add, g10k, input.parseMs);
}

/** The same steps in-process, without HTTP: where the ingest time goes. */
async function ingestBreakdown(add: AddRow, g: KubeDump, parseMs: number | undefined): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-bench-'));
  try {
    const db = await openDatabase(`file:${join(dir, 'breakdown.db')}`);
    try {
      // Warm the store path (Prisma, SQLite) on a tiny upload first.
      await uploadDumps(db.prisma, { node: 'warm-up', dumps: [prepareDump('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n')] });
      let t = performance.now();
      parseDump(g.text);
      const parseOnceMs = performance.now() - t;
      t = performance.now();
      const prepared = prepareDump(g.text);
      const prepareMs = performance.now() - t;
      t = performance.now();
      await uploadDumps(db.prisma, { node: 'n', dumps: [prepared], hostJson: JSON.stringify(g.host) });
      const storeMs = performance.now() - t;
      const cache = createRulesetCache(4);
      const primed = primeCanonicalRuleset(cache, prepared);
      const packet = validatePacket(tracePackets(g)[0]!);
      if (!packet.ok) throw new Error(`bad bench packet: ${packet.errors.join('; ')}`);
      const built = buildHost(g.host);
      t = performance.now();
      const loaded = await loadBlobRuleset(db.prisma, cache, prepared.sha256, prepared.family, prepared.format, 'canonical');
      tracePacket(loaded.ruleset, packet.packet, { explain: true, ...(built.ok ? { host: built.host } : {}) });
      const firstMs = performance.now() - t;
      t = performance.now();
      await loadBlobRuleset(db.prisma, createRulesetCache(4), prepared.sha256, prepared.family, prepared.format, 'canonical');
      const reloadMs = performance.now() - t;
      const best = parseMs !== undefined ? `, best of 3 above ${fmt(parseMs)} ms` : '';
      const counters = prepared.countersJson === null ? 'none' : mib(Buffer.byteLength(prepared.countersJson));
      add(
        'HTTP ingest (10k Services)',
        'where the time goes (same store calls in-process, no HTTP)',
        `prepareDump ${fmt(prepareMs)} ms (a lone parseDump: ${fmt(parseOnceMs)} ms${best}; the rest: canonical render, counter extract, 2 × sha256); uploadDumps ${fmt(storeMs)} ms (texts + SQLite; counters JSON ${counters}); first query: ${primed ? "the upload's parse from the ruleset cache" : 'NOT cached'}, first trace with compiling ${fmt(firstMs)} ms (a blob read + re-parse, avoided, would take ${fmt(reloadMs)} ms)`,
      );
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TracesInput {
  g1k: KubeDump;
  g10k: KubeDump;
  /** Seconds of load (default 10). */
  duration?: number;
  connections?: number;
}

/** POST /api/v1/trace under autocannon against a node holding the 10k dump. */
export async function httpTraces(add: AddRow, input: TracesInput): Promise<void> {
  const { g10k } = input;
  const duration = input.duration ?? 10;
  const connections = input.connections ?? 20;
  const node = 'node-10k';
  const server = await startServer();
  try {
    await warmUp(server, input.g1k);
    await upload(server, node, Buffer.from(JSON.stringify({ dump: g10k.text, host: g10k.host })), JSON_TYPE);
    const bodies = tracePackets(g10k).map((packet) => JSON.stringify({ node, packet }));
    // Every packet once, one at a time: checks they all answer 200, warms the cache, gives the unloaded latency.
    const lat: number[] = [];
    for (const body of bodies) {
      const a = await call(`${server.url}${API}/trace`, { method: 'POST', headers: JSON_TYPE, body });
      if (a.status !== 200) throw new Error(`trace: HTTP ${a.status}: ${a.body.slice(0, 300)}`);
      lat.push(a.ms);
    }
    lat.sort((a, b) => a - b);
    const p = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
    add('HTTP traces (10k Services)', 'one connection, one request at a time (200 packets)', `p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms`);

    const load = async (label: string, requestBodies: string[], target?: (perSecond: number, bad: number) => string): Promise<void> => {
      const r = await autocannon({
        url: server.url,
        connections,
        duration,
        timeout: 30,
        requests: requestBodies.map((body) => ({ method: 'POST', path: `${API}/trace`, headers: JSON_TYPE, body })),
      });
      const ok = r['2xx'];
      const perSecond = ok / duration;
      const bad = r.non2xx + r.errors + r.timeouts;
      add(
        'HTTP traces (10k Services)',
        label,
        `${fmt(perSecond, perSecond < 100 ? 1 : 0)} traces/s, latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms (${fmt(ok)} answered 200${bad ? `; ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts` : ''})`,
        target?.(perSecond, bad),
      );
    };
    await load(`autocannon POST ${API}/trace {node, packet}, ${connections} connections, ${duration} s, server in a child process`, bodies, (perSecond, bad) => `≥ 2,000 traces/s — ${verdict(perSecond >= 2000 && bad === 0)}`);
    // The same packets with the host file in the request: the route then skips reading the stored dump's details.
    const withHost = tracePackets(g10k).map((packet) => JSON.stringify({ node, packet, host: g10k.host }));
    await load(`same, with \`host\` in the request body (no stored-host lookup)`, withHost);
  } finally {
    await server.stop();
  }
}

/** RSS of the server process after ingesting the 20k dump and tracing on it. */
export async function serverMemory(add: AddRow, input: { g20k: KubeDump }): Promise<void> {
  const g = input.g20k;
  const node = 'node-20k';
  const server = await startServer();
  try {
    const idle = await server.memory();
    const body = Buffer.from(JSON.stringify({ dump: g.text, host: g.host }));
    const post = await upload(server, node, body, JSON_TYPE);
    const first = await trace(server, node, tracePackets(g)[0]!);
    const m = await server.memory();
    const rss = m.vmRss || m.rss;
    const after = await server.memory(true);
    add(
      'server memory (20k Services)',
      `RSS of the server process after uploading the 20k dump (${mib(body.length)} JSON) and one trace`,
      `${mib(rss)} (peak ${mib(m.vmHwm)}; idle before upload ${mib(idle.vmRss || idle.rss)}; after a full GC ${mib(after.vmRss || after.rss)}, JS heap ${mib(after.heapUsed)})`,
      `< 1 GiB — ${verdict(rss < 2 ** 30)}${m.vmHwm >= 2 ** 30 ? ' (peak over)' : ''}`,
    );
    add('server memory (20k Services)', 'upload → queryable on the same server (cold)', `${fmt(post + first)} ms (POST ${fmt(post)} + first trace ${fmt(first)})`);
  } finally {
    await server.stop();
  }
}
