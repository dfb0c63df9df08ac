// Parses the arguments of one rule (everything after `-A CHAIN`) into typed
// matches and a target, the way iptables' command parser reads them.
import type { Counters, ExtOption, Family, Match, Verdict } from '../model.ts';
import type { TokenList } from './lexer.ts';
import { findOption, IMPLICIT_PROTOCOL_MODULES, MATCHES, matchSpec, optionPosition, TARGETS, targetSpec, type ExtensionSpec, type OptionSpec } from './extensions.ts';
import { canonicalProtocol, PROTOCOL_NUMBERS } from '../../pipeline/names.ts';
import { cidr, ipv4Cidr, type Normalizer } from './values.ts';

export interface SpecProblem {
  readonly column: number;
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
}

/** A parsed rule before its target name is resolved against the table's chains. */
export interface RuleSpec {
  /** One entry per rule iptables creates: comma lists in -s/-d expand into several. */
  readonly variants: readonly (readonly Match[])[];
  readonly target: PendingTarget | null;
  readonly counters?: Counters;
  readonly problems: readonly SpecProblem[];
}

export type PendingTarget =
  | { readonly kind: 'named'; readonly name: string; readonly options: readonly ExtOption[]; readonly goto: boolean };

export const VERDICTS: readonly Verdict[] = ['ACCEPT', 'DROP', 'RETURN', 'QUEUE'];

interface OpenExt {
  spec: ExtensionSpec | undefined;
  name: string;
  options: ExtOption[];
  column: number;
  implicit: boolean;
}

interface OpenTarget {
  name: string;
  goto: boolean;
  spec: ExtensionSpec | undefined;
  options: ExtOption[];
  column: number;
}

export interface AddressList {
  negated: boolean;
  cidrs: string[];
}

/**
 * Shares finished matches between the rules of one parse: kube-proxy dumps
 * repeat `-p tcp`, `-m tcp`, comments and statistic matches thousands of
 * times. The model is readonly, so sharing only saves memory. Make one per
 * parse call (newSpecMemo) and drop it afterwards.
 */
export interface SpecMemo {
  /** Modules by a key of all their options (moduleKey). */
  readonly matches: Map<string, Match>;
  /** `-p` matches by protocol, [plain, negated]. */
  readonly protocols: readonly [Map<string, Match>, Map<string, Match>];
  /** Modules without options, by extension (then ''). */
  readonly bare: Map<ExtensionSpec, Map<string, Match>>;
  /**
   * Modules with one known one-argument option (`-m comment --comment x`,
   * `-m tcp --dport 80`): by option, then argument text, [plain, negated].
   * Saves building a key string for the most common shape.
   */
  readonly single: readonly [Map<OptionSpec, Map<string, Match>>, Map<OptionSpec, Map<string, Match>>];
}

export function newSpecMemo(): SpecMemo {
  return { matches: new Map(), protocols: [new Map(), new Map()], bare: new Map(), single: [new Map(), new Map()] };
}

/** Everything parseRuleSpec tracks while it walks the arguments of one rule. */
interface SpecState {
  readonly tokens: TokenList;
  readonly family: Family;
  readonly memo: SpecMemo | undefined;
  // Lists start as NONE and grow through added().
  problems: SpecProblem[];
  header: Match[];
  exts: OpenExt[];
  i: number;
  /** Only the last -s / -d counts; earlier ones are still checked. */
  source: AddressList | undefined;
  dest: AddressList | undefined;
  protocol: string | undefined;
  target: OpenTarget | undefined;
  counters: Counters | undefined;
  negate: boolean;
  negateColumn: number;
}

const SHORT_ALIASES: Readonly<Record<string, string>> = {
  '-s': 'source', '--source': 'source', '--src': 'source',
  '-d': 'destination', '--destination': 'destination', '--dst': 'destination',
  '-i': 'in', '--in-interface': 'in',
  '-o': 'out', '--out-interface': 'out',
  '-p': 'protocol', '--protocol': 'protocol',
  '-f': 'fragment', '--fragment': 'fragment',
  '-m': 'match', '--match': 'match',
  '-j': 'jump', '--jump': 'jump',
  '-g': 'goto', '--goto': 'goto',
  '-c': 'counters', '--set-counters': 'counters',
  '-4': 'ipv4', '--ipv4': 'ipv4',
  '-6': 'ipv6', '--ipv6': 'ipv6',
};

/** `--name` -> `name` for every option of a known extension. */
const LONG_OPTIONS: ReadonlyMap<string, string> = new Map(
  [...Object.values(MATCHES), ...Object.values(TARGETS)].flatMap((spec) =>
    spec.options.flatMap((o) => [o.name, ...(o.aliases ?? [])].map((n): [string, string] => ['--' + n, n])),
  ),
);

/** What parseRuleSpec looks up; the lexer hands these out as shared strings (see Vocabulary). */
export const RULE_SPEC_WORDS: readonly string[] = [
  '!', ...Object.keys(SHORT_ALIASES), ...LONG_OPTIONS.keys(), ...Object.keys(MATCHES), ...Object.keys(TARGETS), ...VERDICTS,
  ...Object.keys(PROTOCOL_NUMBERS), 'all',
];

const NEEDS_PROTOCOL: Readonly<Record<string, string>> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', dccp: 'dccp', udplite: 'udplite', icmp: 'icmp', icmp6: 'ipv6-icmp' };
const MULTIPORT_PROTOCOLS = ['tcp', 'udp', 'udplite', 'sctp', 'dccp'];
const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp', 'dccp', 'udplite'];
const NAT_TARGETS = ['DNAT', 'SNAT', 'REDIRECT', 'MASQUERADE'];
const DIGITS = /^\d+$/;

/** `-x` or `--xx`, but not a negative number. */
function isOptionToken(t: string): boolean {
  if (t.length < 2 || t.charCodeAt(0) !== 45) return false;
  const c = t.charCodeAt(1);
  return c < 48 || c > 57;
}

function problem(s: SpecState, column: number, severity: SpecProblem['severity'], code: string, message: string): void {
  s.problems = added(s.problems, { column, severity, code, message });
}

/** The shared empty list SpecState's lists start with; frozen, so that only added() extends it. */
export const NONE: never[] = Object.freeze([]) as unknown as never[];

/**
 * `list` with `item` appended. Most lists hold one or two items: the first
 * makes an array of its exact size, where push() would grow one to 16 slots.
 */
function added<T>(list: T[], item: T): T[] {
  if (list.length === 0) return [item];
  list.push(item);
  return list;
}

function takeNegation(s: SpecState): boolean {
  const n = s.negate;
  s.negate = false;
  return n;
}

/** Index of the next token, or -1 past the end. */
function next(s: SpecState): number {
  const k = s.i++;
  return k < s.tokens.texts.length ? k : -1;
}

/** Parses `tokens` from index `from` on. */
export function parseRuleSpec(tokens: TokenList, family: Family, memo?: SpecMemo, from = 0): RuleSpec {
  const s: SpecState = {
    tokens, family, memo, problems: NONE, header: NONE, exts: NONE, i: from,
    source: undefined, dest: undefined, protocol: undefined, target: undefined, counters: undefined, negate: false, negateColumn: 0,
  };
  const { texts, columns } = tokens;
  while (s.i < texts.length) {
    const tok = next(s);
    const t = texts[tok]!;
    if (t === '!') {
      if (s.negate) problem(s, columns[tok]!, 'error', 'double-negation', 'multiple "!" flags not allowed');
      s.negate = true;
      s.negateColumn = columns[tok]!;
      continue;
    }
    const builtin = SHORT_ALIASES[t];
    if (builtin) {
      if (!readBuiltin(s, tok, builtin)) break;
      continue;
    }
    if (!t.startsWith('--')) {
      problem(s, columns[tok]!, 'error', 'unexpected-argument', `bad argument "${t}"`);
      s.negate = false;
      continue;
    }
    readExtensionOption(s, tok);
  }
  if (s.negate) problem(s, s.negateColumn, 'error', 'dangling-negation', '"!" is not followed by an option');
  return finishSpec(s);
}

/** Handles one built-in option (-s, -p, -m, -j, ...); false when its argument is missing. */
function readBuiltin(s: SpecState, tok: number, builtin: string): boolean {
  const { texts, columns } = s.tokens;
  const t = texts[tok]!;
  const column = columns[tok]!;
  const { family } = s;
  let arg = -1;
  if (builtin !== 'fragment' && builtin !== 'ipv4' && builtin !== 'ipv6') {
    arg = next(s);
    // Old iptables accepted `-s ! 1.2.3.4` (intrapositioned negation).
    if (arg >= 0 && texts[arg] === '!' && builtin !== 'match' && builtin !== 'jump' && builtin !== 'goto') {
      s.negate = true;
      arg = next(s);
    }
    if (arg < 0) {
      problem(s, column, 'error', 'missing-argument', `option "${t}" requires an argument`);
      return false;
    }
  }
  const a = arg >= 0 ? texts[arg]! : '';
  const argColumn = arg >= 0 ? columns[arg]! : 0;
  switch (builtin) {
    case 'source':
      s.source = { negated: takeNegation(s), cidrs: addresses(s, a, argColumn) };
      break;
    case 'destination':
      s.dest = { negated: takeNegation(s), cidrs: addresses(s, a, argColumn) };
      break;
    case 'in':
    case 'out':
      s.header = added(s.header, { kind: builtin === 'in' ? 'inInterface' : 'outInterface', negated: takeNegation(s), name: a });
      break;
    case 'protocol': {
      const p = canonicalProtocol(a);
      if (!p) problem(s, argColumn, 'error', 'unknown-protocol', `unknown protocol "${a}"`);
      const protocol = p ?? a;
      s.protocol = protocol;
      const negated = takeNegation(s);
      if (protocol !== 'all' || negated) s.header = added(s.header, protocolMatch(s.memo, negated, protocol));
      break;
    }
    case 'fragment':
      if (family === 'ipv6') problem(s, column, 'error', 'bad-option', '-f is not available in ip6tables');
      s.header = added(s.header, { kind: 'fragment', negated: takeNegation(s) });
      break;
    case 'match': {
      if (takeNegation(s)) problem(s, s.negateColumn, 'error', 'bad-negation', 'cannot negate -m');
      const spec = matchSpec(a.toLowerCase());
      if (!spec) problem(s, argColumn, 'warning', 'unknown-match', `unknown match module "${a}": kept verbatim, not interpreted`);
      else if (spec.family && spec.family !== family) problem(s, argColumn, 'error', 'wrong-family', `match "${a}" is not available for ${family}`);
      s.exts = added(s.exts, { spec, name: spec?.name ?? a, options: [], column: argColumn, implicit: false });
      break;
    }
    case 'jump':
    case 'goto': {
      if (takeNegation(s)) problem(s, s.negateColumn, 'error', 'bad-negation', `cannot negate ${t}`);
      if (s.target) problem(s, column, 'error', 'multiple-targets', 'multiple -j/-g flags not allowed');
      const spec = builtin === 'jump' ? targetSpec(a) : undefined;
      if (spec?.family && spec.family !== family) problem(s, argColumn, 'error', 'wrong-family', `target "${a}" is not available for ${family}`);
      // Starts as NONE: most targets have no options, and the model never holds an
      // empty list of an unknown target (an option-less one resolves to a jump).
      s.target = { name: a, goto: builtin === 'goto', spec, options: NONE, column: argColumn };
      break;
    }
    case 'counters': {
      const b = next(s);
      if (!DIGITS.test(a) || b < 0 || !DIGITS.test(texts[b]!)) {
        problem(s, column, 'error', 'bad-counters', '-c needs two numbers');
      } else s.counters = { packets: BigInt(a), bytes: BigInt(texts[b]!) };
      break;
    }
    case 'ipv4':
    case 'ipv6':
      if (builtin !== family) problem(s, column, 'warning', 'family-flag', `rule is marked ${t} and would be skipped for ${family}`);
      break;
  }
  return true;
}

export function protocolMatch(memo: SpecMemo | undefined, negated: boolean, protocol: string): Match {
  if (!memo) return { kind: 'protocol', negated, protocol };
  const shared = memo.protocols[negated ? 1 : 0];
  let m = shared.get(protocol);
  if (!m) {
    m = { kind: 'protocol', negated, protocol };
    shared.set(protocol, m);
  }
  return m;
}

function addresses(s: SpecState, value: string, column: number): string[] {
  const fast = s.family === 'ipv4' && !value.includes(',') ? ipv4Cidr(value) : undefined;
  if (fast !== undefined) return [fast];
  const out: string[] = [];
  for (const part of value.includes(',') ? value.split(',') : [value]) {
    const fast = s.family === 'ipv4' ? ipv4Cidr(part) : undefined;
    if (fast !== undefined) {
      out.push(fast);
      continue;
    }
    const r = cidr(part, s.family);
    if (r.ok) out.push(r.value);
    else {
      problem(s, column, 'error', 'bad-address', `host/network "${part}" not found: ${r.message}`);
      out.push(part);
    }
  }
  return out;
}

/** Finds which open extension accepts an option: newest match first, then the target. */
function claim(s: SpecState, name: string): OpenExt | 'target' | undefined {
  if (s.target?.spec && findOption(s.target.spec, name)) return 'target';
  for (let k = s.exts.length - 1; k >= 0; k--) {
    const e = s.exts[k]!;
    if (e.spec && findOption(e.spec, name)) return e;
  }
  return undefined;
}

/** Opens the module `-p` loads implicitly when it defines the option (`-p tcp --dport 80`). */
function implicitModule(s: SpecState, name: string, column: number): OpenExt | undefined {
  if (!s.protocol) return undefined;
  const implicit = IMPLICIT_PROTOCOL_MODULES[s.protocol];
  const spec = implicit ? matchSpec(implicit) : undefined;
  if (!spec || !findOption(spec, name)) return undefined;
  for (const e of s.exts) if (e.name === spec.name) return undefined;
  const e: OpenExt = { spec, name: spec.name, options: [], column, implicit: true };
  s.exts = added(s.exts, e);
  return e;
}

/** Handles one `--option` of a match module or the target. */
function readExtensionOption(s: SpecState, tok: number): void {
  const { target } = s;
  const { texts, columns } = s.tokens;
  const t = texts[tok]!;
  const column = columns[tok]!;
  const name = LONG_OPTIONS.get(t) ?? t.slice(2);
  const owner = claim(s, name) ?? implicitModule(s, name, column);
  const ext: OpenExt | 'target' | undefined =
    owner ?? (target && !target.spec ? 'target' : s.exts[s.exts.length - 1] ?? (target ? 'target' : undefined));
  const spec = owner === 'target' ? target?.spec : owner?.spec;
  const optSpec = spec ? findOption(spec, name) : undefined;
  let negated = takeNegation(s);
  let args: string[] = [];
  if (optSpec?.arity === 1 && s.i < texts.length && texts[s.i] !== '!') {
    args = [texts[next(s)]!];
  } else if (optSpec) {
    for (let k = 0; k < optSpec.arity; k++) {
      let a = next(s);
      if (a >= 0 && texts[a] === '!' && k === 0) {
        // `--dport ! 80`, the deprecated spelling.
        negated = true;
        a = next(s);
      }
      if (a < 0) {
        problem(s, column, 'error', 'missing-argument', `option "--${name}" requires ${optSpec.arity} argument${optSpec.arity > 1 ? 's' : ''}`);
        break;
      }
      args.push(texts[a]!);
    }
  } else {
    while (s.i < texts.length && !isOptionToken(texts[s.i]!) && texts[s.i] !== '!') args.push(texts[next(s)]!);
  }
  if (negated && optSpec && optSpec.negatable === false) {
    problem(s, s.negateColumn || column, 'error', 'bad-negation', `option "--${name}" cannot be negated`);
  }

  const option: ExtOption = { name: optSpec?.name ?? name, negated, args, known: optSpec !== undefined };
  if (!ext) {
    problem(s, column, 'error', 'unknown-option', `unknown option "${t}"${s.protocol ? '' : ' (no -p or -m that defines it)'}`);
    s.exts = added(s.exts, { spec: undefined, name: '?', options: [option], column: column, implicit: false });
    return;
  }
  if (!optSpec && (ext === 'target' ? target?.spec : ext.spec)) {
    const where = ext === 'target' ? `target ${target!.name}` : `match ${ext.name}`;
    problem(s, column, 'warning', 'unknown-option', `unknown option "${t}" for ${where}: kept verbatim`);
  }
  if (ext === 'target') target!.options = added(target!.options, option);
  else ext.options = added(ext.options, option);
}

/**
 * Normalizes option values, applies the extension's canonical form and print
 * order. `options` (the open extension's own list) may be returned as is.
 */
function finishExt(s: SpecState, spec: ExtensionSpec | undefined, options: ExtOption[], column: number): ExtOption[] {
  // An empty list was never pushed to, so it has no spare capacity to shed by copying.
  if (!spec) return options.length === 0 ? options : [...options];
  const normalized = options.map((opt) => normalizeOption(s, spec, opt, column));
  if (spec.canonicalize) return inPrintOrder(spec, spec.canonicalize(normalized, s.family), false);
  return inPrintOrder(spec, normalized, true);
}

function normalizeOption(s: SpecState, spec: ExtensionSpec, opt: ExtOption, column: number): ExtOption {
  const os = findOption(spec, opt.name);
  if (!opt.known || !os?.values) return opt;
  const values = os.values;
  const args = opt.args.length === 1
    ? [normalizeValue(s, spec, opt, column, values[0]!, opt.args[0]!)]
    : opt.args.map((a, k) => normalizeValue(s, spec, opt, column, values[Math.min(k, values.length - 1)]!, a));
  return { name: opt.name, negated: opt.negated, args, known: opt.known };
}

function normalizeValue(s: SpecState, spec: ExtensionSpec, opt: ExtOption, column: number, normalize: Normalizer, a: string): string {
  const r = normalize(a, s.family);
  if (!r.ok) {
    problem(s, column, 'error', 'bad-value', `${spec.name} --${opt.name}: ${r.message}`);
    return a;
  }
  // Keep the argument's own string when normalizing did not change it.
  return r.value === a ? a : r.value;
}

/**
 * Stable sort by print position; unknown options last. Most rules are in
 * order already: then `options` itself when `own` (a fresh array made at its
 * size), else a copy.
 */
function inPrintOrder(spec: ExtensionSpec, options: readonly ExtOption[], own: boolean): ExtOption[] {
  if (options.length < 2) return own ? (options as ExtOption[]) : [...options];
  let sorted = true;
  for (let k = 1; k < options.length && sorted; k++) sorted = printOrder(spec, options[k - 1]!) <= printOrder(spec, options[k]!);
  if (sorted) return own ? (options as ExtOption[]) : [...options];
  return options
    .map((o, k) => ({ o, k, order: printOrder(spec, o) }))
    .sort((a, b) => a.order - b.order || a.k - b.k)
    .map((x) => x.o);
}

function printOrder(spec: ExtensionSpec, o: ExtOption): number {
  const idx = optionPosition(spec, o.name);
  return o.known && idx >= 0 ? idx : spec.options.length;
}

function finishModule(s: SpecState, e: OpenExt, unseen = false): Match {
  const memo = s.memo;
  if (!memo) return newModule(s, e);
  const shared = sharedModules(memo, e);
  const key = shared ? (e.options.length ? e.options[0]!.args[0]! : '') : moduleKey(e);
  const map = shared ?? memo.matches;
  const seen = unseen ? undefined : map.get(key);
  if (seen) return seen;
  const before = s.problems.length;
  const m = newModule(s, e);
  // A module whose values had problems is not shared: its problems must be reported again.
  if (s.problems.length === before) map.set(key, m);
  return m;
}

function newModule(s: SpecState, e: OpenExt): Match {
  return { kind: 'module', module: e.name, options: finishExt(s, e.spec, e.options, e.column), known: e.spec !== undefined };
}

/**
 * The memo map for the common module shapes, keyed by the argument alone
 * ('' without options); undefined for other shapes. An option spec belongs
 * to one extension, so it stands for the module too.
 */
function sharedModules(memo: SpecMemo, e: OpenExt): Map<string, Match> | undefined {
  const spec = e.spec;
  if (!spec || e.options.length > 1) return undefined;
  if (e.options.length === 0) return lazyMap(memo.bare, spec);
  const o = e.options[0]!;
  const os = o.known && o.args.length === 1 ? findOption(spec, o.name) : undefined;
  return os ? lazyMap(memo.single[o.negated ? 1 : 0], os) : undefined;
}

function lazyMap<K, V>(maps: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let m = maps.get(key);
  if (!m) {
    m = new Map();
    maps.set(key, m);
  }
  return m;
}

/** Identifies a module match by everything finishExt reads (the family is fixed per parse). */
function moduleKey(e: OpenExt): string {
  let key = (e.spec ? 'm+' : 'm-') + e.name.length + ':' + e.name;
  for (const o of e.options) {
    key += (o.negated ? '!' : ' ') + (o.known ? '+' : '-') + o.name.length + ':' + o.name + '/' + o.args.length;
    for (const a of o.args) key += ' ' + a.length + ':' + a;
  }
  return key;
}

function natPort(v: string, family: Family): boolean {
  if (family === 'ipv6') return /^\[.*\]:\d/.test(v);
  // /:\d/ without a regex: one DNAT per endpoint of a kube-proxy dump asks.
  for (let i = v.indexOf(':'); i >= 0; i = v.indexOf(':', i + 1)) {
    const c = v.charCodeAt(i + 1);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

function finishTarget(s: SpecState, target: OpenTarget): PendingTarget {
  const pending: PendingTarget = {
    kind: 'named',
    name: target.name,
    goto: target.goto,
    options: finishExt(s, target.spec, target.options, target.column),
  };
  if (target.spec?.name && NAT_TARGETS.includes(target.spec.name)) {
    const hasPorts = pending.options.some((o) => o.name === 'to-ports' || ((o.name === 'to-destination' || o.name === 'to-source') && natPort(o.args[0] ?? '', s.family)));
    if (hasPorts && !PORT_PROTOCOLS.includes(s.protocol ?? '')) {
      problem(s, target.column, 'error', 'protocol-mismatch', 'Need TCP, UDP, SCTP or DCCP with port specification');
    }
  }
  return pending;
}

function finishSpec(s: SpecState): RuleSpec {
  const { exts, protocol } = s;
  const moduleMatches: Match[] = exts.map((e) => finishModule(s, e));

  for (const e of exts) {
    if (!e.spec) continue;
    const needsProto = protocolNeeded(e.name, e.options.length, protocol);
    if (needsProto) {
      problem(s, e.column, 'error', 'protocol-mismatch', `match "${e.name}" needs "-p ${needsProto}"${protocol ? `, not "-p ${protocol}"` : ''}`);
    }
    if (wrongMultiportProtocol(e.name, protocol)) {
      problem(s, e.column, 'error', 'protocol-mismatch', 'multiport needs "-p tcp", "-p udp", "-p udplite", "-p sctp" or "-p dccp"');
    }
  }

  const pending = s.target ? finishTarget(s, s.target) : null;
  const variants = expandVariants(s.source, s.dest, s.header, moduleMatches);
  return s.counters ? { variants, target: pending, counters: s.counters, problems: s.problems } : { variants, target: pending, problems: s.problems };
}

/** The protocol a known match module with `options` options needs and does not have after `-p protocol`. */
export function protocolNeeded(module: string, options: number, protocol: string | undefined): string | undefined {
  const needsProto = NEEDS_PROTOCOL[module];
  return needsProto && options > 0 && protocol !== needsProto ? needsProto : undefined;
}

export const wrongMultiportProtocol = (module: string, protocol: string | undefined): boolean => module === 'multiport' && !MULTIPORT_PROTOCOLS.includes(protocol ?? '');

/** A state for finishing one extension outside parseRuleSpec (the save parser's fast path). */
function outsideState(memo: SpecMemo | undefined, family: Family, protocol: string | undefined): SpecState {
  return {
    tokens: NO_TOKENS, family, memo, problems: NONE, header: NONE, exts: NONE, i: 0,
    source: undefined, dest: undefined, protocol, target: undefined, counters: undefined, negate: false, negateColumn: 0,
  };
}

const NO_TOKENS: TokenList = { texts: [], columns: [] };

/**
 * The match parseRuleSpec makes of a known module `spec` read with these
 * options (as readExtensionOption builds them: canonical names, known), shared
 * through `memo` as it shares them (`unseen`: the caller found none there);
 * undefined when finishing it finds a problem.
 */
export function finishedModule(memo: SpecMemo | undefined, family: Family, spec: ExtensionSpec, options: ExtOption[], unseen = false): Match | undefined {
  const s = outsideState(memo, family, undefined);
  const m = finishModule(s, { spec, name: spec.name, options, column: 0, implicit: false }, unseen);
  return s.problems.length === 0 ? m : undefined;
}

/** The pending target parseRuleSpec makes of `-j name` with these options after `-p protocol`; undefined on a problem. */
export function finishedTarget(memo: SpecMemo, family: Family, protocol: string | undefined, name: string, spec: ExtensionSpec | undefined, options: ExtOption[]): PendingTarget | undefined {
  const s = outsideState(memo, family, protocol);
  const t = finishTarget(s, { name, goto: false, spec, options, column: 0 });
  return s.problems.length === 0 ? t : undefined;
}

/** -s/-d lists expand into one rule per combination, sources outermost. */
function expandVariants(src: AddressList | undefined, dst: AddressList | undefined, header: Match[], modules: Match[]): Match[][] {
  const rest = header.length === 0 ? modules : modules.length === 0 ? header : header.concat(modules);
  const sources = src ? src.cidrs.length : 1;
  const dests = dst ? dst.cidrs.length : 1;
  // Arrays are made at their final size: arrays grown by push keep spare capacity for good.
  const variants: Match[][] = new Array(sources * dests);
  for (let a = 0; a < sources; a++) {
    for (let b = 0; b < dests; b++) {
      const sm = src ? addressMatch('source', src, src.cidrs[a]!) : undefined;
      const dm = dst ? addressMatch('destination', dst, dst.cidrs[b]!) : undefined;
      variants[a * dests + b] = sm ? (dm ? [sm, dm].concat(rest) : [sm].concat(rest)) : dm ? [dm].concat(rest) : ownCopy(rest, header, variants.length);
    }
  }
  return variants;
}

/** `rest` itself when only one variant uses it and it is not the header (which may have spare capacity), else a copy. */
function ownCopy(rest: Match[], header: readonly Match[], variants: number): Match[] {
  return variants === 1 && rest !== header ? rest : rest.slice();
}

/** The -s/-d match for one address; none for an address that matches everything. */
export function addressMatch(kind: 'source' | 'destination', list: AddressList, cidr: string): Match | undefined {
  return cidr.endsWith('/0') && !list.negated ? undefined : { kind, negated: list.negated, cidr };
}
