// A ruleset compiled for tracing: every rule's matches become functions
// (chain by chain, when a trace first enters the chain), a rule's text is
// rendered once, when first needed. Cached per ruleset object.
import type { Chain, Match, Ruleset, Rule, TableName, Target } from '../model.ts';
import { renderRule } from '../printer/render.ts';
import { formatIp } from '../../pipeline/addr.ts';
import { combine, compileMatch } from './matches.ts';
import type { EvalContext, MatchResult, Matcher, Uncertain } from '../../pipeline/context.ts';

export interface CompiledRule {
  readonly rule: Rule;
  readonly text: string;
  readonly test: Matcher;
  readonly target: Target | null;
  /** Each match with its own test, for explanations. */
  readonly parts: readonly { readonly match: Match; readonly test: Matcher }[];
}

export interface CompiledChain {
  readonly table: TableName;
  /** Set on the chains of an iptables-legacy ruleset traced next to an iptables-nft one (its events say so). */
  readonly backend?: 'legacy';
  readonly chain: Chain;
  readonly rules: readonly CompiledRule[];
  /** Rule indexes to visit for a packet; absent when every rule must be visited. */
  readonly candidates?: (ctx: EvalContext) => readonly number[];
}

export interface CompiledRuleset {
  readonly ruleset: Ruleset;
  /** See CompiledChain.backend. */
  readonly backend?: 'legacy';
  readonly tables: ReadonlyMap<TableName, ReadonlyMap<string, CompiledChain>>;
  /** Whether any rule needs connection tracking (see usesConntrack). */
  readonly conntrack: boolean;
}

const CONNTRACK_MATCHES = new Set(['conntrack', 'state', 'connmark', 'helper', 'connlimit', 'connbytes', 'ipvs']);
const CONNTRACK_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP', 'CONNMARK', 'CT', 'NOTRACK']);

/**
 * Conntrack runs in a network namespace only once something asks for it; with
 * the nft backend that is a rule using a conntrack match or a NAT/CT target.
 * Without it, nat chains are never consulted (they only see tracked packets).
 */
export function usesConntrack(ruleset: Ruleset): boolean {
  for (const t of ruleset.tables) for (const c of t.chains) if (chainUsesConntrack(c)) return true;
  return false;
}

/** Per chain object, for the same reason as compiledChains below: a delta's ruleset shares most of its chains. */
const conntrackChains = new WeakMap<Chain, boolean>();

function chainUsesConntrack(c: Chain): boolean {
  let uses = conntrackChains.get(c);
  if (uses === undefined) {
    uses = c.rules.some((r) => (r.target?.kind === 'extension' && CONNTRACK_TARGETS.has(r.target.name)) || r.matches.some((m) => m.kind === 'module' && CONNTRACK_MATCHES.has(m.module)));
    conntrackChains.set(c, uses);
  }
  return uses;
}

const cache = new WeakMap<Ruleset, CompiledRuleset>();
const legacyCache = new WeakMap<Ruleset, CompiledRuleset>();

/** Chains at least this long get a dispatch index. */
const INDEX_MIN_RULES = 32;

function hostDestination(rule: Rule): string | undefined {
  for (const m of rule.matches) {
    if (m.kind === 'destination' && !m.negated && (m.cidr.endsWith('/32') || m.cidr.endsWith('/128'))) return m.cidr.slice(0, m.cidr.lastIndexOf('/'));
  }
  return undefined;
}

function protoPort(rule: Rule): string | undefined {
  const proto = rule.matches.find((m) => m.kind === 'protocol' && !m.negated);
  if (!proto || proto.kind !== 'protocol') return undefined;
  for (const m of rule.matches) {
    if (m.kind !== 'module' || m.module !== proto.protocol) continue;
    const d = m.options.find((o) => o.name === 'dport' && !o.negated && o.known && /^\d+$/.test(o.args[0] ?? ''));
    if (d) return `${proto.protocol}/${d.args[0]}`;
  }
  return undefined;
}

/**
 * Big dispatch chains (KUBE-SERVICES, KUBE-NODEPORTS) are indexed by the
 * exact destination address or by protocol/port a rule requires. A packet
 * then visits only the rules of its key plus the rules without one, in
 * their original order, so first-match semantics are unchanged.
 */
function buildIndex(rules: readonly Rule[]): CompiledChain['candidates'] {
  if (rules.length < INDEX_MIN_RULES) return undefined;
  const byDst = rules.map(hostDestination);
  const byPort = rules.map(protoPort);
  const covered = (keys: (string | undefined)[]) => keys.filter((k) => k !== undefined).length;
  const useDst = covered(byDst) >= covered(byPort);
  const keys = useDst ? byDst : byPort;
  if (covered(keys) < rules.length / 2) return undefined;
  const wildcard: number[] = [];
  const buckets = new Map<string, number[]>();
  keys.forEach((k, i) => {
    if (k === undefined) wildcard.push(i);
    else {
      const b = buckets.get(k);
      if (b) b.push(i);
      else buckets.set(k, [i]);
    }
  });
  const merged = new Map<string, readonly number[]>();
  const all = rules.map((_, i) => i);
  const merge = (bucket: readonly number[]): readonly number[] => {
    const out: number[] = [];
    let a = 0;
    let b = 0;
    while (a < bucket.length || b < wildcard.length) {
      if (b >= wildcard.length || (a < bucket.length && bucket[a]! < wildcard[b]!)) out.push(bucket[a++]!);
      else out.push(wildcard[b++]!);
    }
    return out;
  };
  return (ctx) => {
    let key: string | undefined;
    if (useDst) key = formatIp(ctx.packet.dst);
    else if (ctx.packet.dport !== undefined) key = `${ctx.packet.protocol}/${ctx.packet.dport}`;
    else return all;
    let list = merged.get(key);
    if (!list) {
      list = merge(buckets.get(key) ?? []);
      if (merged.size < 4096) merged.set(key, list);
    }
    return list;
  };
}

function compileRule(chain: string, rule: Rule, family: Ruleset['family']): CompiledRule {
  const tests = rule.matches.map((m) => compileMatch(m, family));
  const test: Matcher =
    tests.length === 0
      ? () => 1
      : (ctx) => {
          let pending: Uncertain[] | undefined;
          for (let i = 0; i < tests.length; i++) {
            const r: MatchResult = tests[i]!(ctx);
            if (r === 0) return 0;
            if (r !== 1) (pending ??= []).push(r);
          }
          return pending ? combine(pending) : 1;
        };
  // Rendered text and per-match parts are only needed by the rules a trace reports (events, near misses):
  // made on first use, so compiling a 100k-rule ruleset does not render every rule.
  let text: string | undefined;
  let parts: CompiledRule['parts'] | undefined;
  return {
    rule,
    get text() {
      return (text ??= renderRule(chain, rule));
    },
    test,
    target: rule.target,
    get parts() {
      return (parts ??= rule.matches.map((match, i) => ({ match, test: tests[i]! })));
    },
  };
}

/**
 * Compiled chains by chain object. A compiled chain depends on nothing but its
 * chain, table, family and backend, and a delta upload's ruleset shares its
 * unchanged chains with its base's (store/splice.ts): the first trace of the
 * new version then compiles only the chains that changed.
 */
const compiledChains = new WeakMap<Chain, { readonly family: Ruleset['family']; readonly compiled: CompiledChain }>();

function compileChain(table: TableName, c: Chain, family: Ruleset['family'], backend: 'legacy' | undefined): CompiledChain {
  const hit = compiledChains.get(c);
  if (hit && hit.family === family && hit.compiled.table === table && hit.compiled.backend === backend) return hit.compiled;
  const candidates = buildIndex(c.rules);
  const compiled: CompiledChain = { table, chain: c, rules: c.rules.map((r) => compileRule(c.name, r, family)), ...(candidates ? { candidates } : {}), ...(backend ? { backend } : {}) };
  compiledChains.set(c, { family, compiled });
  return compiled;
}

/**
 * A table's chains, each compiled when a trace first looks it up: a packet
 * visits a handful of a big ruleset's chains (kube-proxy: the dispatch chain
 * and one Service's), so the first trace does not pay for, and memory does
 * not hold, the compiled form of thousands of chains it never enters.
 */
class LazyChains implements ReadonlyMap<string, CompiledChain> {
  readonly #source = new Map<string, Chain>();
  readonly #compiled = new Map<string, CompiledChain>();
  constructor(
    private readonly table: TableName,
    chains: readonly Chain[],
    private readonly family: Ruleset['family'],
    private readonly backend: 'legacy' | undefined,
  ) {
    for (const c of chains) this.#source.set(c.name, c);
  }

  get(name: string): CompiledChain | undefined {
    const done = this.#compiled.get(name);
    if (done) return done;
    const chain = this.#source.get(name);
    if (!chain) return undefined;
    const compiled = compileChain(this.table, chain, this.family, this.backend);
    this.#compiled.set(name, compiled);
    return compiled;
  }

  has(name: string): boolean {
    return this.#source.has(name);
  }

  get size(): number {
    return this.#source.size;
  }

  keys(): MapIterator<string> {
    return this.#source.keys();
  }

  *entries(): MapIterator<[string, CompiledChain]> {
    for (const name of this.#source.keys()) yield [name, this.get(name)!];
  }

  *values(): MapIterator<CompiledChain> {
    for (const name of this.#source.keys()) yield this.get(name)!;
  }

  [Symbol.iterator](): MapIterator<[string, CompiledChain]> {
    return this.entries();
  }

  forEach(fn: (value: CompiledChain, key: string, map: ReadonlyMap<string, CompiledChain>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

/** Compiles a ruleset once; `backend: 'legacy'` for iptables-legacy tables traced next to iptables-nft ones. */
export function compileRuleset(ruleset: Ruleset, backend?: 'legacy'): CompiledRuleset {
  const byBackend = backend ? legacyCache : cache;
  const hit = byBackend.get(ruleset);
  if (hit) return hit;
  const tables = new Map<TableName, ReadonlyMap<string, CompiledChain>>();
  for (const t of ruleset.tables) tables.set(t.name, new LazyChains(t.name, t.chains, ruleset.family, backend));
  const compiled = { ruleset, tables, conntrack: usesConntrack(ruleset), ...(backend ? { backend } : {}) };
  byBackend.set(ruleset, compiled);
  return compiled;
}
