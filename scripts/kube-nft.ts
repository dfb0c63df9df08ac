// Generates a kube-proxy nftables-mode ruleset (Kubernetes >= 1.31 layout) of
// N Services with E endpoints each, as `nft -f` text and as the libnftables
// JSON `nft -j list ruleset` prints for it. For benchmarks and tests.

export interface KubeNft {
  readonly text: string;
  readonly json: string;
  /** A ClusterIP:port of the last Service, for traces. */
  readonly probe: { readonly ip: string; readonly port: number };
}

const ip4 = (base: number, i: number): string => [(base >>> 24) & 255, (base >>> 16) & 255, ((base >>> 8) + (i >>> 8)) & 255, i & 255].join('.');
const hash = (i: number): string => (i * 2654435761 >>> 0).toString(36).toUpperCase().padStart(8, 'X').slice(0, 8);

export function generateKubeNft(options: { services: number; endpoints?: number }): KubeNft {
  const n = options.services;
  const e = options.endpoints ?? 5;
  const CLUSTER = 0x0a600000; // 10.96.0.0
  const PODS = 0x0af40000; // 10.244.0.0
  const T = { family: 'ip', table: 'kube-proxy' };
  const items: unknown[] = [{ metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } }, { table: { family: 'ip', name: 'kube-proxy', handle: 1 } }];
  let handle = 2;
  const text: string[] = ['table ip kube-proxy {', '\tcomment "rules for kube-proxy"'];
  const chain = (name: string, base?: { type: string; hook: string; prio: number }): void => {
    items.push({ chain: { ...T, name, handle: handle++, ...(base ? { type: base.type, hook: base.hook, prio: base.prio, policy: 'accept' } : {}) } });
  };
  const rule = (chainName: string, expr: unknown[]): void => void items.push({ rule: { ...T, chain: chainName, handle: handle++, expr } });
  const svcElems: unknown[] = [];
  const svcText: string[] = [];
  const clusterIps: string[] = [];
  const chainsText: string[] = [];
  const daddr = { payload: { protocol: 'ip', field: 'daddr' } };
  const key = { concat: [daddr, { meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] };
  for (let i = 0; i < n; i++) {
    const cip = ip4(CLUSTER, i + 1);
    const name = `ns${i % 50}/svc${i}/tcp/http`;
    const svc = `service-${hash(i)}-${name}`;
    clusterIps.push(cip);
    svcElems.push([{ concat: [cip, 'tcp', 80] }, { goto: { target: svc } }]);
    svcText.push(`${cip} . tcp . 80 : goto ${svc}`);
    const eps: string[] = [];
    for (let k = 0; k < e; k++) {
      const pod = ip4(PODS, (i * e + k) % 65000 + 2);
      const ep = `endpoint-${hash(i * 31 + k)}-${name}__${pod}/8080`;
      eps.push(ep);
      chain(ep);
      rule(ep, [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: pod } }, { jump: { target: 'mark-for-masquerade' } }]);
      rule(ep, [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } }, { dnat: { addr: pod, port: 8080 } }]);
      chainsText.push(`\tchain ${ep} {`, `\t\tip saddr ${pod} jump mark-for-masquerade`, `\t\tmeta l4proto tcp dnat to ${pod}:8080`, '\t}');
    }
    chain(svc);
    rule(svc, [{ match: { op: '==', left: daddr, right: cip } }, { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } }, { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.244.0.0', len: 16 } } } }, { jump: { target: 'mark-for-masquerade' } }]);
    rule(svc, [{ vmap: { key: { numgen: { mode: 'random', mod: e, offset: 0 } }, data: { set: eps.map((ep, k) => [k, { goto: { target: ep } }]) } } }]);
    chainsText.push(`\tchain ${svc} {`, `\t\tip daddr ${cip} tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade`, `\t\tnumgen random mod ${e} vmap { ${eps.map((ep, k) => `${k} : goto ${ep}`).join(', ')} }`, '\t}');
  }
  items.splice(2, 0, { set: { ...T, name: 'cluster-ips', type: 'ipv4_addr', handle: handle++, comment: 'Active ClusterIPs', elem: clusterIps } }, { map: { ...T, name: 'service-ips', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: handle++, map: 'verdict', comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic', elem: svcElems } });
  chain('nat-prerouting', { type: 'nat', hook: 'prerouting', prio: -100 });
  rule('nat-prerouting', [{ jump: { target: 'services' } }]);
  chain('nat-postrouting', { type: 'nat', hook: 'postrouting', prio: 100 });
  rule('nat-postrouting', [{ jump: { target: 'masquerading' } }]);
  chain('services');
  rule('services', [{ vmap: { key, data: '@service-ips' } }]);
  chain('mark-for-masquerade');
  rule('mark-for-masquerade', [{ mangle: { key: { meta: { key: 'mark' } }, value: { '|': [{ meta: { key: 'mark' } }, 16384] } } }]);
  chain('masquerading');
  rule('masquerading', [{ match: { op: '==', left: { '&': [{ meta: { key: 'mark' } }, 16384] }, right: 0 } }, { return: null }]);
  rule('masquerading', [{ mangle: { key: { meta: { key: 'mark' } }, value: { '^': [{ meta: { key: 'mark' } }, 16384] } } }]);
  rule('masquerading', [{ masquerade: { flags: ['fully-random'] } }]);
  text.push(
    '\tset cluster-ips {',
    '\t\ttype ipv4_addr',
    '\t\tcomment "Active ClusterIPs"',
    `\t\telements = { ${clusterIps.join(', ')} }`,
    '\t}',
    '\tmap service-ips {',
    '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
    '\t\tcomment "ClusterIP, ExternalIP and LoadBalancer IP traffic"',
    `\t\telements = { ${svcText.join(',\n\t\t\t')} }`,
    '\t}',
    '\tchain mark-for-masquerade {',
    '\t\tmeta mark set meta mark | 0x00004000',
    '\t}',
    '\tchain masquerading {',
    '\t\tmeta mark & 0x00004000 == 0x00000000 return',
    '\t\tmeta mark set meta mark ^ 0x00004000',
    '\t\tmasquerade fully-random',
    '\t}',
  );
  // Pushed one by one: spreading 100k+ lines into push() overflows the stack.
  for (const line of chainsText) text.push(line);
  text.push(
    '\tchain services {',
    '\t\tip daddr . meta l4proto . th dport vmap @service-ips',
    '\t}',
    '\tchain nat-prerouting {',
    '\t\ttype nat hook prerouting priority dstnat; policy accept;',
    '\t\tjump services',
    '\t}',
    '\tchain nat-postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    '\t\tjump masquerading',
    '\t}',
    '}',
    '',
  );
  return { text: text.join('\n'), json: JSON.stringify({ nftables: items }), probe: { ip: clusterIps[clusterIps.length - 1]!, port: 80 } };
}
