// The diff of one table on two nodes (or two versions) drawn as its chain
// graph: both sides' chains and jumps in one picture, chains added, removed
// and changed marked (by the rule-by-rule diffs, diff.ts and nft-diff.ts, so
// the picture and the JSON diff never disagree), arrows on one side only
// marked too, and each group box saying how many of its chains changed.
import type { Ruleset, TableName } from '../../iptables/model.ts';
import type { NftRuleset } from '../../nftables/model.ts';
import { diffRulesetsSteps, type RulesetDiff } from '../diff.ts';
import { diffNftRulesetsSteps, type NftRulesetDiff } from '../nft-diff.ts';
import { runSteps, type Steps } from '../../steps.ts';
import { iptablesTableFactsSteps, nftTableFactsSteps, type TableFacts } from './chain-facts.ts';
import { buildGraphSteps, formatCount, type ChainChange, type ChainGraph, type ChainGraphOptions } from './chain-graph.ts';

export interface DiffGraphOptions extends ChainGraphOptions {
  /** What the two sides are called in the title (`node01 (dump 3)`). */
  readonly leftName?: string;
  readonly rightName?: string;
}

/** The `expand` entry of a diff that stands for every chain that differs. */
export const CHANGED = 'changed';

const ruleLines = (added: number, removed: number): string[] => (added || removed ? [`+${formatCount(added)} −${formatCount(removed)} rules`] : []);
const STATUS = { onlyLeft: 'removed', onlyRight: 'added', changed: 'changed' } as const;

/** An iptables table of two rulesets drawn as a diff; undefined when neither has the table. */
export function drawRulesetDiff(left: Ruleset, right: Ruleset, table: TableName, options: DiffGraphOptions = {}, diff?: RulesetDiff): ChainGraph | undefined {
  return runSteps(drawRulesetDiffSteps(left, right, table, options, diff));
}

/**
 * drawRulesetDiff in steps (the diff of two 10k-Service nat tables is long). `diff`: the two
 * rulesets' diff when the caller has it (a server diffs cached outlines), else the table is diffed here.
 */
export function* drawRulesetDiffSteps(left: Ruleset, right: Ruleset, table: TableName, options: DiffGraphOptions = {}, diff?: RulesetDiff): Steps<ChainGraph | undefined> {
  const [l, r] = [left.tables.find((t) => t.name === table), right.tables.find((t) => t.name === table)];
  if (!l && !r) return undefined;
  const d = diff ?? (yield* diffRulesetsSteps({ family: left.family, tables: l ? [l] : [] }, { family: right.family, tables: r ? [r] : [] }));
  const changes = new Map<string, ChainChange>();
  for (const c of d.chains) {
    if (c.table !== table) continue;
    const status = STATUS[c.status];
    const policy = c.policy && c.policy.left !== null && c.policy.right !== null ? [`policy ${c.policy.left} → ${c.policy.right}`] : [];
    changes.set(c.chain, { status, lines: status === 'changed' ? [...policy, ...ruleLines(c.added, c.removed)] : [status] });
  }
  const empty = (): TableFacts => ({ name: table, language: 'iptables', chains: [] });
  const [lf, rf] = [l ? yield* iptablesTableFactsSteps(l) : empty(), r ? yield* iptablesTableFactsSteps(r) : empty()];
  return yield* drawSides(lf, rf, changes, options, changes.size === 0 && !!l === !!r ? ['identical'] : []);
}

/** An nft table (`ip kube-proxy`) of two rulesets drawn as a diff, its sets' member changes as notes; undefined when neither has the table. */
export function drawNftRulesetDiff(left: NftRuleset, right: NftRuleset, table: string, options: DiffGraphOptions = {}, diff?: NftRulesetDiff): ChainGraph | undefined {
  return runSteps(drawNftRulesetDiffSteps(left, right, table, options, diff));
}

/** drawNftRulesetDiff in steps; `diff`: the rulesets' diff when the caller has it. */
export function* drawNftRulesetDiffSteps(left: NftRuleset, right: NftRuleset, table: string, options: DiffGraphOptions = {}, diff?: NftRulesetDiff): Steps<ChainGraph | undefined> {
  const find = (rs: NftRuleset) => rs.tables.find((t) => `${t.family} ${t.name}` === table);
  const [l, r] = [find(left), find(right)];
  if (!l && !r) return undefined;
  const d = diff ?? (yield* diffNftRulesetsSteps({ tables: l ? [l] : [] }, { tables: r ? [r] : [] }));
  const changes = new Map<string, ChainChange>();
  for (const c of d.chains) {
    if (c.table !== table) continue;
    const status = STATUS[c.status];
    const base = c.base && c.base.left !== null && c.base.right !== null ? [`was ${c.base.left}`] : [];
    changes.set(c.chain, { status, lines: status === 'changed' ? [...base, ...ruleLines(c.added, c.removed)] : [status] });
  }
  const sets = d.sets.filter((x) => x.table === table).map((s) => `${s.kind} ${s.set}: ${s.status === 'changed' ? `+${formatCount(s.added.length)} −${formatCount(s.removed.length)} elements${s.declaration ? ', declaration changed' : ''}` : STATUS[s.status]}`);
  const empty = (): TableFacts => ({ name: table, language: 'nft', chains: [] });
  const [lf, rf] = [l ? yield* nftTableFactsSteps(l) : empty(), r ? yield* nftTableFactsSteps(r) : empty()];
  return yield* drawSides(lf, rf, changes, options, [...(changes.size === 0 && sets.length === 0 && !!l === !!r ? ['identical'] : []), ...sets]);
}

function* drawSides(left: TableFacts, right: TableFacts, changes: ReadonlyMap<string, ChainChange>, options: DiffGraphOptions, notes: readonly string[]): Steps<ChainGraph> {
  const name = right.chains.length || !left.chains.length ? right.name : left.name;
  const title = options.title ?? `${right.language === 'nft' ? 'nft table' : 'table'} ${name}: ${options.leftName ?? 'left'} → ${options.rightName ?? 'right'}`;
  const legend = 'Chains and arrows only on the right are marked added, only on the left removed, on both but different changed.';
  // `expand=changed`: every chain that differs drawn as its own box (a group then says what is left of it).
  const changed = options.expand?.includes(CHANGED) ? { expand: options.expand.filter((e) => e !== CHANGED), expandOnly: [...changes.keys()] } : {};
  return yield* buildGraphSteps({ title, sides: [left, right], changes, options: { ...options, ...changed }, notes: [...notes, legend] });
}
