// Rule lines parsed before (issue 15): an `-A` line's chain, matches and
// target depend on nothing but its text (after the `[packets:bytes]` prefix),
// its table and the family, so a parse can take a line it has seen from here
// instead of tokenizing and reading it again. A node's next dump repeats all
// but a few of its lines (with other counters), and the nodes of a cluster
// share most of theirs. Only lines that parsed without any diagnostic are
// kept, so a line read from the memo gives exactly what parsing it gives.
//
// Bounded by two generations of at most `max` entries each: new and used
// entries go to the young one; when it is full it becomes the old one (the
// previous old one is dropped), and an old entry that is used again moves
// back. So a node's (or a cluster's) lines in use stay while they fit in one
// generation, without moving at each parse.
import type { Counters, Family, Match, Target } from '../model.ts';
import type { RuleDraft } from './build.ts';

export interface RuleLineEntry {
  readonly chain: string;
  /** From `-c packets bytes` in the line itself (the prefix's counters are read per line). */
  readonly counters: Counters | undefined;
  readonly matches: RuleDraft['matches'];
  readonly target: RuleDraft['target'];
}

type Generation = Map<string, Map<string, RuleLineEntry>>;

export interface RuleLineMemo {
  readonly family: Family;
  /** Most entries of a generation (the memo holds at most twice as many). */
  readonly max: number;
  young: Generation;
  youngSize: number;
  old: Generation;
  /** Rendered `matches` of the entries (RenderOptions.specMemo). */
  readonly specs: WeakMap<readonly Match[], string>;
  /** Chains' canonical rule lines rendered lately (RenderOptions.chainMemo). */
  readonly chains: ChainTextMemo;
}

/** A chain's rule lines as the canonical printer rendered them, and what it rendered them from. */
export interface RenderedChain {
  readonly matches: readonly (readonly Match[])[];
  readonly targets: readonly (Target | null)[];
  /** The `-A` lines joined by newlines, and split again (slices of it, as a parse of the text would make them). */
  readonly text: string;
  readonly lines: readonly string[];
}

/**
 * The last rendering (without counters) of each chain, by table and chain
 * name: a re-upload repeats most chains rule for rule (their rules share the
 * memo's `matches` arrays), so their lines are taken as they were printed
 * instead of printed again. Holds at most `max` rules; cleared past that.
 */
export interface ChainTextMemo {
  readonly max: number;
  readonly byChain: Map<string, RenderedChain>;
  rules: number;
}

export const newChainTextMemo = (max: number): ChainTextMemo => ({ max, byChain: new Map(), rules: 0 });

export const newRuleLineMemo = (family: Family, max = 300_000): RuleLineMemo => ({ family, max, young: new Map(), youngSize: 0, old: new Map(), specs: new WeakMap(), chains: newChainTextMemo(max) });

const sizeOf = (g: Generation): number => {
  let n = 0;
  for (const m of g.values()) n += m.size;
  return n;
};

/** Rule lines in a memo. */
export const memoSize = (memo: RuleLineMemo): number => sizeOf(memo.young) + sizeOf(memo.old);

export function memoSet(memo: RuleLineMemo, table: string, key: string, entry: RuleLineEntry): void {
  let lines = memo.young.get(table);
  if (!lines) memo.young.set(table, (lines = new Map()));
  if (lines.has(key)) return;
  lines.set(key, entry);
  if (++memo.youngSize >= memo.max) {
    memo.old = memo.young;
    memo.young = new Map();
    memo.youngSize = 0;
  }
}

export function memoGet(memo: RuleLineMemo, table: string, key: string): RuleLineEntry | undefined {
  const young = memo.young.get(table)?.get(key);
  if (young) return young;
  const old = memo.old.get(table)?.get(key);
  if (old) memoSet(memo, table, key, old);
  return old;
}

/** The memo key of a rule line (its text after a `[p:b] ` prefix) and the prefix; undefined for other lines. */
export function memoKeyOf(line: string): { key: string; prefix: string | undefined } | undefined {
  let from = 0;
  let prefix: string | undefined;
  if (line.charCodeAt(0) === 91 /* [ */) {
    const end = line.indexOf('] ');
    if (end < 0) return undefined;
    prefix = line.slice(0, end + 1);
    from = end + 2;
  }
  if (line.charCodeAt(from) !== 45 /* - */ || line.charCodeAt(from + 1) !== 65 /* A */ || line.charCodeAt(from + 2) !== 32) return undefined;
  return { key: from === 0 ? line : line.slice(from), prefix };
}

/**
 * A copy of `s` that shares no memory with the text it was cut from. A line of
 * a split text is a slice that keeps the whole text alive, and so would every
 * token cut from it that the memo keeps: a 30 MB dump per upload. (Appending
 * makes a cons string; slicing that flattens it into a new string of this
 * line alone.)
 */
export const ownCopy = (s: string): string => `${s}\n`.slice(0, -1);
