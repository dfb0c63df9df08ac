// A table's chain graph as a Drawing: a box per chain with its rule count
// (and, for built-in and base chains, the policy and nft's type, hook and
// priority), an arrow per jump (dashed: goto) labelled with how many rules
// make it, and kube-proxy's per-Service chains collapsed into groups
// (chain-groups.ts). The diff drawing (diff-graph.ts) is the same picture of
// both sides with what changed marked, so both are built here.
import { Shape, Tone, type DrawEdge, type DrawNode, type Drawing } from './drawing.ts';
import { iptablesTableFacts, nftTableFacts, type ChainFacts, type TableFacts } from './chain-facts.ts';
import { groupChains, type ChainGroup, type GroupingOptions } from './chain-groups.ts';
import type { Table } from '../../iptables/model.ts';
import type { NftTable } from '../../nftables/model.ts';

export interface ChainGraphOptions extends GroupingOptions {
  readonly title?: string;
}

export interface ChainGraph {
  readonly drawing: Drawing;
  /** `expand` entries that name no chain and no group of the table. */
  readonly unknownExpand: readonly string[];
}

/** How a chain differs between the two sides of a diff. */
export interface ChainChange {
  readonly status: 'added' | 'removed' | 'changed';
  /** Lines the chain's box says about the change (`+2 −1 rules`, `policy ACCEPT → DROP`). */
  readonly lines: readonly string[];
}

/** The chain graph of an iptables table or an nft table. */
export function drawChainGraph(table: Table | NftTable, options: ChainGraphOptions = {}): ChainGraph {
  return drawTableFacts('family' in table ? nftTableFacts(table) : iptablesTableFacts(table), options);
}

export function drawTableFacts(facts: TableFacts, options: ChainGraphOptions = {}): ChainGraph {
  const title = options.title ?? `${facts.language === 'nft' ? 'nft table' : 'table'} ${facts.name}`;
  return buildGraph({ title, sides: [facts], options, links: true });
}

export const formatCount = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

/** Box ids safe in any printer's syntax: letters and digits, anything else as `_hex_`. */
const safe = (s: string): string => s.replace(/[^A-Za-z0-9]/g, (ch) => `_${ch.charCodeAt(0).toString(16)}_`);
export const chainBoxId = (name: string): string => `c_${safe(name)}`;
export const groupBoxId = (id: string): string => `g_${safe(id)}`;

interface EdgeCount {
  readonly from: string;
  readonly to: string;
  readonly goto: boolean;
  rules: number;
  /** The distinct chains reached, when `to` is a group. */
  readonly targets: Set<string>;
}

export interface GraphInput {
  readonly title: string;
  /** One table, or the two sides of a diff (left, right). */
  readonly sides: readonly TableFacts[];
  readonly changes?: ReadonlyMap<string, ChainChange>;
  readonly options: GroupingOptions;
  /** Boxes link to their chain's page and groups to their expansion (not in a diff: two nodes). */
  readonly links: boolean;
  readonly notes?: readonly string[];
}

export function buildGraph(input: GraphInput): ChainGraph {
  const { sides, changes } = input;
  // A chain's facts from the last side that has it (a diff labels boxes with the right side).
  const facts = new Map<string, ChainFacts>();
  for (const side of sides) for (const c of side.chains) facts.set(c.name, c);
  const grouping = groupChains(sides.flatMap((s) => s.chains), input.options);
  const boxOf = (name: string): string => {
    const g = grouping.groupOf.get(name);
    return g === undefined ? chainBoxId(name) : groupBoxId(g);
  };

  const perSide = sides.map((s) => countEdges(s, boxOf, grouping.groupOf));
  const nodes: DrawNode[] = [];
  const drawn = new Set<string>();
  const groups = new Map<string, ChainGroup>(grouping.groups.map((g) => [g.id, g]));
  const drawBox = (name: string): void => {
    const id = boxOf(name);
    if (drawn.has(id)) return;
    drawn.add(id);
    const g = grouping.groupOf.get(name);
    nodes.push(g !== undefined ? groupBox(groups.get(g)!, facts, changes, input.links) : chainBox(name, facts.get(name), changes?.get(name), input.links));
  };
  for (const name of reachOrder(sides)) drawBox(name);

  const edges: DrawEdge[] = [];
  const keys = new Set(perSide.flatMap((m) => [...m.keys()]));
  for (const key of keys) {
    const [before, after] = perSide.length === 2 ? [perSide[0]!.get(key), perSide[1]!.get(key)] : [undefined, perSide[0]!.get(key)];
    const e = (after ?? before)!;
    const diffed = perSide.length === 2;
    const tone = !diffed ? Tone.Jump : !before ? Tone.Added : !after ? Tone.Removed : before.rules !== after.rules ? Tone.Changed : Tone.Jump;
    const rules = before && after && before.rules !== after.rules ? `${formatCount(before.rules)} → ${plural(after.rules, 'rule')}` : plural(e.rules, 'rule');
    const targets = e.targets.size > 1 ? ` → ${plural(e.targets.size, 'chain')}` : '';
    edges.push({ from: e.from, to: e.to, label: `${e.goto ? 'goto, ' : ''}${rules}${targets}`, tone, ...(e.goto ? { style: 'dashed' as const } : {}) });
  }
  const notes = [...grouping.notes, ...(input.notes ?? []), 'Arrows: the rules that jump there (dashed: goto).'];
  return { drawing: { title: input.title, direction: 'LR', frames: [], nodes, edges, notes }, unknownExpand: grouping.unknown };
}

/** Every chain, and every name jumped to, in the order packets would meet them: entry chains, then breadth first; then the unreached. */
function reachOrder(sides: readonly TableFacts[]): string[] {
  const calls = new Map<string, string[]>();
  const all: string[] = [];
  for (const s of sides) {
    for (const c of s.chains) {
      const list = calls.get(c.name);
      if (list) list.push(...c.calls.map((x) => x.to));
      else {
        calls.set(c.name, c.calls.map((x) => x.to));
        all.push(c.name);
      }
    }
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visitFrom = (start: string): void => {
    if (seen.has(start)) return;
    seen.add(start);
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i]!;
      order.push(n);
      for (const to of calls.get(n) ?? []) {
        if (seen.has(to)) continue;
        seen.add(to);
        queue.push(to);
      }
    }
  };
  for (const s of sides) for (const c of s.chains) if (c.entry) visitFrom(c.name);
  for (const n of all) visitFrom(n);
  return order;
}

/** One side's arrows between boxes: per (from box, to box, goto) the rules making them (each rule once per arrow). */
function countEdges(side: TableFacts, boxOf: (name: string) => string, groupOf: ReadonlyMap<string, string>): Map<string, EdgeCount> {
  const out = new Map<string, EdgeCount>();
  for (const c of side.chains) {
    const from = boxOf(c.name);
    const rulesPer = new Map<string, Set<number>>();
    for (const call of c.calls) {
      const to = boxOf(call.to);
      const key = `${from}\t${to}\t${call.goto ? 'g' : 'j'}`;
      let e = out.get(key);
      if (!e) out.set(key, (e = { from, to, goto: call.goto, rules: 0, targets: new Set() }));
      if (groupOf.has(call.to)) e.targets.add(call.to);
      const positions = rulesPer.get(key);
      if (positions) positions.add(call.position);
      else rulesPer.set(key, new Set([call.position]));
    }
    for (const [key, positions] of rulesPer) out.get(key)!.rules += positions.size;
  }
  return out;
}

function chainBox(name: string, c: ChainFacts | undefined, change: ChainChange | undefined, links: boolean): DrawNode {
  if (!c || c.undeclared) return { id: chainBoxId(name), label: [name, 'no such chain', ...(change?.lines ?? [])], shape: Shape.Octagon, tone: change ? changeTone(change.status) : Tone.Assumed, tooltip: `rules jump to ${name}, which the table does not declare` };
  const rules = plural(c.rules, 'rule');
  const label = [name, ...(c.base ? [c.base] : []), c.policy ? `policy ${c.policy} · ${rules}` : rules, ...(change?.lines ?? [])];
  const drops = c.policy === 'DROP' || c.policy === 'drop';
  const tone = change ? changeTone(change.status) : drops ? Tone.Drop : Tone.Normal;
  return { id: chainBoxId(name), label, shape: c.entry ? Shape.Rounded : Shape.Box, tone, ...(links ? { link: `chains/${encodeURIComponent(name)}` } : {}) };
}

function groupBox(g: ChainGroup, facts: ReadonlyMap<string, ChainFacts>, changes: ReadonlyMap<string, ChainChange> | undefined, links: boolean): DrawNode {
  let rules = 0;
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const n of g.members) {
    rules += facts.get(n)?.rules ?? 0;
    const ch = changes?.get(n);
    if (ch) counts[ch.status]++;
  }
  const changed = counts.added + counts.removed + counts.changed;
  const lines = changed ? [(['added', 'removed', 'changed'] as const).filter((k) => counts[k]).map((k) => `${formatCount(counts[k])} ${k}`).join(', ')] : [];
  const all = g.members.length;
  const tone = !changed ? Tone.Group : counts.added === all ? Tone.Added : counts.removed === all ? Tone.Removed : Tone.Changed;
  const shown = g.members.slice(0, 5).join('\n') + (all > 5 ? `\n… ${formatCount(all - 5)} more` : '');
  return {
    id: groupBoxId(g.id),
    label: [g.id, `×${plural(all, 'chain')}, ${plural(rules, 'rule')}`, ...lines],
    shape: Shape.Stack,
    tone,
    tooltip: shown,
    ...(links ? { link: `graph?expand=${encodeURIComponent(g.id)}` } : {}),
  };
}

const changeTone = (s: ChainChange['status']): Tone => (s === 'added' ? Tone.Added : s === 'removed' ? Tone.Removed : Tone.Changed);
