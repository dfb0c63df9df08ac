// The diff in steps (what a server runs on its event loop, pausing between
// slices): the same result as run at once, pauses on a big input, and the
// outline of a cached canonical parse by its rules' raw texts is the outline of
// the canonical text itself (what the diff compared before).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { diffRulesets, diffRulesetsSteps, formatUnifiedDiff, outlineCanonicalText, outlineCanonicalTextSteps, outlineRuleset, outlineRulesetSteps, parseDump, runSteps, unifiedDiffLines, type Steps } from '../../src/netfilter/index.ts';
import { prepareDump } from '../../src/store/ingest.ts';
import { seedAndCorpusDumps } from '../support/paths.ts';

/** Runs `steps` to the end, counting its pauses. */
function counted<T>(steps: Steps<T>): { value: T; pauses: number } {
  let pauses = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { value: r.value, pauses };
    pauses++;
  }
}

test('outlineRulesetSteps(raw) of a canonical parse is the canonical text\'s outline (seeds, corpus: the upload\'s own ruleset and a parse of the stored text)', (t) => {
  const texts = seedAndCorpusDumps((m) => t.diagnostic(m));
  texts.push(['kube 300', generateKubeDump({ services: 300, seed: 7 }).text]);
  let compared = 0;
  for (const [name, text] of texts) {
    let prepared;
    try {
      prepared = prepareDump(text);
    } catch {
      continue; // refused uploads have no canonical text
    }
    const outline = outlineCanonicalText(prepared.canonicalText);
    assert.ok(outline, name);
    const parsed = parseDump(prepared.canonicalText, { family: prepared.family, format: 'iptables-save' });
    assert.equal(parsed.diagnostics.length, 0, name);
    assert.deepEqual(runSteps(outlineRulesetSteps(parsed.ruleset, 'raw')), outline, `${name}: parse of the stored text`);
    if (prepared.canonicalExact && prepared.ruleset) assert.deepEqual(runSteps(outlineRulesetSteps(prepared.ruleset, 'raw')), outline, `${name}: the upload's ruleset`);
    assert.deepEqual(runSteps(outlineCanonicalTextSteps(prepared.canonicalText)), outline);
    assert.deepEqual(outlineRuleset(parsed.ruleset), outline);
    compared++;
  }
  assert.ok(compared >= 10, `${compared} texts compared`);
});

test('diffRulesetsSteps: the same diff as diffRulesets, with pauses on big nodes (between chains and within long ones)', () => {
  const a = prepareDump(generateKubeDump({ services: 2000, seed: 1 }).text);
  const b = prepareDump(generateKubeDump({ services: 2000, seed: 2 }).text);
  const c = prepareDump(generateKubeDump({ services: 2001, seed: 1 }).text);
  for (const [l, r] of [
    [a, b],
    [a, c],
    [c, c],
  ] as const) {
    const [lo, ro] = [outlineCanonicalText(l.canonicalText)!, outlineCanonicalText(r.canonicalText)!];
    const stepped = counted(diffRulesetsSteps(lo, ro));
    assert.deepEqual(stepped.value, diffRulesets(lo, ro));
    assert.deepEqual(stepped.value, diffRulesets(l.ruleset!, r.ruleset!));
    assert.ok(stepped.pauses > 100, `${stepped.pauses} pauses`);
    assert.equal([...unifiedDiffLines(stepped.value, 'l', 'r')].join('\n') + '\n', formatUnifiedDiff(stepped.value, 'l', 'r'));
  }
  // One long chain, unrelated on both sides: Myers up to its bound, then patience, pausing inside.
  const long = (tag: string) => `*filter\n:INPUT ACCEPT [0:0]\n${Array.from({ length: 6000 }, (_, i) => `-A INPUT -s 10.${(i >> 8) & 255}.${i & 255}.${tag} -j ACCEPT`).join('\n')}\nCOMMIT\n`;
  const [x, y] = [outlineCanonicalText(long('1'))!, outlineCanonicalText(long('2'))!];
  const stepped = counted(diffRulesetsSteps(x, y));
  assert.deepEqual(stepped.value, diffRulesets(x, y));
  assert.equal(stepped.value.summary.rulesAdded, 6000);
  assert.ok(stepped.pauses > 10, `${stepped.pauses} pauses within one chain`);
});
