// The packet a trace follows, and validation of what a user asks for.
import type { Family } from './family.ts';
import { formatIp, parseIp, type Ip } from './addr.ts';
import { canonicalProtocol, protocolNumber } from './names.ts';
import { tcpFlagBits } from '../iptables/syntax/values.ts';

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';
export const CT_STATES: readonly CtState[] = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];
export const CT_STATUS_FLAGS = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'] as const;

/** What a caller gives: strings and numbers as typed on a command line or sent as JSON. */
export interface PacketInput {
  readonly src: string;
  readonly dst: string;
  readonly protocol: string;
  readonly sport?: number;
  readonly dport?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Interface the packet arrives on; absent (or `local: true`) for a packet a local process sends. */
  readonly inInterface?: string;
  readonly local?: boolean;
  readonly state?: CtState;
  readonly ctStatus?: readonly string[];
  readonly mark?: number | string;
  readonly connmark?: number | string;
  readonly tcpFlags?: string | readonly string[];
  readonly uid?: number;
  readonly gid?: number;
  readonly length?: number;
  readonly ttl?: number;
  readonly tos?: number;
  readonly fragment?: boolean;
}

export interface Packet {
  readonly family: Family;
  readonly src: Ip;
  readonly dst: Ip;
  readonly protocol: string;
  readonly protoNum: number;
  readonly sport?: number;
  readonly dport?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly inInterface: string | null;
  readonly outInterface: string | null;
  readonly state: CtState;
  readonly ctStatus: readonly string[];
  readonly mark: number;
  readonly connmark: number;
  readonly tcpFlags?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly length?: number;
  readonly ttl: number;
  readonly tos: number;
  readonly fragment: boolean;
  /** Set when SNAT/MASQUERADE `--random`/`--random-fully` picked the source port at random. */
  readonly sportRandomized?: boolean;
  /** The port range a random source port came from (SNAT/MASQUERADE to a port range). */
  readonly sportRange?: string;
  /** Set when DNAT/REDIRECT `--random` picked the destination port at random, from `dportRange`. */
  readonly dportRandomized?: boolean;
  readonly dportRange?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/**
 * A copy of a packet to change, with the optional fields it has and no
 * others. Written out rather than `{ ...p }`: V8 gives a spread copy a map
 * that does not share transitions, so setting a field the original lacks
 * (`sportRandomized` after a random SNAT) costs about a microsecond, on every
 * NATed path of every trace.
 */
export function copyPacket(p: Packet): Mutable<Packet> {
  // Field by field in validatePacket's order (the NAT fields last, where a spread put them).
  const c = {} as Mutable<Packet>;
  c.family = p.family;
  c.src = p.src;
  c.dst = p.dst;
  c.protocol = p.protocol;
  c.protoNum = p.protoNum;
  if (p.sport !== undefined) c.sport = p.sport;
  if (p.dport !== undefined) c.dport = p.dport;
  if (p.icmpType !== undefined) c.icmpType = p.icmpType;
  if (p.icmpCode !== undefined) c.icmpCode = p.icmpCode;
  c.inInterface = p.inInterface;
  c.outInterface = p.outInterface;
  c.state = p.state;
  c.ctStatus = p.ctStatus;
  c.mark = p.mark;
  c.connmark = p.connmark;
  if (p.tcpFlags !== undefined) c.tcpFlags = p.tcpFlags;
  if (p.uid !== undefined) c.uid = p.uid;
  if (p.gid !== undefined) c.gid = p.gid;
  if (p.length !== undefined) c.length = p.length;
  c.ttl = p.ttl;
  c.tos = p.tos;
  c.fragment = p.fragment;
  if (p.sportRandomized !== undefined) c.sportRandomized = p.sportRandomized;
  if (p.sportRange !== undefined) c.sportRange = p.sportRange;
  if (p.dportRandomized !== undefined) c.dportRandomized = p.dportRandomized;
  if (p.dportRange !== undefined) c.dportRange = p.dportRange;
  return c;
}

/** Every optional field of Packet, so that a new one cannot be left out of copyPacket unnoticed (packet-host.test.ts checks the copy). */
export const PACKET_OPTIONAL_FIELDS = ['sport', 'dport', 'icmpType', 'icmpCode', 'tcpFlags', 'uid', 'gid', 'length', 'sportRandomized', 'sportRange', 'dportRandomized', 'dportRange'] as const satisfies readonly OptionalKeys<Packet>[];
// Compiles only while the list above names every optional field.
const allOptionalListed: Exclude<OptionalKeys<Packet>, (typeof PACKET_OPTIONAL_FIELDS)[number]> extends never ? true : never = true;
void allOptionalListed;

export type PacketResult = { ok: true; packet: Packet; notes: string[] } | { ok: false; errors: string[] };

const PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp', 'udplite', 'dccp']);

function parseMark(v: number | string | undefined, what: string, errors: string[]): number {
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    errors.push(`${what} must be a 32-bit number (e.g. 0x4000), not "${v}"`);
    return 0;
  }
  return n;
}

/**
 * A packet's address as a person writes it: IPv4 in four decimal parts (no `1.2.3`, `010.0.0.1`
 * or `3232235777`, which inet_aton would silently turn into another address), or IPv6.
 */
function parseHostIp(text: string): Ip | undefined {
  if (!text.includes(':') && !/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(text)) return undefined;
  if (text.includes('%')) return undefined;
  return parseIp(text);
}

export function validatePacket(input: PacketInput): PacketResult {
  const errors: string[] = [];
  const notes: string[] = [];
  const src = parseHostIp(String(input.src ?? ''));
  const dst = parseHostIp(String(input.dst ?? ''));
  if (!src) errors.push(`src "${input.src}" is not an IP address`);
  if (!dst) errors.push(`dst "${input.dst}" is not an IP address`);
  if (src && dst && src.family !== dst.family) errors.push('src and dst must be of the same address family');
  const family: Family = src?.family ?? 'ipv4';
  let protocol = String(input.protocol ?? '').toLowerCase();
  if (protocol === 'icmpv6' || protocol === 'ipv6-icmp') protocol = 'ipv6-icmp';
  if (protocol === 'icmp' && family === 'ipv6') protocol = 'ipv6-icmp';
  // A number names the protocol the way rules do (`-p 6` is saved as `-p tcp`), so `6` must become `tcp`.
  if (/^\d+$/.test(protocol)) {
    const name = canonicalProtocol(protocol);
    if (name !== undefined && name !== 'all') protocol = name;
  }
  const protoNum = protocolNumber(protocol);
  if (protoNum === undefined || protoNum > 255) errors.push(`unknown protocol "${input.protocol}" (use tcp, udp, sctp, icmp, icmpv6 or a number)`);
  for (const k of ['sport', 'dport'] as const) {
    const p = input[k];
    if (p === undefined) continue;
    // Port 0 is reserved: no real endpoint sends from or to it.
    if (!Number.isInteger(p) || p < 1 || p > 65535) errors.push(`${k} must be a port in 1..65535, not ${p}`);
    else if (!PORT_PROTOCOLS.has(protocol)) errors.push(`${k} given, but ${protocol} has no ports`);
  }
  for (const k of ['icmpType', 'icmpCode'] as const) {
    const v = input[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 255)) errors.push(`${k} must be in 0..255, not ${v}`);
  }
  const state = input.state ?? 'NEW';
  if (!CT_STATES.includes(state)) errors.push(`state must be one of ${CT_STATES.join(', ')}, not "${state}"`);
  const ctStatus = (input.ctStatus ?? []).map((s) => s.toUpperCase());
  for (const s of ctStatus) if (!(CT_STATUS_FLAGS as readonly string[]).includes(s)) errors.push(`unknown conntrack status "${s}"`);
  const mark = parseMark(input.mark, 'mark', errors);
  const connmark = parseMark(input.connmark, 'connmark', errors);
  if (input.inInterface !== undefined && input.local) errors.push('a packet either arrives on an interface or is sent locally, not both');
  if (input.inInterface !== undefined && !/^[^\s/]{1,15}$/.test(input.inInterface)) errors.push(`"${input.inInterface}" is not an interface name`);
  let tcpFlags: number | undefined;
  if (protocol === 'tcp') {
    if (input.tcpFlags !== undefined) {
      const list = (typeof input.tcpFlags === 'string' ? input.tcpFlags : input.tcpFlags.join(',')).toUpperCase();
      const bad = list.split(',').filter((f) => f !== '' && f !== 'NONE' && f !== 'ALL' && !['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'].includes(f));
      if (bad.length) errors.push(`unknown TCP flag${bad.length > 1 ? 's' : ''} ${bad.map((f) => `"${f}"`).join(', ')} (use FIN, SYN, RST, PSH, ACK, URG)`);
      tcpFlags = tcpFlagBits(list);
    } else {
      tcpFlags = state === 'NEW' ? tcpFlagBits('SYN') : tcpFlagBits('ACK');
    }
  }
  if (errors.length) return { ok: false, errors };
  if (protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp') {
    if (input.sport === undefined) notes.push('source port not given: rules that test it fork');
    if (input.dport === undefined) notes.push('destination port not given: rules that test it fork');
  }
  const packet: Packet = {
    family,
    src: src!,
    dst: dst!,
    protocol,
    protoNum: protoNum!,
    ...(input.sport !== undefined ? { sport: input.sport } : {}),
    ...(input.dport !== undefined ? { dport: input.dport } : {}),
    ...(input.icmpType !== undefined ? { icmpType: input.icmpType } : protocol.includes('icmp') ? { icmpType: family === 'ipv4' ? 8 : 128, icmpCode: 0 } : {}),
    ...(input.icmpCode !== undefined ? { icmpCode: input.icmpCode } : {}),
    inInterface: input.local ? null : input.inInterface ?? null,
    outInterface: null,
    state,
    ctStatus,
    mark,
    connmark,
    ...(tcpFlags !== undefined ? { tcpFlags } : {}),
    ...(input.uid !== undefined ? { uid: input.uid } : {}),
    ...(input.gid !== undefined ? { gid: input.gid } : {}),
    ...(input.length !== undefined ? { length: input.length } : {}),
    ttl: input.ttl ?? 64,
    tos: input.tos ?? 0,
    fragment: input.fragment ?? false,
  };
  if (packet.inInterface === null && !input.local) return { ok: false, errors: ['say where the packet comes from: an in-interface, or local'] };
  return { ok: true, packet, notes };
}

export const hexMark = (n: number): string => '0x' + (n >>> 0).toString(16);

/** The packet as the trace JSON shows it. */
export function packetToJson(p: Packet): Record<string, unknown> {
  // Built field by field in the order the JSON shows (every path of every trace makes one; spreads of optional parts are slow).
  const out: Record<string, unknown> = { src: formatIp(p.src), dst: formatIp(p.dst) };
  if (p.sport !== undefined) out.sport = p.sport;
  if (p.dport !== undefined) out.dport = p.dport;
  if (p.sportRandomized) out.sportRandomized = true;
  if (p.sportRange) out.sportRange = p.sportRange;
  if (p.dportRandomized) {
    out.dportRandomized = true;
    if (p.dportRange) out.dportRange = p.dportRange;
  }
  out.protocol = p.protocol;
  if (p.icmpType !== undefined && p.protocol.includes('icmp')) {
    out.icmpType = p.icmpType;
    out.icmpCode = p.icmpCode ?? 0;
  }
  out.mark = hexMark(p.mark);
  out.connmark = hexMark(p.connmark);
  out.state = p.state;
  out.inInterface = p.inInterface;
  out.outInterface = p.outInterface;
  return out;
}
