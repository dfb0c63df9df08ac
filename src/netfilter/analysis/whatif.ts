// What-if: apply iptables commands (-A, -I, -D, -R, -P, -N, -F, -X) to a
// ruleset for one trace, without touching the stored dump.
import type { Diagnostic, Ruleset, TableName } from '../iptables/model.ts';
import { isTableName } from '../iptables/model.ts';
import { renderRuleset } from '../iptables/printer/render.ts';
import { parseDump } from '../iptables/syntax/parse.ts';

export interface RuleChange {
  readonly table: TableName;
  /** The command without `iptables` and `-t`, e.g. `-I FORWARD 1 -i flannel.1 -j ACCEPT`. */
  readonly command: string;
}

export type ChangeResult =
  | { readonly ok: true; readonly ruleset: Ruleset; readonly changes: readonly RuleChange[] }
  | { readonly ok: false; readonly errors: readonly { readonly change: number; readonly message: string }[] };

/** `iptables [-t nat] -I FORWARD 1 ...` → {table, command}; the table defaults to filter. */
export function parseChange(text: string): RuleChange | { error: string } {
  let rest = text.trim().replace(/^(sudo\s+)?ip6?tables(-nft|-legacy)?\s+/, '');
  let table: string = 'filter';
  const m = /(^|\s)(-t|--table)\s+(\S+)(\s|$)/.exec(rest);
  if (m) {
    table = m[3]!;
    rest = (rest.slice(0, m.index) + ' ' + rest.slice(m.index + m[0].length)).trim();
  }
  if (!isTableName(table)) return { error: `unknown table "${table}"` };
  if (!/^(-[AIDRPNFXE]|--(append|insert|delete|replace|policy|new-chain|flush|delete-chain|rename-chain))\s/.test(rest + ' ')) {
    return { error: `"${text}" is not a rule command (use -A, -I, -D, -R, -P, -N, -F or -X)` };
  }
  return { table, command: rest };
}

/** Applies the changes in order; any change iptables would refuse makes the whole set fail. */
export function applyRuleChanges(ruleset: Ruleset, changes: readonly string[]): ChangeResult {
  const parsed: RuleChange[] = [];
  const errors: { change: number; message: string }[] = [];
  changes.forEach((c, i) => {
    const r = parseChange(c);
    if ('error' in r) errors.push({ change: i, message: r.error });
    else parsed.push(r);
  });
  if (errors.length) return { ok: false, errors };
  const base = renderRuleset(ruleset, { counters: false });
  // Each table section gets its changes just before COMMIT; -R becomes -D n + -I n. Every added line
  // remembers its change, so a diagnostic maps back in O(1) (a search per line was quadratic).
  const byTable = new Map<TableName, { text: string; change: number }[]>();
  parsed.forEach((c, change) => {
    const lines = byTable.get(c.table) ?? [];
    const rm = /^(-R|--replace)\s+(\S+)\s+(\d+)\s+(.*)$/.exec(c.command);
    if (rm) lines.push({ text: `-D ${rm[2]} ${rm[3]}`, change }, { text: `-I ${rm[2]} ${rm[3]} ${rm[4]}`, change });
    else lines.push({ text: c.command, change });
    byTable.set(c.table, lines);
  });
  const out: string[] = [];
  let table: TableName | undefined;
  const changeOfLine = new Map<number, number>();
  const add = (lines: readonly { text: string; change: number }[]): void => {
    for (const l of lines) {
      out.push(l.text);
      changeOfLine.set(out.length, l.change);
    }
  };
  for (const line of base.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1) as TableName;
    if (line === 'COMMIT' && table && byTable.has(table)) {
      add(byTable.get(table)!);
      byTable.delete(table);
    }
    if (line !== '') out.push(line);
  }
  for (const [t, lines] of byTable) {
    out.push(`*${t}`);
    add(lines);
    out.push('COMMIT');
  }
  const result = parseDump(out.join('\n') + '\n', { family: ruleset.family, format: 'iptables-save' });
  const problems = result.diagnostics.filter((d: Diagnostic) => d.severity === 'error' || (d.severity === 'warning' && changeOfLine.has(d.line)));
  if (problems.length) {
    return { ok: false, errors: problems.map((d) => ({ change: changeOfLine.get(d.line) ?? 0, message: d.message })) };
  }
  return { ok: true, ruleset: result.ruleset, changes: parsed };
}
