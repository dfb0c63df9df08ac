// From uploaded text to what the store keeps: parse (src/netfilter), strip
// counters, render the canonical text, hash it. Pure: no database here.
import {
  diagnosticToJson,
  parseDumpSteps,
  renderBlocks,
  runSteps,
  rulesetStats,
  type Chain,
  type Diagnostic,
  type DumpFormat,
  type Family,
  type Rule,
  type Ruleset,
  type RuleLineMemo,
  type Steps,
  type Table,
} from '../netfilter/index.ts';
import type { CanonicalLayout, CounterText } from './counters-codec.ts';
import type { TextHints } from './splice-deltas.ts';
import { sha256HexSteps } from './hash.ts';
import { DumpParseError, type Problem } from './errors.ts';

export interface PrepareOptions {
  /** Force the address family (default: detected from the text). */
  readonly family?: Family | undefined;
  /** Skip format detection. */
  readonly format?: DumpFormat | undefined;
  /** Reject anything iptables-restore would reject (any error diagnostic → DumpParseError). */
  readonly strict?: boolean | undefined;
  /** Name of the request field the text came from, for problem documents. */
  readonly field?: string | undefined;
  /**
   * The bytes as sent, when they are not the UTF-8 of `text` (a Latin-1
   * comment, say): stored and returned as they are, and hashed for
   * `originalSha256`; `text` is their decoding, which is parsed.
   */
  readonly originalBytes?: Uint8Array | undefined;
  /**
   * The node's rule lines parsed (and rendered) before: a re-upload parses and
   * renders only the lines it has not seen; the result is the same.
   */
  readonly lineMemo?: RuleLineMemo | undefined;
  /** sha256 of the text (or of `originalBytes`) when the caller has it already (a delta's text, checked against it): not hashed again. */
  readonly originalSha256?: string | undefined;
}

export interface RulesetStats {
  readonly tables: number;
  readonly chains: number;
  readonly rules: number;
}

export interface PreparedDump {
  readonly family: Family;
  readonly format: DumpFormat;
  readonly originalText: string;
  /** Set when the upload's bytes are not the UTF-8 of `originalText`: they are what is stored. */
  readonly originalBytes?: Uint8Array;
  readonly originalSha256: string;
  /** iptables-save text of the ruleset with every counter removed. */
  readonly canonicalText: string;
  /** sha256 of `canonicalText`: the identity of a version. */
  readonly sha256: string;
  /**
   * The lines of `originalText` and of `canonicalText` when the preparer has
   * them already (a delta's rebuilt lines, a spliced canonical text): the
   * store then does not split the texts again.
   */
  readonly originalLines?: readonly string[];
  /**
   * The uploaded text's length in UTF-8 bytes and in UTF-16 units, when known without reading
   * `originalText` (a delta's text is joined from `originalLines` only when read).
   */
  readonly originalSize?: number;
  readonly originalLength?: number;
  readonly canonicalLines?: readonly string[];
  /** The UTF-8 length of `canonicalText` when known (a spliced text: the store then need not flatten it to measure it). */
  readonly canonicalSize?: number;
  /** `canonicalLayout(canonicalLines)` when the preparer has it (a spliced text: from its chains' sizes, no pass over its lines). */
  readonly canonicalLayout?: CanonicalLayout;
  /** What a spliced delta knows of its texts' lines against its base version's (the store's line deltas then compare only the rest). */
  readonly textHints?: TextHints;
  /** Counters as compact JSON (see `extractCounters`), null when the dump had none. */
  readonly countersJson: string | null;
  /**
   * The same counters in the text order of `canonicalText` (what
   * `countersInTextOrder(canonicalText, countersJson)` gives, without reading
   * the JSON back), when they are known to line up with it: set only for a
   * dump without error diagnostics whose tables all have chains, and whose
   * table names, and chain names in each table, are distinct, without spaces
   * and no JSON array index (the store reads the JSON otherwise).
   */
  readonly countersInTextOrder?: readonly CounterText[];
  readonly stats: RulesetStats;
  readonly diagnostics: readonly Diagnostic[];
  /**
   * The parsed ruleset as `canonicalText` describes it: counters stripped,
   * chain policies `[0:0]`, and every chain's and rule's `line` and rule's
   * `raw` taken from `canonicalText`. Absent when the dump was prepared in a
   * worker thread (the object graph is not worth sending back).
   */
  readonly ruleset?: Ruleset;
  /**
   * The parse of the uploaded text itself (counters, its own lines and `raw`s): what the
   * read routes' parse of it (`original`) gives when it has no diagnostic. Absent like `ruleset`.
   */
  readonly uploadedRuleset?: Ruleset;
  /**
   * True when `ruleset` is exactly what parsing `canonicalText` gives (with no
   * diagnostics), so it can stand in for that parse (the ruleset cache):
   * iptables-save and `iptables -S` input that parsed without any
   * diagnostic. Listings (`iptables -L`) are modelled differently from their
   * canonical rendering, and diagnostics of the original do not carry over.
   */
  readonly canonicalExact: boolean;
}

/** Chain counters of the canonical text (`[0:0]`), as its parse models them. */
const ZERO_COUNTERS = Object.freeze({ packets: 0n, bytes: 0n });

/** A rule of the canonical ruleset: `r` read back from the canonical text, at `line`, its text `raw`. */
export const canonicalRule = (r: Rule, line: number, raw: string): Rule => ({ position: r.position, line, raw, matches: r.matches, target: r.target });

/** A chain of the canonical ruleset: `c` declared at `line` with counters `[0:0]`, holding `rules`. */
export const canonicalChain = (c: Chain, line: number, rules: Rule[]): Chain => ({ name: c.name, builtin: c.builtin, policy: c.policy, counters: ZERO_COUNTERS, line, rules });

/**
 * The canonical form of a parsed ruleset in one pass: its iptables-save text
 * without counters (exactly `renderRuleset(stripCounters(r), {counters: false})`)
 * and the ruleset as that text reads back: chain counters `[0:0]`, `line`s
 * and rule `raw`s of the canonical text (raw strings are slices of it, as a
 * parse would make them).
 */
export function canonicalize(ruleset: Ruleset, lineMemo?: RuleLineMemo): { text: string; ruleset: Ruleset } {
  return runSteps(canonicalizeSteps(ruleset, lineMemo));
}

/** Blocks (a chain's rules, say) between pauses of the steps below. */
const PAUSE_BLOCKS = 255;

function* canonicalizeSteps(ruleset: Ruleset, lineMemo?: RuleLineMemo): Steps<{ text: string; ruleset: Ruleset }> {
  const texts: string[] = [];
  const tables: Table[] = [];
  let lineNo = 0; // lines before the current block
  let declared = 0; // line of the current table's first chain declaration
  const ruleLines = new Map<Chain, { first: number; raw: readonly string[] }>();
  for (const block of renderBlocks(ruleset, { counters: false, chainCounters: false, ...(lineMemo ? { specMemo: lineMemo.specs, chainMemo: lineMemo.chains } : {}) })) {
    if ((texts.length & PAUSE_BLOCKS) === PAUSE_BLOCKS) yield;
    texts.push(block.text);
    switch (block.kind) {
      case 'comment':
        lineNo++;
        break;
      case 'table':
        declared = lineNo + 2;
        lineNo += 1 + block.table.chains.length;
        break;
      case 'rules':
        ruleLines.set(block.chain, { first: lineNo + 1, raw: block.lines ?? block.text.split('\n') });
        lineNo += block.chain.rules.length;
        break;
      case 'commit': {
        const chains = block.table.chains.map((c, ci): Chain => {
          const at = ruleLines.get(c);
          return canonicalChain(c, declared + ci, c.rules.map((r, i) => canonicalRule(r, at!.first + i, at!.raw[i]!)));
        });
        tables.push({ name: block.table.name, chains });
        ruleLines.clear();
        lineNo++;
        break;
      }
    }
  }
  return { text: texts.length ? texts.join('\n') + '\n' : '', ruleset: { family: ruleset.family, tables } };
}

/** Problems listed in a 422 at most (the rest are counted in the message). */
const MAX_PROBLEMS = 200;

/** The ruleset with every chain and rule counter removed. */
export function stripCounters(ruleset: Ruleset): Ruleset {
  return {
    family: ruleset.family,
    tables: ruleset.tables.map((t) => ({
      name: t.name,
      chains: t.chains.map((c): Chain => {
        const { counters: _chainCounters, rules, ...chain } = c;
        return {
          ...chain,
          rules: rules.map((r): Rule => {
            const { counters: _ruleCounters, ...rule } = r;
            return rule;
          }),
        };
      }),
    })),
  };
}

/**
 * Counters of a ruleset as compact JSON text:
 * `{"filter":{"INPUT":{"policy":"12:3400","rules":["5:300",null]}}}`
 * (`packets:bytes`, exact; null for a rule without counters). Null when the
 * ruleset has no counters at all.
 */
export function extractCounters(ruleset: Ruleset): string | null {
  return runSteps(extractCountersSteps(ruleset));
}

function* extractCountersSteps(ruleset: Ruleset): Steps<string | null> {
  return (yield* countersSteps(ruleset, false)).json;
}

/** A counter as the counters JSON and text order spell it (`packets:bytes`), null for none. */
export const counterText = (k: { packets: bigint; bytes: bigint } | undefined): CounterText => (k ? `${k.packets}:${k.bytes}` : null);

/** A counter as a JSON value of the counters JSON. */
const quoted = (c: CounterText | undefined): string => (c === null || c === undefined ? 'null' : `"${c}"`);

/**
 * A name the store's reading of the JSON against the canonical text
 * (encoding.ts countersInTextOrder) would not line up: one JSON.parse puts
 * elsewhere among an object's keys (array indexes come first) or not at all,
 * or one a line's first space would cut.
 */
const reorderedKey = (name: string): boolean => name === '' || /^(?:0|[1-9]\d{0,9})$/.test(name) || name === '__proto__' || /\s/.test(name);

/**
 * Counters JSON and, with `inTextOrder`, the same counters in the canonical
 * text's order (per table: every chain's policy, then the rules chain by
 * chain, as renderBlocks prints them), or undefined when names could make
 * the JSON read back otherwise (see PreparedDump.countersInTextOrder).
 */
function* countersSteps(ruleset: Ruleset, inTextOrder: boolean): Steps<{ json: string | null; inTextOrder: CounterText[] | undefined }> {
  // Written out directly (not an object tree through JSON.stringify): a 10k-Service dump has 174k rules.
  // Each counter is spelled once, for the JSON and the text order both.
  let any = false;
  const tables: string[] = [];
  const order: CounterText[][] = [];
  let n = 0;
  for (const t of ruleset.tables) {
    const chains: string[] = [];
    const policies: CounterText[] = [];
    const ruleCounters: CounterText[][] = [];
    for (const c of t.chains) {
      if ((++n & PAUSE_BLOCKS) === PAUSE_BLOCKS) yield;
      const policy = counterText(c.counters);
      if (policy !== null) any = true;
      const counters = new Array<CounterText>(c.rules.length);
      const rules = new Array<string>(c.rules.length);
      for (let i = 0; i < c.rules.length; i++) {
        const k = counterText(c.rules[i]!.counters);
        if (k !== null) any = true;
        counters[i] = k;
        rules[i] = quoted(k);
      }
      policies.push(policy);
      ruleCounters.push(counters);
      chains.push(`${JSON.stringify(c.name)}:{"policy":${quoted(policy)},"rules":[${rules.join(',')}]}`);
    }
    tables.push(`${JSON.stringify(t.name)}:{${chains.join(',')}}`);
    if (inTextOrder) {
      order.push(policies);
      for (const r of ruleCounters) order.push(r);
    }
  }
  const json = any ? `{${tables.join(',')}}` : null;
  if (!inTextOrder || json === null || !countersLineUp(ruleset)) return { json, inTextOrder: undefined };
  yield;
  return { json, inTextOrder: order.flat() };
}

/** Whether a ruleset's counters JSON reads back in its canonical text's order (see PreparedDump.countersInTextOrder). */
export function countersLineUp(ruleset: Ruleset): boolean {
  const names = new Set<string>();
  for (const t of ruleset.tables) {
    if (names.has(`*${t.name}`) || reorderedKey(t.name) || t.chains.length === 0) return false;
    names.add(`*${t.name}`);
    const chains = new Set<string>();
    for (const c of t.chains) {
      if (chains.has(c.name) || reorderedKey(c.name)) return false;
      chains.add(c.name);
    }
  }
  return true;
}

/**
 * The counters JSON (as `extractCounters` writes it) from the counters in the
 * canonical text's order of `ruleset` (the canonical one): per table, every
 * chain's policy, then the rules chain by chain.
 */
export function countersJsonFromOrder(ruleset: Ruleset, order: readonly CounterText[]): string {
  const tables: string[] = [];
  let k = 0;
  for (const t of ruleset.tables) {
    const chains: string[] = [];
    let r = k + t.chains.length;
    for (let ci = 0; ci < t.chains.length; ci++) {
      const c = t.chains[ci]!;
      const rules = new Array<string>(c.rules.length);
      for (let i = 0; i < rules.length; i++) rules[i] = quoted(order[r++]);
      chains.push(`${JSON.stringify(c.name)}:{"policy":${quoted(order[k + ci])},"rules":[${rules.join(',')}]}`);
    }
    tables.push(`${JSON.stringify(t.name)}:{${chains.join(',')}}`);
    k = r;
  }
  return `{${tables.join(',')}}`;
}

const toProblem = (d: Diagnostic): Problem => diagnosticToJson(d);

/**
 * Parses an uploaded dump. Throws DumpParseError (→ 422) when nothing usable
 * was read (no table), or, with `strict`, when there is any error diagnostic.
 */
export function prepareDump(text: string, options: PrepareOptions = {}): PreparedDump {
  return runSteps(prepareDumpSteps(text, options));
}

/** `prepareDump`, pausing every few thousand lines, rules and chains (see steps.ts). */
export function* prepareDumpSteps(text: string, options: PrepareOptions = {}): Steps<PreparedDump> {
  const field = options.field ?? 'dump';
  const result = yield* parseDumpSteps(text, {
    ...(options.family ? { family: options.family } : {}),
    ...(options.format ? { format: options.format } : {}),
    ...(options.strict ? { strict: true } : {}),
    ...(options.lineMemo ? { lineMemo: options.lineMemo } : {}),
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  const listed = (ds: readonly Diagnostic[]): Problem[] => ds.slice(0, MAX_PROBLEMS).map(toProblem);
  const more = (n: number): string => (n > MAX_PROBLEMS ? ` (first ${MAX_PROBLEMS} of ${n} listed)` : '');
  if (result.ruleset.tables.length === 0) {
    const problems = errors.length
      ? listed(errors)
      : [{ line: 1, severity: 'error' as const, code: text.trim() === '' ? 'empty-dump' : 'no-tables', message: text.trim() === '' ? 'the dump is empty' : 'no table or rule could be read from the dump' }];
    throw new DumpParseError(`nothing usable could be read from ${field}: ${problems[0]?.message ?? 'no tables'}${more(errors.length)}`, problems, field);
  }
  if (options.strict && errors.length) {
    throw new DumpParseError(`${field} has ${errors.length} error(s) in strict mode${more(errors.length)}`, listed(errors), field);
  }
  let canonical = yield* canonicalizeSteps(result.ruleset, options.lineMemo);
  // Malformed input can render to text that reads back differently (a bad word swallowed as an
  // option's argument, say). Uploading a version's own canonical text must give the same version,
  // so such a text settles on the fixed point of render∘parse (well-formed dumps are one already).
  for (let i = 0; errors.length > 0 && i < 3; i++) {
    const again = yield* canonicalizeSteps((yield* parseDumpSteps(canonical.text, { family: result.ruleset.family, format: 'iptables-save' })).ruleset);
    if (again.text === canonical.text) break;
    canonical = again;
  }
  const canonicalText = canonical.text;
  // Counters in text order only when the canonical text is the rendering of this parse (no fixed point was sought).
  const counters = yield* countersSteps(result.ruleset, errors.length === 0);
  return {
    family: result.ruleset.family,
    format: result.format,
    originalText: text,
    ...(options.originalBytes ? { originalBytes: options.originalBytes } : {}),
    originalSha256: options.originalSha256 ?? (yield* sha256HexSteps(options.originalBytes ?? text)),
    canonicalText,
    sha256: yield* sha256HexSteps(canonicalText),
    countersJson: counters.json,
    ...(counters.inTextOrder ? { countersInTextOrder: counters.inTextOrder } : {}),
    stats: rulesetStats(result.ruleset),
    diagnostics: result.diagnostics.map(diagnosticToJson),
    ruleset: canonical.ruleset,
    uploadedRuleset: result.ruleset,
    canonicalExact: (result.format === 'iptables-save' || result.format === 'iptables-S') && result.diagnostics.length === 0,
  };
}
