// What an nft expression's value means (its datatype), and nft's symbolic
// constants for each type, so `ct state established` and `meta l4proto tcp`
// compare as the kernel compares them: as numbers.
import { parseIp, type Ip } from '../../pipeline/addr.ts';
import type { NftExpr } from '../model.ts';

export type NftType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'inet_proto'
  | 'inet_service'
  | 'ifname'
  | 'iface_index'
  | 'mark'
  | 'ct_state'
  | 'ct_status'
  | 'ct_dir'
  | 'fib_addrtype'
  | 'nf_proto'
  | 'ether_type'
  | 'icmp_type'
  | 'icmpv6_type'
  | 'tcp_flag'
  | 'pkt_type'
  | 'integer'
  | 'verdict'
  | 'unknown';

/** A value: numbers (marks, ports, protocol numbers, bit sets) as bigint, addresses as Ip, interface names as strings. */
export type NftValue = bigint | string | Ip;

/** Bit-set types: a list of names is an OR, and a bare match tests for any of the bits. */
export const BITMASK_TYPES: ReadonlySet<NftType> = new Set(['ct_state', 'ct_status', 'tcp_flag']);

const CT_STATE: Readonly<Record<string, number>> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };
const CT_STATUS: Readonly<Record<string, number>> = { expected: 1, 'seen-reply': 2, assured: 4, confirmed: 8, snat: 16, dnat: 32, dying: 512 };
const CT_DIR: Readonly<Record<string, number>> = { original: 0, reply: 1 };
const TCP_FLAGS: Readonly<Record<string, number>> = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 };
/** enum fib_addrtype (RTN_*). */
const FIB_TYPES: Readonly<Record<string, number>> = { unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10, xresolve: 11 };
const NF_PROTO: Readonly<Record<string, number>> = { inet: 1, ipv4: 2, arp: 3, netdev: 5, bridge: 7, ipv6: 10 };
const ETHER_TYPE: Readonly<Record<string, number>> = { ip: 0x0800, arp: 0x0806, ip6: 0x86dd, vlan: 0x8100 };
const PKT_TYPE: Readonly<Record<string, number>> = { host: 0, unicast: 0, broadcast: 1, multicast: 2, other: 3 };
const INET_PROTO: Readonly<Record<string, number>> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132, udplite: 136, dccp: 33, comp: 108 };
const ICMP_TYPE: Readonly<Record<string, number>> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'source-quench': 4,
  redirect: 5,
  'echo-request': 8,
  'router-advertisement': 9,
  'router-solicitation': 10,
  'time-exceeded': 11,
  'parameter-problem': 12,
  'timestamp-request': 13,
  'timestamp-reply': 14,
  'info-request': 15,
  'info-reply': 16,
  'address-mask-request': 17,
  'address-mask-reply': 18,
};
const ICMPV6_TYPE: Readonly<Record<string, number>> = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'parameter-problem': 4,
  'echo-request': 128,
  'echo-reply': 129,
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'mld-listener-reduction': 132,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
  'nd-redirect': 137,
  'router-renumbering': 138,
  'ind-neighbor-solicit': 141,
  'ind-neighbor-advert': 142,
  'mld2-listener-report': 143,
};
const SERVICES: Readonly<Record<string, number>> = { ssh: 22, http: 80, https: 443, domain: 53, ftp: 21, smtp: 25, ntp: 123, bootps: 67, bootpc: 68, telnet: 23 };

const SYMBOLS: Partial<Record<NftType, Readonly<Record<string, number>>>> = {
  ct_state: CT_STATE,
  ct_status: CT_STATUS,
  ct_dir: CT_DIR,
  tcp_flag: TCP_FLAGS,
  fib_addrtype: FIB_TYPES,
  nf_proto: NF_PROTO,
  ether_type: ETHER_TYPE,
  pkt_type: PKT_TYPE,
  inet_proto: INET_PROTO,
  icmp_type: ICMP_TYPE,
  icmpv6_type: ICMPV6_TYPE,
  inet_service: SERVICES,
};

/** Names of a type's symbolic values, for printing a number back (first name wins). */
export function symbolFor(type: NftType, n: bigint): string | undefined {
  const table = SYMBOLS[type];
  if (!table) return undefined;
  for (const [name, v] of Object.entries(table)) if (BigInt(v) === n) return name;
  return undefined;
}

const PAYLOAD_TYPES: Readonly<Record<string, NftType>> = {
  'ip saddr': 'ipv4_addr',
  'ip daddr': 'ipv4_addr',
  'ip6 saddr': 'ipv6_addr',
  'ip6 daddr': 'ipv6_addr',
  'ip protocol': 'inet_proto',
  'ip6 nexthdr': 'inet_proto',
  'icmp type': 'icmp_type',
  'icmpv6 type': 'icmpv6_type',
  'tcp flags': 'tcp_flag',
  'ether type': 'ether_type',
};

/** The datatype of an expression's value, when it can be told from the expression. */
export function typeOf(e: NftExpr): NftType {
  switch (e.kind) {
    case 'payload': {
      const t = PAYLOAD_TYPES[`${e.protocol} ${e.field}`];
      if (t) return t;
      if (e.field === 'sport' || e.field === 'dport') return 'inet_service';
      return 'integer';
    }
    case 'meta':
      switch (e.key) {
        case 'l4proto':
          return 'inet_proto';
        case 'iifname':
        case 'oifname':
        case 'ibrname':
        case 'obrname':
          return 'ifname';
        case 'iif':
        case 'oif':
          return 'iface_index';
        case 'mark':
          return 'mark';
        case 'nfproto':
          return 'nf_proto';
        case 'protocol':
          return 'ether_type';
        case 'pkttype':
          return 'pkt_type';
        default:
          return 'integer';
      }
    case 'ct':
      if (e.key === 'state') return 'ct_state';
      if (e.key === 'status') return 'ct_status';
      if (e.key === 'direction') return 'ct_dir';
      if (e.key === 'mark') return 'mark';
      if (e.key === 'saddr' || e.key === 'daddr' || e.key === 'ip saddr' || e.key === 'ip daddr') return e.family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
      if (e.key === 'ip6 saddr' || e.key === 'ip6 daddr') return 'ipv6_addr';
      if (e.key === 'proto-src' || e.key === 'proto-dst') return 'inet_service';
      if (e.key === 'protocol' || e.key === 'l3proto') return e.key === 'protocol' ? 'inet_proto' : 'nf_proto';
      return 'integer';
    case 'fib':
      return e.result === 'type' ? 'fib_addrtype' : e.result === 'oifname' ? 'ifname' : 'iface_index';
    case 'binop':
      return typeOf(e.left);
    case 'numgen':
    case 'hash':
      return 'integer';
    default:
      return 'unknown';
  }
}

const keyTypesCache = new WeakMap<NftExpr, readonly NftType[]>();

/**
 * The components' types of a key expression (one for a plain key, one per
 * item of a concatenation). Worked out once per expression object: the same
 * array comes back every time, so compiled sets can be checked against it.
 */
export function keyTypes(e: NftExpr): readonly NftType[] {
  let t = keyTypesCache.get(e);
  if (!t) keyTypesCache.set(e, (t = e.kind === 'concat' ? e.items.map(typeOf) : [typeOf(e)]));
  return t;
}

/** A literal as a value of the given type, or undefined when it is not one (`established` as an address). */
export function literalValue(type: NftType, v: string | number | boolean): NftValue | undefined {
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  const text = v.trim();
  if (type === 'ifname' || type === 'iface_index') return text.replace(/^"(.*)"$/, '$1');
  if (type === 'ipv4_addr' || type === 'ipv6_addr') return parseIp(text);
  if (type === 'mark' || type === 'integer' || SYMBOLS[type]) {
    if (/^0x[0-9a-f]+$/i.test(text) || /^\d+$/.test(text)) return BigInt(text);
    const table = SYMBOLS[type];
    if (table && text in table) return BigInt(table[text]!);
    if (BITMASK_TYPES.has(type) && table && text.includes(',')) {
      let n = 0n;
      for (const part of text.split(',')) {
        const bit = table[part.trim()];
        if (bit === undefined) return undefined;
        n |= BigInt(bit);
      }
      return n;
    }
    return undefined;
  }
  if (type === 'unknown') {
    if (/^0x[0-9a-f]+$/i.test(text) || /^\d+$/.test(text)) return BigInt(text);
    return parseIp(text) ?? text;
  }
  return undefined;
}

/** Values compare as the kernel compares registers: numbers and addresses by number, names by text. */
export function valueKey(v: NftValue): string {
  if (typeof v === 'bigint') return `n${v}`;
  if (typeof v === 'string') return `s${v}`;
  return `a${v.n}`;
}

/** valueKey(a) === valueKey(b), without building the strings (a match compares on every packet). */
export function sameValue(a: NftValue, b: NftValue): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return typeof a.n === typeof b.n ? a.n === b.n : BigInt(a.n) === BigInt(b.n);
}

/** A key of one or more values as the compiled sets index it: the values' keys joined by `|`. */
export function keyString(values: readonly NftValue[]): string {
  let out = valueKey(values[0]!);
  for (let i = 1; i < values.length; i++) out += `|${valueKey(values[i]!)}`;
  return out;
}

export function valueNumber(v: NftValue): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'object') return typeof v.n === 'bigint' ? v.n : BigInt(v.n);
  return undefined;
}
