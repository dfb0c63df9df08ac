// Which table a pasted chain belongs to, when the paste does not say (split from parse-listing.ts).
import type { Diagnostic, TableName } from '../../model.ts';
import { BUILTIN_CHAINS, TABLE_NAMES } from '../../model.ts';
import { type PendingTarget } from '../rule-spec.ts';
import { newTableDraft, type ChainDraft, type TableDraft } from '../build.ts';
import { inferTables } from '../infer-table.ts';
import { renderMatches, renderOptions } from '../../printer/render.ts';
import { createDisjointSets } from '../../../analysis/disjoint-sets.ts';
import { TARGET_TABLES, TARGET_NOT_IN, type Segment, type ChainInstance, type Diag } from './shared.ts';
// ---------------------------------------------------------------------------
// Tables

export function assignTables(instances: readonly ChainInstance[], diag: Diag): TableDraft[] {
  // Chains with a table from the paste (command line, caller), checked against built-in chain names.
  const unknownBySegment = new Map<number, ChainInstance[]>();
  for (const inst of instances) {
    const hint = inst.segment.hint;
    if (hint && inst.builtin && !BUILTIN_CHAINS[hint].includes(inst.draft.name)) {
      diag(inst.line, 'warning', 'table-mismatch',
        `chain ${inst.draft.name} has a policy, so it is built in, but table ${hint} (from ${hintWord(inst.segment.hintSource)}) has no such chain; its table is inferred instead`);
    } else if (hint) {
      inst.table = hint;
      continue;
    }
    const list = unknownBySegment.get(inst.segment.id) ?? [];
    list.push(inst);
    unknownBySegment.set(inst.segment.id, list);
  }
  for (const group of unknownBySegment.values()) inferSegment(group, diag);

  // Merge into tables, in order of appearance; a chain listed twice keeps one listing.
  const tables: TableDraft[] = [];
  const seen = new Map<string, ChainInstance>();
  for (const inst of instances) {
    const tname = inst.table ?? 'filter';
    let t = tables.find((x) => x.name === tname);
    if (!t) {
      t = newTableDraft(tname, inst.line);
      tables.push(t);
    }
    const key = `${tname}/${inst.draft.name}`;
    const previous = seen.get(key);
    if (!previous) {
      seen.set(key, inst);
      t.chains.set(inst.draft.name, inst.draft);
      continue;
    }
    if (chainKey(previous.draft) === chainKey(inst.draft)) {
      diag(inst.line, 'warning', 'duplicate-chain',
        `chain ${inst.draft.name} (table ${tname}) is listed again with the same rules as on line ${previous.line}; the repeat is ignored`);
    } else {
      diag(inst.line, 'warning', 'conflicting-chain',
        `chain ${inst.draft.name} (table ${tname}) is listed again with different rules (first on line ${previous.line}); the later listing replaces the earlier one`);
      seen.set(key, inst);
      t.chains.set(inst.draft.name, inst.draft);
    }
  }
  return tables;
}

export function hintWord(source: Segment['hintSource']): string {
  return { command: 'the command line', context: 'the caller', implicit: 'the command line (no -t: filter)', decoration: 'a table-name line', none: 'nowhere' }[source];
}

export function chainKey(c: ChainDraft): string {
  return `${c.policy}\n` + c.rules.map((r) => renderMatches(r.matches) + pendingKey(r.target)).join('\n');
}

export function pendingKey(t: PendingTarget | null): string {
  return t ? ` ${t.goto ? '-g' : '-j'} ${t.name}${renderOptions(t.options)}` : '';
}

/** Tables a chain can belong to: built-in names and table-bound targets are facts. */
export function hardTables(inst: ChainInstance): Set<TableName> {
  let set = new Set<TableName>(inst.builtin ? TABLE_NAMES.filter((t) => BUILTIN_CHAINS[t].includes(inst.draft.name)) : TABLE_NAMES);
  if (set.size === 0) set = new Set(TABLE_NAMES);
  for (const r of inst.draft.rules) {
    const name = r.target?.name;
    if (!name) continue;
    const only = TARGET_TABLES[name];
    const not = TARGET_NOT_IN[name];
    let next = set;
    if (only) next = new Set([...set].filter((t) => only.includes(t)));
    if (not) next = new Set([...next].filter((t) => !not.includes(t)));
    if (next.size > 0) set = next;
  }
  return set;
}

/** filter and nat hold nearly every rule people paste; other tables need evidence. */
export function plausibleTables(hard: Set<TableName>): Set<TableName> {
  const common = new Set([...hard].filter((t) => t === 'filter' || t === 'nat'));
  return common.size > 0 ? common : hard;
}

/**
 * Groups the chains of one segment that must share a table (jumps), without
 * joining chains whose possible tables exclude each other (a paste of nat
 * PREROUTING and filter FORWARD that both jump to a KUBE-SERVICES chain), and
 * lets inferTables name each group's table.
 */
export function inferSegment(chains: readonly ChainInstance[], diag: Diag): void {
  const byName = new Map(chains.map((c) => [c.draft.name, c]));
  const sets = createDisjointSets(chains.map((c) => c.draft.name));
  const find = sets.find;
  const hard = new Map<string, Set<TableName>>(chains.map((c) => [c.draft.name, hardTables(c)]));
  const possible = new Map<string, Set<TableName>>(chains.map((c) => [c.draft.name, plausibleTables(hard.get(c.draft.name)!)]));
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return;
    const both = new Set([...possible.get(ra)!].filter((t) => possible.get(rb)!.has(t)));
    const bothHard = new Set([...hard.get(ra)!].filter((t) => hard.get(rb)!.has(t)));
    if (both.size === 0 || bothHard.size === 0) return;
    sets.attach(ra, rb);
    possible.set(rb, both);
    hard.set(rb, bothHard);
  };
  // User chains calling user chains first (they are one table's machinery), then the built-ins' jumps.
  for (const pass of [false, true]) {
    for (const c of chains) {
      if (c.builtin !== pass) continue;
      for (const r of c.draft.rules) {
        const to = r.target?.name;
        const callee = to !== undefined ? byName.get(to) : undefined;
        if (callee && !callee.builtin) union(c.draft.name, to!);
      }
    }
  }
  const groups = new Map<string, ChainInstance[]>();
  for (const c of chains) {
    const root = find(c.draft.name);
    groups.set(root, [...(groups.get(root) ?? []), c]);
  }
  // A group of empty chains carries no evidence at all (an empty INPUT in a nat listing):
  // it belongs with the chains listed around it, when their table has those chains.
  const weak = (group: readonly ChainInstance[]): boolean => group.every((c) => c.draft.rules.length === 0);
  for (const [root, group] of groups) {
    if (weak(group)) continue;
    const own: Diagnostic[] = [];
    const assignment = inferTables(group.map((c) => c.draft), undefined, own);
    const allowed = hard.get(root)!;
    const preferred = possible.get(root)!;
    let table = assignment.get(group[0]!.draft.name) ?? 'filter';
    if (!allowed.has(table)) {
      const fixed = [...preferred][0] ?? [...allowed][0] ?? table;
      for (const d of own) diag(d.line, d.severity, d.code, d.message, d.column);
      diag(group[0]!.line, 'info', 'inferred-table',
        `chain${group.length > 1 ? 's' : ''} ${group.map((c) => c.draft.name).join(', ')} cannot be in table ${table} (built-in chain names or table-bound targets); using "${fixed}"`);
      table = fixed;
    } else {
      for (const d of own) diag(d.line, d.severity, d.code, d.message, d.column);
    }
    for (const c of group) c.table = table;
  }
  for (const [root, group] of groups) {
    if (!weak(group)) continue;
    const allowed = hard.get(root)!;
    const first = chains.indexOf(group[0]!);
    const before = chains.slice(0, first).reverse();
    const after = chains.slice(first + 1);
    const neighbour = [...before, ...after].find((c) => c.table !== undefined && allowed.has(c.table));
    if (neighbour) {
      for (const c of group) c.table = neighbour.table;
      diag(group[0]!.line, 'info', 'inferred-table',
        `table not given for empty chain${group.length > 1 ? 's' : ''} ${group.map((c) => c.draft.name).join(', ')}; inferred "${neighbour.table}" (listed with chain ${neighbour.draft.name} of that table)`);
      continue;
    }
    const own: Diagnostic[] = [];
    const table = inferTables(group.map((c) => c.draft), undefined, own).get(group[0]!.draft.name) ?? 'filter';
    for (const d of own) diag(d.line, d.severity, d.code, d.message, d.column);
    for (const c of group) c.table = table;
  }
}
