// Set and map lookups, compiled once per set: exact keys in a hash map,
// intervals (prefixes, ranges, interface wildcards) in a list sorted for
// binary search when the key has one component; never a scan of every
// element for an exact key.
import { parseCidr, parseIp } from '../../pipeline/addr.ts';
import type { NftElement, NftExpr, NftVerdict } from '../model.ts';
import { keyString, literalValue, sameValue, valueKey, valueNumber, type NftType, type NftValue } from './types.ts';

/** One key component of an element: an exact value, or an interval of numbers, or an interface-name prefix. */
type Part = { kind: 'exact'; value: NftValue } | { kind: 'interval'; lo: bigint; hi: bigint } | { kind: 'wildcard'; prefix: string } | { kind: 'bad' };

interface CompiledElement {
  readonly parts: readonly Part[];
  readonly element: NftElement;
}

export interface CompiledSet {
  readonly types: readonly NftType[];
  /** Exact keys: key string → element. */
  readonly exact: ReadonlyMap<string, NftElement>;
  /** Elements with an interval or wildcard part. */
  readonly intervals: readonly CompiledElement[];
  /** One-component numeric intervals sorted by `lo`, for binary search. */
  readonly sorted?: readonly { lo: bigint; hi: bigint; element: NftElement }[];
  /** Elements that could not be read as the key type (kept out; a lookup then says it cannot be sure). */
  readonly unreadable: number;
}

const HOST_BITS = (type: NftType): number => (type === 'ipv6_addr' ? 128 : 32);

function partOf(e: NftExpr, type: NftType): Part {
  switch (e.kind) {
    case 'literal': {
      if (type === 'ifname' && typeof e.value === 'string' && e.value.replace(/^"|"$/g, '').endsWith('*')) return { kind: 'wildcard', prefix: e.value.replace(/^"|"$/g, '').slice(0, -1) };
      // `10.0.0.0/8` written as a literal in text forms.
      if ((type === 'ipv4_addr' || type === 'ipv6_addr') && typeof e.value === 'string' && e.value.includes('/')) {
        const c = parseCidr(e.value);
        if (!c) return { kind: 'bad' };
        return prefixPart(valueNumber(c.ip)!, c.prefix, HOST_BITS(type));
      }
      const v = literalValue(type, e.value);
      return v === undefined ? { kind: 'bad' } : { kind: 'exact', value: v };
    }
    case 'prefix': {
      const addr = e.addr.kind === 'literal' && typeof e.addr.value === 'string' ? parseIp(e.addr.value) : undefined;
      if (!addr) return { kind: 'bad' };
      return prefixPart(valueNumber(addr)!, e.len, HOST_BITS(type));
    }
    case 'range': {
      const lo = e.from.kind === 'literal' ? literalValue(type, e.from.value) : undefined;
      const hi = e.to.kind === 'literal' ? literalValue(type, e.to.value) : undefined;
      const a = lo === undefined ? undefined : valueNumber(lo);
      const b = hi === undefined ? undefined : valueNumber(hi);
      return a === undefined || b === undefined ? { kind: 'bad' } : { kind: 'interval', lo: a, hi: b };
    }
    case 'elem':
      return partOf(e.value, type);
    default:
      return { kind: 'bad' };
  }
}

function prefixPart(n: bigint, len: number, bits: number): Part {
  const hostBits = BigInt(bits - len);
  const lo = (n >> hostBits) << hostBits;
  return { kind: 'interval', lo, hi: lo + (1n << hostBits) - 1n };
}

export function compileSet(elements: readonly NftElement[], types: readonly NftType[]): CompiledSet {
  const exact = new Map<string, NftElement>();
  const intervals: CompiledElement[] = [];
  let unreadable = 0;
  for (const element of elements) {
    const key = element.key.kind === 'elem' ? element.key.value : element.key;
    const comps = key.kind === 'concat' ? key.items : [key];
    const parts = comps.map((c, i) => partOf(c, types[i] ?? 'unknown'));
    if (parts.some((p) => p.kind === 'bad') || parts.length !== types.length) {
      unreadable++;
      continue;
    }
    if (parts.every((p) => p.kind === 'exact')) exact.set(parts.map((p) => valueKey((p as { value: NftValue }).value)).join('|'), element);
    else intervals.push({ parts, element });
  }
  const sorted =
    types.length === 1 && intervals.every((x) => x.parts[0]!.kind === 'interval')
      ? intervals.map((x) => ({ lo: (x.parts[0] as { lo: bigint }).lo, hi: (x.parts[0] as { hi: bigint }).hi, element: x.element })).sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0))
      : undefined;
  return { types, exact, intervals, ...(sorted ? { sorted } : {}), unreadable };
}

function partHolds(p: Part, v: NftValue): boolean {
  switch (p.kind) {
    case 'exact':
      return sameValue(p.value, v);
    case 'interval': {
      const n = valueNumber(v);
      return n !== undefined && n >= p.lo && n <= p.hi;
    }
    case 'wildcard':
      return typeof v === 'string' && v.startsWith(p.prefix);
    default:
      return false;
  }
}

/** The element holding the key (one value per component), or undefined. */
export function lookup(set: CompiledSet, key: readonly NftValue[]): NftElement | undefined {
  const hit = set.exact.get(keyString(key));
  if (hit) return hit;
  if (set.sorted) {
    const n = valueNumber(key[0]!);
    if (n === undefined) return undefined;
    // Intervals of a set do not overlap (the kernel refuses overlaps without auto-merge).
    let lo = 0;
    let hi = set.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const x = set.sorted[mid]!;
      if (n < x.lo) hi = mid - 1;
      else if (n > x.hi) lo = mid + 1;
      else return x.element;
    }
    return undefined;
  }
  return set.intervals.find((x) => x.parts.every((p, i) => partHolds(p, key[i]!)))?.element;
}

/** A verdict map's answer for an element. */
export function verdictOf(element: NftElement): NftVerdict | undefined {
  return element.data && element.data.kind === 'verdict' ? element.data : undefined;
}
