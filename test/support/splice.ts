// Splicing a delta (src/store/splice.ts) and checking it against the full path:
// shared by the splice's tests (test/api/delta-splice*.test.ts).
import assert from 'node:assert/strict';
import { newRuleLineMemo, runSteps, type Family, type Ruleset } from '../../src/netfilter/index.ts';
import { prepareDump, sha256Hex, type PreparedDump } from '../../src/store/index.ts';
import { applyLineScript, makeLineScript, type LineScript } from '../../src/store/line-script.ts';
import { canonicalLayout, countedLines } from '../../src/store/counters-codec.ts';
import { createSpliceCache, rememberForSpliceSteps, spliceDeltaSteps, type SpliceCache } from '../../src/store/splice.ts';
import { canonicalKey, chainLines } from '../../src/store/splice-layout.ts';

/** Every field of a PreparedDump (the counters JSON read through its getter). */
export function fields(p: PreparedDump): Record<string, unknown> {
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

export interface Chainable {
  readonly cache: SpliceCache;
  readonly rulesets: Map<string, Ruleset>;
  readonly memo: ReturnType<typeof newRuleLineMemo>;
  base: PreparedDump;
  text: string;
}

/** A base kept for splicing `text`'s deltas; with `beside`, kept in its cache (another node of one server). */
export function start(text: string, family: Family, beside?: Chainable): Chainable | null {
  const memo = beside?.memo ?? newRuleLineMemo(family);
  const base = prepareDump(text, { family, lineMemo: memo });
  // Hash checkpoints every 4 KiB: a splice resumes the canonical text's sha256 from one (checked against the full path's).
  const cache = beside?.cache ?? createSpliceCache(undefined, undefined, 4096);
  if (!runSteps(rememberForSpliceSteps(cache, base, text.split('\n')))) return null;
  const rulesets = beside?.rulesets ?? new Map<string, Ruleset>();
  rulesets.set(base.sha256, base.ruleset!);
  return { cache, rulesets, memo, base, text };
}

/**
 * One delta of `c` to `edited` (by `given`, else the agent's script), spliced or not (false), and
 * compared with the full path: the PreparedDump, its hints, and the layouts kept for the next delta.
 */
export function round(c: Chainable, edited: string, label: string, given?: LineScript): boolean {
  const family = c.base.family;
  const script = given ?? makeLineScript(c.text, edited);
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
  checkKept(c.cache, spliced, full, lines, label);
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
export function checkHints(c: Chainable, spliced: PreparedDump, lines: readonly string[], label: string): void {
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

/**
 * The layouts a splice keeps for the next delta are the ones a whole upload of its text would have
 * kept: the uploaded text's line map, and the canonical text's blocks, slots and lines.
 */
export function checkKept(cache: SpliceCache, spliced: PreparedDump, full: PreparedDump, lines: readonly string[], label: string): void {
  const kept = cache.uploads.get(spliced.originalSha256);
  if (!kept) return;
  const fresh = createSpliceCache();
  assert.ok(runSteps(rememberForSpliceSteps(fresh, { ...full, canonicalLines: full.canonicalText.split('\n') }, lines)), `${label}: the whole text is kept too`);
  const want = fresh.uploads.get(full.originalSha256)!;
  const arrays = (u: typeof want) => ({ lineKind: Array.from(u.lineKind), lineChain: Array.from(u.lineChain), structure: Array.from(u.structure), declAt: Array.from(u.declAt), runStart: Array.from(u.runStart), counters: u.counters });
  assert.deepEqual(arrays(kept), arrays(want), `${label}: kept upload layout`);
  const key = canonicalKey(full.family, full.sha256);
  const k = cache.canonical.get(key)!;
  const w = fresh.canonical.get(key)!;
  const layout = (x: typeof w) => ({
    text: x.pieces.join(''),
    length: x.length,
    ruleCount: Array.from(x.ruleCount),
    blockStart: Array.from(x.blockStart),
    blockEnd: Array.from(x.blockEnd),
    policySlot: Array.from(x.policySlot),
    ruleSlot: Array.from(x.ruleSlot),
    lines: x.lines ?? x.pieces.join('').split('\n'),
    builtins: x.tables.map((t) => t.builtins),
  });
  assert.deepEqual(layout(k), layout(w), `${label}: kept canonical layout`);
  const at = chainLines(w.tables, w.ruleCount);
  if (k.at) assert.deepEqual([Array.from(k.at.declLine), Array.from(k.at.ruleLine)], [Array.from(at.declLine), Array.from(at.ruleLine)], `${label}: kept chain lines`);
  if (k.rules !== undefined) assert.equal(k.rules, full.stats.rules, `${label}: kept rule count`);
}
