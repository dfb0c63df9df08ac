// Running one nft base chain for a packet the way nft_do_chain does: rules
// in order, statements left to right (a failed match breaks the rule),
// jump/goto with a stack, return, the policy at the end of the base chain.
// `accept` ends only this base chain; the pipeline (pipeline/trace.ts) goes on
// with the next base chain of the hook.
import type { Packet } from '../../pipeline/packet.ts';
import { hexMark } from '../../pipeline/packet.ts';
import type { Conn } from '../../pipeline/context.ts';
import { natEffect, parseNatRange, rangeAt, type NatRange } from '../../pipeline/nat.ts';
import { formatIp, parseIp, type Ip } from '../../pipeline/addr.ts';
import { sourceAddressFor, type Route } from '../../pipeline/host.ts';
import type { NftChain, NftExpr, NftRule, NftStmt, NftTable, NftVerdict } from '../model.ts';
import { choose, dataValue, ForkRequest, load, lookupIn, matches, UnknownValue, type NftCtx } from './exprs.ts';
import { verdictOf } from './sets.ts';
import { keyTypes, typeOf, valueKey, valueNumber, type NftValue } from './types.ts';

export interface NftFrame {
  readonly chain: NftChain;
  /** Next rule to run. */
  rule: number;
}

/**
 * What a rule did, for the trace: its verdict as `nft monitor trace` words,
 * and what it changed; or the base chain's policy.
 */
export type NftRunEvent =
  | { readonly kind: 'rule'; readonly rule: NftRule; readonly chain: NftChain; readonly verdict: string; readonly changes: readonly string[] }
  | { readonly kind: 'policy'; readonly chain: NftChain; readonly verdict: 'accept' | 'drop' };

export type NftChainEnd =
  | { readonly kind: 'accept' }
  | { readonly kind: 'drop'; readonly rejected: boolean; readonly reason: string }
  | { readonly kind: 'queue'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string }
  /** A value was not known: fork once per option, then run the same rule again. */
  | { readonly kind: 'fork'; readonly request: ForkRequest };

export interface NftRunState {
  readonly ctx: NftCtx;
  readonly table: NftTable;
  readonly base: NftChain;
  /** The table's chains by name. */
  readonly chains: ReadonlyMap<string, NftChain>;
  frames: NftFrame[];
  /** What happened, in order (the caller turns it into trace events; no callbacks, so no closure per run). */
  readonly events: NftRunEvent[];
  readonly assumptions: string[];
  readonly route?: { readonly via?: Ip; readonly route?: Route } | undefined;
}

const MAX_JUMPS = 16;

type RuleEnd =
  | { kind: 'break' }
  | { kind: 'continue'; changes: string[] }
  | { kind: 'verdict'; verdict: NftVerdict; changes: string[] }
  | { kind: 'terminal'; verdict: 'accept' | 'drop' | 'queue'; rejected?: boolean; changes: string[] };

/** Runs frames until the base chain ends or a fork is needed. */
export function runNftChain(s: NftRunState): NftChainEnd {
  for (let guard = 0; guard < 1_000_000; guard++) {
    const frame = s.frames[s.frames.length - 1];
    if (!frame) return policy(s);
    if (frame.rule >= frame.chain.rules.length) {
      s.frames.pop();
      if (s.frames.length === 0) return policy(s);
      continue;
    }
    const rule = frame.chain.rules[frame.rule]!;
    const ctx = s.ctx;
    const packet = ctx.packet;
    const conn = ctx.conn;
    const host = ctx.host;
    const setAdds = ctx.setAdds;
    const assumed = s.assumptions.length;
    let end: RuleEnd;
    try {
      end = runRule(s, rule);
    } catch (err) {
      if (err instanceof ForkRequest) {
        // Undo what the rule did so far: each branch runs it again with its choice fixed.
        ctx.packet = packet;
        ctx.conn = conn;
        ctx.host = host;
        ctx.setAdds = setAdds;
        s.assumptions.length = assumed;
        return { kind: 'fork', request: err };
      }
      throw err;
    }
    if (ctx.choices.size) ctx.choices.clear();
    frame.rule++;
    switch (end.kind) {
      case 'break':
        continue;
      case 'continue':
        s.events.push({ kind: 'rule', rule, chain: frame.chain, verdict: 'continue', changes: end.changes });
        continue;
      case 'terminal': {
        s.events.push({ kind: 'rule', rule, chain: frame.chain, verdict: end.verdict, changes: end.changes });
        if (end.verdict === 'accept') return ACCEPT;
        if (end.verdict === 'queue') return { kind: 'queue', reason: `queued to userspace by ${where(s, frame.chain, rule)}` };
        return { kind: 'drop', rejected: end.rejected === true, reason: where(s, frame.chain, rule) };
      }
      case 'verdict': {
        const v = end.verdict;
        const word = v.verdict === 'jump' || v.verdict === 'goto' ? `${v.verdict} ${v.target}` : v.verdict;
        s.events.push({ kind: 'rule', rule, chain: frame.chain, verdict: word, changes: end.changes });
        switch (v.verdict) {
          case 'accept':
            return ACCEPT;
          case 'drop':
            return { kind: 'drop', rejected: false, reason: where(s, frame.chain, rule) };
          case 'queue':
            return { kind: 'queue', reason: `queued to userspace by ${where(s, frame.chain, rule)}` };
          case 'continue':
            continue;
          case 'return':
            s.frames.pop();
            if (s.frames.length === 0) return policy(s);
            continue;
          case 'jump':
          case 'goto': {
            const target = 'chain' in v ? v.chain : s.chains.get(v.target);
            if (!target) return { kind: 'unknown', reason: `${where(s, frame.chain, rule)}: chain ${v.target} is not in table ${s.table.family} ${s.table.name}` };
            if (v.verdict === 'jump' && s.frames.length >= MAX_JUMPS) return { kind: 'unknown', reason: `${where(s, frame.chain, rule)}: jumps nest deeper than the kernel's ${MAX_JUMPS} (NFT_JUMP_STACK_SIZE)` };
            const next: NftFrame = { chain: target, rule: 0 };
            if (v.verdict === 'jump') s.frames.push(next);
            else s.frames[s.frames.length - 1] = next;
            continue;
          }
        }
      }
    }
  }
  return { kind: 'unknown', reason: 'evaluation limit reached (loop?)' };
}

const ACCEPT: NftChainEnd = { kind: 'accept' };
const BREAK: RuleEnd = { kind: 'break' };

/** A rule as the trace's reasons name it (built only when a reason needs it). */
function where(s: NftRunState, chain: NftChain, rule: NftRule): string {
  return `${s.table.family} ${s.table.name} ${chain.name} rule ${rule.position}: ${rule.raw}`;
}

function policy(s: NftRunState): NftChainEnd {
  const p = s.base.base?.policy ?? 'accept';
  s.events.push({ kind: 'policy', chain: s.base, verdict: p });
  return p === 'drop' ? { kind: 'drop', rejected: false, reason: `policy drop of ${s.table.family} ${s.table.name} ${s.base.name}` } : ACCEPT;
}

/** Choice keys of a rule's statements (their index), made once. */
const STMT_KEYS = Array.from({ length: 32 }, (_, i) => `${i}`);

/** Runs a rule's statements; throws ForkRequest when a value is not known. */
function runRule(s: NftRunState, rule: NftRule): RuleEnd {
  const changes: string[] = [];
  const ctx = s.ctx;
  for (let i = 0; i < rule.stmts.length; i++) {
    const st = rule.stmts[i]!;
    const key = STMT_KEYS[i] ?? `${i}`;
    switch (st.kind) {
      case 'match': {
        let holds: boolean;
        try {
          holds = matches(ctx, st.op, st.left, st.right, key);
        } catch (err) {
          if (!(err instanceof UnknownValue)) throw err;
          holds = choose(ctx, `${key}?`, [
            { p: null, assumption: `${err.what} is not simulated; this path assumes the match holds` },
            { p: null, assumption: `${err.what} is not simulated; this path assumes the match does not hold` },
          ]) === 0;
        }
        if (!holds) return BREAK;
        continue;
      }
      case 'verdict':
        return { kind: 'verdict', verdict: st, changes };
      case 'vmap': {
        const k = load(ctx, st.key, `${key}.k`);
        if (k === undefined) return BREAK;
        const hit = lookupIn(ctx, st.data, keyTypes(st.key), Array.isArray(k) ? (k as NftValue[]) : [k as NftValue], `${key}.v`);
        const v = hit ? verdictOf(hit) : undefined;
        if (!v) return BREAK;
        return { kind: 'verdict', verdict: v, changes };
      }
      case 'counter':
      case 'log':
        continue;
      case 'limit':
      case 'quota': {
        const what = st.kind === 'limit' ? `limit${st.over ? ' over' : ''} ${st.name ?? `${st.rate}/${st.per}`}` : `quota${st.over ? ' over' : ''} ${st.name ?? st.bytes}`;
        const passes = choose(ctx, key, [
          { p: null, assumption: `${what}: assumed the packet passes (the rate or the bytes so far are not known)` },
          { p: null, assumption: `${what}: assumed the packet does not pass` },
        ]);
        if (passes !== 0) return BREAK;
        continue;
      }
      case 'mangle': {
        const change = mangle(ctx, st.key, st.value, key);
        if (change) changes.push(change);
        continue;
      }
      case 'nat': {
        const effect = nat(s, st, key);
        if (!effect) return BREAK;
        changes.push(...effect);
        return { kind: 'terminal', verdict: 'accept', changes };
      }
      case 'reject':
        // nft adds (and lists without) a dependency: icmp for IPv4, icmpv6 for IPv6, tcp reset for TCP.
        if ((st.type === 'icmp' && ctx.packet.family !== 'ipv4') || (st.type === 'icmpv6' && ctx.packet.family !== 'ipv6') || (st.type === 'tcp reset' && ctx.packet.protocol !== 'tcp')) return BREAK;
        changes.push(`rejected with ${st.type ?? 'icmp'}${st.code ? ` ${st.code}` : ''}`);
        return { kind: 'terminal', verdict: 'drop', rejected: true, changes };
      case 'notrack':
        ctx.conn = { ...ctx.conn, untracked: true };
        changes.push('connection tracking disabled (untracked)');
        continue;
      case 'queue':
        return { kind: 'terminal', verdict: 'queue', changes };
      case 'setUpdate': {
        const k = load(ctx, st.elem.kind === 'elem' ? st.elem.value : st.elem, `${key}.e`);
        if (k === undefined) continue;
        const keyText = (Array.isArray(k) ? (k as NftValue[]) : [k as NftValue]).map(valueKey).join('|');
        const adds = new Map(ctx.setAdds);
        const mine = new Set(adds.get(st.set) ?? []);
        if (st.op === 'delete') mine.delete(keyText);
        else mine.add(keyText);
        adds.set(st.set, mine);
        ctx.setAdds = adds;
        changes.push(`${st.op} @${st.set}`);
        continue;
      }
      case 'ctHelper':
      case 'ctTimeout':
      case 'ctExpectation':
      case 'secmark':
      case 'synproxy':
      case 'flowOffload':
      case 'dup':
        continue;
      case 'fwd':
      case 'xt':
      case 'unknown': {
        const text = st.kind === 'xt' ? `xt ${st.type} ${st.name}` : st.kind === 'unknown' ? st.text : 'fwd';
        const go = choose(ctx, key, [
          { p: null, assumption: `"${text}" is not simulated; this path assumes it lets the rule go on` },
          { p: null, assumption: `"${text}" is not simulated; this path assumes the rule stops there` },
        ]);
        if (go !== 0) return BREAK;
        continue;
      }
    }
  }
  return { kind: 'continue', changes };
}

function mangle(ctx: NftCtx, key: NftExpr, value: NftExpr, choiceKey: string): string | undefined {
  const v = load(ctx, value, `${choiceKey}.m`, typeOf(key) === 'unknown' ? 'integer' : typeOf(key));
  const n = v === undefined || Array.isArray(v) ? undefined : valueNumber(v as NftValue);
  if (n === undefined) return undefined;
  const p = ctx.packet;
  if (key.kind === 'meta' && key.key === 'mark') {
    const mark = Number(n & 0xffffffffn);
    ctx.packet = { ...p, mark };
    return `mark ${hexMark(p.mark)} → ${hexMark(mark)}`;
  }
  if (key.kind === 'ct' && key.key === 'mark') {
    const connmark = Number(n & 0xffffffffn);
    ctx.packet = { ...p, connmark };
    return `ct mark ${hexMark(p.connmark)} → ${hexMark(connmark)}`;
  }
  return undefined;
}

const isStatic = (e: NftExpr | undefined): boolean => e === undefined || e.kind === 'literal' || (e.kind === 'range' && e.from.kind === 'literal' && e.to.kind === 'literal');
/** Ranges of statements written with constants, computed once per statement (and family). Bookkeeping keyed by the statement object. */
const staticRanges = new WeakMap<object, Map<string, NatRange | undefined>>();

/** The NAT range a nat statement asks for, from its address and port expressions (literals, ranges, map lookups). */
function natRange(ctx: NftCtx, st: NftStmt & { kind: 'nat' }, key: string): NatRange | undefined {
  if (!isStatic(st.addr) || !isStatic(st.port)) return computeNatRange(ctx, st, key);
  let byFamily = staticRanges.get(st);
  if (!byFamily) {
    byFamily = new Map();
    staticRanges.set(st, byFamily);
  }
  const family = ctx.packet.family;
  if (!byFamily.has(family)) byFamily.set(family, computeNatRange(ctx, st, key));
  return byFamily.get(family);
}

function computeNatRange(ctx: NftCtx, st: NftStmt & { kind: 'nat' }, key: string): NatRange | undefined {
  const flags = { persistent: st.flags.includes('persistent'), random: st.flags.includes('random') || st.flags.includes('fully-random') };
  const family = ctx.packet.family;
  let addrText: string | undefined;
  let portText: string | undefined;
  const text = (v: NftValue): string => (typeof v === 'string' ? v : typeof v === 'bigint' ? String(v) : formatIp(v));
  if (st.addr) {
    const a = st.addr;
    if (a.kind === 'range' && a.from.kind === 'literal' && a.to.kind === 'literal') addrText = `${a.from.value}-${a.to.value}`;
    else if (a.kind === 'literal') addrText = String(a.value);
    else {
      const v = a.kind === 'map' ? mapData(ctx, a, key) : load(ctx, a, `${key}.a`, family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr');
      if (v === undefined) return undefined;
      if (Array.isArray(v)) {
        // `addr . port` map data.
        addrText = text((v as NftValue[])[0]!);
        portText = (v as NftValue[])[1] !== undefined ? text((v as NftValue[])[1]!) : undefined;
      } else addrText = text(v as NftValue);
    }
  }
  if (st.port) {
    const p = st.port;
    if (p.kind === 'range' && p.from.kind === 'literal' && p.to.kind === 'literal') portText = `${p.from.value}-${p.to.value}`;
    else if (p.kind === 'literal') portText = String(p.value);
    else {
      const v = p.kind === 'map' ? mapData(ctx, p, `${key}.p`) : load(ctx, p, `${key}.p`, 'inet_service');
      if (v === undefined || Array.isArray(v)) return undefined;
      portText = text(v as NftValue);
    }
  }
  if (addrText !== undefined && !parseIp(addrText.split('-')[0]!)) return undefined;
  const spec = addrText === undefined ? portText ?? '' : family === 'ipv6' && portText !== undefined ? `[${addrText}]:${portText}` : portText !== undefined ? `${addrText}:${portText}` : addrText;
  return parseNatRange(spec, family, flags);
}

function mapData(ctx: NftCtx, m: NftExpr & { kind: 'map' }, key: string) {
  const k = load(ctx, m.key, `${key}.k`);
  if (k === undefined) return undefined;
  const hit = lookupIn(ctx, m.data, keyTypes(m.key), Array.isArray(k) ? (k as NftValue[]) : [k as NftValue], `${key}.d`);
  return hit?.data && hit.data.kind !== 'verdict' ? dataValue(hit.data) : undefined;
}

function nat(s: NftRunState, st: NftStmt & { kind: 'nat' }, key: string): string[] | undefined {
  const ctx = s.ctx;
  // `dnat ip to` in an inet table applies to IPv4 only (and `ip6` to IPv6).
  if (st.family && (st.family === 'ip') !== (ctx.packet.family === 'ipv4')) return undefined;
  const range = natRange(ctx, st, key);
  if (!range) return undefined;
  const tctx = { packet: ctx.packet, conn: ctx.conn };
  if (st.type === 'masquerade') {
    const dev = ctx.packet.outInterface;
    const src = dev ? sourceFor(ctx, dev) : undefined;
    const r = src ? rangeAt(range, src) : range;
    const e = natEffect(tctx, 'src', r, 'masquerade', '');
    apply(ctx, e.packet, e.conn, e.assumption, s.assumptions);
    return [src ? `masquerade: source becomes ${formatIp(src)} (address of ${dev})` : `masquerade: ${dev ?? 'the out interface'} has no known address`];
  }
  if (st.type === 'redirect') {
    const dst = ctx.hook === 'OUTPUT' ? parseIp(ctx.packet.family === 'ipv4' ? '127.0.0.1' : '::1') : ctx.packet.inInterface ? ctx.host.interfaces.find((i) => i.name === ctx.packet.inInterface)?.addresses.find((a) => a.ip.family === ctx.packet.family)?.ip : undefined;
    const e = natEffect(tctx, 'dst', dst ? rangeAt(range, dst) : range, 'redirect', '');
    apply(ctx, e.packet, e.conn, e.assumption, s.assumptions);
    return e.changes ? [...e.changes] : [];
  }
  const e = natEffect(tctx, st.type === 'dnat' ? 'dst' : 'src', range, st.type, '');
  apply(ctx, e.packet, e.conn, e.assumption, s.assumptions);
  return e.changes ? [...e.changes] : [];
}

function sourceFor(ctx: NftCtx, dev: string) {
  return sourceAddressFor(ctx.host, dev, ctx.packet.family, ctx.packet.dst);
}

function apply(ctx: NftCtx, packet: Packet | undefined, conn: Conn | undefined, assumption: string | undefined, assumptions: string[]): void {
  if (packet) ctx.packet = packet;
  if (conn) ctx.conn = conn;
  if (assumption) assumptions.push(assumption);
}

