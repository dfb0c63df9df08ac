// The ruleset cache's nft parses, weighed by what each holds that no other cached parse holds.
// A parse made with a donor (nftables/share.ts: a node's canonical parse with its upload's,
// a twin node's with the other's) keeps the donor's statements, expressions, raw texts and set
// elements wherever they are equal: while the donor is cached, such a parse costs only its own
// rule objects (lines, handles, the chains' rule lists) and what differs. Weighed by all its
// rules, a 44k-Service node's reads and traces (two parses) filled RULESET_CACHE_RULES 2M nearly
// alone, and a second node's upload evicted the first's parses (issue 15, item 4). When a donor
// leaves the cache, what was made with it is weighed again, whole.
import { nftDonor, type NftRuleset } from '../netfilter/index.ts';
import { LruCache } from './lru-cache.ts';

/**
 * A rule whose statements are its donor's: its own object, line, handle and slot in its chain's
 * list, against ~1-2 KB for one that holds its statements (measured on kube-proxy's rules:
 * test/reliability/heavy-bounds.test.ts bounds what a shared parse adds).
 */
export const SHARED_RULE_WEIGHT = 0.35;

/** Parsed nft rulesets (a node's `nft` versions' texts) by sha256, and their parses under way. */
export type NftRulesetCache = LruCache<string, NftRuleset> & {
  readonly parsing: Map<string, Promise<NftRuleset>>;
  /** Keeps `value` under `key`; `donor`: the parse it was made with, weighed against while both are cached. */
  keep(key: string, value: NftRuleset, donor?: NftRuleset): void;
};

/** A parse's weight alone: its chains, rules and set elements. */
export const nftRulesOf = (r: NftRuleset): number => r.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length + 1, 0) + t.sets.reduce((m, x) => m + x.elements.length, 0), 0);

/** `r`'s weight beside `donor`: rules whose statements are the donor's weigh SHARED_RULE_WEIGHT, set elements that are the donor's nothing. */
export function nftRulesAdded(r: NftRuleset, donor: NftRuleset): number {
  const d = nftDonor(donor);
  let n = 0;
  for (const t of r.tables) {
    const table = `${t.family} ${t.name}`;
    for (const c of t.chains) {
      n += d.chain(table, c.name) ? SHARED_RULE_WEIGHT : 1;
      for (let i = 0; i < c.rules.length; i++) {
        const { stmts } = c.rules[i]!;
        const theirs = d.rule(table, c.name, i)?.stmts;
        if (theirs === stmts) n += SHARED_RULE_WEIGHT;
        else if (!theirs || stmts.length === 0) n += 1;
        // Statements are shared one by one (a match spelled otherwise keeps the donor's expressions too).
        else n += SHARED_RULE_WEIGHT + ((1 - SHARED_RULE_WEIGHT) * stmts.filter((st, j) => st !== theirs[j]).length) / stmts.length;
      }
    }
    for (const s of t.sets) {
      const ds = d.set(table, s.name)?.elements;
      if (ds === s.elements) continue;
      for (let i = 0; i < s.elements.length; i++) if (ds?.[i] !== s.elements[i]) n += 1;
    }
  }
  return n;
}

/** At most `max` parses and `maxRules` of weight (see above). */
export function createNftRulesetCache(max: number, maxRules: number): NftRulesetCache {
  // The donor a value was made with, by key and weakly (a cached parse must not keep an evicted donor's own objects alive).
  const donors = new WeakMap<NftRuleset, { readonly key: string; readonly ref: WeakRef<NftRuleset> }>();
  const donorCached = (value: NftRuleset): NftRuleset | undefined => {
    const d = donors.get(value);
    const donor = d && lru.peek(d.key);
    return donor !== undefined && donor === d?.ref.deref() && donor !== value ? donor : undefined;
  };
  const lru: LruCache<string, NftRuleset> = new LruCache<string, NftRuleset>(max, {
    maxWeight: maxRules,
    weigh: (value) => {
      const donor = donorCached(value);
      return donor ? nftRulesAdded(value, donor) : nftRulesOf(value);
    },
    // What was weighed against the dropped parse holds its shared objects alone now.
    onDrop: (_key, dropped) => {
      for (const k of [...lru.keys()]) if (donors.get(lru.peek(k)!)?.ref.deref() === dropped) lru.reweigh(k);
    },
  });
  return Object.assign(lru, {
    parsing: new Map<string, Promise<NftRuleset>>(),
    keep: (key: string, value: NftRuleset, donor?: NftRuleset) => {
      const donorKey = donor && donor !== value ? [...lru.keys()].find((k) => lru.peek(k) === donor) : undefined;
      if (donor && donorKey !== undefined) donors.set(value, { key: donorKey, ref: new WeakRef(donor) });
      lru.set(key, value);
    },
  });
}
