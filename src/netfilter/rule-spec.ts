// Parses the arguments of one rule (everything after `-A CHAIN`) into typed
// matches and a target, the way iptables' command parser reads them.
import type { Counters, ExtOption, Family, Match, Target, Verdict } from './model.ts';
import type { Token } from './lexer.ts';
import { findOption, IMPLICIT_PROTOCOL_MODULES, MATCHES, TARGETS, type ExtensionSpec } from './extensions.ts';
import { canonicalProtocol } from './names.ts';
import { cidr } from './values.ts';

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

const isOptionToken = (t: string): boolean => t.startsWith('-') && t.length > 1 && !/^-\d/.test(t);

export function parseRuleSpec(tokens: readonly Token[], family: Family): RuleSpec {
  const problems: SpecProblem[] = [];
  const problem = (column: number, severity: SpecProblem['severity'], code: string, message: string): void => {
    problems.push({ column, severity, code, message });
  };

  const sources: { negated: boolean; cidrs: string[] }[] = [];
  const dests: { negated: boolean; cidrs: string[] }[] = [];
  const header: Match[] = [];
  const exts: OpenExt[] = [];
  let protocol: string | undefined;
  let target: { name: string; goto: boolean; spec: ExtensionSpec | undefined; options: ExtOption[]; column: number } | undefined;
  let counters: Counters | undefined;
  let negate = false;
  let negateColumn = 0;

  const takeNegation = (): boolean => {
    const n = negate;
    negate = false;
    return n;
  };

  const addresses = (value: string, column: number): string[] => {
    const out: string[] = [];
    for (const part of value.split(',')) {
      const r = cidr(part, family);
      if (r.ok) out.push(r.value);
      else {
        problem(column, 'error', 'bad-address', `host/network "${part}" not found: ${r.message}`);
        out.push(part);
      }
    }
    return out;
  };

  let i = 0;
  const next = (): Token | undefined => tokens[i++];

  /** Finds which open extension accepts an option: newest match first, then the target. */
  const claim = (name: string): OpenExt | 'target' | undefined => {
    if (target?.spec && findOption(target.spec, name)) return 'target';
    for (let k = exts.length - 1; k >= 0; k--) {
      const e = exts[k]!;
      if (e.spec && findOption(e.spec, name)) return e;
    }
    return undefined;
  };

  while (i < tokens.length) {
    const tok = next()!;
    const t = tok.text;
    if (t === '!') {
      if (negate) problem(tok.column, 'error', 'double-negation', 'multiple "!" flags not allowed');
      negate = true;
      negateColumn = tok.column;
      continue;
    }
    const builtin = SHORT_ALIASES[t];
    if (builtin) {
      const needsArg = !['fragment', 'ipv4', 'ipv6'].includes(builtin);
      let arg: Token | undefined;
      if (needsArg) {
        arg = next();
        // Old iptables accepted `-s ! 1.2.3.4` (intrapositioned negation).
        if (arg?.text === '!' && builtin !== 'match' && builtin !== 'jump' && builtin !== 'goto') {
          negate = true;
          arg = next();
        }
        if (!arg) {
          problem(tok.column, 'error', 'missing-argument', `option "${t}" requires an argument`);
          break;
        }
      }
      const a = arg?.text ?? '';
      switch (builtin) {
        case 'source':
          sources.push({ negated: takeNegation(), cidrs: addresses(a, arg!.column) });
          break;
        case 'destination':
          dests.push({ negated: takeNegation(), cidrs: addresses(a, arg!.column) });
          break;
        case 'in':
        case 'out':
          header.push({ kind: builtin === 'in' ? 'inInterface' : 'outInterface', negated: takeNegation(), name: a });
          break;
        case 'protocol': {
          const p = canonicalProtocol(a);
          if (!p) problem(arg!.column, 'error', 'unknown-protocol', `unknown protocol "${a}"`);
          protocol = p ?? a;
          const negated = takeNegation();
          if (protocol !== 'all' || negated) header.push({ kind: 'protocol', negated, protocol });
          break;
        }
        case 'fragment':
          if (family === 'ipv6') problem(tok.column, 'error', 'bad-option', '-f is not available in ip6tables');
          header.push({ kind: 'fragment', negated: takeNegation() });
          break;
        case 'match': {
          if (takeNegation()) problem(negateColumn, 'error', 'bad-negation', 'cannot negate -m');
          const spec = MATCHES[a.toLowerCase()];
          if (!spec) problem(arg!.column, 'warning', 'unknown-match', `unknown match module "${a}": kept verbatim, not interpreted`);
          else if (spec.family && spec.family !== family) problem(arg!.column, 'error', 'wrong-family', `match "${a}" is not available for ${family}`);
          exts.push({ spec, name: spec?.name ?? a, options: [], column: arg!.column, implicit: false });
          break;
        }
        case 'jump':
        case 'goto': {
          if (takeNegation()) problem(negateColumn, 'error', 'bad-negation', `cannot negate ${t}`);
          if (target) problem(tok.column, 'error', 'multiple-targets', 'multiple -j/-g flags not allowed');
          const spec = builtin === 'jump' ? TARGETS[a] : undefined;
          if (spec?.family && spec.family !== family) problem(arg!.column, 'error', 'wrong-family', `target "${a}" is not available for ${family}`);
          target = { name: a, goto: builtin === 'goto', spec, options: [], column: arg!.column };
          break;
        }
        case 'counters': {
          const b = next();
          if (!/^\d+$/.test(a) || !b || !/^\d+$/.test(b.text)) {
            problem(tok.column, 'error', 'bad-counters', '-c needs two numbers');
          } else counters = { packets: BigInt(a), bytes: BigInt(b.text) };
          break;
        }
        case 'ipv4':
        case 'ipv6':
          if (builtin !== family) problem(tok.column, 'warning', 'family-flag', `rule is marked ${t} and would be skipped for ${family}`);
          break;
      }
      continue;
    }

    if (!t.startsWith('--')) {
      problem(tok.column, 'error', 'unexpected-argument', `bad argument "${t}"`);
      negate = false;
      continue;
    }

    const name = t.slice(2);
    let owner = claim(name);
    if (!owner && protocol) {
      const implicit = IMPLICIT_PROTOCOL_MODULES[protocol];
      const spec = implicit ? MATCHES[implicit] : undefined;
      if (spec && findOption(spec, name) && !exts.some((e) => e.name === spec.name)) {
        const e: OpenExt = { spec, name: spec.name, options: [], column: tok.column, implicit: true };
        exts.push(e);
        owner = e;
      }
    }
    const ext: OpenExt | 'target' | undefined =
      owner ?? (target && !target.spec ? 'target' : exts[exts.length - 1] ?? (target ? 'target' : undefined));
    const spec = owner === 'target' ? target?.spec : owner?.spec;
    const optSpec = spec ? findOption(spec, name) : undefined;
    let negated = takeNegation();
    const args: string[] = [];
    if (optSpec) {
      for (let k = 0; k < optSpec.arity; k++) {
        let a = next();
        if (a?.text === '!' && k === 0) {
          // `--dport ! 80`, the deprecated spelling.
          negated = true;
          a = next();
        }
        if (!a) {
          problem(tok.column, 'error', 'missing-argument', `option "--${name}" requires ${optSpec.arity} argument${optSpec.arity > 1 ? 's' : ''}`);
          break;
        }
        args.push(a.text);
      }
    } else {
      while (i < tokens.length && !isOptionToken(tokens[i]!.text) && tokens[i]!.text !== '!') args.push(next()!.text);
    }
    if (negated && optSpec && optSpec.negatable === false) {
      problem(negateColumn || tok.column, 'error', 'bad-negation', `option "--${name}" cannot be negated`);
    }

    const option: ExtOption = { name: optSpec?.name ?? name, negated, args, known: optSpec !== undefined };
    if (!ext) {
      problem(tok.column, 'error', 'unknown-option', `unknown option "${t}"${protocol ? '' : ' (no -p or -m that defines it)'}`);
      exts.push({ spec: undefined, name: '?', options: [option], column: tok.column, implicit: false });
      continue;
    }
    if (!optSpec && (ext === 'target' ? target?.spec : ext.spec)) {
      const where = ext === 'target' ? `target ${target!.name}` : `match ${ext.name}`;
      problem(tok.column, 'warning', 'unknown-option', `unknown option "${t}" for ${where}: kept verbatim`);
    }
    if (ext === 'target') target!.options.push(option);
    else ext.options.push(option);
  }
  if (negate) problem(negateColumn, 'error', 'dangling-negation', '"!" is not followed by an option');

  const finishExt = (spec: ExtensionSpec | undefined, options: readonly ExtOption[], column: number): ExtOption[] => {
    if (!spec) return [...options];
    const normalized = options.map((opt): ExtOption => {
      const os = findOption(spec, opt.name);
      if (!opt.known || !os?.values) return opt;
      const args = opt.args.map((a, k) => {
        const f = os.values![Math.min(k, os.values!.length - 1)]!;
        const r = f(a, family);
        if (!r.ok) {
          problem(column, 'error', 'bad-value', `${spec.name} --${opt.name}: ${r.message}`);
          return a;
        }
        return r.value;
      });
      return { ...opt, args };
    });
    const canonical = spec.canonicalize ? spec.canonicalize(normalized, family) : normalized;
    const order = (o: ExtOption): number => {
      const idx = spec.options.findIndex((s) => s.name === o.name);
      return o.known && idx >= 0 ? idx : spec.options.length;
    };
    return canonical.map((o, k) => ({ o, k })).sort((a, b) => order(a.o) - order(b.o) || a.k - b.k).map((x) => x.o);
  };

  const moduleMatches: Match[] = exts.map((e) => ({
    kind: 'module',
    module: e.name,
    options: finishExt(e.spec, e.options, e.column),
    known: e.spec !== undefined,
  }));

  for (const e of exts) {
    if (!e.spec) continue;
    const needsProto = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', dccp: 'dccp', udplite: 'udplite', icmp: 'icmp', icmp6: 'ipv6-icmp' }[e.name];
    if (needsProto && e.options.length > 0 && protocol !== needsProto) {
      problem(e.column, 'error', 'protocol-mismatch', `match "${e.name}" needs "-p ${needsProto}"${protocol ? `, not "-p ${protocol}"` : ''}`);
    }
    if (e.name === 'multiport' && !['tcp', 'udp', 'udplite', 'sctp', 'dccp'].includes(protocol ?? '')) {
      problem(e.column, 'error', 'protocol-mismatch', 'multiport needs "-p tcp", "-p udp", "-p udplite", "-p sctp" or "-p dccp"');
    }
  }

  let pending: PendingTarget | null = null;
  if (target) {
    pending = {
      kind: 'named',
      name: target.name,
      goto: target.goto,
      options: finishExt(target.spec, target.options, target.column),
    };
    if (target.spec?.name && ['DNAT', 'SNAT', 'REDIRECT', 'MASQUERADE'].includes(target.spec.name)) {
      const natPort = (v: string): boolean => (family === 'ipv6' ? /^\[.*\]:\d/.test(v) : /:\d/.test(v));
      const hasPorts = pending.options.some((o) => o.name === 'to-ports' || ((o.name === 'to-destination' || o.name === 'to-source') && natPort(o.args[0] ?? '')));
      if (hasPorts && !['tcp', 'udp', 'sctp', 'dccp', 'udplite'].includes(protocol ?? '')) {
        problem(target.column, 'error', 'protocol-mismatch', 'Need TCP, UDP, SCTP or DCCP with port specification');
      }
    }
  }

  // -s/-d lists expand into one rule per combination, sources outermost.
  const srcList = sources.length ? sources[sources.length - 1]! : undefined;
  const dstList = dests.length ? dests[dests.length - 1]! : undefined;
  const variants: Match[][] = [];
  for (const s of srcList?.cidrs ?? [undefined]) {
    for (const d of dstList?.cidrs ?? [undefined]) {
      const m: Match[] = [];
      if (s !== undefined && !(s.endsWith('/0') && !srcList!.negated)) m.push({ kind: 'source', negated: srcList!.negated, cidr: s });
      if (d !== undefined && !(d.endsWith('/0') && !dstList!.negated)) m.push({ kind: 'destination', negated: dstList!.negated, cidr: d });
      variants.push([...m, ...header, ...moduleMatches]);
    }
  }
  return { variants, target: pending, ...(counters ? { counters } : {}), problems };
}

/** Resolves a target name once the table's chains are known. */
export function resolveTarget(
  pending: PendingTarget,
  chainExists: (name: string) => boolean,
): { target: Target; undeclared?: string } {
  const { name } = pending;
  if (pending.goto) return chainExists(name) ? { target: { kind: 'goto', chain: name } } : { target: { kind: 'goto', chain: name }, undeclared: name };
  if ((VERDICTS as readonly string[]).includes(name) && pending.options.length === 0) {
    return { target: { kind: 'verdict', verdict: name as Verdict } };
  }
  if (chainExists(name)) return { target: { kind: 'jump', chain: name } };
  const spec = TARGETS[name];
  if (spec) return { target: { kind: 'extension', name, options: pending.options, known: true } };
  // Without options an unknown name is most likely a chain the paste never declared.
  if (pending.options.length === 0) return { target: { kind: 'jump', chain: name }, undeclared: name };
  return { target: { kind: 'extension', name, options: pending.options, known: false } };
}
