// Match semantics: each typed match compiles once into a function of the
// packet. Undecidable matches return an Uncertain and the trace forks.
import type { ExtOption, Family, Match } from '../model.ts';
import { addressType, isAssumedAddress, lookupRoute, type AddrType } from '../../pipeline/host.ts';
import { cidrContains, formatIp, isMulticast, parseCidr, parseIp, type Ip } from '../../pipeline/addr.ts';
import { lookupSet, type SetValueOf } from '../../pipeline/ipset.ts';
import { tcpFlagBits } from '../syntax/values.ts';
import { hexMark, type Packet } from '../../pipeline/packet.ts';
import type { EvalContext, Matcher, MatchResult, Uncertain } from '../../pipeline/context.ts';

const TRUE: Matcher = () => 1;
const unknown = (why: string): Uncertain => ({ p: null, why, yes: `assumed ${why} holds`, no: `assumed ${why} does not hold` });

const not = (r: MatchResult, negated: boolean): MatchResult => {
  if (!negated) return r;
  if (r === 0) return 1;
  if (r === 1) return 0;
  return { p: r.p === null ? null : 1 - r.p, why: `! ${r.why}`, yes: r.no, no: r.yes, ...(r.noFacts ? { yesFacts: r.noFacts } : {}), ...(r.yesFacts ? { noFacts: r.yesFacts } : {}) };
};

const bool = (b: boolean): 0 | 1 => (b ? 1 : 0);

/** All options of a module must hold. */
function allOf(tests: Matcher[]): Matcher {
  if (tests.length === 0) return TRUE;
  if (tests.length === 1) return tests[0]!;
  return (ctx) => {
    const pending: Uncertain[] = [];
    for (const t of tests) {
      const r = t(ctx);
      if (r === 0) return 0;
      if (r !== 1) pending.push(r);
    }
    return combine(pending);
  };
}

export function combine(pending: Uncertain[]): MatchResult {
  if (pending.length === 0) return 1;
  if (pending.length === 1) return pending[0]!;
  const p = pending.every((u) => u.p !== null) ? pending.reduce((acc, u) => acc * u.p!, 1) : null;
  // Where all hold, every branch's facts hold; where not all do, which one failed is not known.
  const yesFacts = pending.flatMap((u) => u.yesFacts ?? []);
  return { p, why: pending.map((u) => u.why).join(' and '), yes: pending.map((u) => u.yes).join('; '), no: `not all of: ${pending.map((u) => u.why).join(', ')}`, ...(yesFacts.length ? { yesFacts } : {}) };
}

function parseRange(text: string, sep = ':'): [number, number] {
  const [a, b] = text.split(sep);
  const lo = Number(a);
  return [lo, b === undefined ? lo : Number(b)];
}

const inRange = (v: number, [lo, hi]: [number, number]): boolean => v >= lo && v <= hi;

function portTest(which: 'sport' | 'dport', ranges: [number, number][], negated: boolean): Matcher {
  return (ctx) => {
    const v = ctx.packet[which];
    if (v === undefined) return not(unknown(`${which === 'sport' ? 'source' : 'destination'} port in ${ranges.map((r) => (r[0] === r[1] ? r[0] : r.join(':'))).join(',')}`), negated);
    return not(bool(ranges.some((r) => inRange(v, r))), negated);
  };
}

function ifaceMatches(pattern: string, name: string | null): boolean {
  if (name === null) return false;
  if (pattern.endsWith('+')) return name.startsWith(pattern.slice(0, -1));
  return name === pattern;
}

function maskTest(value: string): (v: number) => boolean {
  const [a, m] = value.split('/');
  const val = Number(a);
  const mask = m === undefined ? 0xffffffff : Number(m);
  return (v) => ((v & mask) >>> 0) === ((val & mask) >>> 0);
}

const CT_STATE_NAMES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];

/**
 * Whether the packet has a conntrack entry where the match runs. Untracked and
 * INVALID packets have none, and neither has any packet in the raw table, which
 * runs before conntrack (priority -300 < -200) - except a packet looped back
 * through lo, which keeps the entry it got on output.
 */
export function hasConntrack(ctx: CtView): boolean {
  if (ctx.conn.untracked || ctx.packet.state === 'INVALID' || ctx.packet.state === 'UNTRACKED') return false;
  return conntrackHasRun(ctx);
}

type CtView = { readonly packet: EvalContext['packet']; readonly conn: EvalContext['conn']; readonly table: EvalContext['table']; readonly hook: EvalContext['hook'] };

const conntrackHasRun = (ctx: CtView): boolean => ctx.table !== 'raw' || (ctx.hook === 'PREROUTING' && ctx.packet.inInterface === 'lo');

/** The states `-m conntrack --ctstate` sees where the match runs. */
export function ctStates(ctx: EvalContext): Set<string> {
  const s = new Set<string>();
  if (ctx.conn.untracked) return new Set(['UNTRACKED']);
  // A packet conntrack itself leaves untracked (ICMPv6 neighbour discovery) has no state yet in raw.
  if (ctx.packet.state === 'UNTRACKED' && conntrackHasRun(ctx)) return new Set(['UNTRACKED']);
  if (!hasConntrack(ctx)) return new Set(['INVALID']);
  s.add(ctx.packet.state);
  if (ctx.conn.dnat) s.add('DNAT');
  if (ctx.conn.snat) s.add('SNAT');
  return s;
}

/** libxt_dscp_helper's class names (iptables-save prints the value: --dscp / --set-dscp). */
export const DSCP_CLASSES: Readonly<Record<string, number>> = {
  CS0: 0x00, CS1: 0x08, CS2: 0x10, CS3: 0x18, CS4: 0x20, CS5: 0x28, CS6: 0x30, CS7: 0x38, BE: 0x00, EF: 0x2e,
  AF11: 0x0a, AF12: 0x0c, AF13: 0x0e, AF21: 0x12, AF22: 0x14, AF23: 0x16, AF31: 0x1a, AF32: 0x1c, AF33: 0x1e, AF41: 0x22, AF42: 0x24, AF43: 0x26,
};

type ModuleCompiler = (opts: readonly ExtOption[], family: Family, m: Match & { kind: 'module' }) => Matcher;

/** Compiles one option at a time; unknown options make the match undecidable. */
function perOption(fn: (o: ExtOption, family: Family) => Matcher | undefined): ModuleCompiler {
  return (opts, family, m) =>
    allOf(opts.map((o) => (o.known ? fn(o, family) : undefined) ?? (() => unknown(`${m.module} --${o.name} ${o.args.join(' ')}`.trim()))));
}

const undecidable =
  (why: (m: Match & { kind: 'module' }) => string): ModuleCompiler =>
  (_opts, _family, m) => {
    const u = unknown(why(m));
    return () => u;
  };

const describe = (m: Match & { kind: 'module' }): string => `-m ${m.module}${m.options.map((o) => `${o.negated ? ' !' : ''} --${o.name} ${o.args.join(' ')}`.trimEnd()).join('')}`;

function addrTypeTest(dir: 'src' | 'dst', types: string[], negated: boolean, limitIn: boolean, limitOut: boolean): Matcher {
  return (ctx) => {
    const ip = dir === 'src' ? ctx.packet.src : ctx.packet.dst;
    const dev = limitIn ? ctx.packet.inInterface ?? undefined : limitOut ? ctx.packet.outInterface ?? undefined : undefined;
    const t: AddrType = addressType(ctx.host, ip, dev);
    const holds = types.includes(t);
    if (!ctx.host.known && types.includes('LOCAL') && ip.family === 'ipv4' && ip.n >>> 24 !== 127 && !isAssumedAddress(ctx.host, ip)) {
      const local = { p: null, why: `${dir} address type is LOCAL (no host file)`, yes: `assumed ${dir} address ${formatIp(ip)} is local to the node`, no: `assumed ${dir} address ${formatIp(ip)} is not local to the node` };
      return not({ ...local, yesFacts: [{ address: ip, local: true }], noFacts: [{ address: ip, local: false }] }, negated);
    }
    return not(bool(holds), negated);
  };
}

const MODULES: Record<string, ModuleCompiler> = {
  tcp: perOption((o) => {
    if (o.name === 'sport' || o.name === 'dport') return portTest(o.name, [parseRange(o.args[0]!)], o.negated);
    if (o.name === 'tcp-flags') {
      const mask = tcpFlagBits(o.args[0]!);
      const cmp = tcpFlagBits(o.args[1]!);
      return (ctx) => not(ctx.packet.tcpFlags === undefined ? unknown('tcp flags') : bool((ctx.packet.tcpFlags & mask) === cmp), o.negated);
    }
    return undefined;
  }),
  udp: perOption((o) => (o.name === 'sport' || o.name === 'dport' ? portTest(o.name, [parseRange(o.args[0]!)], o.negated) : undefined)),
  udplite: perOption((o) => (o.name === 'sport' || o.name === 'dport' ? portTest(o.name, [parseRange(o.args[0]!)], o.negated) : undefined)),
  sctp: perOption((o) => (o.name === 'sport' || o.name === 'dport' ? portTest(o.name, [parseRange(o.args[0]!)], o.negated) : undefined)),
  dccp: perOption((o) => (o.name === 'sport' || o.name === 'dport' ? portTest(o.name, [parseRange(o.args[0]!)], o.negated) : undefined)),
  multiport: perOption((o) => {
    const ranges = o.args[0]!.split(',').map((x) => parseRange(x));
    if (o.name === 'sports') return portTest('sport', ranges, o.negated);
    if (o.name === 'dports') return portTest('dport', ranges, o.negated);
    if (o.name === 'ports') {
      const s = portTest('sport', ranges, false);
      const d = portTest('dport', ranges, false);
      return (ctx) => {
        const a = s(ctx);
        const b = d(ctx);
        const r: MatchResult = a === 1 || b === 1 ? 1 : a === 0 && b === 0 ? 0 : unknown('port in list');
        return not(r, o.negated);
      };
    }
    return undefined;
  }),
  icmp: perOption((o) => {
    if (o.name !== 'icmp-type') return undefined;
    const v = o.args[0]!;
    if (v === 'any') return () => not(1, o.negated);
    const [t, c] = v.split('/').map(Number);
    return (ctx) => not(bool(ctx.packet.icmpType === t && (c === undefined || (ctx.packet.icmpCode ?? 0) === c)), o.negated);
  }),
  icmp6: perOption((o) => {
    if (o.name !== 'icmpv6-type') return undefined;
    const [t, c] = o.args[0]!.split('/').map(Number);
    return (ctx) => not(bool(ctx.packet.icmpType === t && (c === undefined || (ctx.packet.icmpCode ?? 0) === c)), o.negated);
  }),
  comment: () => TRUE,
  nfacct: () => TRUE,
  state: perOption((o) => {
    const wanted = o.args[0]!.split(',');
    return (ctx) => {
      const s = ctStates(ctx);
      return not(bool(wanted.some((w) => s.has(w))), o.negated);
    };
  }),
  conntrack: perOption((o) => {
    switch (o.name) {
      case 'ctstate': {
        const wanted = o.args[0]!.split(',').filter((w) => CT_STATE_NAMES.includes(w));
        return (ctx) => {
          const s = ctStates(ctx);
          return not(bool(wanted.some((w) => s.has(w))), o.negated);
        };
      }
      case 'ctproto':
        return (ctx) => (!hasConntrack(ctx) ? 0 : not(bool(ctx.packet.protocol === o.args[0] || String(ctx.packet.protoNum) === o.args[0]), o.negated));
      case 'ctorigsrc':
      case 'ctorigdst':
      case 'ctreplsrc':
      case 'ctrepldst': {
        const c = parseCidr(o.args[0]!);
        return (ctx) => {
          if (!hasConntrack(ctx)) return 0;
          if (!c) return not(0, o.negated);
          // Reply tuple: its source is where the packet really goes, its destination who really sent it.
          const ip = o.name === 'ctorigsrc' ? ctx.conn.origSrc : o.name === 'ctorigdst' ? ctx.conn.origDst : o.name === 'ctreplsrc' ? ctx.packet.dst : ctx.packet.src;
          return not(bool(cidrContains(c, ip)), o.negated);
        };
      }
      case 'ctorigsrcport':
      case 'ctorigdstport':
      case 'ctreplsrcport':
      case 'ctrepldstport': {
        const r = parseRange(o.args[0]!);
        return (ctx) => {
          if (!hasConntrack(ctx)) return 0;
          const v = o.name === 'ctorigsrcport' ? ctx.conn.origSport : o.name === 'ctorigdstport' ? ctx.conn.origDport : o.name === 'ctreplsrcport' ? ctx.packet.dport : ctx.packet.sport;
          return not(v === undefined ? unknown(`conntrack ${o.name}`) : bool(inRange(v, r)), o.negated);
        };
      }
      case 'ctstatus': {
        const wanted = o.args[0]!.split(',');
        return (ctx) => (!hasConntrack(ctx) ? 0 : not(bool(wanted.some((w) => ctx.packet.ctStatus.includes(w))), o.negated));
      }
      case 'ctdir':
        return (ctx) => (!hasConntrack(ctx) ? 0 : ctx.packet.state === 'NEW' ? bool(o.args[0] === 'ORIGINAL') : unknown(`conntrack direction is ${o.args[0]}`));
      default:
        return undefined;
    }
  }),
  mark: perOption((o) => {
    const t = maskTest(o.args[0]!);
    return (ctx) => not(bool(t(ctx.packet.mark)), o.negated);
  }),
  connmark: perOption((o) => {
    const t = maskTest(o.args[0]!);
    return (ctx) => (!hasConntrack(ctx) ? 0 : not(bool(t(ctx.packet.connmark)), o.negated));
  }),
  addrtype: (opts) => {
    const limitIn = opts.some((o) => o.name === 'limit-iface-in');
    const limitOut = opts.some((o) => o.name === 'limit-iface-out');
    return allOf(
      opts
        .filter((o) => o.name === 'src-type' || o.name === 'dst-type' || !o.known)
        .map((o) => (o.known ? addrTypeTest(o.name === 'src-type' ? 'src' : 'dst', o.args[0]!.split(','), o.negated, limitIn, limitOut) : () => unknown(`addrtype --${o.name}`))),
    );
  },
  statistic: (opts) => {
    const mode = opts.find((o) => o.name === 'mode')?.args[0];
    const prob = opts.find((o) => o.name === 'probability');
    const every = opts.find((o) => o.name === 'every');
    let u: Uncertain;
    let negated = false;
    if (mode === 'random' && prob) {
      const p = Math.round(Number(prob.args[0]) * 0x80000000) / 0x80000000;
      u = { p, why: `statistic random ${prob.args[0]}`, yes: `statistic random branch taken (p=${prob.args[0]})`, no: `statistic random branch not taken (p=${(1 - p).toFixed(11)})` };
      negated = prob.negated;
    } else if (mode === 'nth' && every) {
      const n = Number(every.args[0]);
      const packet = opts.find((o) => o.name === 'packet')?.args[0] ?? '0';
      u = { p: 1 / n, why: `statistic nth every ${n} packet ${packet}`, yes: `this is packet ${packet} of every ${n} (p=1/${n})`, no: `this is not packet ${packet} of every ${n}` };
      negated = every.negated;
    } else {
      u = unknown('statistic with unknown mode');
    }
    return () => not(u, negated);
  },
  iprange: perOption((o) => {
    const [lo, hi] = o.args[0]!.split('-').map((x) => parseIp(x));
    if (!lo || !hi) return undefined;
    return (ctx) => {
      const ip = o.name === 'src-range' ? ctx.packet.src : ctx.packet.dst;
      return not(bool(ip.family === lo.family && ip.n >= lo.n && ip.n <= hi.n), o.negated);
    };
  }),
  set: (opts) =>
    allOf(
      opts.map((o): Matcher => {
        if (o.name !== 'match-set' || !o.known) {
          if (o.name === 'return-nomatch' || o.name === 'update-counters' || o.name === 'update-subcounters') return TRUE;
          return () => unknown(`set --${o.name}`);
        }
        const [name, flags] = o.args as [string, string];
        const sides = flags.split(',') as ('src' | 'dst')[];
        return (ctx) => {
          const set = ctx.host.ipsets.get(name);
          const answer = set ? lookupSet(ctx.host.ipsets, set, sides, setValueOf(ctx.packet), ctx.packet.family) : undefined;
          if (answer === undefined) {
            const why = set?.partial ? 'set contents only partly known' : set ? 'a dimension packetpath cannot read from the packet' : 'set contents unknown';
            return not({ p: null, why: `ipset ${name} contains the packet's ${flags}`, yes: `assumed ipset ${name} contains the packet's ${flags} (${why})`, no: `assumed ipset ${name} does not contain the packet's ${flags} (${why})` }, o.negated);
          }
          return not(bool(answer), o.negated);
        };
      }),
    ),
  physdev: perOption((o) => {
    // Only bridged frames carry physdev information; a routed packet has none.
    if (o.name === 'physdev-is-bridged' || o.name === 'physdev-is-in' || o.name === 'physdev-is-out' || o.name === 'physdev-in' || o.name === 'physdev-out') {
      return () => not({ p: null, why: `packet is bridged (${o.name})`, yes: `assumed the packet crossed a bridge port (${o.name})`, no: `assumed the packet did not cross a bridge (no ${o.name})` }, o.negated);
    }
    return undefined;
  }),
  pkttype: perOption((o) => (ctx) => {
    const t = isMulticast(ctx.packet.dst) ? 'multicast' : addressType(ctx.host, ctx.packet.dst) === 'BROADCAST' ? 'broadcast' : ctx.hook === 'OUTPUT' || ctx.hook === 'POSTROUTING' ? 'outgoing' : 'host';
    // libxt_pkttype aliases (iptables-save prints the first name): host = unicast, bcast = broadcast, mcast = multicast.
    const want = ({ host: 'unicast', bcast: 'broadcast', mcast: 'multicast' } as Record<string, string>)[o.args[0]!] ?? o.args[0]!;
    const holds = want === 'unicast' ? t === 'host' || t === 'outgoing' : want === t;
    return not(bool(holds), o.negated);
  }),
  rpfilter: (opts) => {
    if (opts.some((o) => !o.known || o.name === 'validmark')) return () => unknown('rpfilter');
    const loose = opts.some((o) => o.name === 'loose');
    const invert = opts.some((o) => o.name === 'invert');
    const acceptLocal = opts.some((o) => o.name === 'accept-local');
    return (ctx) => {
      // rpfilter_is_loopback(): packets on lo always pass.
      if (ctx.packet.inInterface === null || ctx.packet.inInterface === 'lo') return bool(!invert);
      const r = lookupRoute(ctx.host, ctx.packet.src);
      let ok = !!r && (r.type === 'unicast' || (acceptLocal && r.type === 'local'));
      if (ok && !loose) ok = r!.dev === ctx.packet.inInterface;
      return bool(invert ? !ok : ok);
    };
  },
  policy: (opts) => {
    const pol = opts.find((o) => o.name === 'pol')?.args[0];
    if (opts.some((o) => !o.known)) return () => unknown(describe({ kind: 'module', module: 'policy', options: opts, known: true }));
    // Packets here carry no IPsec state: `--pol none` holds, `--pol ipsec` does not.
    return () => bool(pol === 'none');
  },
  length: perOption((o) => {
    const r = parseRange(o.args[0]!);
    return (ctx) => not(ctx.packet.length === undefined ? unknown(`packet length in ${o.args[0]}`) : bool(inRange(ctx.packet.length, r)), o.negated);
  }),
  tos: perOption((o) => {
    const t = maskTest(o.args[0]!);
    return (ctx) => not(bool(t(ctx.packet.tos)), o.negated);
  }),
  dscp: perOption((o) => {
    // iptables-save prints --dscp-class as --dscp <value>; accept both.
    const want = o.name === 'dscp' ? Number(o.args[0]) : o.name === 'dscp-class' ? DSCP_CLASSES[(o.args[0] ?? '').toUpperCase()] : undefined;
    return want === undefined ? undefined : (ctx) => not(bool(ctx.packet.tos >> 2 === want), o.negated);
  }),
  ttl: perOption((o) => {
    const n = Number(o.args[0]);
    if (o.name === 'ttl-eq') return (ctx) => not(bool(ctx.packet.ttl === n), o.negated);
    if (o.name === 'ttl-lt') return (ctx) => bool(ctx.packet.ttl < n);
    if (o.name === 'ttl-gt') return (ctx) => bool(ctx.packet.ttl > n);
    return undefined;
  }),
  hl: perOption((o) => {
    const n = Number(o.args[0]);
    if (o.name === 'hl-eq') return (ctx) => not(bool(ctx.packet.ttl === n), o.negated);
    if (o.name === 'hl-lt') return (ctx) => bool(ctx.packet.ttl < n);
    if (o.name === 'hl-gt') return (ctx) => bool(ctx.packet.ttl > n);
    return undefined;
  }),
  owner: perOption((o) => {
    if (o.name === 'uid-owner' || o.name === 'gid-owner') {
      const [lo, hi] = parseRange(o.args[0]!, '-');
      const key = o.name === 'uid-owner' ? 'uid' : 'gid';
      return (ctx) => {
        // No local socket (forwarded packet): xt_owner returns true only when every option is negated.
        if (ctx.packet.inInterface !== null) return o.negated ? 1 : 0;
        const v = ctx.packet[key];
        if (v === undefined) return not(unknown(`${key} of the sending process is ${o.args[0]}`), o.negated);
        return not(bool(v >= lo! && v <= (hi ?? lo)!), o.negated);
      };
    }
    if (o.name === 'socket-exists') return (ctx) => not(bool(ctx.packet.inInterface === null), o.negated);
    return undefined;
  }),
  ipvs: perOption((o) => (o.name === 'ipvs' ? () => not({ p: null, why: 'packet belongs to an IPVS connection', yes: 'assumed IPVS handled this packet', no: 'assumed IPVS did not handle this packet' }, o.negated) : undefined)),
  limit: undecidable((m) => `${describe(m)} (rate limit state unknown)`),
  hashlimit: undecidable((m) => `${describe(m)} (rate limit state unknown)`),
  recent: undecidable((m) => `${describe(m)} (recent list contents unknown)`),
  connlimit: undecidable((m) => `${describe(m)} (connection counts unknown)`),
  connbytes: undecidable((m) => `${describe(m)} (connection byte counts unknown)`),
  quota: undecidable((m) => `${describe(m)} (quota state unknown)`),
  socket: undecidable((m) => `${describe(m)} (local sockets unknown)`),
  time: undecidable((m) => `${describe(m)} (time of day unknown)`),
  cgroup: undecidable((m) => `${describe(m)} (cgroup of the sender unknown)`),
  devgroup: undecidable((m) => `${describe(m)} (device groups unknown)`),
  helper: undecidable((m) => `${describe(m)} (conntrack helper unknown)`),
  mac: undecidable((m) => `${describe(m)} (source MAC unknown)`),
  string: undecidable((m) => `${describe(m)} (payload unknown)`),
  u32: undecidable((m) => `${describe(m)} (payload unknown)`),
  realm: undecidable((m) => `${describe(m)} (route realm unknown)`),
  ecn: undecidable((m) => `${describe(m)} (ECN bits unknown)`),
  ipv6header: undecidable((m) => `${describe(m)} (extension headers unknown)`),
  // A packet without extension headers never matches these.
  frag: () => () => 0,
  hbh: () => () => 0,
  dst: () => () => 0,
  rt: () => () => 0,
  mh: () => (ctx) => (ctx.packet.protocol === 'mh' ? unknown('mobility header type') : 0),
  ah: () => (ctx) => (ctx.packet.protocol === 'ah' ? unknown('AH header fields') : 0),
  esp: () => (ctx) => (ctx.packet.protocol === 'esp' ? unknown('ESP SPI') : 0),
  eui64: undecidable(() => 'source address is EUI-64 of the source MAC'),
};

/** Compiles one match into a test of the packet. */
export function compileMatch(m: Match, family: Family): Matcher {
  switch (m.kind) {
    case 'protocol': {
      const p = m.protocol;
      return (ctx) => not(bool(p === 'all' || ctx.packet.protocol === p || String(ctx.packet.protoNum) === p), m.negated);
    }
    case 'source':
    case 'destination': {
      const c = parseCidr(m.cidr);
      if (!c) return () => unknown(`${m.kind} ${m.cidr}`);
      const src = m.kind === 'source';
      return (ctx) => not(bool(cidrContains(c, src ? ctx.packet.src : ctx.packet.dst)), m.negated);
    }
    case 'inInterface':
      return (ctx) => not(bool(ifaceMatches(m.name, ctx.packet.inInterface)), m.negated);
    case 'outInterface':
      return (ctx) => not(bool(ifaceMatches(m.name, ctx.packet.outInterface)), m.negated);
    case 'fragment':
      return (ctx) => not(bool(ctx.packet.fragment), m.negated);
    case 'module': {
      if (!m.known) {
        const u = unknown(`unknown match ${describe(m)}`);
        return () => u;
      }
      const compiler = MODULES[m.module];
      if (!compiler) {
        const u = unknown(`match ${describe(m)} (not simulated)`);
        return () => u;
      }
      return compiler(m.options, family, m);
    }
  }
}

export const describeMark = hexMark;
export type { Ip };

/** The values a set dimension reads from the packet (ip_set_get_ip4_port and friends); a MAC is not known. */
export function setValueOf(p: Packet): SetValueOf {
  return (dim, side) => {
    const src = side === 'src';
    switch (dim) {
      case 'ip':
      case 'net':
        return { ip: src ? p.src : p.dst };
      case 'port': {
        const port = src ? p.sport : p.dport;
        // ICMP elements are icmp:type/code; packetpath reads only TCP/UDP/SCTP ports.
        return port === undefined ? undefined : { port, protocol: p.protocol };
      }
      case 'mark':
        return { mark: p.mark };
      case 'iface': {
        const iface = src ? p.inInterface : p.outInterface;
        return iface ? { iface } : undefined;
      }
      default:
        return undefined;
    }
  };
}
