// How the kernel picks the address and port of a NAT mapping
// (nf_nat_core.c: get_unique_tuple, find_best_ips_proto,
// nf_nat_l4proto_unique_tuple), for a connection that has no mapping yet and
// clashes with no other. Hand-written because it must reproduce the kernel's
// jhash2 bit for bit to name the address a range maps to.
import { formatIp, parseIp, type Ip } from './addr.ts';
import { copyPacket, type Packet } from './packet.ts';
import type { Conn } from './context.ts';

export interface NatRange {
  readonly minIp?: Ip;
  readonly maxIp?: Ip;
  readonly minPort?: number;
  readonly maxPort?: number;
  /** --persistent: the same client gets the same address whatever the destination. */
  readonly persistent: boolean;
  /** --random / --random-fully: the port is picked at random even when the packet's own would do. */
  readonly random: boolean;
}

/** `addr[-addr][:port[-port]]` (IPv6 addresses in brackets) as a range. */
export function parseNatRange(text: string, family: 'ipv4' | 'ipv6', flags: { persistent: boolean; random: boolean }): NatRange {
  let addrPart = text;
  let portPart: string | undefined;
  if (family === 'ipv6' && text.startsWith('[')) {
    const end = text.indexOf(']');
    addrPart = text.slice(1, end);
    if (text[end + 1] === ':') portPart = text.slice(end + 2);
  } else if (family === 'ipv4' && text.includes(':')) {
    [addrPart, portPart] = text.split(':') as [string, string];
  } else if (/^\d+(-\d+)?$/.test(text)) {
    // --to-ports of REDIRECT and MASQUERADE: ports only.
    [addrPart, portPart] = ['', text];
  }
  const [lo, hi] = addrPart.split('-');
  const [plo, phi] = (portPart ?? '').split('-');
  const minIp = lo ? parseIp(lo) : undefined;
  const maxIp = hi ? parseIp(hi) : minIp;
  const minPort = plo ? Number(plo) : undefined;
  const maxPort = phi ? Number(phi) : minPort;
  return {
    ...(minIp ? { minIp } : {}),
    ...(maxIp ? { maxIp } : {}),
    ...(minPort !== undefined ? { minPort: Math.min(minPort, maxPort!), maxPort: Math.max(minPort, maxPort!) } : {}),
    ...flags,
  };
}

/**
 * The range with its address fixed to one (MASQUERADE's source, REDIRECT's
 * destination). Written out: adding fields to a spread copy is slow in V8.
 */
export function rangeAt(range: NatRange, ip: Ip): NatRange {
  return range.minPort === undefined
    ? { minIp: ip, maxIp: ip, persistent: range.persistent, random: range.random }
    : { minIp: ip, maxIp: ip, minPort: range.minPort, maxPort: range.maxPort!, persistent: range.persistent, random: range.random };
}

const rol32 = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** include/linux/jhash.h jhash2() over 32-bit words. */
export function jhash2(k: readonly number[], initval: number): number {
  let a = (0xdeadbeef + (k.length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  let length = k.length;
  while (length > 3) {
    a = (a + k[i]!) >>> 0;
    b = (b + k[i + 1]!) >>> 0;
    c = (c + k[i + 2]!) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c;
  if (length === 3) c = (c + k[i + 2]!) >>> 0;
  if (length >= 2) b = (b + k[i + 1]!) >>> 0;
  a = (a + k[i]!) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 24)) >>> 0;
  return c;
}

/** reciprocal_scale(): maps a hash onto [0, n) (n = 0 stands for 2^32). */
const reciprocalScale = (val: number, n: number): number => Number((BigInt(val >>> 0) * BigInt(n >>> 0)) >> 32n);

/** union nf_inet_addr as the four 32-bit words a little-endian CPU reads from its network-order bytes. */
function rawWords(ip: Ip): number[] {
  const be = hostWords(ip);
  const swap = (w: number): number => (((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)) >>> 0;
  return [...be.map(swap), 0, 0, 0].slice(0, 4);
}

/** The address as 32-bit words in host order (ntohl of each). */
function hostWords(ip: Ip): number[] {
  if (ip.family === 'ipv4') return [ip.n as number];
  const n = ip.n as bigint;
  return [0, 1, 2, 3].map((i) => Number((n >> BigInt(96 - 32 * i)) & 0xffffffffn));
}

function fromHostWords(family: 'ipv4' | 'ipv6', words: readonly number[]): Ip {
  if (family === 'ipv4') return { family, n: words[0]! >>> 0 };
  return { family, n: words.reduce((acc, w) => (acc << 32n) | BigInt(w >>> 0), 0n) };
}

/**
 * find_best_ips_proto(): the address of a range the kernel maps a new
 * connection to. The hash covers the original source, seeded with the
 * original destination unless --persistent.
 */
export function pickNatAddress(range: NatRange, origSrc: Ip, origDst: Ip): Ip | undefined {
  const { minIp, maxIp } = range;
  if (!minIp || !maxIp) return undefined;
  if (minIp.n === maxIp.n) return minIp;
  const family = minIp.family;
  const max = family === 'ipv4' ? 0 : 3;
  const dstRaw = rawWords(origDst);
  let j = jhash2(rawWords(origSrc), range.persistent ? 0 : dstRaw[max]!);
  const lo = hostWords(minIp);
  const hi = hostWords(maxIp);
  const out: number[] = [];
  let fullRange = false;
  for (let i = 0; i <= max; i++) {
    const minWord = fullRange ? 0 : lo[i]!;
    const dist = fullRange ? 0xffffffff : (hi[i]! - lo[i]! + 1) >>> 0;
    out.push((minWord + reciprocalScale(j, dist)) >>> 0);
    if (out[i] !== hi[i]) fullRange = true;
    if (!range.persistent) j = (j ^ dstRaw[i]!) >>> 0;
  }
  return fromHostWords(family, out);
}

export interface PortPick {
  readonly port: number;
  /** Picked at random from [lo, hi]: any port of the range may be the real one. */
  readonly random?: { readonly lo: number; readonly hi: number };
}

/**
 * get_unique_tuple()'s port step: a port already inside the range is kept;
 * otherwise a destination starts at the range's first port and a source at
 * a random one. Without a range a destination keeps its port and a source
 * keeps its own (clashes with other connections are not known here).
 */
export function pickNatPort(range: NatRange, port: number | undefined, side: 'src' | 'dst'): PortPick | undefined {
  if (port === undefined || range.minPort === undefined || range.maxPort === undefined) return undefined;
  const { minPort: lo, maxPort: hi } = range;
  if (lo === hi) return { port: lo };
  if (!range.random && port >= lo && port <= hi) return { port };
  if (side === 'dst' && !range.random) return { port: lo };
  return { port: lo, random: { lo, hi } };
}

export function describeRange(range: NatRange): string {
  const a = range.minIp ? (range.maxIp && range.maxIp.n !== range.minIp.n ? `${formatIp(range.minIp)}-${formatIp(range.maxIp)}` : formatIp(range.minIp)) : '';
  const p = range.minPort !== undefined ? (range.maxPort !== range.minPort ? `${range.minPort}-${range.maxPort}` : `${range.minPort}`) : '';
  return a && p ? `${a}:${p}` : a || p;
}

/** What a NAT statement or target sees. */
export interface NatContext {
  readonly packet: Packet;
  readonly conn: Conn;
}

/** A NAT binding made: the packet after it, the connection marked, what changed, and what was assumed. */
export interface NatEffect {
  readonly verdict: 'ACCEPT';
  readonly packet: Packet;
  readonly conn: Conn;
  readonly changes: readonly string[];
  readonly assumption?: string;
}

export function portNote(p: Packet, side: 'src' | 'dst'): string {
  const r = side === 'src' ? p.sportRange : p.dportRange;
  return r ? `, ${side === 'src' ? 'source' : 'destination'} port picked from ${r}` : '';
}

/**
 * A NAT binding for a new connection as get_unique_tuple() makes it: the
 * address a range maps to is the kernel's hash of the original addresses,
 * a port inside the range is kept, others are picked (see nat.ts).
 */
export function natEffect(ctx: NatContext, side: 'src' | 'dst', range: NatRange, name: string, spec: string): NatEffect {
  const { packet: p, conn } = ctx;
  const port = side === 'src' ? p.sport : p.dport;
  const current = side === 'src' ? p.src : p.dst;
  const notes: string[] = [];
  const inAddr = !range.minIp || (current.family === range.minIp.family && current.n >= range.minIp.n && current.n <= range.maxIp!.n);
  const inPorts = range.minPort === undefined || (port !== undefined && port >= range.minPort && port <= range.maxPort!);
  // A source already inside the range stays as it is (the original tuple is tried first).
  const keep = side === 'src' && !range.random && inAddr && inPorts;
  let ip = keep ? current : pickNatAddress(range, conn.origSrc, conn.origDst) ?? current;
  if (range.minIp && range.maxIp && range.minIp.n !== range.maxIp.n && !keep) {
    notes.push(`${name} to the address range ${describeRange(range)}: the kernel hashes the connection's addresses to pick ${formatIp(ip)}, unless this client already has a mapping`);
  }
  if (ip.family !== p.family) ip = current;
  const pick = keep ? undefined : pickNatPort(range, port, side);
  const next = natPacket(p, side, ip, pick, side === 'src' && range.random && port !== undefined && !pick);
  if (pick?.random) notes.push(`${name}: the kernel picks the ${side === 'src' ? 'source' : 'destination'} port at random from ${pick.random.lo}-${pick.random.hi}; shown as ${pick.port}`);
  const to = describeAddr(side === 'src' ? next.src : next.dst, side === 'src' ? next.sport : next.dport);
  return {
    verdict: 'ACCEPT',
    packet: next,
    conn: side === 'src' ? { ...conn, snat: true } : { ...conn, dnat: true },
    changes: [`${name} to ${to}${keep ? ` (already in ${spec})` : ''}${portNote(next, side)}`],
    ...(notes.length ? { assumption: notes.join('; ') } : {}),
  };
}


/** The packet after the mapping (see copyPacket for why not a spread). */
function natPacket(p: Packet, side: 'src' | 'dst', ip: Ip, pick: PortPick | undefined, sportRandomized: boolean): Packet {
  const next = copyPacket(p);
  if (side === 'src') {
    next.src = ip;
    if (pick) next.sport = pick.port;
    if (pick?.random) {
      next.sportRandomized = true;
      next.sportRange = `${pick.random.lo}-${pick.random.hi}`;
    }
    if (sportRandomized) next.sportRandomized = true;
  } else {
    next.dst = ip;
    if (pick) next.dport = pick.port;
    if (pick?.random) {
      next.dportRandomized = true;
      next.dportRange = `${pick.random.lo}-${pick.random.hi}`;
    }
  }
  return next;
}

export function describeAddr(ip: Ip, port: number | undefined): string {
  const a = formatIp(ip);
  if (port === undefined) return a;
  return ip.family === 'ipv6' ? `[${a}]:${port}` : `${a}:${port}`;
}
