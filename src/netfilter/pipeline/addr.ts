// Fast address arithmetic for the simulator: IPv4 as a uint32 number,
// IPv6 as a 128-bit bigint. Parsing goes through ipaddr.js.
import ipaddr from 'ipaddr.js';
import type { Family } from './family.ts';

export type Ip = { readonly family: 'ipv4'; readonly n: number } | { readonly family: 'ipv6'; readonly n: bigint };

export interface Cidr {
  readonly ip: Ip;
  readonly prefix: number;
}

export function parseIp(text: string): Ip | undefined {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(text.trim());
  } catch {
    return undefined;
  }
  if (a.kind() === 'ipv4') {
    const b = a.toByteArray();
    return { family: 'ipv4', n: ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 };
  }
  let n = 0n;
  for (const byte of a.toByteArray()) n = (n << 8n) | BigInt(byte);
  return { family: 'ipv6', n };
}

/** The prefix length of one address: 32 for IPv4, 128 for IPv6. */
export const hostPrefix = (family: Family): number => (family === 'ipv4' ? 32 : 128);

export function parseCidr(text: string): Cidr | undefined {
  const [a, p] = text.split('/');
  const ip = parseIp(a ?? '');
  if (!ip) return undefined;
  const bits = hostPrefix(ip.family);
  const prefix = p === undefined ? bits : Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  return { ip, prefix };
}

export function formatIp(ip: Ip): string {
  if (ip.family === 'ipv4') {
    const n = ip.n;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((ip.n >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

const V6_ALL = (1n << 128n) - 1n;

export function maskOf(family: Family, prefix: number): number | bigint {
  if (family === 'ipv4') return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return prefix === 0 ? 0n : (V6_ALL << BigInt(128 - prefix)) & V6_ALL;
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  if (c.ip.family !== ip.family) return false;
  if (ip.family === 'ipv4') {
    // maskOf inlined: every route lookup tests every route.
    const m = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
    return ((ip.n & m) >>> 0) === (((c.ip.n as number) & m) >>> 0);
  }
  const m = maskOf('ipv6', c.prefix) as bigint;
  return (ip.n & m) === ((c.ip.n as bigint) & m);
}

export function ipEquals(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.n === b.n;
}

/** Compares two addresses of one family: <0, 0, >0. */
export function compareIp(a: Ip, b: Ip): number {
  return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

export function addToIp(ip: Ip, k: number): Ip {
  return ip.family === 'ipv4' ? { family: 'ipv4', n: (ip.n + k) >>> 0 } : { family: 'ipv6', n: (ip.n + BigInt(k)) & V6_ALL };
}

/** Broadcast address of an IPv4 network. */
export function broadcastOf(c: Cidr): Ip | undefined {
  if (c.ip.family !== 'ipv4' || c.prefix >= 31) return undefined;
  const m = maskOf('ipv4', c.prefix) as number;
  return { family: 'ipv4', n: ((c.ip.n & m) | (~m >>> 0)) >>> 0 };
}

export function isMulticast(ip: Ip): boolean {
  return ip.family === 'ipv4' ? ip.n >>> 28 === 0xe : ip.n >> 120n === 0xffn;
}

export function isLimitedBroadcast(ip: Ip): boolean {
  return ip.family === 'ipv4' && (ip.n === 0xffffffff || ip.n === 0);
}
