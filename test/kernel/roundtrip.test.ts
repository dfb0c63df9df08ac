// Round trip through the real kernel (private namespaces only):
// - for every corpus dump iptables-restore accepts: restore + save gives T,
//   and render(parse(T)) equals T byte for byte;
// - iptables-restore --test accepts render(parse(x)) for every parsed input,
//   listings and fragments included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kernelAvailable, restoreAndSave, restoreTest } from './netns.ts';
import { parseDump, renderRuleset, rulesetStats } from '../../src/netfilter/index.ts';
import { CORPUS, FIXTURES, corpusAvailable } from '../support/paths.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';

const avail = await kernelAvailable();
const IPTABLES_FORMATS = ['iptables-save', 'iptables-S', 'iptables-L', 'iptables-L-v'];

function inputs(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  if (corpusAvailable()) {
    for (const dir of IPTABLES_FORMATS) {
      for (const f of readdirSync(join(CORPUS, dir))) out.push({ name: `corpus/${dir}/${f}`, text: readFileSync(join(CORPUS, dir, f), 'utf8') });
    }
  }
  for (const dir of ['seeds', 'listing']) {
    try {
      for (const f of readdirSync(join(FIXTURES, dir)).filter((x) => x.endsWith('.txt') && !x.endsWith('.golden.txt'))) {
        out.push({ name: `fixtures/${dir}/${f}`, text: readFileSync(join(FIXTURES, dir, f), 'utf8') });
      }
    } catch {
      // no fixtures of that kind yet
    }
  }
  out.push({ name: 'generated kube-proxy dump (300 services, counters)', text: generateKubeDump({ services: 300, seed: 3, counters: true }).text });
  return out;
}

const skip = (t: { skip: (m: string) => void }): boolean => {
  if (avail.ok) return false;
  console.warn(`\n!!! KERNEL ROUND-TRIP TEST SKIPPED: ${avail.reason}\n`);
  t.skip(avail.reason);
  return true;
};

test('round trip: render(parse(T)) equals what iptables-save printed', async (t) => {
  if (skip(t)) return;
  let checked = 0;
  const refused: string[] = [];
  for (const { name, text } of inputs()) {
    if (!name.includes('iptables-save/') && !name.endsWith('.save.txt') && !name.startsWith('generated')) continue;
    const family = parseDump(text).ruleset.family;
    for (const counters of [false, true]) {
      const saved = await restoreAndSave(text, { family, counters });
      if (!saved.ok) {
        if (!counters) refused.push(`${name}: ${saved.stderr.split('\n')[0]}`);
        continue;
      }
      const T = saved.saved;
      const rendered = renderRuleset(parseDump(T).ruleset, { counters });
      assert.equal(rendered, T, `${name} (counters ${counters}): render(parse(T)) differs from iptables-save`);
      checked++;
    }
  }
  console.log(`round trip: ${checked} byte-identical renderings; iptables-restore refused ${refused.length} input(s):\n  ${refused.join('\n  ')}`);
  // Without ../shared/corpus only the repo's own save-format inputs remain.
  const wanted = corpusAvailable() ? 20 : 4;
  if (!corpusAvailable()) console.log(`round trip: ${CORPUS} not found, so only the repo's fixtures and generated dumps were checked`);
  assert.ok(checked >= wanted, `only ${checked} dumps round-tripped (want ${wanted})`);
});

test('round trip: iptables-restore --test accepts the rendering of every parsed input', async (t) => {
  if (skip(t)) return;
  const failures: string[] = [];
  let checked = 0;
  for (const { name, text } of inputs()) {
    const r = parseDump(text);
    if (rulesetStats(r.ruleset).rules === 0 && r.diagnostics.some((d) => d.code === 'unsupported-format')) continue;
    const rendered = renderRuleset(r.ruleset);
    const res = await restoreTest(rendered, r.ruleset.family);
    checked++;
    if (!res.ok) failures.push(`${name}: ${res.stderr.split('\n').slice(0, 2).join(' | ')}`);
  }
  console.log(`iptables-restore --test accepted ${checked - failures.length} of ${checked} renderings`);
  assert.deepEqual(failures, []);
});
