// What a match or target sees while a packet is being traced.
import type { Ip } from './addr.ts';
import type { AddressFact, Host } from './host.ts';
import type { TableName } from '../iptables/model.ts';
import type { Packet } from './packet.ts';

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Conntrack's view of the connection this packet belongs to. */
export interface Conn {
  readonly untracked: boolean;
  /** A DNAT/SNAT binding exists for the connection (ctstate DNAT/SNAT). */
  readonly dnat: boolean;
  readonly snat: boolean;
  /** nat chains already consulted for the destination / source manipulation. */
  readonly natDst: boolean;
  readonly natSrc: boolean;
  /** The original direction tuple (before NAT). */
  readonly origSrc: Ip;
  readonly origDst: Ip;
  readonly origSport?: number;
  readonly origDport?: number;
}

export interface EvalContext {
  readonly packet: Packet;
  readonly conn: Conn;
  readonly host: Host;
  readonly table: TableName;
  readonly hook: Hook;
}

/** A match that cannot be decided: its probability of holding (null when unknowable) and why. */
export interface Uncertain {
  readonly p: number | null;
  readonly why: string;
  /** Text for the branch where it holds / does not hold. */
  readonly yes: string;
  readonly no: string;
  /**
   * What each branch takes as known about the node without a host file (an
   * address is, or is not, one of its own), so that later matches and routing
   * on that path agree with the assumption.
   */
  readonly yesFacts?: readonly AddressFact[];
  readonly noFacts?: readonly AddressFact[];
}

/** 1 = holds, 0 = does not, or an uncertainty to fork on. */
export type MatchResult = 0 | 1 | Uncertain;

export type Matcher = (ctx: EvalContext) => MatchResult;
