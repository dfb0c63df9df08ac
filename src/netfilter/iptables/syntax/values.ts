// Value normalizers: turn what a user may type into what iptables-save prints.
import ipaddr from 'ipaddr.js';
import type { Family } from '../model.ts';
import { ICMP_TYPES, ICMPV6_TYPES, portNumber } from '../../pipeline/names.ts';
import { hostPrefix } from '../../pipeline/addr.ts';

export type Normalized = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

const ok = (value: string): Normalized => ({ ok: true, value });
const bad = (message: string): Normalized => ({ ok: false, message });

export type Normalizer = (value: string, family: Family) => Normalized;

export function parseUint(value: string, max = 0xffffffff): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

export const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

export const uint =
  (max = 0xffffffff): Normalizer =>
  (v) => {
    const n = parseUint(v, max);
    return n === undefined ? bad(`"${v}" is not a number in 0..${max}`) : ok(String(n));
  };

/** `value[/mask]` printed as hex; mask omitted when it is all ones. */
export const markMask: Normalizer = (v) => {
  const [a, m, ...rest] = v.split('/');
  const val = parseUint(a ?? '');
  const mask = m === undefined ? 0xffffffff : parseUint(m);
  if (rest.length || val === undefined || mask === undefined) return bad(`"${v}" is not a mark[/mask]`);
  return ok(mask === 0xffffffff ? hex(val) : `${hex(val)}/${hex(mask)}`);
};

/** `value/mask` always with a mask (MARK --set-xmark, TPROXY --tproxy-mark). */
export const markWithMask =
  (defaultMask = 0xffffffff): Normalizer =>
  (v) => {
    const [a, m] = v.split('/');
    const val = parseUint(a ?? '');
    const mask = m === undefined ? defaultMask : parseUint(m);
    if (val === undefined || mask === undefined) return bad(`"${v}" is not a mark/mask`);
    return ok(`${hex(val)}/${hex(mask)}`);
  };

export const hexValue =
  (max = 0xffffffff): Normalizer =>
  (v) => {
    const n = parseUint(v, max);
    return n === undefined ? bad(`"${v}" is not a number`) : ok(hex(n));
  };

export const port: Normalizer = (v) => {
  const n = portNumber(v);
  return n === undefined ? bad(`"${v}" is not a port`) : ok(String(n));
};

/** `a[:b]`; iptables prints a single port when both ends are equal. */
export const portRange: Normalizer = (v) => {
  const parts = v.split(':');
  if (parts.length > 2) return bad(`"${v}" is not a port range`);
  if (parts.length === 1) return port(v, 'ipv4');
  const lo = parts[0] === '' ? 0 : portNumber(parts[0]!);
  const hi = parts[1] === '' ? 65535 : portNumber(parts[1]!);
  if (lo === undefined || hi === undefined) return bad(`"${v}" is not a port range`);
  if (lo > hi) return bad(`invalid port range "${v}" (start above end)`);
  return ok(lo === hi ? String(lo) : `${lo}:${hi}`);
};

export const portList: Normalizer = (v) => {
  const out: string[] = [];
  const items = v.split(',');
  if (items.length > 15) return bad('too many ports specified (at most 15)');
  for (const item of items) {
    const r = portRange(item, 'ipv4');
    if (!r.ok) return r;
    out.push(r.value);
  }
  return ok(out.join(','));
};

/** Comma list of names, printed in a fixed order. */
export const flagList =
  (order: readonly string[], aliases: Readonly<Record<string, string>> = {}): Normalizer =>
  (v) => {
    const seen = new Set<string>();
    for (const raw of v.split(',')) {
      const name = aliases[raw.toUpperCase()] ?? raw.toUpperCase();
      if (!order.includes(name)) return bad(`unknown value "${raw}" (expected one of ${order.join(', ')})`);
      seen.add(name);
    }
    return ok(order.filter((n) => seen.has(n)).join(','));
  };

export const oneOf =
  (values: readonly string[], aliases: Readonly<Record<string, string>> = {}): Normalizer =>
  (v) => {
    const a = aliases[v] ?? v;
    return values.includes(a) ? ok(a) : bad(`unknown value "${v}" (expected one of ${values.join(', ')})`);
  };

export const anyString: Normalizer = (v) => ok(v);

export function parseAddress(v: string, family: Family): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    const a = ipaddr.parse(v);
    if (family === 'ipv4' && a.kind() !== 'ipv4') return undefined;
    if (family === 'ipv6' && a.kind() !== 'ipv6') return undefined;
    return a;
  } catch {
    return undefined;
  }
}

const HOST_NAMES: Readonly<Record<string, Readonly<Record<Family, string>>>> = {
  localhost: { ipv4: '127.0.0.1', ipv6: '::1' },
  anywhere: { ipv4: '0.0.0.0/0', ipv6: '::/0' },
};

/** An address with optional prefix or dotted mask, printed as network/prefix like iptables-save. */
export const cidr: Normalizer = (v, family) => {
  const fast = family === 'ipv4' ? ipv4Cidr(v) : undefined;
  return fast !== undefined ? ok(fast) : parsedCidr(v, family);
};

/** cidr() through ipaddr.js, for every spelling. */
export const parsedCidr: Normalizer = (v, family) => {
  const named = HOST_NAMES[v.split('/')[0]!.toLowerCase()];
  if (named) v = named[family] + (v.includes('/') && !named[family].includes('/') ? v.slice(v.indexOf('/')) : '');
  const [addrText, maskText, ...rest] = v.split('/');
  if (rest.length) return bad(`"${v}" is not an address`);
  const addr = parseAddress(addrText ?? '', family);
  if (!addr) return bad(`"${v}" is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
  const bits = hostPrefix(family);
  let prefix = bits;
  if (maskText !== undefined) {
    if (/^\d+$/.test(maskText)) {
      prefix = Number(maskText);
      if (prefix > bits) return bad(`invalid prefix length /${maskText}`);
    } else {
      const mask = parseAddress(maskText, family);
      const p = mask?.prefixLengthFromSubnetMask();
      if (p === null || p === undefined) {
        return bad(`non-contiguous mask "${maskText}" is not supported`);
      }
      prefix = p;
    }
  }
  const network = networkAddress(addr, prefix);
  return ok(`${network}/${prefix}`);
};

/** Like `cidr`, but a host address has no `/32` (`/128`): how libxt_conntrack prints its address options. */
export const hostCidr: Normalizer = (v, family) => {
  const r = cidr(v, family);
  if (!r.ok) return r;
  const full = family === 'ipv4' ? '/32' : '/128';
  return r.value.endsWith(full) ? ok(r.value.slice(0, -full.length)) : r;
};

/**
 * cidr() for the spellings kube-proxy and iptables-save use, `a.b.c.d` and
 * `a.b.c.d/nn` with plain decimal octets, without going through ipaddr.js.
 * Returns exactly what cidr() returns for them, or undefined for anything
 * else (leading zeros, hex, masks, out of range), which cidr() then handles.
 */
export function ipv4Cidr(v: string): string | undefined {
  const quad = plainQuad(v);
  if (!quad) return undefined;
  const n = v.length;
  let i = quad.end;
  const addr = quad.value;
  if (i === n) return v + '/32';
  if (v.charCodeAt(i) !== 47 /* / */) return undefined;
  const maskStart = ++i;
  let prefix = 0;
  for (let c = v.charCodeAt(i); c >= 48 && c <= 57; c = v.charCodeAt(++i)) prefix = prefix * 10 + (c - 48);
  if (i !== n || i === maskStart || i - maskStart > 2 || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (addr & mask) >>> 0;
  // Already canonical (no host bits, no leading zero in the prefix): keep the caller's string.
  if (net === addr && (prefix >= 10 || i - maskStart === 1)) return v;
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
}

/**
 * A dotted quad of plain decimal octets (no leading zeros, at most 255) at the
 * start of `v`: how ipaddr.js prints it, so it needs no normalizing.
 */
function plainQuad(v: string): { value: number; end: number } | undefined {
  let i = 0;
  let value = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (v.charCodeAt(i) !== 46 /* . */) return undefined;
      i++;
    }
    const start = i;
    let octet = 0;
    for (let c = v.charCodeAt(i); c >= 48 && c <= 57; c = v.charCodeAt(++i)) octet = octet * 10 + (c - 48);
    const len = i - start;
    if (len === 0 || len > 3 || (len > 1 && v.charCodeAt(start) === 48) || octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return { value, end: i };
}

export function networkAddress(addr: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): string {
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export const address: Normalizer = (v, family) => {
  const a = parseAddress(v, family);
  return a ? ok(a.toString()) : bad(`"${v}" is not an address`);
};

export const addressRange: Normalizer = (v, family) => {
  const [a, b, ...rest] = v.split('-');
  if (rest.length || a === undefined) return bad(`"${v}" is not an address range`);
  const lo = parseAddress(a, family);
  const hi = b === undefined ? lo : parseAddress(b, family);
  if (!lo || !hi) return bad(`"${v}" is not an address range`);
  return ok(`${lo.toString()}-${hi.toString()}`);
};

/** NAT `addr[-addr][:port[-port]]` as DNAT/SNAT print it. */
export const natRange: Normalizer = (v, family) => {
  let addrPart = v;
  let portPart: string | undefined;
  if (family === 'ipv6' && v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return bad(`"${v}" is not a NAT range`);
    addrPart = v.slice(1, end);
    const after = v.slice(end + 1);
    if (after.startsWith(':')) portPart = after.slice(1);
  } else if (family === 'ipv4') {
    const i = v.indexOf(':');
    if (i >= 0) {
      addrPart = v.slice(0, i);
      portPart = v.slice(i + 1);
    }
  }
  let addrOut = '';
  if (family === 'ipv4' && plainQuad(addrPart)?.end === addrPart.length) {
    addrOut = addrPart;
  } else if (addrPart !== '') {
    const r = addressRange(addrPart, family);
    if (!r.ok) return r;
    const [lo, hi] = r.value.split('-');
    addrOut = lo === hi ? lo! : r.value;
    if (family === 'ipv6' && portPart !== undefined) addrOut = `[${addrOut}]`;
  }
  if (portPart === undefined) return ok(addrOut);
  const pr = natPorts(portPart, family);
  if (!pr.ok) return pr;
  return ok(addrOut === addrPart && pr.value === portPart ? v : `${addrOut}:${pr.value}`);
};

/** NAT port range `a[-b]`; REDIRECT/MASQUERADE `--to-ports`. */
export const natPorts: Normalizer = (v) => {
  const m = /^(\w+)(?:[-:](\w+))?$/.exec(v);
  const lo = m ? portNumber(m[1]!) : undefined;
  const hi = m?.[2] !== undefined ? portNumber(m[2]) : lo;
  if (lo === undefined || hi === undefined) return bad(`"${v}" is not a port or port range`);
  return ok(lo === hi ? String(lo) : `${lo}-${hi}`);
};

/** statistic `--probability`: kept as a 31-bit fraction and printed with %.11f. */
export const probability: Normalizer = (v) => {
  const p = Number(v);
  if (!Number.isFinite(p) || p < 0 || p > 1 || v.trim() === '') return bad(`"${v}" is not a probability in 0..1`);
  return ok(formatProbability(probabilityFraction(p)));
};

export const probabilityFraction = (p: number): number => Math.round(p * 0x80000000);
export const formatProbability = (fraction: number): string => (fraction / 0x80000000).toFixed(11);

export const icmpType =
  (v6: boolean): Normalizer =>
  (v) => {
    const table = v6 ? ICMPV6_TYPES : ICMP_TYPES;
    const named = table[v];
    let type: number;
    let codeLo: number;
    let codeHi: number;
    if (named) {
      [type, codeLo, codeHi] = named;
    } else {
      const m = /^(\d+)(?:\/(\d+))?$/.exec(v);
      if (!m) return bad(`unknown ICMP${v6 ? 'v6' : ''} type "${v}"`);
      type = Number(m[1]);
      codeLo = m[2] === undefined ? 0 : Number(m[2]);
      codeHi = m[2] === undefined ? 255 : codeLo;
      if (type > 255 || codeLo > 255) return bad(`invalid ICMP type "${v}"`);
    }
    if (!v6 && type === 255 && codeLo === 0 && codeHi === 255) return ok('any');
    if (codeLo === 0 && codeHi === 255) return ok(String(type));
    return ok(`${type}/${codeLo}`);
  };

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'] as const;

export const tcpFlagSet: Normalizer = (v) => {
  let bits = 0;
  for (const raw of v.split(',')) {
    const f = raw.toUpperCase();
    if (f === 'ALL') bits |= 0x3f;
    else if (f === 'NONE') continue;
    else {
      const i = (TCP_FLAGS as readonly string[]).indexOf(f);
      if (i < 0) return bad(`unknown TCP flag "${raw}"`);
      bits |= 1 << i;
    }
  }
  return ok(formatTcpFlags(bits));
};

export function formatTcpFlags(bits: number): string {
  if (bits === 0) return 'NONE';
  return TCP_FLAGS.filter((_, i) => bits & (1 << i)).join(',');
}

export function tcpFlagBits(list: string): number {
  let bits = 0;
  for (const f of list.split(',')) {
    if (f === 'ALL') bits |= 0x3f;
    const i = (TCP_FLAGS as readonly string[]).indexOf(f);
    if (i >= 0) bits |= 1 << i;
  }
  return bits;
}

const RATE_UNITS: Readonly<Record<string, string>> = {
  s: 'sec', sec: 'sec', second: 'sec', m: 'min', min: 'min', minute: 'min', h: 'hour', hour: 'hour',
  d: 'day', day: 'day',
};

export const rate: Normalizer = (v) => {
  const m = /^(\d+)(?:\/(\w+))?$/.exec(v);
  if (!m) return bad(`"${v}" is not a rate (N/sec|min|hour|day)`);
  const unit = m[2] === undefined ? 'sec' : RATE_UNITS[m[2].toLowerCase()];
  if (!unit) return bad(`unknown rate unit in "${v}"`);
  return ok(`${m[1]}/${unit}`);
};

export const macAddress: Normalizer = (v) =>
  /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v) ? ok(v.toLowerCase()) : bad(`"${v}" is not a MAC address`);

export const lengthRange: Normalizer = (v) => {
  const m = /^(\d+)(?::(\d+))?$/.exec(v);
  if (!m) return bad(`"${v}" is not a length or range`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return ok(lo === hi ? String(lo) : `${lo}:${hi}`);
};

const hex2 = (n: number): string => '0x' + n.toString(16).padStart(2, '0');

/** TOS value[/mask] as libxt_tos prints it: two hex digits, mask 0xff by default. */
export const tosMask: Normalizer = (v) => {
  const [a, m] = v.split('/');
  const named = TOS_NAMES[a ?? ''];
  const val = named ?? parseUint(a ?? '', 0xff);
  const mask = m === undefined ? 0xff : parseUint(m, 0xff);
  if (val === undefined || mask === undefined) return bad(`"${v}" is not a TOS value[/mask]`);
  return ok(`${hex2(val)}/${hex2(mask)}`);
};

const TOS_NAMES: Readonly<Record<string, number>> = {
  'Minimize-Delay': 0x10, 'Maximize-Throughput': 0x08, 'Maximize-Reliability': 0x04, 'Minimize-Cost': 0x02, 'Normal-Service': 0x00,
};

export const DSCP_CLASSES: Readonly<Record<string, number>> = {
  CS0: 0, CS1: 8, CS2: 16, CS3: 24, CS4: 32, CS5: 40, CS6: 48, CS7: 56, BE: 0,
  AF11: 10, AF12: 12, AF13: 14, AF21: 18, AF22: 20, AF23: 22, AF31: 26, AF32: 28, AF33: 30, AF41: 34, AF42: 36, AF43: 38, EF: 46,
};

export const dscpValue: Normalizer = (v) => {
  const n = parseUint(v, 63);
  return n === undefined ? bad(`"${v}" is not a DSCP value (0..63)`) : ok(hex2(n));
};

export const dscpClass: Normalizer = (v) => {
  const n = DSCP_CLASSES[v.toUpperCase()];
  return n === undefined ? bad(`unknown DSCP class "${v}"`) : ok(hex2(n));
};

export const byte2 = hex2;
