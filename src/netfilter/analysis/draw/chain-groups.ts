// Which chains of a chain graph are drawn as one box. kube-proxy writes a
// chain per Service port and per endpoint (KUBE-SVC-*, KUBE-SEP-*... in its
// iptables mode, service-*, endpoint-*... in its nftables mode): thousands of
// boxes nobody can read, so each kind is one group. Other chains stay boxes of
// their own unless very many share a prefix (a CNI's per-interface chains).
// `expand` draws chosen chains again: a group by its id (`KUBE-SEP-*`), or a
// chain by name with the grouped chains it leads to (a Service's chain and its
// endpoints), up to a bound so a picture stays one Graphviz can lay out.
import type { ChainFacts } from './chain-facts.ts';

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

/** The groups of a table's chains (`chains` may list a name twice: both sides of a diff). */
export function groupChains(chains: readonly ChainFacts[], options: GroupingOptions = {}): Grouping {
  const prefixMin = options.prefixGroupMin ?? GROUPING_DEFAULTS.prefixGroupMin;
  const maxExpanded = options.maxExpanded ?? GROUPING_DEFAULTS.maxExpanded;
  const calls = new Map<string, string[]>();
  const entry = new Set<string>();
  for (const c of chains) {
    const list = calls.get(c.name);
    if (list) list.push(...c.calls.map((x) => x.to));
    else calls.set(c.name, c.calls.map((x) => x.to));
    if (c.entry) entry.add(c.name);
  }
  const names = [...calls.keys()];

  // Each chain's would-be group: kube-proxy's kinds always, a shared prefix when many chains have it.
  const candidate = new Map<string, { id: string; kube: boolean }>();
  const byPrefix = new Map<string, string[]>();
  for (const n of names) {
    if (entry.has(n)) continue;
    const k = kubePrefix(n);
    if (k) {
      candidate.set(n, { id: `${k}*`, kube: true });
      continue;
    }
    const p = sharedPrefix(n);
    if (!p) continue;
    const list = byPrefix.get(p);
    if (list) list.push(n);
    else byPrefix.set(p, [n]);
  }
  const notes: string[] = [];
  for (const [p, members] of byPrefix) {
    if (members.length < prefixMin) continue;
    for (const n of members) candidate.set(n, { id: `${p}*`, kube: false });
    notes.push(`${p}*: ${fmt(members.length)} chains sharing a prefix, drawn as one box`);
  }

  // Expansions: a group's chains, or a chain and the grouped chains it leads to.
  const groupIds = new Set([...candidate.values()].map((g) => g.id));
  const expanded = new Set<string>();
  const unknown: string[] = [];
  let wanted = 0;
  const take = (n: string): void => {
    if (expanded.has(n) || !candidate.has(n)) return;
    wanted++;
    if (expanded.size < maxExpanded) expanded.add(n);
  };
  for (const e of options.expand ?? []) {
    if (groupIds.has(e)) {
      for (const n of names) if (candidate.get(n)?.id === e) take(n);
    } else if (calls.has(e)) {
      const queue = [e];
      const seen = new Set(queue);
      for (let i = 0; i < queue.length; i++) {
        const n = queue[i]!;
        take(n);
        for (const to of calls.get(n) ?? []) {
          if (seen.has(to) || !candidate.has(to)) continue;
          seen.add(to);
          queue.push(to);
        }
      }
    } else unknown.push(e);
  }
  if (wanted > expanded.size) notes.push(`expand: ${fmt(expanded.size)} of the ${fmt(wanted)} chains asked for drawn as boxes (at most ${fmt(maxExpanded)}); the rest stay in their groups`);

  const groupOf = new Map<string, string>();
  const members = new Map<string, { kube: boolean; names: string[] }>();
  for (const n of names) {
    const g = candidate.get(n);
    if (!g || expanded.has(n)) continue;
    groupOf.set(n, g.id);
    const m = members.get(g.id);
    if (m) m.names.push(n);
    else members.set(g.id, { kube: g.kube, names: [n] });
  }
  const groups = [...members].map(([id, m]) => ({ id, kube: m.kube, members: m.names }));
  if (groups.some((g) => g.kube)) notes.unshift("kube-proxy's per-Service and per-endpoint chains are drawn as one box per kind; expand a box by its name (KUBE-SEP-*) or a chain with what it leads to by the chain's name");
  return { groupOf, groups, notes, unknown };
}
