// The hook pipeline: at each netfilter hook, every base chain registered
// there, whoever owns it - iptables' tables (at their standard priorities)
// and native nft base chains - in the order the kernel runs them.
import type { TableName } from '../iptables/model.ts';
import type { CompiledRuleset } from '../iptables/eval/compile.ts';
import type { Hook } from './context.ts';
import type { CompiledNft, NftHookEntry } from '../nftables/eval/compile.ts';

/**
 * Tables in priority order at each hook. iptables-nft registers the security
 * table at priority 150, after nat's 100 in INPUT; iptables-legacy at 50.
 */
export const HOOK_TABLES: Readonly<Record<'nft' | 'legacy', Readonly<Record<Hook, readonly TableName[]>>>> = {
  nft: {
    PREROUTING: ['raw', 'mangle', 'nat'],
    INPUT: ['mangle', 'filter', 'nat', 'security'],
    FORWARD: ['mangle', 'filter', 'security'],
    OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
    POSTROUTING: ['mangle', 'nat'],
  },
  legacy: {
    PREROUTING: ['raw', 'mangle', 'nat'],
    INPUT: ['mangle', 'filter', 'security', 'nat'],
    FORWARD: ['mangle', 'filter', 'security'],
    OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
    POSTROUTING: ['mangle', 'nat'],
  },
};

/**
 * One base chain of a hook: an iptables table's built-in chain (`legacy`: of the iptables-legacy
 * tables next to iptables-nft ones), or a native nft base chain.
 */
export type HookEntry =
  | { readonly lang: 'iptables'; readonly table: TableName; readonly priority: number; readonly legacy?: true }
  | { readonly lang: 'nftables'; readonly entry: NftHookEntry; readonly priority: number };

/** iptables' tables as nft base chains (NF_IP_PRI_*; iptables-nft puts security at 150, after nat's 100 in INPUT). */
function iptablesPriority(table: TableName, hook: Hook, backend: 'nft' | 'legacy'): number {
  switch (table) {
    case 'raw':
      return -300;
    case 'mangle':
      return -150;
    case 'nat':
      return hook === 'PREROUTING' || hook === 'OUTPUT' ? -100 : 100;
    case 'filter':
      return 0;
    case 'security':
      return backend === 'nft' ? 150 : 50;
  }
}

/**
 * The hook's base chains of both languages in the kernel's order: by
 * priority; on a tie the one registered last runs first (nf_hook_entries_grow
 * inserts a new hook before those of equal priority). iptables' tables exist
 * from boot, and nft lists its tables and chains in creation order, so ties
 * go to the nft chains, the later-listed first (checked against the kernel).
 * With both iptables backends in use, the legacy tables are taken as the
 * oldest (registered when the node booted), so they run last on a tie.
 */
function hookEntries(pipe: Pipeline, hook: Hook, backend: 'nft' | 'legacy'): HookEntry[] {
  const { compiled, nft, legacy } = pipe;
  const out: { e: HookEntry; order: number }[] = HOOK_TABLES[backend][hook]
    .filter((t) => compiled.tables.has(t))
    .map((table, i) => ({ e: { lang: 'iptables' as const, table, priority: iptablesPriority(table, hook, backend) }, order: i + 1 }));
  if (legacy) {
    HOOK_TABLES.legacy[hook]
      .filter((t) => legacy.tables.has(t))
      .forEach((table, i) => out.push({ e: { lang: 'iptables', table, priority: iptablesPriority(table, hook, 'legacy'), legacy: true }, order: 1000 + i }));
  }
  if (!nft && !legacy) return out.map((x) => x.e);
  // iptables keeps its own verified order (order >= 0); nft entries sort before it on a tie, later ones first.
  const nftEntries = (nft?.hooks.get(hook) ?? []).map((entry, i) => ({ e: { lang: 'nftables' as const, entry, priority: entry.priority } as HookEntry, order: -1 - i }));
  return [...out, ...nftEntries].sort((a, b) => a.e.priority - b.e.priority || a.order - b.order).map((x) => x.e);
}

/** A hook's base chains in order, and whether one of them is a nat chain. */
export interface HookEntries {
  readonly list: readonly HookEntry[];
  readonly nat: boolean;
}

/** Both languages' base chains of one node, ordered per hook once (see pipelineFor). */
export interface Pipeline {
  readonly compiled: CompiledRuleset;
  readonly nft: CompiledNft | undefined;
  /** iptables-legacy tables in use next to `compiled`'s iptables-nft ones. */
  readonly legacy: CompiledRuleset | undefined;
  readonly entries: Record<'nft' | 'legacy', Map<Hook, HookEntries>>;
  readonly ties: Map<'nft' | 'legacy', readonly string[]>;
}

const NONE = {};
const pipelines = new WeakMap<CompiledRuleset, WeakMap<object, WeakMap<object, Pipeline>>>();

/** The pipeline of an iptables ruleset, an nft one and legacy tables, built once and kept with the compiled rulesets (all readonly). */
export function pipelineFor(compiled: CompiledRuleset, nft: CompiledNft | undefined, legacy?: CompiledRuleset): Pipeline {
  let byNft = pipelines.get(compiled);
  if (!byNft) pipelines.set(compiled, (byNft = new WeakMap()));
  let byLegacy = byNft.get(nft ?? NONE);
  if (!byLegacy) byNft.set(nft ?? NONE, (byLegacy = new WeakMap()));
  let p = byLegacy.get(legacy ?? NONE);
  if (!p) byLegacy.set(legacy ?? NONE, (p = { compiled, nft, legacy, entries: { nft: new Map(), legacy: new Map() }, ties: new Map() }));
  return p;
}

export function entriesOf(pipe: Pipeline, hook: Hook, backend: 'nft' | 'legacy'): HookEntries {
  const byHook = pipe.entries[backend];
  let e = byHook.get(hook);
  if (!e) {
    const list = hookEntries(pipe, hook, backend);
    e = { list, nat: list.some((x) => (x.lang === 'iptables' ? x.table === 'nat' : x.entry.type === 'nat')) };
    byHook.set(hook, e);
  }
  return e;
}

/** Ties between the languages at a hook: the kernel's order there is registration order, which no dump shows. */
export function tieWarnings(pipe: Pipeline, backend: 'nft' | 'legacy'): readonly string[] {
  let out = pipe.ties.get(backend);
  if (!out) pipe.ties.set(backend, (out = findTies(pipe, backend)));
  return out;
}

function findTies(pipe: Pipeline, backend: 'nft' | 'legacy'): string[] {
  const out: string[] = [];
  if (!pipe.nft && !pipe.legacy) return out;
  const name = (e: HookEntry): string => (e.lang === 'nftables' ? `nft ${e.entry.table.family} ${e.entry.table.name} ${e.entry.chain.name}` : `iptables${e.legacy ? '-legacy' : ''} ${e.table}`);
  for (const hook of ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] as const) {
    const entries = entriesOf(pipe, hook, backend).list;
    for (const e of entries) {
      if (e.lang === 'nftables') {
        const tie = entries.find((x) => x.lang === 'iptables' && !x.legacy && x.priority === e.priority);
        if (tie) out.push(`at ${hook}, ${name(tie)} and ${name(e)} share priority ${e.priority}: the kernel runs the one registered last first; assumed the nft chain came after iptables' tables (they exist from boot)`);
      }
      if (e.lang === 'iptables' && e.legacy) {
        const tied = entries.filter((x) => x !== e && !(x.lang === 'iptables' && x.legacy) && x.priority === e.priority);
        if (tied.length) out.push(`at ${hook}, ${name(e)} and ${tied.map(name).join(', ')} share priority ${e.priority}: the kernel runs the one registered last first; assumed the legacy table is the oldest and runs last`);
      }
    }
  }
  return out;
}
