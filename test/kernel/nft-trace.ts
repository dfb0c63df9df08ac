/**
 * `nft monitor trace` output (nftables 1.0.6, kernel 6.18) -> events. Pure: usable without a kernel.
 *
 * ## Line formats (learned by experiment; `nft -a monitor trace` prints the same lines)
 *
 * Every line starts `trace id <8 hex> <family> <table> <chain> `, then one of:
 *
 *   packet: [iif "eth0"] [oif "eth1"] [ether saddr .. ether daddr ..] ip saddr A ip daddr B ... ip id N ... tcp sport S tcp dport D ...
 *   rule <rule as `nft -a list ruleset` prints it, counters as cached by the monitor> # handle N (verdict V)
 *   policy accept|drop [meta mark 0x0000000n]
 *
 * `V` is `accept`, `drop`, `continue`, `return`, `jump <chain>`, `goto <chain>`, `queue`.
 * Real lines (inet table, an iptables-nft table and a nat chain on one output hook):
 *
 *   trace id d078e608 inet t out packet: oif "lo" ip saddr 127.0.0.1 ip daddr 127.0.0.1 ... ip id 8228 ip protocol udp ... udp dport 7 ...
 *   trace id d078e608 inet t out rule jump sub # handle 6 (verdict jump sub)
 *   trace id d078e608 inet t sub rule udp dport 7 return # handle 8 (verdict return)
 *   trace id d078e608 inet t out policy accept meta mark 0x00000005
 *   trace id d078e608 ip filter OUTPUT rule udp dport 7 counter packets 0 bytes 0 accept # handle 2 (verdict accept)
 *   trace id ade6bee6 ip filter OUTPUT rule meta l4proto udp  udp dport 7 counter packets 0 bytes 0 jump KUBE-X # handle 5 (verdict jump KUBE-X)
 *   trace id d9f32898 ip nat OUTPUT rule udp dport 9 counter packets 0 bytes 0 dnat to 192.0.2.1:19 # handle 5 (verdict accept)
 *   trace id ade6bee6 ip t2 o policy drop meta mark 0x00000005
 *
 * Kernel facts visible in that format:
 *  - a `packet:` line precedes the first event of every base-chain run and shows the packet
 *    as it entered that hook (after DNAT the next one shows the new daddr/dport; oif once routed);
 *    `meta mark` is printed only on policy lines (when non-zero), never on packet or rule lines;
 *  - falling off the end of a jumped/goto'ed chain prints nothing (no `return` event on 6.18):
 *    the next event is the caller's next rule or the base chain's policy; an explicit `return`
 *    rule is a rule event with verdict `return`;
 *  - an `accept` ends only its own base chain: the next base chain on the hook prints its own
 *    packet line and events; a `drop`/`reject` ends the packet (reject prints `(verdict drop)`);
 *  - dnat/snat/masquerade/redirect print `(verdict accept)`; in an inet table, `dnat ip to` met by an
 *    IPv6 packet (or `dnat ip6 to` by an IPv4 one) matches but does nothing: `(verdict continue)`; `meta mark set`, `counter`, `log` print
 *    `(verdict continue)`;
 *  - iptables-nft rules appear as family `ip`/`ip6`, table `filter`/`nat`/`mangle`/`raw`, chain
 *    `INPUT`/`KUBE-SVC-...`, rule text as nft's translation of the xt expressions (e.g.
 *    `-p udp --dport 7 -j ACCEPT` -> `udp dport 7 counter packets 0 bytes 0 accept`,
 *    `-m statistic` -> `meta random & 2147483647 < 1073741824`, `-j MARK --set-xmark 0x4000/0x4000`
 *    -> `meta mark set mark or 0x4000`, `-j REJECT` -> `reject`; `-m comment` is not printed);
 *    handles are the nft handles of those rules;
 *  - base chains with the same priority on one hook: the one registered LAST runs FIRST
 *    (nf_hook_entries_grow inserts before the first entry whose priority is >= its own);
 *  - the trace id is per skb: a packet looped back through `lo` (or an ICMP error) gets a new one.
 */

/** What a trace event of either monitor (xtables-monitor, nft monitor trace) says. */
export interface TraceEventBase {
  node: string;
  traceId: string;
  table: string;
  chain: string;
  kind: 'rule' | 'policy' | 'return';
  /** nft rule handle (rule events) */
  handle?: number;
  /** 1-based position of the rule in its chain (rule events) */
  position?: number;
  ruleText?: string;
  verdict: string;
}

export interface NftKernelEvent extends TraceEventBase {
  family: string;
  /** the rule as printed, with `counter packets N bytes M` shortened to `counter` */
  ruleText?: string;
  /** accept | drop | continue | return | jump X | goto X | queue | ... (policy events: accept | drop) */
  verdict: string;
  /** `meta mark` printed on policy lines, e.g. 0x00004000 */
  mark?: string;
  /** fields of the packet line in effect (iif, oif, saddr, daddr, sport, dport, l4proto, id, flowlabel, ...) */
  packet: Record<string, string>;
}

export interface NftParseOptions {
  /** keep only traces whose packet lines carry this IPv4 id (IPv6: flow label) */
  ipId?: number;
  /** drop events of these tables (default: the harness' own `pptrace`) */
  ignoreTables?: string[];
}

/** key fields of a `packet:` line */
export function parseNftPacketLine(text: string): Record<string, string> {
  const f: Record<string, string> = {};
  const grab = (re: RegExp, key: string): void => {
    const m = re.exec(text);
    if (m) f[key] = m[1]!.replace(/^"|"$/g, '');
  };
  grab(/\biif "?([^"\s]+)"?/, 'iif');
  grab(/\boif "?([^"\s]+)"?/, 'oif');
  grab(/\bip6? saddr (\S+)/, 'saddr');
  grab(/\bip6? daddr (\S+)/, 'daddr');
  grab(/\bip id (\d+)/, 'id');
  grab(/\bip6 flowlabel (\d+)/, 'flowlabel');
  grab(/\bip ttl (\d+)/, 'ttl');
  grab(/\bip6 hoplimit (\d+)/, 'ttl');
  grab(/\b(?:tcp|udp|sctp) sport (\d+)/, 'sport');
  grab(/\b(?:tcp|udp|sctp) dport (\d+)/, 'dport');
  grab(/\b(tcp|udp|sctp|icmp|icmpv6) (?:sport|type)\b/, 'l4proto');
  grab(/\btcp flags (\S+)/, 'tcpFlags');
  grab(/\bmeta mark (0x[0-9a-f]+)/, 'mark');
  return f;
}

const HEAD = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (packet: |rule |policy |return|verdict )(.*)$/;

/** Parse `nft monitor trace` output into events (format documented above). */
export function parseNftMonitorOutput(text: string, node: string, opts: NftParseOptions = {}): NftKernelEvent[] {
  const ignore = new Set(opts.ignoreTables ?? ['pptrace']);
  const lastPacket = new Map<string, Record<string, string>>();
  const events: NftKernelEvent[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const m = HEAD.exec(line);
    if (!m) continue;
    const [, traceId, family, table, chain, what, rest] = m as unknown as [string, string, string, string, string, string, string];
    if (what === 'packet: ') {
      lastPacket.set(traceId, parseNftPacketLine(rest));
      continue;
    }
    if (ignore.has(table)) continue;
    const pkt = lastPacket.get(traceId) ?? {};
    if (opts.ipId !== undefined && (pkt['id'] ?? pkt['flowlabel']) !== String(opts.ipId)) continue;
    const base = { node, traceId, family, table, chain, packet: { ...pkt } };
    if (what === 'rule ') {
      const r = /^(.*?)(?: # handle (\d+))? \(verdict (.+)\)$/.exec(rest);
      if (!r) continue;
      const ev: NftKernelEvent = { ...base, kind: 'rule', verdict: r[3]!, ruleText: r[1]!.replace(/counter packets \d+ bytes \d+/g, 'counter').replace(/ {2,}/g, ' ').trim() };
      if (r[2] !== undefined) ev.handle = Number(r[2]);
      events.push(ev);
    } else if (what === 'policy ') {
      const p = /^(\S+)(?: meta mark (0x[0-9a-f]+))?/.exec(rest)!;
      const ev: NftKernelEvent = { ...base, kind: 'policy', verdict: p[1]! };
      if (p[2] !== undefined) ev.mark = p[2];
      events.push(ev);
    } else {
      // NFT_TRACETYPE_RETURN (older kernels): `... return [verdict X] [meta mark ..]`
      const v = /verdict (\S+(?: (?!meta)\S+)?)/.exec(rest);
      const mk = /meta mark (0x[0-9a-f]+)/.exec(rest);
      const ev: NftKernelEvent = { ...base, kind: 'return', verdict: v ? v[1]! : 'return' };
      if (mk) ev.mark = mk[1];
      events.push(ev);
    }
  }
  return events;
}

/** family -> table -> chain -> rule handles in evaluation order */
export type NftChainHandles = Record<string, Record<string, Record<string, number[]>>>;

/** Fill `position` of rule events from the node's handle lists. */
export function attachNftPositions(events: NftKernelEvent[], chains: NftChainHandles | undefined): void {
  for (const ev of events) {
    if (ev.kind !== 'rule' || ev.handle === undefined) continue;
    const list = chains?.[ev.family]?.[ev.table]?.[ev.chain];
    const i = list ? list.indexOf(ev.handle) : -1;
    if (i >= 0) ev.position = i + 1;
  }
}

/**
 * Comparison keys, one per event: `${family} ${table} ${chain} rule ${handle} ${verdict}` and
 * `${family} ${table} ${chain} policy ${verdict}` (`by: 'position'` puts the 1-based position
 * in place of the handle, for a side that does not know the kernel's handles).
 */
export function nftKernelKeys(events: readonly NftKernelEvent[], opts: { by?: 'handle' | 'position' } = {}): string[] {
  return events.map((e) => {
    if (e.kind === 'rule') return `${e.family} ${e.table} ${e.chain} rule ${(opts.by === 'position' ? e.position : e.handle) ?? '?'} ${e.verdict}`;
    return `${e.family} ${e.table} ${e.chain} ${e.kind} ${e.verdict}`;
  });
}
