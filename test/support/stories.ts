// Small rulesets that tell the stories several test files check from their
// own side (core, API, CLI): one copy each, written in the shape their
// owners give them, with documentation addresses.

/**
 * A Docker 29 host with the nftables backend: its `ip docker-bridges` table publishes
 * 172.17.0.2:80 as port 8080 (the shape Docker 29 writes).
 */
export const DOCKER29_NFT = `table ip docker-bridges {
\tmap filter-forward-in-jumps {
\t\ttype ifname : verdict
\t\telements = { "docker0" : jump filter-forward-in__docker0 }
\t}

\tchain filter-FORWARD {
\t\ttype filter hook forward priority filter; policy accept;
\t\toifname vmap @filter-forward-in-jumps
\t}

\tchain nat-PREROUTING {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tfib daddr type local counter jump nat-prerouting-and-output
\t}

\tchain nat-prerouting-and-output {
\t\tiifname != "docker0" tcp dport 8080 counter dnat to 172.17.0.2:80 comment "DNAT"
\t}

\tchain filter-forward-in__docker0 {
\t\tct state established,related counter accept
\t\tiifname "docker0" counter accept comment "ICC"
\t\tip daddr 172.17.0.2 tcp dport 80 counter accept comment "PUBLISHED PORT"
\t\tcounter drop comment "UNPUBLISHED PORT DROP"
\t}
}
`;

/** An iptables filter table with the given FORWARD policy and no rules (Docker's old FORWARD DROP). */
export const iptablesForward = (policy: 'ACCEPT' | 'DROP'): string => `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ${policy} [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n`;

/** The Docker host's interfaces and routes. */
export const DOCKER_HOST = {
  interfaces: [
    { name: 'eth0', addresses: ['203.0.113.10/24'] },
    { name: 'docker0', addresses: ['172.17.0.1/16'] },
  ],
  routes: [{ dst: 'default', via: '203.0.113.1', dev: 'eth0' }],
  forwarding: true,
};

/** A client on the internet connecting to the published port. */
export const DOCKER_CLIENT = { src: '198.51.100.7', dst: '203.0.113.10', protocol: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0' };

/** kube-proxy in iptables mode: Service 203.0.113.80:80 with two endpoints of 50% each. */
export const KUBE_WEB_IPTABLES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-SERVICES -d 203.0.113.80/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SVC-WEB -j KUBE-SEP-B
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 198.51.100.11:8080
-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 198.51.100.12:8080
COMMIT
`;

/** kube-proxy in iptables mode for the pod network 10.244.0.0/16 (its masquerade exemption), Service default/web (10.96.0.80:80, one endpoint), and a FORWARD accept for the pods. */
export const KUBE_POD_IPTABLES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-SERVICES ! -s 10.244.0.0/16 -d 10.96.0.80/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -d 10.96.0.80/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB -m comment --comment "default/web -> 10.244.2.5:8080" -j KUBE-SEP-A
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.2.5:8080
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 10.244.0.0/16 -j ACCEPT
COMMIT
`;

/** firewalld's inet table with a forward chain of the given policy, after the filter priority. */
export const firewalldForward = (policy: 'accept' | 'drop', rules = ''): string => `table inet firewalld {
\tchain filter_FORWARD {
\t\ttype filter hook forward priority filter + 10; policy ${policy};
\t\tct state established,related accept
${rules}\t}
}
`;

/** A node whose pods are 10.244.0.0/16, reached through eth0. */
export const POD_NODE_HOST = { interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }], routes: [{ dst: 'default', via: '192.0.2.1', dev: 'eth0' }, { dst: '10.244.0.0/16', dev: 'eth0' }], forwarding: true };

/**
 * The same Service in kube-proxy's nftables mode (its `service-ips` map, a service chain, two
 * endpoint chains); `service` is the service chain's body (a numgen vmap over both endpoints, or
 * fewer), `elements` the map's elements (a `service-dns` chain is there for a second Service).
 */
export const kubeWebNft = (service: string, elements = '203.0.113.80 . tcp . 80 : goto service-web'): string => `table ip kube-proxy {
\tmap service-ips {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict
\t\telements = { ${elements} }
\t}
\tchain nat-prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr . meta l4proto . th dport vmap @service-ips
\t}
\tchain service-web {
${service}\t}
\tchain service-dns {
\t\tgoto endpoint-a
\t}
\tchain endpoint-a {
\t\tmeta l4proto tcp dnat to 198.51.100.11:8080
\t}
\tchain endpoint-b {
\t\tmeta l4proto tcp dnat to 198.51.100.12:8080
\t}
}
`;

/** kube-proxy's service chain body spreading over both endpoints, as it writes it. */
export const BOTH_ENDPOINTS = '\t\tnumgen random mod 2 vmap { 0 : goto endpoint-a, 1 : goto endpoint-b }\n';

/** A node that routes the endpoints' network 198.51.100.0/24 out of eth0. */
export const ENDPOINT_NODE_HOST = { interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }], routes: [{ dst: 'default', via: '192.0.2.1', dev: 'eth0' }, { dst: '198.51.100.0/24', dev: 'eth0' }], forwarding: true };
