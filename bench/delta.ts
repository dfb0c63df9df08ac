// `npm run bench` section `delta` (issue 15): re-upload of a 10k-Service node
// with one Service changed, as the agent sends it (a delta of its last upload,
// gzip JSON) against the same text sent whole, on a fresh server process
// (bench/server.ts) that has the node's previous version. Upload → queryable
// runs from the start of the POST until the first trace on the new version
// has answered; bytes are what goes over the wire. The delta is measured over
// several of the node's collections in a row (BENCH_DELTA_ROUNDS, each one
// Service changed): one POST lands on a major GC or not, so one sample of it
// says little; the verdict is on the median, the slowest is shown beside it.
import { gzipSync } from 'node:zlib';
import { generateKubeDump, type KubeDump } from '../scripts/kube-dump.ts';
import { makeLineScript } from '../src/store/line-script.ts';
import { sha256Hex } from '../src/store/hash.ts';
import { fmt, tracePackets, verdict, type AddRow } from './common.ts';
import { call, expectStatus, startServer, type ServerProcess } from './server-process.ts';

const API = '/api/v1';
const GZIP_JSON = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
const SECTION = 'incremental upload (10k Services)';

/** The node's collection `round` (≥ 1) after `text`: one Service's endpoint port changed, the counters of `busy` rules moved, a new timestamp. */
export function nextCollection(text: string, busy: number, round = 1): string {
  let seen = 0;
  let moved = 0;
  const every = Math.max(1, Math.floor(170_000 / Math.max(1, busy)));
  let ruleNo = 0;
  return text
    .replace(/-j DNAT --to-destination (\S+):(\d+)/g, (m, ip: string, port: string) => (++seen === 4321 + 1000 * round ? `-j DNAT --to-destination ${ip}:${Number(port) + 1}` : m))
    .replace(/^\[(\d+):(\d+)\] /gm, (m, p: string, b: string) => (++ruleNo % every === 0 && moved++ < busy ? `[${Number(p) + 3}:${Number(b) + 180}] ` : m))
    .replace(/ on Thu Jan {2}1 00:0\d:00 2026/g, ` on Thu Jan  1 00:0${round % 10}:00 2026`);
}

async function post(server: ServerProcess, node: string, body: object): Promise<{ ms: number; bytes: number; status: number }> {
  const gz = gzipSync(Buffer.from(JSON.stringify(body)), { level: 6 });
  const a = await expectStatus(`upload ${node}`, [200, 201], `${server.url}${API}/nodes/${node}/dumps`, { method: 'POST', headers: GZIP_JSON, body: gz });
  return { ms: a.ms, bytes: gz.length, status: a.status };
}

async function trace(server: ServerProcess, node: string, packet: unknown): Promise<number> {
  const a = await expectStatus(`trace on ${node}`, [200], `${server.url}${API}/trace`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ node, packet }) });
  return a.ms;
}

export interface DeltaInput {
  /** iptables-restore --test of the whole (new) dump, ms; undefined when it could not run. */
  restoreMs: (text: string) => number | undefined;
  g1k: KubeDump;
}

export async function deltaBench(add: AddRow, input: DeltaInput): Promise<void> {
  const g = generateKubeDump({ services: 10000, seed: 1, counters: true });
  const busy = Number(process.env.BENCH_DELTA_BUSY_RULES ?? 1700);
  // The node's previous upload went as a delta too (its lines are in the server's memo, as in the steady state).
  const rounds = Math.max(1, Number(process.env.BENCH_DELTA_ROUNDS ?? 7));
  const previous = g.text;
  const before = nextCollection(previous, busy, 1);
  // The node's next collections, each one Service changed from the one before: the measured deltas.
  const texts = [before];
  for (let r = 0; r < rounds; r++) texts.push(nextCollection(texts[r]!, busy, r + 2));
  const after = texts[1]!;
  const packet = tracePackets(g)[0]!;
  const restoreMs = input.restoreMs(after);
  let t = performance.now();
  const script = makeLineScript(before, after);
  const makeMs = performance.now() - t;
  const deltas = texts.slice(1).map((text, r) => ({ base: sha256Hex(texts[r]!), sha256: sha256Hex(text), ...(r === 0 ? script : makeLineScript(texts[r]!, text)) }));
  const fullBytes = Buffer.byteLength(after);
  const changed = { lines: script.script.filter((op) => typeof op === 'string').length, counters: (script.counters?.length ?? 0) / 2 };

  const warmTexts = [input.g1k.text];
  for (let r = 0; r < 3; r++) warmTexts.push(nextCollection(warmTexts[r]!, Math.round(busy / 10), r + 1));
  const previousDelta = { base: sha256Hex(previous), sha256: sha256Hex(before), ...makeLineScript(previous, before) };
  type Result = { total: number; post: number; first: number; bytes: number };
  const results: Record<'delta' | 'full', Result> = { delta: { total: 0, post: 0, first: 0, bytes: 0 }, full: { total: 0, post: 0, first: 0, bytes: 0 } };
  const deltaRounds: Result[] = [];
  let coldDelta = 0;
  for (const how of ['full', 'delta'] as const) {
    const server = await startServer();
    try {
      // Warm-up (JIT) on the 1k node, then the node's previous version, traced once (as a live server has it).
      await post(server, 'warm-up', { dump: input.g1k.text });
      await trace(server, 'warm-up', tracePackets(input.g1k)[0]!);
      if (how === 'delta') {
        // The delta path's code warmed up too: the 1k node's next collections, as deltas.
        for (let r = 0; r < warmTexts.length - 1; r++) {
          await post(server, 'warm-up', { delta: { base: sha256Hex(warmTexts[r]!), sha256: sha256Hex(warmTexts[r + 1]!), ...makeLineScript(warmTexts[r]!, warmTexts[r + 1]!) } });
          await trace(server, 'warm-up', tracePackets(input.g1k)[0]!);
        }
      }
      await post(server, 'node-10k', { dump: previous, host: g.host });
      await trace(server, 'node-10k', packet);
      if (how === 'delta') {
        const cold = await post(server, 'node-10k', { delta: previousDelta, host: g.host });
        coldDelta = cold.ms + (await trace(server, 'node-10k', packet));
      } else {
        await post(server, 'node-10k', { dump: before, host: g.host });
        await trace(server, 'node-10k', packet);
      }
      const sent = how === 'delta' ? deltas : deltas.slice(0, 1);
      for (const [r, delta] of sent.entries()) {
        const up = await post(server, 'node-10k', how === 'delta' ? { delta, host: g.host } : { dump: after, host: g.host });
        const first = await trace(server, 'node-10k', packet);
        const result = { total: up.ms + first, post: up.ms, first, bytes: up.bytes };
        if (how === 'delta') deltaRounds.push(result);
        if (r === 0) results[how] = result;
      }
      const raw = await call(`${server.url}${API}/nodes/node-10k/dumps/latest/raw`, {});
      if (sha256Hex(raw.body) !== sent.at(-1)!.sha256) throw new Error(`${how}: the stored text is not the new dump`);
    } finally {
      await server.stop();
    }
  }
  const f = results.full;
  const byTotal = [...deltaRounds].sort((a, b) => a.total - b.total);
  const d = byTotal[(byTotal.length - 1) >> 1]!;
  const slowest = byTotal.at(-1)!;
  const ratio = restoreMs !== undefined ? d.total / restoreMs : undefined;
  const ratioOf = (ms: number): string => (restoreMs !== undefined ? ` = ${(ms / restoreMs).toFixed(2)}×` : '');
  add(
    SECTION,
    `re-upload, one Service changed + counters of ${fmt(changed.counters)} rules moved: upload → queryable (delta, gzip JSON; median of ${deltaRounds.length} collections in a row)`,
    `${fmt(d.total)} ms (POST ${fmt(d.post)} + first trace ${fmt(d.first)})${ratio !== undefined ? ` = ${ratio.toFixed(2)}× iptables-restore --test (${fmt(restoreMs!)} ms)` : ''}; slowest ${fmt(slowest.total)} ms${ratioOf(slowest.total)}, all: ${deltaRounds.map((x) => fmt(x.total)).join(' / ')} ms; the same text whole: ${fmt(f.total)} ms (POST ${fmt(f.post)} + first trace ${fmt(f.first)}); the node's first delta after a whole upload (lines memoized by the first trace's cold parse only): ${fmt(coldDelta)} ms`,
    ratio !== undefined ? `≤ 0.1× iptables-restore --test — ${verdict(ratio <= 0.1)}` : '≤ 0.1× iptables-restore --test (not run here)',
  );
  // The first measured collection's: the one `changed` counts.
  const sentBytes = results.delta.bytes;
  const share = sentBytes / fullBytes;
  add(
    SECTION,
    'bytes the agent sends (delta, gzip JSON) vs the full dump',
    `${fmt(sentBytes)} B = ${(share * 100).toFixed(3)}% of the dump's ${fmt(fullBytes)} B (${changed.lines} inserted lines, ${fmt(changed.counters)} counters; the whole text gzip: ${fmt(f.bytes)} B); making the script took ${fmt(makeMs)} ms on the agent`,
    `≤ 1% — ${verdict(share <= 0.01)}`,
  );
}
