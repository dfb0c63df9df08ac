// From an uploaded nftables ruleset (`nft -j list ruleset` JSON or `nft list
// ruleset` text) to what the store keeps, as ingest.ts does for iptables:
// parse, strip the live values, print the canonical text, hash it. Pure: no
// database here (the agent fingerprints its snapshots with it).
//
// Live values are what the kernel changes by itself while the ruleset stays
// the same: counters (rule statements, set elements, named counter objects),
// quotas' `used`, set elements' `expires`, and the elements of `dynamic` sets
// (added by packets, e.g. kube-proxy's session affinity). The canonical text
// leaves them out so they never make a new version; the uploaded text keeps
// them (`/raw`, and the counters the read routes show).
//
// One ruleset is one version whether it came as `nft -j list ruleset` or as
// `nft list ruleset`: the printer spells both the way nft lists them, a set
// updated from the packet path is dynamic in both (the JSON of nft 1.0.6
// drops the flag), and the comments of tables and chains and sets' auto-merge,
// which that JSON does not carry, are left out of the canonical text (the
// uploaded text keeps them).
import { nftDonor, parseNftJson, parseNftJsonSteps, parseNftText, parseNftTextSteps, printNftRulesetSteps, packetUpdatedSets, isDynamicSet, runSteps, type NftDiagnostic, type NftRuleset, type NftTable, type Steps } from '../netfilter/index.ts';
import { DumpParseError, type Problem } from './errors.ts';
import { nftRulesAddedSteps } from './nft-cache.ts';
import { sha256HexSteps } from './hash.ts';
import type { PreparedDump, RulesetStats } from './ingest.ts';

/** A prepared nft ruleset: what PreparedDump is for an iptables dump. */
export interface PreparedNftDump extends Omit<PreparedDump, 'family' | 'format' | 'ruleset' | 'uploadedRuleset' | 'canonicalExact'> {
  readonly family: 'nft';
  readonly format: NftDumpFormat;
  readonly canonicalExact: false;
  /**
   * The parse of the uploaded text (`parseNftDump(originalText, format)`): what the read routes
   * (`loadNftBlob` of `originalSha256`) would parse again, so the upload's parse can be theirs.
   * Absent when the stored bytes are not the UTF-8 of `originalText` (`originalBytes`).
   */
  readonly uploadedRuleset?: NftRuleset;
  /** The parse `uploadedRuleset` shares its equal objects with (`PrepareNftOptions.donor`), and its weight beside it (nft-cache.ts). */
  readonly donor?: NftRuleset;
  readonly addedToDonor?: number;
}

/** What an upload records: an iptables dump of one family, or an nft ruleset. */
export type PreparedVersion = PreparedDump | PreparedNftDump;

export const NFT_FORMATS = ['nft-json', 'nft-text'] as const;
export type NftDumpFormat = (typeof NFT_FORMATS)[number];
export const isNftFormat = (f: string | undefined): f is NftDumpFormat => f === 'nft-json' || f === 'nft-text';

const NFT_TEXT_START = /^(table|add|create|insert|replace|delete|destroy|flush|define|redefine|undefine|include|list)\s/;

/**
 * Whether a text is an nftables ruleset rather than an iptables dump: JSON
 * (no iptables format starts with `{`) or nft syntax (`table inet filter {`,
 * `add table ...`, `flush ruleset`, `define`) on its first line that is not a
 * comment. iptables-save, `-S` and `-L` start with `*`, `:`, `-`, `#` or `Chain`.
 */
export function looksLikeNft(text: string): boolean {
  for (const raw of text.split('\n', 200)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    return line.startsWith('{') || NFT_TEXT_START.test(line);
  }
  return false;
}

/** The format of an nft text: JSON when it starts with `{`. */
export const detectNftFormat = (text: string): NftDumpFormat => (text.trimStart().startsWith('{') ? 'nft-json' : 'nft-text');

/** Parses an nft text of the given (or detected) format. */
export function parseNftDump(text: string, format: NftDumpFormat = detectNftFormat(text)) {
  return format === 'nft-json' ? parseNftJson(text) : parseNftText(text);
}

/**
 * `parseNftDump` as steps that pause (for a server's event loop: `runStepsYielding`). `donor`:
 * another parse of the same ruleset (its other text), whose objects this parse keeps wherever its
 * own are equal to them (share.ts), so the two share them when both are cached.
 */
export function parseNftDumpSteps(text: string, format: NftDumpFormat = detectNftFormat(text), donor?: NftRuleset) {
  const options = { donor: donor ? nftDonor(donor) : undefined };
  return format === 'nft-json' ? parseNftJsonSteps(text, options) : parseNftTextSteps(text, options);
}

type Drop = (o: Record<string, unknown>) => readonly string[] | null;

/** Array items visited between two pauses. */
const PAUSE_ITEMS = 256;

/**
 * `value` without the keys `drop(obj)` names, anywhere in it: a copy of what contains such a
 * key, the very objects elsewhere (the model is readonly: a ruleset without live values shares
 * everything else with the one it came from, instead of doubling it for a moment). The top
 * `depth` levels (a table's chains, their rules; its sets, their elements) are visited item by
 * item with pauses, anything deeper at once.
 */
function* withoutSteps(value: unknown, drop: Drop, depth: number): Steps<unknown> {
  if (value === null || typeof value !== 'object') return value;
  if (depth === 0) return withoutNow(value, drop);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      if (i % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
      const v = yield* withoutSteps(value[i], drop, depth - 1);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  const o = value as Record<string, unknown>;
  const skip = drop(o);
  let changed = false;
  const kept: [string, unknown][] = [];
  for (const k of Object.keys(o)) {
    if (skip?.includes(k)) {
      changed = true;
      continue;
    }
    const v = yield* withoutSteps(o[k], drop, depth - 1);
    if (v !== o[k]) changed = true;
    kept.push([k, v]);
  }
  return changed ? Object.fromEntries(kept) : o;
}

/** `withoutSteps` at depth 0, as plain recursion (no generator per node). */
function withoutNow(value: unknown, drop: Drop): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = withoutNow(value[i], drop);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  const o = value as Record<string, unknown>;
  const skip = drop(o);
  let changed = false;
  const kept: [string, unknown][] = [];
  for (const k of Object.keys(o)) {
    if (skip?.includes(k)) {
      changed = true;
      continue;
    }
    const v = withoutNow(o[k], drop);
    if (v !== o[k]) changed = true;
    kept.push([k, v]);
  }
  return changed ? Object.fromEntries(kept) : o;
}

const dropLiveValues: Drop = (o) => {
  if (o['kind'] === 'counter' && o['name'] === undefined) return ['packets', 'bytes'];
  if (o['kind'] === 'quota') return ['used'];
  // Set elements (declared or anonymous): the countdown and the element counters.
  if ('key' in o && ('expires' in o || 'counter' in o)) return ['expires', 'counter'];
  return null;
};

/** The ruleset without live values (see the file comment). */
export function stripNftLiveValues(ruleset: NftRuleset): NftRuleset {
  return runSteps(stripNftLiveValuesSteps(ruleset));
}

/** `stripNftLiveValues`, pausing every few hundred chains, rules and set elements. */
export function* stripNftLiveValuesSteps(ruleset: NftRuleset): Steps<NftRuleset> {
  const tables: NftTable[] = [];
  for (const { comment: _comment, ...t } of ruleset.tables) {
    const updated = packetUpdatedSets(t);
    yield;
    const chains = new Array<NftTable['chains'][number]>(t.chains.length);
    for (let i = 0; i < t.chains.length; i++) {
      if (i % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
      const { comment: _c, ...c } = t.chains[i]!;
      chains[i] = c;
    }
    tables.push({
      ...t,
      chains,
      // auto-merge only says how nft merges elements it is given: not in nft -j's output, not in the canonical text
      sets: t.sets.map(({ autoMerge: _merge, ...s }) => (isDynamicSet(s, updated) ? { ...s, flags: s.flags.includes('dynamic') ? s.flags : ['dynamic', ...s.flags], elements: [] } : s)),
      objects: t.objects.map((o) => {
        if (o.type === 'counter') return { ...o, props: {} };
        if (o.type === 'quota') {
          const { used: _used, ...props } = o.props;
          return { ...o, props };
        }
        return o;
      }),
    });
  }
  // {tables} → tables → table → chains/sets → chain/set → rules/elements → rule/element: pauses down to there.
  return (yield* withoutSteps({ tables }, dropLiveValues, 6)) as NftRuleset;
}

export function nftStats(ruleset: NftRuleset): RulesetStats {
  let chains = 0;
  let rules = 0;
  for (const t of ruleset.tables) {
    chains += t.chains.length;
    for (const c of t.chains) rules += c.rules.length;
  }
  return { tables: ruleset.tables.length, chains, rules };
}

/** Problems listed in a 422 at most. */
const MAX_PROBLEMS = 200;

const toProblem = (d: NftDiagnostic): Problem => ({ line: d.line, column: d.column, severity: d.severity, code: d.code, message: d.message });

export interface PrepareNftOptions {
  readonly format?: NftDumpFormat | undefined;
  /** Name of the request field the text came from, for problem documents. */
  readonly field?: string | undefined;
  /** Also refuse warnings (syntax packetpath keeps verbatim without knowing it). */
  readonly strict?: boolean | undefined;
  /** The bytes as sent, when they are not the UTF-8 of `text` (see PrepareOptions). */
  readonly originalBytes?: Uint8Array | undefined;
  /**
   * A cached parse to share equal objects with (share.ts): another node's of the same cluster
   * shares nearly all (the answer is the same whatever the donor; an unrelated one shares nothing).
   */
  readonly donor?: NftRuleset | undefined;
}

/**
 * Parses an uploaded nft ruleset. Throws DumpParseError (→ 422, line and
 * column of each error) when the text has any error diagnostic: nft itself
 * would refuse it (`nft -f`), so nothing is stored; with `strict`, also
 * when it has a warning (syntax packetpath kept verbatim without knowing it).
 * An empty ruleset (a node without nft tables) is a valid version.
 */
export function prepareNftDump(text: string, options: PrepareNftOptions = {}): PreparedNftDump {
  return runSteps(prepareNftDumpSteps(text, options));
}

/** `prepareNftDump` as steps that pause (parse, stripping, printing and hashing alike), for a server's event loop (`runStepsYielding`). */
export function* prepareNftDumpSteps(text: string, options: PrepareNftOptions = {}): Steps<PreparedNftDump> {
  const field = options.field ?? 'nft';
  const format = options.format ?? detectNftFormat(text);
  const result = yield* parseNftDumpSteps(text, format, options.donor);
  const errors = result.diagnostics.filter((d) => d.severity === 'error' || options.strict);
  if (errors.length) {
    const more = errors.length > MAX_PROBLEMS ? ` (first ${MAX_PROBLEMS} of ${errors.length} listed)` : '';
    const first = errors[0]!;
    throw new DumpParseError(
      `${field} is not a ruleset nft would load (${format}): line ${first.line}, column ${first.column}: ${first.message}${more}`,
      errors.slice(0, MAX_PROBLEMS).map(toProblem),
      field,
    );
  }
  const canonicalText = yield* printNftRulesetSteps(yield* stripNftLiveValuesSteps(result.ruleset));
  return {
    family: 'nft',
    format,
    originalText: text,
    ...(options.originalBytes ? { originalBytes: options.originalBytes } : { uploadedRuleset: result.ruleset, ...(options.donor ? { donor: options.donor, addedToDonor: yield* nftRulesAddedSteps(result.ruleset, options.donor) } : {}) }),
    originalSha256: yield* sha256HexSteps(options.originalBytes ?? text),
    canonicalText,
    sha256: yield* sha256HexSteps(canonicalText),
    countersJson: null,
    stats: nftStats(result.ruleset),
    diagnostics: result.diagnostics.map(toProblem),
    canonicalExact: false,
  };
}
