// What packetpath knows of each match module and target extension: option
// names, arity, how values normalize and the order iptables-save prints them.
import type { ExtOption, Family } from '../model.ts';
import * as v from './values.ts';

export interface OptionSpec {
  /** Canonical long name without dashes. */
  readonly name: string;
  readonly aliases?: readonly string[];
  /** Number of arguments. */
  readonly arity: 0 | 1 | 2;
  readonly negatable?: boolean;
  /** Normalizes each argument (for arity 2, one per argument). */
  readonly values?: readonly v.Normalizer[];
}

export interface ExtensionSpec {
  readonly name: string;
  /** Options in the order iptables-save prints them. */
  readonly options: readonly OptionSpec[];
  /** Rewrites parsed options into the saved form (aliases, defaults). */
  readonly canonicalize?: (options: readonly ExtOption[], family: Family) => ExtOption[];
  /** Families where the extension exists; both when absent. */
  readonly family?: Family;
}

const o = (name: string, arity: 0 | 1 | 2 = 1, values?: v.Normalizer | readonly v.Normalizer[], extra: Partial<OptionSpec> = {}): OptionSpec => ({
  name,
  arity,
  negatable: true,
  ...(values ? { values: Array.isArray(values) ? values : [values as v.Normalizer] } : {}),
  ...extra,
});
const flag = (name: string, extra: Partial<OptionSpec> = {}): OptionSpec => o(name, 0, undefined, extra);
const opt = (name: string, k: ExtOption['args'], negated = false): ExtOption => ({ name, negated, args: k, known: true });

const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
const STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'];
const CT_STATUS = ['NONE', 'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];
const ADDR_TYPES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];

const replace = (options: readonly ExtOption[], name: string, f: (o: ExtOption) => ExtOption | ExtOption[]): ExtOption[] =>
  options.flatMap((x) => (x.name === name && x.known ? f(x) : [x]));

/** MARK and CONNMARK all save as `--set-xmark value/mask` (libxt_MARK rev 2). */
function xmarkCanonical(options: readonly ExtOption[]): ExtOption[] {
  return options.flatMap((x): ExtOption[] => {
    if (!x.known) return [x];
    const [val, mask] = (x.args[0] ?? '').split('/').map((s) => Number(s));
    const m = mask ?? 0xffffffff;
    const set = (mark: number, msk: number): ExtOption[] => [opt('set-xmark', [`${v.hex(mark)}/${v.hex(msk)}`])];
    switch (x.name) {
      case 'set-mark':
        return set(val!, (m | val!) >>> 0);
      case 'and-mark':
        return set(0, ~val! >>> 0);
      case 'or-mark':
        return set(val!, val!);
      case 'xor-mark':
        return set(val!, 0);
      default:
        return [x];
    }
  });
}

function connmarkCanonical(options: readonly ExtOption[]): ExtOption[] {
  const out = xmarkCanonical(options);
  const mode = out.find((x) => x.name === 'save-mark' || x.name === 'restore-mark');
  if (!mode) return out;
  const mask = out.find((x) => x.name === 'mask')?.args[0];
  const nf = out.find((x) => x.name === 'nfmask')?.args[0] ?? mask ?? '0xffffffff';
  const ct = out.find((x) => x.name === 'ctmask')?.args[0] ?? mask ?? '0xffffffff';
  return [
    ...out.filter((x) => !['mask', 'nfmask', 'ctmask'].includes(x.name) || !x.known),
    opt('nfmask', [nf]),
    opt('ctmask', [ct]),
  ];
}

const natPortsOptions = [o('to-ports', 1, v.natPorts), flag('random'), flag('random-fully')];

export const MATCHES: Readonly<Record<string, ExtensionSpec>> = Object.fromEntries(
  (
    [
      { name: 'tcp', options: [o('sport', 1, v.portRange, { aliases: ['source-port'] }), o('dport', 1, v.portRange, { aliases: ['destination-port'] }), o('tcp-flags', 2, [v.tcpFlagSet, v.tcpFlagSet]), flag('syn'), o('tcp-option', 1, v.uint(255))],
        canonicalize: (os) => replace(os, 'syn', (x) => opt('tcp-flags', ['FIN,SYN,RST,ACK', 'SYN'], x.negated)) },
      { name: 'udp', options: [o('sport', 1, v.portRange, { aliases: ['source-port'] }), o('dport', 1, v.portRange, { aliases: ['destination-port'] })] },
      { name: 'udplite', options: [o('sport', 1, v.portRange), o('dport', 1, v.portRange)] },
      { name: 'dccp', options: [o('sport', 1, v.portRange, { aliases: ['source-port'] }), o('dport', 1, v.portRange, { aliases: ['destination-port'] }), o('dccp-types'), o('dccp-option')] },
      { name: 'sctp', options: [o('sport', 1, v.portRange, { aliases: ['source-port'] }), o('dport', 1, v.portRange, { aliases: ['destination-port'] }), o('chunk-types', 2)] },
      { name: 'icmp', family: 'ipv4', options: [o('icmp-type', 1, v.icmpType(false))] },
      { name: 'icmp6', family: 'ipv6', options: [o('icmpv6-type', 1, v.icmpType(true))] },
      { name: 'comment', options: [o('comment', 1, v.anyString, { negatable: false })] },
      { name: 'conntrack', options: [
        o('ctstate', 1, v.flagList(CT_STATES)), o('ctproto'), o('ctorigsrc', 1, v.hostCidr), o('ctorigdst', 1, v.hostCidr), o('ctreplsrc', 1, v.hostCidr), o('ctrepldst', 1, v.hostCidr),
        o('ctorigsrcport', 1, v.portRange), o('ctorigdstport', 1, v.portRange), o('ctreplsrcport', 1, v.portRange), o('ctrepldstport', 1, v.portRange),
        o('ctstatus', 1, v.flagList(CT_STATUS)), o('ctexpire'), o('ctdir', 1, v.oneOf(['ORIGINAL', 'REPLY']), { negatable: false })] },
      { name: 'state', options: [o('state', 1, v.flagList(STATES))] },
      { name: 'mark', options: [o('mark', 1, v.markMask)] },
      { name: 'connmark', options: [o('mark', 1, v.markMask)] },
      { name: 'addrtype', options: [o('src-type', 1, v.flagList(ADDR_TYPES)), o('dst-type', 1, v.flagList(ADDR_TYPES)), flag('limit-iface-in', { negatable: false }), flag('limit-iface-out', { negatable: false })] },
      { name: 'statistic', options: [o('mode', 1, v.oneOf(['random', 'nth']), { negatable: false }), o('probability', 1, v.probability), o('every', 1, v.uint()), o('packet', 1, v.uint(), { negatable: false })] },
      { name: 'multiport', options: [o('sports', 1, v.portList, { aliases: ['source-ports'] }), o('dports', 1, v.portList, { aliases: ['destination-ports'] }), o('ports', 1, v.portList)] },
      { name: 'iprange', options: [o('src-range', 1, v.addressRange), o('dst-range', 1, v.addressRange)] },
      { name: 'set', options: [o('match-set', 2), flag('return-nomatch', { negatable: false }), flag('update-counters'), flag('update-subcounters'), o('packets-eq'), o('packets-lt', 1, undefined, { negatable: false }), o('packets-gt', 1, undefined, { negatable: false }), o('bytes-eq'), o('bytes-lt', 1, undefined, { negatable: false }), o('bytes-gt', 1, undefined, { negatable: false })],
        canonicalize: (os) => replace(os, 'set', (x) => ({ ...x, name: 'match-set' })) },
      { name: 'physdev', options: [o('physdev-in'), o('physdev-out'), flag('physdev-is-in'), flag('physdev-is-out'), flag('physdev-is-bridged')] },
      { name: 'pkttype', options: [o('pkt-type', 1, v.oneOf(['unicast', 'broadcast', 'multicast', 'otherhost', 'outgoing'], { host: 'unicast', bcast: 'broadcast', mcast: 'multicast' }))] },
      { name: 'limit', options: [o('limit', 1, v.rate, { negatable: false }), o('limit-burst', 1, v.uint(), { negatable: false })],
        canonicalize: (os) => os.filter((x) => !(x.name === 'limit-burst' && x.args[0] === '5')) },
      { name: 'hashlimit', options: [
        o('hashlimit-upto', 1, v.anyString, { aliases: ['hashlimit'], negatable: false }), o('hashlimit-above', 1, v.anyString, { negatable: false }), o('hashlimit-burst', 1, v.uint(), { negatable: false }),
        o('hashlimit-mode', 1, v.anyString, { negatable: false }), o('hashlimit-name', 1, v.anyString, { negatable: false }), o('hashlimit-htable-size', 1, v.uint(), { negatable: false }),
        o('hashlimit-htable-max', 1, v.uint(), { negatable: false }), o('hashlimit-htable-gcinterval', 1, v.uint(), { negatable: false }), o('hashlimit-htable-expire', 1, v.uint(), { negatable: false }),
        o('hashlimit-srcmask', 1, v.uint(128), { negatable: false }), o('hashlimit-dstmask', 1, v.uint(128), { negatable: false }), o('hashlimit-rate-match', 0), o('hashlimit-rate-interval')] },
      { name: 'recent', options: [flag('set'), flag('rcheck'), flag('update'), flag('remove'), o('seconds', 1, v.uint(), { negatable: false }), flag('reap'), o('hitcount', 1, v.uint(), { negatable: false }), flag('rttl'), o('name', 1, v.anyString, { negatable: false }), o('mask', 1, v.address, { negatable: false }), flag('rsource'), flag('rdest')],
        canonicalize: (os, fam) => {
          const out = [...os];
          if (!out.some((x) => x.name === 'name')) out.push(opt('name', ['DEFAULT']));
          if (!out.some((x) => x.name === 'mask')) out.push(opt('mask', [fam === 'ipv4' ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']));
          if (!out.some((x) => x.name === 'rsource' || x.name === 'rdest')) out.push(opt('rsource', []));
          return out;
        } },
      { name: 'owner', options: [o('uid-owner'), o('gid-owner'), flag('suppl-groups', { negatable: false }), flag('socket-exists')] },
      { name: 'socket', options: [flag('transparent', { negatable: false }), flag('nowildcard', { negatable: false }), flag('restore-skmark', { negatable: false })] },
      { name: 'mac', options: [o('mac-source', 1, v.macAddress)] },
      { name: 'length', options: [o('length', 1, v.lengthRange)] },
      { name: 'tos', options: [o('tos', 1, v.tosMask)] },
      { name: 'dscp', options: [o('dscp', 1, v.dscpValue), o('dscp-class', 1, v.dscpClass)],
        canonicalize: (os) => replace(os, 'dscp-class', (x) => ({ ...x, name: 'dscp' })) },
      { name: 'ecn', options: [flag('ecn-tcp-cwr'), flag('ecn-tcp-ece'), o('ecn-ip-ect', 1, v.uint(3))] },
      { name: 'ttl', family: 'ipv4', options: [o('ttl-eq', 1, v.uint(255)), o('ttl-lt', 1, v.uint(255), { negatable: false }), o('ttl-gt', 1, v.uint(255), { negatable: false })] },
      { name: 'hl', family: 'ipv6', options: [o('hl-eq', 1, v.uint(255)), o('hl-lt', 1, v.uint(255), { negatable: false }), o('hl-gt', 1, v.uint(255), { negatable: false })] },
      { name: 'rpfilter', options: [flag('loose', { negatable: false }), flag('validmark', { negatable: false }), flag('accept-local', { negatable: false }), flag('invert', { negatable: false })] },
      { name: 'policy', options: [o('dir', 1, v.oneOf(['in', 'out']), { negatable: false }), o('pol', 1, v.oneOf(['none', 'ipsec']), { negatable: false }), flag('strict', { negatable: false }), o('reqid'), o('spi'), o('proto'), o('mode'), o('tunnel-src'), o('tunnel-dst'), flag('next', { negatable: false })] },
      { name: 'devgroup', options: [o('src-group', 1, v.hexValue()), o('dst-group', 1, v.hexValue())] },
      { name: 'cgroup', options: [o('path'), o('cgroup')] },
      { name: 'connlimit', options: [o('connlimit-upto', 1, v.uint(), { negatable: false }), o('connlimit-above', 1, v.uint(), { negatable: false }), o('connlimit-mask', 1, v.uint(128), { negatable: false }), flag('connlimit-saddr', { negatable: false }), flag('connlimit-daddr', { negatable: false })] },
      { name: 'connbytes', options: [o('connbytes'), o('connbytes-mode', 1, v.anyString, { negatable: false }), o('connbytes-dir', 1, v.anyString, { negatable: false })] },
      { name: 'time', options: [o('datestart'), o('datestop'), o('timestart'), o('timestop'), o('monthdays'), o('weekdays'), flag('kerneltz', { negatable: false }), flag('utc', { negatable: false }), flag('contiguous', { negatable: false })] },
      { name: 'ipvs', options: [flag('ipvs'), o('vproto'), o('vaddr'), o('vport'), o('vdir', 1, v.oneOf(['ORIGINAL', 'REPLY'])), o('vmethod'), o('vportctl')] },
      { name: 'nfacct', options: [o('nfacct-name', 1, v.anyString, { negatable: false })] },
      { name: 'helper', options: [o('helper')] },
      { name: 'string', options: [o('string'), o('hex-string'), o('algo', 1, v.anyString, { negatable: false }), o('from', 1, v.uint(), { negatable: false }), o('to', 1, v.uint(), { negatable: false }), flag('icase', { negatable: false })] },
      { name: 'u32', options: [o('u32')] },
      { name: 'quota', options: [o('quota')] },
      { name: 'realm', options: [o('realm')] },
      { name: 'ah', options: [o('ahspi'), o('ahlen'), flag('ahres', { negatable: false })] },
      { name: 'esp', options: [o('espspi')] },
      { name: 'frag', family: 'ipv6', options: [o('fragid'), o('fraglen'), flag('fragres', { negatable: false }), flag('fragfirst', { negatable: false }), flag('fragmore', { negatable: false }), flag('fraglast', { negatable: false })] },
      { name: 'hbh', family: 'ipv6', options: [o('hbh-len'), o('hbh-opts', 1, v.anyString, { negatable: false })] },
      { name: 'dst', family: 'ipv6', options: [o('dst-len'), o('dst-opts', 1, v.anyString, { negatable: false })] },
      { name: 'rt', family: 'ipv6', options: [o('rt-type', 1, v.uint(255)), o('rt-segsleft'), o('rt-len'), flag('rt-0-res', { negatable: false }), o('rt-0-addrs', 1, v.anyString, { negatable: false }), flag('rt-0-not-strict', { negatable: false })] },
      { name: 'mh', family: 'ipv6', options: [o('mh-type')] },
      { name: 'ipv6header', family: 'ipv6', options: [o('header'), flag('soft', { negatable: false })] },
      { name: 'eui64', family: 'ipv6', options: [] },
    ] satisfies ExtensionSpec[]
  ).map((s) => [s.name, s]),
);

export const TARGETS: Readonly<Record<string, ExtensionSpec>> = Object.fromEntries(
  (
    [
      { name: 'REJECT', options: [o('reject-with', 1, undefined, { negatable: false })],
        canonicalize: (os, fam) => {
          const names: Record<string, string> = fam === 'ipv4'
            ? { 'net-unreach': 'icmp-net-unreachable', 'host-unreach': 'icmp-host-unreachable', 'proto-unreach': 'icmp-proto-unreachable', 'port-unreach': 'icmp-port-unreachable', 'net-prohib': 'icmp-net-prohibited', 'host-prohib': 'icmp-host-prohibited', 'admin-prohib': 'icmp-admin-prohibited', 'tcp-rst': 'tcp-reset' }
            : { 'no-route': 'icmp6-no-route', 'adm-prohibited': 'icmp6-adm-prohibited', 'addr-unreach': 'icmp6-addr-unreachable', 'port-unreach': 'icmp6-port-unreachable', 'tcp-rst': 'tcp-reset', 'icmp6-port-unreachable': 'icmp6-port-unreachable' };
          const given = os.find((x) => x.name === 'reject-with');
          const value = given?.args[0] ?? (fam === 'ipv4' ? 'icmp-port-unreachable' : 'icmp6-port-unreachable');
          return [...os.filter((x) => x.name !== 'reject-with'), opt('reject-with', [names[value] ?? value])];
        } },
      { name: 'DNAT', options: [o('to-destination', 1, v.natRange, { negatable: false }), flag('random', { negatable: false }), flag('persistent', { negatable: false })] },
      { name: 'SNAT', options: [o('to-source', 1, v.natRange, { negatable: false }), flag('random', { negatable: false }), flag('random-fully', { negatable: false }), flag('persistent', { negatable: false })] },
      { name: 'MASQUERADE', options: natPortsOptions.map((x) => ({ ...x, negatable: false })) },
      { name: 'REDIRECT', options: natPortsOptions.map((x) => ({ ...x, negatable: false })) },
      { name: 'NETMAP', options: [o('to', 1, v.cidr, { negatable: false })] },
      { name: 'MARK', options: [o('set-xmark', 1, v.markWithMask(), { negatable: false }), o('set-mark', 1, v.markWithMask(), { negatable: false }), o('and-mark', 1, v.hexValue(), { negatable: false }), o('or-mark', 1, v.hexValue(), { negatable: false }), o('xor-mark', 1, v.hexValue(), { negatable: false })],
        canonicalize: xmarkCanonical },
      { name: 'CONNMARK', options: [o('set-xmark', 1, v.markWithMask(), { negatable: false }), o('set-mark', 1, v.markWithMask(), { negatable: false }), o('and-mark', 1, v.hexValue(), { negatable: false }), o('or-mark', 1, v.hexValue(), { negatable: false }), o('xor-mark', 1, v.hexValue(), { negatable: false }),
        flag('save-mark', { negatable: false }), flag('restore-mark', { negatable: false }), o('mask', 1, v.hexValue(), { negatable: false }), o('nfmask', 1, v.hexValue(), { negatable: false }), o('ctmask', 1, v.hexValue(), { negatable: false })],
        canonicalize: connmarkCanonical },
      { name: 'LOG', options: [o('log-prefix', 1, v.anyString, { negatable: false }), o('log-level', 1, v.oneOf(['0', '1', '2', '3', '4', '5', '6', '7'], { emerg: '0', alert: '1', crit: '2', err: '3', error: '3', warning: '4', warn: '4', notice: '5', info: '6', debug: '7' }), { negatable: false }),
        flag('log-tcp-sequence', { negatable: false }), flag('log-tcp-options', { negatable: false }), flag('log-ip-options', { negatable: false }), flag('log-uid', { negatable: false }), flag('log-macdecode', { negatable: false })],
        canonicalize: (os) => os.filter((x) => !(x.name === 'log-level' && x.args[0] === '4') && !(x.name === 'log-prefix' && x.args[0] === '')) },
      { name: 'NFLOG', options: [o('nflog-prefix', 1, v.anyString, { negatable: false }), o('nflog-group', 1, v.uint(65535), { negatable: false }), o('nflog-range', 1, v.uint(), { negatable: false }), o('nflog-size', 1, v.uint(), { negatable: false }), o('nflog-threshold', 1, v.uint(), { negatable: false })],
        canonicalize: (os) => os.filter((x) => !(x.name === 'nflog-group' && x.args[0] === '0') && !(x.name === 'nflog-threshold' && x.args[0] === '1')) },
      { name: 'ULOG', options: [o('ulog-nlgroup', 1, undefined, { negatable: false }), o('ulog-prefix', 1, undefined, { negatable: false }), o('ulog-cprange', 1, undefined, { negatable: false }), o('ulog-qthreshold', 1, undefined, { negatable: false })] },
      { name: 'TRACE', options: [] },
      { name: 'NOTRACK', options: [] },
      { name: 'CT', options: [flag('notrack', { negatable: false }), o('helper', 1, undefined, { negatable: false }), o('ctevents', 1, undefined, { negatable: false }), o('expevents', 1, undefined, { negatable: false }), o('zone-orig', 1, undefined, { negatable: false }), o('zone-reply', 1, undefined, { negatable: false }), o('zone', 1, undefined, { negatable: false }), o('timeout', 1, undefined, { negatable: false })] },
      { name: 'CHECKSUM', options: [flag('checksum-fill', { negatable: false })] },
      { name: 'TCPMSS', options: [o('set-mss', 1, v.uint(65535), { negatable: false }), flag('clamp-mss-to-pmtu', { negatable: false })] },
      { name: 'TPROXY', options: [o('on-port', 1, v.port, { negatable: false }), o('on-ip', 1, v.address, { negatable: false }), o('tproxy-mark', 1, v.markWithMask(), { negatable: false })] },
      { name: 'NFQUEUE', options: [o('queue-num', 1, v.uint(65535), { negatable: false }), o('queue-balance', 1, undefined, { negatable: false }), flag('queue-bypass', { negatable: false }), flag('fail-open', { negatable: false }), flag('queue-cpu-fanout', { negatable: false })],
        canonicalize: (os) => os.filter((x) => !(x.name === 'queue-num' && x.args[0] === '0' && os.length > 1)) },
      { name: 'SET', options: [o('add-set', 2, undefined, { negatable: false }), o('del-set', 2, undefined, { negatable: false }), o('map-set', 2, undefined, { negatable: false }), o('timeout', 1, v.uint(), { negatable: false }), flag('exist', { negatable: false }), flag('map-mark', { negatable: false }), flag('map-prio', { negatable: false }), flag('map-queue', { negatable: false })] },
      { name: 'CLASSIFY', options: [o('set-class', 1, undefined, { negatable: false })] },
      { name: 'DSCP', options: [o('set-dscp', 1, v.dscpValue, { negatable: false }), o('set-dscp-class', 1, v.dscpClass, { negatable: false })],
        canonicalize: (os) => replace(os, 'set-dscp-class', (x) => ({ ...x, name: 'set-dscp' })) },
      { name: 'TOS', options: [o('set-tos', 1, v.tosMask, { negatable: false }), o('and-tos', 1, v.hexValue(0xff), { negatable: false }), o('or-tos', 1, v.hexValue(0xff), { negatable: false }), o('xor-tos', 1, v.hexValue(0xff), { negatable: false })],
        canonicalize: (os) =>
          os.map((x) => {
            const n = Number(x.args[0]);
            const set = (val: number, mask: number): ExtOption => opt('set-tos', [`${v.byte2(val)}/${v.byte2(mask)}`]);
            if (!x.known) return x;
            if (x.name === 'and-tos') return set(0, ~n & 0xff);
            if (x.name === 'or-tos') return set(n, n);
            if (x.name === 'xor-tos') return set(n, 0);
            return x;
          }) },
      { name: 'TTL', family: 'ipv4', options: [o('ttl-set', 1, v.uint(255), { negatable: false }), o('ttl-dec', 1, v.uint(255), { negatable: false }), o('ttl-inc', 1, v.uint(255), { negatable: false })] },
      { name: 'HL', family: 'ipv6', options: [o('hl-set', 1, v.uint(255), { negatable: false }), o('hl-dec', 1, v.uint(255), { negatable: false }), o('hl-inc', 1, v.uint(255), { negatable: false })] },
      { name: 'AUDIT', options: [o('type', 1, undefined, { negatable: false })] },
      { name: 'CONNSECMARK', options: [flag('save', { negatable: false }), flag('restore', { negatable: false })] },
      { name: 'SECMARK', options: [o('selctx', 1, undefined, { negatable: false })] },
      { name: 'IDLETIMER', options: [o('timeout', 1, undefined, { negatable: false }), o('label', 1, undefined, { negatable: false })] },
      { name: 'TEE', options: [o('gateway', 1, v.address, { negatable: false })] },
    ] satisfies ExtensionSpec[]
  ).map((s) => [s.name, s]),
);

/** Protocols whose match module iptables loads implicitly after `-p`. */
export const IMPLICIT_PROTOCOL_MODULES: Readonly<Record<string, string>> = {
  tcp: 'tcp', udp: 'udp', udplite: 'udplite', sctp: 'sctp', dccp: 'dccp', icmp: 'icmp', 'ipv6-icmp': 'icmp6', icmpv6: 'icmp6',
};

interface OptionIndex {
  /** Name or alias -> the first option that has it (what a linear search would find). */
  readonly byName: ReadonlyMap<string, OptionSpec>;
  /** Canonical name -> print position. */
  readonly order: ReadonlyMap<string, number>;
}

/** Built once from the constant tables above; never changes afterwards. */
const OPTION_INDEX: ReadonlyMap<ExtensionSpec, OptionIndex> = new Map(
  [...Object.values(MATCHES), ...Object.values(TARGETS)].map((spec) => {
    const byName = new Map<string, OptionSpec>();
    const order = new Map<string, number>();
    spec.options.forEach((s, k) => {
      for (const n of [s.name, ...(s.aliases ?? [])]) if (!byName.has(n)) byName.set(n, s);
      if (!order.has(s.name)) order.set(s.name, k);
    });
    return [spec, { byName, order }];
  }),
);

export function findOption(spec: ExtensionSpec, name: string): OptionSpec | undefined {
  const index = OPTION_INDEX.get(spec);
  if (index) return index.byName.get(name);
  return spec.options.find((s) => s.name === name || s.aliases?.includes(name));
}

/** Position of the option named `name` in the order iptables-save prints, or -1. */
export function optionPosition(spec: ExtensionSpec, name: string): number {
  const index = OPTION_INDEX.get(spec);
  if (index) return index.order.get(name) ?? -1;
  return spec.options.findIndex((s) => s.name === name);
}

const MATCH_MAP: ReadonlyMap<string, ExtensionSpec> = new Map(Object.entries(MATCHES));
const TARGET_MAP: ReadonlyMap<string, ExtensionSpec> = new Map(Object.entries(TARGETS));
/** Names a plain object inherits (`constructor`, `toString`, ...): MATCHES[name] finds those too. */
const INHERITED: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * MATCHES[name] and TARGETS[name], inherited properties included, through a
 * Map: a property lookup with a freshly sliced string key is slow.
 */
export function matchSpec(name: string): ExtensionSpec | undefined {
  if (!mayName(MATCH_FIRSTS, name)) return undefined;
  return MATCH_MAP.get(name) ?? (INHERITED.has(name) ? MATCHES[name] : undefined);
}

export function targetSpec(name: string): ExtensionSpec | undefined {
  if (!mayName(TARGET_FIRSTS, name)) return undefined;
  return TARGET_MAP.get(name) ?? (INHERITED.has(name) ? TARGETS[name] : undefined);
}

/**
 * Whether the first character of any name in `names` (or an inherited one) is `name`'s: a jump
 * to one of a kube-proxy dump's 60k chains (`KUBE-SEP-...`) is no extension, and is known
 * without a Map lookup, which hashes the freshly sliced name in the runtime.
 */
function firstCharacters(names: Iterable<string>): readonly boolean[] {
  const out: boolean[] = new Array(128).fill(false);
  for (const n of [...names, ...INHERITED]) {
    const c = n.charCodeAt(0);
    if (c < 128) out[c] = true;
  }
  return out;
}

const MATCH_FIRSTS = firstCharacters(MATCH_MAP.keys());
const TARGET_FIRSTS = firstCharacters(TARGET_MAP.keys());

const mayName = (firsts: readonly boolean[], name: string): boolean => {
  const c = name.charCodeAt(0);
  return !(c < 128) || firsts[c]!;
};
