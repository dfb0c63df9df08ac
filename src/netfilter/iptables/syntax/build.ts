// Turns chain drafts (from any of the parsers) into the readonly model:
// resolves target names, declares chains a paste forgot, orders chains the
// way iptables-save prints them.
import type { Chain, Counters, Diagnostic, Family, Match, Policy, Rule, Ruleset, Table, TableName, Target, Verdict } from '../model.ts';
import { BUILTIN_CHAINS, isValidChainName } from '../model.ts';
import { NONE, VERDICTS, type PendingTarget } from './rule-spec.ts';
import { targetSpec } from './extensions.ts';
import { runSteps, type Steps } from '../../steps.ts';

/**
 * A rule before its target is resolved. It has the Rule's fields in the
 * Rule's order, so buildTable finishes it in place instead of copying it.
 */
export interface RuleDraft {
  /** 0 until buildTable numbers the rule. */
  readonly position: number;
  readonly line: number;
  readonly raw: string;
  readonly counters?: Counters;
  readonly matches: readonly Match[];
  readonly target: PendingTarget | null;
}

export interface ChainDraft {
  readonly name: string;
  policy: Policy | 'UNKNOWN' | null | undefined;
  counters?: Counters;
  line?: number;
  declared: boolean;
  rules: RuleDraft[];
  /** The shared target of the rules that jump here, once buildTable resolved one. */
  jump?: Target;
}

export interface TableDraft {
  readonly name: TableName;
  readonly chains: Map<string, ChainDraft>;
  line: number;
}

export function newTableDraft(name: TableName, line: number): TableDraft {
  return { name, chains: new Map(), line };
}

/**
 * The rule list of a chain without rules: shared and frozen. A kube-proxy dump
 * declares its 60k chains before their rules, so an own empty list per chain
 * would be garbage copied by every young GC until its rules come.
 * Change a draft's list in place only through mutableRules.
 */
export const NO_RULES: RuleDraft[] = NONE as RuleDraft[];

/** The draft's rule list, to change in place (an own one for the shared empty list). */
export function mutableRules(chain: ChainDraft): RuleDraft[] {
  if (chain.rules === NO_RULES) chain.rules = [];
  return chain.rules;
}

export function draftChain(table: TableDraft, name: string, line?: number): ChainDraft {
  let c = table.chains.get(name);
  if (!c) {
    c = line !== undefined ? { name, policy: undefined, declared: false, rules: NO_RULES, line } : { name, policy: undefined, declared: false, rules: NO_RULES };
    table.chains.set(name, c);
  }
  return c;
}

/** iptables-save lists built-in chains in hook order, then user chains sorted by name (strcmp). */
export function compareChainNames(table: TableName, a: string, b: string): number {
  const builtins = BUILTIN_CHAINS[table];
  const ia = builtins.indexOf(a);
  const ib = builtins.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Turns a draft into its Rule. A draft belongs to one chain and is finished once. */
function finishRule(draft: RuleDraft, position: number, target: Target | null): Rule {
  const rule = draft as unknown as { position: number; target: Target | null };
  rule.position = position;
  rule.target = target;
  return rule as unknown as Rule;
}

/** Sorts chains the way iptables-save lists them; dumps usually are in that order already. */
function inSaveOrder(table: TableName, chains: ChainDraft[]): ChainDraft[] {
  for (let k = 1; k < chains.length; k++) {
    if (compareChainNames(table, chains[k - 1]!.name, chains[k]!.name) > 0) {
      return chains.sort((a, b) => compareChainNames(table, a.name, b.name));
    }
  }
  return chains;
}

export function buildTable(draft: TableDraft, diagnostics: Diagnostic[]): Table {
  return runSteps(buildTableSteps(draft, diagnostics));
}

/** A pause every this many rules built. */
const PAUSE_RULES = 2048;
/** Targets resolved between pauses (a mask: every 8,192). */
const RESOLVE_PAUSE = 8191;

function* buildTableSteps(draft: TableDraft, diagnostics: Diagnostic[]): Steps<Table> {
  const { name } = draft;
  const builtins = BUILTIN_CHAINS[name];
  for (const b of builtins) {
    if (!draft.chains.has(b)) draftChain(draft, b);
  }
  // Loops over rules and chains are indexed: this generator runs once per table, mostly before
  // V8 optimizes it, and there a for-of makes an iterator result per rule (25 MB for a 10k-Service dump).
  // Names iptables refuses (from any input form: a save file, -S or a listing) are errors and their
  // chains and rules are dropped, so the canonical text never holds them and reads back the same.
  // The target last found valid: rules that jump to the same chain often share it.
  let valid: PendingTarget | undefined;
  // The key is the chain's name (an entries loop makes a [key, value] pair per chain).
  const all = [...draft.chains.values()];
  for (let c = 0; c < all.length; c++) {
    const chain = all[c]!;
    const chainName = chain.name;
    if (!isValidChainName(chainName)) {
      diagnostics.push({ line: chain.line ?? draft.line, severity: 'error', code: 'bad-chain-name', message: `invalid chain name "${chainName}" (iptables: Invalid chain name); the chain is dropped` });
      draft.chains.delete(chainName);
      continue;
    }
    let bad: RuleDraft[] | undefined;
    const drafts = chain.rules;
    for (let k = 0; k < drafts.length; k++) {
      const r = drafts[k]!;
      const t = r.target;
      if (!t || t === valid) continue;
      if (isValidChainName(t.name)) valid = t;
      else (bad ??= []).push(r);
    }
    if (!bad) continue;
    for (const r of bad) diagnostics.push({ line: r.line, severity: 'error', code: 'bad-chain-name', message: `invalid target or chain name "${r.target!.name}"; the rule is dropped` });
    chain.rules = withoutRules(chain.rules, bad);
  }
  const exists = (n: string): boolean => draft.chains.has(n);
  // Option-less targets (verdicts, jumps, gotos) are readonly and shared by the rules of this table.
  const shared: SharedTargets = { verdict: new Map(), goto: new Map(), withOptions: new Map() };
  // Resolve every rule's target in its draft (one chain lookup per rule), declaring chains that
  // rules jump to but the dump never declared. Such a declaration can only turn an unknown
  // extension of that name into a jump: buildChain resolves those again.
  const declaredBefore = draft.chains.size;
  // Rules share pending targets (the parsers share option-less ones): the last two resolved.
  let pending1: PendingTarget | undefined;
  let target1: Target | undefined;
  let pending2: PendingTarget | undefined;
  let target2: Target | undefined;
  let resolved = 0;
  const toResolve = [...draft.chains.values()];
  for (let c = 0; c < toResolve.length; c++) {
    const drafts = toResolve[c]!.rules;
    for (let k = 0; k < drafts.length; k++) {
      const r = drafts[k]!;
      // A pause now and then: this pass alone is ~0.1 s for a 10k-Service nat table.
      if ((++resolved & RESOLVE_PAUSE) === 0) yield;
      if (!r.target) continue;
      let target = r.target === pending1 ? target1 : r.target === pending2 ? target2 : undefined;
      if (!target && r.target.options.length > 0) target = shared.withOptions.get(r.target);
      if (!target) {
        target = sharedTarget(draft, shared, r.target, exists);
        // Option-less targets resolve the same once resolved (declaring more chains changes nothing).
        if (target && r.target.options.length === 0 && r.target !== pending1) {
          pending2 = pending1;
          target2 = target1;
          pending1 = r.target;
          target1 = target;
        }
        // So do targets with options (no declaration here gives a chain an extension's name or
        // takes one away); the parsers share them between rules (`-j DNAT --to-destination` of
        // the endpoints of a Service), so they share one Target.
        if (target && r.target.options.length > 0) shared.withOptions.set(r.target, target);
      }
      if (target) {
        (r as unknown as { target: Target }).target = target;
        continue;
      }
      diagnostics.push({
        line: r.line,
        severity: 'warning',
        code: 'undeclared-chain',
        message: `chain "${r.target.name}" (table ${name}) is used but never declared; declared as an empty user chain`,
      });
      const c = draftChain(draft, r.target.name);
      c.policy = null;
    }
  }
  const declaredHere = draft.chains.size !== declaredBefore;
  const chains: Chain[] = [];
  let built = 0;
  const ordered = inSaveOrder(name, [...draft.chains.values()]);
  for (let k = 0; k < ordered.length; k++) {
    const c = ordered[k]!;
    if (built >= PAUSE_RULES) {
      built = 0;
      yield;
    }
    built += c.rules.length;
    chains.push(buildChain(c));
  }
  return { name, chains };

  /** A rule's target once every chain is declared, from what the first pass left in its draft. */
  function finalTarget(t: PendingTarget | Target | null): Target | null {
    if (!t) return null;
    if (t.kind === 'named') return sharedTarget(draft, shared, t, exists) ?? resolveTarget(t, exists).target;
    if (declaredHere && t.kind === 'extension' && !t.known && draft.chains.has(t.name)) {
      return sharedTarget(draft, shared, { kind: 'named', name: t.name, goto: false, options: t.options }, exists)!;
    }
    return t;
  }

  function buildChain(c: ChainDraft): Chain {
    const builtin = builtins.includes(c.name);
    let policy = c.policy;
    if (builtin && (policy === undefined || policy === null)) {
      policy = 'ACCEPT';
      if (c.policy === undefined) {
        diagnostics.push({
          line: c.line ?? draft.line,
          severity: 'info',
          code: 'assumed-policy',
          message: `policy of built-in chain ${name}/${c.name} is not in the input; assuming ACCEPT (the kernel's default)`,
        });
      }
    }
    if (!builtin && policy !== null && policy !== undefined) {
      diagnostics.push({ line: c.line ?? draft.line, severity: 'error', code: 'policy-on-user-chain', message: `user chain ${c.name} cannot have a policy (${policy})` });
    }
    // The draft's list becomes the chain's when it has no spare room: the save parser makes lists
    // of up to 8 rules at their exact size (see appendRule), others may have grown by push.
    const drafts = c.rules;
    const n = drafts.length;
    const rules: Rule[] = n === 0 ? NONE : n <= 8 ? (drafts as unknown as Rule[]) : new Array<Rule>(n);
    for (let idx = 0; idx < n; idx++) {
      const r = drafts[idx]!;
      const target = finalTarget(r.target as PendingTarget | Target | null);
      if (target?.kind === 'extension' && !target.known) {
        diagnostics.push({ line: r.line, severity: 'warning', code: 'unknown-target', message: `unknown target "${target.name}": kept verbatim; a trace stops there` });
      }
      rules[idx] = finishRule(r, idx + 1, target);
    }
    // Four literals rather than spreads of optional parts (one Chain per chain: 60k on a 10k-Service node).
    const out = builtin ? (policy as Policy | 'UNKNOWN') : null;
    const { counters, line } = c;
    if (counters) return line !== undefined ? { name: c.name, builtin, policy: out, counters, line, rules } : { name: c.name, builtin, policy: out, counters, rules };
    return line !== undefined ? { name: c.name, builtin, policy: out, line, rules } : { name: c.name, builtin, policy: out, rules };
  }
}

/** `rules` without `bad`. A function of its own: a closure in the chain loop over `bad` made V8 allocate a context per chain. */
function withoutRules(rules: readonly RuleDraft[], bad: readonly RuleDraft[]): RuleDraft[] {
  return rules.filter((r) => !bad.includes(r));
}

interface SharedTargets {
  readonly verdict: Map<string, Target>;
  readonly goto: Map<string, Target>;
  /** Resolved targets of pending targets with options, by the pending target. */
  readonly withOptions: Map<PendingTarget, Target>;
}

/**
 * The resolved target (as resolveTarget gives it once every chain is
 * declared), or undefined for a jump to a chain that is not declared (yet).
 * Option-less targets come from or go into `shared`; jumps to a chain from
 * its draft (one lookup by name per rule).
 */
function sharedTarget(draft: TableDraft, shared: SharedTargets, pending: PendingTarget, exists: (name: string) => boolean): Target | undefined {
  const { name } = pending;
  const chain = draft.chains.get(name);
  if (pending.goto) return chain ? share(shared.goto, name, pending, exists) : undefined;
  if (pending.options.length === 0 && (VERDICTS as readonly string[]).includes(name)) return share(shared.verdict, name, pending, exists);
  // What resolveTarget gives for a declared chain (neither a goto nor a verdict), without looking the name up again.
  if (chain) return (chain.jump ??= { kind: 'jump', chain: name });
  // What resolveTarget gives for a name that is no chain: an extension, or a jump to an undeclared chain.
  if (targetSpec(name)) return { kind: 'extension', name, options: pending.options, known: true };
  return pending.options.length === 0 ? undefined : { kind: 'extension', name, options: pending.options, known: false };
}

function share(map: Map<string, Target>, key: string, pending: PendingTarget, exists: (name: string) => boolean): Target {
  let target = map.get(key);
  if (!target) {
    target = resolveTarget(pending, exists).target;
    map.set(key, target);
  }
  return target;
}

export function buildRuleset(family: Family, tables: readonly TableDraft[], diagnostics: Diagnostic[]): Ruleset {
  return runSteps(buildRulesetSteps(family, tables, diagnostics));
}

/** `buildRuleset`, pausing every few thousand rules (see steps.ts). */
export function* buildRulesetSteps(family: Family, tables: readonly TableDraft[], diagnostics: Diagnostic[]): Steps<Ruleset> {
  const built: Table[] = [];
  for (const t of tables) built.push(yield* buildTableSteps(t, diagnostics));
  return { family, tables: built };
}

/** How a pending target resolves once the table's chains are known. */
export type TargetResolution = 'goto' | 'goto-undeclared' | 'verdict' | 'jump' | 'jump-undeclared' | 'extension' | 'unknown-extension';

export function classifyTarget(pending: PendingTarget, chainExists: (name: string) => boolean): TargetResolution {
  const { name } = pending;
  if (pending.goto) return chainExists(name) ? 'goto' : 'goto-undeclared';
  if ((VERDICTS as readonly string[]).includes(name) && pending.options.length === 0) return 'verdict';
  if (chainExists(name)) return 'jump';
  if (targetSpec(name)) return 'extension';
  // Without options an unknown name is most likely a chain the paste never declared.
  return pending.options.length === 0 ? 'jump-undeclared' : 'unknown-extension';
}

/** Resolves a target name once the table's chains are known. */
export function resolveTarget(
  pending: PendingTarget,
  chainExists: (name: string) => boolean,
): { target: Target; undeclared?: string } {
  const { name } = pending;
  switch (classifyTarget(pending, chainExists)) {
    case 'goto':
      return { target: { kind: 'goto', chain: name } };
    case 'goto-undeclared':
      return { target: { kind: 'goto', chain: name }, undeclared: name };
    case 'verdict':
      return { target: { kind: 'verdict', verdict: name as Verdict } };
    case 'jump':
      return { target: { kind: 'jump', chain: name } };
    case 'jump-undeclared':
      return { target: { kind: 'jump', chain: name }, undeclared: name };
    case 'extension':
      return { target: { kind: 'extension', name, options: pending.options, known: true } };
    case 'unknown-extension':
      return { target: { kind: 'extension', name, options: pending.options, known: false } };
  }
}
