// Expression semantics: what each nft expression reads from the packet, its
// connection and the node, and how a match compares. Where the value is not
// known (a random number, a hash, a dynamic set's earlier contents, a node
// without a host file) evaluation asks the caller to fork (ForkRequest); the
// caller re-runs the rule once per option with the choice fixed.
import { formatIp } from '../../pipeline/addr.ts';
import { addressType, isAssumedAddress, lookupRoute, type AddressFact, type Host } from '../../pipeline/host.ts';
import type { Packet } from '../../pipeline/packet.ts';
import type { Conn, Hook } from '../../pipeline/context.ts';
import type { NftExpr, NftMatchOp } from '../model.ts';
import { compileSet, lookup, type CompiledSet } from './sets.ts';
import { BITMASK_TYPES, keyString, keyTypes, literalValue, sameValue, typeOf, valueNumber, type NftType, type NftValue } from './types.ts';

/** What an nft rule sees while it runs; the runner owns it and keeps what statements change. */
export interface NftCtx {
  packet: Packet;
  conn: Conn;
  host: Host;
  readonly hook: Hook;
  /** The base chain's priority: conntrack has run after -200 (NF_IP_PRI_CONNTRACK). */
  readonly priority: number;
  /** Options already chosen for this rule's uncertain values, by choice key. */
  readonly choices: Map<string, number>;
  /** Named sets and maps of the table, compiled. */
  readonly sets: ReadonlyMap<string, { readonly compiled: CompiledSet; readonly dynamic: boolean; readonly isMap: boolean }>;
  /** Elements a set statement added on this path (dynamic sets), by set name: key strings. */
  setAdds: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface ForkOption {
  readonly p: number | null;
  readonly assumption?: string;
  readonly facts?: readonly AddressFact[];
}

/** Thrown when a value is not known: the runner forks the path once per option. */
export class ForkRequest {
  constructor(
    readonly key: string,
    readonly options: readonly ForkOption[],
  ) {}
}

/** Index of the option chosen for `key`, or a ForkRequest. */
export function choose(ctx: NftCtx, key: string, options: readonly ForkOption[]): number {
  const c = ctx.choices.get(key);
  if (c !== undefined) return c;
  throw new ForkRequest(key, options);
}

/** A value, a concatenation of values, or `undefined` when the expression cannot load (the rule breaks). */
export type Loaded = NftValue | readonly NftValue[] | undefined;

const PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite']);

/** conntrack (priority -200) has looked at the packet before this base chain. */
function conntrackRan(ctx: NftCtx): boolean {
  return ctx.priority > -200 || (ctx.hook === 'PREROUTING' && ctx.packet.inInterface === 'lo');
}

function ctStateBits(ctx: NftCtx): bigint {
  const p = ctx.packet;
  if (ctx.conn.untracked || (p.state === 'UNTRACKED' && conntrackRan(ctx))) return 64n;
  if (!conntrackRan(ctx) || p.state === 'INVALID' || p.state === 'UNTRACKED') return 1n;
  return ({ NEW: 8n, ESTABLISHED: 2n, RELATED: 4n } as Record<string, bigint>)[p.state] ?? 1n;
}

function hasEntry(ctx: NftCtx): boolean {
  return conntrackRan(ctx) && !ctx.conn.untracked && ctx.packet.state !== 'INVALID' && ctx.packet.state !== 'UNTRACKED';
}

function payload(p: Packet, protocol: string, field: string): Loaded {
  const v4 = p.family === 'ipv4';
  switch (protocol) {
    case 'ip':
      if (!v4) return undefined;
      if (field === 'saddr') return p.src;
      if (field === 'daddr') return p.dst;
      if (field === 'protocol') return BigInt(p.protoNum);
      if (field === 'ttl') return BigInt(p.ttl);
      if (field === 'dscp') return BigInt(p.tos >> 2);
      if (field === 'length' && p.length !== undefined) return BigInt(p.length);
      return undefined;
    case 'ip6':
      if (v4) return undefined;
      if (field === 'saddr') return p.src;
      if (field === 'daddr') return p.dst;
      if (field === 'nexthdr') return BigInt(p.protoNum);
      if (field === 'hoplimit') return BigInt(p.ttl);
      if (field === 'dscp') return BigInt(p.tos >> 2);
      return undefined;
    case 'th':
      if (!PORT_PROTOCOLS.has(p.protocol)) return undefined;
      return field === 'sport' && p.sport !== undefined ? BigInt(p.sport) : field === 'dport' && p.dport !== undefined ? BigInt(p.dport) : undefined;
    case 'icmp':
    case 'icmpv6':
      if (p.protocol !== (protocol === 'icmp' ? 'icmp' : 'ipv6-icmp')) return undefined;
      if (field === 'type' && p.icmpType !== undefined) return BigInt(p.icmpType);
      if (field === 'code') return BigInt(p.icmpCode ?? 0);
      return undefined;
    default:
      if (PORT_PROTOCOLS.has(protocol)) {
        if (p.protocol !== protocol) return undefined;
        if (field === 'sport') return p.sport !== undefined ? BigInt(p.sport) : undefined;
        if (field === 'dport') return p.dport !== undefined ? BigInt(p.dport) : undefined;
      }
      return undefined;
  }
}

const FIB_TYPE: Readonly<Record<string, bigint>> = { UNICAST: 1n, LOCAL: 2n, BROADCAST: 3n, ANYCAST: 4n, MULTICAST: 5n, BLACKHOLE: 6n, UNREACHABLE: 7n, PROHIBIT: 8n, THROW: 9n, NAT: 10n, XRESOLVE: 11n, UNSPEC: 0n };

function fib(ctx: NftCtx, e: NftExpr & { kind: 'fib' }, key: string): Loaded {
  const p = ctx.packet;
  const addr = e.flags.includes('saddr') ? p.src : p.dst;
  if (e.result === 'type') {
    const dev = e.flags.includes('iif') ? p.inInterface ?? undefined : e.flags.includes('oif') ? p.outInterface ?? undefined : undefined;
    // Without a host file, whether an address is the node's own is a fork, as for iptables' addrtype.
    if (!ctx.host.known && !isAssumedAddress(ctx.host, addr) && addressType(ctx.host, addr) !== 'LOCAL' && addr.family === p.family) {
      const local = choose(ctx, key, [
        { p: null, assumption: `assumed ${formatIp(addr)} is an address of this node (fib type local; no host file)`, facts: [{ address: addr, local: true }] },
        { p: null, assumption: `assumed ${formatIp(addr)} is not an address of this node (no host file)`, facts: [{ address: addr, local: false }] },
      ]);
      return local === 0 ? 2n : 1n;
    }
    return FIB_TYPE[addressType(ctx.host, addr, dev)] ?? 0n;
  }
  // oif / oifname: the route's device (with `iif`: only a route back through the input interface counts).
  const r = lookupRoute(ctx.host, addr);
  const dev = r && (r.type === 'unicast' || r.type === 'local') ? (r.type === 'local' ? 'lo' : r.dev ?? '') : '';
  if (e.flags.includes('iif') && dev !== (p.inInterface ?? '')) return '';
  return dev;
}

/** Loads an expression's value. `hint` types literals inside binops. */
export function load(ctx: NftCtx, e: NftExpr, key: string, hint: NftType = 'unknown'): Loaded {
  const p = ctx.packet;
  switch (e.kind) {
    case 'literal':
      return literalOf(e, hint);
    case 'payload':
      return payload(p, e.protocol, e.field);
    case 'meta':
      switch (e.key) {
        case 'l4proto':
          return BigInt(p.protoNum);
        case 'nfproto':
          return p.family === 'ipv4' ? 2n : 10n;
        case 'protocol':
          return p.family === 'ipv4' ? 0x0800n : 0x86ddn;
        case 'mark':
          return BigInt(p.mark);
        // nft_meta_store_ifname: no device reads as the empty name (index 0), the rule does not break.
        case 'iifname':
        case 'iif':
          return p.inInterface ?? '';
        case 'oifname':
        case 'oif':
          return p.outInterface ?? '';
        case 'skuid':
          return p.inInterface === null && p.uid !== undefined ? BigInt(p.uid) : undefined;
        case 'skgid':
          return p.inInterface === null && p.gid !== undefined ? BigInt(p.gid) : undefined;
        case 'length':
          return p.length !== undefined ? BigInt(p.length) : undefined;
        case 'pkttype': {
          const t = addressType(ctx.host, p.dst);
          return t === 'BROADCAST' ? 1n : t === 'MULTICAST' ? 2n : 0n;
        }
        default:
          return unknownValue(ctx, `meta ${e.key}`, key);
      }
    case 'ct':
      if (e.key === 'state') return ctStateBits(ctx);
      if (!hasEntry(ctx)) return undefined;
      switch (e.key) {
        case 'status':
          return (ctx.conn.dnat ? 32n : 0n) | (ctx.conn.snat ? 16n : 0n) | p.ctStatus.reduce((n, s) => n | (({ EXPECTED: 1n, SEEN_REPLY: 2n, ASSURED: 4n, CONFIRMED: 8n } as Record<string, bigint>)[s] ?? 0n), 0n);
        case 'mark':
          return BigInt(p.connmark);
        case 'direction':
          return 0n;
        case 'saddr':
        case 'ip saddr':
        case 'ip6 saddr':
          return e.dir === 'reply' ? p.dst : ctx.conn.origSrc;
        case 'daddr':
        case 'ip daddr':
        case 'ip6 daddr':
          return e.dir === 'reply' ? p.src : ctx.conn.origDst;
        case 'proto-src':
          return e.dir === 'reply' ? (p.dport !== undefined ? BigInt(p.dport) : undefined) : ctx.conn.origSport !== undefined ? BigInt(ctx.conn.origSport) : undefined;
        case 'proto-dst':
          return e.dir === 'reply' ? (p.sport !== undefined ? BigInt(p.sport) : undefined) : ctx.conn.origDport !== undefined ? BigInt(ctx.conn.origDport) : undefined;
        case 'protocol':
          return BigInt(p.protoNum);
        case 'l3proto':
          return p.family === 'ipv4' ? 2n : 10n;
        default:
          return unknownValue(ctx, `ct ${e.key}`, key);
      }
    case 'fib':
      return fib(ctx, e, key);
    case 'numgen':
    case 'hash':
      // The rule runs again on each branch with the value fixed: the options are only needed to fork.
      return BigInt((ctx.choices.get(key) ?? choose(ctx, key, spreadOptions(e))) + e.offset);
    case 'concat': {
      const out: NftValue[] = [];
      for (let i = 0; i < e.items.length; i++) {
        const v = load(ctx, e.items[i]!, `${key}.${i}`);
        if (v === undefined || Array.isArray(v)) return undefined;
        out.push(v as NftValue);
      }
      return out;
    }
    case 'binop': {
      const type = typeOf(e.left);
      const l = load(ctx, e.left, `${key}.l`, type);
      const r = e.right.kind === 'flags' ? flagsValue(type, e.right.values) : load(ctx, e.right, `${key}.r`, type === 'unknown' ? 'integer' : type);
      const a = l === undefined || Array.isArray(l) ? undefined : valueNumber(l as NftValue);
      const b = r === undefined || Array.isArray(r) ? undefined : valueNumber(r as NftValue);
      if (a === undefined || b === undefined) return undefined;
      switch (e.op) {
        case '&':
          return a & b;
        case '|':
          return a | b;
        case '^':
          return a ^ b;
        case '<<':
          return a << b;
        case '>>':
          return a >> b;
      }
      return undefined;
    }
    case 'flags':
      return flagsValue(hint, e.values);
    case 'set':
      // A set used as a value (`tcp flags & (syn | ack)` written as a list): the OR of its elements.
      if (BITMASK_TYPES.has(hint)) return flagsValue(hint, e.elements.map((x) => (x.key.kind === 'literal' ? String(x.key.value) : '')));
      return unknownValue(ctx, 'a set used as a value', key);
    case 'map': {
      const k = load(ctx, e.key, `${key}.k`);
      if (k === undefined) return undefined;
      const found = lookupIn(ctx, e.data, keyTypes(e.key), Array.isArray(k) ? (k as NftValue[]) : [k as NftValue], `${key}.m`);
      if (!found || !found.data || found.data.kind === 'verdict') return undefined;
      return dataValue(found.data);
    }
    default:
      return unknownValue(ctx, describe(e), key);
  }
}

/** One option per value of a numgen or hash expression, made once per expression. */
const spreadCache = new WeakMap<object, readonly ForkOption[]>();
function spreadOptions(e: NftExpr & { kind: 'numgen' | 'hash' }): readonly ForkOption[] {
  let options = spreadCache.get(e);
  if (!options) {
    options = Array.from({ length: e.mod }, (_, i): ForkOption => {
      if (e.kind === 'hash') return { p: 1 / e.mod, assumption: `${e.fn} mod ${e.mod} of this packet is ${i + e.offset} (the hash seed is chosen when the rule is loaded, so every value is as likely)` };
      return e.mode === 'random' ? { p: 1 / e.mod } : { p: null, assumption: `numgen inc mod ${e.mod} is at ${i} for this packet (it counts packets; the count so far is not known)` };
    });
    spreadCache.set(e, options);
  }
  return options;
}

function flagsValue(type: NftType, names: readonly string[]): bigint | undefined {
  let n = 0n;
  for (const name of names) {
    const v = literalValue(type, name);
    const b = v === undefined ? undefined : valueNumber(v);
    if (b === undefined) return undefined;
    n |= b;
  }
  return n;
}

/** Map data as a value (`ip addr . port` data is a concatenation). */
export function dataValue(e: NftExpr): Loaded {
  if (e.kind === 'concat') {
    const out: NftValue[] = [];
    for (const x of e.items) {
      if (x.kind !== 'literal') return undefined;
      const v = literalOf(x, 'unknown');
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  }
  if (e.kind === 'literal') return literalOf(e, 'unknown');
  if (e.kind === 'prefix' && e.addr.kind === 'literal') return literalOf(e.addr, 'unknown');
  return undefined;
}

/**
 * Literals read as values once per expression and type, not once per packet
 * (an address literal goes through ipaddr.js). Bookkeeping keyed by the
 * readonly expression object, like the iptables matchers' compilation.
 */
const literals = new WeakMap<object, Map<NftType, NftValue | undefined>>();

function literalOf(e: NftExpr & { kind: 'literal' }, type: NftType): NftValue | undefined {
  let byType = literals.get(e);
  if (!byType) literals.set(e, (byType = new Map()));
  let v = byType.get(type);
  if (v === undefined && !byType.has(type)) byType.set(type, (v = literalValue(type, e.value)));
  return v;
}

function unknownValue(_ctx: NftCtx, what: string, key: string): Loaded {
  // A value packetpath cannot read: the match that uses it is explored both ways (see compareOrFork).
  throw new UnknownValue(what, key);
}

/** A value packetpath does not model; the match using it forks into holds / does not hold. */
export class UnknownValue {
  constructor(
    readonly what: string,
    readonly key: string,
  ) {}
}

function describe(e: NftExpr): string {
  switch (e.kind) {
    case 'rt':
      return `rt ${e.key}`;
    case 'exthdr':
      return `exthdr ${e.name}`;
    case 'tcpOption':
      return `tcp option ${e.name}`;
    case 'socket':
      return `socket ${e.key}`;
    case 'osf':
      return 'osf';
    case 'ipsec':
      return `ipsec ${e.key}`;
    case 'rawPayload':
      return `@${e.base},${e.offset},${e.len}`;
    case 'unknown':
      return e.text;
    default:
      return e.kind;
  }
}

/**
 * A set or map reference (`@name`) or an anonymous set, looked up with the key.
 * Dynamic sets (filled from the packet path, e.g. kube-proxy's affinity sets)
 * hold what earlier packets put there: not known, so a miss forks.
 */
export function lookupIn(ctx: NftCtx, setExpr: NftExpr, types: readonly NftType[], key: readonly NftValue[], choiceKey: string) {
  if (setExpr.kind === 'setRef') {
    const s = ctx.sets.get(setExpr.name);
    if (!s) {
      const held = choose(ctx, choiceKey, [
        { p: null, assumption: `set @${setExpr.name} is not in the ruleset; assumed to hold the key` },
        { p: null, assumption: `set @${setExpr.name} is not in the ruleset; assumed not to hold the key` },
      ]);
      return held === 0 ? { key: { kind: 'literal' as const, value: '' } } : undefined;
    }
    const hit = lookup(s.compiled, key);
    if (hit) return hit;
    if (ctx.setAdds.get(setExpr.name)?.has(keyString(key))) return { key: { kind: 'literal' as const, value: '' } };
    if (s.dynamic) {
      const held = choose(ctx, choiceKey, [
        { p: null, assumption: `@${setExpr.name} is filled by earlier packets; assumed it holds this key (e.g. a recent connection of the same client)` },
        { p: null, assumption: `@${setExpr.name} is filled by earlier packets; assumed it does not hold this key` },
      ]);
      return held === 0 ? { key: { kind: 'literal' as const, value: '' } } : undefined;
    }
    return undefined;
  }
  if (setExpr.kind === 'set') return lookup(compileAnon(setExpr, types), key);
  return undefined;
}

const anonCache = new WeakMap<object, CompiledSet>();
function compileAnon(e: NftExpr & { kind: 'set' }, types: readonly NftType[]): CompiledSet {
  // Anonymous sets are compiled on first use and kept with the expression object (bookkeeping, like a memo).
  let c = anonCache.get(e);
  if (!c) {
    c = compileSet(e.elements, types);
    anonCache.set(e, c);
  }
  return c;
}

/** A prefix, range or concatenation on a match's right side: a one-element set, compiled on first use and kept with the expression. */
const oneCache = new WeakMap<object, CompiledSet>();
function compileOne(right: NftExpr, types: readonly NftType[]): CompiledSet {
  let c = oneCache.get(right);
  if (!c || c.types !== types) {
    c = compileSet([{ key: right }], types);
    oneCache.set(right, c);
  }
  return c;
}

/** Evaluates `left op right`: true, false, or a fork for values not known. */
export function matches(ctx: NftCtx, op: NftMatchOp, left: NftExpr, right: NftExpr, key: string): boolean {
  const types = keyTypes(left);
  const type = types.length === 1 ? types[0]! : 'unknown';
  const l = load(ctx, left, `${key}.L`, type);
  // A value that cannot load (a port of an ICMP packet, ip saddr of an IPv6 one) breaks the rule, whatever the operator.
  if (l === undefined) return false;
  const lv: readonly NftValue[] = Array.isArray(l) ? (l as NftValue[]) : [l as NftValue];
  if (right.kind === 'setRef' || right.kind === 'set') {
    const found = lookupIn(ctx, right, types, lv, `${key}.S`) !== undefined;
    if (op === 'in' && BITMASK_TYPES.has(type) && right.kind === 'set') return bitsAny(lv[0]!, flagsValue(type, right.elements.map((x) => (x.key.kind === 'literal' ? String(x.key.value) : ''))));
    return op === '!=' ? !found : found;
  }
  let holds: boolean;
  if (right.kind === 'prefix' || right.kind === 'range' || right.kind === 'concat') {
    holds = lookup(compileOne(right, types), lv) !== undefined;
  } else {
    const r = right.kind === 'flags' ? flagsValue(type, right.values) : load(ctx, right, `${key}.R`, type);
    // A name where an address belongs: nft resolved it at load time, to addresses no dump shows (checks.ts).
    if (r === undefined && right.kind === 'literal' && (type === 'ipv4_addr' || type === 'ipv6_addr')) throw new UnknownValue(`the address of the name "${String(right.value).replace(/^"|"$/g, '')}" (resolved by nft when the ruleset was loaded)`, key);
    if (r === undefined || Array.isArray(r)) return false;
    const rv = r as NftValue;
    if ((op === 'in' || op === 'implicit') && BITMASK_TYPES.has(type)) return bitsAny(lv[0]!, valueNumber(rv));
    if (type === 'ifname' && typeof rv === 'string' && rv.endsWith('*')) holds = typeof lv[0] === 'string' && (lv[0] as string).startsWith(rv.slice(0, -1));
    else if (op === '<' || op === '>' || op === '<=' || op === '>=') {
      const a = valueNumber(lv[0]!);
      const b = valueNumber(rv);
      if (a === undefined || b === undefined) return false;
      return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
    } else holds = sameValue(lv[0]!, rv);
  }
  return op === '!=' ? !holds : holds;
}

function bitsAny(v: NftValue, mask: bigint | undefined): boolean {
  const n = valueNumber(v);
  return n !== undefined && mask !== undefined && (n & mask) !== 0n;
}

