// The base chains a path ran through, hook by hook, in the kernel's order:
// which table and chain, whose, at what priority, what each decided, and
// which one ended the packet. In nftables an accept ends only its own base
// chain, so "accepted by Docker, then dropped by an iptables policy" needs
// this list to be read at all.
import type { Hook } from '../pipeline/context.ts';
import type { HookEntry } from '../pipeline/hooks.ts';
import { ownerOfTable } from './owners.ts';

export interface BaseChainRun {
  readonly hook: Hook;
  readonly language: 'iptables' | 'nftables';
  /** `legacy`: a table of iptables-legacy, in use next to iptables-nft on this node. */
  readonly backend?: 'legacy';
  /** nft table family (ip, ip6, inet) of an nftables base chain. */
  readonly family?: string;
  readonly table: string;
  readonly chain: string;
  readonly priority: number;
  readonly owner: string;
  /** The verdict of the base chain's last event (its rule or policy). */
  readonly verdict: string;
  /** The verdict is the chain's policy (no rule decided). */
  readonly byPolicy: boolean;
  /** This base chain ended the packet (drop, reject, queue, unknown). */
  readonly decided: boolean;
}

interface EventLike {
  readonly hook: Hook;
  readonly table: string;
  readonly chain: string;
  readonly language?: 'nftables';
  readonly family?: string;
  readonly backend?: 'legacy';
  readonly verdict: string;
  readonly kind: 'rule' | 'policy';
}

const sameTable = (e: EventLike, en: HookEntry): boolean =>
  en.lang === 'iptables'
    ? e.language === undefined && e.table === en.table && (e.backend === 'legacy') === (en.legacy === true)
    : e.language === 'nftables' && e.table === en.entry.table.name && e.family === en.entry.table.family;
const baseChainOf = (en: HookEntry, hook: Hook): string => (en.lang === 'iptables' ? hook : en.entry.chain.name);

/**
 * Groups a path's events into base-chain runs. Events of one base chain are contiguous and the
 * hook's base chains run in `entriesAt(hook)` order, so each run is the next entry of the same
 * table whose base chain the run's first event is in (a run starts in its base chain).
 */
export function listBaseChains(events: readonly EventLike[], entriesAt: (hook: Hook) => readonly HookEntry[], ended: boolean, backend: 'nft' | 'legacy' = 'nft'): BaseChainRun[] {
  const runs: (Omit<BaseChainRun, 'decided' | 'verdict' | 'byPolicy'> & { verdict: string; byPolicy: boolean })[] = [];
  let hook: Hook | undefined;
  let at = 0;
  let current: HookEntry | undefined;
  for (const e of events) {
    if (e.hook !== hook) {
      hook = e.hook;
      at = 0;
      current = undefined;
    }
    const entries = entriesAt(e.hook);
    const continues = current && sameTable(e, current) && !(current.lang === 'nftables' && entries.slice(at).some((en) => sameTable(e, en) && baseChainOf(en, e.hook) === e.chain));
    if (!continues) {
      const next = entries.findIndex((en, i) => i >= at && sameTable(e, en) && baseChainOf(en, e.hook) === e.chain);
      if (next < 0) {
        current = undefined;
        continue;
      }
      current = entries[next]!;
      at = next + 1;
      runs.push({
        hook: e.hook,
        language: current.lang,
        ...(current.lang === 'iptables' && current.legacy ? { backend: 'legacy' as const } : {}),
        ...(current.lang === 'nftables' ? { family: current.entry.table.family } : {}),
        table: e.table,
        chain: e.chain,
        priority: current.priority,
        owner: ownerOfTable(current.lang, e.table, current.lang === 'iptables' && current.legacy ? 'legacy' : backend),
        verdict: e.verdict,
        byPolicy: false,
      });
    }
    const run = runs[runs.length - 1]!;
    run.verdict = e.verdict;
    run.byPolicy = e.kind === 'policy';
  }
  return runs.map((r, i) => ({ ...r, decided: ended && i === runs.length - 1 }));
}
