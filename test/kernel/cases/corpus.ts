// Differential cases built from the real-world dumps in shared/corpus. The dump text is
// read at run time from the directory passed in (it is never copied into this repo); what
// lives here is only a plausible host for each dump and the packets that exercise it.
// Interface names follow the dumps (wildcards made concrete: vif+ -> vif112.0, cali+ ->
// cali12d4a061371); addresses are the dumps' own where the rules imply them, otherwise
// documentation ranges. Not covered: dumps whose restore needs ipset contents
// (serverfault-759927), IPv6 dumps, lossy `iptables -L` without -v, nft and ipvsadm.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDump } from '../../../src/netfilter/index.ts';
import type { CaseHost, CasePacket, DiffCase } from '../differential.ts';

interface CorpusCaseDef {
  /** path below the corpus directory */
  file: string;
  name: string;
  host: CaseHost;
  packets: CasePacket[];
}

// ---------------------------------------------------------------------------------
// docker (modern): published ports bypass INPUT drops

const DOCKER_PUBLISH: CorpusCaseDef = {
  file: 'iptables-save/docker-publish-bypasses-input-drop-fixture.txt',
  name: 'corpus docker-publish-bypasses-input-drop',
  host: {
    interfaces: [
      { name: 'eth0', addresses: ['203.0.113.10/24'] },
      { name: 'docker0', addresses: ['172.17.0.1/16'] },
    ],
    routes: [{ dst: 'default', via: '203.0.113.1', dev: 'eth0' }],
    forwarding: true,
  },
  packets: [
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'tcp', dport: 8080, note: 'published 8080 -> 172.17.0.2:80 via FORWARD despite INPUT drop' },
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'tcp', dport: 3306, note: 'published 3306 -> 172.17.0.3' },
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'tcp', dport: 22, note: 'ssh accepted in INPUT' },
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'tcp', dport: 80, note: 'INPUT drop 80' },
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'tcp', dport: 8081, note: 'INPUT policy ACCEPT' },
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'icmp', note: 'ping the host' },
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'tcp', dport: 8080, tcpFlags: 'RST', note: 'RST without a connection: conntrack INVALID, so no DNAT' },
    { from: 'eth0', src: '198.51.100.20', dst: '172.17.0.1', proto: 'tcp', dport: 8080, note: 'docker0 address from outside is LOCAL too: DNAT' },
    { from: 'eth0', src: '198.51.100.20', dst: '203.0.113.10', proto: 'tcp', dport: 8080, ttl: 1, note: 'DNATed but TTL 1: dropped before FORWARD' },
    { from: 'eth0', src: '198.51.100.20', dst: '172.17.0.2', proto: 'tcp', dport: 80, note: 'routed straight to the container port: DOCKER accepts' },
    { from: 'eth0', src: '198.51.100.20', dst: '172.17.0.2', proto: 'tcp', dport: 22, note: 'routed to an unpublished container port: FORWARD policy DROP' },
    { from: 'docker0', src: '172.17.0.2', dst: '198.51.100.20', proto: 'tcp', dport: 443, note: 'container egress, MASQUERADE' },
    { from: 'docker0', src: '172.17.0.2', dst: '172.17.0.3', proto: 'tcp', dport: 3306, note: 'container to container (docker0 -> docker0)' },
    { from: 'docker0', src: '172.17.0.3', dst: '172.17.0.1', proto: 'tcp', dport: 8080, note: 'container to host:8080, DOCKER RETURN for docker0, INPUT drop' },
    { from: 'docker0', src: '172.17.0.3', dst: '203.0.113.10', proto: 'tcp', dport: 3306, note: 'container to host public IP: no DNAT, INPUT drop' },
    { from: 'local', src: '203.0.113.10', dst: '203.0.113.10', proto: 'tcp', dport: 8080, note: 'host process to its own published port: OUTPUT DNAT' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'tcp', dport: 8080, note: 'loopback excluded from OUTPUT DOCKER' },
    { from: 'local', src: '172.17.0.1', dst: '172.17.0.2', proto: 'tcp', dport: 80, note: 'host to container' },
    { from: 'local', src: '172.17.0.1', dst: '172.17.0.1', proto: 'tcp', dport: 8080, note: 'host to the docker0 address: OUTPUT DNAT (no in-interface)' },
    { from: 'docker0', src: '172.17.0.2', dst: '172.17.0.2', proto: 'tcp', dport: 80, note: 'container to itself via the router: hairpin MASQUERADE rule' },
  ],
};

// ---------------------------------------------------------------------------------
// docker 1.12 user bridge with icc=false and a hand-written MYNET service matrix

const BR = 'br-b74b417b331f';
const DOCKER_ICC: CorpusCaseDef = {
  file: 'iptables-save/docker-icc-false-custom-policy-chain.txt',
  name: 'corpus docker-icc-false-custom-policy-chain',
  host: {
    interfaces: [
      { name: 'eth0', addresses: ['192.0.2.10/24'] },
      { name: 'docker0', addresses: ['172.17.0.1/16'] },
      { name: BR, addresses: ['10.0.0.254/8'] },
    ],
    routes: [{ dst: 'default', via: '192.0.2.1', dev: 'eth0' }],
    forwarding: true,
  },
  packets: [
    { from: BR, src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', dport: 80, note: 'MYNET allows 1 -> 2' },
    { from: BR, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', dport: 80, note: 'MYNET has no 2 -> 1: final -i br DROP' },
    { from: BR, src: '10.0.0.3', dst: '10.0.0.4', proto: 'udp', dport: 5000, note: 'MYNET allows 3 -> 4' },
    { from: BR, src: '10.0.0.3', dst: '10.0.0.1', proto: 'icmp', note: 'MYNET has no 3 -> 1' },
    { from: BR, src: '10.0.0.4', dst: '10.0.0.4', proto: 'tcp', dport: 8080, note: 'container 4 to itself through the router' },
    { from: BR, src: '10.0.0.4', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'container 4 may leave the bridge: MASQUERADE' },
    { from: BR, src: '10.0.0.1', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'container 1 only ESTABLISHED out: DROP' },
    { from: 'eth0', src: '198.51.100.7', dst: '10.0.0.1', proto: 'tcp', dport: 80, note: 'outside -> container 1 allowed by MYNET' },
    { from: 'eth0', src: '198.51.100.7', dst: '10.0.0.4', proto: 'tcp', dport: 80, note: 'outside -> 4: MYNET only ESTABLISHED, falls to FORWARD policy ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '10.0.0.2', proto: 'udp', dport: 53, note: 'outside -> 2: FORWARD policy ACCEPT' },
    { from: 'docker0', src: '172.17.0.2', dst: '10.0.0.1', proto: 'tcp', dport: 80, note: 'docker0 -> user bridge: DOCKER-ISOLATION DROP' },
    { from: BR, src: '10.0.0.4', dst: '172.17.0.2', proto: 'tcp', dport: 80, note: 'user bridge -> docker0: DOCKER-ISOLATION DROP' },
    { from: 'docker0', src: '172.17.0.2', dst: '198.51.100.7', proto: 'tcp', dport: 80, note: 'docker0 egress, MASQUERADE' },
    { from: 'docker0', src: '172.17.0.2', dst: '172.17.0.3', proto: 'tcp', dport: 80, note: 'docker0 -> docker0 ACCEPT' },
    { from: BR, src: '10.0.0.4', dst: '10.0.0.254', proto: 'tcp', dport: 22, note: 'container -> host: nat DOCKER RETURN, INPUT ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '192.0.2.10', proto: 'tcp', dport: 22, note: 'ssh to the host' },
    { from: 'local', src: '10.0.0.254', dst: '10.0.0.3', proto: 'tcp', dport: 80, note: 'host -> container' },
    { from: 'local', src: '192.0.2.10', dst: '198.51.100.7', proto: 'udp', dport: 53, note: 'host DNS' },
  ],
};

// ---------------------------------------------------------------------------------
// kubeadm 1.29 control-plane node: flannel + cri-dockerd, FORWARD policy DROP

const KUBE_NODE = '192.168.157.133';
const KUBEADM_129: CorpusCaseDef = {
  file: 'iptables-save/kubeadm-1.29-flannel-cri-dockerd.txt',
  name: 'corpus kubeadm-1.29-flannel-cri-dockerd',
  host: {
    interfaces: [
      { name: 'ens33', addresses: [`${KUBE_NODE}/24`] },
      { name: 'cni0', addresses: ['10.244.0.1/24'] },
      { name: 'flannel.1', addresses: ['10.244.0.0/32'] },
      { name: 'docker0', addresses: ['172.17.0.1/16'] },
    ],
    routes: [
      { dst: 'default', via: '192.168.157.2', dev: 'ens33' },
      { dst: '10.244.1.0/24', via: '10.244.1.0', dev: 'flannel.1', onlink: true },
    ],
    forwarding: true,
  },
  packets: [
    { from: 'cni0', src: '10.244.0.7', dst: '10.96.0.10', proto: 'udp', dport: 53, note: 'pod -> kube-dns (2 endpoints, local)' },
    { from: 'cni0', src: '10.244.0.7', dst: '10.108.64.11', proto: 'tcp', dport: 8080, note: 'pod -> service1:fileserver (3-way split, remote pods)' },
    { from: 'cni0', src: '10.244.0.7', dst: '10.108.64.11', proto: 'tcp', dport: 3000, note: 'pod -> service1:downloader' },
    { from: 'cni0', src: '10.244.0.7', dst: '10.108.64.11', proto: 'tcp', dport: 9999, note: 'pod -> unknown port of the ClusterIP: no DNAT, FLANNEL-FWD' },
    { from: 'cni0', src: '10.244.0.7', dst: '10.96.0.1', proto: 'tcp', dport: 443, note: 'pod -> kubernetes API (endpoint is this node)' },
    { from: 'cni0', src: '10.244.0.4', dst: '10.96.0.10', proto: 'udp', dport: 53, note: 'kube-dns pod -> its own service (hairpin possible)' },
    { from: 'cni0', src: '10.244.0.7', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'pod -> internet, flannel MASQUERADE' },
    { from: 'flannel.1', src: '10.244.1.4', dst: '10.244.0.4', proto: 'udp', dport: 53, note: 'remote pod -> local pod' },
    { from: 'ens33', src: '192.168.157.1', dst: '10.96.0.10', proto: 'udp', dport: 53, note: 'outside -> ClusterIP: KUBE-MARK-MASQ' },
    { from: 'ens33', src: '192.168.157.1', dst: '10.108.64.11', proto: 'tcp', dport: 8080, note: 'outside -> ClusterIP with remote endpoints: MASQUERADE to the flannel.1 address' },
    { from: 'ens33', src: '192.168.157.1', dst: '10.244.0.4', proto: 'tcp', dport: 9153, note: 'outside -> pod IP' },
    { from: 'ens33', src: '192.168.157.1', dst: '172.17.0.2', proto: 'tcp', dport: 80, note: 'outside -> docker0 container: FORWARD policy DROP' },
    { from: 'ens33', src: '192.168.157.1', dst: KUBE_NODE, proto: 'tcp', dport: 6443, note: 'apiserver on the node' },
    { from: 'ens33', src: '192.168.157.1', dst: '127.0.0.1', proto: 'tcp', dport: 10248, note: 'localnet from outside (martian)' },
    { from: 'docker0', src: '172.17.0.2', dst: '198.51.100.7', proto: 'tcp', dport: 80, note: 'docker container egress' },
    { from: 'docker0', src: '172.17.0.2', dst: '10.96.0.10', proto: 'udp', dport: 53, note: 'docker container -> ClusterIP (not a pod source: MARK-MASQ)' },
    { from: 'local', src: KUBE_NODE, dst: '10.96.0.1', proto: 'tcp', dport: 443, note: 'node -> kubernetes API ClusterIP (to itself)' },
    { from: 'local', src: KUBE_NODE, dst: '10.96.0.10', proto: 'tcp', dport: 9153, note: 'node -> kube-dns metrics' },
    { from: 'local', src: KUBE_NODE, dst: '127.0.0.1', proto: 'tcp', dport: 10248, note: 'non-loopback source to localnet: KUBE-FIREWALL DROP in OUTPUT' },
    { from: 'cni0', src: '10.244.0.7', dst: '10.96.0.10', proto: 'icmp', note: 'ping a ClusterIP: no service rule, routed out by default' },
  ],
};

// ---------------------------------------------------------------------------------
// ufw (Ubuntu, 2015)

const UFW_ME = '203.0.113.5';
const UFW_2015: CorpusCaseDef = {
  file: 'iptables-save/ufw-server1-2015.txt',
  name: 'corpus ufw-server1-2015',
  host: {
    interfaces: [
      { name: 'eth0', addresses: [`${UFW_ME}/24`] },
      { name: 'eth1', addresses: ['10.0.0.1/24'] },
    ],
    routes: [{ dst: 'default', via: '203.0.113.1', dev: 'eth0' }],
    forwarding: true,
  },
  packets: [
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'tcp', dport: 22, note: 'ufw allow 22' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'tcp', dport: 443, note: 'not allowed: LOG + INPUT policy DROP' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'tcp', dport: 445, note: 'skip-to-policy (no logging)' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'udp', dport: 60500, note: 'mosh range' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'udp', dport: 61001, note: 'just above the range' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'icmp', note: 'echo request' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'icmp', icmpType: 0, note: 'unsolicited echo reply: conntrack INVALID' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'icmp', icmpType: 11, note: 'time exceeded without a connection: conntrack INVALID' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'udp', sport: 67, dport: 68, note: 'dhcp reply' },
    { from: 'eth0', src: '188.95.233.200', dst: UFW_ME, proto: 'tcp', dport: 3306, note: 'whitelisted host' },
    { from: 'eth1', src: '10.0.0.9', dst: UFW_ME, proto: 'tcp', dport: 3306, note: 'whitelisted LAN' },
    { from: 'eth0', src: '198.51.100.7', dst: UFW_ME, proto: 'tcp', dport: 8080, tcpFlags: 'SYN,FIN', note: 'invalid flags: conntrack INVALID' },
    { from: 'eth0', src: '198.51.100.7', dst: '255.255.255.255', proto: 'udp', dport: 9999, note: 'limited broadcast: addrtype BROADCAST' },
    { from: 'eth0', src: '198.51.100.7', dst: '224.0.0.1', proto: 'udp', dport: 5353, note: 'all-hosts multicast' },
    { from: 'eth0', src: '198.51.100.7', dst: '224.0.0.251', proto: 'udp', dport: 5353, note: 'mDNS group nobody joined: routing drops it' },
    { from: 'eth0', src: '198.51.100.7', dst: '10.0.0.255', proto: 'udp', dport: 9999, note: 'directed broadcast of the other interface' },
    { from: 'eth0', src: '0.0.0.0', dst: '255.255.255.255', proto: 'udp', sport: 68, dport: 67, note: 'DHCP discover (zero source)' },
    { from: 'eth0', src: '198.51.100.7', dst: '10.0.0.9', proto: 'tcp', dport: 22, note: 'forwarded: ufw-user-forward empty, FORWARD DROP' },
    { from: 'local', src: UFW_ME, dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'ufw-track-output NEW' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'tcp', dport: 631, note: 'loopback' },
  ],
};

// ---------------------------------------------------------------------------------
// Synology DSM: RETURN means accept, dead rules after -j DROP

const SYNO_LAN = '192.168.1.20';
const SYNO_WAN = '198.51.100.20';
const SYNOLOGY: CorpusCaseDef = {
  file: 'iptables-save/synology-nas-dsm-firewall.txt',
  name: 'corpus synology-nas-dsm-firewall',
  host: {
    interfaces: [
      { name: 'eth0', addresses: [`${SYNO_LAN}/24`] },
      { name: 'eth1', addresses: [`${SYNO_WAN}/24`] },
    ],
    routes: [{ dst: 'default', via: '192.168.1.1', dev: 'eth0' }],
    forwarding: true,
  },
  packets: [
    { from: 'eth0', src: '192.168.1.7', dst: SYNO_LAN, proto: 'icmp', note: 'LAN ping: DOS limit RETURN, 192.168/16 RETURN' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'icmp', note: 'outside ping: INPUT_FIREWALL DROP' },
    { from: 'eth0', src: '192.168.1.7', dst: SYNO_LAN, proto: 'tcp', dport: 5000, note: 'DSM web from LAN' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'tcp', dport: 443, note: '443 RETURN before the DROP list that also names 443' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'tcp', dport: 22, note: 'ssh from outside DROP' },
    { from: 'eth0', src: '192.168.1.7', dst: SYNO_LAN, proto: 'tcp', dport: 22, note: 'ssh from LAN: DROP list before the LAN RETURN' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'tcp', dport: 9030, note: 'multiport range 9025:9040' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'udp', sport: 5004, dport: 40000, note: 'multiport --sports' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'udp', dport: 161, note: 'snmp DROP' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'tcp', dport: 12345, tcpFlags: 'RST', note: 'RST limit' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'tcp', dport: 12345, tcpFlags: 'ACK', note: 'bare ACK: neither SYN nor RST rule' },
    { from: 'eth1', src: '203.0.113.9', dst: SYNO_WAN, proto: 'udp', dport: 12345, note: 'unconditional DROP (dead rules after it)' },
    { from: 'eth0', src: '192.168.1.7', dst: SYNO_LAN, proto: 'sctp', dport: 3260, note: 'sctp from the LAN: not in any port list, LAN RETURN' },
    { from: 'eth0', src: '192.168.1.7', dst: '198.51.100.77', proto: 'tcp', dport: 80, note: 'forwarded 80 RETURN -> FORWARD policy ACCEPT' },
    { from: 'eth1', src: '198.51.100.77', dst: '192.168.1.7', proto: 'tcp', dport: 3306, note: 'forwarded 3306 DROP' },
    { from: 'eth1', src: '198.51.100.77', dst: '192.168.1.7', proto: 'udp', dport: 12345, note: 'forwarded unknown: FORWARD_FIREWALL DROP' },
    { from: 'eth1', src: '0.1.2.3', dst: SYNO_WAN, proto: 'tcp', dport: 443, note: 'source in 0.0.0.0/8 other than 0.0.0.0: valid unicast since Linux 5.3' },
    { from: 'eth0', src: '192.168.1.7', dst: '0.0.0.5', proto: 'tcp', dport: 80, note: 'destination in 0.0.0.0/8: forwarded like unicast since Linux 5.3' },
    { from: 'local', src: SYNO_LAN, dst: '192.168.1.7', proto: 'tcp', dport: 445, note: 'OUTPUT has no rules' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'tcp', dport: 22, note: 'loopback accepted first' },
  ],
};

// ---------------------------------------------------------------------------------
// OpenWrt AA: no dispatch to zone_wan

const OWRT_WAN = '203.0.113.2';
const OPENWRT: CorpusCaseDef = {
  file: 'iptables-save/openwrt-aa-fw-zones-missing-wan.txt',
  name: 'corpus openwrt-aa-fw-zones-missing-wan',
  host: {
    interfaces: [
      { name: 'br-lan', addresses: ['192.168.1.1/24'] },
      { name: 'eth0.2', addresses: [`${OWRT_WAN}/24`] },
      { name: 'tun0', addresses: ['10.8.0.1/24'] },
      { name: 'eth0', addresses: [] },
    ],
    routes: [{ dst: 'default', via: '203.0.113.1', dev: 'eth0.2' }],
    forwarding: true,
  },
  packets: [
    { from: 'br-lan', src: '192.168.1.100', dst: '192.168.1.1', proto: 'tcp', dport: 22, note: 'LAN ssh: syn_flood, zone_lan ACCEPT' },
    { from: 'br-lan', src: '192.168.1.100', dst: '192.168.1.1', proto: 'icmp', note: 'LAN ping' },
    { from: 'eth0.2', src: '198.51.100.9', dst: OWRT_WAN, proto: 'tcp', dport: 22, note: 'BUG: WAN ssh reaches INPUT policy ACCEPT' },
    { from: 'eth0.2', src: '198.51.100.9', dst: OWRT_WAN, proto: 'udp', dport: 53, note: 'WAN dns accepted' },
    { from: 'eth0.2', src: '198.51.100.9', dst: '192.168.1.1', proto: 'tcp', dport: 80, note: 'WAN reaches the LAN address of the router too' },
    { from: 'eth0.2', src: '198.51.100.9', dst: OWRT_WAN, proto: 'tcp', dport: 80, tcpFlags: 'ACK', note: 'WAN non-SYN tcp' },
    { from: 'eth0.2', src: '198.51.100.9', dst: '192.168.1.100', proto: 'tcp', dport: 80, note: 'WAN -> LAN: reject tcp-reset' },
    { from: 'eth0.2', src: '198.51.100.9', dst: '192.168.1.100', proto: 'udp', dport: 5060, note: 'WAN -> LAN udp: reject port-unreachable' },
    { from: 'br-lan', src: '192.168.1.100', dst: '198.51.100.9', proto: 'tcp', dport: 443, note: 'br-lan -> WAN: zone_lan_REJECT' },
    { from: 'br-lan', src: '192.168.1.100', dst: '198.51.100.9', proto: 'icmp', note: 'br-lan -> WAN icmp rejected' },
    { from: 'eth0', src: '192.168.1.100', dst: '198.51.100.9', proto: 'tcp', dport: 443, note: 'eth0 -> WAN explicit ACCEPT' },
    { from: 'tun0', src: '10.8.0.6', dst: '198.51.100.9', proto: 'udp', dport: 53, note: 'VPN -> WAN ACCEPT' },
    { from: 'tun0', src: '10.8.0.6', dst: '192.168.1.100', proto: 'tcp', dport: 445, note: 'VPN -> LAN ACCEPT' },
    { from: 'tun0', src: '10.8.1.6', dst: '192.168.1.100', proto: 'tcp', dport: 445, note: 'VPN from a foreign subnet: reject' },
    { from: 'tun0', src: '10.8.0.6', dst: '10.8.0.1', proto: 'tcp', dport: 80, note: 'VPN -> router: INPUT policy' },
    { from: 'br-lan', src: '192.168.1.100', dst: '10.8.0.6', proto: 'tcp', dport: 22, note: 'LAN -> VPN: reject' },
    { from: 'local', src: OWRT_WAN, dst: '198.51.100.9', proto: 'udp', dport: 53, note: 'router -> WAN: empty zone_wan_ACCEPT' },
    { from: 'local', src: '192.168.1.1', dst: '192.168.1.100', proto: 'tcp', dport: 80, note: 'router -> LAN: zone_lan_ACCEPT' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'udp', dport: 53, note: 'loopback' },
  ],
};

// ---------------------------------------------------------------------------------
// OpenLab community router: 3 uplinks, marks for policy routing, REJECT bug

const OPENLAB: CorpusCaseDef = {
  file: 'iptables-save/openlab-multiuplink-router-policy-routing.txt',
  name: 'corpus openlab-multiuplink-router-policy-routing',
  host: {
    interfaces: [
      { name: 'br0', addresses: ['192.168.0.38/24'] },
      { name: 'br1', addresses: ['10.11.64.1/18'] },
      { name: 'br2', addresses: ['172.16.0.1/24', '172.16.16.1/24'] },
      { name: 'eth4', addresses: ['192.168.179.2/24'] },
      { name: 'eth5', addresses: ['192.168.178.2/24', '192.168.178.20/24'] },
      { name: 'eth6', addresses: ['192.168.255.253/30'] },
      { name: 'tun0', addresses: ['198.18.0.2/24'] },
      { name: 'tap20', addresses: ['198.18.1.2/24'] },
    ],
    routes: [
      { dst: 'default', via: '192.168.178.1', dev: 'eth5' },
      { dst: '10.11.0.0/16', via: '10.11.64.254', dev: 'br1' },
      { dst: '10.10.0.0/16', via: '192.168.255.254', dev: 'eth6' },
      { dst: '95.142.79.2/32', via: '198.18.0.1', dev: 'tun0' },
    ],
    forwarding: true,
  },
  packets: [
    { from: 'br1', src: '10.11.5.5', dst: '95.142.77.40', proto: 'tcp', dport: 443, note: 'whitelisted destination via eth5, SNAT' },
    { from: 'br1', src: '10.11.5.5', dst: '198.51.100.99', proto: 'tcp', dport: 80, note: 'BUG: tcp to non-whitelisted is not rejected, FORWARD policy ACCEPT' },
    { from: 'br1', src: '10.11.5.5', dst: '198.51.100.99', proto: 'udp', dport: 53, note: 'non-tcp to non-whitelisted DROP' },
    { from: 'br1', src: '10.11.5.5', dst: '198.51.100.99', proto: 'icmp', note: 'icmp to non-whitelisted DROP' },
    { from: 'br1', src: '10.11.5.5', dst: '198.51.100.99', proto: 'sctp', dport: 5060, note: 'sctp is "! -p tcp" too' },
    { from: 'br1', src: '10.11.70.5', dst: '198.51.100.99', proto: 'udp', dport: 53, note: 'uplink-privileged subnet 10.11.70.0/26' },
    { from: 'br1', src: '10.11.5.5', dst: '95.142.79.2', proto: 'tcp', dport: 22, note: 'whitelisted via tun0 (tun+)' },
    { from: 'eth5', src: '80.153.166.24', dst: '10.11.5.5', proto: 'tcp', dport: 22, note: 'whitelisted host inbound' },
    { from: 'eth5', src: '80.153.166.24', dst: '198.51.100.99', proto: 'tcp', dport: 80, note: 'the misplaced REJECT hits the whitelisted host' },
    { from: 'eth5', src: '198.51.100.9', dst: '192.168.178.20', proto: 'tcp', dport: 80, note: 'DNAT -> 192.168.0.1:81' },
    { from: 'eth5', src: '198.51.100.9', dst: '192.168.178.2', proto: 'tcp', dport: 4710, note: 'DNAT -> 192.168.0.227, FORWARD whitelisted' },
    { from: 'eth5', src: '198.51.100.9', dst: '192.168.178.2', proto: 'udp', dport: 1194, note: 'DNAT -> 192.168.0.67 + SNAT 192.168.0.38' },
    { from: 'eth5', src: '198.51.100.9', dst: '192.168.178.2', proto: 'tcp', dport: 21, note: 'ftp REJECT tcp-reset' },
    { from: 'br0', src: '192.168.0.50', dst: '10.10.1.1', proto: 'tcp', dport: 80, note: 'br0 -> 10.10/16 ACCEPT, MASQUERADE' },
    { from: 'br0', src: '192.168.0.50', dst: '172.16.16.5', proto: 'tcp', dport: 80, note: 'MASQUERADE picks the br2 address of that subnet (second address)' },
    { from: 'br0', src: '192.168.0.50', dst: '172.16.0.5', proto: 'udp', dport: 53, note: 'MASQUERADE picks the primary br2 address' },
    { from: 'br1', src: '10.11.5.5', dst: '10.10.1.1', proto: 'tcp', dport: 80, note: 'other -> 10.10/16 tcp REJECT' },
    { from: 'br1', src: '10.11.5.5', dst: '10.10.1.1', proto: 'icmp', note: 'other -> 10.10/16 non-tcp DROP' },
    { from: 'br1', src: '10.11.5.5', dst: '10.11.64.1', proto: 'tcp', dport: 5500, note: 'DNAT 10.11.64.1:5500 -> 192.168.0.22, FORWARD policy ACCEPT' },
    { from: 'local', src: '192.168.178.2', dst: '198.51.100.99', proto: 'tcp', dport: 222, note: 'router tcp/222: mangle OUTPUT marks' },
  ],
};

// ---------------------------------------------------------------------------------
// serverfault 765855: LTE multi-uplink router, marks + CONNMARK for policy routing

const LTE: CorpusCaseDef = {
  file: 'iptables-save/serverfault-765855-policy-routing-marks.txt',
  name: 'corpus serverfault-765855-policy-routing-marks',
  host: {
    interfaces: [
      { name: 'eth0', addresses: ['192.0.2.1/24'] },
      { name: 'eth1', addresses: ['192.168.8.100/24'] },
      { name: 'eth2', addresses: ['192.168.10.100/24'] },
    ],
    routes: [{ dst: 'default', via: '192.168.10.1', dev: 'eth2' }],
    forwarding: true,
  },
  packets: [
    { from: 'eth0', src: '192.0.2.50', dst: '198.51.100.9', proto: 'tcp', dport: 443, note: 'LAN -> internet: NEW mark 2, CONNMARK save/restore, eth2 ACCEPT' },
    { from: 'eth0', src: '192.0.2.50', dst: '192.168.8.1', proto: 'tcp', dport: 80, note: 'LAN -> modem 1: mark 1, eth1 ACCEPT' },
    { from: 'eth0', src: '192.0.2.50', dst: '192.168.10.1', proto: 'udp', dport: 53, note: 'LAN -> modem 2 udp' },
    { from: 'eth0', src: '192.0.2.50', dst: '198.51.100.9', proto: 'icmp', note: 'icmp mark 2' },
    { from: 'eth0', src: '192.0.2.50', dst: '192.168.8.1', proto: 'tcp', dport: 80, mark: 0x2, note: 'pre-marked 2 -> modem 1: mark rewritten to 1' },
    { from: 'eth1', src: '192.168.8.1', dst: '192.0.2.50', proto: 'udp', dport: 5000, note: 'modem 1 -> LAN udp ACCEPT' },
    { from: 'eth1', src: '192.168.8.1', dst: '192.0.2.50', proto: 'tcp', dport: 22, note: 'modem 1 -> LAN tcp NEW: FORWARD policy DROP' },
    { from: 'eth2', src: '198.51.100.9', dst: '192.168.10.100', proto: 'tcp', dport: 22, note: 'WAN -> router: INPUT policy DROP' },
    { from: 'eth0', src: '192.0.2.50', dst: '192.0.2.1', proto: 'tcp', dport: 22, note: 'LAN -> router ACCEPT' },
    { from: 'eth0', src: '192.0.2.50', dst: '192.168.8.1', proto: 'tcp', dport: 80, ttl: 1, note: 'TTL 1: dropped before FORWARD' },
    { from: 'local', src: '192.168.10.100', dst: '198.51.100.9', proto: 'tcp', dport: 80, note: 'router tcp: raw TRACE rule, MASQUERADE eth2' },
    { from: 'local', src: '192.168.10.100', dst: '198.51.100.9', proto: 'udp', dport: 53, note: 'router udp: no TRACE' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'icmp', note: 'loopback icmp' },
  ],
};

// ---------------------------------------------------------------------------------
// serverfault 762193: NETMAP between GRE sites (nat table only)

const NETMAP: CorpusCaseDef = {
  file: 'iptables-save/serverfault-762193-netmap-gre.txt',
  name: 'corpus serverfault-762193-netmap-gre',
  host: {
    interfaces: [
      { name: 'eth0', addresses: ['10.0.0.1/24'] },
      { name: 'gre1', addresses: ['192.168.255.1/30'] },
    ],
    routes: [
      { dst: 'default', via: '10.0.0.254', dev: 'eth0' },
      { dst: '192.168.21.0/24', via: '192.168.255.2', dev: 'gre1' },
      { dst: '192.168.18.0/24', via: '192.168.255.2', dev: 'gre1' },
      { dst: '192.168.101.0/24', via: '192.168.255.2', dev: 'gre1' },
    ],
    forwarding: true,
  },
  packets: [
    { from: 'eth0', src: '10.0.0.2', dst: '192.168.121.5', proto: 'tcp', dport: 80, note: 'NETMAP 121 -> 21, then MASQUERADE for 10.0.0.2' },
    { from: 'eth0', src: '10.0.0.2', dst: '192.168.118.9', proto: 'udp', dport: 53, note: 'NETMAP 118 -> 18 + MASQUERADE' },
    { from: 'eth0', src: '10.0.0.7', dst: '192.168.201.3', proto: 'tcp', dport: 443, note: 'NETMAP 201 -> 101; "-s 10.0.0.2/24" covers 10.0.0.7' },
    { from: 'eth0', src: '10.0.0.7', dst: '192.168.121.5', proto: 'tcp', dport: 80, note: 'NETMAP without masquerade (only 10.0.0.2/32)' },
    { from: 'eth0', src: '10.0.0.2', dst: '192.168.121.5', proto: 'icmp', note: 'icmp NETMAP + MASQUERADE' },
    { from: 'gre1', src: '192.168.21.5', dst: '10.0.0.2', proto: 'tcp', dport: 22, note: 'remote site source NETMAPped to 121' },
    { from: 'gre1', src: '192.168.18.7', dst: '10.0.0.2', proto: 'udp', dport: 161, note: 'remote 18 -> 118' },
    { from: 'gre1', src: '192.168.101.7', dst: '10.0.0.9', proto: 'tcp', dport: 3389, note: 'remote 101 -> 201' },
    { from: 'gre1', src: '192.168.50.7', dst: '10.0.0.2', proto: 'tcp', dport: 22, note: 'unmapped remote source' },
    { from: 'gre1', src: '192.168.21.5', dst: '192.168.121.9', proto: 'tcp', dport: 80, note: 'remote -> mapped remote: both NETMAPs' },
    { from: 'eth0', src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', dport: 22, note: 'to the router itself' },
    { from: 'local', src: '10.0.0.1', dst: '192.168.101.5', proto: 'tcp', dport: 80, note: 'router -> remote 101: MASQUERADE (10.0.0.0/24 source)' },
    { from: 'local', src: '10.0.0.1', dst: '192.168.121.5', proto: 'tcp', dport: 80, note: 'router -> mapped address: no NETMAP in OUTPUT' },
    { from: 'local', src: '192.168.255.1', dst: '192.168.21.5', proto: 'udp', dport: 53, note: 'router tunnel address -> remote' },
  ],
};

// ---------------------------------------------------------------------------------
// serverfault 795234: multiport negation + hashlimit, everything DROP

const FLOOD_ME = '203.0.113.80';
const HASHLIMIT: CorpusCaseDef = {
  file: 'iptables-save/serverfault-795234-multiport-hashlimit.txt',
  name: 'corpus serverfault-795234-multiport-hashlimit',
  host: {
    interfaces: [{ name: 'eth0', addresses: [`${FLOOD_ME}/24`] }],
    routes: [{ dst: 'default', via: '203.0.113.1', dev: 'eth0' }],
    forwarding: false,
  },
  packets: [
    { from: 'eth0', src: '198.51.100.7', dst: FLOOD_ME, proto: 'tcp', dport: 22, note: 'hashlimit-above, under the rate' },
    { from: 'eth0', src: '198.51.100.7', dst: FLOOD_ME, proto: 'tcp', dport: 80, note: 'excluded by ! --dports' },
    { from: 'eth0', src: '198.51.100.7', dst: FLOOD_ME, proto: 'tcp', sport: 80, dport: 5000, note: 'source port 80 is not excluded' },
    { from: 'eth0', src: '198.51.100.7', dst: FLOOD_ME, proto: 'tcp', sport: 6667, dport: 6697, note: 'dport 6697 excluded' },
    { from: 'eth0', src: '198.51.100.7', dst: FLOOD_ME, proto: 'udp', dport: 53, note: 'udp rule' },
    { from: 'eth0', src: '198.51.100.7', dst: FLOOD_ME, proto: 'udp', dport: 443, note: 'udp 443 excluded' },
    { from: 'eth0', src: '198.51.100.8', dst: FLOOD_ME, proto: 'icmp', note: 'icmp rule' },
    { from: 'eth0', src: '198.51.100.7', dst: FLOOD_ME, proto: 'tcp', dport: 8080, repeat: 4, note: 'a few more from the same /8 bucket' },
    { from: 'eth0', src: '198.51.100.7', dst: '198.51.100.9', proto: 'tcp', dport: 80, note: 'not local, forwarding off' },
    { from: 'local', src: FLOOD_ME, dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'OUTPUT policy DROP' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'udp', dport: 53, note: 'even loopback is dropped' },
  ],
};

// ---------------------------------------------------------------------------------
// Qubes OS sys-firewall: one client VM on vif112.0 (anti-spoofing in raw, DNS DNAT)

const QUBES: CorpusCaseDef = {
  file: 'iptables-save/qubesos-sys-firewall-with-prose.txt',
  name: 'corpus qubesos-sys-firewall-with-prose',
  host: {
    interfaces: [
      { name: 'eth0', addresses: ['10.137.1.6/32'] },
      { name: 'vif112.0', addresses: ['10.137.2.1/32'] },
      { name: 'vif113.0', addresses: ['10.137.2.1/32'] },
      { name: 'vif0.0', addresses: [] },
    ],
    routes: [
      { dst: 'default', via: '10.137.1.1', dev: 'eth0', onlink: true },
      { dst: '10.137.2.15/32', dev: 'vif112.0' },
      { dst: '10.137.2.16/32', dev: 'vif113.0' },
      { dst: '10.137.2.20/32', dev: 'vif0.0' },
    ],
    forwarding: true,
  },
  packets: [
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.2.1', proto: 'udp', dport: 53, note: 'VM DNS -> DNAT 10.137.1.1, MASQUERADE' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.2.1', proto: 'tcp', dport: 53, note: 'VM DNS tcp' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.2.254', proto: 'udp', dport: 53, note: 'secondary DNS -> 10.137.1.254' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'VM -> internet ACCEPT' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '198.51.100.7', proto: 'icmp', note: 'VM icmp ACCEPT' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.255.254', proto: 'tcp', dport: 8082, note: 'qubes updates proxy port DROP' },
    { from: 'vif112.0', src: '10.137.2.99', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'spoofed source: raw DROP' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.2.1', proto: 'tcp', dport: 22, note: 'VM -> firewall: REJECT host-prohibited' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.2.1', proto: 'udp', sport: 67, dport: 68, note: 'dhcp client port DROP' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.2.1', proto: 'icmp', note: 'VM pings the firewall' },
    { from: 'vif112.0', src: '10.137.2.15', dst: '10.137.2.16', proto: 'tcp', dport: 80, note: 'VM -> VM: vif+ -> vif+ DROP' },
    { from: 'vif113.0', src: '10.137.2.16', dst: '198.51.100.7', proto: 'tcp', dport: 80, note: 'VM without rules: FORWARD policy DROP' },
    { from: 'vif0.0', src: '10.137.2.20', dst: '198.51.100.7', proto: 'tcp', dport: 80, note: 'vif0.0 ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '10.137.2.15', proto: 'tcp', dport: 80, note: 'inbound to the VM: DROP' },
    { from: 'eth0', src: '10.137.1.1', dst: '10.137.1.6', proto: 'tcp', dport: 22, note: 'netvm -> firewall REJECT' },
    { from: 'local', src: '10.137.1.6', dst: '10.137.1.1', proto: 'udp', dport: 53, note: 'firewall DNS: MASQUERADE to itself' },
    { from: 'local', src: '10.137.2.1', dst: '10.137.2.15', proto: 'tcp', dport: 80, note: 'firewall -> VM: POSTROUTING -o vif+ ACCEPT' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'tcp', dport: 8082, note: 'loopback' },
  ],
};

// ---------------------------------------------------------------------------------
// Calico (libnetwork) + docker, iptables -S, no workloads yet

const CALI_IF = 'cali12d4a061371';
const CALICO: CorpusCaseDef = {
  file: 'iptables-S/calico-docker-libnetwork-filter-S.txt',
  name: 'corpus calico-docker-libnetwork-filter-S',
  host: {
    interfaces: [
      { name: 'eth0', addresses: ['192.0.2.30/24'] },
      { name: 'docker0', addresses: ['172.17.0.1/16'] },
      { name: CALI_IF, addresses: [] },
    ],
    routes: [
      { dst: 'default', via: '192.0.2.1', dev: 'eth0' },
      { dst: '192.168.0.5/32', dev: CALI_IF },
    ],
    forwarding: true,
  },
  packets: [
    { from: CALI_IF, src: '192.168.0.5', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'workload egress: Unknown interface DROP' },
    { from: 'eth0', src: '198.51.100.7', dst: '192.168.0.5', proto: 'tcp', dport: 80, note: 'to a workload: to-wl-dispatch DROP' },
    { from: CALI_IF, src: '192.168.0.5', dst: '192.0.2.30', proto: 'tcp', dport: 22, note: 'workload -> host: goto cali-wl-to-host, DROP' },
    { from: CALI_IF, src: '192.168.0.5', dst: '192.0.2.30', proto: 'tcp', dport: 22, mark: 0x1000000, note: 'pre-accepted mark beats the goto' },
    { from: 'eth0', src: '198.51.100.7', dst: '192.0.2.30', proto: 'tcp', dport: 22, note: 'host endpoint: MARK clear, empty chains, INPUT policy' },
    { from: 'eth0', src: '198.51.100.7', dst: '192.0.2.30', proto: 'udp', dport: 68, mark: 0x1000000, note: 'accept mark' },
    { from: 'eth0', src: '198.51.100.7', dst: '192.0.2.30', proto: 'icmp', mark: 0x2000000, note: 'mark cleared by --set-xmark 0x0/0xf000000' },
    { from: 'docker0', src: '172.17.0.2', dst: '198.51.100.7', proto: 'tcp', dport: 80, note: 'docker egress through cali-FORWARD' },
    { from: 'docker0', src: '172.17.0.2', dst: '172.17.0.3', proto: 'udp', dport: 53, note: 'docker0 -> docker0' },
    { from: 'eth0', src: '198.51.100.7', dst: '172.17.0.2', proto: 'tcp', dport: 80, note: 'inbound to docker: FORWARD policy DROP' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.9', proto: 'tcp', dport: 80, note: 'eth0 -> eth0: FORWARD policy DROP' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.9', proto: 'tcp', dport: 80, mark: 0x1000000, note: 'forward with accept mark (0xe000000 clear keeps it)' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.9', proto: 'tcp', dport: 80, mark: 0x3000000, note: 'mark 0x3000000 -> 0x1000000' },
    { from: 'docker0', src: '172.17.0.2', dst: '172.17.0.1', proto: 'tcp', dport: 2379, note: 'container -> host' },
    { from: 'local', src: '192.0.2.30', dst: '198.51.100.7', proto: 'tcp', dport: 2379, note: 'host egress via cali-OUTPUT' },
    { from: 'local', src: '192.0.2.30', dst: '192.168.0.5', proto: 'tcp', dport: 80, note: 'host -> workload: cali-OUTPUT RETURN' },
    { from: 'local', src: '192.0.2.30', dst: '198.51.100.7', proto: 'udp', dport: 53, mark: 0x1000000, note: 'host egress with accept mark' },
  ],
};

// ---------------------------------------------------------------------------------
// iptables -L -v listings (need parse-listing.ts)

const FLANNEL_L: CorpusCaseDef = {
  file: 'iptables-L-v/kubeadm-flannel-docker-filter-forward-drop.txt',
  name: 'corpus kubeadm-flannel-docker-filter-forward-drop (-L -v)',
  host: {
    interfaces: [
      { name: 'eth0', addresses: ['192.0.2.40/24'] },
      { name: 'cni0', addresses: ['10.244.0.1/24'] },
      { name: 'flannel.1', addresses: ['10.244.0.0/32'] },
      { name: 'docker0', addresses: ['172.17.0.1/16'] },
    ],
    routes: [
      { dst: 'default', via: '192.0.2.1', dev: 'eth0' },
      { dst: '10.244.1.0/24', via: '10.244.1.0', dev: 'flannel.1', onlink: true },
    ],
    forwarding: true,
  },
  packets: [
    { from: 'cni0', src: '10.244.0.5', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'pod egress: trailing 10.244/16 ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '10.244.0.5', proto: 'tcp', dport: 8080, note: 'inbound to a pod IP: ACCEPT -d 10.244/16' },
    { from: 'flannel.1', src: '10.244.1.3', dst: '10.244.0.5', proto: 'udp', dport: 53, note: 'remote pod -> local pod' },
    { from: 'cni0', src: '10.244.0.5', dst: '10.244.1.3', proto: 'tcp', dport: 80, note: 'local pod -> remote pod' },
    { from: 'eth0', src: '198.51.100.7', dst: '172.17.0.2', proto: 'tcp', dport: 80, note: 'to docker0: empty DOCKER, FORWARD policy DROP' },
    { from: 'docker0', src: '172.17.0.2', dst: '198.51.100.7', proto: 'tcp', dport: 80, note: 'docker egress ACCEPT' },
    { from: 'docker0', src: '172.17.0.2', dst: '10.244.0.5', proto: 'tcp', dport: 80, note: 'docker -> pod: ISOLATION stage 2 RETURN, ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.9', proto: 'tcp', dport: 80, note: 'eth0 -> eth0: FORWARD policy DROP' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.9', proto: 'tcp', dport: 80, mark: 0x4000, note: 'masquerade mark: KUBE-FORWARD ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '192.0.2.40', proto: 'tcp', dport: 22, note: 'ssh to the node' },
    { from: 'eth0', src: '198.51.100.7', dst: '192.0.2.40', proto: 'tcp', dport: 22, mark: 0x8000, note: 'drop mark: KUBE-FIREWALL DROP' },
    { from: 'local', src: '192.0.2.40', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'node egress' },
    { from: 'local', src: '192.0.2.40', dst: '198.51.100.7', proto: 'udp', dport: 53, mark: 0x8000, note: 'node egress with drop mark' },
  ],
};

const UFW_F2B: CorpusCaseDef = {
  file: 'iptables-L-v/ufw-fail2ban-vserver.txt',
  name: 'corpus ufw-fail2ban-vserver (-L -v)',
  host: {
    interfaces: [{ name: 'eth0', addresses: ['203.0.113.25/24'] }],
    routes: [{ dst: 'default', via: '203.0.113.1', dev: 'eth0' }],
    forwarding: false,
  },
  packets: [
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'tcp', dport: 25, note: 'fail2ban-postfix RETURN, smtp ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'tcp', dport: 22, note: 'fail2ban-ssh RETURN, ssh ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'tcp', dport: 587, note: 'submission not opened: logged, policy DROP' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'tcp', dport: 465, note: 'smtps ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'udp', dport: 80, note: 'udp 80 ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'tcp', dport: 1194, note: 'openvpn tcp ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'udp', dport: 1194, note: 'openvpn udp not opened' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'tcp', dport: 139, note: 'netbios skip-to-policy' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'icmp', note: 'echo ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'icmp', icmpType: 3, icmpCode: 3, note: 'dest-unreachable ACCEPT' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.25', proto: 'icmp', icmpType: 17, note: 'address mask request: dropped' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.255', proto: 'udp', dport: 137, note: 'subnet broadcast: ufw-not-local RETURN, skip-to-policy' },
    { from: 'eth0', src: '198.51.100.7', dst: '203.0.113.0', proto: 'udp', dport: 9999, note: 'subnet network address' },
    { from: 'eth0', src: '198.51.100.7', dst: '198.51.100.99', proto: 'tcp', dport: 80, note: 'not local and forwarding off' },
    { from: 'local', src: '203.0.113.25', dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'ufw-track-output NEW tcp' },
    { from: 'local', src: '203.0.113.25', dst: '198.51.100.7', proto: 'icmp', note: 'output icmp: policy' },
    { from: 'local', src: '127.0.0.1', dst: '127.0.0.1', proto: 'tcp', dport: 25, note: 'loopback' },
  ],
};

const DEFS: CorpusCaseDef[] = [DOCKER_PUBLISH, DOCKER_ICC, KUBEADM_129, UFW_2015, SYNOLOGY, OPENWRT, OPENLAB, LTE, NETMAP, HASHLIMIT, QUBES, CALICO, FLANNEL_L, UFW_F2B];

/** Listing formats (-L -v) depend on parse-listing.ts: skip them if it cannot parse them. */
function parsesAsDump(text: string): boolean {
  try {
    const r = parseDump(text);
    return r.ruleset.tables.some((t) => t.chains.some((c) => c.rules.length > 0));
  } catch {
    return false;
  }
}

export function corpusCases(corpusDir: string): DiffCase[] {
  const cases: DiffCase[] = [];
  for (const d of DEFS) {
    const path = join(corpusDir, d.file);
    if (!existsSync(path)) continue;
    const dump = readFileSync(path, 'utf8');
    if (!d.file.startsWith('iptables-save/') && !parsesAsDump(dump)) continue;
    cases.push({ name: d.name, dump, host: d.host, packets: d.packets });
  }
  return cases;
}
