// One path of a trace: the packet, its connection and the node as this
// path knows them, where it is in the hooks and chains, and how it forks.
import type { Ip } from './addr.ts';
import { assumeAddress, type Host, type RouteDecision } from './host.ts';
import type { Packet } from './packet.ts';
import type { CompiledChain } from '../iptables/eval/compile.ts';
import type { Conn, Hook, Uncertain } from './context.ts';
import type { CtOverride } from './conntrack.ts';
import type { NftFrame } from '../nftables/eval/run.ts';
import type { Disposition, FinalVerdict, NearMiss, TraceEvent } from './outcome.ts';

type Phase = Hook | 'ROUTE_IN' | 'ROUTE_OUT' | 'REROUTE' | 'DELIVER' | 'EMIT';

export interface Frame {
  chain: CompiledChain;
  /** Next step in `order` (or rule index when there is no order). */
  idx: number;
  /** Rule indexes to visit, from the chain's dispatch index. */
  order?: readonly number[];
}

export interface PathState {
  packet: Packet;
  /** The node as this path knows it: the trace's host, plus what the path assumed without a host file. */
  host: Host;
  conn: Conn;
  events: TraceEvent[];
  assumptions: string[];
  probability: number | null;
  phase: Phase;
  tableIdx: number;
  frames: Frame[] | null;
  route?: RouteDecision;
  loopback: boolean;
  /** Destination when OUTPUT started, to detect a reroute. */
  outputDst?: Ip;
  work: number;
  entries: number;
  misses: NearMiss[] | null;
  /** How the current table traversal ends when the path resumes (the other side of a target's fork). */
  pendingEnd?: ChainEnd;
  /** Conntrack's state for the packet, when it is not the one asked for. */
  ct: CtOverride | undefined;
  /** The nft base chain in progress (see nft-entry.ts). */
  nftFrames: NftFrame[] | null;
  choices: Map<string, number>;
  setAdds: ReadonlyMap<string, ReadonlySet<string>>;
}

export const MAX_DEPTH = 64;
/** The nf_tables kernel's jump stack (NFT_JUMP_STACK_SIZE): deeper rulesets do not load with iptables-nft. */
export const NFT_JUMP_STACK_SIZE = 16;
/** Chain entries per path: a `-g` loop never grows the stack, so count entries too. */
export const MAX_ENTRIES = 100_000;
export const MAX_WORK = 2_000_000;

export type ChainEnd =
  | { kind: 'accept' }
  | { kind: 'final'; verdict: FinalVerdict; disposition: Disposition; reason: string };

export function clone(s: PathState): PathState {
  return {
    ...s,
    events: [...s.events],
    assumptions: [...s.assumptions],
    frames: s.frames ? s.frames.map((f) => ({ ...f })) : null,
    misses: s.misses ? [...s.misses] : null,
    nftFrames: s.nftFrames ? s.nftFrames.map((f) => ({ ...f })) : null,
    choices: new Map(s.choices),
  };
}

/** The rule may or may not match: `s` goes on as if it matched, a copy as if it did not. */
export function fork(s: PathState, u: Uncertain, work: PathState[]): void {
  const other = clone(s);
  other.frames![other.frames!.length - 1]!.idx++;
  for (const fact of u.yesFacts ?? []) s.host = assumeAddress(s.host, fact);
  for (const fact of u.noFacts ?? []) other.host = assumeAddress(other.host, fact);
  if (u.p === null) {
    other.probability = null;
    s.probability = null;
    other.assumptions.push(u.no);
    s.assumptions.push(u.yes);
  } else {
    other.probability = s.probability === null ? null : s.probability * (1 - u.p);
    s.probability = s.probability === null ? null : s.probability * u.p;
  }
  work.push(other);
}
