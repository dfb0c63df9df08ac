// One iptables table at one hook for a trace path: the chain traversal of
// its built-in chain (jumps, gotos, RETURN, policy), rule by rule.
import type { TableName, Verdict } from '../model.ts';
import type { CompiledChain, CompiledRule, CompiledRuleset } from './compile.ts';
import type { EvalContext, Hook } from '../../pipeline/context.ts';
import { applyExtension, type TargetEffect } from './targets.ts';
import { describeMismatch } from '../../analysis/explain.ts';
import { clone, fork, MAX_DEPTH, MAX_ENTRIES, MAX_WORK, NFT_JUMP_STACK_SIZE, type ChainEnd, type Frame, type PathState } from '../../pipeline/path.ts';
import type { NearMiss, TraceEvent } from '../../pipeline/outcome.ts';

export function runTable(s: PathState, compiled: CompiledRuleset, table: TableName, hook: Hook, work: PathState[], warnings: Set<string>): ChainEnd {
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

function ruleEvent(s: PathState, cr: CompiledRule, chain: CompiledChain, hook: Hook, verdict: string, changes?: readonly string[]): void {
  const event: TraceEvent = {
    table: chain.table,
    chain: chain.chain.name,
    kind: 'rule',
    rule: cr.rule.position,
    text: cr.text,
    verdict,
    hook,
    line: cr.rule.line,
    ...(changes && changes.length ? { changes } : {}),
  };
  s.events.push(chain.backend ? { ...event, backend: chain.backend } : event);
}

function applyPolicy(s: PathState, base: CompiledChain, hook: Hook): ChainEnd {
  const policy = base.chain.policy === 'DROP' ? 'DROP' : 'ACCEPT';
  const event: TraceEvent = { table: base.table, chain: base.chain.name, kind: 'policy', rule: null, text: '', verdict: policy, hook };
  s.events.push(base.backend ? { ...event, backend: base.backend } : event);
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
