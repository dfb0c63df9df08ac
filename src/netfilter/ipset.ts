// ipset contents, read from `ipset save` or `ipset list` output, and
// membership tests for the `set` match.
import { cidrContains, parseCidr, parseIp, type Cidr, type Ip } from './addr.ts';

/** One dimension of a set element: an address (or network), a port (with protocol) or a set name. */
export type Dimension = 'ip' | 'net' | 'port' | 'mark' | 'mac' | 'iface' | 'set';

export interface IpSetMember {
  readonly parts: readonly string[];
  /** `nomatch` element of a hash:net set: an exception carved out of a wider element. */
  readonly nomatch?: boolean;
}

/** One element from the text after the set name: `10.0.0.0/8,tcp:80 timeout 30 nomatch` -> parts and flags. */
function member(text: string): IpSetMember {
  const [first = '', ...rest] = text.trim().split(/\s+/);
  return { parts: first.split(','), ...(rest.includes('nomatch') ? { nomatch: true } : {}) };
}

export interface IpSet {
  readonly name: string;
  readonly type: string;
  readonly dimensions: readonly Dimension[];
  readonly members: readonly IpSetMember[];
}

export function parseIpsets(text: string): { sets: Map<string, IpSet>; warnings: string[] } {
  const sets = new Map<string, { name: string; type: string; dimensions: Dimension[]; members: IpSetMember[] }>();
  const warnings: string[] = [];
  let listing: string | undefined;
  let inMembers = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let m = /^create\s+(\S+)\s+(\S+)/.exec(line);
    if (m) {
      sets.set(m[1]!, { name: m[1]!, type: m[2]!, dimensions: dimensionsOf(m[2]!), members: [] });
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
    if (/^Members:/.test(line)) {
      inMembers = true;
      continue;
    }
    // Everything after "Members:" up to the next "Name:" is an element (IPv6 ones start with "xxxx:", like a header).
    if (inMembers && listing) {
      sets.get(listing)!.members.push(member(line));
    }
  }
  return { sets: new Map([...sets].map(([k, v]) => [k, v])), warnings };
}

function dimensionsOf(type: string): Dimension[] {
  const [, dims = 'ip'] = type.split(':');
  return dims.split(',').map((d) => (['ip', 'net', 'port', 'mark', 'mac', 'iface', 'set'].includes(d) ? (d as Dimension) : 'ip'));
}

export interface SetLookupValue {
  readonly ip?: Ip;
  readonly port?: number;
  readonly protocol?: string;
}

/** Whether the tuple (one value per dimension, chosen by the src/dst flags) is in the set. */
export function setContains(set: IpSet, values: readonly SetLookupValue[]): boolean {
  const hits = set.members.filter((member) =>
    set.dimensions.every((dim, i) => {
      const part = member.parts[i];
      const value = values[i];
      if (part === undefined || value === undefined) return false;
      if (dim === 'ip' || dim === 'net') {
        if (!value.ip) return false;
        const c: Cidr | undefined = parseCidr(part) ?? (parseIp(part) ? { ip: parseIp(part)!, prefix: 128 } : undefined);
        if (part.includes('-')) {
          const [lo, hi] = part.split('-').map((x) => parseIp(x));
          return !!lo && !!hi && value.ip.family === lo.family && value.ip.n >= lo.n && value.ip.n <= hi.n;
        }
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
      return false;
    }),
  );
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
