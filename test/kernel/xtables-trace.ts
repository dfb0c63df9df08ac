/**
 * `xtables-monitor --trace` output parsed into events, and rule positions
 * attached to them. Pure functions: usable without a kernel.
 *
 * ## xtables-monitor --trace output format (iptables 1.8.9, learned by experiment)
 *
 * For every base-chain evaluation the first trace message carries the packet headers, so
 * a `PACKET:` line precedes each group of `TRACE:` lines (it shows the packet as it
 * entered that hook: after DNAT the next PACKET line shows the new DST, MARK= appears
 * once set, OUT= once routed):
 *
 *   PACKET: <nfproto> <traceid-hex8> [IN=if] [OUT=if] [MACSRC=m MACDST=m MACPROTO=0800] SRC=a DST=a LEN=n TOS=0x0 TTL=n ID=n [DF] [MF] [SPORT=n DPORT=n] [SYN] [ACK] [FIN] [RST] [PSH] [URG] [MARK=0xn]
 *    TRACE: <family> <traceid> <table>:<chain>:rule:0x<handle>:<VERDICT>[:<jump/goto target>]  -4 -t <table> -A <chain> <rule as in iptables-save>
 *    TRACE: <family> <traceid> <table>:<chain>:policy:<ACCEPT|DROP>
 *    TRACE: <family> <traceid> <table>:<chain>:return:[<target>]     (parsed, never seen on 6.18)
 *
 * Real lines (1-node gateway, DNAT + MASQUERADE, user chain with RETURN):
 *
 *   PACKET: 2 afa124ac IN=eth0 MACSRC=2:70:0:0:1:1 MACDST=2:70:0:0:0:1 MACPROTO=0800 SRC=192.0.2.9 DST=192.0.2.1 LEN=40 TOS=0x0 TTL=64 ID=1002 DF SPORT=1234 DPORT=8080 SYN
 *    TRACE: 2 afa124ac nat:PREROUTING:rule:0x5:ACCEPT  -4 -t nat -A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.2:80
 *   PACKET: 2 afa124ac IN=eth0 OUT=eth1 MACSRC=2:70:0:0:1:1 MACDST=2:70:0:0:0:1 MACPROTO=0800 SRC=192.0.2.9 DST=198.51.100.2 LEN=40 TOS=0x0 TTL=63 ID=1002 DF SPORT=1234 DPORT=80 SYN
 *    TRACE: 2 afa124ac filter:FORWARD:policy:ACCEPT
 *    TRACE: 2 f2c15171 filter:INPUT:rule:0x5:JUMP:U  -4 -t filter -A INPUT -j U
 *    TRACE: 2 f2c15171 filter:U:rule:0x7:0xfffffffb  -4 -t filter -A U -p tcp -m tcp --dport 80 -j RETURN
 *    TRACE: 2 77708395 filter:USER:rule:0xa:GOTO:USER2  -4 -t filter -A USER -p udp -m udp --dport 5353 -g USER2
 *
 * Kernel facts visible in that format: RETURN is printed as `0xfffffffb` (mapped to
 * verdict 'RETURN' here); falling off the end of a user chain (implicit return, also of a
 * goto'ed chain) produces no event - the next event is simply the caller's next rule;
 * REJECT is reported as DROP, DNAT/SNAT/MASQUERADE/REDIRECT as ACCEPT, MARK/LOG/CONNMARK
 * as CONTINUE (use `ruleTarget`, parsed from the rule text, to tell them apart); nat
 * chains are only traversed by the first packet of a connection (conntrack is flushed
 * between packets); with no route the events stop after the PREROUTING hooks.  Rules
 * that do not match produce no event at all.  MAC addresses are printed by ether_ntoa
 * (no zero padding).
 *
 *
 * ## Rule positions
 *
 * Right after `iptables-restore` driver.py runs `nft -j list ruleset ip` in the node
 * and records, per table/chain, the rule handles in list (= evaluation) order.  The
 * trace's `0x<handle>` is looked up there -> 1-based `position`.  The position is then
 * cross-checked against the node's `iptables-save` output (the rule text printed by
 * xtables-monitor is the iptables-save line); `ruleTextMatchesSave` reports the result,
 * and if a handle is unknown the position falls back to the first save line with the
 * same text.
 */
import type { KernelEvent, NodeSetupInfo } from './topology.ts';

export const NFPROTO_IPV6 = 10;

// ---------------------------------------------------------------------------------
// xtables-monitor parsing

const VERDICT_NAMES: Record<string, string> = {
  '0xfffffffb': 'RETURN', // NFT_RETURN (-5)
  '0xfffffffc': 'GOTO', // NFT_GOTO (-4)
  '0xfffffffd': 'JUMP', // NFT_JUMP (-3)
  '0xfffffffe': 'BREAK', // NFT_BREAK (-2)
  '0xffffffff': 'CONTINUE', // NFT_CONTINUE (-1)
};

function splitVerdict(raw: string): { verdict: string; target?: string } {
  const m = /^(JUMP|GOTO):(.+)$/.exec(raw);
  if (m) return { verdict: m[1]!, target: m[2]! };
  return { verdict: VERDICT_NAMES[raw.toLowerCase()] ?? raw };
}

function parsePacketFields(text: string): { fields: Record<string, string>; flags: string[] } {
  const fields: Record<string, string> = {};
  const flags: string[] = [];
  const opt = /OPT \(([0-9A-F]*)\)/.exec(text);
  if (opt) {
    fields['OPT'] = opt[1]!;
    text = text.replace(opt[0], ' ');
  }
  for (const tok of text.trim().split(/\s+/)) {
    if (!tok) continue;
    const eq = tok.indexOf('=');
    if (eq > 0) fields[tok.slice(0, eq)] = tok.slice(eq + 1);
    else if (tok.startsWith('FRAG:')) fields['FRAG'] = tok.slice(5);
    else flags.push(tok);
  }
  return { fields, flags };
}

/** shell-like tokenizer for iptables-save rule text (double quotes only, as iptables prints them) */
function tokenizeRule(text: string): string[] {
  const toks: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) toks.push(m[1] !== undefined ? m[1] : m[2]!);
  return toks;
}

function ruleTargetOf(ruleText: string): string | undefined {
  const t = tokenizeRule(ruleText);
  let target: string | undefined;
  for (let i = 0; i < t.length - 1; i++) {
    if (t[i] === '-j' || t[i] === '--jump' || t[i] === '-g' || t[i] === '--goto') target = t[i + 1];
  }
  return target;
}

export interface ParseOptions {
  /** keep only traces whose PACKET lines carry this IPv4 ID (IPv6: this flow label) */
  ipId?: number;
  /** drop events of these tables (default: the harness' own `pptrace`) */
  ignoreTables?: string[];
}

/**
 * Parse `xtables-monitor --trace` output (format documented at the top of this file)
 * into events. Pure function: usable without a kernel.
 */
export function parseMonitorOutput(text: string, node: string, opts: ParseOptions = {}): KernelEvent[] {
  const ignore = new Set(opts.ignoreTables ?? ['pptrace']);
  const lastPacket = new Map<string, { fields: Record<string, string>; flags: string[] }>();
  const events: KernelEvent[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\s+$/, '');
    let m = /^PACKET: (\d+) ([0-9a-f]+) ?(.*)$/.exec(line);
    if (m) {
      lastPacket.set(m[2]!, parsePacketFields(m[3]!));
      continue;
    }
    m = /^ ?TRACE: (\d+) ([0-9a-f]+) (\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const traceId = m[2]!;
    const head = m[3]!;
    const rest = m[4];
    const table = head.slice(0, head.indexOf(':'));
    const afterTable = head.slice(table.length + 1);
    const km = /^(.*?):(rule:0x([0-9a-f]+)|policy|return)(?::(.*))?$/.exec(afterTable);
    if (!table || !km) continue;
    const chain = km[1]!;
    const kind = km[2]!.startsWith('rule') ? 'rule' : (km[2] as 'policy' | 'return');
    const tail = km[4] ?? '';
    const pkt = lastPacket.get(traceId) ?? { fields: {}, flags: [] };
    if (ignore.has(table)) continue;
    if (opts.ipId !== undefined && (pkt.fields['ID'] ?? pkt.fields['FLOWLBL']) !== String(opts.ipId)) continue;
    const ev: KernelEvent = {
      node,
      nfproto: Number(m[1]),
      traceId,
      table,
      chain,
      kind,
      verdict: '',
      rawVerdict: tail,
      packet: { ...pkt.fields },
      packetFlags: [...pkt.flags],
    };
    if (kind === 'rule') {
      ev.handle = parseInt(km[3]!, 16);
      const v = splitVerdict(tail);
      ev.verdict = v.verdict;
      if (v.target !== undefined) ev.target = v.target;
      if (rest) {
        ev.ruleText = rest.replace(/^-[46] -t \S+ /, '');
        const t = ruleTargetOf(ev.ruleText);
        if (t !== undefined) ev.ruleTarget = t;
      }
    } else if (kind === 'policy') {
      ev.verdict = splitVerdict(tail).verdict;
    } else {
      ev.verdict = 'RETURN';
      if (tail) ev.target = tail;
    }
    events.push(ev);
  }
  return events;
}

/** `iptables-save` text -> table -> chain -> rule lines ("-A CHAIN ...") in order */
export function saveRulesByChain(save: string): Map<string, Map<string, string[]>> {
  const res = new Map<string, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      cur = new Map();
      res.set(line.slice(1).trim(), cur);
    } else if (line.startsWith(':') && cur) {
      const name = line.slice(1).split(' ')[0]!;
      if (!cur.has(name)) cur.set(name, []);
    } else if (line.startsWith('-A ') && cur) {
      const chain = line.split(' ')[1]!;
      let list = cur.get(chain);
      if (!list) cur.set(chain, (list = []));
      list.push(line.trimEnd());
    }
  }
  return res;
}

/** Fill `position` / `ruleTextMatchesSave` of rule events from the node's handle lists and save text. */
export function attachPositions(events: KernelEvent[], info: NodeSetupInfo): void {
  const save4 = saveRulesByChain(info.save);
  const save6 = saveRulesByChain(info.save6 ?? '');
  for (const ev of events) {
    if (ev.kind !== 'rule') continue;
    const v6 = ev.nfproto === NFPROTO_IPV6;
    const save = v6 ? save6 : save4;
    const handles = (v6 ? info.chains6 : info.chains)?.[ev.table]?.[ev.chain];
    const lines = save.get(ev.table)?.get(ev.chain);
    const idx = handles && ev.handle !== undefined ? handles.indexOf(ev.handle) : -1;
    if (idx >= 0) ev.position = idx + 1;
    else if (lines && ev.ruleText) {
      const j = lines.indexOf(ev.ruleText);
      if (j >= 0) ev.position = j + 1;
    }
    if (ev.position !== undefined && lines && ev.ruleText !== undefined) {
      ev.ruleTextMatchesSave = lines[ev.position - 1] === ev.ruleText;
    }
  }
}

/** compact one-line rendering, handy in assertions: `node table:chain:kind[:pos]:VERDICT[:target]` */
export function eventKey(e: KernelEvent, withNode = false): string {
  const pos = e.kind === 'rule' ? `:${e.position ?? '?'}` : '';
  const tgt = e.target ? `:${e.target}` : '';
  return `${withNode ? `${e.node} ` : ''}${e.table}:${e.chain}:${e.kind}${pos}:${e.verdict}${tgt}`;
}
