// What a rule-by-rule diff needs of a ruleset, read straight off a canonical
// iptables-save text (as the store keeps every version): tables, chains with
// their policies, and each chain's `-A` lines. The diff of two 10k-Service
// nodes then costs the texts' lines instead of four parsed rulesets, which
// kept a worker's heap over the server's memory budget (issue 17).
import { BUILTIN_CHAINS, type Policy, type Ruleset, type TableName } from '../model.ts';
import { renderRule } from '../printer/render.ts';

export interface ChainOutline {
  readonly name: string;
  readonly builtin: boolean;
  /** As in the model: ACCEPT/DROP/UNKNOWN for built-in chains, null for user chains. */
  readonly policy: Policy | 'UNKNOWN' | null;
  /** The chain's rules as canonical `-A` lines, counters left out. */
  readonly lines: readonly string[];
}

export interface RulesetOutline {
  readonly kind: 'outline';
  readonly tables: readonly { readonly name: TableName; readonly chains: readonly ChainOutline[] }[];
}

/** The outline of a parsed ruleset (its rules rendered as canonical lines). */
export function outlineRuleset(ruleset: Ruleset): RulesetOutline {
  return {
    kind: 'outline',
    tables: ruleset.tables.map((t) => ({
      name: t.name,
      chains: t.chains.map((c) => ({ name: c.name, builtin: c.builtin, policy: c.policy, lines: c.rules.map((r) => renderRule(c.name, r)) })),
    })),
  };
}

const TABLES = new Set<string>(Object.keys(BUILTIN_CHAINS));

/**
 * The outline of a canonical text (what `canonicalize` renders: no counters, chains declared
 * after `*table`, rules grouped by chain), or undefined when `text` is not in that form, so the
 * caller parses it instead.
 */
export function outlineCanonicalText(text: string): RulesetOutline | undefined {
  const tables: { name: TableName; chains: ChainOutline[] }[] = [];
  let table: { name: TableName; chains: ChainOutline[]; byName: Map<string, { lines: string[] }> } | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.startsWith('-A ')) {
      const space = line.indexOf(' ', 3);
      const chain = table?.byName.get(space < 0 ? line.slice(3) : line.slice(3, space));
      if (!chain) return undefined;
      chain.lines.push(line);
    } else if (line.startsWith(':')) {
      const m = /^:(\S+) (\S+) \[0:0\]$/.exec(line);
      if (!table || !m) return undefined;
      const builtin = BUILTIN_CHAINS[table.name].includes(m[1]!);
      const policy = m[2]!;
      if (builtin ? policy !== 'ACCEPT' && policy !== 'DROP' && policy !== 'UNKNOWN' : policy !== '-') return undefined;
      const chain = { name: m[1]!, builtin, policy: builtin ? (policy as Policy | 'UNKNOWN') : null, lines: [] as string[] };
      table.chains.push(chain);
      table.byName.set(chain.name, chain);
    } else if (line.startsWith('*')) {
      const name = line.slice(1);
      if (table || !TABLES.has(name)) return undefined;
      table = { name: name as TableName, chains: [], byName: new Map() };
    } else if (line === 'COMMIT') {
      if (!table) return undefined;
      tables.push({ name: table.name, chains: table.chains });
      table = undefined;
    } else if (line !== '' || start < text.length) return undefined;
  }
  return table ? undefined : { kind: 'outline', tables };
}
