// Turns chain drafts (from any of the parsers) into the readonly model:
// resolves target names, declares chains a paste forgot, orders chains the
// way iptables-save prints them.
import type { Chain, Counters, Diagnostic, Family, Match, Policy, Rule, Ruleset, Table, TableName, Target } from './model.ts';
import { BUILTIN_CHAINS } from './model.ts';
import { classifyTarget, resolveTarget, type PendingTarget } from './rule-spec.ts';

export interface RuleDraft {
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
}

export interface TableDraft {
  readonly name: TableName;
  readonly chains: Map<string, ChainDraft>;
  line: number;
}

export function newTableDraft(name: TableName, line: number): TableDraft {
  return { name, chains: new Map(), line };
}

export function draftChain(table: TableDraft, name: string, line?: number): ChainDraft {
  let c = table.chains.get(name);
  if (!c) {
    c = { name, policy: undefined, declared: false, rules: [], ...(line !== undefined ? { line } : {}) };
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

export function buildTable(draft: TableDraft, diagnostics: Diagnostic[]): Table {
  const { name } = draft;
  const builtins = BUILTIN_CHAINS[name];
  for (const b of builtins) {
    if (!draft.chains.has(b)) draftChain(draft, b);
  }
  const exists = (n: string): boolean => draft.chains.has(n);
  // Declare chains that rules jump to but the dump never declared.
  for (const chain of [...draft.chains.values()]) {
    for (const r of chain.rules) {
      if (!r.target) continue;
      const how = classifyTarget(r.target, exists);
      if (how === 'jump-undeclared' || how === 'goto-undeclared') {
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
  }
  // Option-less targets (verdicts, jumps, gotos) are readonly and shared by the rules of this table.
  const shared: SharedTargets = { verdict: new Map(), jump: new Map(), goto: new Map() };
  const chains: Chain[] = [...draft.chains.values()]
    .sort((a, b) => compareChainNames(name, a.name, b.name))
    .map((c): Chain => {
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
      const rules: Rule[] = c.rules.map((r, idx): Rule => {
        const target = r.target ? sharedTarget(shared, r.target, exists) : null;
        if (target?.kind === 'extension' && !target.known) {
          diagnostics.push({ line: r.line, severity: 'warning', code: 'unknown-target', message: `unknown target "${target.name}": kept verbatim; a trace stops there` });
        }
        return r.counters
          ? { position: idx + 1, line: r.line, raw: r.raw, counters: r.counters, matches: r.matches, target }
          : { position: idx + 1, line: r.line, raw: r.raw, matches: r.matches, target };
      });
      return {
        name: c.name,
        builtin,
        policy: builtin ? (policy as Policy | 'UNKNOWN') : null,
        ...(c.counters ? { counters: c.counters } : {}),
        ...(c.line !== undefined ? { line: c.line } : {}),
        rules,
      };
    });
  return { name, chains };
}

interface SharedTargets {
  readonly verdict: Map<string, Target>;
  readonly jump: Map<string, Target>;
  readonly goto: Map<string, Target>;
}

/** The resolved target; option-less ones come from (or go into) `shared`. */
function sharedTarget(shared: SharedTargets, pending: PendingTarget, exists: (name: string) => boolean): Target {
  const how = classifyTarget(pending, exists);
  const kind = how === 'goto-undeclared' ? 'goto' : how === 'jump-undeclared' ? 'jump' : how;
  if (kind !== 'verdict' && kind !== 'jump' && kind !== 'goto') return resolveTarget(pending, exists).target;
  const map = shared[kind];
  let target = map.get(pending.name);
  if (!target) {
    target = resolveTarget(pending, exists).target;
    map.set(pending.name, target);
  }
  return target;
}

export function buildRuleset(family: Family, tables: readonly TableDraft[], diagnostics: Diagnostic[]): Ruleset {
  return { family, tables: tables.map((t) => buildTable(t, diagnostics)) };
}
