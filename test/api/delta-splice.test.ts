// The fast path of delta uploads (src/store/splice.ts): a delta that copies
// most chains whole is spliced from its base's prepared structures. Its
// PreparedDump must be exactly what prepareDump gives for the whole text, on
// the seeds, the corpus and generated kube-proxy dumps, over several rounds
// of edits (each spliced result is the base of the next).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { type Ruleset } from '../../src/netfilter/index.ts';
import { prepareDump } from '../../src/store/index.ts';
import { compileRuleset } from '../../src/netfilter/iptables/eval/compile.ts';
import { seed } from '../support/api.ts';
import { arbitraryEdit, shapedEdit } from '../support/edits.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';
import { round, start } from '../support/splice.ts';

describe('delta splice (the fast path of delta uploads)', () => {
  it('generated kube-proxy dumps, with and without counters: every shaped edit is spliced and equals the full path', () => {
    for (const counters of [true, false]) {
      const g = generateKubeDump({ services: 120, seed: counters ? 3 : 4, counters });
      const c = start(g.text, 'ipv4');
      assert.ok(c, 'a plain kube-proxy dump is kept as a base');
      for (let r = 0; r < 12; r++) {
        const edited = shapedEdit(c.text, 100 * r + (counters ? 1 : 2));
        assert.ok(round(c, edited, `kube counters=${counters} round ${r}`), `round ${r} spliced (${c.cache.stats.lastFallback})`);
      }
      assert.equal(c.cache.stats.fallbacks, 0);
      assert.equal(c.cache.stats.spliced, 12);
    }
  });

  it('seeds and corpus dumps: shaped and arbitrary edits; what is spliced equals the full path', async (t) => {
    const texts: [string, string][] = [['seed000', await seed()]];
    if (corpusAvailable()) {
      const dir = join(CORPUS, 'iptables-save');
      for (const f of readdirSync(dir).sort()) texts.push([f, readFileSync(join(dir, f), 'utf8')]);
    } else t.diagnostic('../shared/corpus not found: seeds only');
    let spliced = 0;
    let kept = 0;
    for (const [name, text] of texts) {
      const family = prepareDump(text).family;
      const c = start(text, family);
      if (!c) continue;
      kept++;
      for (let r = 0; r < 8; r++) {
        const edited = r % 4 === 3 ? arbitraryEdit(c.text, r + 7 * kept) : shapedEdit(c.text, r * 13 + kept, 1 + (r % 3));
        if (edited === c.text) continue;
        if (round(c, edited, `${name} round ${r}`)) spliced++;
      }
    }
    t.diagnostic(`${kept} of ${texts.length} dumps kept as bases; ${spliced} deltas spliced`);
    assert.ok(kept >= 2 && spliced >= 10, `${kept} bases, ${spliced} spliced`);
  });

  it('a spliced ruleset shares its unchanged chains with its base, and so their compiled form (the first trace compiles only what changed)', () => {
    const g = generateKubeDump({ services: 40, seed: 6, counters: true });
    const c = start(g.text, 'ipv4')!;
    const before = c.base.ruleset!;
    const compiledBefore = compileRuleset(before).tables.get('nat')!.get('KUBE-SERVICES')!;
    // One endpoint's DNAT port changes: one KUBE-SEP chain.
    const edited = c.text.replace(/(-j DNAT --to-destination \S+:)(\d+)/, (_m, head: string, port: string) => `${head}${Number(port) + 1}`);
    assert.ok(round(c, edited, 'one DNAT port'));
    const after = c.base.ruleset!;
    const nat = (r: Ruleset) => r.tables.find((t) => t.name === 'nat')!.chains;
    const changed = nat(after).filter((ch, i) => ch !== nat(before)[i]);
    assert.equal(changed.length, 1, 'only the changed chain is new');
    assert.match(changed[0]!.name, /^KUBE-SEP-/);
    assert.equal(compileRuleset(after).tables.get('nat')!.get('KUBE-SERVICES'), compiledBefore);
  });

  it('declines what it must not splice: a declaration or table line changed, a rule moved into another table, an unknown base', () => {
    const g = generateKubeDump({ services: 20, seed: 5, counters: true });
    const edits: [string, (lines: string[]) => void][] = [
      ['a policy', (l) => (l[l.findIndex((x) => x.startsWith(':INPUT '))] = ':INPUT DROP [0:0]')],
      ['a new chain', (l) => l.splice(l.findIndex((x) => x.startsWith(':')), 0, ':NEW-CHAIN - [0:0]')],
      ['a table header', (l) => l.splice(l.indexOf('COMMIT') + 1, 0, '*raw', ':PREROUTING ACCEPT [0:0]', 'COMMIT')],
      ['a rule before the declarations', (l) => l.splice(l.findIndex((x) => x.startsWith(':')), 0, '-A INPUT -j ACCEPT')],
      ['an undeclared chain', (l) => l.splice(l.indexOf('COMMIT'), 0, '-A NOPE -j ACCEPT')],
      ['a bad rule', (l) => l.splice(l.indexOf('COMMIT'), 0, '-A INPUT -m nosuchmatch --x -j ACCEPT')],
    ];
    for (const [what, edit] of edits) {
      const c = start(g.text, 'ipv4')!;
      const lines = g.text.split('\n');
      edit(lines);
      assert.equal(round(c, lines.join('\n'), what), false, what);
      assert.equal(c.cache.stats.fallbacks, 1, what);
    }
  });
});
