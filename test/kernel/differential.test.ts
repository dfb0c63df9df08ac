// The kernel-differential suite: every case runs in private network
// namespaces against the real kernel and through the simulator; each
// packet's kernel TRACE events must equal one simulated outcome, and the
// packet the kernel delivers must be that outcome's packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologyAvailable } from './netns.ts';
import { runCase, type DiffCase, type PacketVerdict } from './differential.ts';
import { TARGETED } from './cases/targeted.ts';
import { kubeCases } from './cases/kube.ts';
import { seedCases } from './cases/seeds.ts';
import { FIXTURES, CORPUS, corpusAvailable } from '../support/paths.ts';
import type { TraceOutcome } from '../../src/netfilter/index.ts';

const avail = await topologyAvailable();

async function loadCorpusCases(): Promise<DiffCase[]> {
  if (!corpusAvailable()) return [];
  try {
    const mod = (await import('./cases/corpus.ts')) as { corpusCases?: (dir: string) => DiffCase[] };
    return mod.corpusCases ? mod.corpusCases(CORPUS) : [];
  } catch {
    return [];
  }
}

const CASES: DiffCase[] = [...TARGETED, ...seedCases(FIXTURES), ...kubeCases(), ...(await loadCorpusCases())];

const totals = { packets: 0, mismatches: 0, dumps: new Set<string>() };

/** Repeated packets must spread over the outcomes as their probabilities say. */
function checkFrequencies(verdicts: PacketVerdict[], outcomes: TraceOutcome[][]): string[] {
  const problems: string[] = [];
  const groups = new Map<string, number[]>();
  verdicts.forEach((v, i) => {
    if ((v.packet.repeat ?? 1) < 10) return;
    const key = JSON.stringify(v.packet);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const [key, idx] of groups) {
    const sim = outcomes[idx[0]!]!;
    const n = idx.length;
    sim.forEach((o, k) => {
      if (o.probability === null) return;
      const seen = idx.filter((i) => verdicts[i]!.outcomeIndex === k).length;
      const expected = n * o.probability;
      const sigma = Math.sqrt(n * o.probability * (1 - o.probability));
      if (Math.abs(seen - expected) > 4 * sigma + 1) problems.push(`${key}: outcome ${k} (p=${o.probability.toFixed(4)}) seen ${seen}/${n}, expected ≈${expected.toFixed(1)}`);
    });
  }
  return problems;
}

for (const c of CASES) {
  test(`kernel vs simulator: ${c.name}`, async (t) => {
    if (!avail.ok) {
      console.warn(`\n!!! KERNEL-DIFFERENTIAL TEST SKIPPED: ${avail.reason}\n`);
      t.skip(avail.reason);
      return;
    }
    const { verdicts, outcomes } = await runCase(c);
    totals.packets += verdicts.length;
    totals.dumps.add(c.name);
    const bad = verdicts.filter((v) => !v.ok);
    totals.mismatches += bad.length;
    const freq = checkFrequencies(verdicts, outcomes);
    const report = bad.slice(0, 5).map((b) => `${JSON.stringify(b.packet)}\n${b.detail}`).join('\n\n');
    assert.equal(bad.length, 0, `${bad.length} of ${verdicts.length} packets differ from the kernel:\n${report}`);
    assert.deepEqual(freq, [], 'statistic frequencies');
  });
}

test('kernel-differential totals', (t) => {
  if (!avail.ok) {
    t.skip(avail.reason);
    return;
  }
  console.log(`kernel-differential: ${totals.packets} packets across ${totals.dumps.size} dumps, ${totals.mismatches} mismatches`);
  assert.equal(totals.mismatches, 0);
});
