// Parser for `iptables -L` / `ip6tables -L` listings, with or without `-n`,
// `-v`, `-x` and `--line-numbers`.
//
// Every listing row is translated back into the iptables arguments that
// created it (`-p tcp -s X -m comment --comment "..." -m tcp --dport 80 -j
// DNAT --to-destination ...`) and handed to parseRuleSpec, so values are
// normalized exactly like the iptables-save parser normalizes them. The
// option text of a row (what the match and target extensions print) is read
// back by a small grammar per extension, written after the extensions'
// print functions (libxt_*.c `*_print`). Text that no grammar recognizes is
// never dropped: it is kept verbatim as a `?listing` match and reported.
//
// The format is lossy: without `-v` interfaces are not shown, without `-n`
// addresses, ports and users are names, counters with K/M/G suffixes are
// rounded, and the table of a chain is only known from the command line the
// author pasted (or inferred from the chains' content).
import type { Counters, Diagnostic, Family, Match, Policy, TableName } from '../model.ts';
import { BUILTIN_CHAINS, TABLE_NAMES } from '../model.ts';
import { toTokenList, type Token } from './lexer.ts';
import { parseRuleSpec, type PendingTarget } from './rule-spec.ts';
import { newTableDraft, type ChainDraft, type RuleDraft, type TableDraft } from './build.ts';
import { inferTables } from './infer-table.ts';
import { isShellPrompt, tableHintFromCommand } from './parse-save.ts';
import { renderMatches, renderOptions } from '../printer/render.ts';
import { ICMP_TYPES, ICMPV6_TYPES, canonicalProtocol, portNumber } from '../../pipeline/names.ts';
import { cidr, formatTcpFlags, hex, parseUint } from './values.ts';
import { createDisjointSets } from '../../analysis/disjoint-sets.ts';

export interface ListingParseContext {
  readonly family: Family;
  readonly table?: TableName;
}

// ---------------------------------------------------------------------------
// Line shapes

const CHAIN_HEADER = /^Chain\s+(\S+)\s+\((?:policy\s+(\S+)(?:\s+(\S+)\s+packets,\s*(\S+)\s+bytes)?|(\d+)\s+references?)\)\s*(.*)$/;
const CHAIN_HEADER_LIKE = /^Chain\s+\S+\s+\(/;
const TITLE = /^(num\s+)?(pkts\s+bytes\s+)?target\s+prot\s+opt\s+(in\s+out\s+)?source\s+destination\b\s*(.*)$/;
const FENCE = /^(```|~~~)/;
const SEPARATOR = /^(-{3,}|={3,}|\*{3,}|_{3,})$/;
const ELISION = /^(\.{3,}|…+|\[\.\.\.\]|<snip>|\[snip\]|\.\.\. ?\(.*\))$/i;
const IPTABLES_COMMAND = /^(?:sudo\s+(?:-\S+\s+)*)?(?:\S*\/)?(ip6?tables)(?:-legacy|-nft)?(?=\s|$)(.*)$/;
const TABLE_DECORATION = /^(?:[#=*[\-]+\s*)?(?:table[:\s]+)?(raw|mangle|nat|filter|security)(?:\s+table)?\s*[:\]=\-#]*$/i;
const COUNT = /^(\d+)([KMGT]?)$/;
const OPT = /^(--|-f|!f|!-)$/;

/** /etc/protocols names that `iptables -L` (without `-n`) may print but names.ts does not know. */
const EXTRA_PROTOCOLS: Readonly<Record<string, string>> = {
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
const EXTRA_SERVICES: Readonly<Record<string, number>> = {
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
const HOST_NAMES: Readonly<Record<Family, Readonly<Record<string, string>>>> = {
  ipv4: { localhost: '127.0.0.1', 'localhost.localdomain': '127.0.0.1', loopback: '127.0.0.0', 'link-local': '169.254.0.0', 'ip6-localhost': '127.0.0.1' },
  ipv6: {
    localhost: '::1', 'ip6-localhost': '::1', 'ip6-loopback': '::1', 'localhost6': '::1', 'localhost6.localdomain6': '::1',
    'ip6-allnodes': 'ff02::1', 'ip6-allrouters': 'ff02::2', 'ip6-localnet': 'fe00::', 'ip6-mcastprefix': 'ff00::',
  },
};

const LOG_LEVELS: Readonly<Record<string, string>> = {
  emerg: '0', panic: '0', alert: '1', crit: '2', err: '3', error: '3', warn: '4', warning: '4', notice: '5', info: '6', debug: '7',
};
const LOG_FLAGS: readonly (readonly [number, string, string])[] = [
  [0x01, 'tcp-sequence', 'log-tcp-sequence'],
  [0x02, 'tcp-options', 'log-tcp-options'],
  [0x04, 'ip-options', 'log-ip-options'],
  [0x08, 'uid', 'log-uid'],
  [0x20, 'macdecode', 'log-macdecode'],
];
/** libip6t_ipv6header mask bits, named as its print_header() names them. */
const IPV6_HEADERS: readonly (readonly [number, string])[] = [
  [0x80, 'hop-by-hop'], [0x40, 'ipv6-opts'], [0x20, 'ipv6-route'], [0x10, 'ipv6-frag'], [0x08, 'ah'], [0x04, 'esp'], [0x02, 'ipv6-nonxt'], [0x01, 'protocol'],
];
const TOS_NAMES: Readonly<Record<string, number>> = {
  'Minimize-Delay': 0x10, 'Maximize-Throughput': 0x08, 'Maximize-Reliability': 0x04, 'Minimize-Cost': 0x02, 'Normal-Service': 0x00,
};

// ---------------------------------------------------------------------------
// Table inference constraints (kernel/iptables facts, not heuristics)

/** Targets the kernel accepts only in these tables (`.table` of the xt_target, or iptables' own check). */
const TARGET_TABLES: Readonly<Record<string, readonly TableName[]>> = {
  DNAT: ['nat'], SNAT: ['nat'], MASQUERADE: ['nat'], REDIRECT: ['nat'], NETMAP: ['nat'],
  REJECT: ['filter'],
  CT: ['raw'], NOTRACK: ['raw'], TRACE: ['raw'],
  TOS: ['mangle'], DSCP: ['mangle'], TTL: ['mangle'], HL: ['mangle'], TPROXY: ['mangle'], CHECKSUM: ['mangle'], ECN: ['mangle'], CLASSIFY: ['mangle'],
  SECMARK: ['mangle', 'security'], CONNSECMARK: ['mangle', 'security'],
};
/** "The nat table is not intended for filtering, the use of DROP is therefore inhibited." */
const TARGET_NOT_IN: Readonly<Record<string, readonly TableName[]>> = { DROP: ['nat'] };

// ---------------------------------------------------------------------------
// Parser state

interface Layout {
  readonly num: boolean;
  readonly counters: boolean;
  readonly iface: boolean;
}

interface Segment {
  readonly id: number;
  /** Table the chains of this segment belong to, when the paste says so. */
  readonly hint: TableName | undefined;
  readonly hintSource: 'command' | 'context' | 'implicit' | 'decoration' | 'none';
  readonly names: Set<string>;
}

interface ChainInstance {
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

interface Field {
  readonly text: string;
  readonly start: number;
}

type Diag = (line: number, severity: Diagnostic['severity'], code: string, message: string, column?: number) => void;

export function parseListingLines(lines: readonly string[], ctx: ListingParseContext): { tables: TableDraft[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const diag: Diag = (line, severity, code, message, column) => {
    diagnostics.push({ line, severity, code, message, ...(column !== undefined ? { column } : {}) });
  };
  const family = ctx.family;
  const instances: ChainInstance[] = [];
  let segmentId = 0;
  const newSegment = (hint: TableName | undefined, hintSource: Segment['hintSource']): Segment => ({ id: segmentId++, hint, hintSource, names: new Set() });
  let segment = newSegment(ctx.table, ctx.table ? 'context' : 'none');
  let current: ChainInstance | undefined;
  const once = new Set<string>();
  const onceDiag: Diag = (line, severity, code, message, column) => {
    if (once.has(code)) return;
    once.add(code);
    diag(line, severity, code, message, column);
  };
  const flags = { names: false, approximate: false };

  /** A decoration such as `=== nat table ===` or `# filter`: the table of the chains below. */
  const tableDecoration = (text: string, lineNo: number): boolean => {
    const deco = TABLE_DECORATION.exec(text);
    if (!deco) return false;
    const t = deco[1]!.toLowerCase() as TableName;
    diag(lineNo, 'info', 'table-hint', `"${text}" read as the table (${t}) of the chains below`);
    segment = newSegment(t, 'decoration');
    current = undefined;
    return true;
  };

  /** A shell prompt or command line: the table of the chains below comes from its `-t`. */
  const commandLine = (what: string, command: string, lineNo: number): void => {
    const m = IPTABLES_COMMAND.exec(command.trim());
    current = undefined;
    if (!m) {
      // Some other command: what follows is not this listing's output.
      diag(lineNo, 'warning', 'shell-prompt', `${what} ignored`);
      segment = newSegment(ctx.table, ctx.table ? 'context' : 'none');
      return;
    }
    const [, tool, args = ''] = m;
    if (tool === 'ip6tables' && family === 'ipv4') {
      diag(lineNo, 'warning', 'family-mismatch', 'ip6tables command in a listing that is parsed as IPv4');
    } else if (tool === 'iptables' && family === 'ipv6') {
      diag(lineNo, 'warning', 'family-mismatch', 'iptables command in a listing that is parsed as IPv6');
    }
    const explicit = tableHintFromCommand(' ' + args);
    const listing = /(?:^|\s)(?:--list(?:\s|=|$)|-[a-zA-Z]*L)/.test(args);
    if (explicit) segment = newSegment(explicit, 'command');
    else if (listing) segment = newSegment('filter', 'implicit');
    else segment = newSegment(ctx.table, ctx.table ? 'context' : 'none');
    const table = segment.hint
      ? `; the chains below are in table ${segment.hint}${explicit ? '' : listing ? ' (no -t: iptables lists filter)' : ' (from the caller)'}`
      : '';
    diag(lineNo, 'warning', 'shell-prompt', `${what} ignored${table}`);
  };

  for (let idx = 0; idx < lines.length; idx++) {
    const lineNo = idx + 1;
    const original = lines[idx]!.replace(/\r$/, '');
    const trimmed = original.trim();
    if (trimmed === '') continue;

    if (FENCE.test(trimmed)) {
      diag(lineNo, 'info', 'markdown-fence', 'markdown code fence ignored');
      continue;
    }

    const header = CHAIN_HEADER.exec(trimmed);
    if (header) {
      const [, name, policyText, pk, by, , rest = ''] = header;
      if (rest.trim() !== '') {
        const note = rest.trim();
        diag(lineNo, 'warning', 'trailing-note', `text after the chain header ignored: "${note}"`, original.indexOf(note) + 1);
      }
      if (segment.names.has(name!)) {
        // The same chain again: a second listing (another table, or a later snapshot).
        segment = newSegment(segment.hint, segment.hintSource);
      }
      segment.names.add(name!);
      const draft: ChainDraft = { name: name!, policy: null, declared: true, rules: [], line: lineNo };
      if (policyText !== undefined) {
        if (policyText === 'ACCEPT' || policyText === 'DROP') draft.policy = policyText as Policy;
        else {
          draft.policy = 'UNKNOWN';
          diag(lineNo, 'error', 'bad-policy', `bad policy "${policyText}" for chain ${name}`);
        }
        if (pk !== undefined && by !== undefined) {
          const packets = parseCount(pk);
          const bytes = parseCount(by);
          if (packets && bytes) {
            draft.counters = { packets: packets.value, bytes: bytes.value };
            if (packets.approximate || bytes.approximate) flags.approximate = true;
          } else diag(lineNo, 'warning', 'bad-counters', `policy counters "${pk} packets, ${by} bytes" are not numbers; ignored`);
        }
      }
      current = { draft, segment, builtin: policyText !== undefined, line: lineNo, layout: undefined, titleWarned: false, lastNum: 0 };
      instances.push(current);
      continue;
    }
    if (CHAIN_HEADER_LIKE.test(trimmed)) {
      diag(lineNo, 'error', 'bad-chain-header', `malformed chain header "${trimmed}"`, 1);
      current = undefined;
      continue;
    }

    const title = TITLE.exec(trimmed);
    if (title) {
      const layout: Layout = { num: title[1] !== undefined, counters: title[2] !== undefined, iface: title[3] !== undefined };
      if (!layout.iface) {
        onceDiag(lineNo, 'warning', 'listing-lossy',
          'listing without -v: interfaces (-i/-o) are not shown, so every rule looks interface-agnostic; rules that match on an interface are read as if they matched all interfaces');
      }
      if (current) {
        if (current.layout) diag(lineNo, 'warning', 'duplicate-title', 'second column-title line in one chain');
        current.layout = layout;
      } else diag(lineNo, 'warning', 'not-a-rule', 'column titles outside a chain ignored', 1);
      continue;
    }

    if (trimmed.startsWith('#')) {
      const body = trimmed.replace(/^#+\s*/, '');
      if (IPTABLES_COMMAND.test(body)) {
        commandLine('shell prompt line', body, lineNo);
        continue;
      }
      if (tableDecoration(trimmed, lineNo)) continue;
      if (/^#\s*Warning: iptables-legacy tables present/.test(trimmed)) {
        diag(lineNo, 'info', 'legacy-tables-present', 'iptables-nft reports that iptables-legacy tables also exist on this node; they are not in this listing');
        continue;
      }
      if (/^#\s*\.{3,}\s*$/.test(trimmed)) {
        diag(lineNo, 'warning', 'elided', 'elision marker: the paste leaves rules out here');
        continue;
      }
      diag(lineNo, 'info', 'comment-line', `comment ignored: "${shorten(trimmed)}"`);
      continue;
    }
    if (isShellPrompt(original)) {
      commandLine('shell prompt line', stripPrompt(trimmed), lineNo);
      continue;
    }
    if (IPTABLES_COMMAND.test(trimmed)) {
      commandLine('command line', trimmed, lineNo);
      continue;
    }
    if (SEPARATOR.test(trimmed)) {
      diag(lineNo, 'info', 'separator', 'separator line ignored');
      continue;
    }
    if (ELISION.test(trimmed)) {
      diag(lineNo, 'warning', 'elided', 'elision marker: the paste leaves rules out here');
      continue;
    }
    if (tableDecoration(trimmed, lineNo)) continue;

    if (!current) {
      diag(lineNo, 'warning', 'not-a-rule', `line is not part of a listing: "${shorten(trimmed)}"`, 1);
      continue;
    }
    const row = parseRow(original, lineNo, current, family, diag, onceDiag, flags);
    if (!row) continue;
    current.draft.rules.push(row);
  }

  if (flags.approximate) {
    const first = instances.find((c) => c.draft.counters || c.draft.rules.some((r) => r.counters));
    diag(first?.line ?? 1, 'info', 'approximate-counters',
      'counters printed with K/M/G/T suffixes (iptables -v without -x) are rounded; they were multiplied out (K = 1000) and are approximate');
  }
  if (flags.names) {
    onceDiag(instances[0]?.line ?? 1, 'info', 'listing-names',
      'listing without -n: addresses, ports, protocols and users are shown as names; they were translated back with built-in tables (/etc/services, /etc/hosts subsets)');
  }

  return { tables: assignTables(instances, diag), diagnostics };
}

// ---------------------------------------------------------------------------
// Rows

function parseCount(text: string): { value: bigint; approximate: boolean } | undefined {
  const m = COUNT.exec(text);
  if (!m) return undefined;
  const scale = { '': 1n, K: 1000n, M: 1000_000n, G: 1000_000_000n, T: 1000_000_000_000n }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return { value: BigInt(m[1]!) * scale, approximate: m[2] !== '' };
}

function splitFields(line: string, from = 0): Field[] {
  const out: Field[] = [];
  const re = /\S+/g;
  re.lastIndex = from;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], start: m.index });
  return out;
}

function isProt(f: string): boolean {
  const p = f.startsWith('!') ? f.slice(1) : f;
  if (p === '' || p.toLowerCase() in Object.prototype) return false; // names.ts looks names up with `in`
  return canonicalProtocol(p) !== undefined || lookup(EXTRA_PROTOCOLS, p.toLowerCase()) !== undefined;
}

function isAddressLike(f: string): boolean {
  const a = f.startsWith('!') ? f.slice(1) : f;
  if (a === 'anywhere') return true;
  if (/^[0-9a-fA-F:.]+(\/[0-9.]+)?$/.test(a) && (a.includes('.') || a.includes(':'))) return true;
  return /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[0-9.]+)?$/.test(a);
}

interface RowShape {
  readonly target: Field | undefined;
  readonly prot: Field;
  readonly opt: Field | undefined;
  readonly inIf: Field | undefined;
  readonly outIf: Field | undefined;
  readonly src: Field;
  readonly dst: Field;
  /** Index in the line where the option text starts (after the destination). */
  readonly rest: number;
}

/** Reads [target] prot [opt] [in out] source destination from the fields after num/pkts/bytes. */
function shapeRow(line: string, fields: readonly Field[], iface: boolean): RowShape | undefined {
  // Protocol names of 5+ characters run into the opt column in some versions ("udplite--").
  const fs: Field[] = [];
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    const m = k < 3 ? /^(.+?)(--|-f|!f)$/.exec(f.text) : null;
    if (m && isProt(m[1]!)) {
      fs.push({ text: m[1]!, start: f.start }, { text: m[2]!, start: f.start + m[1]!.length });
    } else fs.push(f);
  }
  const tries: readonly [boolean, boolean][] = [[true, true], [false, true], [true, false], [false, false]];
  for (const [hasTarget, hasOpt] of tries) {
    let k = 0;
    const target = hasTarget ? fs[k++] : undefined;
    const prot = fs[k++];
    const opt = hasOpt ? fs[k++] : undefined;
    const inIf = iface ? fs[k++] : undefined;
    const outIf = iface ? fs[k++] : undefined;
    const src = fs[k++];
    const dst = fs[k++];
    if (!prot || !src || !dst || (hasTarget && !target) || (hasOpt && !opt) || (iface && (!inIf || !outIf))) continue;
    if (!isProt(prot.text)) continue;
    if (opt && !OPT.test(opt.text)) continue;
    if (!hasOpt && fs.some((f, i) => i < k && OPT.test(f.text))) continue;
    if (target && (OPT.test(target.text) || target.text.startsWith('!'))) continue;
    if (inIf && (OPT.test(inIf.text) || inIf.text.includes('/'))) continue;
    if (outIf && (OPT.test(outIf.text) || outIf.text.includes('/'))) continue;
    if (!isAddressLike(src.text) || !isAddressLike(dst.text)) continue;
    const next = fs[k];
    return { target, prot, opt, inIf, outIf, src, dst, rest: next ? next.start : line.length };
  }
  return undefined;
}

const LAYOUT_GUESSES: readonly Layout[] = [
  { num: false, counters: true, iface: true },
  { num: false, counters: false, iface: false },
  { num: true, counters: false, iface: false },
  { num: true, counters: true, iface: true },
];

function parseRow(
  line: string,
  lineNo: number,
  chain: ChainInstance,
  family: Family,
  diag: Diag,
  onceDiag: Diag,
  flags: { names: boolean; approximate: boolean },
): RuleDraft | undefined {
  const fields = splitFields(line);
  const attempt = (layout: Layout): { shape: RowShape; num?: number; counters?: { value: Counters; approximate: boolean } } | undefined => {
    let k = 0;
    let num: number | undefined;
    if (layout.num) {
      const f = fields[k++];
      if (!f || !/^\d+$/.test(f.text)) return undefined;
      num = Number(f.text);
    }
    let counters: { value: Counters; approximate: boolean } | undefined;
    if (layout.counters) {
      const p = fields[k] ? parseCount(fields[k]!.text) : undefined;
      const b = fields[k + 1] ? parseCount(fields[k + 1]!.text) : undefined;
      if (!p || !b) return undefined;
      counters = { value: { packets: p.value, bytes: b.value }, approximate: p.approximate || b.approximate };
      k += 2;
    }
    const shape = shapeRow(line, fields.slice(k), layout.iface);
    if (!shape) return undefined;
    return { shape, ...(num !== undefined ? { num } : {}), ...(counters ? { counters } : {}) };
  };

  let parsed: ReturnType<typeof attempt>;
  if (chain.layout) parsed = attempt(chain.layout);
  else {
    for (const guess of LAYOUT_GUESSES) {
      parsed = attempt(guess);
      if (parsed) {
        chain.layout = guess;
        if (!chain.titleWarned) {
          chain.titleWarned = true;
          diag(lineNo, 'info', 'missing-title', `chain ${chain.draft.name} has no column-title line; columns guessed from its first row`);
          if (!guess.iface) {
            onceDiag(lineNo, 'warning', 'listing-lossy',
              'listing without -v: interfaces (-i/-o) are not shown, so every rule looks interface-agnostic; rules that match on an interface are read as if they matched all interfaces');
          }
        }
        break;
      }
    }
  }
  if (!parsed) {
    diag(lineNo, 'warning', 'not-a-rule', `line is not a rule of chain ${chain.draft.name}: "${shorten(line.trim())}"`, 1);
    return undefined;
  }
  const { shape } = parsed;
  if (parsed.num !== undefined) {
    if (parsed.num !== chain.lastNum + 1) {
      diag(lineNo, 'warning', 'elided', `rule number ${parsed.num} follows ${chain.lastNum || 'the chain header'}: the paste leaves rules out`);
    }
    chain.lastNum = parsed.num;
  }
  if (parsed.counters?.approximate) flags.approximate = true;

  // Option text, without a trailing note the author added.
  let optionText = line.slice(shape.rest);
  const note = findTrailingNote(optionText);
  if (note) {
    diag(lineNo, 'warning', note.kind === '//' ? 'trailing-note' : 'trailing-comment', `trailing note "${note.kind} ${note.note}" ignored`, shape.rest + note.index + 1);
    optionText = optionText.slice(0, note.index);
  }
  optionText = optionText.replace(/\s+$/, '');

  const tokens: Token[] = [];
  const push = (column: number, ...texts: string[]): void => {
    for (const text of texts) tokens.push({ text, column });
  };
  const nameColumns = new Set<number>();

  // prot
  const protCol = shape.prot.start + 1;
  let prot = shape.prot.text;
  const protNeg = prot.startsWith('!');
  if (protNeg) prot = prot.slice(1);
  const extra = lookup(EXTRA_PROTOCOLS, prot.toLowerCase());
  if (extra) {
    prot = extra;
    flags.names = true;
  }
  if (protNeg) push(protCol, '!');
  push(protCol, '-p', prot);
  // opt
  if (shape.opt && shape.opt.text !== '--') {
    const col = shape.opt.start + 1;
    if (shape.opt.text === '-f') push(col, '-f');
    else if (shape.opt.text === '!f') push(col, '!', '-f');
  }
  // addresses
  const address = (f: Field, option: '-s' | '-d'): void => {
    const col = f.start + 1;
    let a = f.text;
    const neg = a.startsWith('!');
    if (neg) a = a.slice(1);
    if (a === 'anywhere') {
      flags.names = true;
      if (!neg) return;
      a = family === 'ipv4' ? '0.0.0.0/0' : '::/0';
    } else if (!cidr(a, family).ok) {
      const [host, mask] = a.split('/');
      const known = lookup(HOST_NAMES[family], host!.toLowerCase());
      flags.names = true;
      if (known) a = known + (mask !== undefined ? '/' + mask : '');
      else {
        diag(lineNo, 'warning', 'unresolved-name',
          `"${f.text}" is a host or network name (listing without -n); packetpath cannot resolve it and keeps it as written (iptables-restore would look it up in DNS)`, col);
        nameColumns.add(col);
      }
    }
    if (neg) push(col, '!');
    push(col, option, a);
  };
  address(shape.src, '-s');
  address(shape.dst, '-d');
  // interfaces
  const iface = (f: Field | undefined, option: '-i' | '-o'): void => {
    if (!f) return;
    let n = f.text;
    if (n === '*' || n === 'any') {
      if (n === 'any') flags.names = true;
      return;
    }
    const neg = n.startsWith('!');
    if (neg) n = n.slice(1);
    if (neg) push(f.start + 1, '!');
    push(f.start + 1, option, n);
  };
  iface(shape.inIf, '-i');
  iface(shape.outIf, '-o');

  // matches and target options from the option text
  const targetName = shape.target?.text;
  const opts = parseOptionText(optionText, shape.rest, targetName, family);
  if (opts.names) flags.names = true;
  for (const group of opts.matches) tokens.push(...group);
  let pendingName = targetName;
  if (opts.targetName) pendingName = opts.targetName;
  if (pendingName !== undefined) {
    const col = shape.target!.start + 1;
    push(col, opts.goto ? '-g' : '-j', pendingName);
    tokens.push(...opts.target);
  } else if (opts.goto) {
    diag(lineNo, 'warning', 'listing-unparsed', '"[goto]" on a rule without a target ignored', shape.rest + 1);
  }

  const spec = parseRuleSpec(toTokenList(tokens), family);
  for (const p of spec.problems) {
    if (p.code === 'bad-address' && nameColumns.has(p.column)) continue;
    diag(lineNo, p.severity, p.code, p.message, p.column);
  }
  const unknown: Match[] = opts.unparsed.map((u) => ({
    kind: 'module',
    module: '?listing',
    options: [{ name: 'text', negated: false, args: [u.text], known: false }],
    known: false,
  }));
  for (const u of opts.unparsed) {
    diag(lineNo, 'warning', 'listing-unparsed', `option text "${u.text}" is not understood; kept verbatim as an unknown match (the rule's meaning is uncertain)`, u.column);
  }
  const variants = spec.variants.length ? spec.variants : [[]];
  if (variants.length > 1) diag(lineNo, 'warning', 'listing-variants', 'one listing row produced several rules');
  const matches = [...variants[0]!, ...unknown];
  return {
    position: 0,
    line: lineNo,
    raw: line,
    ...(parsed.counters ? { counters: parsed.counters.value } : {}),
    matches,
    target: spec.target,
  };
}

/** A trailing `// note` or ` # note` outside comments and quotes. `#conn` is connlimit's output, not a note. */
function findTrailingNote(text: string): { index: number; note: string; kind: '//' | '#' } | undefined {
  let inQuote = false;
  let inComment = false;
  for (let i = 0; i < text.length; i++) {
    if (inComment) {
      if (text.startsWith('*/', i)) {
        inComment = false;
        i++;
      }
      continue;
    }
    const ch = text[i];
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (ch === '"') {
      inQuote = true;
      continue;
    }
    if (text.startsWith('/*', i)) {
      inComment = true;
      i++;
      continue;
    }
    const ws = i === 0 || /\s/.test(text[i - 1]!);
    if (ch === '/' && text[i + 1] === '/' && ws) return { index: i, note: text.slice(i + 2).trim(), kind: '//' };
    if (ch === '#' && ws && !/^#conn[\s/]/.test(text.slice(i))) return { index: i, note: text.slice(i + 1).trim(), kind: '#' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Option text: what the match and target extensions print

interface Unparsed {
  readonly text: string;
  readonly column: number;
}

interface OptionResult {
  matches: Token[][];
  target: Token[];
  /** Replaces the target column (CT + "NOTRACK" is the NOTRACK target). */
  targetName?: string;
  goto: boolean;
  unparsed: Unparsed[];
  names: boolean;
}

class Scanner {
  pos: number;
  names = false;
  constructor(
    readonly text: string,
    /** 0-based index of text[0] in the line. */
    readonly base: number,
    pos = 0,
  ) {
    this.pos = pos;
  }
  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  atEnd(): boolean {
    this.ws();
    return this.pos >= this.text.length;
  }
  column(): number {
    return this.base + this.pos + 1;
  }
  /** Matches a sticky regex at the cursor (after whitespace); it must end at a word boundary. */
  re(re: RegExp): RegExpExecArray | undefined {
    this.ws();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m || m.index !== this.pos) return undefined;
    const end = this.pos + m[0].length;
    if (end < this.text.length && !/\s/.test(this.text[end]!)) return undefined;
    this.pos = end;
    return m;
  }
  /** Runs a parser; restores the cursor when it fails. */
  attempt<T>(f: () => T | undefined): T | undefined {
    const save = this.pos;
    const names = this.names;
    const r = f();
    if (r === undefined) {
      this.pos = save;
      this.names = names;
    }
    return r;
  }
}

// Positions just after each " */" that could close the comment opened at `pos`.
function commentEnds(text: string, pos: number): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(' */', pos + 2); i >= 0; i = text.indexOf(' */', i + 1)) {
    if (i < pos + 2) continue;
    const end = i + 3;
    if (end === text.length || /\s/.test(text[end]!)) out.push(end);
  }
  return out;
}

function parseOptionText(text: string, base: number, target: string | undefined, family: Family): OptionResult {
  const s = new Scanner(text, base);
  const res: OptionResult = { matches: [], target: [], goto: false, unparsed: [], names: false };
  if (s.re(/\[goto\]/y)) res.goto = true;
  parseSequence(s, res, target, family, 0);
  res.names = res.names || s.names;
  return res;
}

function parseSequence(s: Scanner, res: OptionResult, target: string | undefined, family: Family, depth: number): void {
  let pending: { start: number; end: number } | undefined;
  let targetDone = false;
  const flush = (): void => {
    if (!pending) return;
    res.unparsed.push({ text: s.text.slice(pending.start, pending.end), column: s.base + pending.start + 1 });
    pending = undefined;
  };
  while (!s.atEnd()) {
    const col = s.column();
    // /* comment */ -- may contain spaces and even " */"; pick the reading after which the rest parses.
    if (s.text.startsWith('/* ', s.pos)) {
      const start = s.pos;
      const ends = commentEnds(s.text, start);
      if (ends.length > 0) {
        flush();
        const candidates = depth < 3 ? ends.slice(0, 6) : ends.slice(0, 1);
        let chosen: { end: number; sub: OptionResult; names: boolean } | undefined;
        for (const end of candidates) {
          const sub: OptionResult = { matches: [], target: [], goto: false, unparsed: [], names: false };
          const ss = new Scanner(s.text, s.base, end);
          parseSequence(ss, sub, target, family, depth + 1);
          const c = { end, sub, names: ss.names };
          if (!chosen) chosen = c;
          if (sub.unparsed.length === 0) {
            chosen = c;
            break;
          }
        }
        const comment = s.text.slice(start + 3, chosen!.end - 3);
        res.matches.push(tok(col, '-m', 'comment', '--comment', comment));
        res.matches.push(...chosen!.sub.matches);
        res.target.push(...chosen!.sub.target);
        if (chosen!.sub.targetName) res.targetName = chosen!.sub.targetName;
        res.unparsed.push(...chosen!.sub.unparsed);
        if (chosen!.names) s.names = true;
        s.pos = s.text.length;
        return;
      }
    }
    // Matches print first, the target's own text last; nothing known follows the target's text.
    if (!targetDone) {
      const out = firstOf(MATCH_PARSERS, (parser) => s.attempt(() => parser(s, family)));
      if (out) {
        flush();
        res.matches.push(tok(col, ...out));
        continue;
      }
      const t = target !== undefined ? s.attempt(() => parseTarget(s, target, family)) : undefined;
      if (t) {
        flush();
        res.target.push(...tok(col, ...t.options));
        if (t.name) res.targetName = t.name;
        targetDone = true;
        continue;
      }
    }
    // Not understood: collect words until a known print resumes.
    s.ws();
    const start = s.pos;
    while (s.pos < s.text.length && !/\s/.test(s.text[s.pos]!)) s.pos++;
    // Quoted strings belong together.
    const word = s.text.slice(start, s.pos);
    if ((word.match(/"/g)?.length ?? 0) % 2 === 1) {
      const close = s.text.indexOf('"', s.pos);
      if (close >= 0) {
        s.pos = close + 1;
        while (s.pos < s.text.length && !/\s/.test(s.text[s.pos]!)) s.pos++;
      }
    }
    if (pending) pending.end = s.pos;
    else pending = { start, end: s.pos };
  }
  flush();
}

const tok = (column: number, ...texts: string[]): Token[] => texts.map((text) => ({ text, column }));

function firstOf<T, R>(items: readonly T[], f: (item: T) => R | undefined): R | undefined {
  for (const item of items) {
    const r = f(item);
    if (r !== undefined) return r;
  }
  return undefined;
}

type MatchParser = (s: Scanner, family: Family) => string[] | undefined;

const neg = (bang: string | undefined): string[] => (bang ? ['!'] : []);

/** A port or port name as printed by tcp/udp/multiport; undefined when the name is unknown. */
function portValue(s: Scanner, v: string): string | undefined {
  if (/^\d+$/.test(v)) return v;
  const known = portNumber(v); // names.ts does not guard against Object.prototype keys
  const n = typeof known === 'number' ? known : lookup(EXTRA_SERVICES, v);
  if (n === undefined) return undefined;
  s.names = true;
  return String(n);
}

function portRangeValue(s: Scanner, v: string): string | undefined {
  const parts = v.split(':');
  if (parts.length > 2) return undefined;
  const out: string[] = [];
  for (const p of parts) {
    const n = portValue(s, p);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out.join(':');
}

function flagNames(v: string): string | undefined {
  if (/^0x[0-9a-fA-F]+$/.test(v)) {
    const n = parseUint(v, 0xff);
    return n === undefined || n > 0x3f ? undefined : formatTcpFlags(n);
  }
  return /^[A-Z,]+$/.test(v) ? v : undefined;
}

const MATCH_PARSERS: readonly MatchParser[] = [
  // tcp / udp / sctp / dccp / udplite: " tcp spt:1 dpts:2:3 option=!4 flags:!0x17/0x02"
  (s) => {
    const m = s.re(/(udplite|tcp|udp|sctp|dccp)/y);
    if (!m) return undefined;
    const proto = m[1]!;
    const out = ['-m', proto];
    for (;;) {
      const p = s.attempt(() => {
        const pm = s.re(/(spt|dpt)(s?):\s*(!?)(\S+)/y);
        if (!pm) return undefined;
        const v = pm[2] ? portRangeValue(s, pm[4]!) : portValue(s, pm[4]!);
        if (v === undefined || (pm[2] && !v.includes(':'))) return undefined;
        return [...neg(pm[3]), pm[1] === 'spt' ? '--sport' : '--dport', v];
      });
      if (p) {
        out.push(...p);
        continue;
      }
      if (proto === 'tcp') {
        const o = s.re(/option=(!?)(\d+)/y);
        if (o) {
          out.push(...neg(o[1]), '--tcp-option', o[2]!);
          continue;
        }
        const f = s.attempt(() => {
          const fm = s.re(/flags:(!?)([^\s/]+)\/(\S+)/y);
          if (!fm) return undefined;
          const mask = flagNames(fm[2]!);
          const comp = flagNames(fm[3]!);
          return mask && comp ? [...neg(fm[1]), '--tcp-flags', mask, comp] : undefined;
        });
        if (f) {
          out.push(...f);
          continue;
        }
      }
      break;
    }
    return out;
  },
  // icmp: "icmptype 8", "icmptype 3 code 4", "icmp !type 8", "icmp type 8" (old), "icmp echo-request"
  (s, family) => {
    if (family !== 'ipv4') return undefined;
    const m = s.re(/icmp\s*(!)?\s*type (\d+)(?: code (\d+)| codes (\d+)-(\d+))?/y);
    if (m) {
      const v = icmpValue(m[2]!, m[3], m[4], m[5]);
      return v === undefined ? undefined : ['-m', 'icmp', ...neg(m[1]), '--icmp-type', v];
    }
    const n = s.re(/icmp\s+(!)?\s*([A-Za-z][A-Za-z-]*)/y);
    if (!n || lookup(ICMP_TYPES, n[2]!) === undefined) return undefined;
    s.names = true;
    return ['-m', 'icmp', ...neg(n[1]), '--icmp-type', n[2]!];
  },
  // icmp6: "ipv6-icmptype 133", "ipv6-icmptype 1 code 4", "ipv6-icmp router-solicitation"
  (s, family) => {
    if (family !== 'ipv6') return undefined;
    const m = s.re(/ipv6-icmp\s*(!)?\s*type (\d+)(?: code (\d+)| codes (\d+)-(\d+))?/y);
    if (m) {
      const v = icmpValue(m[2]!, m[3], m[4], m[5]);
      return v === undefined ? undefined : ['-m', 'icmp6', ...neg(m[1]), '--icmpv6-type', v];
    }
    const n = s.re(/ipv6-icmp\s+(!)?\s*([A-Za-z][A-Za-z-]*)/y);
    if (!n || lookup(ICMPV6_TYPES, n[2]!) === undefined) return undefined;
    s.names = true;
    return ['-m', 'icmp6', ...neg(n[1]), '--icmpv6-type', n[2]!];
  },
  // multiport: "multiport dports 80,443,1000:2000" (negated: "multiport dports  !80")
  (s) => {
    const m = s.re(/multiport (sports|dports|ports)\s+(!)?\s*(\S+)/y);
    if (!m) return undefined;
    const items: string[] = [];
    for (const item of m[3]!.split(',')) {
      const v = portRangeValue(s, item);
      if (v === undefined) return undefined;
      items.push(v);
    }
    return ['-m', 'multiport', ...neg(m[2]), `--${m[1]}`, items.join(',')];
  },
  // conntrack: "! ctstate RELATED,ESTABLISHED ctorigdst 10.0.0.0/8 ctorigdstport 80 ctstatus ASSURED ctdir REPLY"
  (s, family) => {
    const out = ['-m', 'conntrack'];
    for (;;) {
      const o = s.attempt((): string[] | undefined => {
        const st = s.re(/(!\s*)?(ctstate|ctstatus)\s+([A-Z_]+(?:,[A-Z_]+)*)/y);
        if (st) return [...neg(st[1]), `--${st[2]}`, st[3]!];
        const pr = s.re(/(!\s*)?ctproto\s+(\d+)/y);
        if (pr) return [...neg(pr[1]), '--ctproto', pr[2]!];
        const ad = s.re(/(!\s*)?(ctorigsrc|ctorigdst|ctreplsrc|ctrepldst)\s+(\S+)/y);
        if (ad) return cidr(ad[3]!, family).ok ? [...neg(ad[1]), `--${ad[2]}`, ad[3]!] : undefined;
        const po = s.re(/(!\s*)?(ctorigsrcport|ctorigdstport|ctreplsrcport|ctrepldstport)\s+(\d+(?::\d+)?)/y);
        if (po) return [...neg(po[1]), `--${po[2]}`, po[3]!];
        const ex = s.re(/(!\s*)?ctexpire\s+(\d+(?::\d+)?)/y);
        if (ex) return [...neg(ex[1]), '--ctexpire', ex[2]!];
        const di = s.re(/ctdir\s+(ORIGINAL|REPLY)/y);
        if (di) return ['--ctdir', di[1]!];
        return undefined;
      });
      if (!o) break;
      out.push(...o);
    }
    return out.length > 2 ? out : undefined;
  },
  // state: "state RELATED,ESTABLISHED", "! state NEW"
  (s) => {
    const m = s.re(/(!\s*)?state\s+(!)?([A-Z]+(?:,[A-Z]+)*)/y);
    return m ? ['-m', 'state', ...neg(m[1] ?? m[2]), '--state', m[3]!] : undefined;
  },
  // mark: "mark match 0x4000/0x4000", "mark match ! 0x4000/0x4000", "MARK match 0x1" (rev 0)
  (s) => {
    const m = s.re(/(?:mark|MARK) match\s+(!)?\s*(0x[0-9a-fA-F]+(?:\/0x[0-9a-fA-F]+)?)/y);
    return m ? ['-m', 'mark', ...neg(m[1]), '--mark', m[2]!] : undefined;
  },
  // connmark: "connmark match  0x1", "connmark match ! 0x1/0xff", "CONNMARK match 0x1" (rev 0)
  (s) => {
    const m = s.re(/(?:connmark|CONNMARK) match\s+(!)?\s*(0x[0-9a-fA-F]+(?:\/0x[0-9a-fA-F]+)?)/y);
    return m ? ['-m', 'connmark', ...neg(m[1]), '--mark', m[2]!] : undefined;
  },
  // addrtype: "ADDRTYPE match src-type !LOCAL dst-type LOCAL limit-in"
  (s) => {
    if (!s.re(/ADDRTYPE match/y)) return undefined;
    const out = ['-m', 'addrtype'];
    for (;;) {
      const t = s.re(/(src-type|dst-type)\s+(!)?\s*([A-Z]+(?:,[A-Z]+)*)/y);
      if (t) {
        out.push(...neg(t[2]), `--${t[1]}`, t[3]!);
        continue;
      }
      const l = s.re(/limit-(in|out)/y);
      if (l) {
        out.push(`--limit-iface-${l[1]}`);
        continue;
      }
      break;
    }
    return out.length > 2 ? out : undefined;
  },
  // statistic: "statistic mode random probability 0.50000000000", "statistic mode nth every 3 packet 1"
  (s) => {
    const r = s.re(/statistic mode random( !)? probability (\d+(?:\.\d+)?)/y);
    if (r) return ['-m', 'statistic', '--mode', 'random', ...neg(r[1]), '--probability', r[2]!];
    const n = s.re(/statistic mode nth( !)? every (\d+)(?: packet (\d+))?/y);
    if (n) return ['-m', 'statistic', '--mode', 'nth', ...neg(n[1]), '--every', n[2]!, '--packet', n[3] ?? '0'];
    return undefined;
  },
  // set: "match-set KUBE-X dst,dst", "! match-set X src return-nomatch ! update-counters packets-gt 5"
  (s) => {
    const m = s.re(/(!\s*)?match-set\s+(\S+)\s+((?:src|dst)(?:,(?:src|dst))*)/y);
    if (!m) return undefined;
    const out = ['-m', 'set', ...neg(m[1]), '--match-set', m[2]!, m[3]!];
    for (;;) {
      const o = s.re(/(!\s*)?(return-nomatch|update-counters|update-subcounters)/y);
      if (o) {
        out.push(...neg(o[1]), `--${o[2]}`);
        continue;
      }
      const c = s.re(/(!\s*)?(packets|bytes)-(eq|lt|gt)\s+(\d+)/y);
      if (c) {
        out.push(...neg(c[1]), `--${c[2]}-${c[3]}`, c[4]!);
        continue;
      }
      break;
    }
    return out;
  },
  // physdev: "PHYSDEV match ! --physdev-is-in --physdev-out eth0 --physdev-is-bridged"
  (s) => {
    if (!s.re(/PHYSDEV match/y)) return undefined;
    const out = ['-m', 'physdev'];
    for (;;) {
      const f = s.re(/(!\s*)?--physdev-(is-in|is-out|is-bridged)/y);
      if (f) {
        out.push(...neg(f[1]), `--physdev-${f[2]}`);
        continue;
      }
      const d = s.re(/(!\s*)?--physdev-(in|out)\s+(\S+)/y);
      if (d) {
        out.push(...neg(d[1]), `--physdev-${d[2]}`, d[3]!);
        continue;
      }
      break;
    }
    return out.length > 2 ? out : undefined;
  },
  // limit: "limit: avg 3/min burst 10"
  (s) => {
    const m = s.re(/limit: avg (\d+\/[a-z]+) burst (\d+)/y);
    return m ? ['-m', 'limit', '--limit', m[1]!, '--limit-burst', m[2]!] : undefined;
  },
  // pkttype: "PKTTYPE = broadcast", "PKTTYPE != multicast", "pkttype broadcast"
  (s) => {
    const m = s.re(/(?:PKTTYPE|pkttype)\s+(?:(!?)=\s*)?(unicast|broadcast|multicast|host|otherhost)/y);
    return m ? ['-m', 'pkttype', ...neg(m[1]), '--pkt-type', m[2]!] : undefined;
  },
  // length: "length 0:100", "length !100"
  (s) => {
    const m = s.re(/length\s+(!)?\s*(\d+(?::\d+)?)/y);
    return m ? ['-m', 'length', ...neg(m[1]), '--length', m[2]!] : undefined;
  },
  // ttl / hl: "TTL match TTL < 5", "HL match HL == 255"
  (s) => {
    const m = s.re(/(TTL|HL) match (?:(!)\s*)?(?:TTL|HL) (==|!=|<|>) (\d+)/y);
    if (!m) return undefined;
    const mod = m[1] === 'TTL' ? 'ttl' : 'hl';
    const op = { '==': 'eq', '!=': 'eq', '<': 'lt', '>': 'gt' }[m[3] as '==' | '!=' | '<' | '>'];
    return ['-m', mod, ...(m[3] === '!=' || m[2] ? ['!'] : []), `--${mod}-${op}`, m[4]!];
  },
  // owner: "owner UID match 0", "! owner UID match 1000 owner GID match 5", "owner socket exists"
  (s) => {
    const out = ['-m', 'owner'];
    for (;;) {
      const u = s.re(/(!\s*)?owner (UID|GID) match\s+(\S+)/y);
      if (u) {
        let v = u[3]!;
        if (!/^\d+(-\d+)?$/.test(v)) {
          s.names = true;
          if (v === 'root') v = '0';
        }
        out.push(...neg(u[1]), u[2] === 'UID' ? '--uid-owner' : '--gid-owner', v);
        continue;
      }
      const e = s.re(/(!\s*)?owner socket exists/y);
      if (e) {
        out.push(...neg(e[1]), '--socket-exists');
        continue;
      }
      const g = s.re(/incl\. suppl\. groups/y);
      if (g) {
        out.push('--suppl-groups');
        continue;
      }
      break;
    }
    return out.length > 2 ? out : undefined;
  },
  // mac: "MAC 00:11:22:33:44:55", "MAC ! 00:11:..."
  (s) => {
    const m = s.re(/(?:MAC|mac)\s+(!)?\s*((?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})/y);
    return m ? ['-m', 'mac', ...neg(m[1]), '--mac-source', m[2]!] : undefined;
  },
  // iprange: "source IP range 1.1.1.1-1.1.1.9 destination IP range ! 2.2.2.2-2.2.2.3"
  (s) => {
    const out = ['-m', 'iprange'];
    for (;;) {
      const r = s.re(/(source|destination) IP range\s+(!)?\s*(\S+-\S+)/y);
      if (!r) break;
      out.push(...neg(r[2]), r[1] === 'source' ? '--src-range' : '--dst-range', r[3]!);
    }
    return out.length > 2 ? out : undefined;
  },
  // tos: "tos match0x10/0xff", "tos match!0x10/0x3f", "tos match Minimize-Delay"
  (s) => {
    const m = s.re(/(?:tos|TOS) match\s*(!)?\s*(0x[0-9a-fA-F]+(?:\/0x[0-9a-fA-F]+)?|[A-Z][A-Za-z-]+)/y);
    if (!m) return undefined;
    let v = m[2]!;
    if (!v.startsWith('0x')) {
      const n = lookup(TOS_NAMES, v);
      if (n === undefined) return undefined;
      s.names = true;
      v = `${hex(n)}/0x3f`;
    }
    return ['-m', 'tos', ...neg(m[1]), '--tos', v];
  },
  // dscp: "DSCP match 0x2e", "DSCP match !0x2e"
  (s) => {
    const m = s.re(/DSCP match\s+(!)?\s*(0x[0-9a-fA-F]+)/y);
    return m ? ['-m', 'dscp', ...neg(m[1]), '--dscp', m[2]!] : undefined;
  },
  // helper: 'helper match "ftp"'
  (s) => {
    const m = s.re(/helper match\s+(!)?\s*"([^"]*)"/y);
    return m ? ['-m', 'helper', ...neg(m[1]), '--helper', m[2]!] : undefined;
  },
  // connlimit: "#conn src/32 > 10"; revision 0: "#conn/32 > 10"
  (s) => {
    const m = s.re(/#conn(?: (src|dst))?\/(\d+) (>|<=) (\d+)/y);
    if (!m) return undefined;
    return ['-m', 'connlimit', m[3] === '>' ? '--connlimit-above' : '--connlimit-upto', m[4]!, '--connlimit-mask', m[2]!, m[1] === 'dst' ? '--connlimit-daddr' : '--connlimit-saddr'];
  },
  // recent: "recent: UPDATE seconds: 60 hit_count: 4 name: SSH side: source mask: 255.255.255.255"
  (s) => {
    const m = s.re(/(!\s*)?recent: (SET|CHECK|UPDATE|REMOVE)(?: seconds: (\d+))?( reap)?(?: hit_count: (\d+))?( TTL-Match)? name: (\S+) side: (source|dest)(?: mask: (\S+))?/y);
    if (!m) return undefined;
    const mode = { SET: '--set', CHECK: '--rcheck', UPDATE: '--update', REMOVE: '--remove' }[m[2] as 'SET' | 'CHECK' | 'UPDATE' | 'REMOVE'];
    return [
      '-m', 'recent', ...neg(m[1]), mode,
      ...(m[3] ? ['--seconds', m[3]] : []), ...(m[4] ? ['--reap'] : []), ...(m[5] ? ['--hitcount', m[5]] : []), ...(m[6] ? ['--rttl'] : []),
      '--name', m[7]!, ...(m[9] ? ['--mask', m[9]] : []), m[8] === 'source' ? '--rsource' : '--rdest',
    ];
  },
  // nfacct: "nfacct-name  ct_state_invalid_dropped_pkts"
  (s) => {
    const m = s.re(/nfacct-name\s+(\S+)/y);
    return m ? ['-m', 'nfacct', '--nfacct-name', m[1]!] : undefined;
  },
  // devgroup: "src-group 0x1 ! dst-group 0x2"
  (s) => {
    const out = ['-m', 'devgroup'];
    for (;;) {
      const g = s.re(/(!\s*)?(src-group|dst-group)\s+(0x[0-9a-fA-F]+(?:\/0x[0-9a-fA-F]+)?|\d+)/y);
      if (!g) break;
      out.push(...neg(g[1]), `--${g[2]}`, g[3]!);
    }
    return out.length > 2 ? out : undefined;
  },
  // tcpmss: "tcpmss match 1400:1500"
  (s) => {
    const m = s.re(/tcpmss match\s+(!)?\s*(\d+(?::\d+)?)/y);
    return m ? ['-m', 'tcpmss', ...neg(m[1]), '--mss', m[2]!] : undefined;
  },
  // string: 'STRING match  "foo" ALGO name bm FROM 10 TO 100 ICASE'
  (s) => {
    const m = s.re(/(!\s*)?STRING match\s+(!)?\s*"((?:[^"\\]|\\.)*)" ALGO name (\S+)(?: FROM (\d+))?(?: TO (\d+))?( ICASE)?/y);
    if (!m) return undefined;
    const raw = m[3]!.replace(/\\(.)/g, '$1');
    const isHex = /^\|[0-9a-fA-F ]*\|$/.test(raw);
    return [
      '-m', 'string', '--algo', m[4]!, ...(m[5] ? ['--from', m[5]] : []), ...(m[6] ? ['--to', m[6]] : []),
      ...neg(m[1] ?? m[2]), isHex ? '--hex-string' : '--string', raw, ...(m[7] ? ['--icase'] : []),
    ];
  },
  // rpfilter: "rpfilter loose validmark accept-local invert"
  (s) => {
    const m = s.re(/rpfilter((?: (?:loose|validmark|accept-local|invert))*)/y);
    if (!m) return undefined;
    return ['-m', 'rpfilter', ...m[1]!.trim().split(/\s+/).filter(Boolean).map((f) => `--${f}`)];
  },
  // socket: "socket --transparent --nowildcard"
  (s) => {
    const m = s.re(/socket((?: --(?:transparent|nowildcard|restore-skmark))*)/y);
    if (!m) return undefined;
    return ['-m', 'socket', ...m[1]!.trim().split(/\s+/).filter(Boolean)];
  },
  // policy: "policy match dir in pol ipsec strict [0] reqid 1 proto esp [1] mode tunnel tunnel-dst 10.0.0.1"
  (s) => {
    const m = s.re(/policy match dir (in|out) pol (none|ipsec)( strict)?/y);
    if (!m) return undefined;
    const out = ['-m', 'policy', '--dir', m[1]!, '--pol', m[2]!, ...(m[3] ? ['--strict'] : [])];
    let elements = 0;
    for (;;) {
      const idx = s.re(/\[(\d+)\]/y);
      if (idx) {
        if (elements++ > 0) out.push('--next');
        continue;
      }
      const e = s.re(/(!\s*)?(reqid|spi|proto|mode|tunnel-src|tunnel-dst) (\S+)/y);
      if (!e) break;
      let v = e[3]!;
      if (e[2] === 'proto') v = ({ '50': 'esp', '51': 'ah', '108': 'ipcomp' } as Record<string, string>)[v] ?? v;
      out.push(...neg(e[1]), `--${e[2]}`, v);
    }
    return out;
  },
  // time: "TIME from 08:00:00 to 17:00:00 on Mon,Tue on 1st,15th starting from 2024-01-01 00:00:00 until ... UTC contiguous"
  (s) => {
    const m = s.re(/TIME(?: from (\d\d:\d\d:\d\d) to (\d\d:\d\d:\d\d))?(?: on ([A-Z][a-z]{2}(?:,[A-Z][a-z]{2})*))?(?: on (\d+(?:st|nd|rd|th)(?:,\d+(?:st|nd|rd|th))*))?(?: starting from (?:date )?(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d))?(?: until (?:date )?(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d))?( UTC)?( contiguous)?/y);
    if (!m) return undefined;
    return [
      '-m', 'time',
      ...(m[5] ? ['--datestart', `${m[5]}T${m[6]}`] : []), ...(m[7] ? ['--datestop', `${m[7]}T${m[8]}`] : []),
      ...(m[1] ? ['--timestart', m[1], '--timestop', m[2]!] : []),
      ...(m[4] ? ['--monthdays', m[4].replace(/(st|nd|rd|th)/g, '')] : []), ...(m[3] ? ['--weekdays', m[3]] : []),
      ...(m[9] ? [] : ['--kerneltz']), ...(m[10] ? ['--contiguous'] : []),
    ];
  },
  // ecn: "ECN match !ECE CWR ECT=1"
  (s) => {
    const m = s.re(/ECN match((?: !?(?:ECE|CWR|ECT=\d))+)/y);
    if (!m) return undefined;
    const out = ['-m', 'ecn'];
    for (const w of m[1]!.trim().split(/\s+/)) {
      const n = w.startsWith('!');
      const f = n ? w.slice(1) : w;
      if (n) out.push('!');
      if (f === 'ECE') out.push('--ecn-tcp-ece');
      else if (f === 'CWR') out.push('--ecn-tcp-cwr');
      else out.push('--ecn-ip-ect', f.slice(4));
    }
    return out;
  },
  // u32: 'u32 "0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x0"'
  (s) => {
    const m = s.re(/u32\s+(!)?\s*"([^"]*)"/y);
    return m ? ['-m', 'u32', ...neg(m[1]), '--u32', m[2]!] : undefined;
  },
  // connbytes: "connbytes 10:100 connbytes mode bytes connbytes direction both"
  (s) => {
    const m = s.re(/(!\s*)?connbytes (\d+(?::\d+)?) connbytes mode (packets|bytes|avgpkt) connbytes direction (original|reply|both)/y);
    return m ? ['-m', 'connbytes', ...neg(m[1]), '--connbytes', m[2]!, '--connbytes-mode', m[3]!, '--connbytes-dir', m[4]!] : undefined;
  },
  // frag (IPv6): "frag id:5 length:8 reserved first more last"
  (s, family) => {
    if (family !== 'ipv6' || !s.re(/frag/y)) return undefined;
    const out = ['-m', 'frag'];
    for (;;) {
      const id = s.re(/ids?:(!?)(\d+(?::\d+)?)/y);
      if (id) {
        out.push(...neg(id[1]), '--fragid', id[2]!);
        continue;
      }
      const len = s.re(/length:(!?)(\d+)/y);
      if (len) {
        out.push(...neg(len[1]), '--fraglen', len[2]!);
        continue;
      }
      const f = s.re(/(reserved|first|more|last)/y);
      if (f) {
        out.push({ reserved: '--fragres', first: '--fragfirst', more: '--fragmore', last: '--fraglast' }[f[1] as 'reserved' | 'first' | 'more' | 'last']);
        continue;
      }
      break;
    }
    return out;
  },
  // ipv6header: "ipv6header flags:0x10 soft", "ipv6header flags:!ipv6-frag,ah"
  (s, family) => {
    if (family !== 'ipv6') return undefined;
    const m = s.re(/ipv6header(?: flags:(!?)(0x[0-9a-fA-F]+|[a-z0-9-]+(?:,[a-z0-9-]+)*))?( soft)?/y);
    if (!m || (!m[2] && !m[3])) return undefined;
    let header = m[2];
    if (header?.startsWith('0x')) {
      const bits = parseUint(header, 0xff)!;
      header = IPV6_HEADERS.filter(([bit]) => bits & bit).map(([, name]) => name).join(',');
      if (header === '') return undefined;
    }
    return ['-m', 'ipv6header', ...neg(m[1]), ...(header ? ['--header', header] : []), ...(m[3] ? ['--soft'] : [])];
  },
  // rt (IPv6): "rt type:0 segsleft:!2 length:16 reserved"
  (s, family) => {
    if (family !== 'ipv6' || !s.re(/rt/y)) return undefined;
    const out = ['-m', 'rt'];
    for (;;) {
      const t = s.re(/type:(!?)(\d+)/y);
      if (t) {
        out.push(...neg(t[1]), '--rt-type', t[2]!);
        continue;
      }
      const g = s.re(/segslefts?:(!?)(\d+(?::\d+)?)/y);
      if (g) {
        out.push(...neg(g[1]), '--rt-segsleft', g[2]!);
        continue;
      }
      const l = s.re(/length:(!?)(\d+)/y);
      if (l) {
        out.push(...neg(l[1]), '--rt-len', l[2]!);
        continue;
      }
      if (s.re(/reserved/y)) {
        out.push('--rt-0-res');
        continue;
      }
      if (s.re(/0-not-strict/y)) {
        out.push('--rt-0-not-strict');
        continue;
      }
      break;
    }
    return out;
  },
  // esp / ah: "esp spi:1", "esp spis:1:2", "ah spi:!5"
  (s) => {
    const m = s.re(/(esp|ah) spis?:(!?)(\d+(?::\d+)?)/y);
    return m ? ['-m', m[1]!, ...neg(m[2]), m[1] === 'esp' ? '--espspi' : '--ahspi', m[3]!] : undefined;
  },
  // quota: "quota: 1000 bytes"
  (s) => {
    const m = s.re(/(!\s*)?quota: (\d+) bytes/y);
    return m ? ['-m', 'quota', ...neg(m[1]), '--quota', m[2]!] : undefined;
  },
  // cgroup: "cgroup 1", "cgroup ! /system.slice"
  (s) => {
    const m = s.re(/cgroup\s+(!)?\s*(\S+)/y);
    if (!m) return undefined;
    return ['-m', 'cgroup', ...neg(m[1]), /^\d+$/.test(m[2]!) ? '--cgroup' : '--path', m[2]!];
  },
];

function icmpValue(type: string, code: string | undefined, lo: string | undefined, hi: string | undefined): string | undefined {
  if (code !== undefined) return `${type}/${code}`;
  if (lo !== undefined) {
    if (lo === hi) return `${type}/${lo}`;
    return lo === '0' && hi === '255' ? type : undefined;
  }
  return type;
}

/** Reads what a target extension prints. `name` replaces the target column when the listing names it differently. */
function parseTarget(s: Scanner, target: string, family: Family): { options: string[]; name?: string } | undefined {
  const hex32 = '0x[0-9a-fA-F]+';
  switch (target) {
    case 'DNAT':
    case 'SNAT': {
      const m = s.re(/to:(\S+)((?: (?:random-fully|random|persistent))*)/y);
      if (!m) return undefined;
      const extraFlags = m[2]!.trim().split(/\s+/).filter(Boolean).map((f) => `--${f}`);
      return { options: [target === 'DNAT' ? '--to-destination' : '--to-source', m[1]!, ...extraFlags] };
    }
    case 'NETMAP': {
      const m = s.re(/to:(\S+)/y);
      return m ? { options: ['--to', m[1]!] } : undefined;
    }
    case 'MASQUERADE':
    case 'REDIRECT': {
      const m = target === 'MASQUERADE'
        ? s.re(/(?:masq ports: (\d+(?:-\d+)?))?((?:\s*(?:random-fully|random))*)/y)
        : s.re(/(?:redir ports (\d+(?:-\d+)?))?((?:\s*(?:random-fully|random))*)/y);
      if (!m || m[0] === '') return undefined;
      return { options: [...(m[1] ? ['--to-ports', m[1]] : []), ...m[2]!.trim().split(/\s+/).filter(Boolean).map((f) => `--${f}`)] };
    }
    case 'MARK':
    case 'CONNMARK': {
      const m = s.re(new RegExp(`${target} (and|or|xor|set|xset) (${hex32}(?:/${hex32})?)`, 'y'));
      if (m) {
        const [val, mask] = m[2]!.split('/');
        switch (m[1]) {
          case 'and':
            return { options: ['--and-mark', val!] };
          case 'or':
            return { options: ['--or-mark', val!] };
          case 'xor':
            return { options: ['--xor-mark', val!] };
          case 'set':
            return { options: ['--set-xmark', `${val}/${mask ?? '0xffffffff'}`] };
          default:
            return { options: ['--set-xmark', `${val}/${mask ?? '0xffffffff'}`] };
        }
      }
      if (target !== 'CONNMARK') return undefined;
      const sr = s.re(new RegExp(`CONNMARK (save|restore)(?: mask (${hex32})| (nfmask|ctmask) (${hex32}) (ctmask|nfmask) ~?(${hex32}))?`, 'y'));
      if (!sr) return undefined;
      const out = [sr[1] === 'save' ? '--save-mark' : '--restore-mark'];
      if (sr[2]) out.push('--mask', sr[2]);
      if (sr[3]) out.push(`--${sr[3]}`, sr[4]!, `--${sr[5]}`, sr[6]!);
      return { options: out };
    }
    case 'LOG': {
      const m = s.re(/LOG(?: flags (\d+) level (\d+)| level (\w+)((?: (?:tcp-sequence|tcp-options|ip-options|uid|macdecode))*)| UNKNOWN level (\d+))/y);
      if (!m) return undefined;
      const out: string[] = [];
      let level: string;
      if (m[1] !== undefined) {
        level = m[2]!;
        let bits = Number(m[1]);
        for (const [bit, , option] of LOG_FLAGS) {
          if (bits & bit) {
            out.push(`--${option}`);
            bits &= ~bit;
          }
        }
        bits &= ~0x10; // IPT_LOG_NFLOG: internal
        if (bits !== 0) return undefined;
      } else if (m[3] !== undefined) {
        const l = lookup(LOG_LEVELS, m[3].toLowerCase());
        if (l === undefined) return undefined;
        level = l;
        s.names = true;
        for (const f of m[4]!.trim().split(/\s+/).filter(Boolean)) out.push(`--${LOG_FLAGS.find(([, n]) => n === f)![2]}`);
      } else level = m[5]!;
      s.ws();
      const rest = s.text.slice(s.pos);
      let prefix: string | undefined;
      const q = /^prefix (["`])/.exec(rest);
      if (q) {
        const close = q[1] === '"' ? rest.lastIndexOf('"') : rest.lastIndexOf("'");
        if (close < q[0].length || rest.slice(close + 1).trim() !== '') return undefined;
        prefix = rest.slice(q[0].length, close);
        s.pos = s.text.length;
      }
      return { options: ['--log-level', level, ...(prefix !== undefined ? ['--log-prefix', prefix] : []), ...out] };
    }
    case 'REJECT': {
      const m = s.re(/reject-with (\S+)/y);
      return m ? { options: ['--reject-with', m[1]!] } : undefined;
    }
    case 'NFLOG': {
      const out: string[] = [];
      for (;;) {
        const p = s.re(/nflog-prefix\s+"((?:[^"\\]|\\.)*)"/y) ?? s.re(/nflog-prefix\s+(\S+)/y);
        if (p) {
          out.push('--nflog-prefix', p[1]!.replace(/\\(.)/g, '$1'));
          continue;
        }
        const n = s.re(/nflog-(group|range|size|threshold)\s+(\d+)/y);
        if (n) {
          out.push(`--nflog-${n[1]}`, n[2]!);
          continue;
        }
        break;
      }
      return out.length ? { options: out } : undefined;
    }
    case 'NFQUEUE': {
      const m = s.re(/NFQUEUE (?:num (\d+)|balance (\d+:\d+))( bypass)?( cpu-fanout)?/y);
      if (!m) return undefined;
      return { options: [...(m[1] ? ['--queue-num', m[1]] : ['--queue-balance', m[2]!]), ...(m[3] ? ['--queue-bypass'] : []), ...(m[4] ? ['--queue-cpu-fanout'] : [])] };
    }
    case 'TEE': {
      const m = s.re(/TEE gw:(\S+)(?: oif:(\S+))?/y);
      return m ? { options: ['--gateway', m[1]!, ...(m[2] ? ['--oif', m[2]] : [])] } : undefined;
    }
    case 'TPROXY': {
      const m = family === 'ipv4'
        ? s.re(new RegExp(`TPROXY redirect ([0-9.]+):(\\d+) mark (${hex32}/${hex32})`, 'y'))
        : s.re(new RegExp(`TPROXY redirect ([0-9a-fA-F:]+|\\[[0-9a-fA-F:]+\\]):(\\d+) mark (${hex32}/${hex32})`, 'y'));
      return m ? { options: ['--on-port', m[2]!, '--on-ip', m[1]!.replace(/^\[|\]$/g, ''), '--tproxy-mark', m[3]!] } : undefined;
    }
    case 'TOS': {
      const m = s.re(new RegExp(`TOS (set|and|or|xor)\\s*(${hex32}(?:/${hex32})?|[A-Z][A-Za-z-]+)`, 'y'));
      if (!m) return undefined;
      // libxt_TOS prints and/or/xor for some value/mask pairs; iptables-save always writes --set-tos value/mask.
      let v = m[2]!;
      if (!v.startsWith('0x')) {
        const n = lookup(TOS_NAMES, v);
        if (n === undefined || m[1] !== 'set') return undefined;
        s.names = true;
        v = `${hex(n)}/0x3f`;
      }
      const [a, b] = v.split('/');
      const x = parseUint(a!, 0xff);
      if (x === undefined) return undefined;
      switch (m[1]) {
        case 'and':
          return b === undefined ? { options: ['--set-tos', `0x0/${hex(~x & 0xff)}`] } : undefined;
        case 'or':
          return b === undefined ? { options: ['--set-tos', `${hex(x)}/${hex(x)}`] } : undefined;
        case 'xor':
          return b === undefined ? { options: ['--set-tos', `${hex(x)}/0x0`] } : undefined;
        default:
          return { options: ['--set-tos', v] };
      }
    }
    case 'DSCP': {
      const m = s.re(/DSCP set (0x[0-9a-fA-F]+)/y);
      return m ? { options: ['--set-dscp', m[1]!] } : undefined;
    }
    case 'TTL':
    case 'HL': {
      const m = s.re(new RegExp(`${target} (set to|decrement by|increment by) (\\d+)`, 'y'));
      if (!m) return undefined;
      const op = { 'set to': 'set', 'decrement by': 'dec', 'increment by': 'inc' }[m[1] as 'set to' | 'decrement by' | 'increment by'];
      return { options: [`--${target.toLowerCase()}-${op}`, m[2]!] };
    }
    case 'TCPMSS': {
      const m = s.re(/TCPMSS (?:(clamp to PMTU)|set (\d+))/y);
      return m ? { options: m[1] ? ['--clamp-mss-to-pmtu'] : ['--set-mss', m[2]!] } : undefined;
    }
    case 'CHECKSUM':
      return s.re(/CHECKSUM fill/y) ? { options: ['--checksum-fill'] } : undefined;
    case 'CLASSIFY': {
      const m = s.re(/CLASSIFY set ([0-9a-fA-F]+):([0-9a-fA-F]+)/y);
      return m ? { options: ['--set-class', `${m[1]!.padStart(4, '0')}:${m[2]!.padStart(4, '0')}`] } : undefined;
    }
    case 'CT': {
      if (s.re(/NOTRACK/y)) return { options: [], name: 'NOTRACK' };
      const m = s.re(/CT((?: (?:notrack|helper \S+|ctevents \S+|expevents \S+|zone-orig \d+|zone-reply \d+|zone \d+|timeout \S+))+)/y);
      if (!m) return undefined;
      const words = m[1]!.trim().split(/\s+/);
      const out: string[] = [];
      for (let k = 0; k < words.length; k++) {
        const w = words[k]!;
        if (w === 'notrack') out.push('--notrack');
        else out.push(`--${w}`, words[++k]!);
      }
      return { options: out };
    }
    case 'SET': {
      const out: string[] = [];
      for (;;) {
        const m = s.re(/(add-set|del-set|map-set)\s+(\S+)\s+((?:src|dst)(?:,(?:src|dst))*)/y);
        if (m) {
          out.push(`--${m[1]}`, m[2]!, m[3]!);
          continue;
        }
        const f = s.re(/(exist|map-mark|map-prio|map-queue)/y);
        if (f) {
          out.push(`--${f[1]}`);
          continue;
        }
        const t = s.re(/timeout (\d+)/y);
        if (t) {
          out.push('--timeout', t[1]!);
          continue;
        }
        break;
      }
      return out.length ? { options: out } : undefined;
    }
    case 'AUDIT': {
      const m = s.re(/AUDIT (accept|drop|reject)/y);
      return m ? { options: ['--type', m[1]!] } : undefined;
    }
    case 'CONNSECMARK': {
      const m = s.re(/CONNSECMARK (save|restore)/y);
      return m ? { options: [`--${m[1]}`] } : undefined;
    }
    case 'SECMARK': {
      const m = s.re(/SECMARK selctx (\S+)/y);
      return m ? { options: ['--selctx', m[1]!] } : undefined;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Tables

function assignTables(instances: readonly ChainInstance[], diag: Diag): TableDraft[] {
  // Chains with a table from the paste (command line, caller), checked against built-in chain names.
  const unknownBySegment = new Map<number, ChainInstance[]>();
  for (const inst of instances) {
    const hint = inst.segment.hint;
    if (hint && inst.builtin && !BUILTIN_CHAINS[hint].includes(inst.draft.name)) {
      diag(inst.line, 'warning', 'table-mismatch',
        `chain ${inst.draft.name} has a policy, so it is built in, but table ${hint} (from ${hintWord(inst.segment.hintSource)}) has no such chain; its table is inferred instead`);
    } else if (hint) {
      inst.table = hint;
      continue;
    }
    const list = unknownBySegment.get(inst.segment.id) ?? [];
    list.push(inst);
    unknownBySegment.set(inst.segment.id, list);
  }
  for (const group of unknownBySegment.values()) inferSegment(group, diag);

  // Merge into tables, in order of appearance; a chain listed twice keeps one listing.
  const tables: TableDraft[] = [];
  const seen = new Map<string, ChainInstance>();
  for (const inst of instances) {
    const tname = inst.table ?? 'filter';
    let t = tables.find((x) => x.name === tname);
    if (!t) {
      t = newTableDraft(tname, inst.line);
      tables.push(t);
    }
    const key = `${tname}/${inst.draft.name}`;
    const previous = seen.get(key);
    if (!previous) {
      seen.set(key, inst);
      t.chains.set(inst.draft.name, inst.draft);
      continue;
    }
    if (chainKey(previous.draft) === chainKey(inst.draft)) {
      diag(inst.line, 'warning', 'duplicate-chain',
        `chain ${inst.draft.name} (table ${tname}) is listed again with the same rules as on line ${previous.line}; the repeat is ignored`);
    } else {
      diag(inst.line, 'warning', 'conflicting-chain',
        `chain ${inst.draft.name} (table ${tname}) is listed again with different rules (first on line ${previous.line}); the later listing replaces the earlier one`);
      seen.set(key, inst);
      t.chains.set(inst.draft.name, inst.draft);
    }
  }
  return tables;
}

function hintWord(source: Segment['hintSource']): string {
  return { command: 'the command line', context: 'the caller', implicit: 'the command line (no -t: filter)', decoration: 'a table-name line', none: 'nowhere' }[source];
}

function chainKey(c: ChainDraft): string {
  return `${c.policy}\n` + c.rules.map((r) => renderMatches(r.matches) + pendingKey(r.target)).join('\n');
}

function pendingKey(t: PendingTarget | null): string {
  return t ? ` ${t.goto ? '-g' : '-j'} ${t.name}${renderOptions(t.options)}` : '';
}

/** Tables a chain can belong to: built-in names and table-bound targets are facts. */
function hardTables(inst: ChainInstance): Set<TableName> {
  let set = new Set<TableName>(inst.builtin ? TABLE_NAMES.filter((t) => BUILTIN_CHAINS[t].includes(inst.draft.name)) : TABLE_NAMES);
  if (set.size === 0) set = new Set(TABLE_NAMES);
  for (const r of inst.draft.rules) {
    const name = r.target?.name;
    if (!name) continue;
    const only = TARGET_TABLES[name];
    const not = TARGET_NOT_IN[name];
    let next = set;
    if (only) next = new Set([...set].filter((t) => only.includes(t)));
    if (not) next = new Set([...next].filter((t) => !not.includes(t)));
    if (next.size > 0) set = next;
  }
  return set;
}

/** filter and nat hold nearly every rule people paste; other tables need evidence. */
function plausibleTables(hard: Set<TableName>): Set<TableName> {
  const common = new Set([...hard].filter((t) => t === 'filter' || t === 'nat'));
  return common.size > 0 ? common : hard;
}

/**
 * Groups the chains of one segment that must share a table (jumps), without
 * joining chains whose possible tables exclude each other (a paste of nat
 * PREROUTING and filter FORWARD that both jump to a KUBE-SERVICES chain), and
 * lets inferTables name each group's table.
 */
function inferSegment(chains: readonly ChainInstance[], diag: Diag): void {
  const byName = new Map(chains.map((c) => [c.draft.name, c]));
  const sets = createDisjointSets(chains.map((c) => c.draft.name));
  const find = sets.find;
  const hard = new Map<string, Set<TableName>>(chains.map((c) => [c.draft.name, hardTables(c)]));
  const possible = new Map<string, Set<TableName>>(chains.map((c) => [c.draft.name, plausibleTables(hard.get(c.draft.name)!)]));
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return;
    const both = new Set([...possible.get(ra)!].filter((t) => possible.get(rb)!.has(t)));
    const bothHard = new Set([...hard.get(ra)!].filter((t) => hard.get(rb)!.has(t)));
    if (both.size === 0 || bothHard.size === 0) return;
    sets.attach(ra, rb);
    possible.set(rb, both);
    hard.set(rb, bothHard);
  };
  // User chains calling user chains first (they are one table's machinery), then the built-ins' jumps.
  for (const pass of [false, true]) {
    for (const c of chains) {
      if (c.builtin !== pass) continue;
      for (const r of c.draft.rules) {
        const to = r.target?.name;
        const callee = to !== undefined ? byName.get(to) : undefined;
        if (callee && !callee.builtin) union(c.draft.name, to!);
      }
    }
  }
  const groups = new Map<string, ChainInstance[]>();
  for (const c of chains) {
    const root = find(c.draft.name);
    groups.set(root, [...(groups.get(root) ?? []), c]);
  }
  // A group of empty chains carries no evidence at all (an empty INPUT in a nat listing):
  // it belongs with the chains listed around it, when their table has those chains.
  const weak = (group: readonly ChainInstance[]): boolean => group.every((c) => c.draft.rules.length === 0);
  for (const [root, group] of groups) {
    if (weak(group)) continue;
    const own: Diagnostic[] = [];
    const assignment = inferTables(group.map((c) => c.draft), undefined, own);
    const allowed = hard.get(root)!;
    const preferred = possible.get(root)!;
    let table = assignment.get(group[0]!.draft.name) ?? 'filter';
    if (!allowed.has(table)) {
      const fixed = [...preferred][0] ?? [...allowed][0] ?? table;
      for (const d of own) diag(d.line, d.severity, d.code, d.message, d.column);
      diag(group[0]!.line, 'info', 'inferred-table',
        `chain${group.length > 1 ? 's' : ''} ${group.map((c) => c.draft.name).join(', ')} cannot be in table ${table} (built-in chain names or table-bound targets); using "${fixed}"`);
      table = fixed;
    } else {
      for (const d of own) diag(d.line, d.severity, d.code, d.message, d.column);
    }
    for (const c of group) c.table = table;
  }
  for (const [root, group] of groups) {
    if (!weak(group)) continue;
    const allowed = hard.get(root)!;
    const first = chains.indexOf(group[0]!);
    const before = chains.slice(0, first).reverse();
    const after = chains.slice(first + 1);
    const neighbour = [...before, ...after].find((c) => c.table !== undefined && allowed.has(c.table));
    if (neighbour) {
      for (const c of group) c.table = neighbour.table;
      diag(group[0]!.line, 'info', 'inferred-table',
        `table not given for empty chain${group.length > 1 ? 's' : ''} ${group.map((c) => c.draft.name).join(', ')}; inferred "${neighbour.table}" (listed with chain ${neighbour.draft.name} of that table)`);
      continue;
    }
    const own: Diagnostic[] = [];
    const table = inferTables(group.map((c) => c.draft), undefined, own).get(group[0]!.draft.name) ?? 'filter';
    for (const d of own) diag(d.line, d.severity, d.code, d.message, d.column);
    for (const c of group) c.table = table;
  }
}

// ---------------------------------------------------------------------------
// Small helpers

function stripPrompt(line: string): string {
  const m = /^\s*(?:\[[^\]]*\]\s?[#$]|[\w.-]+@[\w.-]+(?::\S*)?\s?[#$]|\/\s?#|~\s?[#$]|\$)\s*(.*)$/.exec(line);
  return m ? m[1]! : line;
}

/** Own properties only: names from the input must not reach Object.prototype. */
function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

function shorten(text: string): string {
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
