// Every match module the parser knows (extensions.ts MATCHES), simulated:
// one row per case, each a one-rule chain `-A <chain> <match> -j LOG`. The
// rule's CONTINUE event shows whether the match held; a fork shows that the
// simulator could not decide (and must say why).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MATCHES } from '../../src/netfilter/iptables/syntax/extensions.ts';
import type { Family, HostFile, PacketInput } from '../../src/netfilter/index.ts';
import { HOST, HOST6, PKT, table, trace, type Compact } from '../support/sim.ts';

type Expect = 'match' | 'no' | 'fork' | { readonly p: number };

interface Row {
  readonly name: string;
  /** The matches of the probed rule. */
  readonly rule: string;
  /** `table/chain` the rule is in; default filter/INPUT. */
  readonly where?: string;
  /** Overrides of the default packet (PKT, or PKT6 for ipv6). `local: true` drops the in-interface. */
  readonly pkt?: Partial<PacketInput>;
  readonly host?: HostFile | null;
  readonly family?: Family;
  /** Other tables of the dump (e.g. a DNAT that runs before the probe). */
  readonly extra?: string;
  readonly expect: Expect;
  /** For forks: what the assumptions must mention. */
  readonly why?: RegExp;
}

const PKT6: PacketInput = { src: '2001:db8:ffff::7', dst: '2001:db8:0:1::1', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' };
const FWD: Partial<PacketInput> = { dst: '198.51.100.9' };
const LOCAL_OUT: Partial<PacketInput> = { src: '192.0.2.1', dst: '203.0.113.9', local: true };
const ICMP: Partial<PacketInput> = { protocol: 'icmp', sport: undefined, dport: undefined, icmpType: 8 };
const UDP: Partial<PacketInput> = { protocol: 'udp', dport: 53 };
const BLACKHOLE_HOST: HostFile = { ...HOST, routes: [...(HOST.routes ?? []), { dst: '203.0.113.0/25', type: 'blackhole' }] };
const IPSETS_HOST: HostFile = {
  ...HOST,
  ipsets: [
    'create ALLOW hash:net family inet hashsize 1024 maxelem 65536',
    'add ALLOW 203.0.113.0/24',
    'create SVC hash:ip,port family inet hashsize 1024 maxelem 65536',
    'add SVC 192.0.2.1,tcp:80',
    'add SVC 192.0.2.1,udp:53',
    'create NETS hash:net family inet hashsize 1024 maxelem 65536',
    'add NETS 203.0.0.0/8',
    'add NETS 203.0.113.0/24 nomatch',
    'create PAIRS hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
    'add PAIRS 192.0.2.1,tcp:80,203.0.113.7',
    'create V6 hash:net family inet6 hashsize 1024 maxelem 65536',
    'add V6 2001:db8:ffff::/48',
    'create LIST list:set size 8',
    'add LIST V6',
    'add LIST ALLOW',
    'create LIST2 list:set size 8',
    'add LIST2 SVC',
  ].join('\n'),
};

function packetFor(row: Row): PacketInput {
  const base = row.family === 'ipv6' ? PKT6 : PKT;
  const merged: Record<string, unknown> = { ...base, ...row.pkt };
  if (merged['local']) delete merged['inInterface'];
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return merged as unknown as PacketInput;
}

function probe(row: Row): Compact {
  const [t, chain] = (row.where ?? 'filter/INPUT').split('/') as ['filter', string];
  const dump = (row.extra ?? '') + table(t, `-A ${chain} ${row.rule} -j LOG`);
  const host = row.host !== undefined ? row.host : row.family === 'ipv6' ? HOST6 : HOST;
  return trace(dump, packetFor(row), { host, ...(row.family ? { family: row.family } : {}) });
}

function check(row: Row): void {
  const r = probe(row);
  const [t, chain] = (row.where ?? 'filter/INPUT').split('/');
  const key = `${t}/${chain}#1:CONTINUE`;
  const dump = JSON.stringify(r.outcomes.map((o) => ({ p: o.p, events: o.events, assumptions: o.assumptions })), null, 1);
  const hit = r.outcomes.filter((o) => o.events.includes(key));
  const miss = r.outcomes.filter((o) => !o.events.includes(key));
  if (row.expect === 'match' || row.expect === 'no') {
    assert.equal(r.outcomes.length, 1, `expected a decided match, got:\n${dump}`);
    assert.equal(hit.length === 1, row.expect === 'match', `expected ${row.expect}:\n${dump}`);
    return;
  }
  assert.equal(r.outcomes.length, 2, `expected a fork, got:\n${dump}`);
  assert.equal(hit.length, 1, dump);
  assert.equal(miss.length, 1, dump);
  if (row.expect === 'fork') {
    assert.equal(hit[0]!.p, null, dump);
    assert.equal(miss[0]!.p, null, dump);
    assert.ok(hit[0]!.assumptions.length > 0 && miss[0]!.assumptions.length > 0, `a fork must state its assumptions:\n${dump}`);
    if (row.why) {
      assert.ok(hit[0]!.assumptions.some((a) => row.why!.test(a)), `assumptions of the matching branch should mention ${row.why}:\n${dump}`);
      assert.ok(miss[0]!.assumptions.some((a) => row.why!.test(a)), `assumptions of the other branch should mention ${row.why}:\n${dump}`);
    }
  } else {
    assert.ok(Math.abs(hit[0]!.p! - row.expect.p) < 1e-9, `matching branch p=${hit[0]!.p}, want ${row.expect.p}`);
    assert.ok(Math.abs(miss[0]!.p! - (1 - row.expect.p)) < 1e-9, `other branch p=${miss[0]!.p}, want ${1 - row.expect.p}`);
  }
}

const ROWS: Row[] = [
  // ---- built-in matches (no module)
  { name: '-p tcp holds for a TCP packet', rule: '-p tcp', expect: 'match' },
  { name: '-p udp does not hold for a TCP packet', rule: '-p udp', expect: 'no' },
  { name: '! -p udp holds for a TCP packet', rule: '! -p udp', expect: 'match' },
  { name: '-p 17 (saved as udp) holds for a UDP packet', rule: '-p 17', pkt: UDP, expect: 'match' },
  { name: 'a packet given by protocol number 6 matches -p tcp', rule: '-p tcp', pkt: { protocol: '6' }, expect: 'match' },
  { name: '-s network containing the source', rule: '-s 203.0.113.0/24', expect: 'match' },
  { name: '-s other network', rule: '-s 198.51.100.0/24', expect: 'no' },
  { name: '! -s network containing the source', rule: '! -s 203.0.113.0/24', expect: 'no' },
  { name: '-d /32 of the destination', rule: '-d 192.0.2.1/32', expect: 'match' },
  { name: '-i exact name', rule: '-i eth0', expect: 'match' },
  { name: '-i wildcard eth+', rule: '-i eth+', expect: 'match' },
  { name: '-i other interface', rule: '-i eth1', expect: 'no' },
  { name: '! -i other interface', rule: '! -i eth1', expect: 'match' },
  { name: '-o routed out-interface in FORWARD', rule: '-o eth1', where: 'filter/FORWARD', pkt: FWD, expect: 'match' },
  { name: '-o never holds in INPUT (no out-interface)', rule: '-o eth+', expect: 'no' },
  { name: '-f does not hold for an unfragmented packet', rule: '-f', expect: 'no' },
  { name: '! -f holds for an unfragmented packet', rule: '! -f', expect: 'match' },
  { name: '-f holds for a fragment', rule: '-f', pkt: { fragment: true }, expect: 'match' },

  // ---- tcp / udp / udplite / sctp / dccp
  { name: 'tcp --dport equal', rule: '-p tcp -m tcp --dport 80', expect: 'match' },
  { name: 'tcp --dport range excluding the port', rule: '-p tcp -m tcp --dport 1:79', expect: 'no' },
  { name: 'tcp ! --dport other port', rule: '-p tcp -m tcp ! --dport 22', expect: 'match' },
  { name: 'tcp --sport range', rule: '-p tcp -m tcp --sport 40000:40100', expect: 'match' },
  { name: 'tcp --syn holds for a NEW packet (SYN by default)', rule: '-p tcp -m tcp --syn', expect: 'match' },
  { name: 'tcp --syn fails for an ESTABLISHED packet (ACK by default)', rule: '-p tcp -m tcp --syn', pkt: { state: 'ESTABLISHED' }, expect: 'no' },
  { name: 'tcp --tcp-flags SYN,ACK SYN,ACK with a SYN-ACK', rule: '-p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK', pkt: { tcpFlags: 'SYN,ACK' }, expect: 'match' },
  { name: 'tcp --tcp-flags ALL NONE with no flags set (null scan)', rule: '-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE', pkt: { tcpFlags: 'NONE' }, expect: 'match' },
  { name: 'tcp --tcp-flags FIN,SYN FIN,SYN fails for a plain SYN', rule: '-p tcp -m tcp --tcp-flags FIN,SYN FIN,SYN', expect: 'no' },
  { name: 'tcp --tcp-option is not simulated: fork', rule: '-p tcp -m tcp --tcp-option 2', expect: 'fork', why: /tcp-option/ },
  { name: 'tcp --dport with no port given: fork', rule: '-p tcp -m tcp --dport 80', pkt: { dport: undefined }, expect: 'fork', why: /destination port/ },
  { name: 'udp --dport equal', rule: '-p udp -m udp --dport 53', pkt: UDP, expect: 'match' },
  { name: 'udp --sport other port', rule: '-p udp -m udp --sport 53', pkt: UDP, expect: 'no' },
  { name: 'udplite --dport', rule: '-p udplite -m udplite --dport 5000', pkt: { protocol: 'udplite', dport: 5000 }, expect: 'match' },
  { name: 'sctp --dport', rule: '-p sctp -m sctp --dport 9999', pkt: { protocol: 'sctp', dport: 9999 }, expect: 'match' },
  { name: 'sctp --chunk-types is not simulated: fork', rule: '-p sctp -m sctp --chunk-types any INIT', pkt: { protocol: 'sctp', dport: 9999 }, expect: 'fork', why: /chunk-types/ },
  { name: 'dccp --sport', rule: '-p dccp -m dccp --sport 40000', pkt: { protocol: 'dccp', dport: 5000 }, expect: 'match' },
  { name: 'multiport --dports list containing the port', rule: '-p tcp -m multiport --dports 22,80,443', expect: 'match' },
  { name: 'multiport --dports range not containing the port', rule: '-p tcp -m multiport --dports 8000:8080,9000', expect: 'no' },
  { name: 'multiport ! --dports containing the port', rule: '-p tcp -m multiport ! --dports 80,443', expect: 'no' },
  { name: 'multiport --sports', rule: '-p tcp -m multiport --sports 1024:65535', expect: 'match' },
  { name: 'multiport --ports holds on the destination port', rule: '-p tcp -m multiport --ports 80', expect: 'match' },
  { name: 'multiport --ports holds on the source port', rule: '-p tcp -m multiport --ports 40000', pkt: { dport: undefined }, expect: 'match' },
  { name: 'multiport --ports with neither port in the list', rule: '-p tcp -m multiport --ports 22,23', expect: 'no' },

  // ---- icmp / icmp6
  { name: 'icmp --icmp-type 8 (echo request)', rule: '-p icmp -m icmp --icmp-type 8', pkt: ICMP, expect: 'match' },
  { name: 'icmp --icmp-type echo-reply for a request', rule: '-p icmp -m icmp --icmp-type echo-reply', pkt: ICMP, expect: 'no' },
  { name: 'icmp --icmp-type any', rule: '-p icmp -m icmp --icmp-type any', pkt: ICMP, expect: 'match' },
  { name: 'icmp ! --icmp-type 8 for echo request', rule: '-p icmp -m icmp ! --icmp-type 8', pkt: ICMP, expect: 'no' },
  { name: 'icmp --icmp-type 3/4 (frag needed) exact code', rule: '-p icmp -m icmp --icmp-type 3/4', pkt: { ...ICMP, icmpType: 3, icmpCode: 4 }, expect: 'match' },
  { name: 'icmp --icmp-type 3/4 with another code', rule: '-p icmp -m icmp --icmp-type 3/4', pkt: { ...ICMP, icmpType: 3, icmpCode: 3 }, expect: 'no' },
  { name: 'icmp --icmp-type 3 holds for any code', rule: '-p icmp -m icmp --icmp-type 3', pkt: { ...ICMP, icmpType: 3, icmpCode: 13 }, expect: 'match' },
  { name: 'icmp6 --icmpv6-type 128 (echo request)', rule: '-p ipv6-icmp -m icmp6 --icmpv6-type 128', family: 'ipv6', pkt: { ...ICMP, icmpType: 128 }, expect: 'match' },
  { name: 'icmp6 --icmpv6-type 1/4 with code 3', rule: '-p ipv6-icmp -m icmp6 --icmpv6-type 1/4', family: 'ipv6', pkt: { ...ICMP, icmpType: 1, icmpCode: 3 }, expect: 'no' },

  // ---- comment, nfacct: always hold
  { name: 'comment always holds', rule: '-m comment --comment "kubernetes service portals"', expect: 'match' },
  { name: 'nfacct always holds (accounting only)', rule: '-m nfacct --nfacct-name http', expect: 'match' },

  // ---- conntrack / state
  { name: 'ctstate NEW for a NEW packet', rule: '-m conntrack --ctstate NEW', expect: 'match' },
  { name: 'ctstate RELATED,ESTABLISHED for a NEW packet', rule: '-m conntrack --ctstate RELATED,ESTABLISHED', expect: 'no' },
  { name: 'ctstate ESTABLISHED', rule: '-m conntrack --ctstate RELATED,ESTABLISHED', pkt: { state: 'ESTABLISHED' }, expect: 'match' },
  { name: 'ctstate RELATED', rule: '-m conntrack --ctstate RELATED', pkt: { state: 'RELATED' }, expect: 'match' },
  { name: 'ctstate INVALID', rule: '-m conntrack --ctstate INVALID', pkt: { state: 'INVALID' }, expect: 'match' },
  { name: 'ctstate UNTRACKED', rule: '-m conntrack --ctstate UNTRACKED', pkt: { state: 'UNTRACKED' }, expect: 'match' },
  { name: '! --ctstate NEW for ESTABLISHED', rule: '-m conntrack ! --ctstate NEW', pkt: { state: 'ESTABLISHED' }, expect: 'match' },
  {
    name: 'ctstate DNAT holds in FORWARD after a DNAT in PREROUTING',
    rule: '-m conntrack --ctstate DNAT',
    where: 'filter/FORWARD',
    extra: table('nat', '-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.9:80'),
    pkt: { dport: 8080 },
    expect: 'match',
  },
  { name: 'ctstate DNAT fails for a packet that was not DNATed', rule: '-m conntrack --ctstate DNAT', where: 'filter/FORWARD', extra: table('nat', '-A PREROUTING -p udp -j DNAT --to-destination 198.51.100.10'), pkt: FWD, expect: 'no' },
  { name: 'ctstate SNAT fails before any source NAT', rule: '-m conntrack --ctstate SNAT', where: 'filter/FORWARD', pkt: FWD, expect: 'no' },
  {
    name: 'ctorigdst is the address before DNAT',
    rule: '-m conntrack --ctorigdst 192.0.2.1',
    where: 'filter/FORWARD',
    extra: table('nat', '-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.9:80'),
    pkt: { dport: 8080 },
    expect: 'match',
  },
  {
    name: 'ctorigdstport is the port before DNAT',
    rule: '-m conntrack --ctorigdstport 8080',
    where: 'filter/FORWARD',
    extra: table('nat', '-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.9:80'),
    pkt: { dport: 8080 },
    expect: 'match',
  },
  {
    name: 'ctreplsrc is the DNAT destination',
    rule: '-m conntrack --ctreplsrc 198.51.100.9',
    where: 'filter/FORWARD',
    extra: table('nat', '-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.9:80'),
    pkt: { dport: 8080 },
    expect: 'match',
  },
  { name: 'ctorigsrc', rule: '-m conntrack --ctorigsrc 203.0.113.0/24', expect: 'match' },
  { name: 'ctrepldst is the original source', rule: '-m conntrack --ctrepldst 203.0.113.7', expect: 'match' },
  { name: 'ctorigsrcport', rule: '-m conntrack --ctorigsrcport 40000', expect: 'match' },
  { name: 'ctreplsrcport other port', rule: '-m conntrack --ctreplsrcport 81', expect: 'no' },
  { name: 'ctproto tcp', rule: '-m conntrack --ctproto tcp', expect: 'match' },
  { name: '! --ctproto udp for a tracked TCP packet', rule: '-m conntrack ! --ctproto udp', expect: 'match' },
  { name: 'ctstatus CONFIRMED fails for the first packet (confirmed after INPUT/POSTROUTING)', rule: '-m conntrack --ctstatus CONFIRMED', expect: 'no' },
  { name: '! --ctstatus CONFIRMED holds for the first packet', rule: '-m conntrack ! --ctstatus CONFIRMED', expect: 'match' },
  { name: 'ctstatus ASSURED from the packet description', rule: '-m conntrack --ctstatus ASSURED', pkt: { state: 'ESTABLISHED', ctStatus: ['SEEN_REPLY', 'ASSURED'] }, expect: 'match' },
  { name: 'ctdir ORIGINAL for a NEW packet', rule: '-m conntrack --ctdir ORIGINAL', expect: 'match' },
  { name: 'ctdir REPLY for a NEW packet', rule: '-m conntrack --ctdir REPLY', expect: 'no' },
  { name: 'ctdir of an ESTABLISHED packet is unknown: fork', rule: '-m conntrack --ctdir REPLY', pkt: { state: 'ESTABLISHED' }, expect: 'fork', why: /direction/ },
  { name: 'ctexpire is not simulated: fork', rule: '-m conntrack --ctexpire 10:100', expect: 'fork', why: /ctexpire/ },
  // Checked against the kernel: without a conntrack entry, every conntrack option except --ctstate fails, negated or not.
  { name: 'untracked: ! --ctorigdst does not hold (no conntrack entry)', rule: '-m conntrack ! --ctorigdst 198.51.100.99', pkt: { state: 'UNTRACKED' }, expect: 'no' },
  { name: 'untracked: ! --ctproto udp does not hold', rule: '-m conntrack ! --ctproto udp', pkt: { state: 'UNTRACKED' }, expect: 'no' },
  { name: 'untracked: ! --ctstatus CONFIRMED does not hold', rule: '-m conntrack ! --ctstatus CONFIRMED', pkt: { state: 'UNTRACKED' }, expect: 'no' },
  { name: 'INVALID: ! --ctorigsrcport does not hold', rule: '-m conntrack ! --ctorigsrcport 1', pkt: { state: 'INVALID' }, expect: 'no' },
  { name: 'NOTRACK in raw: later ctstate UNTRACKED holds', rule: '-m conntrack --ctstate UNTRACKED', extra: table('raw', '-A PREROUTING -j NOTRACK'), expect: 'match' },
  // Checked against the kernel: raw runs before conntrack, so packets there have no entry yet (ctstate INVALID) ...
  { name: 'raw PREROUTING: ctstate INVALID (conntrack has not run yet)', rule: '-m conntrack --ctstate INVALID', where: 'raw/PREROUTING', expect: 'match' },
  { name: 'raw PREROUTING: ctstate NEW does not hold yet', rule: '-m conntrack --ctstate NEW', where: 'raw/PREROUTING', expect: 'no' },
  { name: 'raw PREROUTING: state INVALID', rule: '-m state --state INVALID', where: 'raw/PREROUTING', expect: 'match' },
  { name: 'raw OUTPUT: ctstate INVALID for a local packet', rule: '-m conntrack --ctstate INVALID', where: 'raw/OUTPUT', pkt: LOCAL_OUT, expect: 'match' },
  { name: 'mangle PREROUTING: ctstate NEW (after conntrack)', rule: '-m conntrack --ctstate NEW', where: 'mangle/PREROUTING', expect: 'match' },
  // ... except a packet looped back through lo, which keeps the entry it got on output.
  { name: 'raw PREROUTING of a looped-back local packet: ctstate NEW', rule: '-m conntrack --ctstate NEW', where: 'raw/PREROUTING', pkt: { src: '192.0.2.1', dst: '192.0.2.1', local: true }, expect: 'match' },
  { name: 'state NEW', rule: '-m state --state NEW', expect: 'match' },
  { name: 'state ! NEW for ESTABLISHED', rule: '-m state ! --state NEW', pkt: { state: 'ESTABLISHED' }, expect: 'match' },
  { name: 'state RELATED,ESTABLISHED for NEW', rule: '-m state --state RELATED,ESTABLISHED', expect: 'no' },
  { name: 'state UNTRACKED', rule: '-m state --state UNTRACKED', pkt: { state: 'UNTRACKED' }, expect: 'match' },

  // ---- mark / connmark
  { name: 'mark exact', rule: '-m mark --mark 0x4000', pkt: { mark: '0x4000' }, expect: 'match' },
  { name: 'mark exact with another bit set', rule: '-m mark --mark 0x4000', pkt: { mark: '0x4001' }, expect: 'no' },
  { name: 'mark value/mask ignores bits outside the mask', rule: '-m mark --mark 0x4000/0x4000', pkt: { mark: '0x4001' }, expect: 'match' },
  { name: '! mark value/mask', rule: '-m mark ! --mark 0x1/0x1', pkt: { mark: '0x4000' }, expect: 'match' },
  { name: 'mark 0 of an unmarked packet', rule: '-m mark --mark 0x0', expect: 'match' },
  { name: 'connmark value/mask', rule: '-m connmark --mark 0x2/0xff', pkt: { connmark: '0x102' }, expect: 'match' },
  { name: 'connmark other value', rule: '-m connmark --mark 0x3', pkt: { connmark: '0x2' }, expect: 'no' },
  { name: 'untracked: connmark ! --mark does not hold (no conntrack entry; kernel-checked)', rule: '-m connmark ! --mark 0x1', pkt: { state: 'UNTRACKED' }, expect: 'no' },

  // ---- addrtype
  { name: 'addrtype dst LOCAL for the node address', rule: '-m addrtype --dst-type LOCAL', expect: 'match' },
  { name: 'addrtype dst LOCAL for an address of another interface', rule: '-m addrtype --dst-type LOCAL', pkt: { dst: '198.51.100.1' }, expect: 'match' },
  { name: 'addrtype dst LOCAL --limit-iface-in: address of another interface is not local', rule: '-m addrtype --dst-type LOCAL --limit-iface-in', pkt: { dst: '198.51.100.1' }, where: 'mangle/PREROUTING', expect: 'no' },
  { name: 'addrtype dst LOCAL --limit-iface-in: address of the in-interface', rule: '-m addrtype --dst-type LOCAL --limit-iface-in', where: 'mangle/PREROUTING', expect: 'match' },
  { name: 'addrtype dst UNICAST for a forwarded destination', rule: '-m addrtype --dst-type UNICAST', where: 'filter/FORWARD', pkt: FWD, expect: 'match' },
  { name: 'addrtype ! dst LOCAL for a forwarded destination', rule: '-m addrtype ! --dst-type LOCAL', where: 'filter/FORWARD', pkt: FWD, expect: 'match' },
  { name: 'addrtype dst BROADCAST for the subnet broadcast', rule: '-m addrtype --dst-type BROADCAST', pkt: { ...UDP, dst: '192.0.2.255' }, expect: 'match' },
  { name: 'addrtype dst BROADCAST for 255.255.255.255', rule: '-m addrtype --dst-type BROADCAST', where: 'mangle/PREROUTING', pkt: { ...UDP, dst: '255.255.255.255' }, expect: 'match' },
  { name: 'addrtype dst MULTICAST', rule: '-m addrtype --dst-type MULTICAST', where: 'mangle/PREROUTING', pkt: { ...UDP, dst: '224.0.0.251' }, expect: 'match' },
  { name: 'addrtype dst MULTICAST for unicast', rule: '-m addrtype --dst-type MULTICAST', expect: 'no' },
  // Checked against the kernel: addrtype looks at the local table only, so a blackholed address is UNICAST.
  { name: 'addrtype dst BLACKHOLE does not hold for an IPv4 blackhole route', rule: '-m addrtype --dst-type BLACKHOLE', where: 'mangle/PREROUTING', host: BLACKHOLE_HOST, pkt: { dst: '203.0.113.5' }, expect: 'no' },
  { name: 'addrtype dst UNICAST for an IPv4 blackhole route', rule: '-m addrtype --dst-type UNICAST', where: 'mangle/PREROUTING', host: BLACKHOLE_HOST, pkt: { dst: '203.0.113.5' }, expect: 'match' },
  { name: 'addrtype src LOCAL for a locally sent packet', rule: '-m addrtype --src-type LOCAL', where: 'filter/OUTPUT', pkt: LOCAL_OUT, expect: 'match' },
  { name: 'addrtype src LOCAL for an incoming packet', rule: '-m addrtype --src-type LOCAL', expect: 'no' },
  { name: 'addrtype dst LOCAL without a host file: fork', rule: '-m addrtype --dst-type LOCAL', where: 'mangle/PREROUTING', host: null, expect: 'fork', why: /local/ },

  // ---- statistic (probabilities; the traversal tests cover kube-proxy chains)
  { name: 'statistic random 0.25', rule: '-m statistic --mode random --probability 0.25', expect: { p: 0.25 } },
  { name: 'statistic random ! 0.25 holds 3 times in 4', rule: '-m statistic --mode random ! --probability 0.25', expect: { p: 0.75 } },
  // Checked against the kernel: `--every 3` matches one packet in three.
  { name: 'statistic nth --every 3 holds for 1 packet in 3', rule: '-m statistic --mode nth --every 3 --packet 0', expect: { p: 1 / 3 } },
  { name: 'statistic nth --every 2', rule: '-m statistic --mode nth --every 2 --packet 1', expect: { p: 1 / 2 } },

  // ---- iprange
  { name: 'iprange --src-range containing the source', rule: '-m iprange --src-range 203.0.113.1-203.0.113.10', expect: 'match' },
  { name: 'iprange --dst-range not containing the destination', rule: '-m iprange --dst-range 192.0.2.2-192.0.2.9', expect: 'no' },
  { name: 'iprange ! --src-range containing the source', rule: '-m iprange ! --src-range 203.0.113.1-203.0.113.10', expect: 'no' },

  // ---- set (ipset contents from the host file)
  { name: 'set: source in a hash:net', rule: '-m set --match-set ALLOW src', host: IPSETS_HOST, expect: 'match' },
  { name: 'set: destination not in the hash:net', rule: '-m set --match-set ALLOW dst', host: IPSETS_HOST, expect: 'no' },
  { name: 'set: ! source in a hash:net', rule: '-m set ! --match-set ALLOW src', host: IPSETS_HOST, expect: 'no' },
  { name: 'set: hash:ip,port dst,dst with tcp:80', rule: '-m set --match-set SVC dst,dst', host: IPSETS_HOST, expect: 'match' },
  { name: 'set: hash:ip,port dst,dst, UDP to port 80 is not tcp:80', rule: '-m set --match-set SVC dst,dst', host: IPSETS_HOST, pkt: { protocol: 'udp', dport: 80 }, expect: 'no' },
  { name: 'set: hash:ip,port,ip dst,dst,src', rule: '-m set --match-set PAIRS dst,dst,src', host: IPSETS_HOST, expect: 'match' },
  { name: 'set: hash:ip,port,ip with another source', rule: '-m set --match-set PAIRS dst,dst,src', host: IPSETS_HOST, pkt: { src: '203.0.113.8' }, expect: 'no' },
  { name: 'set: a more specific nomatch element excludes the address', rule: '-m set --match-set NETS src', host: IPSETS_HOST, expect: 'no' },
  { name: 'set: the wider element still holds outside the nomatch one', rule: '-m set --match-set NETS src', host: IPSETS_HOST, pkt: { src: '203.0.112.1' }, expect: 'match' },
  { name: 'set: list:set matches through a member set (ALLOW)', rule: '-m set --match-set LIST src', host: IPSETS_HOST, expect: 'match' },
  { name: 'set: ! list:set with the source in a member set', rule: '-m set ! --match-set LIST src', host: IPSETS_HOST, expect: 'no' },
  { name: 'set: list:set, destination in no member set', rule: '-m set --match-set LIST dst', host: IPSETS_HOST, expect: 'no' },
  { name: 'set: list:set holds an inet6 member for an IPv6 packet', rule: '-m set --match-set LIST src', host: { ...HOST6, ipsets: IPSETS_HOST.ipsets! }, family: 'ipv6', expect: 'match' },
  { name: 'set: list:set member of two dimensions needs two flags', rule: '-m set --match-set LIST2 dst', host: IPSETS_HOST, expect: 'no' },
  { name: 'set: list:set member of two dimensions with dst,dst', rule: '-m set --match-set LIST2 dst,dst', host: IPSETS_HOST, expect: 'match' },
  { name: 'set: an inet set never holds an IPv6 packet', rule: '-m set --match-set ALLOW src', host: { ...HOST6, ipsets: IPSETS_HOST.ipsets! }, family: 'ipv6', expect: 'no' },
  { name: 'set: contents not given: fork', rule: '-m set --match-set KUBE-LOAD-BALANCER src', expect: 'fork', why: /KUBE-LOAD-BALANCER/ },

  // ---- owner: only local sockets have an owner
  { name: 'owner --uid-owner of the sending process', rule: '-m owner --uid-owner 1000', where: 'filter/OUTPUT', pkt: { ...LOCAL_OUT, uid: 1000 }, expect: 'match' },
  { name: 'owner --uid-owner range', rule: '-m owner --uid-owner 1000-2000', where: 'filter/OUTPUT', pkt: { ...LOCAL_OUT, uid: 1500 }, expect: 'match' },
  { name: 'owner --uid-owner other uid', rule: '-m owner --uid-owner 0', where: 'filter/OUTPUT', pkt: { ...LOCAL_OUT, uid: 1000 }, expect: 'no' },
  { name: 'owner --gid-owner', rule: '-m owner --gid-owner 100', where: 'filter/OUTPUT', pkt: { ...LOCAL_OUT, gid: 100 }, expect: 'match' },
  { name: 'owner --uid-owner with the uid not given: fork', rule: '-m owner --uid-owner 1000', where: 'filter/OUTPUT', pkt: LOCAL_OUT, expect: 'fork', why: /uid/ },
  { name: 'owner --socket-exists for a local packet', rule: '-m owner --socket-exists', where: 'filter/OUTPUT', pkt: LOCAL_OUT, expect: 'match' },
  // Checked against the kernel: with no socket, xt_owner holds exactly when every option is negated.
  { name: 'owner --uid-owner never holds for a forwarded packet', rule: '-m owner --uid-owner 0', where: 'mangle/POSTROUTING', pkt: FWD, expect: 'no' },
  { name: 'owner ! --uid-owner holds for a forwarded packet', rule: '-m owner ! --uid-owner 0', where: 'mangle/POSTROUTING', pkt: FWD, expect: 'match' },
  { name: 'owner ! --socket-exists holds for a forwarded packet', rule: '-m owner ! --socket-exists', where: 'mangle/POSTROUTING', pkt: FWD, expect: 'match' },

  // ---- physdev, policy, pkttype, rpfilter
  { name: 'physdev --physdev-is-bridged: unknown whether eth0 is a bridge port: fork', rule: '-m physdev --physdev-is-bridged', where: 'filter/FORWARD', pkt: FWD, expect: 'fork', why: /bridge/ },
  { name: 'physdev ! --physdev-is-in: fork', rule: '-m physdev ! --physdev-is-in', expect: 'fork', why: /physdev-is-in|bridge/ },
  { name: 'physdev --physdev-in: fork', rule: '-m physdev --physdev-in veth1', where: 'filter/FORWARD', pkt: FWD, expect: 'fork', why: /physdev-in/ },
  { name: 'policy --pol none holds (no IPsec state)', rule: '-m policy --dir in --pol none', expect: 'match' },
  { name: 'policy --pol ipsec does not hold', rule: '-m policy --dir in --pol ipsec', expect: 'no' },
  { name: 'pkttype unicast for a unicast packet', rule: '-m pkttype --pkt-type unicast', expect: 'match' },
  { name: 'pkttype broadcast for the subnet broadcast', rule: '-m pkttype --pkt-type broadcast', pkt: { ...UDP, dst: '192.0.2.255' }, expect: 'match' },
  { name: 'pkttype multicast for a unicast packet', rule: '-m pkttype --pkt-type multicast', expect: 'no' },
  { name: 'pkttype unicast for a locally sent packet', rule: '-m pkttype --pkt-type unicast', where: 'filter/OUTPUT', pkt: LOCAL_OUT, expect: 'match' },
  // `host` is libxt_pkttype's alias of unicast (iptables-save prints unicast; checked).
  { name: 'pkttype host (alias of unicast) for a locally sent packet', rule: '-m pkttype --pkt-type host', where: 'filter/OUTPUT', pkt: LOCAL_OUT, expect: 'match' },
  { name: 'rpfilter: source routed back out of the in-interface', rule: '-m rpfilter', where: 'raw/PREROUTING', expect: 'match' },
  { name: 'rpfilter: source routed out of another interface', rule: '-m rpfilter', where: 'raw/PREROUTING', pkt: { src: '198.51.100.50' }, expect: 'no' },
  { name: 'rpfilter --loose: any route back will do', rule: '-m rpfilter --loose', where: 'raw/PREROUTING', pkt: { src: '198.51.100.50' }, expect: 'match' },
  { name: 'rpfilter --invert: holds for a spoofed source', rule: '-m rpfilter --invert', where: 'raw/PREROUTING', pkt: { src: '198.51.100.50' }, expect: 'match' },
  // Checked against the kernel: loopback traffic always passes rpfilter.
  { name: 'rpfilter: a looped-back local packet passes', rule: '-m rpfilter', where: 'raw/PREROUTING', pkt: { src: '192.0.2.1', dst: '192.0.2.1', local: true }, expect: 'match' },

  // ---- header fields
  { name: 'length in range', rule: '-m length --length 0:100', pkt: { length: 60 }, expect: 'match' },
  { name: 'length out of range', rule: '-m length --length 101:1500', pkt: { length: 60 }, expect: 'no' },
  { name: 'length not given: fork', rule: '-m length --length 0:100', expect: 'fork', why: /length/ },
  { name: 'tos value', rule: '-m tos --tos 0x10', pkt: { tos: 0x10 }, expect: 'match' },
  { name: 'tos other value', rule: '-m tos --tos 0x08', pkt: { tos: 0x10 }, expect: 'no' },
  { name: 'dscp value (EF = 0x2e)', rule: '-m dscp --dscp 0x2e', pkt: { tos: 0xb8 }, expect: 'match' },
  { name: 'dscp --dscp-class EF', rule: '-m dscp --dscp-class EF', pkt: { tos: 0xb8 }, expect: 'match' },
  { name: 'dscp other value', rule: '-m dscp --dscp 0xa', pkt: { tos: 0xb8 }, expect: 'no' },
  { name: 'ttl --ttl-eq', rule: '-m ttl --ttl-eq 64', expect: 'match' },
  { name: 'ttl ! --ttl-eq', rule: '-m ttl ! --ttl-eq 64', expect: 'no' },
  { name: 'ttl --ttl-lt', rule: '-m ttl --ttl-lt 10', pkt: { ttl: 5 }, expect: 'match' },
  { name: 'ttl --ttl-gt', rule: '-m ttl --ttl-gt 10', pkt: { ttl: 5 }, expect: 'no' },
  { name: 'hl --hl-eq (ipv6)', rule: '-m hl --hl-eq 64', family: 'ipv6', expect: 'match' },
  { name: 'hl --hl-lt (ipv6)', rule: '-m hl --hl-lt 64', family: 'ipv6', expect: 'no' },
  { name: 'ah: a TCP packet has no AH header', rule: '-m ah --ahspi 500', expect: 'no' },
  { name: 'ah: an AH packet\'s SPI is unknown: fork', rule: '-p ah -m ah --ahspi 500', pkt: { protocol: 'ah', sport: undefined, dport: undefined }, expect: 'fork', why: /AH/ },
  { name: 'esp: an ESP packet\'s SPI is unknown: fork', rule: '-p esp -m esp --espspi 500', pkt: { protocol: 'esp', sport: undefined, dport: undefined }, expect: 'fork', why: /ESP/ },
  { name: 'frag: a packet without a fragment header (ipv6)', rule: '-m frag --fragid 5', family: 'ipv6', expect: 'no' },
  { name: 'hbh: no hop-by-hop header (ipv6)', rule: '-m hbh --hbh-len 8', family: 'ipv6', expect: 'no' },
  { name: 'dst: no destination options header (ipv6)', rule: '-m dst --dst-len 8', family: 'ipv6', expect: 'no' },
  { name: 'rt: no routing header (ipv6)', rule: '-m rt --rt-type 0', family: 'ipv6', expect: 'no' },
  { name: 'mh: a TCP packet has no mobility header (ipv6)', rule: '-m mh --mh-type 1', family: 'ipv6', expect: 'no' },

  // ---- undecidable: fork with probability null and an assumption
  { name: 'limit: rate state unknown', rule: '-m limit --limit 3/min', expect: 'fork', why: /limit/ },
  { name: 'hashlimit: rate state unknown', rule: '-m hashlimit --hashlimit-upto 10/sec --hashlimit-mode srcip --hashlimit-name h1', expect: 'fork', why: /hashlimit/ },
  { name: 'recent: list contents unknown', rule: '-m recent --rcheck --seconds 60 --name SSH --rsource', expect: 'fork', why: /recent/ },
  { name: 'connlimit: connection counts unknown', rule: '-m connlimit --connlimit-above 10', expect: 'fork', why: /connlimit/ },
  { name: 'connbytes: byte counts unknown', rule: '-m connbytes --connbytes 10000 --connbytes-dir both --connbytes-mode bytes', expect: 'fork', why: /connbytes/ },
  { name: 'quota: state unknown', rule: '-m quota --quota 1000', expect: 'fork', why: /quota/ },
  { name: 'socket: local sockets unknown', rule: '-m socket --transparent', where: 'mangle/PREROUTING', expect: 'fork', why: /socket/ },
  { name: 'time: time of day unknown', rule: '-m time --timestart 09:00 --timestop 17:00', expect: 'fork', why: /time/ },
  { name: 'cgroup: cgroup of the sender unknown', rule: '-m cgroup --cgroup 1', where: 'filter/OUTPUT', pkt: LOCAL_OUT, expect: 'fork', why: /cgroup/ },
  { name: 'devgroup: device groups unknown', rule: '-m devgroup --src-group 0x1', expect: 'fork', why: /devgroup/ },
  { name: 'helper: conntrack helper unknown', rule: '-m helper --helper ftp', expect: 'fork', why: /helper/ },
  { name: 'mac: source MAC unknown', rule: '-m mac --mac-source 02:00:00:00:00:01', expect: 'fork', why: /mac/ },
  { name: 'string: payload unknown', rule: '-m string --string "GET /" --algo bm', expect: 'fork', why: /string/ },
  { name: 'u32: payload unknown', rule: '-m u32 --u32 "0>>22&0x3C@12>>26&0x3F=0x10"', expect: 'fork', why: /u32/ },
  { name: 'realm: route realm unknown', rule: '-m realm --realm 0x1', where: 'filter/FORWARD', pkt: FWD, expect: 'fork', why: /realm/ },
  { name: 'ecn: ECN bits unknown', rule: '-p tcp -m ecn --ecn-tcp-cwr', expect: 'fork', why: /ecn|ECN/ },
  { name: 'ipvs: IPVS state unknown', rule: '-m ipvs --ipvs', expect: 'fork', why: /IPVS/ },
  { name: 'ipv6header: extension headers unknown (ipv6)', rule: '-m ipv6header --header frag --soft', family: 'ipv6', expect: 'fork', why: /ipv6header|extension/ },
  { name: 'eui64: source MAC unknown (ipv6)', rule: '-m eui64', family: 'ipv6', expect: 'fork', why: /EUI-64/ },
  { name: 'a module unknown to packetpath: fork', rule: '-m foo --bar 1', expect: 'fork', why: /foo/ },
];

for (const row of ROWS) test(row.name, () => check(row));

test('every match module in extensions.ts has a row', () => {
  const used = new Set<string>();
  for (const r of ROWS) for (const m of r.rule.matchAll(/-m (\S+)/g)) used.add(m[1]!);
  const missing = Object.keys(MATCHES).filter((name) => !used.has(name));
  assert.deepEqual(missing, []);
});

test('a rule forks once for two undecidable matches, with both assumptions on the matching branch', () => {
  const r = trace(table('filter', '-A INPUT -m limit --limit 1/sec -m recent --rcheck --name X -j DROP'), PKT);
  assert.equal(r.outcomes.length, 2);
  const dropped = r.outcomes.find((o) => o.verdict === 'DROP')!;
  const accepted = r.outcomes.find((o) => o.verdict === 'ACCEPT')!;
  assert.equal(dropped.p, null);
  assert.equal(accepted.p, null);
  assert.ok(dropped.assumptions.some((a) => /limit/.test(a) && /recent/.test(a)), dropped.assumptions.join('\n'));
  assert.ok(accepted.assumptions.some((a) => /not all of/.test(a)), accepted.assumptions.join('\n'));
});

test('a decided failing match short-circuits an undecidable one: no fork', () => {
  const r = trace(table('filter', '-A INPUT -p udp -m limit --limit 1/sec -j DROP'), PKT);
  assert.equal(r.outcomes.length, 1);
  assert.deepEqual(r.outcomes[0]!.events, ['filter/INPUT#policy:ACCEPT']);
  assert.deepEqual(r.outcomes[0]!.assumptions, []);
});
