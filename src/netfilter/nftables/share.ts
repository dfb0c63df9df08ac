// One node's nft ruleset is parsed twice: its uploaded text (the read routes:
// handles, counters, the upload's lines) and its canonical text (traces: the
// canonical lines and spelling). Both models are mostly the same objects
// (payload and meta expressions, literals, verdicts, sets, the rules' raw
// text); a parse given the other parse as a *donor* keeps the donor's object
// wherever its own is deep-equal to it, so the two cached models share those
// instead of holding a 44k-Service ruleset twice. The model is readonly
// data: a shared object is indistinguishable from an equal copy.
import type { NftChain, NftRule, NftRuleset, NftSet } from './model.ts';

/** Where a parse finds the donor's counterpart of what it just built, by table, chain and position. */
export interface NftDonor {
  /** The donor's rule at 0-based `index` of chain `chain` in table `family name`. */
  rule(table: string, chain: string, index: number): NftRule | undefined;
  /** The donor's chain of that name (its name string, instead of a copy or a slice of a whole text). */
  chain(table: string, chain: string): NftChain | undefined;
  set(table: string, name: string): NftSet | undefined;
}

/** A donor over `ruleset` (lookups by name are built on first use, one table at a time). */
export function nftDonor(ruleset: NftRuleset): NftDonor {
  const tables = new Map(ruleset.tables.map((t) => [`${t.family} ${t.name}`, t]));
  const chains = new Map<string, Map<string, NftChain>>();
  const chainOf = (table: string, chain: string): NftChain | undefined => {
    let byName = chains.get(table);
    if (!byName) {
      byName = new Map((tables.get(table)?.chains ?? []).map((c) => [c.name, c]));
      chains.set(table, byName);
    }
    return byName.get(chain);
  };
  return {
    rule: (table, chain, index) => chainOf(table, chain)?.rules[index],
    chain: chainOf,
    set: (table, name) => tables.get(table)?.sets.find((s) => s.name === name),
  };
}

const isPlain = (v: object): boolean => {
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === Array.prototype;
};

/**
 * `mine` with every part that is deep-equal to the same part of `donor` (same
 * keys in the same order, same values) replaced by the donor's; the donor
 * itself when all of it is. `mine` must be freshly built (not yet shared by
 * anything): it is changed in place, each part only ever replaced by an
 * equal one.
 */
export function shareWith<T>(mine: T, donor: unknown): T {
  return shareValue(mine, donor) as T;
}

function shareValue(a: unknown, b: unknown): unknown {
  if (Object.is(a, b)) return b;
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || !isPlain(a) || !isPlain(b)) return a;
  if (Array.isArray(a) !== Array.isArray(b)) return a;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    let same = a.length === other.length;
    const n = Math.min(a.length, other.length);
    for (let i = 0; i < n; i++) {
      const v = shareValue(a[i], other[i]);
      if (v !== a[i]) a[i] = v;
      if (!Object.is(v, other[i])) same = false;
    }
    return same ? b : a;
  }
  const o = a as Record<string, unknown>;
  const d = b as Record<string, unknown>;
  const keys = Object.keys(o);
  const donorKeys = Object.keys(d);
  let same = keys.length === donorKeys.length;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (donorKeys[i] !== k) same = false;
    if (!Object.hasOwn(d, k)) {
      same = false;
      continue;
    }
    const v = shareValue(o[k], d[k]);
    if (v !== o[k]) o[k] = v;
    if (!Object.is(v, d[k])) same = false;
  }
  return same ? b : a;
}

/** A freshly parsed rule sharing its statements and raw text with the donor's rule at the same place (the rule object stays its own: lines and handles differ). */
export function shareRule<R extends NftRule>(rule: R, donor: NftDonor | undefined, table: string, chain: string, index: number): R {
  const d = donor?.rule(table, chain, index);
  return d ? shareRuleWith(rule, d) : rule;
}

/** `shareRule` with the donor's rule at that place already found. */
export function shareRuleWith<R extends NftRule>(rule: R, d: NftRule): R {
  const r = rule as { -readonly [K in keyof NftRule]: NftRule[K] };
  r.stmts = shareWith(r.stmts, d.stmts);
  if (r.raw === d.raw) r.raw = d.raw;
  return rule;
}

/** A freshly parsed set's elements shared with the donor's set of that name. */
export function shareSetElements<S extends NftSet>(set: S, donor: NftDonor | undefined, table: string): S {
  const d = donor?.set(table, set.name);
  if (!d) return set;
  (set as { elements: NftSet['elements'] }).elements = shareWith(set.elements, d.elements);
  return set;
}

/** Two-level maps of interned leaves: no key string is built per leaf (a parse meets millions). */
class Leaves {
  readonly #maps = new Map<unknown, Map<unknown, object>>();
  /** The object kept for (`a`, `b`), or `o` kept as it. */
  get(a: unknown, b: unknown, o: object): object {
    let m = this.#maps.get(a);
    if (!m) this.#maps.set(a, (m = new Map()));
    const hit = m.get(b);
    if (hit) return hit;
    m.set(b, o);
    return o;
  }
}

const LITERAL_TYPES = new Set(['string', 'number', 'boolean', 'bigint']);

/** The leaf kept for `o` when it is one that repeats across rules (a literal, a header field, a meta key, a verdict), else `o`. */
function internLeaf(leaves: Leaves, o: Record<string, unknown>, keys: readonly string[]): object | undefined {
  switch (o['kind']) {
    case 'literal': {
      const v = o['value'];
      // By type and value (80 and '80' are different leaves; Map keys tell 0 from -0 only through Object.is: kept apart by the tag).
      return keys.length === 2 && keys[1] === 'value' && LITERAL_TYPES.has(typeof v) ? leaves.get(Object.is(v, -0) ? 'literal -0' : `literal ${typeof v}`, v, o) : undefined;
    }
    case 'payload':
      return keys.length === 3 && keys[1] === 'protocol' && keys[2] === 'field' && typeof o['protocol'] === 'string' && typeof o['field'] === 'string' ? leaves.get(`payload ${o['protocol']}`, o['field'], o) : undefined;
    case 'meta':
      return keys.length === 2 && keys[1] === 'key' && typeof o['key'] === 'string' ? leaves.get('meta', o['key'], o) : undefined;
    case 'verdict':
      if (keys.length === 2 && keys[1] === 'verdict') return leaves.get('verdict', o['verdict'], o);
      return keys.length === 3 && keys[1] === 'verdict' && keys[2] === 'target' && typeof o['target'] === 'string' ? leaves.get(`verdict ${String(o['verdict'])}`, o['target'], o) : undefined;
    default:
      return undefined;
  }
}

/**
 * One parse's interner of leaf expressions: equal literals, header fields, meta keys and verdicts
 * become one object each (a 44k-Service ruleset repeats `ip daddr`, `tcp`, its endpoints'
 * addresses and `jump mark-for-masquerade` hundreds of thousands of times). Returns `value`, its
 * freshly built parts changed in place (each leaf only replaced by an equal one).
 */
export function leafInterner(): <T>(value: T) => T {
  const leaves = new Leaves();
  const visit = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || !isPlain(v)) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = visit(v[i]);
        if (x !== v[i]) v[i] = x;
      }
      return v;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const leaf = keys[0] === 'kind' ? internLeaf(leaves, o, keys) : undefined;
    if (leaf !== undefined) return leaf;
    for (const k of keys) {
      const x = visit(o[k]);
      if (x !== o[k]) o[k] = x;
    }
    return o;
  };
  return <T>(value: T): T => visit(value) as T;
}
