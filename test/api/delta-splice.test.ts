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
import { createSpliceCache, rememberForSpliceSteps, spliceDeltaSteps, type SpliceCache } from '../../src/store/splice.ts';
import { seed } from '../support/api.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';

/** Deterministic pseudo-random numbers. */
function random(seedValue: number): () => number {
  let s = seedValue >>> 0 || 1;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const RULE = /^(\[\d+:\d+\] )?-A (\S+)/;

/**
 * Edits a collection makes that keep the dump's shape (the fast path's case): a rule changed,
 * deleted, duplicated or added to a chain (an empty one too), a chain emptied, counters moved, the
 * timestamp comments changed. `kinds` limits which.
 */
export function shapedEdit(text: string, seedValue: number, edits = 3): string {
  const rnd = random(seedValue);
  const lines = text.split('\n');
  const pick = <T,>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
  const ruleLines = (): number[] => lines.flatMap((l, i) => (RULE.test(l) ? [i] : []));
  for (let e = 0; e < edits; e++) {
    const k = Math.floor(rnd() * 8);
    const rules = ruleLines();
    const at = pick(rules);
    if (at === undefined) break;
    const chain = RULE.exec(lines[at]!)![2]!;
    if (k === 0) lines[at] = lines[at]!.replace(/(-j \S+)/, `-s 198.51.100.${Math.floor(rnd() * 250)}/32 $1`);
    else if (k === 1) lines.splice(at, 1);
    else if (k === 2) lines.splice(at + 1, 0, lines[at]!);
    else if (k === 3) lines.splice(at + 1, 0, `${lines[at]!.startsWith('[') ? '[0:0] ' : ''}-A ${chain} -s 203.0.113.${Math.floor(rnd() * 250)}/32 -p tcp -m tcp --dport ${1 + Math.floor(rnd() * 9000)} -j RETURN`);
    else if (k === 4) {
      // Every rule of the chain goes.
      for (let i = lines.length - 1; i >= 0; i--) if (RULE.exec(lines[i]!)?.[2] === chain) lines.splice(i, 1);
    } else if (k === 5) {
      // A rule for a declared chain, before its table's COMMIT (an empty chain gets its first rule).
      const decl = pick(lines.flatMap((l, i) => (l.startsWith(':') ? [i] : [])));
      if (decl === undefined) continue;
      const name = lines[decl]!.slice(1, lines[decl]!.indexOf(' '));
      const commit = lines.indexOf('COMMIT', decl);
      const counted = lines.slice(decl, commit).some((l) => l.startsWith('['));
      // After the chain's last rule, or before COMMIT when it has none.
      let after = commit - 1;
      for (let i = decl; i < commit; i++) if (RULE.exec(lines[i]!)?.[2] === name) after = i;
      lines.splice(after + 1, 0, `${counted ? '[1:60] ' : ''}-A ${name} -m comment --comment "added ${e}" -j ACCEPT`);
    } else if (k === 6) {
      for (let n = 0; n < 1 + rules.length / 20; n++) {
        const i = pick(rules)!;
        if (lines[i]?.startsWith('[')) lines[i] = lines[i]!.replace(/^\[\d+:\d+\]/, `[${Math.floor(rnd() * 99)}:${Math.floor(rnd() * 9999)}]`);
      }
      const d = pick(lines.flatMap((l, i) => (/^:\S+ \S+ \[\d+:\d+\]$/.test(l) ? [i] : [])));
      if (d !== undefined) lines[d] = lines[d]!.replace(/\[\d+:\d+\]$/, `[${Math.floor(rnd() * 99)}:0${Math.floor(rnd() * 9)}]`);
    } else {
      for (let i = 0; i < lines.length; i++) if (lines[i]!.startsWith('# ')) lines[i] = `${lines[i]!} (${e})`;
    }
  }
  return lines.join('\n');
}

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
    keys: Object.keys(p).sort(),
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
  const cache = createSpliceCache();
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
  assert.deepEqual(spliced.ruleset, full.ruleset, `${label}: ruleset`);
  c.base = spliced;
  c.text = edited;
  c.rulesets.set(spliced.sha256, spliced.ruleset!);
  return true;
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

/** Edits of any kind (lines removed, inserted, moved, counters changed): mostly left to the full path. */
function arbitraryEdit(text: string, seedValue: number): string {
  const rnd = random(seedValue);
  const lines = text.split('\n');
  const at = Math.floor(rnd() * lines.length);
  const k = rnd();
  if (k < 0.3) lines.splice(at, 1);
  else if (k < 0.6) lines.splice(at, 0, `-A INPUT -s 192.0.2.${Math.floor(rnd() * 250)}/32 -p tcp -m tcp --dport ${1 + Math.floor(rnd() * 9000)} -j DROP`);
  else lines.splice(at, 0, ...lines.splice(Math.floor(rnd() * lines.length), 2));
  return lines.join('\n');
}
