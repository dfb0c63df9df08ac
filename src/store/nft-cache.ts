// The ruleset cache's nft parses, weighed by what each holds that no other cached parse holds.
// A parse made with a donor (nftables/share.ts: a node's canonical parse with its upload's,
// a twin node's with the other's) keeps the donor's statements, expressions, raw texts and set
// elements wherever they are equal: while the donor is cached, such a parse costs only its own
// rule objects (lines, handles, the chains' rule lists) and what differs. Weighed by all its
// rules, a 44k-Service node's reads and traces (two parses) filled RULESET_CACHE_RULES 2M nearly
// alone, and a second node's upload evicted the first's parses (issue 15, item 4). When a donor
// leaves the cache, what was made with it is weighed again, whole.
import { runSteps, type NftChain, type NftRule, type NftRuleset, type Steps } from '../netfilter/index.ts';
import { LruCache } from './lru-cache.ts';

/**
 * A rule (or chain) whose statements are its donor's: its own object, line, handle and slot in its
 * chain's list. Measured on a 2,000-Service kube-proxy ruleset (heap after forced GCs): over its
 * donor a canonical parse adds 0.58 of a whole parse, a twin's upload 0.30, a twin's canonical
 * parse 0.23; these weights give 0.49, 0.32 and 0.32 (BENCHMARKS.md, "Big nodes").
 */
export const SHARED_RULE_WEIGHT = 0.35;

/** Parsed nft rulesets (a node's `nft` versions' texts) by sha256, and their parses under way. */
export type NftRulesetCache = LruCache<string, NftRuleset> & {
  readonly parsing: Map<string, Promise<NftRuleset>>;
  /**
   * Keeps `value` under `key`; `donor`: the parse it was made with, weighed against while both are
   * cached; `added`: `nftRulesAddedSteps(value, donor)`, when the caller ran it in slices (else run here).
   */
  keep(key: string, value: NftRuleset, donor?: NftRuleset, added?: number): void;
};

/** A parse's weight alone: its chains, rules and set elements. */
export const nftRulesOf = (r: NftRuleset): number => r.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length + 1, 0) + t.sets.reduce((m, x) => m + x.elements.length, 0), 0);

/** Chains weighed between two pauses of `nftRulesAddedSteps`. */
const PAUSE_CHAINS = 512;

/**
 * `r`'s weight beside `donor`: rules whose statements are the donor's weigh SHARED_RULE_WEIGHT, set
 * elements that are the donor's nothing. In steps that pause (a 44k-Service parse has 880k rules:
 * the parse that made `r` weighs it in its own slices). Chains are matched by position first (two
 * parses of one ruleset, or of a cluster's nodes, list them in the same order), by name where that fails.
 */
export function* nftRulesAddedSteps(r: NftRuleset, donor: NftRuleset): Steps<number> {
  let n = 0;
  for (const t of r.tables) {
    const dt = donor.tables.find((x) => x.family === t.family && x.name === t.name);
    let byName: Map<string, NftChain> | undefined;
    for (let ci = 0; ci < t.chains.length; ci++) {
      if (ci % PAUSE_CHAINS === PAUSE_CHAINS - 1) yield;
      const c = t.chains[ci]!;
      let dc = dt?.chains[ci];
      if (dt && dc?.name !== c.name) dc = (byName ??= new Map(dt.chains.map((x) => [x.name, x]))).get(c.name);
      n += dc ? SHARED_RULE_WEIGHT : 1;
      for (let i = 0; i < c.rules.length; i++) n += ruleAdded(c.rules[i]!.stmts, dc?.rules[i]?.stmts);
    }
    for (const s of t.sets) {
      yield;
      const ds = dt?.sets.find((x) => x.name === s.name)?.elements;
      if (ds === s.elements) continue;
      for (let i = 0; i < s.elements.length; i++) if (ds?.[i] !== s.elements[i]) n += 1;
    }
  }
  return n;
}

/** A rule's weight beside the donor's rule at its place (`theirs`: its statements, if any). */
function ruleAdded(stmts: NftRule['stmts'], theirs: NftRule['stmts'] | undefined): number {
  if (theirs === stmts) return SHARED_RULE_WEIGHT;
  if (!theirs || stmts.length === 0) return 1;
  // Statements are shared one by one (a match spelled otherwise keeps the donor's expressions too).
  let own = 0;
  for (let j = 0; j < stmts.length; j++) if (stmts[j] !== theirs[j]) own++;
  return SHARED_RULE_WEIGHT + ((1 - SHARED_RULE_WEIGHT) * own) / stmts.length;
}

/** `nftRulesAddedSteps` at once. */
export const nftRulesAdded = (r: NftRuleset, donor: NftRuleset): number => runSteps(nftRulesAddedSteps(r, donor));

/** At most `max` parses and `maxRules` of weight (see above). */
export function createNftRulesetCache(max: number, maxRules: number): NftRulesetCache {
  // The donor a value was made with, by key and weakly (a cached parse must not keep an evicted donor's own objects alive).
  const donors = new WeakMap<NftRuleset, { readonly key: string; readonly ref: WeakRef<NftRuleset>; readonly added: number }>();
  /** `value`'s weight beside its donor while that is cached, else undefined. */
  const addedToCachedDonor = (value: NftRuleset): number | undefined => {
    const d = donors.get(value);
    const donor = d && lru.peek(d.key);
    return donor !== undefined && donor === d?.ref.deref() && donor !== value ? d.added : undefined;
  };
  const lru: LruCache<string, NftRuleset> = new LruCache<string, NftRuleset>(max, {
    maxWeight: maxRules,
    weigh: (value) => addedToCachedDonor(value) ?? nftRulesOf(value),
    // What was weighed against the dropped parse holds its shared objects alone now.
    onDrop: (_key, dropped) => {
      for (const k of [...lru.keys()]) if (donors.get(lru.peek(k)!)?.ref.deref() === dropped) lru.reweigh(k);
    },
  });
  return Object.assign(lru, {
    parsing: new Map<string, Promise<NftRuleset>>(),
    keep: (key: string, value: NftRuleset, donor?: NftRuleset, added?: number) => {
      const donorKey = donor && donor !== value ? [...lru.keys()].find((k) => lru.peek(k) === donor) : undefined;
      if (donor && donorKey !== undefined) donors.set(value, { key: donorKey, ref: new WeakRef(donor), added: added ?? nftRulesAdded(value, donor) });
      lru.set(key, value);
    },
  });
}
