// The pipeline's entry for a whole node: its iptables dump and its native
// nftables ruleset traced as one netfilter.
import type { Ruleset } from '../iptables/model.ts';
import type { NftRuleset } from '../nftables/model.ts';
import type { Host } from './host.ts';
import type { Packet } from './packet.ts';
import { tracePacket } from './trace.ts';
import type { TraceOptions, TraceResult } from './outcome.ts';

export interface NodeRulesets {
  /** The iptables dump of the packet's family (iptables-save), if the node has one. */
  readonly iptables?: Ruleset;
  /** The node's native nftables tables (`nft -j list ruleset`). */
  readonly nftables?: NftRuleset;
  /** iptables-legacy tables of the packet's family in use besides `iptables` (an iptables-nft dump): both backends run. */
  readonly legacy?: Ruleset;
}

/** Traces a packet through every base chain of the node, iptables' and native nft ones, in the kernel's order. */
export function traceNode(rulesets: NodeRulesets, packet: Packet, options: Omit<TraceOptions, 'nftables' | 'legacy'> & { host?: Host } = {}): TraceResult {
  const iptables: Ruleset = rulesets.iptables ?? { family: packet.family, tables: [] };
  return tracePacket(iptables, packet, { ...options, ...(rulesets.nftables ? { nftables: rulesets.nftables } : {}), ...(rulesets.legacy ? { legacy: rulesets.legacy } : {}) });
}
