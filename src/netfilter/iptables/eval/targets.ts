// Target semantics for extension targets: what each does to the packet and
// connection, and the verdict the kernel's TRACE reports for it.
import type { ExtOption, TableName, Target } from '../model.ts';
import { formatIp, parseCidr, parseIp, maskOf, type Ip } from '../../pipeline/addr.ts';
import { findInterface, sourceAddressFor, type Host, type RouteDecision } from '../../pipeline/host.ts';
import { hexMark, type Packet } from '../../pipeline/packet.ts';
import type { Conn, Hook } from '../../pipeline/context.ts';
import { DSCP_CLASSES, hasConntrack, setValueOf } from './matches.ts';
import { changeSet } from '../../pipeline/ipset.ts';
import { describeAddr, natEffect, parseNatRange, portNote, type NatRange } from '../../pipeline/nat.ts';

export interface TargetContext {
  readonly packet: Packet;
  readonly conn: Conn;
  readonly host: Host;
  readonly hook: Hook;
  readonly table: TableName;
  readonly route: RouteDecision | undefined;
}

export interface TargetEffect {
  /** What TRACE reports: NAT targets ACCEPT, REJECT DROP, MARK/LOG CONTINUE. */
  readonly verdict: 'CONTINUE' | 'ACCEPT' | 'DROP' | 'QUEUE' | 'UNKNOWN';
  readonly packet?: Packet;
  readonly conn?: Conn;
  readonly changes?: readonly string[];
  readonly assumption?: string;
  readonly rejected?: boolean;
  /** The node after the target, when it changed ipset contents (SET). */
  readonly host?: Host;
  /** What the target does instead when its `assumption` is false (TPROXY without a socket): the trace forks. */
  readonly alternative?: TargetEffect;
}

const arg = (opts: readonly ExtOption[], name: string): string | undefined => opts.find((o) => o.name === name)?.args[0];
const has = (opts: readonly ExtOption[], name: string): boolean => opts.some((o) => o.name === name);

function parseMaskPair(v: string | undefined): [number, number] {
  const [a, b] = (v ?? '0/0').split('/');
  return [Number(a) >>> 0, Number(b ?? '0xffffffff') >>> 0];
}

export function applyExtension(t: Target & { kind: 'extension' }, ctx: TargetContext): TargetEffect {
  const { packet: p, conn } = ctx;
  const o = t.options;
  if (!t.known) return { verdict: 'UNKNOWN', assumption: `target ${t.name} is unknown to packetpath; the trace stops there` };
  switch (t.name) {
    case 'DNAT':
    case 'SNAT': {
      const dst = t.name === 'DNAT';
      const spec = arg(o, dst ? 'to-destination' : 'to-source') ?? '';
      const range = parseNatRange(spec, p.family, natFlags(o));
      return natEffect(ctx, dst ? 'dst' : 'src', range, t.name, spec);
    }
    case 'MASQUERADE': {
      const dev = p.outInterface;
      const src = dev ? sourceAddressFor(ctx.host, dev, p.family, ctx.route?.via ?? p.dst, ctx.route?.route) : undefined;
      const ports = parseNatRange(arg(o, 'to-ports') ?? '', p.family, natFlags(o));
      const range: NatRange = { ...ports, ...(src ? { minIp: src, maxIp: src } : {}) };
      const effect = natEffect(ctx, 'src', range, 'MASQUERADE', arg(o, 'to-ports') ?? '');
      return {
        ...effect,
        changes: [src ? `MASQUERADE: source becomes ${formatIp(src)} (address of ${dev})${portNote(effect.packet!, 'src')}` : `MASQUERADE: source becomes the address of ${dev ?? 'the out interface'}`],
        ...(src ? {} : { assumption: `MASQUERADE: ${dev ?? 'the out interface'} has no known ${p.family} address; source left unchanged` }),
      };
    }
    case 'REDIRECT': {
      let dst: Ip | undefined;
      if (ctx.hook === 'OUTPUT') dst = p.family === 'ipv4' ? parseIp('127.0.0.1') : parseIp('::1');
      else if (p.inInterface) {
        const iface = findInterface(ctx.host, p.inInterface);
        dst = iface?.addresses.find((a) => a.ip.family === p.family)?.ip;
        // nf_nat_redirect_ipv4/6: no address on the in-interface -> NF_DROP (TRACE reports DROP).
        if (!dst && iface && ctx.host.known) return { verdict: 'DROP', changes: [`REDIRECT: ${p.inInterface} has no ${p.family} address; the kernel drops the packet`] };
      }
      const ports = parseNatRange(arg(o, 'to-ports') ?? '', p.family, natFlags(o));
      const effect = natEffect(ctx, 'dst', { ...ports, ...(dst ? { minIp: dst, maxIp: dst } : {}) }, 'REDIRECT', arg(o, 'to-ports') ?? '');
      return {
        ...effect,
        changes: [`REDIRECT to ${describeAddr(effect.packet!.dst, effect.packet!.dport)}`],
        ...(dst ? {} : { assumption: `REDIRECT: no address known on ${p.inInterface}; destination address left unchanged` }),
      };
    }
    case 'NETMAP': {
      const to = parseCidr(arg(o, 'to') ?? '');
      if (!to) return { verdict: 'UNKNOWN', assumption: 'NETMAP without a valid --to' };
      const dstSide = ctx.hook === 'PREROUTING' || ctx.hook === 'OUTPUT';
      const orig = dstSide ? p.dst : p.src;
      const m = maskOf(p.family, to.prefix);
      const mapped: Ip = p.family === 'ipv4'
        ? { family: 'ipv4', n: (((to.ip.n as number) & (m as number)) | ((orig.n as number) & ~(m as number))) >>> 0 }
        : { family: 'ipv6', n: ((to.ip.n as bigint) & (m as bigint)) | ((orig.n as bigint) & ~(m as bigint) & ((1n << 128n) - 1n)) };
      const packet: Packet = dstSide ? { ...p, dst: mapped } : { ...p, src: mapped };
      return { verdict: 'ACCEPT', packet, conn: dstSide ? { ...conn, dnat: true } : { ...conn, snat: true }, changes: [`NETMAP ${dstSide ? 'destination' : 'source'} to ${formatIp(mapped)}`] };
    }
    case 'MARK': {
      const [mark, mask] = parseMaskPair(arg(o, 'set-xmark'));
      const next = ((p.mark & ~mask) ^ mark) >>> 0;
      return { verdict: 'CONTINUE', packet: { ...p, mark: next }, changes: [`mark ${hexMark(p.mark)} → ${hexMark(next)}`] };
    }
    case 'CONNMARK': {
      // xt_connmark: without a conntrack entry (untracked, INVALID, raw table) the target does nothing.
      if (!hasConntrack(ctx)) return { verdict: 'CONTINUE' };
      const nfmask = Number(arg(o, 'nfmask') ?? '0xffffffff') >>> 0;
      const ctmask = Number(arg(o, 'ctmask') ?? '0xffffffff') >>> 0;
      if (has(o, 'save-mark')) {
        const next = ((p.connmark & ~ctmask) ^ (p.mark & nfmask)) >>> 0;
        return { verdict: 'CONTINUE', packet: { ...p, connmark: next }, changes: [`connmark ${hexMark(p.connmark)} → ${hexMark(next)} (saved from mark)`] };
      }
      if (has(o, 'restore-mark')) {
        const next = ((p.mark & ~nfmask) ^ (p.connmark & ctmask)) >>> 0;
        return { verdict: 'CONTINUE', packet: { ...p, mark: next }, changes: [`mark ${hexMark(p.mark)} → ${hexMark(next)} (restored from connmark)`] };
      }
      const [mark, mask] = parseMaskPair(arg(o, 'set-xmark'));
      const next = ((p.connmark & ~mask) ^ mark) >>> 0;
      return { verdict: 'CONTINUE', packet: { ...p, connmark: next }, changes: [`connmark ${hexMark(p.connmark)} → ${hexMark(next)}`] };
    }
    case 'REJECT':
      return { verdict: 'DROP', rejected: true, changes: [`rejected with ${arg(o, 'reject-with') ?? 'icmp-port-unreachable'}`] };
    case 'NOTRACK':
      return { verdict: 'CONTINUE', conn: { ...conn, untracked: true }, changes: ['connection tracking disabled (UNTRACKED)'] };
    case 'CT':
      if (has(o, 'notrack')) return { verdict: 'CONTINUE', conn: { ...conn, untracked: true }, changes: ['connection tracking disabled (UNTRACKED)'] };
      return { verdict: 'CONTINUE' };
    case 'NFQUEUE':
      return { verdict: 'QUEUE', assumption: `NFQUEUE: the packet's fate is decided by a userspace program on queue ${arg(o, 'queue-num') ?? '0'}` };
    case 'TPROXY': {
      // xt_TPROXY: with no socket for the packet (an established one, or a
      // transparent listener on --on-ip/--on-port) the kernel drops it. Sockets are not in any dump.
      const [mark, mask] = parseMaskPair(arg(o, 'tproxy-mark') ?? '0x0/0x0');
      const next = ((p.mark & ~mask) ^ mark) >>> 0;
      const port = arg(o, 'on-port');
      return {
        verdict: 'ACCEPT',
        packet: { ...p, mark: next },
        changes: [`TPROXY to port ${port}; mark → ${hexMark(next)}`],
        assumption: `TPROXY: assumed a transparent socket listens on port ${port} (or the packet belongs to an open one)`,
        alternative: { verdict: 'DROP', changes: [`TPROXY: no socket on port ${port}; the kernel drops the packet`], assumption: `TPROXY: assumed no transparent socket listens on port ${port}, so the kernel drops the packet` },
      };
    }
    case 'TTL':
    case 'HL': {
      const set = arg(o, `${t.name.toLowerCase()}-set`);
      const dec = arg(o, `${t.name.toLowerCase()}-dec`);
      const inc = arg(o, `${t.name.toLowerCase()}-inc`);
      const ttl = set !== undefined ? Number(set) : dec !== undefined ? Math.max(0, p.ttl - Number(dec)) : inc !== undefined ? Math.min(255, p.ttl + Number(inc)) : p.ttl;
      return { verdict: 'CONTINUE', packet: { ...p, ttl }, changes: [`TTL → ${ttl}`] };
    }
    case 'TOS': {
      // iptables-save prints --set-tos value/mask; --and/--or/--xor-tos are its other spellings.
      const and = arg(o, 'and-tos');
      const or = arg(o, 'or-tos');
      const xor = arg(o, 'xor-tos');
      const [v, m] =
        and !== undefined ? [0, ~Number(and) & 0xff] : or !== undefined ? [Number(or), Number(or)] : xor !== undefined ? [Number(xor), 0] : parseMaskPair(arg(o, 'set-tos') ?? '0x0/0x0');
      const tos = ((p.tos & ~m) ^ v) & 0xff;
      return { verdict: 'CONTINUE', packet: { ...p, tos }, changes: [`TOS → ${hexMark(tos)}`] };
    }
    case 'DSCP': {
      const cls = arg(o, 'set-dscp-class');
      const d = cls !== undefined ? DSCP_CLASSES[cls.toUpperCase()] ?? 0 : Number(arg(o, 'set-dscp') ?? '0');
      const tos = ((p.tos & 0x03) | (d << 2)) & 0xff;
      return { verdict: 'CONTINUE', packet: { ...p, tos }, changes: [`DSCP → ${hexMark(d)}`] };
    }
    case 'SET':
      return applySet(o, ctx);
    default:
      // LOG, NFLOG, ULOG, TRACE, AUDIT, CHECKSUM, TCPMSS, CLASSIFY, SECMARK, CONNSECMARK, IDLETIMER, TEE
      return { verdict: 'CONTINUE' };
  }
}

const natFlags = (o: readonly ExtOption[]): { persistent: boolean; random: boolean } => ({
  persistent: has(o, 'persistent'),
  random: has(o, 'random') || has(o, 'random-fully'),
});

/**
 * xt_SET: --add-set/--del-set change the set at once, so a later
 * `-m set --match-set` on the same packet already sees the change.
 */
function applySet(o: readonly ExtOption[], ctx: TargetContext): TargetEffect {
  let sets = ctx.host.ipsets;
  const changes: string[] = [];
  for (const opt of o) {
    if (opt.name !== 'add-set' && opt.name !== 'del-set') continue;
    const [name = '', flags = 'src'] = opt.args;
    const op = opt.name === 'add-set' ? 'add' : 'del';
    const r = changeSet(sets, name, flags.split(',') as ('src' | 'dst')[], setValueOf(ctx.packet), ctx.packet.family, op);
    sets = r.sets;
    changes.push(r.element ? `ipset ${name}: ${op === 'add' ? 'added' : 'deleted'} ${r.element}` : `ipset ${name}: nothing ${op === 'add' ? 'added' : 'deleted'} (element does not fit the set)`);
  }
  const mapSet = o.find((x) => x.name === 'map-set');
  return {
    verdict: 'CONTINUE',
    changes,
    ...(sets !== ctx.host.ipsets ? { host: { ...ctx.host, ipsets: sets } } : {}),
    ...(mapSet ? { assumption: `SET --map-set ${mapSet.args.join(' ')}: the mark, priority or queue it copies from the set is not simulated` } : {}),
  };
}



