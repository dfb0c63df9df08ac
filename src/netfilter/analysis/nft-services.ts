// kube-proxy's nftables mode read back into Services (pkg/proxy/nftables,
// Kubernetes >= 1.31 layout): the `service-ips` and `service-nodeports`
// verdict maps name each Service port's chain, the chain's `numgen random`
// vmap its endpoints, each endpoint chain its `dnat`, and
// `no-endpoint-services` / `no-endpoint-nodeports` the ports without
// endpoints. The same KubeService shape as the iptables mode's.
import type { KubeService, ServiceEndpoint } from './query.ts';
import type { NftChain, NftElement, NftExpr, NftStmt, NftTable, NftRuleset } from '../nftables/model.ts';

/** `service-HASH-ns/name/proto/port` (or `external-`/`endpoint-`...) → its parts. */
function chainParts(name: string): { kind: string; namespace: string; service: string; protocol: string; portName: string; endpoint?: { ip: string; port: number } } | undefined {
  const m = /^(service|external|endpoint|firewall)-[A-Z0-9]{8}-([^/]+)\/([^/]+)\/([^/]+)\/([^_]*)(?:__(.+)\/(\d+))?$/.exec(name);
  if (!m) return undefined;
  return {
    kind: m[1]!,
    namespace: m[2]!,
    service: m[3]!,
    protocol: m[4]!,
    portName: m[5]!,
    ...(m[6] ? { endpoint: { ip: m[6], port: Number(m[7]) } } : {}),
  };
}

const literal = (e: NftExpr | undefined): string | undefined => (e?.kind === 'literal' ? String(e.value) : undefined);

function keyParts(el: NftElement): string[] {
  const k = el.key.kind === 'elem' ? el.key.value : el.key;
  return k.kind === 'concat' ? k.items.map((x) => literal(x) ?? '') : [literal(k) ?? ''];
}

const gotoTarget = (el: NftElement): string | undefined => (el.data?.kind === 'verdict' && (el.data.verdict === 'goto' || el.data.verdict === 'jump') ? el.data.target : undefined);

interface Mutable {
  namespace: string;
  service: string;
  portName: string;
  protocol: string | null;
  clusterIP: string | null;
  port: number | null;
  nodePort: number | null;
  externalIPs: string[];
  svcChain: string | null;
  extChain: string | null;
  masqueradeRules: { table: string; chain: string; position: number }[];
  noEndpointRules: { table: string; chain: string; position: number }[];
}

/** The Services of every `kube-proxy` table (ip and ip6) of the ruleset. */
export function extractNftServices(ruleset: NftRuleset): KubeService[] {
  const out: KubeService[] = [];
  for (const t of ruleset.tables) if (t.name === 'kube-proxy' && (t.family === 'ip' || t.family === 'ip6')) out.push(...servicesOf(t));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function servicesOf(t: NftTable): KubeService[] {
  const chains = new Map(t.chains.map((c) => [c.name, c]));
  const byName = new Map<string, Mutable>();
  const get = (ns: string, svc: string, portName: string, protocol: string): Mutable => {
    const key = `${ns}/${svc}:${portName}:${protocol}`;
    let m = byName.get(key);
    if (!m) {
      m = { namespace: ns, service: svc, portName, protocol, clusterIP: null, port: null, nodePort: null, externalIPs: [], svcChain: null, extChain: null, masqueradeRules: [], noEndpointRules: [] };
      byName.set(key, m);
    }
    return m;
  };
  const set = (name: string) => t.sets.find((s) => s.name === name);
  const clusterIPs = new Set((set('cluster-ips')?.elements ?? []).map((e) => keyParts(e)[0]!));
  for (const el of set('service-ips')?.elements ?? []) {
    const target = gotoTarget(el);
    const p = target ? chainParts(target) : undefined;
    if (!p) continue;
    const [ip, proto, port] = keyParts(el);
    const m = get(p.namespace, p.service, p.portName, p.protocol);
    if (p.kind === 'service' && (clusterIPs.size === 0 || clusterIPs.has(ip!))) {
      m.clusterIP = ip ?? null;
      m.port = port !== undefined ? Number(port) : null;
      m.svcChain = target!;
    } else {
      m.externalIPs.push(ip!);
      m.extChain = target!;
      m.port ??= port !== undefined ? Number(port) : null;
    }
    m.protocol = proto ?? m.protocol;
  }
  for (const el of set('service-nodeports')?.elements ?? []) {
    const target = gotoTarget(el);
    const p = target ? chainParts(target) : undefined;
    if (!p) continue;
    const [, port] = keyParts(el);
    const m = get(p.namespace, p.service, p.portName, p.protocol);
    m.nodePort = port !== undefined ? Number(port) : null;
    m.extChain = target!;
  }
  // Ports without endpoints: the element's comment is "ns/name:port".
  for (const mapName of ['no-endpoint-services', 'no-endpoint-nodeports']) {
    const map = set(mapName);
    for (const [i, el] of (map?.elements ?? []).entries()) {
      const c = /^([^/]+)\/([^:]+):(.*)$/.exec(el.comment ?? '');
      if (!c) continue;
      const parts = keyParts(el);
      const proto = parts.length === 3 ? parts[1]! : parts[0]!;
      const m = get(c[1]!, c[2]!, c[3]!, proto);
      if (parts.length === 3) {
        m.clusterIP ??= clusterIPs.has(parts[0]!) ? parts[0]! : null;
        m.port ??= Number(parts[2]);
      } else m.nodePort ??= Number(parts[1]);
      m.noEndpointRules.push({ table: t.name, chain: mapName, position: i + 1 });
    }
  }
  return [...byName.values()].map((m) => {
    const svc = m.svcChain ? chains.get(m.svcChain) : undefined;
    for (const c of [svc, m.extChain ? chains.get(m.extChain) : undefined]) {
      for (const r of c?.rules ?? []) if (jumpsTo(r.stmts, 'mark-for-masquerade')) m.masqueradeRules.push({ table: t.name, chain: c!.name, position: r.position });
    }
    return {
      name: `${m.namespace}/${m.service}:${m.portName}`,
      namespace: m.namespace,
      service: m.service,
      portName: m.portName,
      protocol: m.protocol,
      clusterIP: m.clusterIP,
      port: m.port,
      nodePort: m.nodePort,
      externalIPs: m.externalIPs,
      loadBalancerIPs: [],
      svcChain: m.svcChain,
      extChain: m.extChain,
      endpoints: svc ? endpointsOf(svc, chains) : [],
      masqueradeRules: m.masqueradeRules as unknown as KubeService['masqueradeRules'],
      noEndpointRules: m.noEndpointRules as unknown as KubeService['noEndpointRules'],
    };
  });
}

function jumpsTo(stmts: readonly NftStmt[], chain: string): boolean {
  return stmts.some((s) => s.kind === 'verdict' && (s.verdict === 'jump' || s.verdict === 'goto') && s.target === chain);
}

/** The service chain's endpoints: one `goto endpoint-...`, or a `numgen random mod N vmap` of them (1/N each). */
function endpointsOf(svc: NftChain, chains: ReadonlyMap<string, NftChain>): ServiceEndpoint[] {
  const targets: { chain: string; p: number }[] = [];
  for (const r of svc.rules) {
    for (const s of r.stmts) {
      if (s.kind === 'vmap' && s.key.kind === 'numgen' && s.data.kind === 'set') {
        const n = s.data.elements.length;
        for (const el of s.data.elements) {
          const target = gotoTarget(el);
          if (target) targets.push({ chain: target, p: 1 / n });
        }
      } else if (s.kind === 'verdict' && s.verdict === 'goto' && s.target.startsWith('endpoint-')) targets.push({ chain: s.target, p: 1 });
    }
  }
  return targets.map(({ chain, p }) => {
    const c = chains.get(chain);
    const dnat = c?.rules.flatMap((r) => r.stmts).find((s): s is NftStmt & { kind: 'nat' } => s.kind === 'nat' && s.type === 'dnat');
    const fromName = chainParts(chain)?.endpoint;
    const ip = literal(dnat?.addr) ?? fromName?.ip ?? null;
    const portText = literal(dnat?.port);
    return {
      chain,
      ip,
      port: portText !== undefined ? Number(portText) : fromName?.port ?? null,
      probability: p,
      ruleProbability: p === 1 ? null : `1/${Math.round(1 / p)}`,
      hairpinMasquerade: (c?.rules ?? []).some((r) => jumpsTo(r.stmts, 'mark-for-masquerade')),
    };
  });
}
