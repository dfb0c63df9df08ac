// Parsed rulesets of stored dumps, cached by content hash so query endpoints
// (trace, diff, ...) do not re-parse. The cache is an object the app owns
// (passed to buildApp), never a module-level singleton.
import { newRuleLineMemo, parseDumpSteps, type NftRuleset, type Diagnostic, type DumpFormat, type Family, type Ruleset, type RuleLineMemo } from '../netfilter/index.ts';
import { getBlobText } from './blobs.ts';
import type { Client } from './db.ts';
import type { DumpInfo } from './dumps.ts';
import { InvalidInputError } from './errors.ts';
import type { PreparedDump } from './ingest.ts';
import { parseNftDumpSteps, type NftDumpFormat, type PreparedNftDump } from './nft-ingest.ts';
import { createSpliceCache, type SpliceCache } from './splice-layout.ts';
import { LruCache } from './lru-cache.ts';
import { EVENT_LOOP_TURNS, runStepsYielding, type ParseYielding } from './yielding.ts';
import { createNftRulesetCache, nftRulesAddedSteps, type NftRulesetCache } from './nft-cache.ts';

export { LruCache };

/**
 * Which text to parse: `canonical` (counters stripped, normalized; rule
 * `line`s refer to the `/canonical` text; shared by every dump with the same
 * sha256) or `original` (the latest uploaded text, with its counters and its
 * own line numbers).
 */
export type RulesetSource = 'canonical' | 'original';

export interface ParsedRuleset {
  readonly ruleset: Ruleset;
  readonly format: DumpFormat;
  readonly diagnostics: readonly Diagnostic[];
}

/** The parsed rulesets kept, and the parses under way (one per key, whoever asks). */
export type RulesetCache = LruCache<string, ParsedRuleset> & {
  readonly parsing: Map<string, Promise<ParsedRuleset>>;
  /** Parsed nft rulesets (a node's `nft` versions) by canonical sha256, and their parses under way. */
  readonly nft: NftRulesetCache;
  /** How a cold parse lets other work run: after `sliceMs` of parsing, it waits for `pause()`. */
  readonly yielding: ParseYielding;
  /**
   * Rule lines parsed before, per family, shared by every node (a cluster's nodes share most of
   * theirs): cold parses and delta uploads parse only lines not seen lately (the memo keeps up to
   * twice the cache's rule budget, 300,000 without one).
   */
  readonly lineMemos: Readonly<Record<Family, RuleLineMemo>>;
  /** What delta uploads are spliced from (splice.ts): the layouts of recent uploads and their canonical texts. */
  readonly splices: SpliceCache;
};

export { EVENT_LOOP_TURNS, runStepsYielding, type ParseYielding } from './yielding.ts';

/** A parsed ruleset's weight in the cache: its rules (about 1-2 KB of heap each). */
const rulesOf = (p: ParsedRuleset): number => p.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length + 1, 0), 0);

/** At most `max` parsed rulesets and at most `maxRules` rules in all (the memory they hold). */
export const createRulesetCache = (max = 64, maxRules = Infinity, yielding = EVENT_LOOP_TURNS): RulesetCache =>
  Object.assign(new LruCache<string, ParsedRuleset>(max, { maxWeight: maxRules, weigh: rulesOf }), {
    parsing: new Map<string, Promise<ParsedRuleset>>(),
    yielding,
    lineMemos: { ipv4: newRuleLineMemo('ipv4', Number.isFinite(maxRules) ? maxRules : 300_000), ipv6: newRuleLineMemo('ipv6', Number.isFinite(maxRules) ? maxRules : 300_000) },
    nft: createNftRulesetCache(max, maxRules),
    splices: createSpliceCache(),
  });

/**
 * The parsed nft ruleset of a node's `nft` version, from its canonical text (what printNftRuleset
 * wrote, without live values), cached by its sha256; one parse however many requests ask, run in
 * slices like an iptables one.
 */
export async function loadNftRuleset(client: Client, cache: RulesetCache, dump: DumpInfo, donor?: NftRuleset): Promise<NftRuleset> {
  if (dump.family !== 'nft') throw new Error(`dump ${dump.id} is not an nft ruleset`);
  return loadNftBlob(client, cache, dump.sha256, 'nft-text', dump.originalSha256, donor);
}

/**
 * The parsed nft ruleset of a stored text (a version's canonical text, or its uploaded one, which
 * keeps handles and counters), by sha256 in the same cache: same bytes, same parse. `otherSha256`:
 * the version's other text, whose parse, when cached (an upload's parse is), this one shares every
 * equal object with: a node's reads and traces then hold one model's worth, not two.
 * `preferredDonor`: another parse to share with instead (a diff's other side, the same kind of text
 * of a twin node: it shares nearly everything).
 */
export async function loadNftBlob(client: Client, cache: RulesetCache, sha256: string, format: NftDumpFormat, otherSha256?: string, preferredDonor?: NftRuleset): Promise<NftRuleset> {
  let donor: NftRuleset | undefined;
  let added: number | undefined;
  return parseOnce(
    cache.nft,
    cache.nft.parsing,
    sha256,
    async () => {
      const text = await blobTextOf(client, sha256);
      donor = preferredDonor ?? (otherSha256 === undefined || otherSha256 === sha256 ? undefined : cache.nft.peek(otherSha256));
      const { ruleset } = await runStepsYielding(parseNftDumpSteps(text, format, donor), cache.yielding);
      // Its weight in the cache (what it adds to the donor), weighed in slices too.
      if (donor) added = await runStepsYielding(nftRulesAddedSteps(ruleset, donor), cache.yielding);
      return ruleset;
    },
    (key, value) => cache.nft.keep(key, value, donor, added),
  );
}

/** A stored text by sha256, which must exist (a version's blob). */
async function blobTextOf(client: Client, sha256: string): Promise<string> {
  const text = await getBlobText(client, sha256);
  if (text === null) throw new Error(`blob ${sha256} is missing`);
  return text;
}

/** `key`'s value from `cache`, else from the parse under way for it, else from a new `parse` (kept once done). */
function parseOnce<V>(cache: LruCache<string, V>, parsing: Map<string, Promise<V>>, key: string, parse: () => Promise<V>, keep = (k: string, value: V) => cache.set(k, value)): Promise<V> {
  const hit = cache.get(key);
  if (hit) return Promise.resolve(hit);
  const pending = parsing.get(key);
  if (pending) return pending;
  const job = parse()
    .then((value) => {
      keep(key, value);
      return value;
    })
    .finally(() => parsing.delete(key));
  parsing.set(key, job);
  return job;
}

export interface LoadedRuleset extends ParsedRuleset {
  readonly dump: DumpInfo;
  readonly source: RulesetSource;
}

/** The cache key of a blob's parsed ruleset. */
export const rulesetCacheKey = (source: RulesetSource, family: Family, sha256: string): string => `${source}:${family}:${sha256}`;

/**
 * Puts an upload's parsed canonical ruleset in the cache, so the first query
 * after an upload does not gunzip and re-parse the canonical text. Only when
 * the prepared ruleset is exactly what that parse gives (`canonicalExact`),
 * and not over an entry already there (it may be compiled for tracing).
 * Returns whether it was added.
 */
export function primeCanonicalRuleset(cache: RulesetCache, prepared: PreparedDump): boolean {
  if (!prepared.canonicalExact || cache.max <= 0 || !prepared.ruleset) return false;
  const key = rulesetCacheKey('canonical', prepared.family, prepared.sha256);
  if (cache.has(key)) return false;
  cache.set(key, { ruleset: prepared.ruleset, format: 'iptables-save', diagnostics: [] });
  return true;
}

/**
 * Puts an upload's parse of its uploaded text in the cache as that text's parse (`original`: the
 * chain and rule reads, with counters), when it is exactly that: no diagnostic (a strict upload's
 * would differ in severity), and the stored text is the one parsed (not other `originalBytes`).
 * Its rules share their matches with the canonical ruleset's. Not over an entry already there.
 */
export function primeUploadedRuleset(cache: RulesetCache, prepared: PreparedDump): boolean {
  if (!prepared.uploadedRuleset || prepared.diagnostics.length > 0 || prepared.originalBytes || cache.max <= 0) return false;
  const key = rulesetCacheKey('original', prepared.family, prepared.originalSha256);
  if (cache.has(key)) return false;
  cache.set(key, { ruleset: prepared.uploadedRuleset, format: prepared.format, diagnostics: [] });
  return cache.has(key);
}

/**
 * Puts an nft upload's parse of its uploaded text in the cache under that text's sha256 (what
 * `loadNftBlob` of the version's `originalSha256` parses: the read routes' ruleset), so the first
 * read after the upload parses nothing. Not over an entry already there. Returns whether it was added.
 */
export function primeUploadedNftRuleset(cache: RulesetCache, prepared: PreparedNftDump): boolean {
  if (!prepared.uploadedRuleset || cache.nft.max <= 0 || cache.nft.has(prepared.originalSha256)) return false;
  cache.nft.keep(prepared.originalSha256, prepared.uploadedRuleset, prepared.donor, prepared.addedToDonor);
  return cache.nft.has(prepared.originalSha256);
}

/** Parses (or takes from the cache) the ruleset of a text blob. */
export async function loadBlobRuleset(
  client: Client,
  cache: RulesetCache,
  sha256: string,
  family: Family,
  format: DumpFormat,
  source: RulesetSource,
): Promise<ParsedRuleset> {
  return parseOnce(cache, cache.parsing, rulesetCacheKey(source, family, sha256), async () => {
    const text = await blobTextOf(client, sha256);
    const result = await runStepsYielding(parseDumpSteps(text, { family, format: source === 'canonical' ? 'iptables-save' : format, lineMemo: cache.lineMemos[family] }), cache.yielding);
    return { ruleset: result.ruleset, format: result.format, diagnostics: result.diagnostics };
  });
}

/** The parsed ruleset of a stored dump version (its metadata already read). */
export async function loadDumpRuleset(client: Client, cache: RulesetCache, dump: DumpInfo, source: RulesetSource = 'canonical'): Promise<LoadedRuleset> {
  if (dump.family === 'nft') throw new InvalidInputError(`dump ${dump.id} is an nftables ruleset; this operation reads iptables dumps`, [{ path: '/dump', message: 'is an nft ruleset' }]);
  const sha = source === 'canonical' ? dump.sha256 : dump.originalSha256;
  const parsed = await loadBlobRuleset(client, cache, sha, dump.family, dump.format as DumpFormat, source);
  return { ...parsed, dump, source };
}
