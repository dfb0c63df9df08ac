// Name tables iptables resolves itself (protocols, services, ICMP types).
// Embedded so the core never reads /etc.

export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1, igmp: 2, ipencap: 4, tcp: 6, ipip: 94, egp: 8, udp: 17, dccp: 33, ipv6: 41, gre: 47,
  esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, ospf: 89, pim: 103, vrrp: 112, sctp: 132,
  mh: 135, udplite: 136,
};

const PROTOCOL_BY_NUMBER = new Map<number, string>(
  Object.entries(PROTOCOL_NUMBERS)
    .filter(([n]) => n !== 'icmpv6')
    .map(([n, v]) => [v, n]),
);

/** Canonical protocol name as iptables-save prints it, or undefined if unknown. */
export function canonicalProtocol(value: string): string | undefined {
  const v = value.toLowerCase();
  if (v === 'all' || v === '0') return 'all';
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n > 255) return undefined;
    return PROTOCOL_BY_NUMBER.get(n) ?? String(n);
  }
  if (v === 'icmpv6') return 'ipv6-icmp';
  return Object.hasOwn(PROTOCOL_NUMBERS, v) ? v : undefined;
}

export function protocolNumber(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const key = name.toLowerCase();
  return Object.hasOwn(PROTOCOL_NUMBERS, key) ? PROTOCOL_NUMBERS[key] : undefined;
}

/** A subset of /etc/services: what `iptables -L` prints without `-n` and users type. */
export const SERVICE_PORTS: Readonly<Record<string, number>> = {
  tcpmux: 1, echo: 7, discard: 9, daytime: 13, 'ftp-data': 20, ftp: 21, ssh: 22, telnet: 23,
  smtp: 25, time: 37, whois: 43, tacacs: 49, domain: 53, bootps: 67, bootpc: 68, tftp: 69,
  gopher: 70, finger: 79, http: 80, www: 80, kerberos: 88, pop3: 110, sunrpc: 111, auth: 113,
  nntp: 119, ntp: 123, epmap: 135, 'netbios-ns': 137, 'netbios-dgm': 138, 'netbios-ssn': 139,
  imap2: 143, imap: 143, snmp: 161, 'snmp-trap': 162, xdmcp: 177, bgp: 179, irc: 194, ldap: 389,
  https: 443, 'microsoft-ds': 445, kpasswd: 464, isakmp: 500, submissions: 465, urd: 465, ssmtp: 465, smtps: 465, rtsp: 554, syslog: 514,
  printer: 515, submission: 587, ipp: 631, ldaps: 636, rsync: 873, ftps: 990, imaps: 993,
  pop3s: 995, socks: 1080, openvpn: 1194, 'ms-sql-s': 1433, l2tp: 1701, pptp: 1723,
  radius: 1812, 'radius-acct': 1813, nfs: 2049, mysql: 3306, 'ms-wbt-server': 3389,
  'sip': 5060, 'sip-tls': 5061, postgresql: 5432, amqp: 5672, x11: 6000, irdmi: 8000,
  'http-alt': 8080, webcache: 8080, 'tproxy': 8081, 'sun-answerbook': 8888, mdns: 5353,
  'kerberos-adm': 749, nameserver: 42, 'git': 9418, 'zabbix-agent': 10050, 'zabbix-trapper': 10051,
  'mongodb': 27017, 'redis': 6379, 'memcache': 11211, 'distcc': 3632, 'svn': 3690, 'iax': 4569,
  'xmpp-client': 5222, 'xmpp-server': 5269, 'ircd': 6667, 'hkp': 11371, 'bacula-dir': 9101,
  'munin': 4949, 'nut': 3493, 'afs3-fileserver': 7000, 'font-service': 7100, 'puppet': 8140,
  'sane-port': 6566, 'ipsec-nat-t': 4500, 'openflow': 6653, 'rfb': 5900, 'cvspserver': 2401,
  'iscsi-target': 3260, 'ldp': 646, 'kerberos4': 750, 'xinetd': 9098, 'webmin': 10000,
};

const SERVICE_BY_PORT = new Map<number, string>();
for (const [name, port] of Object.entries(SERVICE_PORTS)) {
  if (!SERVICE_BY_PORT.has(port)) SERVICE_BY_PORT.set(port, name);
}

export function portNumber(value: string): number | undefined {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    return n <= 65535 ? n : undefined;
  }
  const key = value.toLowerCase();
  return Object.hasOwn(SERVICE_PORTS, key) ? SERVICE_PORTS[key] : undefined;
}

export function serviceName(port: number): string | undefined {
  return SERVICE_BY_PORT.get(port);
}

/** ICMP type names accepted by `--icmp-type` (type, code range). */
export const ICMP_TYPES: Readonly<Record<string, readonly [number, number, number]>> = {
  any: [255, 0, 255],
  'echo-reply': [0, 0, 255],
  pong: [0, 0, 255],
  'destination-unreachable': [3, 0, 255],
  'network-unreachable': [3, 0, 0],
  'host-unreachable': [3, 1, 1],
  'protocol-unreachable': [3, 2, 2],
  'port-unreachable': [3, 3, 3],
  'fragmentation-needed': [3, 4, 4],
  'source-route-failed': [3, 5, 5],
  'network-unknown': [3, 6, 6],
  'host-unknown': [3, 7, 7],
  'network-prohibited': [3, 9, 9],
  'host-prohibited': [3, 10, 10],
  'TOS-network-unreachable': [3, 11, 11],
  'TOS-host-unreachable': [3, 12, 12],
  'communication-prohibited': [3, 13, 13],
  'host-precedence-violation': [3, 14, 14],
  'precedence-cutoff': [3, 15, 15],
  'source-quench': [4, 0, 255],
  redirect: [5, 0, 255],
  'network-redirect': [5, 0, 0],
  'host-redirect': [5, 1, 1],
  'TOS-network-redirect': [5, 2, 2],
  'TOS-host-redirect': [5, 3, 3],
  'echo-request': [8, 0, 255],
  ping: [8, 0, 255],
  'router-advertisement': [9, 0, 255],
  'router-solicitation': [10, 0, 255],
  'time-exceeded': [11, 0, 255],
  'ttl-exceeded': [11, 0, 255],
  'ttl-zero-during-transit': [11, 0, 0],
  'ttl-zero-during-reassembly': [11, 1, 1],
  'parameter-problem': [12, 0, 255],
  'ip-header-bad': [12, 0, 0],
  'required-option-missing': [12, 1, 1],
  'timestamp-request': [13, 0, 255],
  'timestamp-reply': [14, 0, 255],
  'address-mask-request': [17, 0, 255],
  'address-mask-reply': [18, 0, 255],
};

export const ICMPV6_TYPES: Readonly<Record<string, readonly [number, number, number]>> = {
  'destination-unreachable': [1, 0, 255],
  'no-route': [1, 0, 0],
  'communication-prohibited': [1, 1, 1],
  'beyond-scope': [1, 2, 2],
  'address-unreachable': [1, 3, 3],
  'port-unreachable': [1, 4, 4],
  'failed-policy': [1, 5, 5],
  'reject-route': [1, 6, 6],
  'packet-too-big': [2, 0, 255],
  'time-exceeded': [3, 0, 255],
  'ttl-exceeded': [3, 0, 255],
  'ttl-zero-during-transit': [3, 0, 0],
  'ttl-zero-during-reassembly': [3, 1, 1],
  'parameter-problem': [4, 0, 255],
  'bad-header': [4, 0, 0],
  'unknown-header-type': [4, 1, 1],
  'unknown-option': [4, 2, 2],
  'echo-request': [128, 0, 255],
  ping: [128, 0, 255],
  'echo-reply': [129, 0, 255],
  pong: [129, 0, 255],
  'mld-listener-query': [130, 0, 255],
  'mld-listener-report': [131, 0, 255],
  'mld-listener-done': [132, 0, 255],
  'mld-listener-reduction': [132, 0, 255],
  'router-solicitation': [133, 0, 255],
  'router-advertisement': [134, 0, 255],
  'neighbour-solicitation': [135, 0, 255],
  'neighbor-solicitation': [135, 0, 255],
  'neighbour-advertisement': [136, 0, 255],
  'neighbor-advertisement': [136, 0, 255],
  redirect: [137, 0, 255],
};
