// A ruleset compiled for tracing: every rule's matches become functions,
// every rule's text is rendered once. Cached per ruleset object.
import type { Chain, Ruleset, Rule, TableName, Target } from '../model.ts';
import { renderRule } from '../render.ts';
import { combine, compileMatch } from './matches.ts';
import type { EvalContext, MatchResult, Matcher, Uncertain } from './context.ts';

export interface CompiledRule {
  readonly rule: Rule;
  readonly text: string;
  readonly test: Matcher;
  readonly target: Target | null;
  /** For dispatch indexing: a positive `-d x/32` (+ protocol + dport) the rule requires, if any. */
  readonly key?: string;
}

export interface CompiledChain {
  readonly table: TableName;
  readonly chain: Chain;
  readonly rules: readonly CompiledRule[];
  /** Rule indexes to visit for a packet; absent when every rule must be visited. */
  readonly candidates?: (ctx: EvalContext) => readonly number[];
}

export interface CompiledRuleset {
  readonly ruleset: Ruleset;
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
  for (const t of ruleset.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        if (r.target?.kind === 'extension' && CONNTRACK_TARGETS.has(r.target.name)) return true;
        if (r.matches.some((m) => m.kind === 'module' && CONNTRACK_MATCHES.has(m.module))) return true;
      }
    }
  }
  return false;
}

const cache = new WeakMap<Ruleset, CompiledRuleset>();

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
  return { rule, text: renderRule(chain, rule), test, target: rule.target };
}

export function compileRuleset(ruleset: Ruleset): CompiledRuleset {
  const hit = cache.get(ruleset);
  if (hit) return hit;
  const tables = new Map<TableName, Map<string, CompiledChain>>();
  for (const t of ruleset.tables) {
    const chains = new Map<string, CompiledChain>();
    for (const c of t.chains) {
      chains.set(c.name, { table: t.name, chain: c, rules: c.rules.map((r) => compileRule(c.name, r, ruleset.family)) });
    }
    tables.set(t.name, chains);
  }
  const compiled = { ruleset, tables, conntrack: usesConntrack(ruleset) };
  cache.set(ruleset, compiled);
  return compiled;
}
