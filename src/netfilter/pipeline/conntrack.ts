// What conntrack makes of a packet that belongs to no known connection:
// only some TCP flag combinations and ICMP types can open one, and some
// ICMPv6 types are never tracked at all.
import type { Packet } from './packet.ts';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const URG = 0x20;

/** nf_conntrack_proto_tcp.c tcp_valid_flags (PSH, ECE and CWR ignored). */
const VALID_TCP_FLAGS = new Set([SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG]);

/** nf_conntrack_icmp_packet valid_new: echo, timestamp, info and address mask requests. */
const ICMP_NEW = new Set([8, 13, 15, 17]);
/** The replies to those (nf_conntrack_proto_icmp.c invmap): only an entry the request made can take them. */
const ICMP_REPLIES: ReadonlyMap<number, string> = new Map([[0, 'echo reply'], [14, 'timestamp reply'], [16, 'information reply'], [18, 'address mask reply']]);
/** include/linux/icmp.h icmp_is_err: nf_conntrack_icmpv4_error looks up the connection quoted inside. */
const ICMP_ERRORS: ReadonlyMap<number, string> = new Map([[3, 'destination unreachable'], [4, 'source quench'], [5, 'redirect'], [11, 'time exceeded'], [12, 'parameter problem']]);
/** NR_ICMP_TYPES: nf_conntrack_icmpv4_error calls anything above it invalid. */
const NR_ICMP_TYPES = 18;

/** nf_conntrack_icmpv6_packet valid_new: echo request and node information query. */
const ICMPV6_NEW = new Set([128, 139]);
const ICMPV6_REPLIES: ReadonlyMap<number, string> = new Map([[129, 'echo reply'], [140, 'node information reply']]);
/**
 * nf_conntrack_proto_icmpv6.c noct_valid_new: MLD and neighbour discovery,
 * which nf_conntrack_icmpv6_error marks untracked (nf_ct_set(skb, NULL, IP_CT_UNTRACKED))
 * before any lookup.
 */
const ICMPV6_NOCT: ReadonlyMap<number, string> = new Map([
  [130, 'multicast listener query'],
  [131, 'multicast listener report'],
  [132, 'multicast listener done'],
  [133, 'router solicitation'],
  [134, 'router advertisement'],
  [135, 'neighbour solicitation'],
  [136, 'neighbour advertisement'],
  [143, 'MLDv2 listener report'],
]);
const ICMPV6_ERRORS: ReadonlyMap<number, string> = new Map([[1, 'destination unreachable'], [2, 'packet too big'], [3, 'time exceeded'], [4, 'parameter problem']]);

/** The state conntrack gives a packet in place of the one asked for, and the kernel rule that says so. */
export interface CtOverride {
  readonly state: 'INVALID' | 'UNTRACKED';
  readonly why: string;
}

/** ICMPv6 types conntrack never tracks, whatever state was asked for. */
export function untrackedByConntrack(p: Packet): CtOverride | undefined {
  if (p.protocol !== 'ipv6-icmp' || p.icmpType === undefined) return undefined;
  const name = ICMPV6_NOCT.get(p.icmpType);
  if (!name) return undefined;
  return {
    state: 'UNTRACKED',
    why: `conntrack never tracks ICMPv6 type ${p.icmpType} (${name}): nf_conntrack_icmpv6_error marks neighbour discovery and MLD (types 130-136, 143) untracked, so nat is skipped and --ctstate UNTRACKED matches (UNTRACKED)`,
  };
}

function invalid(why: string): CtOverride {
  return { state: 'INVALID', why };
}

/** Why conntrack would not start a connection with this packet (INVALID or UNTRACKED), or undefined when it starts one (NEW). */
export function notNew(p: Packet): CtOverride | undefined {
  if (p.protocol === 'tcp' && p.tcpFlags !== undefined) {
    const flags = p.tcpFlags & (FIN | SYN | RST | ACK | URG);
    if (!VALID_TCP_FLAGS.has(flags)) return invalid('conntrack rejects this TCP flag combination (nf_conntrack_proto_tcp.c tcp_valid_flags) (INVALID)');
    // Without a connection only SYN starts one; ACK picks one up (nf_conntrack_tcp_loose=1).
    if (flags & RST || (flags & SYN && flags & ACK) || (flags & FIN && !(flags & SYN))) {
      return invalid('a TCP packet with these flags cannot open a connection: only SYN, or ACK picked up mid-stream (nf_conntrack_tcp_loose), starts one (INVALID)');
    }
  }
  if (p.protocol === 'icmp' && p.icmpType !== undefined && !ICMP_NEW.has(p.icmpType)) {
    const t = p.icmpType;
    if (t > NR_ICMP_TYPES) return invalid(`ICMP type ${t} is above ${NR_ICMP_TYPES}, the highest type conntrack knows (nf_conntrack_icmpv4_error: "invalid icmp type") (INVALID)`);
    const err = ICMP_ERRORS.get(t);
    if (err) return invalid(`ICMP type ${t} (${err}) is an error message: conntrack only lets it through as RELATED to the connection it quotes, and it quotes none conntrack knows (INVALID)`);
    const reply = ICMP_REPLIES.get(t);
    if (reply) return invalid(`an unsolicited ICMP ${reply} (type ${t}) answers no request conntrack knows, and only echo, timestamp, information and address mask requests (types 8, 13, 15, 17) open a connection (nf_conntrack_icmp_packet) (INVALID)`);
    return invalid(`ICMP type ${t} has no reply type, so conntrack cannot track it (nf_conntrack_invert_icmp_tuple fails) (INVALID)`);
  }
  if (p.protocol === 'ipv6-icmp' && p.icmpType !== undefined && !ICMPV6_NEW.has(p.icmpType)) {
    const t = p.icmpType;
    const noct = untrackedByConntrack(p);
    if (noct) return noct;
    if (t < 128) {
      const err = ICMPV6_ERRORS.get(t);
      return invalid(`ICMPv6 type ${t}${err ? ` (${err})` : ''} is an error message: conntrack only lets it through as RELATED to the connection it quotes, and it quotes none conntrack knows (INVALID)`);
    }
    const reply = ICMPV6_REPLIES.get(t);
    if (reply) return invalid(`an unsolicited ICMPv6 ${reply} (type ${t}) answers no request conntrack knows, and only echo request and node information query (types 128, 139) open a connection (nf_conntrack_icmpv6_packet) (INVALID)`);
    return invalid(`ICMPv6 type ${t} has no reply type, so conntrack cannot track it (nf_conntrack_invert_icmpv6_tuple fails) (INVALID)`);
  }
  return undefined;
}
