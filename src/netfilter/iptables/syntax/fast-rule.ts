// The save parser's fast path for the rule lines kube-proxy writes by the
// hundred thousand (`-A KUBE-SEP-X -s 10.244.1.2/32 -m comment --comment "..."
// -j KUBE-MARK-MASQ`): read straight from the line, without tokens, spec state
// or per-option objects for shared matches. Hand-written for speed (issue 15:
// a cold parse of a 10k-Service dump). It takes a line only when it is sure
// what parseRuleSpec would make of it, with no diagnostic, and gives exactly
// that (the same values and, through the same memo, the same shared objects);
// anything else (unusual spacing, tabs, escapes, other options, negated
// module options, problems) returns undefined and the general path reads it.
import type { ExtOption, Family, Match, TableName } from '../model.ts';
import { isBuiltinChain, isValidChainName } from '../model.ts';
import { MATCHES, matchSpec, TARGETS, targetSpec, type ExtensionSpec, type OptionSpec, findOption } from './extensions.ts';
import { addressMatch, finishedModule, finishedTarget, NONE, protocolMatch, protocolNeeded, wrongMultiportProtocol, type AddressList, type PendingTarget, type SpecMemo } from './rule-spec.ts';
import { MAX_PARAM_LENGTH } from './lexer.ts';
import { canonicalProtocol } from '../../pipeline/names.ts';
import { ipv4Cidr } from './values.ts';

/** What the fast path read of one `-A` line. */
export interface FastRule {
  /** The chain name is line[chainStart, chainEnd) (not sliced: the caller usually knows it already). */
  chainStart: number;
  chainEnd: number;
  matches: readonly Match[];
  target: PendingTarget | null;
}

/** Per-parse state of the fast path. */
export interface FastRuleState {
  readonly memo: SpecMemo;
  readonly family: Family;
  /** Modules with several options (`-m statistic --mode random --probability 0.5`) by their text. */
  readonly modules: Map<string, Match>;
  /** Option-less jumps by a small hash of the name: consecutive rules often jump to the same chain. */
  readonly jumps: (PendingTarget | undefined)[];
  readonly out: FastRule;
}

export function newFastRuleState(memo: SpecMemo, family: Family): FastRuleState {
  return { memo, family, modules: new Map(), jumps: new Array(JUMP_SLOTS).fill(undefined), out: { chainStart: 0, chainEnd: 0, matches: NONE, target: null } };
}

const JUMP_SLOTS = 64;

interface FastOption {
  /** `--name` as written (the canonical name or an alias). */
  readonly token: string;
  readonly spec: OptionSpec;
  /** The option spec the memo keys a one-option module on (findOption of the canonical name). */
  readonly memoKey: OptionSpec;
}

/** Each known extension's option spellings, in findOption's order (the first option with a name wins). */
const FAST_OPTIONS: ReadonlyMap<ExtensionSpec, readonly FastOption[]> = new Map(
  [...Object.values(MATCHES), ...Object.values(TARGETS)].map((spec) => {
    const out: FastOption[] = [];
    for (const os of spec.options) {
      for (const n of [os.name, ...(os.aliases ?? [])]) {
        if (out.some((x) => x.token === '--' + n)) continue;
        out.push({ token: '--' + n, spec: os, memoKey: findOption(spec, os.name)! });
      }
    }
    return [spec, out];
  }),
);

/** Match modules checked by their text before slicing a name. */
const COMMON_MODULES: readonly ExtensionSpec[] = ['comment', 'tcp', 'udp', 'statistic'].map((n) => MATCHES[n]!);

/** Index of the space that ends the token at `p`, or the line's length. */
function tokenEnd(line: string, p: number): number {
  const e = line.indexOf(' ', p);
  return e < 0 ? line.length : e;
}

/** Reads the option value at `p` (a quoted value without escapes, or a plain word) into `into`; returns where it ends, or -1. */
function readValue(line: string, p: number, into: string[]): number {
  const n = line.length;
  if (p >= n) return -1;
  if (line.charCodeAt(p) === 34 /* " */) {
    const close = line.indexOf('"', p + 1);
    if (close < 0 || (close + 1 < n && line.charCodeAt(close + 1) !== 32)) return -1;
    const backslash = line.indexOf('\\', p + 1);
    if (backslash >= 0 && backslash < close) return -1;
    const v = line.slice(p + 1, close);
    if (v === '!') return -1;
    into.push(v);
    return close + 1;
  }
  const e = tokenEnd(line, p);
  const quote = line.indexOf('"', p);
  if (quote >= 0 && quote < e) return -1;
  const v = line.slice(p, e);
  if (v === '!') return -1;
  into.push(v);
  return e;
}

/** The option of `options` spelled at line[p, e), if any. */
function optionAt(options: readonly FastOption[], line: string, p: number, e: number): FastOption | undefined {
  for (const o of options) if (o.token.length === e - p && line.startsWith(o.token, p)) return o;
  return undefined;
}

/**
 * Reads the options of an extension that follow at `p` (`--name value...`, none negated).
 * Returns the position after them, or -1 when one is not the extension's or lacks a value.
 */
function readOptions(line: string, p: number, known: readonly FastOption[], out: ExtOption[], first: FastOption[]): number {
  const n = line.length;
  while (p < n && line.charCodeAt(p) === 45 && line.charCodeAt(p + 1) === 45) {
    const e = tokenEnd(line, p);
    const o = optionAt(known, line, p, e);
    if (!o) return -1;
    const args: string[] = [];
    p = e + 1;
    for (let k = 0; k < o.spec.arity; k++) {
      const end = readValue(line, p, args);
      if (end < 0) return -1;
      p = end + 1;
    }
    if (out.length === 0) first.push(o);
    out.push({ name: o.spec.name, negated: false, args, known: true });
  }
  return p;
}

/**
 * Reads `-A CHAIN rule-spec` at `from` (after any `[p:b] ` prefix) of a line
 * without a trailing note, in `table`. The result is state.out, overwritten by
 * the next call. The caller checks the chain's name and any counters prefix.
 */
export function readFastRule(line: string, from: number, state: FastRuleState, table: TableName): FastRule | undefined {
  const n = line.length;
  if (n >= MAX_PARAM_LENGTH || line.charCodeAt(n - 1) === 32 || line.indexOf('  ', from) >= 0 || line.indexOf('\t', from) >= 0 || line.indexOf('\r', from) >= 0 || line.indexOf('\n', from) >= 0) return undefined;
  if (line.charCodeAt(from) !== 45 || line.charCodeAt(from + 1) !== 65 /* A */ || line.charCodeAt(from + 2) !== 32) return undefined;
  const { memo, family } = state;
  const chainStart = from + 3;
  const chainEnd = tokenEnd(line, chainStart);
  if (chainEnd === chainStart) return undefined;
  const quote = line.indexOf('"', chainStart);
  if (quote >= 0 && quote < chainEnd) return undefined;
  let source: AddressList | undefined;
  let dest: AddressList | undefined;
  let protocol: string | undefined;
  let proto: Match | undefined;
  let modules: Match[] = NONE;
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
    if (c1 === 115 /* s */ || c1 === 100 /* d */) {
      if ((c1 === 115 ? source : dest) || family !== 'ipv4') return undefined;
      const e = tokenEnd(line, v);
      const text = line.slice(v, e);
      const cidr = text.includes(',') || text.includes('"') ? undefined : ipv4Cidr(text);
      if (cidr === undefined) return undefined;
      const list: AddressList = { negated: negate, cidrs: [cidr] };
      if (c1 === 115) source = list;
      else dest = list;
      negate = false;
      p = e + 1;
      continue;
    }
    if (c1 === 112 /* p */) {
      if (protocol !== undefined) return undefined;
      const e = tokenEnd(line, v);
      const text = line.slice(v, e);
      const canonical = text.includes('"') || text === '!' ? undefined : canonicalProtocol(text);
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
      let spec: ExtensionSpec | undefined;
      for (const m of COMMON_MODULES) if (m.name.length === e - v && line.startsWith(m.name, v)) spec = m;
      if (!spec) {
        const name = line.slice(v, e);
        if (name.includes('"')) return undefined;
        spec = matchSpec(name.toLowerCase());
      }
      const known = spec && FAST_OPTIONS.get(spec);
      if (!spec || !known || (spec.family && spec.family !== family)) return undefined;
      const options: ExtOption[] = [];
      const first: FastOption[] = [];
      const end = readOptions(line, e + 1, known, options, first);
      if (end < 0) return undefined;
      if (protocolNeeded(spec.name, options.length, protocol) || wrongMultiportProtocol(spec.name, protocol)) return undefined;
      const m = moduleMatch(state, spec, options, first[0], line, p, end - 1);
      if (!m) return undefined;
      modules = modules.length === 0 ? [m] : (modules.push(m), modules);
      p = end;
      continue;
    }
    if (c1 === 106 /* j */) {
      const e = tokenEnd(line, v);
      if (e === v) return undefined;
      const cached = jumpSlot(line, v, e);
      const hit = state.jumps[cached];
      if (hit && hit.name.length === e - v && line.startsWith(hit.name, v) && (e === n || line.charCodeAt(e + 1) !== 45 || line.charCodeAt(e + 2) !== 45)) {
        target = hit;
        p = e + 1;
        continue;
      }
      const name = line.slice(v, e);
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
      const options: ExtOption[] = [];
      const end = readOptions(line, e + 1, known, options, []);
      if (end < 0) return undefined;
      const t = finishedTarget(memo, family, protocol, spec.name, spec, options.length ? options : NONE);
      if (!t) return undefined;
      target = t;
      p = end;
      continue;
    }
    return undefined;
  }
  if (negate || (target && isBuiltinChain(table, target.name))) return undefined;
  const sm = source ? addressMatch('source', source, source.cidrs[0]!) : undefined;
  const dm = dest ? addressMatch('destination', dest, dest.cidrs[0]!) : undefined;
  const count = (sm ? 1 : 0) + (dm ? 1 : 0) + (proto ? 1 : 0) + modules.length;
  let matches: Match[];
  if (count === modules.length && modules !== NONE) matches = modules;
  else {
    matches = new Array(count);
    let k = 0;
    if (sm) matches[k++] = sm;
    if (dm) matches[k++] = dm;
    if (proto) matches[k++] = proto;
    for (const m of modules) matches[k++] = m;
  }
  const out = state.out;
  out.chainStart = chainStart;
  out.chainEnd = chainEnd;
  out.matches = matches;
  out.target = target;
  return out;
}

const jumpSlot = (line: string, from: number, to: number): number => ((to - from) * 31 + line.charCodeAt(to - 1) * 7 + line.charCodeAt(to - 2)) & (JUMP_SLOTS - 1);

/** The module match for `options` read from line[from, to), shared as parseRuleSpec shares it. */
function moduleMatch(state: FastRuleState, spec: ExtensionSpec, options: ExtOption[], first: FastOption | undefined, line: string, from: number, to: number): Match | undefined {
  const { memo, family } = state;
  if (options.length === 0) {
    const seen = memo.bare.get(spec)?.get('');
    return seen ?? finishedModule(memo, family, spec, options);
  }
  if (options.length === 1 && options[0]!.args.length === 1) {
    const seen = memo.single[0].get(first!.memoKey)?.get(options[0]!.args[0]!);
    return seen ?? finishedModule(memo, family, spec, options);
  }
  const key = line.slice(from, to);
  let m = state.modules.get(key);
  if (!m) {
    m = finishedModule(memo, family, spec, options);
    if (m) state.modules.set(key, m);
  }
  return m;
}
