// The simulator: walks a packet through netfilter's hooks and tables the way
// the kernel does, forking wherever the outcome depends on chance
// (`statistic`) or on something it cannot know.
import type { Ruleset, TableName, Verdict } from '../model.ts';
import { formatIp, isMulticast, type Ip } from '../addr.ts';
import { assumeAddress, assumedHost, findInterface, lookupRoute, routeLocalnetOn, type Host, type RouteDecision } from '../host.ts';
import { packetToJson, type Packet } from '../packet.ts';
import { compileRuleset, type CompiledChain, type CompiledRule, type CompiledRuleset } from './compile.ts';
import type { Conn, EvalContext, Hook, Uncertain } from './context.ts';
import { applyExtension, type TargetEffect } from './targets.ts';
import { notNew, untrackedByConntrack, type CtOverride } from './conntrack.ts';
import { describeMismatch, explainOutcome, type Explanation } from './explain.ts';

export const DISPOSITIONS = ['DELIVERED_LOCAL', 'FORWARDED', 'SENT', 'DROPPED', 'REJECTED', 'NO_ROUTE', 'UNKNOWN'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];
export const FINAL_VERDICTS = ['ACCEPT', 'DROP', 'QUEUE', 'UNKNOWN'] as const;
export type FinalVerdict = (typeof FINAL_VERDICTS)[number];

export interface TraceEvent {
  readonly table: TableName;
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

/**
 * Tables in priority order at each hook. iptables-nft registers the security
 * table at priority 150, after nat's 100 in INPUT; iptables-legacy at 50.
 */
const HOOK_TABLES: Readonly<Record<'nft' | 'legacy', Readonly<Record<Hook, readonly TableName[]>>>> = {
  nft: {
    PREROUTING: ['raw', 'mangle', 'nat'],
    INPUT: ['mangle', 'filter', 'nat', 'security'],
    FORWARD: ['mangle', 'filter', 'security'],
    OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
    POSTROUTING: ['mangle', 'nat'],
  },
  legacy: {
    PREROUTING: ['raw', 'mangle', 'nat'],
    INPUT: ['mangle', 'filter', 'security', 'nat'],
    FORWARD: ['mangle', 'filter', 'security'],
    OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
    POSTROUTING: ['mangle', 'nat'],
  },
};

type Phase = Hook | 'ROUTE_IN' | 'ROUTE_OUT' | 'REROUTE' | 'DELIVER' | 'EMIT';

interface Frame {
  chain: CompiledChain;
  /** Next step in `order` (or rule index when there is no order). */
  idx: number;
  /** Rule indexes to visit, from the chain's dispatch index. */
  order?: readonly number[];
}

interface PathState {
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
}

const MAX_DEPTH = 64;
/** The nf_tables kernel's jump stack (NFT_JUMP_STACK_SIZE): deeper rulesets do not load with iptables-nft. */
const NFT_JUMP_STACK_SIZE = 16;
/** Chain entries per path: a `-g` loop never grows the stack, so count entries too. */
const MAX_ENTRIES = 100_000;
const MAX_WORK = 2_000_000;

type ChainEnd =
  | { kind: 'accept' }
  | { kind: 'final'; verdict: FinalVerdict; disposition: Disposition; reason: string };

function clone(s: PathState): PathState {
  return {
    ...s,
    events: [...s.events],
    assumptions: [...s.assumptions],
    frames: s.frames ? s.frames.map((f) => ({ ...f })) : null,
    misses: s.misses ? [...s.misses] : null,
  };
}

/** The rule may or may not match: `s` goes on as if it matched, a copy as if it did not. */
function fork(s: PathState, u: Uncertain, work: PathState[]): void {
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

/** With iptables-legacy the nat table itself pulls in conntrack. */
function conntrackActive(host: Host, compiled: CompiledRuleset): boolean {
  if (host.conntrack !== undefined) return host.conntrack;
  return compiled.conntrack || ((host.backend ?? 'nft') === 'legacy' && compiled.tables.has('nat'));
}

function isNatManip(hook: Hook): 'dst' | 'src' {
  return hook === 'PREROUTING' || hook === 'OUTPUT' ? 'dst' : 'src';
}

function natApplies(s: PathState, hook: Hook, conntrack: boolean): boolean {
  if (!conntrack || s.conn.untracked || s.packet.state !== 'NEW') return false;
  return isNatManip(hook) === 'dst' ? !s.conn.natDst : !s.conn.natSrc;
}

/** Runs the chain traversal of one table at one hook until it accepts or ends the path. */
function runTable(s: PathState, compiled: CompiledRuleset, table: TableName, hook: Hook, work: PathState[], warnings: Set<string>): ChainEnd {
  const chains = compiled.tables.get(table)!;
  if (s.pendingEnd) {
    const end = s.pendingEnd;
    s.pendingEnd = undefined;
    return end;
  }
  if (!s.frames) {
    const base = chains.get(hook);
    if (!base) return { kind: 'accept' };
    s.frames = [enter(base, s, table, hook)];
  }
  const baseChain = chains.get(hook)!;
  for (;;) {
    const frame = s.frames[s.frames.length - 1];
    if (!frame) return applyPolicy(s, baseChain, hook);
    const rules = frame.chain.rules;
    const order = frame.order;
    if (frame.idx >= (order ? order.length : rules.length)) {
      // End of a chain: built-in chains apply their policy; user chains return silently.
      s.frames.pop();
      if (s.frames.length === 0) return applyPolicy(s, baseChain, hook);
      continue;
    }
    if (++s.work > MAX_WORK) {
      warnings.add(`trace stopped after ${MAX_WORK} rule evaluations (loop?)`);
      s.assumptions.push(`the trace stopped after ${MAX_WORK} rule evaluations; what happens next is not known`);
      return { kind: 'final', verdict: 'UNKNOWN', disposition: 'UNKNOWN', reason: 'evaluation limit reached' };
    }
    const cr = rules[order ? order[frame.idx]! : frame.idx]!;
    const ctx: EvalContext = { packet: s.packet, conn: s.conn, host: s.host, table, hook };
    const r = cr.test(ctx);
    if (r === 0) {
      if (s.misses && s.misses.length < 50 && cr.target) noteNearMiss(s.misses, cr, frame.chain, ctx);
      frame.idx++;
      continue;
    }
    if (r !== 1) {
      if (r.p === 0) {
        frame.idx++;
        continue;
      }
      if (r.p !== 1) fork(s, r, work);
    }
    frame.idx++;
    const end = applyTarget(s, cr, frame.chain, table, hook, chains, work, warnings);
    if (end) return end;
  }
}

const describeTarget = (t: NonNullable<CompiledRule['target']>): string =>
  t.kind === 'verdict' ? t.verdict : t.kind === 'extension' ? t.name : `${t.kind === 'jump' ? 'jump to' : 'go to'} ${t.chain}`;

function noteNearMiss(misses: NearMiss[], cr: CompiledRule, chain: CompiledChain, ctx: EvalContext): void {
  let failed: CompiledRule['parts'][number] | undefined;
  for (const part of cr.parts) {
    if (part.test(ctx) !== 0) continue;
    if (failed) return;
    failed = part;
  }
  if (!failed) return;
  misses.push({ table: chain.table, chain: chain.chain.name, rule: cr.rule.position, text: cr.text, target: describeTarget(cr.target!), failed: describeMismatch(failed.match, ctx) });
}

function enter(chain: CompiledChain, s: PathState, table: TableName, hook: Hook): Frame {
  if (!chain.candidates) return { chain, idx: 0 };
  return { chain, idx: 0, order: chain.candidates({ packet: s.packet, conn: s.conn, host: s.host, table, hook }) };
}

function ruleEvent(s: PathState, cr: CompiledRule, chain: CompiledChain, hook: Hook, verdict: string, changes?: string[]): void {
  s.events.push({
    table: chain.table,
    chain: chain.chain.name,
    kind: 'rule',
    rule: cr.rule.position,
    text: cr.text,
    verdict,
    hook,
    line: cr.rule.line,
    ...(changes && changes.length ? { changes } : {}),
  });
}

function applyPolicy(s: PathState, base: CompiledChain, hook: Hook): ChainEnd {
  const policy = base.chain.policy === 'DROP' ? 'DROP' : 'ACCEPT';
  s.events.push({ table: base.table, chain: base.chain.name, kind: 'policy', rule: null, text: '', verdict: policy, hook });
  if (base.chain.policy === 'UNKNOWN') s.assumptions.push(`policy of ${base.table}/${base.chain.name} unknown; assumed ACCEPT`);
  s.frames = null;
  if (policy === 'DROP') return { kind: 'final', verdict: 'DROP', disposition: 'DROPPED', reason: `policy DROP of ${base.table}/${base.chain.name}` };
  return { kind: 'accept' };
}

function applyTarget(
  s: PathState,
  cr: CompiledRule,
  chain: CompiledChain,
  table: TableName,
  hook: Hook,
  chains: ReadonlyMap<string, CompiledChain>,
  work: PathState[],
  warnings: Set<string>,
): ChainEnd | undefined {
  const t = cr.target;
  if (!t) {
    ruleEvent(s, cr, chain, hook, 'CONTINUE');
    return undefined;
  }
  switch (t.kind) {
    case 'verdict':
      return applyVerdict(s, cr, chain, hook, t.verdict, chains);
    case 'jump':
    case 'goto': {
      const target = chains.get(t.chain);
      ruleEvent(s, cr, chain, hook, `${t.kind === 'jump' ? 'JUMP' : 'GOTO'}:${t.chain}`);
      if (!target) {
        warnings.add(`${table}/${chain.chain.name} rule ${cr.rule.position} jumps to missing chain ${t.chain}`);
        s.assumptions.push(`chain ${table}/${t.chain} is not in the dump (iptables-restore would refuse the jump); what happens next is not known`);
        return { kind: 'final', verdict: 'UNKNOWN', disposition: 'UNKNOWN', reason: `jump to missing chain ${t.chain}` };
      }
      // A loop re-enters a chain still on the jump stack (or, with -g, keeps entering chains without
      // end); depth alone is not a loop: a long loop-free jump chain is only too deep to simulate.
      const looping = (t.kind === 'jump' && s.frames!.some((f) => f.chain.chain.name === t.chain)) || ++s.entries > MAX_ENTRIES;
      if (looping) {
        warnings.add(`jump loop through ${table}/${t.chain}`);
        s.assumptions.push(`jumps loop through ${table}/${t.chain} (the kernel refuses such a ruleset); what happens next is not known`);
        return { kind: 'final', verdict: 'UNKNOWN', disposition: 'UNKNOWN', reason: `jump loop through ${t.chain}` };
      }
      if (s.frames!.length >= MAX_DEPTH) {
        warnings.add(`chain depth above ${MAX_DEPTH} at ${table}/${t.chain} (no loop)`);
        s.assumptions.push(`jumps nest deeper than ${MAX_DEPTH} chains at ${table}/${t.chain}: the nf_tables kernel refuses rulesets nested deeper than ${NFT_JUMP_STACK_SIZE} jumps (iptables-nft), iptables-legacy allows them; packetpath does not follow them further, so what happens next is not known`);
        return { kind: 'final', verdict: 'UNKNOWN', disposition: 'UNKNOWN', reason: `chains nested deeper than ${MAX_DEPTH} at ${t.chain}` };
      }
      const frame = enter(target, s, table, hook);
      if (t.kind === 'jump') s.frames!.push(frame);
      else s.frames![s.frames!.length - 1] = frame;
      return undefined;
    }
    case 'extension': {
      const effect = applyExtension(t, { packet: s.packet, conn: s.conn, host: s.host, hook, table, route: s.route });
      if (!t.known) {
        forkUnknownTarget(s, cr, chain, hook, t.name, work);
        return applyEffect(s, { ...effect, assumption: undefined }, cr, chain, table, hook, t.name);
      }
      if (effect.alternative) {
        // The target's effect rests on something no dump shows: a copy takes the other effect.
        const other = clone(s);
        other.probability = null;
        s.probability = null;
        other.pendingEnd = applyEffect(other, effect.alternative, cr, chain, table, hook, t.name) ?? undefined;
        work.push(other);
      }
      return applyEffect(s, effect, cr, chain, table, hook, t.name);
    }
  }
}

function applyEffect(s: PathState, effect: TargetEffect, cr: CompiledRule, chain: CompiledChain, table: TableName, hook: Hook, name: string): ChainEnd | undefined {
  if (effect.assumption) s.assumptions.push(effect.assumption);
  if (effect.packet) s.packet = effect.packet;
  if (effect.conn) s.conn = effect.conn;
  if (effect.host) s.host = effect.host;
  ruleEvent(s, cr, chain, hook, effect.verdict, effect.changes);
  switch (effect.verdict) {
    case 'CONTINUE':
      return undefined;
    case 'ACCEPT':
      s.frames = null;
      return { kind: 'accept' };
    case 'DROP':
      return { kind: 'final', verdict: 'DROP', disposition: effect.rejected ? 'REJECTED' : 'DROPPED', reason: `${table}/${chain.chain.name} rule ${cr.rule.position}: ${cr.text}` };
    case 'QUEUE':
      return { kind: 'final', verdict: 'QUEUE', disposition: 'UNKNOWN', reason: `queued to userspace by ${table}/${chain.chain.name} rule ${cr.rule.position}` };
    default:
      return { kind: 'final', verdict: 'UNKNOWN', disposition: 'UNKNOWN', reason: `target ${name} is not simulated` };
  }
}

/**
 * A target packetpath does not know may end the traversal or let the packet
 * go on: both are explored, with unknown probability. `s` takes the ending
 * path; a copy goes on to the next rule as if the target were non-terminating.
 */
function forkUnknownTarget(s: PathState, cr: CompiledRule, chain: CompiledChain, hook: Hook, name: string, work: PathState[]): void {
  const other = clone(s);
  other.probability = null;
  s.probability = null;
  other.assumptions.push(`target ${name} is unknown to packetpath; this path assumes it lets the packet continue`);
  s.assumptions.push(`target ${name} is unknown to packetpath; this path assumes it ends the traversal with an unknown verdict`);
  ruleEvent(other, cr, chain, hook, 'CONTINUE');
  work.push(other);
}

function applyVerdict(s: PathState, cr: CompiledRule, chain: CompiledChain, hook: Hook, v: Verdict, chains: ReadonlyMap<string, CompiledChain>): ChainEnd | undefined {
  ruleEvent(s, cr, chain, hook, v);
  switch (v) {
    case 'ACCEPT':
      s.frames = null;
      return { kind: 'accept' };
    case 'DROP':
      return { kind: 'final', verdict: 'DROP', disposition: 'DROPPED', reason: `${chain.table}/${chain.chain.name} rule ${cr.rule.position}: ${cr.text}` };
    case 'QUEUE':
      return { kind: 'final', verdict: 'QUEUE', disposition: 'UNKNOWN', reason: `queued to userspace by ${chain.table}/${chain.chain.name} rule ${cr.rule.position}` };
    case 'RETURN': {
      s.frames!.pop();
      if (s.frames!.length === 0) return applyPolicy(s, chains.get(hook)!, hook);
      return undefined;
    }
  }
}

function finish(s: PathState, outcomes: TraceOutcome[], end: { verdict: FinalVerdict; disposition: Disposition; reason: string; nextHop?: Ip }): void {
  outcomes.push({
    // A path that ends in an unknown verdict depends on something the simulator cannot know.
    probability: end.verdict === 'UNKNOWN' ? null : s.probability,
    verdict: end.verdict,
    disposition: end.disposition,
    packet: packetToJson(s.packet),
    events: s.events,
    assumptions: [...new Set(s.assumptions)],
    // Say why the packet was INVALID or UNTRACKED unless a rule untracked it on this path.
    reason: s.ct && !s.conn.untracked ? `${end.reason}; ${s.ct.why}` : end.reason,
    ...(end.nextHop ? { nextHop: formatIp(end.nextHop) } : {}),
    nearMisses: s.misses ?? [],
    finalPacket: s.packet,
  });
}

/** ip_route_input_slow's sanity checks, in the kernel's order. */
function martian(host: Host, p: Packet): string | undefined {
  if (p.family === 'ipv4') {
    const src = p.src.n as number;
    const dst = p.dst.n as number;
    if (src >>> 28 === 0xe || src === 0xffffffff) return 'martian source (broadcast or multicast source)';
    if (dst === 0xffffffff || (src === 0 && dst === 0)) return undefined; // limited broadcast: accepted as is
    // Since Linux 5.3 only 0.0.0.0 itself is a "zero network" address; the rest of 0/8 is unicast.
    if (src === 0) return 'martian source (0.0.0.0 to a unicast destination)';
    if (dst === 0) return 'martian destination (0.0.0.0)';
    const localnet = routeLocalnetOn(host, p.inInterface) === true;
    if (src >>> 24 === 127 && p.inInterface !== 'lo' && !localnet) return 'martian source (127.0.0.0/8 from outside lo; route_localnet is off)';
    if (dst >>> 24 === 127 && p.inInterface !== 'lo' && !localnet) return 'martian destination (127.0.0.0/8 arriving outside lo; route_localnet is off)';
  }
  if (p.inInterface !== 'lo' && lookupRoute(host, p.src)?.type === 'local' && host.known) return `martian source (${formatIp(p.src)} is an address of this node)`;
  return undefined;
}

/**
 * The state conntrack gives the packet instead of the one asked for: ICMPv6
 * neighbour discovery and MLD are untracked whatever was asked; a packet asked
 * for as NEW may be one no connection can start with.
 */
function conntrackOverride(p: Packet): CtOverride | undefined {
  if (p.state === 'NEW') return notNew(p);
  if (p.state === 'ESTABLISHED' || p.state === 'RELATED') return untrackedByConntrack(p);
  return undefined;
}

/** Traces one packet through one node's ruleset. */
export function tracePacket(ruleset: Ruleset, input: Packet, options: TraceOptions = {}): TraceResult {
  let packet = input;
  const compiled = compileRuleset(ruleset);
  const host = options.host ?? assumedHost();
  const maxOutcomes = options.maxOutcomes ?? 1024;
  const warnings = new Set<string>();
  const outcomes: TraceOutcome[] = [];
  const baseAssumptions: string[] = [];
  if (packet.family !== ruleset.family) warnings.add(`packet is ${packet.family} but the ruleset is ${ruleset.family}`);
  if (!host.known) {
    baseAssumptions.push('no host file: only loopback addresses are local, every other destination is routed out of "eth0", forwarding is on');
  }
  for (const a of host.assumptions) baseAssumptions.push(a);
  if (packet.inInterface && host.known && !findInterface(host, packet.inInterface)) {
    warnings.add(`interface ${packet.inInterface} is not in the host file`);
  }
  if (packet.state !== 'NEW' && packet.state !== 'INVALID' && packet.state !== 'UNTRACKED') {
    baseAssumptions.push(`${packet.state} packet: nat chains are not consulted and the connection's NAT bindings are not known, so addresses are shown unchanged`);
  }
  const conntrack = conntrackActive(host, compiled);
  const ct = conntrack ? conntrackOverride(packet) : undefined;
  if (ct) {
    baseAssumptions.push(`state ${packet.state} asked for, but ${ct.why}`);
    packet = { ...packet, state: ct.state };
  }
  const start: PathState = {
    packet,
    host,
    ct,
    conn: {
      // Asked for: untracked before any hook (NOTRACK). Conntrack's own UNTRACKED only holds after the raw table.
      untracked: input.state === 'UNTRACKED',
      dnat: packet.ctStatus.includes('DNAT'),
      snat: packet.ctStatus.includes('SNAT'),
      natDst: false,
      natSrc: false,
      origSrc: packet.src,
      origDst: packet.dst,
      ...(packet.sport !== undefined ? { origSport: packet.sport } : {}),
      ...(packet.dport !== undefined ? { origDport: packet.dport } : {}),
    },
    events: [],
    assumptions: baseAssumptions,
    probability: 1,
    phase: packet.inInterface === null ? 'ROUTE_OUT' : 'PREROUTING',
    tableIdx: 0,
    frames: null,
    loopback: false,
    work: 0,
    entries: 0,
    misses: options.explain ? [] : null,
  };
  const work: PathState[] = [start];
  while (work.length) {
    if (outcomes.length >= maxOutcomes) {
      warnings.add(`stopped after ${maxOutcomes} outcomes; ${work.length} paths not explored`);
      break;
    }
    const s = work.pop()!;
    runPath(s, compiled, work, outcomes, warnings);
  }
  if (options.explain) {
    const filterChains = new Set(compiled.tables.get('filter')?.keys() ?? []);
    const ctx = { filterChains, ...(input.dport !== undefined ? { originalDport: input.dport } : {}), ...(options.node ? { node: options.node } : {}) };
    for (let i = 0; i < outcomes.length; i++) outcomes[i] = { ...outcomes[i]!, explanation: explainOutcome(outcomes[i]!, ctx) };
  }
  // Deterministic order: by probability (unknown last), then by event count.
  outcomes.sort((a, b) => (b.probability ?? -1) - (a.probability ?? -1) || a.events.length - b.events.length);
  return { outcomes, warnings: [...warnings] };
}

function runPath(s: PathState, compiled: CompiledRuleset, work: PathState[], outcomes: TraceOutcome[], warnings: Set<string>): void {
  for (;;) {
    switch (s.phase) {
      case 'PREROUTING':
      case 'INPUT':
      case 'FORWARD':
      case 'OUTPUT':
      case 'POSTROUTING': {
        const hook = s.phase;
        const tables = HOOK_TABLES[s.host.backend ?? 'nft'][hook];
        for (; s.tableIdx < tables.length; s.tableIdx++) {
          const table = tables[s.tableIdx]!;
          if (!compiled.tables.has(table)) continue;
          if (table === 'nat' && !s.frames && !natApplies(s, hook, conntrackActive(s.host, compiled))) continue;
          const end = runTable(s, compiled, table, hook, work, warnings);
          s.frames = null;
          if (table === 'nat') s.conn = isNatManip(hook) === 'dst' ? { ...s.conn, natDst: true } : { ...s.conn, natSrc: true };
          if (end.kind === 'final') return finish(s, outcomes, end);
        }
        s.tableIdx = 0;
        s.phase = hook === 'PREROUTING' ? 'ROUTE_IN' : hook === 'INPUT' ? 'DELIVER' : hook === 'FORWARD' ? 'POSTROUTING' : hook === 'OUTPUT' ? 'REROUTE' : 'EMIT';
        break;
      }
      case 'ROUTE_IN': {
        const p = s.packet;
        if (!s.loopback) forkRouteLocalnet(s, work);
        const bad = s.loopback ? undefined : martian(s.host, p);
        if (bad) return finish(s, outcomes, { verdict: 'DROP', disposition: 'NO_ROUTE', reason: bad });
        // The limited broadcast and the all-hosts group are always for this node.
        const r: RouteDecision | undefined =
          p.family === 'ipv4' && (p.dst.n === 0xffffffff || p.dst.n === 0xe0000001) ? { type: 'broadcast' } : routeFor(s, p.dst);
        if (r && (r.type === 'local' || r.type === 'broadcast')) {
          s.route = r;
          s.phase = 'INPUT';
          break;
        }
        if (isMulticast(p.dst)) {
          return finish(s, outcomes, { verdict: 'DROP', disposition: 'NO_ROUTE', reason: `multicast group ${formatIp(p.dst)} is not joined on ${p.inInterface} and multicast routing is off` });
        }
        if (!r || r.type !== 'unicast') {
          return finish(s, outcomes, { verdict: 'DROP', disposition: 'NO_ROUTE', reason: r ? `${r.type} route to ${formatIp(p.dst)}` : `no route to ${formatIp(p.dst)}` });
        }
        if (!s.host.forwarding[p.family]) {
          return finish(s, outcomes, { verdict: 'DROP', disposition: 'NO_ROUTE', reason: `forwarding (net.${p.family === 'ipv4' ? 'ipv4.ip_forward' : 'ipv6.conf.all.forwarding'}) is off, so ${formatIp(p.dst)} is not routed` });
        }
        if (p.ttl <= 1) {
          return finish(s, outcomes, { verdict: 'DROP', disposition: 'DROPPED', reason: `TTL ${p.ttl} expires in transit (ICMP time exceeded), before the FORWARD hook` });
        }
        s.route = r;
        // ip_forward decrements the TTL before the FORWARD hook.
        s.packet = { ...p, outInterface: r.dev ?? null, ttl: p.ttl - 1 };
        s.phase = 'FORWARD';
        break;
      }
      case 'ROUTE_OUT': {
        const r = routeFor(s, s.packet.dst);
        if (!r || (r.type !== 'unicast' && r.type !== 'local' && r.type !== 'broadcast')) {
          return finish(s, outcomes, { verdict: 'DROP', disposition: 'NO_ROUTE', reason: r ? `${r.type} route to ${formatIp(s.packet.dst)}: the send fails` : `no route to ${formatIp(s.packet.dst)}: the send fails` });
        }
        s.route = r;
        const dev = r.type === 'unicast' ? r.dev ?? null : 'lo';
        s.packet = { ...s.packet, outInterface: dev };
        s.outputDst = s.packet.dst;
        s.phase = 'OUTPUT';
        break;
      }
      case 'REROUTE': {
        if (s.outputDst && s.outputDst.n !== s.packet.dst.n) {
          const r = routeFor(s, s.packet.dst);
          if (!r || (r.type !== 'unicast' && r.type !== 'local')) {
            return finish(s, outcomes, { verdict: 'DROP', disposition: 'NO_ROUTE', reason: `no route to ${formatIp(s.packet.dst)} after DNAT` });
          }
          s.route = r;
          s.packet = { ...s.packet, outInterface: r.type === 'unicast' ? r.dev ?? null : 'lo' };
        }
        s.phase = 'POSTROUTING';
        break;
      }
      case 'EMIT': {
        const r = s.route;
        if (s.packet.inInterface === null && !s.loopback && (r?.type === 'local' || r?.type === 'broadcast')) {
          // A local packet to a local address loops back through lo.
          s.loopback = true;
          s.packet = { ...s.packet, inInterface: 'lo', outInterface: null };
          s.phase = 'PREROUTING';
          s.tableIdx = 0;
          break;
        }
        const nextHop = r?.via ?? s.packet.dst;
        const local = s.packet.inInterface === null;
        return finish(s, outcomes, {
          verdict: 'ACCEPT',
          disposition: local ? 'SENT' : 'FORWARDED',
          reason: `${local ? 'sent' : 'forwarded'} out of ${s.packet.outInterface ?? '?'}${r?.via ? ` via ${formatIp(r.via)}` : ''}`,
          nextHop,
        });
      }
      case 'DELIVER':
        return finish(s, outcomes, { verdict: 'ACCEPT', disposition: 'DELIVERED_LOCAL', reason: `delivered to a local process on ${formatIp(s.packet.dst)}` });
    }
  }
}

/**
 * 127.0.0.0/8 from outside lo is routed only with route_localnet on (kube-proxy
 * sets it on its nodes; the kernel default is off). When the host file does
 * not say, both are explored.
 */
function forkRouteLocalnet(s: PathState, work: PathState[]): void {
  const p = s.packet;
  if (p.family !== 'ipv4' || p.inInterface === 'lo' || p.inInterface === null) return;
  if ((p.dst.n as number) >>> 24 !== 127 && (p.src.n as number) >>> 24 !== 127) return;
  if (routeLocalnetOn(s.host, p.inInterface) !== undefined) return;
  const other = clone(s);
  other.host = { ...s.host, routeLocalnet: { all: true, interfaces: [] } };
  other.probability = null;
  other.assumptions.push(`route_localnet is not known for ${p.inInterface}; this path assumes it is on (as kube-proxy sets it), so 127.0.0.0/8 from ${p.inInterface} is routed`);
  s.host = { ...s.host, routeLocalnet: { all: false, interfaces: [] } };
  s.probability = null;
  s.assumptions.push(`route_localnet is not known for ${p.inInterface}; this path assumes it is off (the kernel default), so 127.0.0.0/8 from ${p.inInterface} is a martian`);
  work.push(other);
}

function routeFor(s: PathState, dst: Ip): RouteDecision | undefined {
  const r = lookupRoute(s.host, dst);
  if (!s.host.known && (!r || r.type !== 'local')) {
    s.assumptions.push(`no host file: ${formatIp(dst)} assumed reachable out of "eth0"`);
    // Routed away, so not an address of this node: addrtype on this path must agree.
    s.host = assumeAddress(s.host, { address: dst, local: false });
    return { type: 'unicast', dev: 'eth0' };
  }
  return r;
}

