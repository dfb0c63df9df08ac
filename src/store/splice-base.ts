// The splice fast path across a fleet (issue 15). A delta upload is spliced
// from its base's layouts (splice.ts), which a server keeps in memory for a few
// nodes only (≈ 8 of 10k Services): at fleet scale most bases are not there,
// and the upload took the memo path (a parse of every line not seen lately,
// ≈ 2 s of CPU for 10k Services). Here such a base's layouts are made from
// what the upload reads anyway and from the store:
// - the canonical layout, shared by every node with that canonical text (a
//   cluster's nodes: made once per server), from the canonical text and its
//   parse (the ruleset cache's entry, as the first trace would load it);
// - the node's own parts: its uploaded text's line map, from the base's lines
//   (read for the script anyway, delta-base.ts), and its counters in the
//   canonical text's order, from its own small counters blob.
// What the splice then makes is what the full path makes (test/api/delta-base.test.ts).
import { createHash } from 'node:crypto';
import { parseDumpSteps, type Family, type Ruleset } from '../netfilter/index.ts';
import { blobLines, getCounters } from './blobs.ts';
import type { Client } from './db.ts';
import type { DeltaBaseCache } from './delta-cache.ts';
import type { DumpInfo } from './dumps.ts';
import type { CounterText } from './counters-codec.ts';
import { rulesetCacheKey, runStepsYielding, type ParsedRuleset, type RulesetCache } from './rulesets.ts';
import { hasCanonical, rememberStoredSteps } from './splice-layout.ts';

/**
 * Makes the splice cache's entry of a node's last upload (`dump`, its latest version; `lines`, its
 * uploaded text's lines) unless kept: only for a plain iptables-save upload without diagnostics, as
 * for an upload kept when prepared (splice-layout.ts `rememberForSpliceSteps`). Parses the canonical
 * text when its ruleset is not cached (once per ruleset a cluster's nodes share, as its first trace
 * would). Returns whether the entry is there.
 */
export async function rememberStoredBase(tx: Client, cache: RulesetCache, bases: DeltaBaseCache, dump: DumpInfo, lines: readonly string[]): Promise<boolean> {
  const splices = cache.splices;
  if (splices.uploads.has(dump.originalSha256)) return true;
  if (dump.family === 'nft' || dump.format !== 'iptables-save' || dump.diagnostics.length > 0) return false;
  const shapeKey = await uploadShapeKey(tx, dump);
  // Lines are split on '\n' only; a CR would be read as part of a line by the splice and as white space by the
  // parser. Known shape: its lines were checked (a counter holds none).
  if (shapeKey === null || !bases.uploadShapes.has(shapeKey)) for (const line of lines) if (line.includes('\r')) return false;
  const row = await tx.dump.findUnique({ where: { id: dump.id }, select: { countersSha256: true } });
  if (!row) return false;
  let counters: readonly CounterText[] | null = null;
  if (row.countersSha256) {
    // Null: counters kept as JSON (rows from before the counters encoding): not in text order.
    // Decoded when its lines were read (its counted delta's counters): kept in `bases.counters`.
    counters = await getCounters(tx, row.countersSha256, bases.counters);
    if (!counters) return false;
  }
  const canonical = await canonicalRuleset(tx, cache, bases, dump.family, dump.sha256, !hasCanonical(splices, dump.family, dump.sha256));
  if (!canonical) return false;
  const shape = shapeKey === null ? undefined : { key: shapeKey, shapes: bases.uploadShapes };
  return runStepsYielding(rememberStoredSteps(splices, { family: dump.family, sha256: dump.sha256, ...canonical }, dump.originalSha256, lines, counters, shape), cache.yielding);
}

/**
 * What an uploaded text's lines are made of but for their counters, when it is stored as a counted
 * delta: its canonical base, its line delta (by sha256) and whether counters are merged in. Texts
 * with the same key have the same lines but for the `[p:b]` of their rules and declarations
 * (encoding.ts `countedLines`), so the same splice line layout (splice-layout.ts `uploadOf`: no
 * line's kind or chain depends on its counter). Null for any other encoding.
 */
async function uploadShapeKey(tx: Client, dump: DumpInfo): Promise<string | null> {
  const blob = await tx.blob.findUnique({ where: { sha256: dump.originalSha256 }, select: { encoding: true, baseSha256: true, countersSha256: true, data: true } });
  if (blob?.encoding !== 'counted-delta' || !blob.baseSha256) return null;
  const delta = createHash('sha256').update(blob.data).digest('hex');
  return `${dump.family}:${dump.sha256}:${blob.baseSha256}:${blob.countersSha256 ? 'counted' : 'bare'}:${delta}`;
}

/** The canonical ruleset of a stored delta base (`DeltaBaseCache.baseRuleset`), for the splice when the ruleset cache let it go. */
export function storedBaseRuleset(bases: DeltaBaseCache, family: Family, sha256: string): Ruleset | undefined {
  const kept = bases.baseRuleset;
  return kept?.family === family && kept.sha256 === sha256 ? kept.ruleset : undefined;
}

/**
 * A canonical text's parse, the ruleset cache's entry (parsed and kept when missing, as
 * `loadBlobRuleset` does, but read over the cluster's shared whole lines), and, with `withText`,
 * the text; null when the parse has a diagnostic (not the exact parse the splice needs).
 */
async function canonicalRuleset(tx: Client, cache: RulesetCache, bases: DeltaBaseCache, family: Family, sha256: string, withText: boolean): Promise<{ ruleset: Ruleset; text: string | null } | null> {
  const key = rulesetCacheKey('canonical', family, sha256);
  let text: string | null = null;
  const read = async (): Promise<string> => {
    const lines = await blobLines(tx, sha256, bases);
    if (lines === null) throw new Error(`blob ${sha256} (a canonical text) is missing`);
    return lines.join('\n');
  };
  const kept = storedBaseRuleset(bases, family, sha256);
  let parsed: ParsedRuleset | undefined = cache.get(key) ?? (await cache.parsing.get(key));
  // Kept only when it parsed without a diagnostic.
  if (!parsed && kept) parsed = { ruleset: kept, format: 'iptables-save', diagnostics: [] };
  if (!parsed) {
    text = await read();
    const source = text;
    const job = runStepsYielding(parseDumpSteps(source, { family, format: 'iptables-save', lineMemo: cache.lineMemos[family] }), cache.yielding)
      .then((r): ParsedRuleset => {
        const value = { ruleset: r.ruleset, format: r.format, diagnostics: r.diagnostics };
        cache.set(key, value);
        return value;
      })
      .finally(() => cache.parsing.delete(key));
    cache.parsing.set(key, job);
    parsed = await job;
  }
  if (parsed.diagnostics.length > 0) return null;
  bases.baseRuleset = { family, sha256, ruleset: parsed.ruleset };
  return { ruleset: parsed.ruleset, text: withText ? (text ?? (await read())) : null };
}
