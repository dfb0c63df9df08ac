// ipset contents, read from `ipset save` or `ipset list` output, and
// membership tests for the `set` match and the SET target.
import { cidrContains, formatIp, maskOf, parseCidr, parseIp, type Cidr, type Ip } from './addr.ts';

/** One dimension of a set element: an address (or network), a port (with protocol) or a set name. */
export type Dimension = 'ip' | 'net' | 'port' | 'mark' | 'mac' | 'iface' | 'set';

export interface IpSetMember {
  readonly parts: readonly string[];
  /** `nomatch` element of a hash:net set: an exception carved out of a wider element. */
  readonly nomatch?: boolean;
}

export interface IpSet {
  readonly name: string;
  readonly type: string;
  readonly dimensions: readonly Dimension[];
  readonly members: readonly IpSetMember[];
  /** `family inet6` sets hold IPv6 elements; sets of other types have no family. */
  readonly family?: 'inet' | 'inet6';
  /**
   * Contents only partly known: a SET target changed a set the host file does
   * not list. `members` are surely in, `absent` surely not, anything else unknown.
   */
  readonly partial?: boolean;
  readonly absent?: readonly IpSetMember[];
}

/** One element from the text after the set name: `10.0.0.0/8,tcp:80 timeout 30 nomatch` -> parts and flags. */
function member(text: string): IpSetMember {
  const [first = '', ...rest] = text.trim().split(/\s+/);
  return { parts: first.split(','), ...(rest.includes('nomatch') ? { nomatch: true } : {}) };
}

interface MutableSet {
  name: string;
  type: string;
  dimensions: Dimension[];
  members: IpSetMember[];
  family?: 'inet' | 'inet6';
}

function familyOf(text: string): 'inet' | 'inet6' | undefined {
  const m = /\bfamily\s+(inet6?)\b/.exec(text);
  return m ? (m[1] as 'inet' | 'inet6') : undefined;
}

export function parseIpsets(text: string): { sets: Map<string, IpSet>; warnings: string[] } {
  const sets = new Map<string, MutableSet>();
  const warnings: string[] = [];
  let listing: string | undefined;
  let inMembers = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let m = /^create\s+(\S+)\s+(\S+)(.*)$/.exec(line);
    if (m) {
      const family = familyOf(m[3]!);
      sets.set(m[1]!, { name: m[1]!, type: m[2]!, dimensions: dimensionsOf(m[2]!), members: [], ...(family ? { family } : {}) });
      continue;
    }
    m = /^add\s+(\S+)\s+(.+)$/.exec(line);
    if (m) {
      const s = sets.get(m[1]!);
      if (!s) warnings.push(`ipset: "add" to unknown set ${m[1]}`);
      else s.members.push(member(m[2]!));
      continue;
    }
    m = /^Name:\s+(\S+)/.exec(line);
    if (m) {
      listing = m[1]!;
      inMembers = false;
      sets.set(listing, { name: listing, type: 'hash:ip', dimensions: ['ip'], members: [] });
      continue;
    }
    m = /^Type:\s+(\S+)/.exec(line);
    if (m && listing) {
      const s = sets.get(listing)!;
      s.type = m[1]!;
      s.dimensions = dimensionsOf(m[1]!);
      continue;
    }
    m = /^Header:\s+(.*)$/.exec(line);
    if (m && listing && !inMembers) {
      const family = familyOf(m[1]!);
      if (family) sets.get(listing)!.family = family;
      continue;
    }
    if (/^Members:/.test(line)) {
      inMembers = true;
      continue;
    }
    // Everything after "Members:" up to the next "Name:" is an element (IPv6 ones start with "xxxx:", like a header).
    if (inMembers && listing) {
      sets.get(listing)!.members.push(member(line));
    }
  }
  for (const s of sets.values()) {
    if (s.type !== 'list:set') continue;
    for (const m of s.members) if (!sets.has(m.parts[0]!)) warnings.push(`ipset: list:set ${s.name} names unknown set ${m.parts[0]}`);
  }
  return { sets: new Map(sets), warnings };
}

function dimensionsOf(type: string): Dimension[] {
  const [, dims = 'ip'] = type.split(':');
  return dims.split(',').map((d) => (['ip', 'net', 'port', 'mark', 'mac', 'iface', 'set'].includes(d) ? (d as Dimension) : 'ip'));
}

export interface SetLookupValue {
  readonly ip?: Ip;
  readonly port?: number;
  readonly protocol?: string;
  readonly mark?: number;
  readonly iface?: string;
}

/** The packet's value for one dimension, taken from its source or destination side (`src`/`dst` flag). */
export type SetValueOf = (dim: Dimension, side: 'src' | 'dst') => SetLookupValue | undefined;

/** A set without a family holds any; `family inet`/`inet6` sets only their own (ip_set_test, ip_set_add). */
const familyFits = (set: IpSet, family: 'ipv4' | 'ipv6'): boolean => !set.family || set.family === (family === 'ipv4' ? 'inet' : 'inet6');

/** Result of a set lookup: true/false, or undefined when the contents do not say. */
export type SetAnswer = boolean | undefined;

/**
 * ip_set_test(): whether the packet's tuple (one value per dimension, picked
 * by the flags) is in the set. A list:set asks its member sets in order
 * (list_set_ktest) with the same flags; a set of more dimensions than flags,
 * or of the other family, never matches.
 */
export function lookupSet(sets: ReadonlyMap<string, IpSet>, set: IpSet, sides: readonly ('src' | 'dst')[], valueOf: SetValueOf, family: 'ipv4' | 'ipv6'): SetAnswer {
  if (set.type === 'list:set') {
    let unknown = false;
    for (const m of set.members) {
      const inner = sets.get(m.parts[0]!);
      if (!inner || inner.type === 'list:set') continue;
      const r = lookupSet(sets, inner, sides, valueOf, family);
      if (r === true) return true;
      if (r === undefined) unknown = true;
    }
    return unknown || set.partial ? undefined : false;
  }
  if (set.dimensions.length > sides.length) return false;
  if (!familyFits(set, family)) return false;
  const values: SetLookupValue[] = [];
  for (let i = 0; i < set.dimensions.length; i++) {
    const v = valueOf(set.dimensions[i]!, sides[i]!);
    if (!v) return undefined;
    values.push(v);
  }
  if (set.absent?.some((a) => memberHolds(set, a, values))) return false;
  const inSet = setContains(set, values);
  return inSet ? true : set.partial ? undefined : false;
}

function memberHolds(set: IpSet, member: IpSetMember, values: readonly SetLookupValue[]): boolean {
  return set.dimensions.every((dim, i) => {
    const part = member.parts[i];
    const value = values[i];
    if (part === undefined || value === undefined) return false;
    if (dim === 'ip' || dim === 'net') {
      if (!value.ip) return false;
      if (part.includes('-')) {
        const [lo, hi] = part.split('-').map((x) => parseIp(x));
        return !!lo && !!hi && value.ip.family === lo.family && value.ip.n >= lo.n && value.ip.n <= hi.n;
      }
      const c: Cidr | undefined = parseCidr(part) ?? (parseIp(part) ? { ip: parseIp(part)!, prefix: parseIp(part)!.family === 'ipv4' ? 32 : 128 } : undefined);
      return !!c && cidrContains(c, value.ip);
    }
    if (dim === 'port') {
      const m = /^(?:(\w+):)?(\d+)(?:-(\d+))?$/.exec(part);
      if (!m || value.port === undefined) return false;
      // hash:*,port elements carry a protocol, TCP when none was written; bitmap:port has none.
      const proto = m[1] ?? (set.type.startsWith('bitmap:') ? undefined : 'tcp');
      if (proto && value.protocol && proto !== value.protocol) return false;
      const lo = Number(m[2]);
      const hi = m[3] ? Number(m[3]) : lo;
      return value.port >= lo && value.port <= hi;
    }
    if (dim === 'mark') return value.mark !== undefined && Number(part) >>> 0 === value.mark;
    if (dim === 'iface') return value.iface !== undefined && part.replace(/^physdev:/, '') === value.iface;
    return false;
  });
}

/** Whether the tuple (one value per dimension) is in the set's listed members, `nomatch` exceptions applied. */
export function setContains(set: IpSet, values: readonly SetLookupValue[]): boolean {
  const hits = set.members.filter((m) => memberHolds(set, m, values));
  if (hits.length === 0) return false;
  if (!hits.some((h) => h.nomatch)) return true;
  // hash:net looks up the most specific element first; a `nomatch` one makes the lookup fail.
  const net = Math.max(0, set.dimensions.findIndex((d) => d === 'net' || d === 'ip'));
  const prefix = (h: IpSetMember): number => {
    const part = h.parts[net] ?? '';
    const m = /\/(\d+)$/.exec(part);
    return m ? Number(m[1]) : part.includes('-') ? -1 : 128;
  };
  const best = hits.reduce((a, b) => (prefix(b) > prefix(a) ? b : a));
  return !best.nomatch;
}

/** The element a SET target adds or deletes for this packet, or undefined when a dimension has no value. */
export function elementFor(set: IpSet, sides: readonly ('src' | 'dst')[], valueOf: SetValueOf): IpSetMember | undefined {
  const parts: string[] = [];
  for (let i = 0; i < set.dimensions.length; i++) {
    const dim = set.dimensions[i]!;
    const v = valueOf(dim, sides[i]!);
    if (!v) return undefined;
    if (v.ip && dim === 'net') {
      const prefix = kernelNetPrefix(set, i, v.ip.family);
      const c = parseCidr(`${formatIp(v.ip)}/${prefix}`)!;
      parts.push(`${formatIp(networkOf(c))}/${prefix}`);
    } else if (v.ip) parts.push(formatIp(v.ip));
    else if (v.port !== undefined) parts.push(`${v.protocol ?? 'tcp'}:${v.port}`);
    else if (v.mark !== undefined) parts.push(`0x${v.mark.toString(16)}`);
    else if (v.iface !== undefined) parts.push(v.iface);
    else return undefined;
  }
  return { parts };
}

/**
 * hash:net*_kadt: a SET target adds or deletes the network of the set's most
 * specific prefix in use (h->nets[0].cidr), the host mask when it is empty.
 */
function kernelNetPrefix(set: IpSet, dim: number, family: 'ipv4' | 'ipv6'): number {
  const host = family === 'ipv4' ? 32 : 128;
  let best = -1;
  for (const m of set.members) {
    const part = m.parts[dim] ?? '';
    const slash = /\/(\d+)$/.exec(part);
    best = Math.max(best, slash ? Number(slash[1]) : host);
  }
  return best < 0 ? host : best;
}

function networkOf(c: Cidr): Ip {
  const m = maskOf(c.ip.family, c.prefix);
  return c.ip.family === 'ipv4' ? { family: 'ipv4', n: ((c.ip.n as number) & (m as number)) >>> 0 } : { family: 'ipv6', n: (c.ip.n as bigint) & (m as bigint) };
}

/**
 * The set after a SET target's --add-set / --del-set (list_set_kadd/kdel: a
 * list:set changes its first member set that can hold the element). Sets the
 * host file does not list become partly known.
 */
export function changeSet(
  sets: ReadonlyMap<string, IpSet>,
  name: string,
  sides: readonly ('src' | 'dst')[],
  valueOf: SetValueOf,
  family: 'ipv4' | 'ipv6',
  op: 'add' | 'del',
): { sets: ReadonlyMap<string, IpSet>; element?: string } {
  const known = sets.get(name);
  // An unlisted set of one dimension is taken to hold addresses (hash:ip/hash:net); wider ones stay unknown.
  if (!known && sides.length !== 1) return { sets };
  const set: IpSet = known ?? { name, type: 'hash:ip', dimensions: ['ip'], members: [], partial: true };
  if (set.type === 'list:set') {
    for (const m of set.members) {
      const inner = sets.get(m.parts[0]!);
      if (!inner || inner.type === 'list:set' || inner.dimensions.length > sides.length) continue;
      if (!familyFits(inner, family)) continue;
      return changeSet(sets, inner.name, sides, valueOf, family, op);
    }
    return { sets };
  }
  if (set.dimensions.length > sides.length) return { sets };
  if (!familyFits(set, family)) return { sets };
  const el = elementFor(set, sides, valueOf);
  if (!el) return { sets };
  const key = (m: IpSetMember): string => m.parts.map((p) => p.replace(/\/(32|128)$/, '')).join(',');
  const same = (m: IpSetMember): boolean => key(m) === key(el);
  const next: IpSet =
    op === 'add'
      ? { ...set, members: [...set.members.filter((m) => !same(m)), el], ...(set.absent ? { absent: set.absent.filter((m) => !same(m)) } : {}) }
      : { ...set, members: set.members.filter((m) => !same(m)), ...(set.partial ? { absent: [...(set.absent ?? []), el] } : {}) };
  const out = new Map(sets);
  out.set(name, next);
  return { sets: out, element: el.parts.join(',') };
}
