// Shared vocabulary of the listing parser: patterns, drafts, diagnostics (split from parse-listing.ts).
import type { Diagnostic, Family, TableName } from '../../model.ts';
import { type ChainDraft } from '../build.ts';
// ---------------------------------------------------------------------------
// Line shapes

export const CHAIN_HEADER = /^Chain\s+(\S+)\s+\((?:policy\s+(\S+)(?:\s+(\S+)\s+packets,\s*(\S+)\s+bytes)?|(\d+)\s+references?)\)\s*(.*)$/;
export const CHAIN_HEADER_LIKE = /^Chain\s+\S+\s+\(/;
export const TITLE = /^(num\s+)?(pkts\s+bytes\s+)?target\s+prot\s+opt\s+(in\s+out\s+)?source\s+destination\b\s*(.*)$/;
export const FENCE = /^(```|~~~)/;
export const SEPARATOR = /^(-{3,}|={3,}|\*{3,}|_{3,})$/;
export const ELISION = /^(\.{3,}|…+|\[\.\.\.\]|<snip>|\[snip\]|\.\.\. ?\(.*\))$/i;
export const IPTABLES_COMMAND = /^(?:sudo\s+(?:-\S+\s+)*)?(?:\S*\/)?(ip6?tables)(?:-legacy|-nft)?(?=\s|$)(.*)$/;
export const TABLE_DECORATION = /^(?:[#=*[\-]+\s*)?(?:table[:\s]+)?(raw|mangle|nat|filter|security)(?:\s+table)?\s*[:\]=\-#]*$/i;
export const COUNT = /^(\d+)([KMGT]?)$/;
export const OPT = /^(--|-f|!f|!-)$/;

/** /etc/protocols names that `iptables -L` (without `-n`) may print but names.ts does not know. */
export const EXTRA_PROTOCOLS: Readonly<Record<string, string>> = {
  ipencap: '4', 'ip-encap': '4', st: '5', ggp: '3', pup: '12', hmp: '20', 'xns-idp': '22', rdp: '27', 'iso-tp4': '29',
  xtp: '36', ddp: '37', 'idpr-cmtp': '38', 'ipv6-route': '43', 'ipv6-frag': '44', idrp: '45', rsvp: '46', skip: '57',
  'ipv6-nonxt': '59', 'ipv6-opts': '60', rspf: '73', vmtp: '81', 'ax.25': '93', ipip: '94', etherip: '97', encap: '98',
  ipcomp: '108', 'l2tp': '115', isis: '124', fc: '133', 'mobility-header': '135', manet: '138', hip: '139', shim6: '140',
  wesp: '141', rohc: '142', ethernet: '143',
};

/**
 * Service names of a stock /etc/services (Debian netbase) that names.ts does
 * not know: `iptables -L` without `-n` prints whatever getservbyport() returns.
 */
export const EXTRA_SERVICES: Readonly<Record<string, number>> = {
  'systat': 11, 'netstat': 15, 'qotd': 17, 'chargen': 19, 'fsp': 21, 'iso-tsap': 102, 'acr-nema': 104, 'cmip-man': 163,
  'cmip-agent': 164, 'mailq': 174, 'smux': 199, 'qmtp': 209, 'z3950': 210, 'ipx': 213, 'ptp-event': 319,
  'ptp-general': 320, 'pawserv': 345, 'zserv': 346, 'rpc2portmap': 369, 'codaauth2': 370, 'clearcase': 371,
  'svrloc': 427, 'snpp': 444, 'saft': 487, 'nqs': 607, 'asf-rmcp': 623, 'qmqp': 628, 'exec': 512, 'biff': 512,
  'login': 513, 'who': 513, 'shell': 514, 'talk': 517, 'ntalk': 518, 'route': 520, 'gdomap': 538, 'uucp': 540,
  'klogin': 543, 'kshell': 544, 'dhcpv6-client': 546, 'dhcpv6-server': 547, 'afpovertcp': 548, 'nntps': 563,
  'tinc': 655, 'silc': 706, 'domain-s': 853, 'ftps-data': 989, 'telnets': 992, 'proofd': 1093, 'rootd': 1094,
  'rmiregistry': 1099, 'lotusnote': 1352, 'ms-sql-m': 1434, 'ingreslock': 1524, 'datametrics': 1645,
  'sa-msg-port': 1646, 'kermit': 1649, 'groupwise': 1677, 'l2f': 1701, 'cisco-sccp': 2000, 'gnunet': 2086,
  'rtcm-sc104': 2101, 'gsigatekeeper': 2119, 'gris': 2135, 'venus': 2430, 'venus-se': 2431, 'codasrv': 2432,
  'codasrv-se': 2433, 'mon': 2583, 'dict': 2628, 'f5-globalsite': 2792, 'gsiftp': 2811, 'gpsd': 2947, 'gds-db': 3050,
  'icpv2': 3130, 'isns': 3205, 'daap': 3689, 'suucp': 4031, 'sysrqd': 4094, 'sieve': 4190, 'epmd': 4369,
  'remctl': 4373, 'f5-iquery': 4353, 'ntske': 4460, 'mtn': 4691, 'radmin-port': 4899, 'cfengine': 5308,
  'freeciv': 5556, 'amqps': 5671, 'x11-1': 6001, 'x11-2': 6002, 'x11-3': 6003, 'x11-4': 6004, 'x11-5': 6005,
  'x11-6': 6006, 'x11-7': 6007, 'gnutella-svc': 6346, 'gnutella-rtr': 6347, 'sge-qmaster': 6444, 'sge-execd': 6445,
  'mysql-proxy': 6446, 'babel': 6696, 'ircs-u': 6697, 'bbs': 7000, 'afs3-callback': 7001, 'afs3-prserver': 7002,
  'afs3-vlserver': 7003, 'afs3-kaserver': 7004, 'afs3-volser': 7005, 'afs3-bos': 7007, 'afs3-update': 7008,
  'afs3-rmtsys': 7009, 'bacula-fd': 9102, 'bacula-sd': 9103, 'xmms2': 9667, 'nbd': 10809, 'amanda': 10080,
  'dicom': 11112, 'db-lsp': 17500, 'dcap': 22125, 'gsidcap': 22128, 'wnn6': 22273, 'kerberos-master': 751,
  'passwd-server': 752, 'krb-prop': 754, 'zephyr-srv': 2102, 'zephyr-clt': 2103, 'zephyr-hm': 2104, 'iprop': 2121,
  'supfilesrv': 871, 'supfiledbg': 1127, 'poppassd': 106, 'moira-db': 775, 'moira-update': 777, 'moira-ureg': 779,
  'spamd': 783, 'skkserv': 1178, 'predict': 1210, 'rmtcfg': 1236, 'xtel': 1313, 'xtelw': 1314, 'zebrasrv': 2600,
  'zebra': 2601, 'ripd': 2602, 'ripngd': 2603, 'ospfd': 2604, 'bgpd': 2605, 'ospf6d': 2606, 'ospfapi': 2607,
  'isisd': 2608, 'fax': 4557, 'hylafax': 4559, 'rplay': 5555, 'nrpe': 5666, 'nsca': 5667, 'canna': 5680,
  'syslog-tls': 6514, 'zope-ftp': 8021, 'omniorb': 8088, 'clc-build-daemon': 8990, 'zope': 9673, 'kamanda': 10081,
  'amandaidx': 10082, 'amidxtape': 10083, 'sgi-cmsd': 17001, 'sgi-crsd': 17002, 'sgi-gcd': 17003, 'sgi-cad': 17004,
  'binkp': 24554, 'asp': 27374, 'csync2': 30865, 'dircproxy': 57000, 'tfido': 60177, 'fido': 60179,
};

/** Host and network names `iptables -L` prints from /etc/hosts and /etc/networks on common distributions. */
export const HOST_NAMES: Readonly<Record<Family, Readonly<Record<string, string>>>> = {
  ipv4: { localhost: '127.0.0.1', 'localhost.localdomain': '127.0.0.1', loopback: '127.0.0.0', 'link-local': '169.254.0.0', 'ip6-localhost': '127.0.0.1' },
  ipv6: {
    localhost: '::1', 'ip6-localhost': '::1', 'ip6-loopback': '::1', 'localhost6': '::1', 'localhost6.localdomain6': '::1',
    'ip6-allnodes': 'ff02::1', 'ip6-allrouters': 'ff02::2', 'ip6-localnet': 'fe00::', 'ip6-mcastprefix': 'ff00::',
  },
};

export const LOG_LEVELS: Readonly<Record<string, string>> = {
  emerg: '0', panic: '0', alert: '1', crit: '2', err: '3', error: '3', warn: '4', warning: '4', notice: '5', info: '6', debug: '7',
};
export const LOG_FLAGS: readonly (readonly [number, string, string])[] = [
  [0x01, 'tcp-sequence', 'log-tcp-sequence'],
  [0x02, 'tcp-options', 'log-tcp-options'],
  [0x04, 'ip-options', 'log-ip-options'],
  [0x08, 'uid', 'log-uid'],
  [0x20, 'macdecode', 'log-macdecode'],
];
/** libip6t_ipv6header mask bits, named as its print_header() names them. */
export const IPV6_HEADERS: readonly (readonly [number, string])[] = [
  [0x80, 'hop-by-hop'], [0x40, 'ipv6-opts'], [0x20, 'ipv6-route'], [0x10, 'ipv6-frag'], [0x08, 'ah'], [0x04, 'esp'], [0x02, 'ipv6-nonxt'], [0x01, 'protocol'],
];
export const TOS_NAMES: Readonly<Record<string, number>> = {
  'Minimize-Delay': 0x10, 'Maximize-Throughput': 0x08, 'Maximize-Reliability': 0x04, 'Minimize-Cost': 0x02, 'Normal-Service': 0x00,
};

// ---------------------------------------------------------------------------
// Table inference constraints (kernel/iptables facts, not heuristics)

/** Targets the kernel accepts only in these tables (`.table` of the xt_target, or iptables' own check). */
export const TARGET_TABLES: Readonly<Record<string, readonly TableName[]>> = {
  DNAT: ['nat'], SNAT: ['nat'], MASQUERADE: ['nat'], REDIRECT: ['nat'], NETMAP: ['nat'],
  REJECT: ['filter'],
  CT: ['raw'], NOTRACK: ['raw'], TRACE: ['raw'],
  TOS: ['mangle'], DSCP: ['mangle'], TTL: ['mangle'], HL: ['mangle'], TPROXY: ['mangle'], CHECKSUM: ['mangle'], ECN: ['mangle'], CLASSIFY: ['mangle'],
  SECMARK: ['mangle', 'security'], CONNSECMARK: ['mangle', 'security'],
};
/** "The nat table is not intended for filtering, the use of DROP is therefore inhibited." */
export const TARGET_NOT_IN: Readonly<Record<string, readonly TableName[]>> = { DROP: ['nat'] };

// ---------------------------------------------------------------------------
// Parser state

export interface Layout {
  readonly num: boolean;
  readonly counters: boolean;
  readonly iface: boolean;
}

export interface Segment {
  readonly id: number;
  /** Table the chains of this segment belong to, when the paste says so. */
  readonly hint: TableName | undefined;
  readonly hintSource: 'command' | 'context' | 'implicit' | 'decoration' | 'none';
  readonly names: Set<string>;
}

export interface ChainInstance {
  readonly draft: ChainDraft;
  readonly segment: Segment;
  /** The header showed a policy: a built-in chain. */
  readonly builtin: boolean;
  readonly line: number;
  layout: Layout | undefined;
  titleWarned: boolean;
  lastNum: number;
  table?: TableName;
}

export interface Field {
  readonly text: string;
  readonly start: number;
}

export type Diag = (line: number, severity: Diagnostic['severity'], code: string, message: string, column?: number) => void;
