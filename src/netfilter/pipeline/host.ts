// The node's network: interfaces, addresses, routes, forwarding and ipsets.
// Built from the host file of the CLI/trace contract, which also accepts
// `ip -j addr` / `ip -j route` output.
import type { Family } from './family.ts';
import { broadcastOf, cidrContains, formatIp, hostPrefix, ipEquals, isLimitedBroadcast, isMulticast, parseCidr, parseIp, type Cidr, type Ip } from './addr.ts';
import { parseIpsets, type IpSet } from './ipset.ts';

export interface HostAddress extends Cidr {
  readonly text: string;
}

export interface HostInterface {
  readonly name: string;
  readonly addresses: readonly HostAddress[];
  readonly mac?: string;
}

export type RouteType = 'unicast' | 'local' | 'blackhole' | 'unreachable' | 'prohibit' | 'broadcast' | 'throw';

export interface Route {
  readonly dst: Cidr;
  readonly dstText: string;
  readonly type: RouteType;
  readonly via?: Ip;
  readonly dev?: string;
  readonly onlink: boolean;
  readonly metric: number;
  readonly src?: Ip;
  /** True for routes the kernel adds itself (connected subnets, local addresses). */
  readonly implicit: boolean;
}

export interface Host {
  readonly interfaces: readonly HostInterface[];
  readonly routes: readonly Route[];
  readonly forwarding: { readonly ipv4: boolean; readonly ipv6: boolean };
  readonly ipsets: ReadonlyMap<string, IpSet>;
  /** False when no host file was given: the simulator then states what it assumed. */
  readonly known: boolean;
  /** Whether conntrack runs on the node; when absent, it runs if the ruleset needs it. */
  readonly conntrack?: boolean;
  /** The iptables backend: nft (default, what iptables 1.8 uses) or legacy; they order INPUT's tables differently. */
  readonly backend?: 'nft' | 'legacy';
  readonly assumptions: readonly string[];
  /**
   * net.ipv4.conf.*.route_localnet: 127.0.0.0/8 may arrive from outside lo
   * when `all` or the in-interface has it on. Undefined when not known.
   */
  readonly routeLocalnet?: { readonly all: boolean; readonly interfaces: readonly string[] };
  /** Without a host file: addresses a trace path has taken to be none of the node's own (see assumeAddress). */
  readonly notLocal?: readonly Ip[];
}

/** An address a trace path without a host file takes to be, or not to be, one of the node's own. */
export interface AddressFact {
  readonly address: Ip;
  readonly local: boolean;
}

export interface HostFileRoute {
  dst: string;
  via?: string;
  gateway?: string;
  dev?: string;
  type?: string;
  onlink?: boolean;
  flags?: string[];
  metric?: number;
  prefsrc?: string;
  src?: string;
  /** `inet6`/`ipv6` for an IPv6 route (the agent tags `ip -6 route` entries): `default` without a gateway says no family itself. */
  family?: string;
}

export interface HostFile {
  interfaces?: { name: string; addresses?: string[]; mac?: string }[];
  routes?: HostFileRoute[];
  addr?: { ifname: string; address?: string; addr_info?: { family: string; local: string; prefixlen: number }[] }[];
  route?: HostFileRoute[];
  forwarding?: boolean | { ipv4?: boolean; ipv6?: boolean };
  forwarding6?: boolean;
  ipsets?: string | Record<string, string[]>;
  conntrack?: boolean;
  backend?: 'nft' | 'legacy';
  /** net.ipv4.conf.all.route_localnet (true/false), or `{all, interfaces}` naming the interfaces that have it on. */
  routeLocalnet?: boolean | { all?: boolean; interfaces?: string[] };
}

export type HostResult = { ok: true; host: Host; warnings: string[] } | { ok: false; errors: string[] };

const LOOPBACK: HostInterface = {
  name: 'lo',
  addresses: [
    { ...parseCidr('127.0.0.1/8')!, text: '127.0.0.1/8' },
    { ...parseCidr('::1/128')!, text: '::1/128' },
  ],
};

/** Builds a host from a parsed host-file JSON object. */
export function buildHost(input: unknown): HostResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, errors: ['host file must be a JSON object'] };
  const f = input as HostFile;
  const interfaces: HostInterface[] = [];
  const addIface = (name: string, addrs: string[], mac?: string): void => {
    const addresses: HostAddress[] = [];
    for (const a of addrs) {
      const c = parseCidr(a);
      if (!c) errors.push(`interface ${name}: "${a}" is not an address/prefix`);
      else addresses.push({ ...c, text: a.includes('/') ? a : `${a}/${c.prefix}` });
    }
    const existing = interfaces.findIndex((i) => i.name === name);
    if (existing >= 0) interfaces[existing] = { ...interfaces[existing]!, addresses: [...interfaces[existing]!.addresses, ...addresses] };
    else interfaces.push({ name, addresses, ...(mac ? { mac } : {}) });
  };
  if (Array.isArray(f.interfaces)) {
    for (const i of f.interfaces) {
      if (typeof i?.name !== 'string') {
        errors.push('every interface needs a "name"');
        continue;
      }
      addIface(i.name, Array.isArray(i.addresses) ? i.addresses : [], i.mac);
    }
  }
  if (Array.isArray(f.addr)) {
    for (const i of f.addr) {
      if (typeof i?.ifname !== 'string') continue;
      const addrs = (i.addr_info ?? []).filter((a) => a.family === 'inet' || a.family === 'inet6').map((a) => `${a.local}/${a.prefixlen}`);
      addIface(i.ifname, addrs, i.address);
    }
  }
  if (!interfaces.some((i) => i.name === 'lo')) {
    interfaces.unshift(LOOPBACK);
  }
  const routes: Route[] = [];
  for (const r of [...(f.routes ?? []), ...(f.route ?? [])]) {
    const route = toRoute(r, errors);
    if (route) routes.push(route);
  }
  routes.push(...implicitRoutes(interfaces, routes));
  const fw = f.forwarding;
  const forwarding = {
    ipv4: typeof fw === 'object' && fw !== null ? fw.ipv4 ?? false : fw ?? false,
    ipv6: typeof fw === 'object' && fw !== null ? fw.ipv6 ?? false : f.forwarding6 ?? (typeof fw === 'boolean' ? fw : false),
  };
  if (fw === undefined) warnings.push('host file does not say whether forwarding is on; assuming it is off, as the kernel defaults');
  let ipsets: ReadonlyMap<string, IpSet> = new Map();
  if (typeof f.ipsets === 'string') {
    const parsed = parseIpsets(f.ipsets);
    ipsets = parsed.sets;
    warnings.push(...parsed.warnings);
  } else if (f.ipsets && typeof f.ipsets === 'object') {
    const text = Object.entries(f.ipsets).map(([name, members]) => [`create ${name} hash:net`, ...members.map((m) => `add ${name} ${m}`)].join('\n')).join('\n');
    ipsets = parseIpsets(text).sets;
  }
  const routeLocalnet = readRouteLocalnet(f.routeLocalnet, errors);
  if (errors.length) return { ok: false, errors };
  return { ok: true, host: { interfaces, routes, forwarding, ipsets, known: true, assumptions: warnings, ...(routeLocalnet ? { routeLocalnet } : {}), ...(typeof f.conntrack === 'boolean' ? { conntrack: f.conntrack } : {}), ...(f.backend === 'legacy' || f.backend === 'nft' ? { backend: f.backend } : {}) }, warnings };
}

function readRouteLocalnet(v: HostFile['routeLocalnet'], errors: string[]): Host['routeLocalnet'] {
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return { all: v, interfaces: [] };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const interfaces = Array.isArray(v.interfaces) ? v.interfaces.filter((i): i is string => typeof i === 'string') : [];
    return { all: v.all === true, interfaces };
  }
  errors.push('"routeLocalnet" must be true, false or {"all": bool, "interfaces": [names]}');
  return undefined;
}

/** Whether 127.0.0.0/8 may arrive on this interface (IN_DEV_NET_ROUTE_LOCALNET), or undefined when not known. */
export function routeLocalnetOn(host: Host, iface: string | null): boolean | undefined {
  if (!host.routeLocalnet) return undefined;
  return host.routeLocalnet.all || (iface !== null && host.routeLocalnet.interfaces.includes(iface));
}

function toRoute(r: HostFileRoute, errors: string[]): Route | undefined {
  if (typeof r?.dst !== 'string') {
    errors.push('every route needs a "dst"');
    return undefined;
  }
  const viaText = r.via ?? r.gateway;
  const via = viaText !== undefined ? parseIp(viaText) : undefined;
  if (viaText !== undefined && !via) errors.push(`route ${r.dst}: bad gateway "${viaText}"`);
  let dstText = r.dst;
  if (dstText === 'default') {
    const v6 = r.family === 'inet6' || r.family === 'ipv6' || via?.family === 'ipv6' || (r.dev === undefined && viaText?.includes(':'));
    dstText = v6 ? '::/0' : '0.0.0.0/0';
  }
  const dst = parseCidr(dstText);
  if (!dst) {
    errors.push(`route: "${r.dst}" is not a destination`);
    return undefined;
  }
  const type = (r.type ?? 'unicast') as RouteType;
  if (!['unicast', 'local', 'blackhole', 'unreachable', 'prohibit', 'broadcast', 'throw'].includes(type)) {
    errors.push(`route ${r.dst}: unknown type "${r.type}"`);
    return undefined;
  }
  const srcText = r.prefsrc ?? r.src;
  const src = srcText ? parseIp(srcText) : undefined;
  return {
    dst,
    dstText: r.dst === 'default' ? 'default' : dstText,
    type,
    ...(via ? { via } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
    onlink: r.onlink === true || (r.flags ?? []).includes('onlink'),
    metric: r.metric ?? 0,
    ...(src ? { src } : {}),
    implicit: false,
  };
}

/** The routes the kernel adds for each address: local, broadcast and the connected subnet. */
function implicitRoutes(interfaces: readonly HostInterface[], explicit: readonly Route[]): Route[] {
  const out: Route[] = [];
  for (const i of interfaces) {
    for (const a of i.addresses) {
      const bits = hostPrefix(a.ip.family);
      out.push({ dst: { ip: a.ip, prefix: i.name === 'lo' ? a.prefix : bits }, dstText: formatIp(a.ip), type: 'local', dev: i.name, onlink: false, metric: 0, src: a.ip, implicit: true });
      const b = broadcastOf(a);
      if (b) out.push({ dst: { ip: b, prefix: 32 }, dstText: formatIp(b), type: 'broadcast', dev: i.name, onlink: false, metric: 0, src: a.ip, implicit: true });
      if (a.prefix < bits && i.name !== 'lo') {
        const already = explicit.some((r) => r.dst.prefix === a.prefix && cidrContains(r.dst, a.ip) && r.dev === i.name && !r.via);
        if (!already) out.push({ dst: { ip: a.ip, prefix: a.prefix }, dstText: `${formatIp(a.ip)}/${a.prefix}`, type: 'unicast', dev: i.name, onlink: false, metric: 0, src: a.ip, implicit: true });
      }
    }
  }
  return out;
}

/** A host used when no host file is given. */
export function assumedHost(): Host {
  return {
    interfaces: [LOOPBACK],
    routes: implicitRoutes([LOOPBACK], []),
    forwarding: { ipv4: true, ipv6: true },
    ipsets: new Map(),
    known: false,
    assumptions: [],
  };
}

/**
 * The assumed host once a path has taken `fact`: a local address gets the
 * local route the kernel would have for it (on the assumed "eth0"), so that
 * addrtype and routing agree with the assumption for the rest of the path.
 */
export function assumeAddress(host: Host, fact: AddressFact): Host {
  const ip = fact.address;
  if (isAssumedAddress(host, ip)) return host; // the path took it one way already
  if (!fact.local) return { ...host, notLocal: [...(host.notLocal ?? []), ip] };
  const route: Route = { dst: { ip, prefix: hostPrefix(ip.family) }, dstText: formatIp(ip), type: 'local', dev: 'eth0', onlink: false, metric: 0, src: ip, implicit: true };
  return { ...host, routes: [route, ...host.routes] };
}

/** Whether a path without a host file has already taken `ip` to be local or not. */
export function isAssumedAddress(host: Host, ip: Ip): boolean {
  return (host.notLocal ?? []).some((a) => ipEquals(a, ip)) || host.routes.some((r) => r.type === 'local' && r.dst.prefix === hostPrefix(ip.family) && ipEquals(r.dst.ip, ip));
}

export interface RouteDecision {
  readonly type: RouteType;
  readonly route?: Route;
  /** Output device, for unicast and local routes. */
  readonly dev?: string;
  readonly via?: Ip;
}

/** The kernel's lookup: the local table first, then the main table by longest prefix and metric. */
export function lookupRoute(host: Host, dst: Ip): RouteDecision | undefined {
  let best: Route | undefined;
  for (const r of host.routes) {
    if (r.type !== 'local' && r.type !== 'broadcast') continue;
    if (cidrContains(r.dst, dst) && (!best || r.dst.prefix > best.dst.prefix)) best = r;
  }
  if (!best) {
    for (const r of host.routes) {
      if (r.type === 'local' || r.type === 'broadcast') continue;
      if (!cidrContains(r.dst, dst)) continue;
      if (!best || r.dst.prefix > best.dst.prefix || (r.dst.prefix === best.dst.prefix && r.metric < best.metric)) best = r;
    }
  }
  if (!best) return undefined;
  const d: { type: RouteType; route: Route; dev?: string; via?: Ip } = { type: best.type, route: best };
  if (best.dev) d.dev = best.dev;
  if (best.via) d.via = best.via;
  return d;
}

export type AddrType = 'LOCAL' | 'UNICAST' | 'BROADCAST' | 'MULTICAST' | 'BLACKHOLE' | 'UNREACHABLE' | 'PROHIBIT' | 'UNSPEC' | 'ANYCAST' | 'THROW' | 'NAT' | 'XRESOLVE';

/** addrtype's view of an address (inet_dev_addr_type: the local table only). */
export function addressType(host: Host, ip: Ip, dev?: string): AddrType {
  if (ip.family === 'ipv4') {
    if (isLimitedBroadcast(ip)) return 'BROADCAST';
    if (isMulticast(ip)) return 'MULTICAST';
    for (const r of host.routes) {
      if ((r.type === 'local' || r.type === 'broadcast') && cidrContains(r.dst, ip)) {
        if (dev !== undefined && r.dev !== dev) return 'UNICAST';
        return r.type === 'local' ? 'LOCAL' : 'BROADCAST';
      }
    }
    return 'UNICAST';
  }
  if (isMulticast(ip)) return 'MULTICAST';
  for (const r of host.routes) {
    if (r.type === 'local' && cidrContains(r.dst, ip) && (dev === undefined || r.dev === dev || r.dev === 'lo')) return 'LOCAL';
  }
  const route = lookupRoute(host, ip);
  if (!route) return 'UNREACHABLE';
  if (route.type === 'blackhole') return 'BLACKHOLE';
  if (route.type === 'unreachable') return 'UNREACHABLE';
  if (route.type === 'prohibit') return 'PROHIBIT';
  return 'UNICAST';
}

export function findInterface(host: Host, name: string): HostInterface | undefined {
  return host.interfaces.find((i) => i.name === name);
}

/**
 * The address a packet leaving `dev` gets from MASQUERADE: the first address of dev in the next hop's subnet, else the first
 * (inet_select_addr; the route's prefsrc is not consulted - checked against the kernel).
 */
export function sourceAddressFor(host: Host, dev: string, family: Family, nextHop?: Ip, _route?: Route): Ip | undefined {
  const iface = findInterface(host, dev);
  const addrs = (iface?.addresses ?? []).filter((a) => a.ip.family === family);
  if (nextHop) {
    const inSubnet = addrs.find((a) => cidrContains(a, nextHop));
    if (inSubnet) return inSubnet.ip;
  }
  return addrs[0]?.ip;
}

export function isLocalAddress(host: Host, ip: Ip): boolean {
  return lookupRoute(host, ip)?.type === 'local';
}
