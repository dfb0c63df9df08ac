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
import { parseNftJson, parseNftJsonSteps, parseNftText, parseNftTextSteps, printNftRuleset, packetUpdatedSets, isDynamicSet, type NftDiagnostic, type NftRuleset } from '../netfilter/index.ts';
import { DumpParseError, type Problem } from './errors.ts';
import { sha256Hex } from './hash.ts';
import type { PreparedDump, RulesetStats } from './ingest.ts';

/** A prepared nft ruleset: what PreparedDump is for an iptables dump. */
export interface PreparedNftDump extends Omit<PreparedDump, 'family' | 'format' | 'ruleset' | 'canonicalExact'> {
  readonly family: 'nft';
  readonly format: NftDumpFormat;
  readonly canonicalExact: false;
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

/** `parseNftDump` as steps that pause (for a server's event loop: `runStepsYielding`). */
export function parseNftDumpSteps(text: string, format: NftDumpFormat = detectNftFormat(text)) {
  return format === 'nft-json' ? parseNftJsonSteps(text) : parseNftTextSteps(text);
}

/** A deep copy of `value` without the keys `drop(obj)` names. */
function without(value: unknown, drop: (o: Record<string, unknown>) => readonly string[] | null): unknown {
  if (Array.isArray(value)) return value.map((v) => without(v, drop));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const skip = drop(o);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (!skip?.includes(k)) out[k] = without(o[k], drop);
  return out;
}

/** The ruleset without live values (see the file comment). */
export function stripNftLiveValues(ruleset: NftRuleset): NftRuleset {
  const tables = ruleset.tables.map(({ comment: _comment, ...t }) => {
    const updated = packetUpdatedSets(t);
    return {
      ...t,
      chains: t.chains.map(({ comment: _c, ...c }) => c),
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
    };
  });
  return without({ tables }, (o) => {
    if (o['kind'] === 'counter' && o['name'] === undefined) return ['packets', 'bytes'];
    if (o['kind'] === 'quota') return ['used'];
    // Set elements (declared or anonymous): the countdown and the element counters.
    if ('key' in o && ('expires' in o || 'counter' in o)) return ['expires', 'counter'];
    return null;
  }) as NftRuleset;
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
}

/**
 * Parses an uploaded nft ruleset. Throws DumpParseError (→ 422, line and
 * column of each error) when the text has any error diagnostic: nft itself
 * would refuse it (`nft -f`), so nothing is stored; with `strict`, also
 * when it has a warning (syntax packetpath kept verbatim without knowing it).
 * An empty ruleset (a node without nft tables) is a valid version.
 */
export function prepareNftDump(text: string, options: PrepareNftOptions = {}): PreparedNftDump {
  const field = options.field ?? 'nft';
  const format = options.format ?? detectNftFormat(text);
  const result = parseNftDump(text, format);
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
  const canonicalText = printNftRuleset(stripNftLiveValues(result.ruleset));
  return {
    family: 'nft',
    format,
    originalText: text,
    ...(options.originalBytes ? { originalBytes: options.originalBytes } : {}),
    originalSha256: sha256Hex(options.originalBytes ?? text),
    canonicalText,
    sha256: sha256Hex(canonicalText),
    countersJson: null,
    stats: nftStats(result.ruleset),
    diagnostics: result.diagnostics.map(toProblem),
    canonicalExact: false,
  };
}
