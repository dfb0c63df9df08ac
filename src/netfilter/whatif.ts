// What-if: apply iptables commands (-A, -I, -D, -R, -P, -N, -F, -X) to a
// ruleset for one trace, without touching the stored dump.
import type { Diagnostic, Ruleset, TableName } from './model.ts';
import { isTableName } from './model.ts';
import { renderRuleset } from './render.ts';
import { parseDump } from './parse.ts';

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
  // Each table section gets its changes just before COMMIT; -R becomes -D n + -I n.
  const byTable = new Map<TableName, string[]>();
  for (const c of parsed) {
    const lines = byTable.get(c.table) ?? [];
    const rm = /^(-R|--replace)\s+(\S+)\s+(\d+)\s+(.*)$/.exec(c.command);
    if (rm) lines.push(`-D ${rm[2]} ${rm[3]}`, `-I ${rm[2]} ${rm[3]} ${rm[4]}`);
    else lines.push(c.command);
    byTable.set(c.table, lines);
  }
  const out: string[] = [];
  let table: TableName | undefined;
  const sectionLines: { line: number; change: number }[] = [];
  for (const line of base.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1) as TableName;
    if (line === 'COMMIT' && table && byTable.has(table)) {
      for (const l of byTable.get(table)!) {
        out.push(l);
        sectionLines.push({ line: out.length, change: parsed.findIndex((p) => p.table === table && (p.command === l || l.endsWith(p.command.replace(/^(-R|--replace)\s+\S+\s+\d+\s+/, '')))) });
      }
      byTable.delete(table);
    }
    if (line !== '') out.push(line);
  }
  for (const [t, lines] of byTable) {
    out.push(`*${t}`);
    for (const l of lines) {
      out.push(l);
      sectionLines.push({ line: out.length, change: parsed.findIndex((p) => p.table === t && p.command === l) });
    }
    out.push('COMMIT');
  }
  const result = parseDump(out.join('\n') + '\n', { family: ruleset.family, format: 'iptables-save' });
  const problems = result.diagnostics.filter((d: Diagnostic) => d.severity === 'error' || (d.severity === 'warning' && sectionLines.some((s) => s.line === d.line)));
  if (problems.length) {
    return { ok: false, errors: problems.map((d) => ({ change: Math.max(0, sectionLines.find((s) => s.line === d.line)?.change ?? 0), message: d.message })) };
  }
  return { ok: true, ruleset: result.ruleset, changes: parsed };
}
