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

/** One base chain of a hook: an iptables table's built-in chain, or a native nft base chain. */
export type HookEntry = { readonly lang: 'iptables'; readonly table: TableName; readonly priority: number } | { readonly lang: 'nftables'; readonly entry: NftHookEntry; readonly priority: number };

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
 */
function hookEntries(compiled: CompiledRuleset, nft: CompiledNft | undefined, hook: Hook, backend: 'nft' | 'legacy'): HookEntry[] {
  const out: HookEntry[] = HOOK_TABLES[backend][hook].filter((t) => compiled.tables.has(t)).map((table) => ({ lang: 'iptables' as const, table, priority: iptablesPriority(table, hook, backend) }));
  if (!nft) return out;
  const nftEntries = (nft.hooks.get(hook) ?? []).map((entry, i) => ({ e: { lang: 'nftables' as const, entry, priority: entry.priority } as HookEntry, order: -1 - i }));
  // iptables keeps its own verified order (order >= 0); nft entries sort before it on a tie, later ones first.
  return [...out.map((e, i) => ({ e, order: i + 1 })), ...nftEntries]
    .sort((a, b) => a.e.priority - b.e.priority || a.order - b.order)
    .map((x) => x.e);
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
  readonly entries: Record<'nft' | 'legacy', Map<Hook, HookEntries>>;
  readonly ties: Map<'nft' | 'legacy', readonly string[]>;
}

const withoutNft = new WeakMap<CompiledRuleset, Pipeline>();
const withNft = new WeakMap<CompiledRuleset, WeakMap<CompiledNft, Pipeline>>();

/** The pipeline of an iptables ruleset and an nft one, built once and kept with the compiled rulesets (both readonly). */
export function pipelineFor(compiled: CompiledRuleset, nft: CompiledNft | undefined): Pipeline {
  if (!nft) {
    let p = withoutNft.get(compiled);
    if (!p) withoutNft.set(compiled, (p = newPipeline(compiled, nft)));
    return p;
  }
  let byNft = withNft.get(compiled);
  if (!byNft) withNft.set(compiled, (byNft = new WeakMap()));
  let p = byNft.get(nft);
  if (!p) byNft.set(nft, (p = newPipeline(compiled, nft)));
  return p;
}

function newPipeline(compiled: CompiledRuleset, nft: CompiledNft | undefined): Pipeline {
  return { compiled, nft, entries: { nft: new Map(), legacy: new Map() }, ties: new Map() };
}

export function entriesOf(pipe: Pipeline, hook: Hook, backend: 'nft' | 'legacy'): HookEntries {
  const byHook = pipe.entries[backend];
  let e = byHook.get(hook);
  if (!e) {
    const list = hookEntries(pipe.compiled, pipe.nft, hook, backend);
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
  if (!pipe.nft) return out;
  for (const hook of ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] as const) {
    const entries = entriesOf(pipe, hook, backend).list;
    for (const e of entries) {
      if (e.lang !== 'nftables') continue;
      const tie = entries.find((x) => x.lang === 'iptables' && x.priority === e.priority);
      if (tie && tie.lang === 'iptables') out.push(`at ${hook}, iptables ${tie.table} and nft ${e.entry.table.family} ${e.entry.table.name} ${e.entry.chain.name} share priority ${e.priority}: the kernel runs the one registered last first; assumed the nft chain came after iptables' tables (they exist from boot)`);
    }
  }
  return out;
}
