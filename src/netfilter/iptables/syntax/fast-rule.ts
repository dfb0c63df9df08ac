// The save parser's fast path for the rule lines kube-proxy writes by the
// hundred thousand (`-A KUBE-SEP-X -s 10.244.1.2/32 -m comment --comment "..."
// -j KUBE-MARK-MASQ`): read straight from the line, without tokens, spec state
// or per-option objects for shared matches. Hand-written for speed (issue 15:
// a cold parse of a 10k-Service dump). It takes a line only when it is sure
// what parseRuleSpec would make of it, with no diagnostic, and gives exactly
// that (equal values, built by the same finishing code; repeated matches and
// targets shared as the general path shares them); anything else (unusual
// spacing, tabs, escapes, other options, negated module options, problems)
// returns undefined and the general path reads it. test/netfilter/fast-rule.test.ts
// compares the two paths.
import type { ExtOption, Family, Match, TableName } from '../model.ts';
import { isBuiltinChain, isValidChainName } from '../model.ts';
import { MATCHES, matchSpec, TARGETS, targetSpec, type ExtensionSpec, type OptionSpec, findOption } from './extensions.ts';
import { addressMatch, finishedModule, finishedTarget, NONE, protocolMatch, protocolNeeded, wrongMultiportProtocol, type PendingTarget, type SpecMemo } from './rule-spec.ts';
import { MAX_PARAM_LENGTH } from './lexer.ts';
import { canonicalProtocol } from '../../pipeline/names.ts';
import { anyString, ipv4Cidr } from './values.ts';

/** What the fast path read of one `-A` line. */
export interface FastRule {
  /** The chain name is line[chainStart, chainEnd). */
  chainStart: number;
  chainEnd: number;
  matches: readonly Match[];
  target: PendingTarget | null;
}

/** Per-parse state of the fast path. */
export interface FastRuleState {
  readonly memo: SpecMemo;
  readonly family: Family;
  /**
   * Whether a line may hold white space other than spaces: tabs, CR and LF (which the general
   * path's tokenizer splits on), and any other before which a `#` or `//` inside a word starts
   * a trailing note (splitTrailingNote). False when the caller knows no line does (parseDump
   * checks the whole text once instead of every line).
   */
  readonly blanks: boolean;
  /** Modules with several options (`-m statistic --mode random --probability 0.5`) by their text. */
  readonly modules: Map<string, Match>;
  /** Option-less jumps by a small hash of the name: consecutive rules often jump to the same chain. */
  readonly jumps: (PendingTarget | undefined)[];
  /** Modules read lately, by a small hash of their text: the text, and its match. */
  readonly recentTexts: (string | undefined)[];
  readonly recentMatches: (Match | undefined)[];
  readonly scan: Scan;
  /**
   * Modules with one one-argument option (`-m comment --comment x`) by the option (its
   * FastOption.memoId) and the argument as written. The key is the slice that becomes the
   * match's argument (70k comments of a 10k-Service dump: nothing kept beside the model).
   * Keyed by the text, not by a hash computed in JS: V8 hashes a slice natively and compares
   * keys with memcmp, where a loop of charCodeAt or startsWith on a slice costs ~5 ns a character.
   */
  readonly singles: (Map<string, Match> | undefined)[];
  /** `-s`/`-d` matches by the address text (kube-proxy repeats pod and cluster IPs). */
  readonly addresses: Map<string, SharedAddress>;
  /** Targets with options (`-j DNAT --to-destination ip:port`) by their text. */
  readonly targets: Map<string, SharedTarget>;
  readonly found: (Match | undefined)[];
  readonly out: FastRule;
}

export function newFastRuleState(memo: SpecMemo, family: Family, blanks = true): FastRuleState {
  return {
    memo, family, blanks, modules: new Map(), jumps: new Array(JUMP_SLOTS).fill(undefined),
    recentTexts: new Array(RECENT_SLOTS).fill(undefined), recentMatches: new Array(RECENT_SLOTS).fill(undefined),
    scan: { options: [], starts: [], ends: [], count: 0, values: 0 },
    singles: new Array(MEMO_IDS.size).fill(undefined),
    addresses: new Map(),
    targets: new Map(),
    found: [undefined, undefined, undefined],
    out: { chainStart: 0, chainEnd: 0, matches: NONE, target: null },
  };
}

/** One role of an address text: the entries of one text are a list. */
interface SharedAddress {
  readonly source: boolean;
  readonly negated: boolean;
  /** null for an address that matches everything (no match). */
  readonly match: Match | null;
  readonly next: SharedAddress | undefined;
}

/** A target text after one protocol: the entries of one text are a list. */
interface SharedTarget {
  /** The `-p` before it (NAT targets with ports need one). */
  readonly protocol: string | undefined;
  readonly target: PendingTarget;
  readonly next: SharedTarget | undefined;
}

const JUMP_SLOTS = 64;
/** Room for -s, -d and -p in front of the modules in FastRuleState.found. */
const HEADER = 3;
const RECENT_SLOTS = 1024;

interface FastOption {
  /** `--name` as written (the canonical name or an alias). */
  readonly token: string;
  readonly spec: OptionSpec;
  /** The option spec the memo keys a one-option module on (findOption of the canonical name). */
  readonly memoKey: OptionSpec;
  /** A number for memoKey (the index of its map in FastRuleState.singles). */
  readonly memoId: number;
}

const MEMO_IDS = new Map<OptionSpec, number>();
const memoIdOf = (os: OptionSpec): number => {
  let id = MEMO_IDS.get(os);
  if (id === undefined) MEMO_IDS.set(os, (id = MEMO_IDS.size));
  return id;
};

/** Each known extension's option spellings, in findOption's order (the first option with a name wins). */
const FAST_OPTIONS: ReadonlyMap<ExtensionSpec, readonly FastOption[]> = new Map(
  [...Object.values(MATCHES), ...Object.values(TARGETS)].map((spec) => {
    const out: FastOption[] = [];
    for (const os of spec.options) {
      for (const n of [os.name, ...(os.aliases ?? [])]) {
        if (out.some((x) => x.token === '--' + n)) continue;
        const memoKey = findOption(spec, os.name)!;
        out.push({ token: '--' + n, spec: os, memoKey, memoId: memoIdOf(memoKey) });
      }
    }
    return [spec, out];
  }),
);

/** Match modules kube-proxy writes, by their name's first character (one compare before a lookup). */
const COMMON_MODULES: readonly (ExtensionSpec | undefined)[] = (() => {
  const byFirst: (ExtensionSpec | undefined)[] = new Array(128).fill(undefined);
  for (const n of ['comment', 'tcp', 'udp', 'statistic']) byFirst[n.charCodeAt(0)] = MATCHES[n]!;
  return byFirst;
})();

/** White space other than the space (what `\s` matches but for it). */
const BLANKS = /[^\S ]/;

/**
 * True when a trailing note (` # note`, ` // note`: splitTrailingNote) starts at `p`, the start of
 * a word outside quotes: the only place one can start in a line the fast path reads (single
 * spaces between words, quotes only around whole values, no other white space: see
 * FastRuleState.blanks). The fast path leaves such lines to the general path, so the save
 * parser need not scan every line for `#` and `//` first.
 */
function noteAt(line: string, p: number): boolean {
  const c = line.charCodeAt(p);
  return c === 35 /* # */ || (c === 47 /* / */ && line.charCodeAt(p + 1) === 47);
}

/** Index of the space that ends the token at `p`, or the line's length. */
function tokenEnd(line: string, p: number): number {
  const e = line.indexOf(' ', p);
  return e < 0 ? line.length : e;
}

/** The options readOptions found: their specs and their values' [start, end) in the line (reused; no slices). */
interface Scan {
  readonly options: FastOption[];
  readonly starts: number[];
  readonly ends: number[];
  count: number;
  values: number;
}

/**
 * Finds the option value at `p` (a quoted value without escapes, or a plain
 * word; not `!`) and records it in `scan`; returns where it ends, or -1.
 */
function readValue(line: string, p: number, scan: Scan): number {
  const n = line.length;
  if (p >= n) return -1;
  let start = p;
  let end: number;
  let next: number;
  if (line.charCodeAt(p) === 34 /* " */) {
    const close = line.indexOf('"', p + 1);
    if (close < 0 || (close + 1 < n && line.charCodeAt(close + 1) !== 32)) return -1;
    const backslash = line.indexOf('\\', p + 1);
    if (backslash >= 0 && backslash < close) return -1;
    start = p + 1;
    end = close;
    next = close + 1;
  } else {
    end = tokenEnd(line, p);
    // An empty word: two spaces in a row (the general path skips them).
    if (end === p || noteAt(line, p)) return -1;
    const quote = line.indexOf('"', p);
    if (quote >= 0 && quote < end) return -1;
    next = end;
  }
  if (end - start === 1 && line.charCodeAt(start) === 33 /* ! */) return -1;
  scan.starts[scan.values] = start;
  scan.ends[scan.values++] = end;
  return next;
}

/** The option of `options` spelled at line[p, e), if any. */
function optionAt(options: readonly FastOption[], line: string, p: number, e: number): FastOption | undefined {
  // One slice compared with ===, not startsWith per option (see FastRuleState.singles).
  const token = line.slice(p, e);
  for (let k = 0; k < options.length; k++) if (options[k]!.token === token) return options[k];
  return undefined;
}

/**
 * Reads the options of an extension that follow at `p` (`--name value...`, none negated) into `scan`.
 * Returns the position after them, or -1 when one is not the extension's or lacks a value.
 */
function readOptions(line: string, p: number, known: readonly FastOption[], scan: Scan): number {
  const n = line.length;
  scan.count = 0;
  scan.values = 0;
  while (p < n && line.charCodeAt(p) === 45 && line.charCodeAt(p + 1) === 45) {
    const e = tokenEnd(line, p);
    const o = optionAt(known, line, p, e);
    if (!o) return -1;
    scan.options[scan.count++] = o;
    p = e + 1;
    for (let k = 0; k < o.spec.arity; k++) {
      const end = readValue(line, p, scan);
      if (end < 0) return -1;
      p = end + 1;
    }
  }
  return p;
}

/** The options in `scan` as readExtensionOption makes them (canonical names, known, not negated). */
function extOptions(line: string, scan: Scan): ExtOption[] {
  // At its exact size (finishing copies it): a list grown by push starts with 17 slots.
  const out: ExtOption[] = new Array<ExtOption>(scan.count);
  const { starts, ends } = scan;
  let v = 0;
  for (let k = 0; k < scan.count; k++) {
    const spec = scan.options[k]!.spec;
    // Literals, as readExtensionOption's lists: packed, at their exact size.
    let args: string[];
    if (spec.arity === 0) args = [];
    else if (spec.arity === 1) args = [line.slice(starts[v]!, ends[v]!)];
    else args = [line.slice(starts[v]!, ends[v]!), line.slice(starts[v + 1]!, ends[v + 1]!)];
    v += spec.arity;
    out[k] = { name: spec.name, negated: false, args, known: true };
  }
  return out;
}

/**
 * Reads `-A CHAIN rule-spec` at `from` (after any `[p:b] ` prefix) of a line
 * without a trailing note, in `table`. The result is state.out, overwritten by
 * the next call. The caller checks the chain's name and any counters prefix.
 */
export function readFastRule(line: string, from: number, state: FastRuleState, table: TableName): FastRule | undefined {
  const n = line.length;
  // Spaces in a row are found where a word is read (an empty word, or a word that starts with a
  // space), not by a scan of every line; so are other blanks when the caller checked the text.
  if (n >= MAX_PARAM_LENGTH || line.charCodeAt(n - 1) === 32 || (state.blanks && BLANKS.test(line))) return undefined;
  if (line.charCodeAt(from) !== 45 || line.charCodeAt(from + 1) !== 65 /* A */ || line.charCodeAt(from + 2) !== 32) return undefined;
  const { memo, family } = state;
  const chainStart = from + 3;
  const chainEnd = tokenEnd(line, chainStart);
  if (chainEnd === chainStart || noteAt(line, chainStart)) return undefined;
  const quote = line.indexOf('"', chainStart);
  if (quote >= 0 && quote < chainEnd) return undefined;
  // The -s / -d matches (null: one that matches everything), undefined when the line has none.
  let source: Match | null | undefined;
  let dest: Match | null | undefined;
  let protocol: string | undefined;
  let proto: Match | undefined;
  // Matches are collected in a reused list, modules from HEADER on and -s, -d, -p before them, and
  // copied out at their exact size (an array grown by push keeps spare slots for good).
  const found = state.found;
  let moduleCount = 0;
  let target: PendingTarget | null = null;
  let negate = false;
  let p = chainEnd + 1;
  while (p < n) {
    const c0 = line.charCodeAt(p);
    const c1 = line.charCodeAt(p + 1);
    if (c0 === 33 /* ! */ && c1 === 32) {
      if (negate) return undefined;
      negate = true;
      p += 2;
      continue;
    }
    if (c0 !== 45 || line.charCodeAt(p + 2) !== 32 || target) return undefined;
    const v = p + 3;
    // A value that starts a note (`-j # note`) or is empty (two spaces in a row).
    if (v >= n || line.charCodeAt(v) === 32 || noteAt(line, v)) return undefined;
    if (c1 === 115 /* s */ || c1 === 100 /* d */) {
      if ((c1 === 115 ? source : dest) !== undefined || family !== 'ipv4') return undefined;
      const e = tokenEnd(line, v);
      const m = sharedAddress(state, line, v, e, c1 === 115, negate);
      if (m === undefined) return undefined;
      if (c1 === 115) source = m;
      else dest = m;
      negate = false;
      p = e + 1;
      continue;
    }
    if (c1 === 112 /* p */) {
      if (protocol !== undefined) return undefined;
      const e = tokenEnd(line, v);
      const canonical = commonProtocol(line, v, e) ?? otherProtocol(line.slice(v, e));
      if (canonical === undefined) return undefined;
      protocol = canonical;
      if (canonical !== 'all' || negate) proto = protocolMatch(memo, negate, canonical);
      negate = false;
      p = e + 1;
      continue;
    }
    if (negate) return undefined;
    if (c1 === 109 /* m */) {
      const e = tokenEnd(line, v);
      const name = line.slice(v, e);
      let spec = COMMON_MODULES[line.charCodeAt(v) & 127];
      if (spec && spec.name !== name) spec = undefined;
      if (!spec) {
        if (name.includes('"')) return undefined;
        spec = matchSpec(name.toLowerCase());
      }
      const known = spec && FAST_OPTIONS.get(spec);
      if (!spec || !known || (spec.family && spec.family !== family)) return undefined;
      const end = readOptions(line, e + 1, known, state.scan);
      if (end < 0) return undefined;
      if (protocolNeeded(spec.name, state.scan.count, protocol) || wrongMultiportProtocol(spec.name, protocol)) return undefined;
      const m = moduleMatch(state, spec, line, p, end - 1);
      if (!m) return undefined;
      found[HEADER + moduleCount++] = m;
      p = end;
      continue;
    }
    if (c1 === 106 /* j */) {
      const e = tokenEnd(line, v);
      if (e === v) return undefined;
      const cached = jumpSlot(line, v, e);
      const hit = state.jumps[cached];
      const name = line.slice(v, e);
      // Most rules jump to the chain the last rule with this slot did.
      if (hit && hit.name === name && (e === n || line.charCodeAt(e + 1) !== 45 || line.charCodeAt(e + 2) !== 45)) {
        target = hit;
        p = e + 1;
        continue;
      }
      if (!isValidChainName(name)) return undefined;
      const spec = targetSpec(name);
      if (!spec) {
        if (e < n && line.charCodeAt(e + 1) === 45 && line.charCodeAt(e + 2) === 45) return undefined;
        target = { kind: 'named', name, goto: false, options: NONE };
        state.jumps[cached] = target;
        p = e + 1;
        continue;
      }
      const known = FAST_OPTIONS.get(spec);
      if (!known || (spec.family && spec.family !== family)) return undefined;
      const end = readOptions(line, e + 1, known, state.scan);
      if (end < 0) return undefined;
      const t = state.scan.count ? sharedTarget(state, spec, line, v, end - 1, protocol) : finishedTarget(memo, family, protocol, spec.name, spec, NONE);
      if (!t) return undefined;
      target = t;
      p = end;
      continue;
    }
    return undefined;
  }
  if (negate || (target && isBuiltinChain(table, target.name))) return undefined;
  let start = HEADER;
  if (proto) found[--start] = proto;
  if (dest) found[--start] = dest;
  if (source) found[--start] = source;
  // A rule without matches (`-A X -j KUBE-SEP-...`) shares the frozen empty list.
  const matches = start === HEADER + moduleCount ? NONE : (found.slice(start, HEADER + moduleCount) as Match[]);
  const out = state.out;
  out.chainStart = chainStart;
  out.chainEnd = chainEnd;
  out.matches = matches;
  out.target = target;
  return out;
}

/**
 * The match of `-s`/`-d` line[from, to) (null for one that matches
 * everything), shared by every rule with the same address; undefined when the
 * general path should read it. Equal to what parseRuleSpec makes of it.
 */
function sharedAddress(state: FastRuleState, line: string, from: number, to: number, source: boolean, negated: boolean): Match | null | undefined {
  const text = line.slice(from, to);
  const first = state.addresses.get(text);
  for (let e = first; e; e = e.next) if (e.source === source && e.negated === negated) return e.match;
  const cidr = text.includes(',') || text.includes('"') ? undefined : ipv4Cidr(text);
  if (cidr === undefined) return undefined;
  const match = addressMatch(source ? 'source' : 'destination', { negated, cidrs: [cidr] }, cidr) ?? null;
  state.addresses.set(text, { source, negated, match, next: first });
  return match;
}

/**
 * The pending target of `-j NAME --option value...` at line[from, to) (its
 * options in state.scan) after `-p protocol`, shared by every rule with the
 * same target text and protocol; undefined on a problem.
 */
function sharedTarget(state: FastRuleState, spec: ExtensionSpec, line: string, from: number, to: number, protocol: string | undefined): PendingTarget | undefined {
  const text = line.slice(from, to);
  const first = state.targets.get(text);
  for (let e = first; e; e = e.next) if (e.protocol === protocol) return e.target;
  const target = finishedTarget(state.memo, state.family, protocol, spec.name, spec, extOptions(line, state.scan));
  if (target) state.targets.set(text, { protocol, target, next: first });
  return target;
}

const jumpSlot = (line: string, from: number, to: number): number => ((to - from) * 31 + line.charCodeAt(to - 1) * 7 + line.charCodeAt(to - 2)) & (JUMP_SLOTS - 1);

const recentSlot = (line: string, from: number, to: number): number => {
  const len = to - from;
  const mid = from + (len >> 1);
  return (len * 31 + line.charCodeAt(to - 2) * 7 + line.charCodeAt(to - 4) * 131 + line.charCodeAt(mid) * 17 + line.charCodeAt(mid + 2) * 3) & (RECENT_SLOTS - 1);
};

/**
 * finishedModule of a known module `spec` with one known one-argument option
 * (`option`, as findOption gives it for its canonical name) and its argument,
 * not shared through a memo: the same match, built directly (no finishing
 * state, no option list to normalize and drop). The save parser's fast path
 * makes tens of thousands (a comment per Service port and endpoint).
 */
function finishedSingle(family: Family, spec: ExtensionSpec, option: OptionSpec, arg: string): Match | undefined {
  if (spec.canonicalize) return finishedModule(undefined, family, spec, [{ name: option.name, negated: false, args: [arg], known: true }]);
  const normalize = option.values?.[0];
  let value = arg;
  if (normalize !== undefined && normalize !== anyString) {
    const r = normalize(arg, family);
    if (!r.ok) return undefined;
    if (r.value !== arg) value = r.value;
  }
  return { kind: 'module', module: spec.name, options: [{ name: option.name, negated: false, args: [value], known: true }], known: true };
}

/** The canonical name of the `-p` value line[from, to) when it is plain `tcp` or `udp` (no slice). */
function commonProtocol(line: string, from: number, to: number): string | undefined {
  if (to - from !== 3 || line.charCodeAt(from + 2) !== 112 /* p */) return undefined;
  const c0 = line.charCodeAt(from);
  const c1 = line.charCodeAt(from + 1);
  return c0 === 116 /* t */ && c1 === 99 /* c */ ? 'tcp' : c0 === 117 /* u */ && c1 === 100 /* d */ ? 'udp' : undefined;
}

/** canonicalProtocol of a `-p` value the fast path takes (not quoted, not `!`). */
function otherProtocol(text: string): string | undefined {
  return text.includes('"') || text === '!' ? undefined : canonicalProtocol(text);
}

/**
 * The module match for the options in state.scan, read from line[from, to);
 * shared as parseRuleSpec shares it. The same text always gives the same
 * match. Modules without options are found without slicing their text, those
 * with one one-argument option (comments, ports: nearly all) by the argument;
 * those with several options by their text, recent ones without a lookup.
 */
function moduleMatch(state: FastRuleState, spec: ExtensionSpec, line: string, from: number, to: number): Match | undefined {
  const { memo, family, scan } = state;
  if (scan.count === 0) return memo.bare.get(spec)?.get('') ?? finishedModule(memo, family, spec, []);
  if (scan.count === 1 && scan.values === 1) {
    const option = scan.options[0]!;
    const arg = line.slice(scan.starts[0]!, scan.ends[0]!);
    const byArg = (state.singles[option.memoId] ??= new Map());
    let m = byArg.get(arg);
    if (m === undefined) {
      m = finishedSingle(family, spec, option.memoKey, arg);
      if (m) byArg.set(arg, m);
    }
    return m;
  }
  const { recentTexts, recentMatches } = state;
  const slot = recentSlot(line, from, to);
  // Slicing and === is cheaper than startsWith with a string cut from another line.
  const text = line.slice(from, to);
  if (recentTexts[slot] === text) return recentMatches[slot];
  let m = state.modules.get(text);
  if (!m) {
    m = finishedModule(memo, family, spec, extOptions(line, scan));
    if (m) state.modules.set(text, m);
  }
  if (m) {
    recentTexts[slot] = text;
    recentMatches[slot] = m;
  }
  return m;
}
