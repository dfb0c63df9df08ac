// What each match extension prints in a listing, read back (libxt_*.c `*_print`) (split from parse-listing.ts).
import { ICMP_TYPES, ICMPV6_TYPES } from '../../../pipeline/names.ts';
import { cidr, formatTcpFlags, hex, parseUint } from '../values.ts';
import { IPV6_HEADERS, TOS_NAMES } from './shared.ts';
import { type MatchParser, neg, portValue, portRangeValue, icmpValue } from './scanner.ts';
import { lookup } from './util.ts';
export function flagNames(v: string): string | undefined {
  if (/^0x[0-9a-fA-F]+$/.test(v)) {
    const n = parseUint(v, 0xff);
    return n === undefined || n > 0x3f ? undefined : formatTcpFlags(n);
  }
  return /^[A-Z,]+$/.test(v) ? v : undefined;
}

export const MATCH_PARSERS: readonly MatchParser[] = [
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
