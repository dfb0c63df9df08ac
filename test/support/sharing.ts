// How much two parsed models share, object for object (the donor sharing of
// src/netfilter/nftables/share.ts and the ruleset cache's weights).
import type { NftRuleset } from '../../src/netfilter/index.ts';

/** Every object reachable from `root`, counted once (added to `into`). */
export function reachableObjects(root: unknown, into = new Set<unknown>()): Set<unknown> {
  const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || into.has(v)) continue;
    into.add(v);
    stack.push(...Object.values(v as object));
  }
  return into;
}

/** Statement lists of `r`'s rules that are the very objects of `donor`'s rules at the same place (table, chain by name, index). */
export function sharedStmtLists(r: NftRuleset, donor: NftRuleset): { shared: number; rules: number } {
  let shared = 0;
  let rules = 0;
  for (const t of r.tables) {
    const d = donor.tables.find((x) => x.family === t.family && x.name === t.name);
    for (const c of t.chains) {
      const dc = d?.chains.find((x) => x.name === c.name);
      for (const [ri, rule] of c.rules.entries()) {
        rules++;
        if (rule.stmts === dc?.rules[ri]?.stmts) shared++;
      }
    }
  }
  return { shared, rules };
}
