// nft's expression vocabulary (nftables src/proto.c, meta.c, ct.c): which
// word after a protocol is a header field, which meta keys stand alone.

export const PAYLOAD_FIELDS: Readonly<Record<string, readonly string[]>> = {
  ether: ['saddr', 'daddr', 'type'],
  vlan: ['id', 'pcp', 'cfi', 'dei', 'type'],
  arp: ['htype', 'ptype', 'hlen', 'plen', 'operation', 'saddr', 'daddr'],
  ip: ['version', 'hdrlength', 'dscp', 'ecn', 'length', 'id', 'frag-off', 'ttl', 'protocol', 'checksum', 'saddr', 'daddr'],
  ip6: ['version', 'dscp', 'ecn', 'flowlabel', 'length', 'nexthdr', 'hoplimit', 'saddr', 'daddr'],
  tcp: ['sport', 'dport', 'sequence', 'ackseq', 'doff', 'reserved', 'flags', 'window', 'checksum', 'urgptr'],
  udp: ['sport', 'dport', 'length', 'checksum'],
  udplite: ['sport', 'dport', 'csumcov', 'checksum'],
  sctp: ['sport', 'dport', 'vtag', 'checksum'],
  dccp: ['sport', 'dport', 'type'],
  icmp: ['type', 'code', 'checksum', 'id', 'sequence', 'gateway', 'mtu'],
  icmpv6: ['type', 'code', 'checksum', 'parameter-problem', 'packet-too-big', 'id', 'sequence', 'max-delay'],
  igmp: ['type', 'mrt', 'checksum', 'group'],
  ah: ['nexthdr', 'hdrlength', 'reserved', 'spi', 'sequence'],
  esp: ['spi', 'sequence'],
  comp: ['nexthdr', 'flags', 'cpi'],
  th: ['sport', 'dport'],
  gre: ['version', 'flags', 'protocol'],
};

/** IPv6 extension header fields (`frag frag-off`, `rt type`); `exthdr NAME` alone tests presence. */
export const EXTHDR_FIELDS: Readonly<Record<string, readonly string[]>> = {
  hbh: ['nexthdr', 'hdrlength'],
  dst: ['nexthdr', 'hdrlength'],
  frag: ['nexthdr', 'reserved', 'frag-off', 'reserved2', 'more-fragments', 'id'],
  rt: ['nexthdr', 'hdrlength', 'type', 'seg-left'],
  rt0: ['addr'],
  rt2: ['addr'],
  rt4: ['last-entry', 'flags', 'tag'],
  mh: ['nexthdr', 'hdrlength', 'type', 'reserved', 'checksum'],
  srh: ['nexthdr', 'hdrlength', 'type', 'segmentsleft', 'lasthop', 'flags', 'tag'],
};

/** Meta keys nft accepts without the `meta` keyword (`mark`, `iifname`...). */
export const BARE_META = new Set([
  'mark', 'iif', 'oif', 'iifname', 'oifname', 'iiftype', 'oiftype', 'skuid', 'skgid', 'nftrace', 'rtclassid',
  'pkttype', 'cpu', 'iifgroup', 'oifgroup', 'cgroup', 'ibrname', 'obrname', 'ibriport', 'obriport',
]);

export const CT_DIRS = new Set(['original', 'reply']);

/** ct keys (nftables src/ct.c); `ct count` is a statement packetpath does not model. */
export const CT_KEYS = new Set([
  'state', 'direction', 'status', 'mark', 'expiration', 'helper', 'label', 'l3proto', 'protocol', 'saddr', 'daddr',
  'proto-src', 'proto-dst', 'bytes', 'packets', 'avgpkt', 'zone', 'id', 'event', 'secmark', 'timeout', 'expectation',
  'ip', 'ip6',
]);

/** Words that begin a statement, never an expression. */
export const STMT_WORDS = new Set([
  'accept', 'drop', 'continue', 'return', 'jump', 'goto', 'queue', 'counter', 'log', 'limit', 'quota', 'reject',
  'notrack', 'masquerade', 'redirect', 'snat', 'dnat', 'comment', 'add', 'update', 'delete', 'flow', 'synproxy',
  'dup', 'fwd', 'xt', 'tproxy', 'meter', 'set', 'last',
]);

export const VERDICT_WORDS = new Set(['accept', 'drop', 'continue', 'return', 'jump', 'goto', 'queue']);

/** Map data types that name stateful objects (`typeof ip saddr : limit`). */
export const OBJECT_TYPES = new Set(['counter', 'quota', 'limit', 'ct helper', 'ct timeout', 'ct expectation', 'synproxy', 'secmark', 'verdict']);

const UNITS: Readonly<Record<string, number>> = { d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** `10800s`, `1d2h`, `500ms`, `3600` → seconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+)(ms|d|h|m|s)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === text.length && pos > 0 ? Math.round(total * 1000) / 1000 : undefined;
}

/** Seconds → nft's spelling (`3h`, `1d2h`, `500ms`). */
export function formatDuration(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  let out = '';
  for (const [u, f] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const q = Math.floor(ms / f);
    if (q > 0) {
      out += `${q}${u}`;
      ms -= q * f;
    }
  }
  return out;
}

const BYTE_UNITS: Readonly<Record<string, number>> = { bytes: 1, kbytes: 1024, mbytes: 1024 * 1024, gbytes: 1024 * 1024 * 1024 };

export function byteUnit(word: string): number | undefined {
  return BYTE_UNITS[word];
}
