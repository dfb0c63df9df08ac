// One nft base chain inside the hook pipeline: runs it with the nftables
// evaluator and reports its events in the trace's event form, marked with
// the language, family and rule handle (what `nft monitor trace` shows).
import type { Host, RouteDecision } from './host.ts';
import type { Packet } from './packet.ts';
import type { Conn, Hook } from './context.ts';
import type { NftHookEntry } from '../nftables/eval/compile.ts';
import { runNftChain, type NftFrame, type NftRunEvent } from '../nftables/eval/run.ts';
import type { NftTable } from '../nftables/model.ts';
import type { ForkRequest } from '../nftables/eval/exprs.ts';

/** The part of a trace path an nft base chain reads and changes. */
export interface NftPath {
  packet: Packet;
  conn: Conn;
  host: Host;
  assumptions: string[];
  route?: RouteDecision;
  /** Frames of the nft base chain in progress (null between chains). */
  nftFrames: NftFrame[] | null;
  /** Choices fixed for the rule being run again after a fork. */
  choices: Map<string, number>;
  setAdds: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface NftEvent {
  readonly language: 'nftables';
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly kind: 'rule' | 'policy';
  readonly rule: number | null;
  readonly handle?: number;
  readonly text: string;
  readonly verdict: string;
  readonly hook: Hook;
  readonly line?: number;
  readonly changes?: readonly string[];
}

export type NftEntryEnd =
  | { readonly kind: 'accept' }
  | { readonly kind: 'final'; readonly verdict: 'DROP' | 'QUEUE' | 'UNKNOWN'; readonly disposition: 'DROPPED' | 'REJECTED' | 'UNKNOWN'; readonly reason: string }
  | { readonly kind: 'fork'; readonly request: ForkRequest };

/** Runs (or resumes) one base chain of the hook for the path. */
export function runNftEntry(s: NftPath, entry: NftHookEntry, hook: Hook, events: NftEvent[]): NftEntryEnd {
  s.nftFrames ??= [{ chain: entry.chain, rule: 0 }];
  const ctx = { packet: s.packet, conn: s.conn, host: s.host, hook, priority: entry.priority, choices: s.choices, sets: entry.sets, setAdds: s.setAdds };
  const ran: NftRunEvent[] = [];
  const end = runNftChain({ ctx, table: entry.table, base: entry.chain, chains: entry.chains, frames: s.nftFrames, assumptions: s.assumptions, route: s.route, events: ran });
  for (const e of ran) events.push(traceEvent(entry.table, hook, e));
  s.packet = ctx.packet;
  s.conn = ctx.conn;
  s.host = ctx.host;
  s.setAdds = ctx.setAdds;
  switch (end.kind) {
    case 'fork':
      return end;
    case 'accept':
      s.nftFrames = null;
      return { kind: 'accept' };
    case 'drop':
      return { kind: 'final', verdict: 'DROP', disposition: end.rejected ? 'REJECTED' : 'DROPPED', reason: end.reason };
    case 'queue':
      return { kind: 'final', verdict: 'QUEUE', disposition: 'UNKNOWN', reason: end.reason };
    case 'unknown':
      s.assumptions.push(`${end.reason}; what happens next is not known`);
      return { kind: 'final', verdict: 'UNKNOWN', disposition: 'UNKNOWN', reason: end.reason };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One run event in the trace's form; optional fields are set only when present, in the order the JSON shows them. */
function traceEvent(table: NftTable, hook: Hook, e: NftRunEvent): NftEvent {
  if (e.kind === 'policy') return { language: 'nftables', family: table.family, table: table.name, chain: e.chain.name, kind: 'policy', rule: null, text: '', verdict: e.verdict, hook };
  const r = e.rule;
  const ev: Mutable<NftEvent> =
    r.handle !== undefined
      ? { language: 'nftables', family: table.family, table: table.name, chain: e.chain.name, kind: 'rule', rule: r.position, handle: r.handle, text: r.raw, verdict: e.verdict, hook }
      : { language: 'nftables', family: table.family, table: table.name, chain: e.chain.name, kind: 'rule', rule: r.position, text: r.raw, verdict: e.verdict, hook };
  if (r.line !== undefined) ev.line = r.line;
  if (e.changes.length) ev.changes = e.changes;
  return ev;
}
