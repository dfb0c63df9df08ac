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
import { newRuleLineMemo, runSteps, type Family, type Ruleset } from '../../src/netfilter/index.ts';
import { prepareDump, sha256Hex, type PreparedDump } from '../../src/store/index.ts';
import { applyLineScript, makeLineScript } from '../../src/store/line-script.ts';
import { canonicalLayout, countedLines } from '../../src/store/counters-codec.ts';
import { createSpliceCache, rememberForSpliceSteps, spliceDeltaSteps, type SpliceCache } from '../../src/store/splice.ts';
import { compileRuleset } from '../../src/netfilter/iptables/eval/compile.ts';
import { seed } from '../support/api.ts';
import { arbitraryEdit, shapedEdit } from '../support/edits.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';

/** Every field of a PreparedDump (the counters JSON read through its getter). */
function fields(p: PreparedDump): Record<string, unknown> {
  return {
    family: p.family,
    format: p.format,
    originalText: p.originalText,
    originalSha256: p.originalSha256,
    canonicalText: p.canonicalText,
    sha256: p.sha256,
    countersJson: p.countersJson,
    countersInTextOrder: p.countersInTextOrder,
    stats: p.stats,
    diagnostics: p.diagnostics,
    canonicalExact: p.canonicalExact,
    // uploadedRuleset is optional (it only spares the first chain read a parse of the uploaded
    // text); a splice builds the canonical ruleset only, so the full path's has no counterpart.
    keys: Object.keys(p)
      .filter((k) => !['originalLines', 'canonicalLines', 'canonicalSize', 'canonicalLayout', 'textHints', 'uploadedRuleset'].includes(k))
      .sort(),
  };
}

interface Chainable {
  readonly cache: SpliceCache;
  readonly rulesets: Map<string, Ruleset>;
  readonly memo: ReturnType<typeof newRuleLineMemo>;
  base: PreparedDump;
  text: string;
}

function start(text: string, family: Family): Chainable | null {
  const memo = newRuleLineMemo(family);
  const base = prepareDump(text, { family, lineMemo: memo });
  // Hash checkpoints every 4 KiB: a splice resumes the canonical text's sha256 from one (checked against the full path's).
  const cache = createSpliceCache(undefined, undefined, 4096);
  if (!runSteps(rememberForSpliceSteps(cache, base, text.split('\n')))) return null;
  return { cache, rulesets: new Map([[base.sha256, base.ruleset!]]), memo, base, text };
}

/** One delta of `c` to `edited`, spliced (or not: null) and compared with the full path. */
function round(c: Chainable, edited: string, label: string): boolean {
  const family = c.base.family;
  const script = makeLineScript(c.text, edited);
  const lines = applyLineScript(c.text.split('\n'), script);
  assert.equal(lines.join('\n'), edited);
  const spliced = runSteps(
    spliceDeltaSteps(c.cache, {
      base: c.base.originalSha256,
      script: script.script,
      counters: script.counters,
      text: edited,
      lines,
      originalSha256: sha256Hex(edited),
      family,
      lineMemo: c.memo,
      canonicalRuleset: (sha) => c.rulesets.get(sha),
    }),
  );
  const full = prepareDump(edited, { family });
  if (!spliced) {
    // The fast path declines only what the full path reads otherwise than plainly.
    const memo = prepareDump(edited, { family, lineMemo: c.memo });
    c.base = memo;
    c.text = edited;
    c.rulesets.set(memo.sha256, memo.ruleset!);
    runSteps(rememberForSpliceSteps(c.cache, memo, lines));
    return false;
  }
  assert.deepEqual(fields(spliced), fields(full), label);
  // The lines it hands the store are its texts'.
  assert.equal(spliced.originalLines?.join('\n'), edited, label);
  assert.equal(spliced.canonicalLines?.join('\n'), full.canonicalText, label);
  if (spliced.canonicalSize !== undefined) assert.equal(spliced.canonicalSize, Buffer.byteLength(full.canonicalText), label);
  assert.deepEqual(spliced.ruleset, full.ruleset, `${label}: ruleset`);
  // The layout it hands the store is the canonical text's, and every line its hints claim is so.
  const layout = canonicalLayout(full.canonicalText);
  assert.deepEqual([Array.from(spliced.canonicalLayout!.slotLine), Array.from(spliced.canonicalLayout!.slotKind)], [Array.from(layout.slotLine), Array.from(layout.slotKind)], `${label}: layout`);
  checkHints(c, spliced, lines, label);
  // The next splice resumes the hash from checkpoints of this text: each is the sha256 state after its first `at` bytes.
  const next = c.cache.canonical.get(`${family}:${spliced.sha256}`);
  for (const cp of next?.checkpoints ?? []) assert.equal(cp.hash.copy().digest('hex'), sha256Hex(Buffer.from(full.canonicalText).subarray(0, cp.at)), `${label}: checkpoint at ${cp.at}`);
  c.base = spliced;
  c.text = edited;
  c.rulesets.set(spliced.sha256, spliced.ruleset!);
  return true;
}

/**
 * The spliced dump's TextHints hold: a canonical line said to come from a base canonical line is
 * that line (and its counted line too unless its counter moved), an uploaded line said to copy a
 * base upload line is that line.
 */
function checkHints(c: Chainable, spliced: PreparedDump, lines: readonly string[], label: string): void {
  const h = spliced.textHints!;
  assert.equal(h.baseCanonical, c.base.sha256, label);
  assert.equal(h.baseOriginal, c.base.originalSha256, label);
  const baseCanonical = c.base.canonicalText.split('\n');
  const canonical = spliced.canonicalText.split('\n');
  const counted = countedLines(canonical, spliced.countersInTextOrder ?? null);
  const baseCounted = countedLines(baseCanonical, c.base.countersInTextOrder ?? null);
  assert.equal(h.canonicalFrom.length, canonical.length, label);
  let hinted = 0;
  for (let i = 0; i < canonical.length; i++) {
    const b = h.canonicalFrom[i]!;
    if (b < 0) continue;
    hinted++;
    assert.equal(canonical[i], baseCanonical[b], `${label}: canonical line ${i + 1}`);
    if (!h.countersMoved[i]) assert.equal(counted[i], baseCounted[b], `${label}: counted line ${i + 1}`);
  }
  // (A small dump's edit may change most of its lines; a big one's, a few chains.)
  if (canonical.length > 1000) assert.ok(hinted > canonical.length / 2, `${label}: most canonical lines are hinted`);
  const baseLines = c.text.split('\n');
  for (let i = 0; i < lines.length; i++) if (h.originalFrom[i]! >= 0) assert.equal(lines[i], baseLines[h.originalFrom[i]!], `${label}: uploaded line ${i + 1}`);
}

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
