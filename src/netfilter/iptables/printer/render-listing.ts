// A table or chain exactly as `iptables -L -n -v --line-numbers` (and
// ip6tables) 1.8.9 prints it: the column layout of print_header() and
// print_firewall() (iptables/xshared.c, nft-ipv4.c, nft-ipv6.c), counters
// abbreviated like xtables_print_num() without -x, and each match's and
// target's text as its libxt_*.c `*_print` function writes it with
// numeric output. Checked byte for byte against the real command in
// test/kernel/listing.test.ts.
//
// An extension packetpath has no print function for falls back to its
// iptables-save options (documented as a known exception in that test).
import type { Chain, ExtOption, Family, Match, Rule, Table } from '../model.ts';
import { BUILTIN_CHAINS } from '../model.ts';
import { renderOptions } from './render.ts';
import { referencesTo } from '../../analysis/query.ts';
import { ICMP_TYPES, ICMPV6_TYPES, protocolNumber } from '../../pipeline/names.ts';
import { formatProbability, probabilityFraction, tcpFlagBits } from '../syntax/values.ts';
import { LISTING_MATCHES_MORE } from './listing-matches.ts';

export interface ListingOptions {
  /** ipv4 prints `0.0.0.0/0` for "any address", ipv6 `::/0`. Default ipv4. */
  readonly family?: Family;
  /** The `num` column of `--line-numbers` (default true). */
  readonly lineNumbers?: boolean;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/**
 * xtables_print_num() without -x: up to 99999 as is, then rounded to
 * K, M, G, T (each step `(n + 500) / 1000`). `table` pads to the column
 * width (`%5llu ` / `%4lluK `); without it (chain headers) no padding.
 */
export function formatCount(n: bigint | undefined, table = true): string {
  let v = n ?? 0n;
  if (v <= 99999n) return table ? lpad(String(v), 5) : String(v);
  for (const unit of ['K', 'M', 'G']) {
    v = (v + 500n) / 1000n;
    if (v <= 9999n) return (table ? lpad(String(v), 4) : String(v)) + unit;
  }
  v = (v + 500n) / 1000n;
  return (table ? lpad(String(v), 4) : String(v)) + 'T';
}

/** An address as xtables_ipaddr_to_numeric + xtables_ipmask_to_numeric print it: no `/32` (`/128`) on hosts. */
function address(cidr: string | undefined, family: Family): string {
  if (cidr === undefined) return family === 'ipv6' ? '::/0' : '0.0.0.0/0';
  const full = family === 'ipv6' ? '/128' : '/32';
  return cidr.endsWith(full) ? cidr.slice(0, -full.length) : cidr;
}

/** User chains after the built-in ones, by name (the order iptables-nft lists them in). */
function listingOrder(table: Table): Chain[] {
  const builtins = BUILTIN_CHAINS[table.name];
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const out: Chain[] = builtins.map((name) => byName.get(name) ?? { name, builtin: true, policy: 'ACCEPT', rules: [] });
  const users = table.chains.filter((c) => !builtins.includes(c.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...out, ...users];
}

/** Every chain of a table, as `iptables -t TABLE -L -n -v --line-numbers` prints it. */
export function renderTableListing(table: Table, options: ListingOptions = {}): string {
  return listingOrder(table).map((c) => renderChainListing(table, c, options)).join('\n');
}

/** One chain, as `iptables -t TABLE -L CHAIN -n -v --line-numbers` prints it. */
export function renderChainListing(table: Table, chain: Chain, options: ListingOptions = {}): string {
  const family = options.family ?? 'ipv4';
  const numbers = options.lineNumbers ?? true;
  const head = chain.builtin
    ? `Chain ${chain.name} (policy ${chain.policy === 'DROP' ? 'DROP' : 'ACCEPT'} ${formatCount(chain.counters?.packets, false)} packets, ${formatCount(chain.counters?.bytes, false)} bytes)`
    : `Chain ${chain.name} (${referencesTo(table, chain.name).length} references)`;
  const title = `${numbers ? 'num  ' : ''} pkts bytes target     prot opt in     out     source               destination         `;
  const lines = [head, title];
  chain.rules.forEach((r, i) => lines.push((numbers ? pad(String(i + 1), 4) + ' ' : '') + ruleLine(r, family)));
  return lines.join('\n') + '\n';
}

type Neg<T> = (T & { negated: boolean }) | undefined;

function ruleLine(r: Rule, family: Family): string {
  let proto: Neg<{ protocol: string }>;
  let src: Neg<{ cidr: string }>;
  let dst: Neg<{ cidr: string }>;
  let inIf: Neg<{ name: string }>;
  let outIf: Neg<{ name: string }>;
  let frag: Neg<object>;
  for (const m of r.matches) {
    if (m.kind === 'protocol') proto = m;
    else if (m.kind === 'source') src = m;
    else if (m.kind === 'destination') dst = m;
    else if (m.kind === 'inInterface') inIf = m;
    else if (m.kind === 'outInterface') outIf = m;
    else if (m.kind === 'fragment') frag = m;
  }
  const t = r.target;
  let target = '';
  if (t?.kind === 'verdict') target = t.verdict;
  else if (t?.kind === 'jump' || t?.kind === 'goto') target = t.chain;
  else if (t?.kind === 'extension') target = t.name === 'NOTRACK' ? 'CT' : t.name;
  const bang = (m: { negated: boolean } | undefined): string => (m?.negated ? '!' : ' ');
  const iface = (m: Neg<{ name: string }>): string => (m ? (m.negated ? '!' : '') + m.name : '*');
  const protoText = proto ? String(protocolNumber(proto.protocol === 'all' ? '0' : proto.protocol) ?? proto.protocol) : '0';
  let line =
    `${formatCount(r.counters?.packets)} ${formatCount(r.counters?.bytes)} ${pad(target, 9)} ` +
    `${bang(proto)}${pad(protoText, 5)}` +
    `${frag ? (frag.negated ? '!f' : '-f') : '--'} ` +
    ` ${pad(iface(inIf), 6)} ${pad(iface(outIf), 6)} ` +
    `${bang(src)}${pad(address(src?.cidr, family), 19)} ` +
    `${bang(dst)}${pad(address(dst?.cidr, family), 19)} `;
  if (t?.kind === 'goto') line += '[goto] ';
  for (const m of r.matches) if (m.kind === 'module') line += matchText(m, family, proto?.protocol);
  if (t?.kind === 'extension') line += targetText(t.name, t.options, family);
  return line;
}

// ---------------------------------------------------------------------------
// Extension texts, after libxt_*.c *_print (numeric). Each starts with a blank, as they do.

type Opts = readonly ExtOption[];
const opt = (o: Opts, name: string): ExtOption | undefined => o.find((x) => x.name === name);
const arg = (o: Opts, name: string, i = 0): string | undefined => opt(o, name)?.args[i];
const has = (o: Opts, name: string): boolean => o.some((x) => x.name === name);
const hex = (n: number): string => '0x' + (n >>> 0).toString(16);
const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

/** `value[/mask]` with the mask defaulting to all ones. */
function valueMask(s: string, full = 0xffffffff): [number, number] {
  const [v, m] = s.split('/');
  return [Number(v) >>> 0, m === undefined ? full : Number(m) >>> 0];
}

/** print_mark: ` 0xV/0xM`, or ` 0xV` when the mask is all ones. */
const markText = (s: string): string => {
  const [v, m] = valueMask(s);
  return m === 0xffffffff ? ` ${hex(v)}` : ` ${hex(v)}/${hex(m)}`;
};

/** libxt_tcp print_ports. */
function ports(name: string, o: ExtOption | undefined): string {
  if (!o) return '';
  const [lo, hi] = o.args[0]!.split(':');
  const min = lo === '' || lo === undefined ? '0' : lo;
  const max = hi === undefined ? min : hi === '' ? '65535' : hi;
  if (min === '0' && max === '65535' && !o.negated) return '';
  const inv = o.negated ? '!' : '';
  return min === max ? ` ${name}:${inv}${Number(min)}` : ` ${name}s:${inv}${Number(min)}:${Number(max)}`;
}

const STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
const STATUSES = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];
const ordered = (list: string, order: readonly string[]): string => {
  const items = list.split(',');
  return [...order.filter((x) => items.includes(x)), ...items.filter((x) => !order.includes(x))].join(',');
};
const RTN = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];

function icmpText(v: string, negated: boolean, v6: boolean): string {
  const named = (v6 ? ICMPV6_TYPES : ICMP_TYPES)[v];
  let type: number;
  let lo: number;
  let hi: number;
  if (named) [type, lo, hi] = named;
  else {
    const [a, b] = v.split('/');
    type = Number(a);
    lo = b === undefined ? 0 : Number(b);
    hi = b === undefined ? 255 : lo;
  }
  let out = `${v6 ? ' ipv6-icmp' : ' icmp'}${negated ? ' !' : ''}type ${type}`;
  if (lo === hi) out += ` code ${lo}`;
  else if (lo !== 0 || hi !== 255) out += ` codes ${lo}-${hi}`;
  return out;
}

/** conntrack_dump_addr (numeric): the address and, unless a host, `/prefix`. */
const ctAddr = (s: string, family: Family): string => ' ' + address(s, family);

const MATCHES: Readonly<Record<string, (o: Opts, family: Family) => string | undefined>> = {
  tcp: (o) => {
    let s = ' tcp' + ports('spt', opt(o, 'sport')) + ports('dpt', opt(o, 'dport'));
    const to = opt(o, 'tcp-option');
    if (to) s += ` option=${to.negated ? '!' : ''}${to.args[0]}`;
    const f = opt(o, 'tcp-flags');
    if (f) {
      const h2 = (n: number): string => '0x' + n.toString(16).toUpperCase().padStart(2, '0');
      s += ` flags:${f.negated ? '!' : ''}${h2(tcpFlagBits(f.args[0]!))}/${h2(tcpFlagBits(f.args[1]!))}`;
    }
    return s;
  },
  udp: (o) => ' udp' + ports('spt', opt(o, 'sport')) + ports('dpt', opt(o, 'dport')),
  udplite: (o) => ' udplite' + ports('spt', opt(o, 'sport')) + ports('dpt', opt(o, 'dport')),
  icmp: (o) => {
    const t = opt(o, 'icmp-type');
    return t ? icmpText(t.args[0]!, t.negated, false) : ' icmp';
  },
  icmp6: (o) => {
    const t = opt(o, 'icmpv6-type');
    return t ? icmpText(t.args[0]!, t.negated, true) : ' ipv6-icmp';
  },
  multiport: (o) => {
    const p = o.find((x) => x.name === 'sports' || x.name === 'dports' || x.name === 'ports' || x.name === 'source-ports' || x.name === 'destination-ports');
    if (!p) return undefined;
    const kind = p.name.startsWith('s') ? 'sports' : p.name.startsWith('d') ? 'dports' : 'ports';
    return ` multiport ${kind} ${p.negated ? ' !' : ''}${p.args[0]}`;
  },
  comment: (o) => ` /* ${arg(o, 'comment') ?? ''} */`,
  state: (o) => {
    const s = opt(o, 'state');
    return s ? `${s.negated ? ' !' : ''} state ${ordered(s.args[0]!, STATES)}` : undefined;
  },
  conntrack: (o, family) => {
    let s = '';
    const inv = (x: ExtOption): string => (x.negated ? ' !' : '');
    const each = (name: string, f: (x: ExtOption) => string): void => {
      const x = opt(o, name);
      if (x) s += inv(x) + f(x);
    };
    each('ctstate', (x) => ` ctstate ${ordered(x.args[0]!, STATES)}`);
    each('ctproto', (x) => ` ctproto ${protocolNumber(x.args[0]!) ?? x.args[0]}`);
    for (const n of ['ctorigsrc', 'ctorigdst', 'ctreplsrc', 'ctrepldst']) each(n, (x) => ` ${n}${ctAddr(x.args[0]!, family)}`);
    for (const n of ['ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport']) {
      each(n, (x) => {
        const [a, b] = x.args[0]!.split(':');
        return ` ${n} ${b === undefined || a === b ? a : `${a}:${b}`}`;
      });
    }
    each('ctstatus', (x) => ` ctstatus ${ordered(x.args[0]!, STATUSES)}`);
    each('ctexpire', (x) => {
      const [a, b] = x.args[0]!.split(':');
      return ` ctexpire ${b === undefined || a === b ? a : `${a}:${b}`}`;
    });
    const d = opt(o, 'ctdir');
    if (d) s += ` ctdir ${d.args[0]}`;
    return s;
  },
  mark: (o) => {
    const m = opt(o, 'mark');
    return m ? ` mark match${m.negated ? ' !' : ''}${markText(m.args[0]!)}` : undefined;
  },
  connmark: (o) => {
    const m = opt(o, 'mark');
    return m ? ` connmark match ${m.negated ? '!' : ''}${markText(m.args[0]!)}` : undefined;
  },
  addrtype: (o) => {
    let s = ' ADDRTYPE match';
    const types = (v: string): string => ordered(v, RTN);
    const st = opt(o, 'src-type');
    if (st) s += ` src-type ${st.negated ? '!' : ''}${types(st.args[0]!)}`;
    const dt = opt(o, 'dst-type');
    if (dt) s += ` dst-type ${dt.negated ? '!' : ''}${types(dt.args[0]!)}`;
    if (has(o, 'limit-iface-in')) s += ' limit-in';
    if (has(o, 'limit-iface-out')) s += ' limit-out';
    return s;
  },
  statistic: (o) => {
    const mode = arg(o, 'mode');
    const inv = o.some((x) => x.negated) ? ' !' : '';
    if (mode === 'random') return ` statistic mode random${inv} probability ${formatProbability(probabilityFraction(Number(arg(o, 'probability') ?? '0')))}`;
    if (mode === 'nth') {
      const packet = num(arg(o, 'packet'));
      return ` statistic mode nth${inv} every ${num(arg(o, 'every'))}${packet ? ` packet ${packet}` : ''}`;
    }
    return undefined;
  },
  set: (o) => {
    const m = opt(o, 'match-set');
    if (!m) return undefined;
    let s = `${m.negated ? ' !' : ''} match-set ${m.args[0]} ${m.args[1]}`;
    if (has(o, 'return-nomatch')) s += ' return-nomatch';
    const uc = opt(o, 'update-counters');
    if (uc?.negated) s += ' ! update-counters';
    const us = opt(o, 'update-subcounters');
    if (us?.negated) s += ' ! update-subcounters';
    for (const c of ['packets', 'bytes']) {
      for (const op of ['eq', 'lt', 'gt']) {
        const x = opt(o, `${c}-${op}`);
        if (x) s += `${x.negated ? ' !' : ''} ${c}-${op} ${x.args[0]}`;
      }
    }
    return s;
  },
  limit: (o) => ` limit: avg ${arg(o, 'limit') ?? '3/hour'} burst ${arg(o, 'limit-burst') ?? '5'}`,
  ...LISTING_MATCHES_MORE,
  iprange: (o) => {
    let s = '';
    const sr = opt(o, 'src-range');
    if (sr) s += ` source IP range ${sr.negated ? '! ' : ''}${sr.args[0]}`;
    const dr = opt(o, 'dst-range');
    if (dr) s += ` destination IP range ${dr.negated ? '! ' : ''}${dr.args[0]}`;
    return s;
  },
  physdev: (o) => {
    let s = ' PHYSDEV match';
    const each = (name: string, word: string): void => {
      const x = opt(o, name);
      if (!x) return;
      s += `${x.negated ? ' !' : ''} ${word}${x.args.length ? ' ' + x.args[0] : ''}`;
    };
    each('physdev-in', '--physdev-in');
    each('physdev-out', '--physdev-out');
    each('physdev-is-in', '--physdev-is-in');
    each('physdev-is-out', '--physdev-is-out');
    each('physdev-is-bridged', '--physdev-is-bridged');
    return s;
  },
  pkttype: (o) => {
    const p = opt(o, 'pkt-type');
    return p ? ` PKTTYPE ${p.negated ? '!' : ''}= ${p.args[0]}` : undefined;
  },
  mac: (o) => {
    const m = opt(o, 'mac-source');
    return m ? ` MAC${m.negated ? ' !' : ''} ${m.args[0]!.toUpperCase()}` : undefined;
  },
  length: (o) => {
    const l = opt(o, 'length');
    if (!l) return undefined;
    const [a, b] = l.args[0]!.split(':');
    return ` length ${l.negated ? '!' : ''}${b === undefined || a === b ? a : `${a}:${b}`}`;
  },
  helper: (o) => {
    const h = opt(o, 'helper');
    return h ? ` helper match ${h.negated ? '! ' : ''}"${h.args[0]}"` : undefined;
  },
  owner: (o) => {
    let s = '';
    for (const x of o) {
      const inv = x.negated ? ' !' : '';
      if (x.name === 'uid-owner') s += `${inv} owner UID match ${x.args[0]}`;
      else if (x.name === 'gid-owner') s += `${inv} owner GID match ${x.args[0]}`;
      else if (x.name === 'socket-exists') s += `${inv} owner socket exists`;
      else return undefined;
    }
    return s;
  },
  socket: (o) => {
    let s = ' socket';
    if (has(o, 'transparent')) s += ' --transparent';
    if (has(o, 'nowildcard')) s += ' --nowildcard';
    if (has(o, 'restore-skmark')) s += ' --restore-skmark';
    return s;
  },
  ttl: (o) => {
    const x = o[0];
    if (!x) return undefined;
    const op = x.name === 'ttl-eq' ? (x.negated ? '!=' : '==') : x.name === 'ttl-lt' ? '<' : '>';
    return ` TTL match TTL ${op} ${x.args[0]}`;
  },
  hl: (o) => {
    const x = o[0];
    if (!x) return undefined;
    const op = x.name === 'hl-eq' ? (x.negated ? '!=' : '==') : x.name === 'hl-lt' ? '<' : '>';
    return ` HL match HL ${op} ${x.args[0]}`;
  },
  tos: (o) => {
    const t = opt(o, 'tos');
    if (!t) return undefined;
    const [v, m] = valueMask(t.args[0]!, 0xff);
    return ` tos match ${t.negated ? '!' : ''}${hex(v)}/${hex(m)}`;
  },
  dscp: (o) => {
    const d = opt(o, 'dscp');
    return d ? ` DSCP match ${d.negated ? '!' : ''}${hex(Number(d.args[0]))}` : undefined;
  },
  sctp: (o) => ' sctp' + ports('spt', opt(o, 'sport')) + ports('dpt', opt(o, 'dport')),
  dccp: (o) => ' dccp' + ports('spt', opt(o, 'sport')) + ports('dpt', opt(o, 'dport')),
  tcpmss: (o) => {
    const m = opt(o, 'mss');
    if (!m) return undefined;
    const [a, b] = m.args[0]!.split(':');
    return ` tcpmss match ${m.negated ? '!' : ''}${b === undefined || a === b ? a : `${a}:${b}`}`;
  },
  quota: (o) => {
    const q = opt(o, 'quota');
    return q ? ` quota: ${q.args[0]} bytes` : undefined;
  },
};

function matchText(m: Extract<Match, { kind: 'module' }>, family: Family, _proto: string | undefined): string {
  const f = Object.hasOwn(MATCHES, m.module) ? MATCHES[m.module] : undefined;
  const text = f?.(m.options, family);
  // No print function here: the save options, so nothing is hidden (a known difference from iptables).
  return text ?? ` -m ${m.module}${renderOptions(m.options)}`;
}

const DEFAULT_REJECT: Readonly<Record<Family, string>> = { ipv4: 'icmp-port-unreachable', ipv6: 'icmp6-port-unreachable' };

function natFlags(o: Opts): string {
  let s = '';
  if (has(o, 'random')) s += ' random';
  if (has(o, 'random-fully')) s += ' random-fully';
  if (has(o, 'persistent')) s += ' persistent';
  return s;
}

/** MARK/CONNMARK set texts for an xmark value/mask. */
function xmarkText(name: string, mark: number, mask: number): string {
  if (mark === 0) return ` ${name} and ${hex(~mask)}`;
  if (mark === mask) return ` ${name} or ${hex(mark)}`;
  if (mask === 0) return ` ${name} xor ${hex(mark)}`;
  if (mask === 0xffffffff) return ` ${name} set ${hex(mark)}`;
  return ` ${name} xset ${hex(mark)}/${hex(mask)}`;
}

function markOptions(o: Opts): [number, number] | undefined {
  const x = opt(o, 'set-xmark');
  if (x) return valueMask(x.args[0]!);
  const s = opt(o, 'set-mark');
  if (s) {
    const [v, m] = valueMask(s.args[0]!);
    return [v, (m | v) >>> 0];
  }
  const a = opt(o, 'and-mark');
  if (a) return [0, ~Number(a.args[0]) >>> 0];
  const r = opt(o, 'or-mark');
  if (r) return [Number(r.args[0]) >>> 0, Number(r.args[0]) >>> 0];
  const x2 = opt(o, 'xor-mark');
  if (x2) return [Number(x2.args[0]) >>> 0, 0];
  return undefined;
}

const LOG_FLAG_BITS: readonly (readonly [string, number])[] = [
  ['log-tcp-sequence', 0x01], ['log-tcp-options', 0x02], ['log-ip-options', 0x04], ['log-uid', 0x08], ['log-macdecode', 0x20],
];
const LOG_LEVELS: Readonly<Record<string, number>> = {
  emerg: 0, alert: 1, crit: 2, err: 3, error: 3, warn: 4, warning: 4, notice: 5, info: 6, debug: 7,
};

function targetText(name: string, o: Opts, family: Family): string {
  const text = targetPrint(name, o, family);
  return text ?? (o.length ? renderOptions(o) : '');
}

function targetPrint(name: string, o: Opts, family: Family): string | undefined {
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'TRACE':
      return '';
    case 'NOTRACK':
      return ' NOTRACK';
    case 'LOG': {
      const lv = arg(o, 'log-level') ?? '4';
      const level = /^\d+$/.test(lv) ? Number(lv) : (LOG_LEVELS[lv.toLowerCase()] ?? 4);
      let flags = 0;
      for (const [n, bit] of LOG_FLAG_BITS) if (has(o, n)) flags |= bit;
      const prefix = arg(o, 'log-prefix');
      return ` LOG flags ${flags} level ${level}${prefix ? ` prefix "${prefix}"` : ''}`;
    }
    case 'REJECT':
      return ` reject-with ${arg(o, 'reject-with') ?? DEFAULT_REJECT[family]}`;
    case 'DNAT':
    case 'SNAT': {
      const to = o.filter((x) => x.name === 'to-destination' || x.name === 'to-source');
      return to.map((x) => ` to:${x.args[0]}`).join('') + natFlags(o);
    }
    case 'MASQUERADE': {
      const p = arg(o, 'to-ports');
      return (p ? ` masq ports: ${p}` : '') + natFlags(o);
    }
    case 'REDIRECT': {
      const p = arg(o, 'to-ports');
      return (p ? ` redir ports ${p}` : '') + natFlags(o);
    }
    case 'NETMAP': {
      const to = arg(o, 'to');
      return to ? ` to:${address(to, family)}` : undefined;
    }
    case 'MARK': {
      const mm = markOptions(o);
      return mm ? xmarkText('MARK', mm[0], mm[1]) : undefined;
    }
    case 'CONNMARK': {
      const mm = markOptions(o);
      if (mm) return xmarkText('CONNMARK', mm[0], mm[1]);
      const save = has(o, 'save-mark');
      if (!save && !has(o, 'restore-mark')) return undefined;
      const mask = arg(o, 'mask');
      const nf = mask ?? arg(o, 'nfmask') ?? '0xffffffff';
      const ct = mask ?? arg(o, 'ctmask') ?? '0xffffffff';
      const n = Number(nf) >>> 0;
      const c = Number(ct) >>> 0;
      if (save) {
        if (n === 0xffffffff && c === 0xffffffff) return ' CONNMARK save';
        if (n === c) return ` CONNMARK save mask ${hex(n)}`;
        return ` CONNMARK save nfmask ${hex(n)} ctmask ~${hex(c)}`;
      }
      if (c === 0xffffffff && n === 0xffffffff) return ' CONNMARK restore';
      if (c === n) return ` CONNMARK restore mask ${hex(c)}`;
      return ` CONNMARK restore ctmask ${hex(c)} nfmask ~${hex(n)}`;
    }
    case 'TCPMSS':
      return has(o, 'clamp-mss-to-pmtu') ? ' TCPMSS clamp to PMTU' : ` TCPMSS set ${arg(o, 'set-mss')}`;
    case 'TTL':
    case 'HL': {
      const lower = name.toLowerCase();
      const s = arg(o, `${lower}-set`);
      if (s !== undefined) return ` ${name} set to ${s}`;
      const d = arg(o, `${lower}-dec`);
      if (d !== undefined) return ` ${name} decrement by ${d}`;
      const i = arg(o, `${lower}-inc`);
      return i !== undefined ? ` ${name} increment by ${i}` : undefined;
    }
    case 'TOS': {
      const t = arg(o, 'set-tos');
      if (t === undefined) return undefined;
      const [v, m] = valueMask(t, 0xff);
      const h2 = (n: number): string => '0x' + n.toString(16).padStart(2, '0');
      return ` TOS set ${h2(v)}/${h2(m)}`;
    }
    case 'DSCP': {
      const d = arg(o, 'set-dscp');
      return d !== undefined ? ` DSCP set 0x${Number(d).toString(16).padStart(2, '0')}` : undefined;
    }
    case 'CLASSIFY': {
      const c = arg(o, 'set-class');
      if (c === undefined) return undefined;
      const [a, b] = c.split(':');
      return ` CLASSIFY set ${parseInt(a!, 16).toString(16)}:${parseInt(b!, 16).toString(16)}`;
    }
    case 'CHECKSUM':
      return ' CHECKSUM fill';
    case 'CT': {
      let s = ' CT';
      for (const x of o) s += x.name === 'notrack' ? ' notrack' : ` ${x.name} ${x.args.join(' ')}`;
      return s;
    }
    case 'NFLOG': {
      let s = '';
      const p = arg(o, 'nflog-prefix');
      if (p !== undefined && p !== '') s += ` nflog-prefix ${/^[\w.:-]+$/.test(p) ? p : `"${p.replace(/(["\\])/g, '\\$1')}"`}`;
      const g = arg(o, 'nflog-group');
      if (g !== undefined && g !== '0') s += ` nflog-group ${g}`;
      const sz = arg(o, 'nflog-size');
      const rg = arg(o, 'nflog-range');
      if (sz !== undefined) s += ` nflog-size ${sz}`;
      else if (rg !== undefined && rg !== '0') s += ` nflog-range ${rg}`;
      const th = arg(o, 'nflog-threshold');
      if (th !== undefined && th !== '1') s += ` nflog-threshold ${th}`;
      return s;
    }
    case 'NFQUEUE': {
      const bal = arg(o, 'queue-balance');
      let s = bal ? ` NFQUEUE balance ${bal}` : ` NFQUEUE num ${arg(o, 'queue-num') ?? '0'}`;
      if (has(o, 'queue-bypass')) s += ' bypass';
      if (has(o, 'queue-cpu-fanout')) s += ' cpu-fanout';
      return s;
    }
    case 'TEE': {
      const oif = arg(o, 'oif');
      return ` TEE gw:${arg(o, 'gateway')}${oif ? ` oif=${oif}` : ''}`;
    }
    case 'TPROXY': {
      const ip = arg(o, 'on-ip') ?? (family === 'ipv6' ? '::' : '0.0.0.0');
      const [v, m] = valueMask(arg(o, 'tproxy-mark') ?? '0x0/0x0');
      return ` TPROXY redirect ${ip}:${arg(o, 'on-port') ?? '0'} mark ${hex(v)}/${hex(m)}`;
    }
    case 'AUDIT':
      return ` AUDIT ${arg(o, 'type')}`;
    case 'SET': {
      let s = '';
      for (const n of ['add-set', 'del-set', 'map-set']) {
        const x = opt(o, n);
        if (x) s += ` ${n} ${x.args[0]} ${x.args[1]}`;
      }
      if (has(o, 'exist')) s += ' exist';
      const t = arg(o, 'timeout');
      if (t !== undefined) s += ` timeout ${t}`;
      return s;
    }
    default:
      return undefined;
  }
}
