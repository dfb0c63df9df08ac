// What a trace returns: outcomes, events, near misses; and its options.
import type { Ruleset, TableName } from '../iptables/model.ts';
import type { Host } from './host.ts';
import type { Packet } from './packet.ts';
import type { Hook } from './context.ts';
import type { Explanation } from '../analysis/explain.ts';
import type { BaseChainRun } from '../analysis/base-chains.ts';
import type { NftRuleset } from '../nftables/model.ts';

export const DISPOSITIONS = ['DELIVERED_LOCAL', 'FORWARDED', 'SENT', 'DROPPED', 'REJECTED', 'NO_ROUTE', 'UNKNOWN'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];
export const FINAL_VERDICTS = ['ACCEPT', 'DROP', 'QUEUE', 'UNKNOWN'] as const;
export type FinalVerdict = (typeof FINAL_VERDICTS)[number];

export interface TraceEvent {
  /** An iptables table (`filter`...), or the nft table's name for nftables events. */
  readonly table: string;
  /** Set for events of native nftables rules; iptables events have none (their form is unchanged). */
  readonly language?: 'nftables';
  /** nft table family (`ip`, `ip6`, `inet`) of an nftables event. */
  readonly family?: string;
  /** nft rule handle of an nftables rule event. */
  readonly handle?: number;
  /** `legacy` on events of iptables-legacy tables traced next to iptables-nft ones (both backends in use). */
  readonly backend?: 'legacy';
  readonly chain: string;
  readonly kind: 'rule' | 'policy';
  readonly rule: number | null;
  readonly text: string;
  readonly verdict: string;
  readonly hook: Hook;
  /** Source line of the rule in the dump. */
  readonly line?: number;
  /** What the rule changed, e.g. "DNAT to 10.244.1.5:8080". */
  readonly changes?: readonly string[];
  /**
   * What real traffic counted on this rule or policy in the node's latest counter window (its
   * previous upload to its latest); set by a caller that has the node's counter history.
   */
  readonly hits?: { readonly packets: number; readonly bytes: number; readonly since: string };
}

export interface TraceOutcome {
  readonly probability: number | null;
  readonly verdict: FinalVerdict;
  readonly disposition: Disposition;
  readonly packet: Record<string, unknown>;
  readonly events: readonly TraceEvent[];
  readonly assumptions: readonly string[];
  /** Why the trace ended there (routing, policy, rule). */
  readonly reason: string;
  /** The hop the packet leaves towards, for FORWARDED and SENT. */
  readonly nextHop?: string;
  /** Rules on the path that failed on exactly one condition (with `explain`). */
  readonly nearMisses: readonly NearMiss[];
  /** A short human explanation (with `explain`). */
  readonly explanation?: Explanation;
  /** The base chains the path ran, hook by hook in the kernel's order, whose, and which one ended it (with `explain`). */
  readonly baseChains?: readonly BaseChainRun[];
  /** Internal: the final packet, for multi-node traces. */
  readonly finalPacket: Packet;
}

export interface TraceResult {
  readonly outcomes: readonly TraceOutcome[];
  readonly warnings: readonly string[];
}

export interface TraceOptions {
  readonly host?: Host;
  /** Stop exploring after this many outcomes. */
  readonly maxOutcomes?: number;
  /** Record near misses and explain each outcome. */
  readonly explain?: boolean;
  /** Node name used in explanations. */
  readonly node?: string;
  /** The node's native nftables ruleset: its base chains join the hooks by priority. */
  readonly nftables?: NftRuleset;
  /**
   * iptables-legacy tables in use next to the main ruleset's iptables-nft ones (a node with both
   * backends): they run too, at the legacy backend's priorities.
   */
  readonly legacy?: Ruleset;
}

/** A rule on the path that would have decided differently but for one condition. */
export interface NearMiss {
  readonly table: TableName;
  readonly chain: string;
  readonly rule: number;
  readonly text: string;
  readonly target: string;
  readonly failed: string;
}
