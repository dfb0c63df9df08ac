// Measures reading a 10k-Service node's stored texts (whole, delta, counted-delta): read time and the
// longest event-loop block (perf_hooks.monitorEventLoopDelay), in one piece (the runner never
// pauses: what reads did before) and in steps (getBlobText's default), interleaved.
// Run: node --expose-gc --import tsx scripts/measure-text-read.ts [services] [runs]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKubeDump } from './kube-dump.ts';
import { EVENT_LOOP_TURNS, getBlobText, openDatabase, prepareDump, uploadDumps, type ParseYielding } from '../src/store/index.ts';

const services = Number(process.argv[2] ?? 10000);
const runs = Number(process.argv[3] ?? 3);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const dir = mkdtempSync(join(tmpdir(), 'textread-'));
const db = await openDatabase(`file:${join(dir, 'db.sqlite')}`);

/** A node's first upload, then its next version (a counter moved, one Service's rule edited). */
async function store(): Promise<{ label: string; sha256: string }[]> {
  const g = generateKubeDump({ services, seed: 3, counters: true });
  const first = prepareDump(g.text);
  await uploadDumps(db.prisma, { node: 'n1', dumps: [first] });
  const second = prepareDump(g.text.replace(/\[(\d+):(\d+)\]/, '[999:999]').replace('--dport 80 ', '--dport 81 '));
  await uploadDumps(db.prisma, { node: 'n1', dumps: [second] });
  const rows = await db.prisma.blob.findMany({ select: { sha256: true, encoding: true, size: true } });
  const label = (sha256: string): string => {
    const r = rows.find((b) => b.sha256 === sha256)!;
    return `${r.encoding} (${(r.size / 2 ** 20).toFixed(1)} MiB)`;
  };
  return [first.sha256, second.sha256, second.originalSha256].map((sha256) => ({ label: label(sha256), sha256 }));
}

const texts = await store();
const ONE_PIECE: ParseYielding = { sliceMs: Infinity, pause: async () => {} };
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const { label, sha256 } of texts) {
  const figures = { 'one piece': { ms: [] as number[], block: [] as number[], gap: [] as number[] }, steps: { ms: [] as number[], block: [] as number[], gap: [] as number[] } };
  for (let run = 0; run < runs; run++) {
    for (const [mode, yielding] of [['one piece', ONE_PIECE], ['steps', EVENT_LOOP_TURNS]] as const) {
      gc();
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      // And the longest gap between two ticks of a 1 ms timer, as a cross-check.
      let last = performance.now();
      let gap = 0;
      const ticker = setInterval(() => {
        const now = performance.now();
        gap = Math.max(gap, now - last);
        last = now;
      }, 1);
      const t0 = performance.now();
      await getBlobText(db.prisma, sha256, yielding);
      figures[mode].ms.push(performance.now() - t0);
      clearInterval(ticker);
      h.disable();
      figures[mode].block.push(h.max / 1e6);
      figures[mode].gap.push(Math.max(gap, performance.now() - last));
    }
  }
  for (const [mode, f] of Object.entries(figures)) {
    console.log(`${label} ${mode}: read ${median(f.ms).toFixed(0)} ms (median of ${runs}), max event-loop delay median ${median(f.block).toFixed(0)} ms, worst ${Math.max(...f.block).toFixed(0)} ms; longest timer gap median ${median(f.gap).toFixed(0)} ms, worst ${Math.max(...f.gap).toFixed(0)} ms`);
  }
}
await db.close();
rmSync(dir, { recursive: true, force: true });
