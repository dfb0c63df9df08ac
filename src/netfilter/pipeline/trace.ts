// The simulator: walks a packet through netfilter's hooks and tables the way
// the kernel does, forking wherever the outcome depends on chance
// (`statistic`) or on something it cannot know.
import type { Ruleset } from '../iptables/model.ts';
import { formatIp, isMulticast, type Ip } from './addr.ts';
import { assumeAddress, assumedHost, findInterface, lookupRoute, routeLocalnetOn, type Host, type RouteDecision } from './host.ts';
import { packetToJson, type Packet } from './packet.ts';
import { compileRuleset } from '../iptables/eval/compile.ts';
import type { Hook } from './context.ts';
import { notNew, untrackedByConntrack, type CtOverride } from './conntrack.ts';
import { explainOutcome } from '../analysis/explain.ts';
import { compileNftCached } from '../nftables/eval/compile.ts';
import type { ForkRequest } from '../nftables/eval/exprs.ts';
import { runNftEntry } from './nft-entry.ts';
import { entriesOf, pipelineFor, tieWarnings, type Pipeline } from './hooks.ts';
import { listBaseChains } from '../analysis/base-chains.ts';
import { runTable } from '../iptables/eval/chain.ts';
import { clone, type PathState } from './path.ts';
import type { Disposition, FinalVerdict, TraceOptions, TraceOutcome, TraceResult } from './outcome.ts';

export * from './outcome.ts';

/** With iptables-legacy the nat table itself pulls in conntrack; nft ct expressions and nat chains do too. */
function conntrackActive(host: Host, pipe: Pipeline): boolean {
  if (host.conntrack !== undefined) return host.conntrack;
  const { compiled, nft, legacy } = pipe;
  return compiled.conntrack || nft?.conntrack === true || ((host.backend ?? 'nft') === 'legacy' && compiled.tables.has('nat')) || (legacy !== undefined && (legacy.conntrack || legacy.tables.has('nat')));
}

/** A value an nft rule needs is not known: one path per option, each running the rule again with its choice fixed. */
function forkNft(s: PathState, request: ForkRequest, work: PathState[]): void {
  const base = s.probability;
  // Copies first: each option's path starts from the path as it was, not from the first option's.
  const paths = request.options.map((_, i) => (i === 0 ? s : clone(s)));
  for (let i = 0; i < request.options.length; i++) {
    const o = request.options[i]!;
    const t = paths[i]!;
    t.choices.set(request.key, i);
    t.probability = base === null || o.p === null ? null : base * o.p;
    if (o.assumption) t.assumptions.push(o.assumption);
    for (const fact of o.facts ?? []) t.host = assumeAddress(t.host, fact);
    if (i > 0) work.push(t);
  }
}

/** Whether the connection has a mapping for the hook's kind of NAT. */
function natBound(s: PathState, hook: Hook): boolean {
  return isNatManip(hook) === 'dst' ? s.conn.dnat : s.conn.snat;
}

type NftEventSink = Parameters<typeof runNftEntry>[3];

const PASSING = /^(ACCEPT|accept|CONTINUE|continue|RETURN|return|JUMP:|GOTO:|jump |goto )/;

/** Whether the outcome's last event ended the packet (a drop, reject, queue; not routing after an accept). */
export function endsThePacket(o: Pick<TraceOutcome, 'events' | 'verdict' | 'disposition'>): boolean {
  const last = o.events[o.events.length - 1];
  return o.verdict !== 'ACCEPT' && o.disposition !== 'NO_ROUTE' && last !== undefined && !PASSING.test(last.verdict);
}

function isNatManip(hook: Hook): 'dst' | 'src' {
  return hook === 'PREROUTING' || hook === 'OUTPUT' ? 'dst' : 'src';
}

function natApplies(s: PathState, hook: Hook, conntrack: boolean): boolean {
  if (!conntrack || s.conn.untracked || s.packet.state !== 'NEW') return false;
  return isNatManip(hook) === 'dst' ? !s.conn.natDst : !s.conn.natSrc;
}

/** Ends the path: its outcome, as the trace reports it. */
function finish(s: PathState, outcomes: TraceOutcome[], end: { verdict: FinalVerdict; disposition: Disposition; reason: string; nextHop?: Ip }): void {
  // A path that ends in an unknown verdict depends on something the simulator cannot know.
  const probability = end.verdict === 'UNKNOWN' ? null : s.probability;
  const packet = packetToJson(s.packet);
  const assumptions = [...new Set(s.assumptions)];
  // Say why the packet was INVALID or UNTRACKED unless a rule untracked it on this path.
  const reason = s.ct && !s.conn.untracked ? `${end.reason}; ${s.ct.why}` : end.reason;
  const nearMisses = s.misses ?? [];
  // Two literals rather than a spread of an optional part: one outcome per path, in the JSON's field order.
  outcomes.push(
    end.nextHop
      ? { probability, verdict: end.verdict, disposition: end.disposition, packet, events: s.events, assumptions, reason, nextHop: formatIp(end.nextHop), nearMisses, finalPacket: s.packet }
      : { probability, verdict: end.verdict, disposition: end.disposition, packet, events: s.events, assumptions, reason, nearMisses, finalPacket: s.packet },
  );
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

/** The iptables dump's tables for packets of `family` (iptables-nft's own nft tables are these). */
function tableNames(ruleset: Ruleset, family: Packet['family']): Set<string> {
  const names = new Set<string>();
  if (ruleset.family === family) for (const t of ruleset.tables) names.add(t.name);
  return names;
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
  const nft = options.nftables ? compileNftCached(options.nftables, packet.family, tableNames(ruleset, packet.family)) : undefined;
  for (const w of nft?.warnings ?? []) warnings.add(w);
  if (options.legacy && options.legacy.family !== packet.family) warnings.add(`packet is ${packet.family} but the iptables-legacy ruleset is ${options.legacy.family}`);
  const legacy = options.legacy && options.legacy.family === packet.family ? compileRuleset(options.legacy, 'legacy') : undefined;
  const pipe = pipelineFor(compiled, nft, legacy);
  for (const w of tieWarnings(pipe, host.backend ?? 'nft')) warnings.add(w);
  const conntrack = conntrackActive(host, pipe);
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
    nftFrames: null,
    choices: new Map(),
    setAdds: new Map(),
    // Present from the start, so that paths cloned from this one (by spread) set them without V8's slow add-a-field path.
    route: undefined,
    outputDst: undefined,
    pendingEnd: undefined,
  };
  const work: PathState[] = [start];
  while (work.length) {
    if (outcomes.length >= maxOutcomes) {
      warnings.add(`stopped after ${maxOutcomes} outcomes; ${work.length} paths not explored`);
      break;
    }
    const s = work.pop()!;
    runPath(s, pipe, work, outcomes, warnings);
  }
  if (options.explain) {
    const filterChains = new Set(compiled.tables.get('filter')?.keys() ?? []);
    const ctx = { filterChains, ...(input.dport !== undefined ? { originalDport: input.dport } : {}), ...(options.node ? { node: options.node } : {}) };
    const backend = options.host?.backend ?? 'nft';
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i]!;
      const baseChains = listBaseChains(o.events, (hook) => entriesOf(pipe, hook, backend).list, endsThePacket(o));
      outcomes[i] = { ...o, baseChains, explanation: explainOutcome(o, ctx, baseChains) };
    }
  }
  // Deterministic order: by probability (unknown last), then by event count.
  outcomes.sort(byProbabilityThenLength);
  return { outcomes, warnings: [...warnings] };
}

function byProbabilityThenLength(a: TraceOutcome, b: TraceOutcome): number {
  return (b.probability ?? -1) - (a.probability ?? -1) || a.events.length - b.events.length;
}

function runPath(s: PathState, pipe: Pipeline, work: PathState[], outcomes: TraceOutcome[], warnings: Set<string>): void {
  const compiled = pipe.compiled;
  for (;;) {
    switch (s.phase) {
      case 'PREROUTING':
      case 'INPUT':
      case 'FORWARD':
      case 'OUTPUT':
      case 'POSTROUTING': {
        const hook = s.phase;
        const backend = s.host.backend ?? 'nft';
        const { list: entries, nat: hookHasNat } = entriesOf(pipe, hook, backend);
        const conntrack = conntrackActive(s.host, pipe);
        // With more than one owner of nat chains at a hook, the first to bind a mapping ends the hook's NAT.
        const sharedNat = pipe.nft !== undefined || pipe.legacy !== undefined;
        while (s.tableIdx < entries.length) {
          const en = entries[s.tableIdx]!;
          if (en.lang === 'iptables') {
            const table = en.table;
            if (table === 'nat' && !s.frames && !natApplies(s, hook, conntrack)) {
              s.tableIdx++;
              continue;
            }
            const bound = natBound(s, hook);
            const end = runTable(s, en.legacy ? pipe.legacy! : compiled, table, hook, work, warnings);
            s.frames = null;
            // Once a nat chain at a hook binds a mapping, the hook's other nat chains are not consulted.
            if (table === 'nat' && (!sharedNat || natBound(s, hook) !== bound)) s.conn = isNatManip(hook) === 'dst' ? { ...s.conn, natDst: true } : { ...s.conn, natSrc: true };
            if (end.kind === 'final') return finish(s, outcomes, end);
            s.tableIdx++;
            continue;
          }
          if (en.entry.type === 'nat' && !s.nftFrames && !natApplies(s, hook, conntrack)) {
            s.tableIdx++;
            continue;
          }
          const bound = natBound(s, hook);
          const end = runNftEntry(s, en.entry, hook, s.events as NftEventSink);
          if (end.kind === 'fork') {
            forkNft(s, end.request, work);
            continue;
          }
          s.nftFrames = null;
          if (en.entry.type === 'nat' && natBound(s, hook) !== bound) s.conn = isNatManip(hook) === 'dst' ? { ...s.conn, natDst: true } : { ...s.conn, natSrc: true };
          if (end.kind === 'final') return finish(s, outcomes, end);
          s.tableIdx++;
        }
        // The hook's nat chains have all run without a mapping: the kernel binds a null one.
        if (conntrack && sharedNat && hookHasNat) {
          s.conn = isNatManip(hook) === 'dst' ? { ...s.conn, natDst: true } : { ...s.conn, natSrc: true };
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

