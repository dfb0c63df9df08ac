// Which chains of a chain graph are drawn as one box. kube-proxy writes a
// chain per Service port and per endpoint (KUBE-SVC-*, KUBE-SEP-*... in its
// iptables mode, service-*, endpoint-*... in its nftables mode): thousands of
// boxes nobody can read, so each kind is one group. Other chains stay boxes of
// their own unless very many share a prefix (a CNI's per-interface chains).
// `expand` draws chosen chains again: a group by its id (`KUBE-SEP-*`), or a
// chain by name with the grouped chains it leads to (a Service's chain and its
// endpoints), up to a bound so a picture stays one Graphviz can lay out.
import { CHAINS_PER_STEP, type ChainFacts, type TableFacts } from './chain-facts.ts';
import type { Steps } from '../../steps.ts';

/** kube-proxy's per-Service and per-endpoint chains, by mode; the captured prefix names the group. */
const KUBE_GROUPS: readonly RegExp[] = [/^(KUBE-(?:SVC|SVL|EXT|FW|SEP|XLB)-)[A-Z0-9]+$/, /^((?:service|endpoint|external|firewall)-)[A-Z0-9]{8}-\S+$/];

export const GROUPING_DEFAULTS = {
  /** Chains sharing a prefix (up to their last `-` or `_`) drawn as one box from this many on. */
  prefixGroupMin: 20,
  /** At most this many grouped chains drawn as boxes of their own, whatever `expand` asks. */
  maxExpanded: 200,
} as const;

export interface ChainGroup {
  /** `KUBE-SEP-*`: the prefix and a star. */
  readonly id: string;
  readonly kube: boolean;
  /** Its chains still drawn inside it (not expanded), in table order. */
  readonly members: readonly string[];
}

export interface Grouping {
  /** The group a chain is drawn in; absent: a box of its own. */
  readonly groupOf: ReadonlyMap<string, string>;
  readonly groups: readonly ChainGroup[];
  readonly notes: readonly string[];
  /** `expand` entries naming no chain and no group. */
  readonly unknown: readonly string[];
}

export interface GroupingOptions {
  readonly expand?: readonly string[];
  /** Chains drawn as boxes of their own, without what they lead to (a diff's changed chains). */
  readonly expandOnly?: readonly string[];
  readonly prefixGroupMin?: number;
  readonly maxExpanded?: number;
}

const kubePrefix = (name: string): string | undefined => {
  for (const re of KUBE_GROUPS) {
    const m = re.exec(name);
    if (m) return m[1];
  }
  return undefined;
};

/** A name up to its last `-` or `_` (kept), when something follows. */
const sharedPrefix = (name: string): string | undefined => {
  const i = Math.max(name.lastIndexOf('-'), name.lastIndexOf('_'));
  return i >= 2 && i < name.length - 1 ? name.slice(0, i + 1) : undefined;
};

const fmt = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** The groups of a table's chains (of one side, or both sides of a diff: a name may be on both). */
export function* groupChainsSteps(sides: readonly TableFacts[], options: GroupingOptions = {}): Steps<Grouping> {
  const prefixMin = options.prefixGroupMin ?? GROUPING_DEFAULTS.prefixGroupMin;
  const maxExpanded = options.maxExpanded ?? GROUPING_DEFAULTS.maxExpanded;
  // Each chain's would-be group (its id, one string per group): kube-proxy's kinds always, a shared
  // prefix when many chains have it. Entry chains never.
  const candidate = new Map<string, string>();
  const entry = new Set<string>();
  const kubeIds = new Set<string>();
  const byPrefix = new Map<string, Set<string>>();
  const ids = new Map<string, string>();
  const idOf = (prefix: string): string => ids.get(prefix) ?? (ids.set(prefix, `${prefix}*`), `${prefix}*`);
  let n = 0;
  for (const side of sides) {
    for (const c of side.chains) {
      if (++n % CHAINS_PER_STEP === 0) yield;
      if (c.entry) entry.add(c.name);
      if (c.entry || candidate.has(c.name)) continue;
      const k = kubePrefix(c.name);
      if (k) {
        const id = idOf(k);
        kubeIds.add(id);
        candidate.set(c.name, id);
        continue;
      }
      const p = sharedPrefix(c.name);
      if (!p) continue;
      const set = byPrefix.get(p);
      if (set) set.add(c.name);
      else byPrefix.set(p, new Set([c.name]));
    }
  }
  for (const name of entry) candidate.delete(name);
  const notes: string[] = [];
  for (const [p, members] of byPrefix) {
    const left = [...members].filter((m) => !entry.has(m));
    if (left.length < prefixMin) continue;
    for (const m of left) candidate.set(m, idOf(p));
    notes.push(`${p}*: ${fmt(left.length)} chains sharing a prefix, drawn as one box`);
  }
  yield;

  // Expansions: a group's chains, or a chain and the grouped chains it leads to (on either side).
  const groupIds = new Set(candidate.values());
  const expanded = new Set<string>();
  const unknown: string[] = [];
  let wanted = 0;
  const take = (name: string): void => {
    if (expanded.has(name) || !candidate.has(name)) return;
    wanted++;
    if (expanded.size < maxExpanded) expanded.add(name);
  };
  let index: Map<string, ChainFacts[]> | undefined;
  for (const e of options.expand ?? []) {
    if (groupIds.has(e)) {
      for (const [name, id] of candidate) if (id === e) take(name);
      continue;
    }
    index ??= indexByName(sides);
    if (!index.has(e)) {
      unknown.push(e);
      continue;
    }
    const queue = [e];
    const seen = new Set(queue);
    for (let i = 0; i < queue.length; i++) {
      take(queue[i]!);
      for (const c of index.get(queue[i]!) ?? []) {
        for (const { to } of c.calls) {
          if (seen.has(to) || !candidate.has(to)) continue;
          seen.add(to);
          queue.push(to);
        }
      }
    }
  }
  for (const name of options.expandOnly ?? []) take(name);
  if (wanted > expanded.size) notes.push(`expand: ${fmt(expanded.size)} of the ${fmt(wanted)} chains asked for drawn as boxes (at most ${fmt(maxExpanded)}); the rest stay in their groups`);
  yield;

  const members = new Map<string, string[]>();
  for (const [name, id] of candidate) {
    if (expanded.has(name)) {
      candidate.delete(name);
      continue;
    }
    const m = members.get(id);
    if (m) m.push(name);
    else members.set(id, [name]);
  }
  const groups = [...members].map(([id, names]) => ({ id, kube: kubeIds.has(id), members: names }));
  if (groups.some((g) => g.kube)) notes.unshift("kube-proxy's per-Service and per-endpoint chains are drawn as one box per kind; expand a box by its name (KUBE-SEP-*) or a chain with what it leads to by the chain's name");
  return { groupOf: candidate, groups, notes, unknown };
}

function indexByName(sides: readonly TableFacts[]): Map<string, ChainFacts[]> {
  const index = new Map<string, ChainFacts[]>();
  for (const side of sides) for (const c of side.chains) index.set(c.name, [...(index.get(c.name) ?? []), c]);
  return index;
}
