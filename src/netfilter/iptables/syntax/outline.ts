// What a rule-by-rule diff needs of a ruleset, read straight off a canonical
// iptables-save text (as the store keeps every version): tables, chains with
// their policies, and each chain's `-A` lines. The diff of two 10k-Service
// nodes then costs the texts' lines instead of four parsed rulesets, which
// kept a worker's heap over the server's memory budget (issue 17).
import { BUILTIN_CHAINS, type Policy, type Ruleset, type TableName } from '../model.ts';
import { renderRule } from '../printer/render.ts';
import { runSteps, type Steps } from '../../steps.ts';

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
  return runSteps(outlineRulesetSteps(ruleset, 'render'));
}

/** Rules and chains between pauses of outlineRulesetSteps (a mask: every 1,024). */
const PAUSE_RULES = 1023;

/**
 * The outline of a parsed ruleset in steps. `lines`: `render` renders each rule; `raw` takes its
 * `raw` text, which for a parse of a canonical text without diagnostics (the ruleset cache's
 * canonical entries) is that text's `-A` line, the rendering itself (canonical text is a fixed
 * point of parse and render), and costs no new string.
 */
export function* outlineRulesetSteps(ruleset: Ruleset, lines: 'render' | 'raw'): Steps<RulesetOutline> {
  const tables: { name: TableName; chains: ChainOutline[] }[] = [];
  let n = 0;
  for (const t of ruleset.tables) {
    const chains: ChainOutline[] = [];
    for (const c of t.chains) {
      const out = new Array<string>(c.rules.length);
      for (let i = 0; i < out.length; i++) {
        if ((++n & PAUSE_RULES) === 0) yield;
        out[i] = lines === 'raw' ? c.rules[i]!.raw : renderRule(c.name, c.rules[i]!);
      }
      if ((++n & PAUSE_RULES) === 0) yield;
      chains.push({ name: c.name, builtin: c.builtin, policy: c.policy, lines: out });
    }
    tables.push({ name: t.name, chains });
  }
  return { kind: 'outline', tables };
}

const TABLES = new Set<string>(Object.keys(BUILTIN_CHAINS));

/**
 * The outline of a canonical text (what `canonicalize` renders: no counters, chains declared
 * after `*table`, rules grouped by chain), or undefined when `text` is not in that form, so the
 * caller parses it instead.
 */
export function outlineCanonicalText(text: string): RulesetOutline | undefined {
  return runSteps(outlineCanonicalTextSteps(text));
}

/** Lines between pauses of outlineCanonicalTextSteps (a mask: every 4,096). */
const PAUSE_LINES = 4095;

/** outlineCanonicalText in steps (a 10k-Service node's text: 235k lines, ~50 ms). */
export function* outlineCanonicalTextSteps(text: string): Steps<RulesetOutline | undefined> {
  let n = 0;
  const tables: { name: TableName; chains: ChainOutline[] }[] = [];
  let table: { name: TableName; chains: ChainOutline[]; byName: Map<string, { lines: string[] }> } | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if ((++n & PAUSE_LINES) === 0) yield;
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
