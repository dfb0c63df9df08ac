// A table's chain graph as a Drawing: a box per chain with its rule count
// (and, for built-in and base chains, the policy and nft's type, hook and
// priority), an arrow per jump (dashed: goto) labelled with how many rules
// make it, and kube-proxy's per-Service chains collapsed into groups
// (chain-groups.ts). The diff drawing (diff-graph.ts) is the same picture of
// both sides with what changed marked, so both are built here.
import { Shape, Tone, type DrawEdge, type DrawNode, type Drawing } from './drawing.ts';
import { CHAINS_PER_STEP, iptablesTableFactsSteps, nftTableFactsSteps, type ChainFacts, type TableFacts } from './chain-facts.ts';
import { groupChainsSteps, type ChainGroup, type GroupingOptions } from './chain-groups.ts';
import { runSteps, type Steps } from '../../steps.ts';
import type { Table } from '../../iptables/model.ts';
import type { NftTable } from '../../nftables/model.ts';

export interface ChainGraphOptions extends GroupingOptions {
  readonly title?: string;
  /** Query parameters every link keeps (`dump=12`: the version drawn), already encoded. */
  readonly linkQuery?: string;
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
  return runSteps(drawChainGraphSteps(table, options));
}

/** drawChainGraph in steps: a 10k-Service node's 60k chains are read in slices a server can pause between. */
export function* drawChainGraphSteps(table: Table | NftTable, options: ChainGraphOptions = {}): Steps<ChainGraph> {
  const facts = 'family' in table ? yield* nftTableFactsSteps(table) : yield* iptablesTableFactsSteps(table);
  const title = options.title ?? `${facts.language === 'nft' ? 'nft table' : 'table'} ${facts.name}`;
  return yield* buildGraphSteps({ title, sides: [facts], options, links: { expand: options.expand ?? [], query: options.linkQuery ?? '' } });
}

export const formatCount = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

/** Box ids safe in any printer's syntax: letters and digits, anything else as `_hex_`. */
const safe = (s: string): string => s.replace(/[^A-Za-z0-9]/g, (ch) => `_${ch.charCodeAt(0).toString(16)}_`);
export const chainBoxId = (name: string): string => `c_${safe(name)}`;
export const groupBoxId = (id: string): string => `g_${safe(id)}`;

interface Links {
  readonly expand: readonly string[];
  readonly query: string;
}

interface EdgeCount {
  readonly from: string;
  readonly to: string;
  readonly goto: boolean;
  rules: number;
  /** The distinct chains reached, when `to` is a group. */
  readonly targets: Set<string>;
  /** The last rule counted (a rule jumping to several chains of one box counts once). */
  lastChain: ChainFacts | undefined;
  lastPosition: number;
}

export interface GraphInput {
  readonly title: string;
  /** One table, or the two sides of a diff (left, right). */
  readonly sides: readonly TableFacts[];
  readonly changes?: ReadonlyMap<string, ChainChange>;
  readonly options: GroupingOptions;
  /**
   * Boxes link to their chain's page and groups to the picture with them expanded too (what is
   * expanded already, and `query`, kept); absent in a diff (two nodes: no one chain page).
   */
  readonly links?: Links;
  readonly notes?: readonly string[];
}

export function* buildGraphSteps(input: GraphInput): Steps<ChainGraph> {
  const { sides, changes } = input;
  const grouping = yield* groupChainsSteps(sides, input.options);
  const { groupOf } = grouping;
  const ids = new Map<string, string>();
  const boxOf = (name: string): string => {
    const key = groupOf.get(name) ?? name;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = key === name ? chainBoxId(name) : groupBoxId(key)));
    return id;
  };

  // The facts of chains drawn as their own box (a diff labels them with the right side), and each group's rules.
  const own = new Map<string, ChainFacts>();
  const groupRules = new Map<string, number>();
  let n = 0;
  for (const [i, side] of sides.entries()) {
    const last = i === sides.length - 1;
    for (const c of side.chains) {
      if (++n % CHAINS_PER_STEP === 0) yield;
      const g = groupOf.get(c.name);
      if (g === undefined) own.set(c.name, c);
      else if (last || changes?.get(c.name)?.status === 'removed') groupRules.set(g, (groupRules.get(g) ?? 0) + c.rules);
    }
  }
  const perSide: Map<string, EdgeCount>[] = [];
  for (const side of sides) perSide.push(yield* countEdges(side, boxOf, groupOf));

  const edges: DrawEdge[] = [];
  const next = new Map<string, string[]>();
  for (const key of new Set(perSide.flatMap((m) => [...m.keys()]))) {
    const [before, after] = perSide.length === 2 ? [perSide[0]!.get(key), perSide[1]!.get(key)] : [undefined, perSide[0]!.get(key)];
    const e = (after ?? before)!;
    const diffed = perSide.length === 2;
    const tone = !diffed ? Tone.Jump : !before ? Tone.Added : !after ? Tone.Removed : before.rules !== after.rules ? Tone.Changed : Tone.Jump;
    const rules = before && after && before.rules !== after.rules ? `${formatCount(before.rules)} → ${plural(after.rules, 'rule')}` : plural(e.rules, 'rule');
    const targets = e.targets.size > 1 ? ` → ${plural(e.targets.size, 'chain')}` : '';
    edges.push({ from: e.from, to: e.to, label: `${e.goto ? 'goto, ' : ''}${rules}${targets}`, tone, ...(e.goto ? { style: 'dashed' as const } : {}) });
    next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  }

  // Boxes in the order packets meet them: entry chains, then breadth first along the arrows; then the unreached.
  const groups = new Map<string, ChainGroup>(grouping.groups.map((g) => [g.id, g]));
  const nodes: DrawNode[] = [];
  const drawn = new Set<string>();
  const draw = (start: string): void => {
    if (drawn.has(start)) return;
    drawn.add(start);
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      const name = nameOf.get(id)!;
      const g = id.startsWith('g_') ? groups.get(name) : undefined;
      nodes.push(g ? groupBox(g, groupRules.get(g.id) ?? 0, changes, input.links) : chainBox(name, own.get(name), changes?.get(name), input.links));
      for (const to of next.get(id) ?? []) {
        if (drawn.has(to)) continue;
        drawn.add(to);
        queue.push(to);
      }
    }
  };
  const nameOf = new Map([...ids].map(([name, id]) => [id, name]));
  for (const side of sides) for (const c of side.chains) if (c.entry) draw(boxOf(c.name));
  n = 0;
  for (const side of sides) {
    for (const c of side.chains) {
      if (++n % CHAINS_PER_STEP === 0) yield;
      draw(boxOf(c.name));
    }
  }
  const notes = [...grouping.notes, ...(input.notes ?? []), 'Arrows: the rules that jump there (dashed: goto).'];
  return { drawing: { title: input.title, direction: 'LR', frames: [], nodes, edges, notes }, unknownExpand: grouping.unknown };
}

/** One side's arrows between boxes: per (from box, to box, goto) the rules making them (each rule once per arrow). */
function* countEdges(side: TableFacts, boxOf: (name: string) => string, groupOf: ReadonlyMap<string, string>): Steps<Map<string, EdgeCount>> {
  const out = new Map<string, EdgeCount>();
  // Per box, its arrows by target box (gotos apart): no key string built per call of 170k.
  const byFrom = new Map<string, [Map<string, EdgeCount>, Map<string, EdgeCount>]>();
  let n = 0;
  for (const c of side.chains) {
    if (++n % CHAINS_PER_STEP === 0) yield;
    const from = boxOf(c.name);
    let maps = byFrom.get(from);
    if (!maps) byFrom.set(from, (maps = [new Map(), new Map()]));
    for (const call of c.calls) {
      const to = boxOf(call.to);
      const byTo = maps[call.goto ? 1 : 0];
      let e = byTo.get(to);
      if (!e) {
        byTo.set(to, (e = { from, to, goto: call.goto, rules: 0, targets: new Set(), lastChain: undefined, lastPosition: 0 }));
        out.set(`${from}\t${to}${call.goto ? '\tg' : ''}`, e);
      }
      if (groupOf.has(call.to)) e.targets.add(call.to);
      if (e.lastChain === c && e.lastPosition === call.position) continue;
      e.rules++;
      e.lastChain = c;
      e.lastPosition = call.position;
    }
  }
  return out;
}

function chainBox(name: string, c: ChainFacts | undefined, change: ChainChange | undefined, links: Links | undefined): DrawNode {
  if (!c || c.undeclared) return { id: chainBoxId(name), label: [name, 'no such chain', ...(change?.lines ?? [])], shape: Shape.Octagon, tone: change ? changeTone(change.status) : Tone.Assumed, tooltip: `rules jump to ${name}, which the table does not declare` };
  const rules = plural(c.rules, 'rule');
  const label = [name, ...(c.base ? [c.base] : []), c.policy ? `policy ${c.policy} · ${rules}` : rules, ...(change?.lines ?? [])];
  const drops = c.policy === 'DROP' || c.policy === 'drop';
  const tone = change ? changeTone(change.status) : drops ? Tone.Drop : Tone.Normal;
  return { id: chainBoxId(name), label, shape: c.entry ? Shape.Rounded : Shape.Box, tone, ...(links ? { link: `chains/${encodeURIComponent(name)}${links.query ? `?${links.query}` : ''}` } : {}) };
}

function groupBox(g: ChainGroup, rules: number, changes: ReadonlyMap<string, ChainChange> | undefined, links: Links | undefined): DrawNode {
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const n of g.members) {
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
    ...(links ? { link: `graph?expand=${encodeURIComponent([...links.expand, g.id].join(','))}${links.query ? `&${links.query}` : ''}` } : {}),
  };
}

const changeTone = (s: ChainChange['status']): Tone => (s === 'added' ? Tone.Added : s === 'removed' ? Tone.Removed : Tone.Changed);
