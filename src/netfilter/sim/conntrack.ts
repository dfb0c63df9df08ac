// What conntrack makes of a packet that belongs to no known connection:
// only some TCP flag combinations and ICMP types can open one.
import type { Packet } from '../packet.ts';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const URG = 0x20;

/** nf_conntrack_proto_tcp.c tcp_valid_flags (PSH, ECE and CWR ignored). */
const VALID_TCP_FLAGS = new Set([SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG]);

const ICMP_NEW = new Set([8, 13, 15, 17]);
const ICMPV6_NEW = new Set([128, 139]);

/** Why conntrack would refuse to start a connection with this packet, or undefined when it starts one (NEW). */
export function invalidAsNew(p: Packet): string | undefined {
  if (p.protocol === 'tcp' && p.tcpFlags !== undefined) {
    const flags = p.tcpFlags & (FIN | SYN | RST | ACK | URG);
    if (!VALID_TCP_FLAGS.has(flags)) return 'conntrack rejects this TCP flag combination (INVALID)';
    // Without a connection only SYN starts one; ACK picks one up (nf_conntrack_tcp_loose=1).
    if (flags & RST || (flags & SYN && flags & ACK) || (flags & FIN && !(flags & SYN))) {
      return 'a TCP packet with these flags cannot open a connection (INVALID)';
    }
  }
  if (p.protocol === 'icmp' && p.icmpType !== undefined && !ICMP_NEW.has(p.icmpType)) {
    return `ICMP type ${p.icmpType} cannot open a connection and relates to no known one (INVALID)`;
  }
  if (p.protocol === 'ipv6-icmp' && p.icmpType !== undefined && !ICMPV6_NEW.has(p.icmpType) && p.icmpType < 128) {
    return `ICMPv6 type ${p.icmpType} relates to no known connection (INVALID)`;
  }
  return undefined;
}
