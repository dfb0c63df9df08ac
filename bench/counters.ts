// Counters over time (issue 16): what recording an upload's counter sample
// costs on a 10k-Service node (235k counters), by part, in CPU time (the
// machine is usually shared: wall time says more about the neighbours):
// - a re-upload of the same version: the counters compared as strings, only
//   the moved ones parsed (diffCounters);
// - a new version (one Service changed) sent as a delta: its counters matched
//   to the previous version's by the lines the splice copied
//   (matchSlotsCopied), then compared;
// - the same without the splice's knowledge (a whole upload): both texts
//   walked side by side (matchSlots).
// Run: npx tsx bench/counters.ts (standalone, not in `npm run bench`).
import { generateKubeDump } from '../scripts/kube-dump.ts';
import { nextCollection } from './delta.ts';
import { prepareDump } from '../src/store/index.ts';
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
