// Counters over time (issue 16): what recording an upload's counter sample
// costs on a 10k-Service node (235k counters), by part, in CPU time (the
// machine is usually shared: wall time says more about the neighbours):
// - a re-upload of the same version: the counters compared as strings, only
//   the moved ones parsed (diffCounters);
// - a new version (one Service changed) sent as a delta: its counters matched
//   to the previous version's by the lines the splice copied
//   (matchSlotsCopied), then compared;
// - the same without the splice's knowledge (a whole upload): both texts
//   walked side by side (matchSlots);
// - the cold case (the previous upload went to another replica, or the
//   process restarted): the previous version's canonical text read back from
//   a SQLite store and laid out, and whole uploads of the new version with an
//   empty cache, with and without counter samples (wall time, and the longest
//   the event loop was held, from monitorEventLoopDelay).
// Run: npx tsx bench/counters.ts (standalone, not in `npm run bench`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateKubeDump } from '../scripts/kube-dump.ts';
import { nextCollection } from './delta.ts';
import { openDatabase, prepareDump, uploadDumps } from '../src/store/index.ts';
import { blobLines, createDeltaBaseCache } from '../src/store/blobs.ts';
import { canonicalLayout } from '../src/store/counters-codec.ts';
import { builtinPolicySlots, diffCounters, encodeMoves, matchSlots, matchSlotsCopied } from '../src/store/counter-moves.ts';

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function timed<T>(f: () => T): [T, number] {
  const t = cpuMs();
  const out = f();
  return [out, cpuMs() - t];
}
const median = (xs: number[]): string => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);

const g = generateKubeDump({ services: 10000, seed: 1, counters: true });
const before = nextCollection(g.text, 1700, 1);
const after = nextCollection(before, 1700, 2);
const pa = prepareDump(before);
const pb = prepareDump(after);
const la = canonicalLayout(pa.canonicalText);
const lb = canonicalLayout(pb.canonicalText);
// What a splice of this collection knows: every line copied but the changed one.
const copied = Int32Array.from(lb.lines, (l, i) => (la.lines[i] === l ? i : -1));
const rows: Record<string, number[]> = { same: [], copied: [], walked: [], policies: [] };
let moved = 0;
let bytes = 0;
for (let r = 0; r < 7; r++) {
  const [moves, same] = timed(() => diffCounters(pa.countersInTextOrder!, pb.countersInTextOrder!));
  rows.same!.push(same);
  rows.copied!.push(timed(() => diffCounters(pa.countersInTextOrder!, pb.countersInTextOrder!, matchSlotsCopied(la, lb, copied)))[1]);
  rows.walked!.push(timed(() => diffCounters(pa.countersInTextOrder!, pb.countersInTextOrder!, matchSlots(la, lb)))[1]);
  rows.policies!.push(timed(() => [builtinPolicySlots(lb), encodeMoves(moves)])[1]);
  moved = moves.length;
  bytes = encodeMoves(moves).length;
}
console.log(`10k-Service node, ${la.slotLine.length} counters, ${moved} moved (${bytes} B stored); CPU ms, median of 7:`);
console.log(`  same version (re-upload):            ${median(rows.same!)} ms`);
console.log(`  new version, delta (spliced lines):  ${median(rows.copied!)} ms`);
console.log(`  new version, whole upload (walked):  ${median(rows.walked!)} ms`);
console.log(`  built-in policies + encoding:        ${median(rows.policies!)} ms`);

// The cold case, on a store.
const dir = mkdtempSync(join(tmpdir(), 'packetpath-bench-counters-'));
const db = await openDatabase(`file:${join(dir, 'counters.db')}`);
try {
  await uploadDumps(db.prisma, { node: 'warm-up', dumps: [prepareDump('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n')] });
  const wall: Record<string, number[]> = { read: [], layout: [], cold: [], coldNone: [] };
  const held: Record<string, number[]> = { read: [], cold: [], coldNone: [] };
  const cpu: Record<string, number[]> = { read: [], cold: [], coldNone: [] };
  /** Wall ms of f, and the longest event-loop delay seen meanwhile (ms). */
  const measure = async (name: string, f: () => Promise<unknown>): Promise<void> => {
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const t = performance.now();
    const c = cpuMs();
    await f();
    cpu[name]!.push(cpuMs() - c);
    wall[name]!.push(performance.now() - t);
    h.disable();
    held[name]?.push(h.max / 1e6);
  };
  let text = after;
  for (let r = 0; r < 5; r++) {
    // Each node's previous upload went through this process (the replica that took it); the next
    // version, new to the store, goes to another replica with nothing of the node in its memory.
    const next = [(text = nextCollection(text, 1700, 3 + 2 * r)), (text = nextCollection(text, 1700, 4 + 2 * r))].map((t) => prepareDump(t));
    for (const n of ['c', 'z']) await uploadDumps(db.prisma, { node: `${n}${r}`, dumps: [pb], deltaBases: db.deltaBases });
    await measure('cold', () => uploadDumps(db.prisma, { node: `c${r}`, dumps: [next[0]!], deltaBases: createDeltaBaseCache() }));
    await measure('coldNone', () => uploadDumps(db.prisma, { node: `z${r}`, dumps: [next[1]!], deltaBases: createDeltaBaseCache(), counterHistory: 0 }));
    // The read alone, of a version stored as a line delta (pb's text, of pa's), nothing cached: the worst case.
    let lines: readonly string[] | null = null;
    await measure('read', async () => (lines = await blobLines(db.prisma, pb.sha256, createDeltaBaseCache())));
    wall.layout!.push(timed(() => canonicalLayout(lines!))[1]);
  }
  const heldMax = (xs: number[]): string => Math.max(...xs).toFixed(0);
  console.log('cold case (SQLite; wall ms, median of 5, and CPU ms of this process with its zlib threads; the event loop held at most, ms):');
  console.log(`  previous text read back, nothing cached: ${median(wall.read!)} ms (CPU ${median(cpu.read!)} ms, held ${heldMax(held.read!)} ms), laid out ${median(wall.layout!)} ms CPU`);
  console.log(`  new version, whole upload, on a replica without the previous one: ${median(wall.cold!)} ms (CPU ${median(cpu.cold!)} ms, held ${heldMax(held.cold!)} ms)`);
  console.log(`  the same with no counter samples kept:   ${median(wall.coldNone!)} ms (CPU ${median(cpu.coldNone!)} ms, held ${heldMax(held.coldNone!)} ms)`);
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
