// Every target extension the parser knows (extensions.ts TARGETS) and the
// built-in verdicts, simulated: what TRACE reports for the rule, what the
// packet looks like afterwards and how the trace ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TARGETS } from '../../src/netfilter/iptables/syntax/extensions.ts';
import type { Family, HostFile, Packet, PacketInput } from '../../src/netfilter/index.ts';
import { HOST, HOST6, PKT, only, table, trace, type CompactOutcome } from '../support/sim.ts';

interface Row {
  readonly name: string;
  readonly dump: string;
  readonly pkt?: Partial<PacketInput>;
  readonly host?: HostFile | null;
  readonly family?: Family;
  readonly verdict?: string;
  readonly disposition?: string;
  readonly events?: readonly string[];
  /** Fields of the final packet (contract JSON view). */
  readonly packet?: Record<string, unknown>;
  /** Fields of the final packet the JSON view leaves out. */
  readonly final?: Partial<Pick<Packet, 'ttl' | 'tos'>>;
  /** The `-A` text of the first rule event, as iptables-save prints it. */
  readonly text?: string;
  /** Something the outcome's assumptions must say; `null`: no assumptions at all. */
  readonly assumption?: RegExp | null;
  /** Something the first rule event's `changes` must say. */
  readonly changes?: RegExp;
}

const PKT6: PacketInput = { src: '2001:db8:ffff::7', dst: '2001:db8:0:1::1', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' };
const FWD: Partial<PacketInput> = { dst: '198.51.100.9' };
const LOCAL_OUT: Partial<PacketInput> = { src: '192.0.2.1', dst: '203.0.113.9', local: true };
const MARKED: Partial<PacketInput> = { mark: '0x4003' };
/** eth1 carries two subnets; the next hop of 203.0.113.0/25 is in the first, the route's prefsrc in the second. */
const TWO_ADDR_HOST: HostFile = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'eth1', addresses: ['198.51.100.1/24', '203.0.113.200/25'] },
    { name: 'eth2', addresses: [] },
  ],
  routes: [
    { dst: 'default', via: '192.0.2.254', dev: 'eth0' },
    { dst: '203.0.113.0/25', via: '198.51.100.254', dev: 'eth1', prefsrc: '203.0.113.200' },
  ],
  forwarding: true,
};

function packetFor(row: Row): PacketInput {
  const merged: Record<string, unknown> = { ...(row.family === 'ipv6' ? PKT6 : PKT), ...row.pkt };
  if (merged['local']) delete merged['inInterface'];
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return merged as unknown as PacketInput;
}

function check(row: Row): void {
  const host = row.host !== undefined ? row.host : row.family === 'ipv6' ? HOST6 : HOST;
  const r = trace(row.dump, packetFor(row), { host, ...(row.family ? { family: row.family } : {}) });
  const o = only(r);
  const raw = r.raw.outcomes[0]!;
  const ctx = JSON.stringify({ events: o.events, packet: o.packet, assumptions: o.assumptions, reason: o.reason }, null, 1);
  if (row.events) assert.deepEqual(o.events, row.events, ctx);
  if (row.verdict) assert.equal(o.verdict, row.verdict, ctx);
  if (row.disposition) assert.equal(o.disposition, row.disposition, ctx);
  for (const [k, v] of Object.entries(row.packet ?? {})) assert.deepEqual(o.packet[k], v, `packet.${k}\n${ctx}`);
  for (const [k, v] of Object.entries(row.final ?? {})) assert.equal(o.final[k as keyof Packet], v, `final.${k}\n${ctx}`);
  const firstRule = raw.events.find((e) => e.kind === 'rule');
  if (row.text !== undefined) assert.equal(firstRule?.text, row.text);
  if (row.changes) assert.ok((firstRule?.changes ?? []).some((c) => row.changes!.test(c)), `changes ${JSON.stringify(firstRule?.changes)} should match ${row.changes}`);
  if (row.assumption === null) assert.deepEqual(o.assumptions, [], ctx);
  else if (row.assumption) assert.ok(o.assumptions.some((a) => row.assumption!.test(a)), `assumptions should mention ${row.assumption}:\n${ctx}`);
}

const mangle = (rules: string | string[]) => table('mangle', rules);
const nat = (rules: string | string[]) => table('nat', rules);
const filter = (rules: string | string[], policies: Record<string, 'ACCEPT' | 'DROP'> = {}) => table('filter', rules, policies);

const ROWS: Row[] = [
  // ---- built-in verdicts
  { name: '-j ACCEPT ends the chain; the packet is delivered', dump: filter('-A INPUT -j ACCEPT', { INPUT: 'DROP' }), verdict: 'ACCEPT', disposition: 'DELIVERED_LOCAL', events: ['filter/INPUT#1:ACCEPT'], assumption: null },
  { name: '-j DROP: verdict DROP, disposition DROPPED', dump: filter('-A INPUT -p tcp -j DROP'), verdict: 'DROP', disposition: 'DROPPED', events: ['filter/INPUT#1:DROP'] },
  { name: '-j QUEUE: verdict QUEUE, fate unknown', dump: filter('-A INPUT -j QUEUE'), verdict: 'QUEUE', disposition: 'UNKNOWN', events: ['filter/INPUT#1:QUEUE'] },
  { name: 'a rule without a target only counts: CONTINUE', dump: filter('-A INPUT -p tcp'), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#policy:ACCEPT'], disposition: 'DELIVERED_LOCAL' },

  // ---- REJECT
  { name: 'REJECT reports DROP; verdict DROP, disposition REJECTED', dump: filter('-A INPUT -p tcp -m tcp --dport 80 -j REJECT'), verdict: 'DROP', disposition: 'REJECTED', events: ['filter/INPUT#1:DROP'], text: '-A INPUT -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable', changes: /icmp-port-unreachable/ },
  { name: 'REJECT --reject-with tcp-reset in FORWARD', dump: filter('-A FORWARD -p tcp -j REJECT --reject-with tcp-reset'), pkt: FWD, verdict: 'DROP', disposition: 'REJECTED', events: ['filter/FORWARD#1:DROP'], changes: /tcp-reset/ },

  // ---- DNAT
  { name: 'DNAT in PREROUTING: new destination, routed and forwarded; TRACE says ACCEPT', dump: nat('-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.9:8080'), verdict: 'ACCEPT', disposition: 'FORWARDED', events: ['nat/PREROUTING#1:ACCEPT', 'nat/POSTROUTING#policy:ACCEPT'], packet: { dst: '198.51.100.9', dport: 8080, src: '203.0.113.7', outInterface: 'eth1' }, changes: /DNAT to 198\.51\.100\.9:8080/, assumption: null },
  { name: 'DNAT without a port keeps the destination port', dump: nat('-A PREROUTING -j DNAT --to-destination 198.51.100.9'), packet: { dst: '198.51.100.9', dport: 80 } },
  // Addresses picked from a range are the kernel's jhash2 choice (checked in test/kernel/cases/targeted.ts).
  { name: 'DNAT to a range: the hashed address, the first port for a port outside the range, and said so', dump: nat('-A PREROUTING -p tcp -j DNAT --to-destination 198.51.100.9-198.51.100.12:8000-8010'), packet: { dst: '198.51.100.12', dport: 8000 }, assumption: /hashes the connection's addresses to pick 198\.51\.100\.12/ },
  { name: 'DNAT to a port range keeps a destination port already inside it', dump: nat('-A PREROUTING -p tcp -j DNAT --to-destination 198.51.100.9:70-90'), packet: { dst: '198.51.100.9', dport: 80 }, assumption: null },
  { name: 'DNAT --random to a port range: the port is a random choice', dump: nat('-A PREROUTING -p tcp -j DNAT --to-destination 198.51.100.9:70-90 --random'), packet: { dport: 70, dportRandomized: true, dportRange: '70-90' }, assumption: /random from 70-90/ },
  { name: 'REDIRECT to a port range keeps a port inside it', dump: nat('-A PREROUTING -p tcp -j REDIRECT --to-ports 79-81'), packet: { dst: '192.0.2.1', dport: 80 }, assumption: null },
  { name: 'DNAT to another local address: delivered locally (nat INPUT runs next)', dump: nat('-A PREROUTING -p tcp -j DNAT --to-destination 198.51.100.1:22'), disposition: 'DELIVERED_LOCAL', events: ['nat/PREROUTING#1:ACCEPT', 'nat/INPUT#policy:ACCEPT'], packet: { dst: '198.51.100.1', dport: 22 } },
  { name: 'DNAT of an IPv6 packet to [addr]:port', family: 'ipv6', dump: nat('-A PREROUTING -p tcp -j DNAT --to-destination [2001:db8:0:2::9]:8080'), disposition: 'FORWARDED', packet: { dst: '2001:db8:0:2::9', dport: 8080, outInterface: 'eth1' } },

  // ---- SNAT / MASQUERADE
  { name: 'SNAT in POSTROUTING rewrites the source', dump: nat('-A POSTROUTING -o eth1 -j SNAT --to-source 198.51.100.1'), pkt: FWD, disposition: 'FORWARDED', events: ['nat/PREROUTING#policy:ACCEPT', 'nat/POSTROUTING#1:ACCEPT'], packet: { src: '198.51.100.1', sport: 40000, dst: '198.51.100.9' } },
  { name: 'SNAT to a range with ports: the hashed address, a random port from the range, and said so', dump: nat('-A POSTROUTING -p tcp -j SNAT --to-source 198.51.100.2-198.51.100.5:1024-2048'), pkt: FWD, packet: { src: '198.51.100.4', sport: 1024, sportRandomized: true, sportRange: '1024-2048' }, assumption: /at random from 1024-2048/ },
  { name: 'SNAT keeps a source port inside the range', dump: nat('-A POSTROUTING -p tcp -j SNAT --to-source 198.51.100.2:40000-40010'), pkt: FWD, packet: { src: '198.51.100.2', sport: 40000 }, assumption: null },
  { name: 'SNAT leaves a source already inside the range as it is', dump: nat('-A POSTROUTING -p tcp -j SNAT --to-source 203.0.113.0-203.0.113.255'), pkt: FWD, packet: { src: '203.0.113.7', sport: 40000 }, assumption: null },
  { name: 'MASQUERADE --to-ports keeps a source port inside the range', dump: nat('-A POSTROUTING -o eth1 -p tcp -j MASQUERADE --to-ports 39990-40010'), pkt: FWD, packet: { sport: 40000 }, assumption: null },
  { name: 'MASQUERADE takes the address of the out-interface', dump: nat('-A POSTROUTING -o eth1 -j MASQUERADE'), pkt: FWD, verdict: 'ACCEPT', disposition: 'FORWARDED', events: ['nat/PREROUTING#policy:ACCEPT', 'nat/POSTROUTING#1:ACCEPT'], packet: { src: '198.51.100.1', outInterface: 'eth1' }, changes: /198\.51\.100\.1.*eth1/ },
  // Checked against the kernel (inet_select_addr): the address in the next hop's subnet, not the route's prefsrc.
  { name: 'MASQUERADE with two addresses picks the one in the next hop\'s subnet', host: TWO_ADDR_HOST, dump: nat('-A POSTROUTING -o eth1 -j MASQUERADE'), pkt: { dst: '203.0.113.9' }, packet: { src: '198.51.100.1', outInterface: 'eth1' } },
  { name: 'MASQUERADE --to-ports sets the source port', dump: nat('-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-2048'), pkt: FWD, packet: { src: '198.51.100.1', sport: 1024 } },
  { name: 'MASQUERADE on the default route uses eth0', dump: nat('-A POSTROUTING -j MASQUERADE'), pkt: { dst: '203.0.113.99' }, packet: { src: '192.0.2.1', outInterface: 'eth0' } },

  // ---- REDIRECT
  { name: 'REDIRECT in PREROUTING: to the in-interface\'s address, delivered locally', dump: nat('-A PREROUTING -p tcp -j REDIRECT --to-ports 3128'), pkt: FWD, verdict: 'ACCEPT', disposition: 'DELIVERED_LOCAL', events: ['nat/PREROUTING#1:ACCEPT', 'nat/INPUT#policy:ACCEPT'], packet: { dst: '192.0.2.1', dport: 3128 } },
  { name: 'REDIRECT in OUTPUT: to 127.0.0.1, looped back', dump: nat('-A OUTPUT -p tcp -j REDIRECT --to-ports 15001'), pkt: LOCAL_OUT, disposition: 'DELIVERED_LOCAL', packet: { dst: '127.0.0.1', dport: 15001, inInterface: 'lo' } },
  // Checked against the kernel: no address on the in-interface -> the packet is dropped, TRACE reports DROP.
  { name: 'REDIRECT on an interface without an address drops the packet', host: TWO_ADDR_HOST, dump: nat('-A PREROUTING -p tcp -j REDIRECT --to-ports 3128'), pkt: { ...FWD, inInterface: 'eth2' }, verdict: 'DROP', disposition: 'DROPPED', events: ['nat/PREROUTING#1:DROP'] },

  // ---- NETMAP
  { name: 'NETMAP in PREROUTING maps the destination network', dump: nat('-A PREROUTING -d 192.0.2.0/24 -j NETMAP --to 198.51.100.0/24'), pkt: { dst: '192.0.2.77' }, disposition: 'FORWARDED', packet: { dst: '198.51.100.77' }, events: ['nat/PREROUTING#1:ACCEPT', 'nat/POSTROUTING#policy:ACCEPT'] },
  { name: 'NETMAP in POSTROUTING maps the source network', dump: nat('-A POSTROUTING -s 203.0.113.0/24 -j NETMAP --to 198.51.100.0/24'), pkt: FWD, packet: { src: '198.51.100.7' } },

  // ---- MARK (every spelling is saved as --set-xmark; results checked against the kernel)
  { name: 'MARK --set-xmark value/mask', dump: mangle('-A PREROUTING -j MARK --set-xmark 0x10/0xf0'), pkt: MARKED, packet: { mark: '0x4013' }, events: ['mangle/PREROUTING#1:CONTINUE', 'mangle/PREROUTING#policy:ACCEPT', 'mangle/INPUT#policy:ACCEPT'], changes: /0x4003 → 0x4013/ },
  { name: 'MARK --set-mark 0x1 (saved as 0x1/0xffffffff)', dump: mangle('-A PREROUTING -j MARK --set-mark 0x1'), pkt: MARKED, text: '-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff', packet: { mark: '0x1' } },
  { name: 'MARK --set-mark 0x1/0xf', dump: mangle('-A PREROUTING -j MARK --set-mark 0x1/0xf'), pkt: MARKED, text: '-A PREROUTING -j MARK --set-xmark 0x1/0xf', packet: { mark: '0x4001' } },
  { name: 'MARK --and-mark 0xff (saved as 0x0/0xffffff00)', dump: mangle('-A PREROUTING -j MARK --and-mark 0xff'), pkt: MARKED, text: '-A PREROUTING -j MARK --set-xmark 0x0/0xffffff00', packet: { mark: '0x3' } },
  { name: 'MARK --or-mark 0x8000 (saved as 0x8000/0x8000)', dump: mangle('-A PREROUTING -j MARK --or-mark 0x8000'), pkt: MARKED, text: '-A PREROUTING -j MARK --set-xmark 0x8000/0x8000', packet: { mark: '0xc003' } },
  { name: 'MARK --xor-mark 0x1 (saved as 0x1/0x0)', dump: mangle('-A PREROUTING -j MARK --xor-mark 0x1'), pkt: MARKED, text: '-A PREROUTING -j MARK --set-xmark 0x1/0x0', packet: { mark: '0x4002' } },
  { name: 'a MARK is seen by a later mark match', dump: mangle(['-A PREROUTING -j MARK --set-xmark 0x4000/0x4000', '-A PREROUTING -m mark --mark 0x4000/0x4000 -j ACCEPT']), events: ['mangle/PREROUTING#1:CONTINUE', 'mangle/PREROUTING#2:ACCEPT', 'mangle/INPUT#policy:ACCEPT'] },

  // ---- CONNMARK (results checked against the kernel)
  { name: 'CONNMARK --save-mark copies the mark', dump: mangle('-A PREROUTING -j CONNMARK --save-mark'), pkt: MARKED, text: '-A PREROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff', packet: { mark: '0x4003', connmark: '0x4003' }, events: ['mangle/PREROUTING#1:CONTINUE', 'mangle/PREROUTING#policy:ACCEPT', 'mangle/INPUT#policy:ACCEPT'] },
  { name: 'CONNMARK --save-mark with nfmask/ctmask', dump: mangle('-A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf0'), pkt: { ...MARKED, connmark: '0x1234' }, packet: { connmark: '0x1207' } },
  { name: 'CONNMARK --restore-mark with nfmask/ctmask', dump: mangle('-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xf --ctmask 0xff'), pkt: { ...MARKED, state: 'ESTABLISHED', connmark: '0x1234' }, packet: { mark: '0x4034' } },
  { name: 'CONNMARK --set-mark 0x5', dump: mangle('-A PREROUTING -j CONNMARK --set-mark 0x5'), pkt: { connmark: '0x1234' }, text: '-A PREROUTING -j CONNMARK --set-xmark 0x5/0xffffffff', packet: { connmark: '0x5' } },
  { name: 'CONNMARK --set-xmark 0x1/0x1', dump: mangle('-A PREROUTING -j CONNMARK --set-xmark 0x1/0x1'), pkt: { connmark: '0x1234' }, packet: { connmark: '0x1235' } },
  { name: 'CONNMARK then -m connmark in a later hook', dump: mangle('-A PREROUTING -j CONNMARK --set-mark 0x7') + filter('-A INPUT -m connmark --mark 0x7 -j DROP'), verdict: 'DROP', events: ['mangle/PREROUTING#1:CONTINUE', 'mangle/PREROUTING#policy:ACCEPT', 'mangle/INPUT#policy:ACCEPT', 'filter/INPUT#1:DROP'] },
  { name: 'CONNMARK on an untracked packet does nothing (no conntrack entry)', dump: mangle('-A PREROUTING -j CONNMARK --save-mark'), pkt: { ...MARKED, state: 'UNTRACKED' }, packet: { connmark: '0x0' } },

  // ---- logging and other non-terminating targets: CONTINUE, the next rule runs
  { name: 'LOG: CONTINUE, then the next rule', dump: filter(['-A INPUT -j LOG --log-prefix "in: "', '-A INPUT -j DROP']), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:DROP'], verdict: 'DROP' },
  { name: 'NFLOG: CONTINUE', dump: filter(['-A INPUT -j NFLOG --nflog-group 5', '-A INPUT -j ACCEPT']), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:ACCEPT'] },
  { name: 'ULOG: CONTINUE', dump: filter(['-A INPUT -j ULOG --ulog-nlgroup 1', '-A INPUT -j ACCEPT']), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:ACCEPT'] },
  { name: 'TRACE: CONTINUE', dump: table('raw', '-A PREROUTING -j TRACE'), events: ['raw/PREROUTING#1:CONTINUE', 'raw/PREROUTING#policy:ACCEPT'], disposition: 'DELIVERED_LOCAL' },
  { name: 'AUDIT: CONTINUE', dump: filter(['-A INPUT -j AUDIT --type drop', '-A INPUT -j DROP']), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:DROP'] },
  { name: 'CHECKSUM: CONTINUE', dump: mangle('-A POSTROUTING -p udp -j CHECKSUM --checksum-fill'), pkt: { ...FWD, protocol: 'udp', dport: 68 }, events: ['mangle/PREROUTING#policy:ACCEPT', 'mangle/FORWARD#policy:ACCEPT', 'mangle/POSTROUTING#1:CONTINUE', 'mangle/POSTROUTING#policy:ACCEPT'] },
  { name: 'TCPMSS: CONTINUE', dump: mangle('-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu'), pkt: FWD, events: ['mangle/PREROUTING#policy:ACCEPT', 'mangle/FORWARD#1:CONTINUE', 'mangle/FORWARD#policy:ACCEPT', 'mangle/POSTROUTING#policy:ACCEPT'], disposition: 'FORWARDED' },
  { name: 'CLASSIFY: CONTINUE', dump: mangle('-A POSTROUTING -j CLASSIFY --set-class 1:10'), pkt: FWD, events: ['mangle/PREROUTING#policy:ACCEPT', 'mangle/FORWARD#policy:ACCEPT', 'mangle/POSTROUTING#1:CONTINUE', 'mangle/POSTROUTING#policy:ACCEPT'] },
  { name: 'SECMARK: CONTINUE', dump: table('security', ['-A INPUT -j SECMARK --selctx system_u:object_r:http_packet_t:s0', '-A INPUT -j ACCEPT']), events: ['security/INPUT#1:CONTINUE', 'security/INPUT#2:ACCEPT'] },
  { name: 'CONNSECMARK: CONTINUE', dump: table('security', ['-A INPUT -j CONNSECMARK --save', '-A INPUT -j ACCEPT']), events: ['security/INPUT#1:CONTINUE', 'security/INPUT#2:ACCEPT'] },
  { name: 'IDLETIMER: CONTINUE', dump: filter(['-A INPUT -j IDLETIMER --timeout 60 --label web', '-A INPUT -j ACCEPT']), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:ACCEPT'] },
  { name: 'TEE: CONTINUE (the original goes on)', dump: mangle('-A PREROUTING -j TEE --gateway 192.0.2.99'), events: ['mangle/PREROUTING#1:CONTINUE', 'mangle/PREROUTING#policy:ACCEPT', 'mangle/INPUT#policy:ACCEPT'], disposition: 'DELIVERED_LOCAL' },
  { name: 'SET --add-set: a later --match-set on the same packet sees the element (set not in the host file)', dump: filter(['-A INPUT -j SET --add-set SEEN src', '-A INPUT -m set --match-set SEEN src -j DROP', '-A INPUT -j ACCEPT']), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:DROP'] },
  { name: 'SET --del-set: a later --match-set on the same packet no longer matches', dump: filter(['-A INPUT -j SET --del-set SEEN src', '-A INPUT -m set --match-set SEEN src -j DROP', '-A INPUT -j ACCEPT']), events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#3:ACCEPT'] },
  { name: 'SET --add-set of another side does not make the source match', dump: filter(['-A INPUT -j SET --add-set SEEN dst', '-A INPUT -m set --match-set SEEN src -j DROP', '-A INPUT -j ACCEPT']), host: { ...HOST, ipsets: 'create SEEN hash:ip family inet hashsize 1024 maxelem 65536\n' }, events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#3:ACCEPT'], assumption: null },
  { name: 'SET --add-set to a list:set adds to its first member set that fits', dump: filter(['-A INPUT -j SET --add-set L src', '-A INPUT -m set --match-set A src -j DROP', '-A INPUT -j ACCEPT']), host: { ...HOST, ipsets: ['create A hash:ip family inet', 'create L list:set size 8', 'add L A'].join('\n') }, events: ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:DROP'], assumption: null },

  // ---- header rewriting
  { name: 'TTL --ttl-set', dump: mangle('-A PREROUTING -j TTL --ttl-set 10'), final: { ttl: 10 }, events: ['mangle/PREROUTING#1:CONTINUE', 'mangle/PREROUTING#policy:ACCEPT', 'mangle/INPUT#policy:ACCEPT'] },
  { name: 'TTL --ttl-dec', dump: mangle('-A PREROUTING -j TTL --ttl-dec 4'), final: { ttl: 60 } },
  { name: 'TTL --ttl-inc', dump: mangle('-A PREROUTING -j TTL --ttl-inc 1'), final: { ttl: 65 } },
  { name: 'HL --hl-set (ipv6)', family: 'ipv6', dump: mangle('-A PREROUTING -j HL --hl-set 5'), final: { ttl: 5 } },
  { name: 'TOS --set-tos value (mask 0xff)', dump: mangle('-A PREROUTING -j TOS --set-tos 0x10'), pkt: { tos: 0x03 }, text: '-A PREROUTING -j TOS --set-tos 0x10/0xff', final: { tos: 0x10 } },
  // iptables-save prints --and-tos 0x3 as --set-tos 0x00/0xfc (checked); the simulator accepts both spellings.
  { name: 'TOS --and-tos', dump: mangle('-A PREROUTING -j TOS --and-tos 0x3'), pkt: { tos: 0x13 }, final: { tos: 0x03 } },
  { name: 'TOS --or-tos', dump: mangle('-A PREROUTING -j TOS --or-tos 0x10'), pkt: { tos: 0x03 }, final: { tos: 0x13 } },
  { name: 'TOS --xor-tos', dump: mangle('-A PREROUTING -j TOS --xor-tos 0x11'), pkt: { tos: 0x13 }, final: { tos: 0x02 } },
  { name: 'DSCP --set-dscp keeps the ECN bits', dump: mangle('-A PREROUTING -j DSCP --set-dscp 0x2e'), pkt: { tos: 0x01 }, final: { tos: 0xb9 } },
  { name: 'DSCP --set-dscp-class EF', dump: mangle('-A PREROUTING -j DSCP --set-dscp-class EF'), final: { tos: 0xb8 } },

  // ---- conntrack targets
  { name: 'NOTRACK: CONTINUE; the packet is UNTRACKED and skips nat', dump: table('raw', '-A PREROUTING -j NOTRACK') + nat('-A PREROUTING -j DNAT --to-destination 198.51.100.9') + filter('-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT'), events: ['raw/PREROUTING#1:CONTINUE', 'raw/PREROUTING#policy:ACCEPT', 'filter/INPUT#1:ACCEPT'], packet: { dst: '192.0.2.1' }, disposition: 'DELIVERED_LOCAL' },
  { name: 'CT --notrack: same as NOTRACK', dump: table('raw', '-A PREROUTING -j CT --notrack') + nat('-A PREROUTING -j DNAT --to-destination 198.51.100.9') + filter('-A INPUT -m state --state UNTRACKED -j ACCEPT'), events: ['raw/PREROUTING#1:CONTINUE', 'raw/PREROUTING#policy:ACCEPT', 'filter/INPUT#1:ACCEPT'] },
  { name: 'CT --zone: CONTINUE, still tracked', dump: table('raw', '-A PREROUTING -j CT --zone 1') + filter('-A INPUT -m conntrack --ctstate NEW -j ACCEPT'), events: ['raw/PREROUTING#1:CONTINUE', 'raw/PREROUTING#policy:ACCEPT', 'filter/INPUT#1:ACCEPT'] },

  // ---- handing the packet elsewhere
  { name: 'NFQUEUE: verdict QUEUE, disposition UNKNOWN, with the queue number', dump: filter('-A INPUT -j NFQUEUE --queue-num 3'), verdict: 'QUEUE', disposition: 'UNKNOWN', events: ['filter/INPUT#1:QUEUE'], assumption: /queue 3/ },
];

for (const row of ROWS) test(row.name, () => check(row));

const TPROXY = mangle('-A PREROUTING -p tcp -j TPROXY --on-port 15001 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1');

test('TPROXY forks: ACCEPT with the tproxy mark if a transparent socket listens, DROP (as the kernel does) if none', () => {
  const r = trace(TPROXY, packetFor({ name: '', dump: TPROXY }), { host: HOST });
  const byVerdict = new Map(r.outcomes.map((o) => [o.verdict, o]));
  assert.equal(r.outcomes.length, 2);
  const accept = byVerdict.get('ACCEPT')!;
  const drop = byVerdict.get('DROP')!;
  assert.deepEqual(accept.events, ['mangle/PREROUTING#1:ACCEPT', 'mangle/INPUT#policy:ACCEPT']);
  assert.equal(accept.packet['mark'], '0x1');
  assert.ok(accept.assumptions.some((a) => /transparent socket listens on port 15001/.test(a)));
  assert.deepEqual(drop.events, ['mangle/PREROUTING#1:DROP']);
  assert.equal(drop.disposition, 'DROPPED');
  assert.ok(drop.assumptions.some((a) => /no transparent socket.*15001.*drops/.test(a)));
  assert.equal(accept.p, null);
  assert.equal(drop.p, null);
});

test('every target in extensions.ts has a row', () => {
  const used = new Set<string>();
  for (const r of [...ROWS, { dump: TPROXY }]) for (const m of r.dump.matchAll(/ -j (\S+)/g)) used.add(m[1]!);
  const missing = Object.keys(TARGETS).filter((name) => !used.has(name));
  assert.deepEqual(missing, []);
});

test('DNAT in OUTPUT: a local packet is rerouted to the new destination and sent', () => {
  const r = only(trace(nat('-A OUTPUT -d 203.0.113.9/32 -p tcp -j DNAT --to-destination 198.51.100.9:8080'), { src: '192.0.2.1', dst: '203.0.113.9', protocol: 'tcp', sport: 40000, dport: 80, local: true }));
  assert.equal(r.disposition, 'SENT');
  assert.deepEqual(r.events, ['nat/OUTPUT#1:ACCEPT', 'nat/POSTROUTING#policy:ACCEPT']);
  assert.equal(r.packet['outInterface'], 'eth1');
  assert.equal(r.packet['dst'], '198.51.100.9');
});

test('REJECT in the trace JSON: the rule event says DROP, the outcome REJECTED', () => {
  const r = trace(filter('-A INPUT -j REJECT --reject-with icmp-host-prohibited'), PKT);
  const o = r.raw.outcomes[0]!;
  assert.equal(o.events[0]!.verdict, 'DROP');
  assert.equal(o.events[0]!.text, '-A INPUT -j REJECT --reject-with icmp-host-prohibited');
  assert.equal(o.verdict, 'DROP');
  assert.equal(o.disposition, 'REJECTED');
});

test('a target packetpath does not know: both the ending and the going-on path, probability unknown', () => {
  // With an option, `-j FOO --x 1` is an unknown target (without one, the parser takes FOO for an undeclared chain).
  const r = trace('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j FROBNICATE --level 3\n-A INPUT -j DROP\nCOMMIT\n', PKT);
  assert.equal(r.outcomes.length, 2);
  const [ends, goesOn] = r.outcomes as [CompactOutcome, CompactOutcome];
  assert.equal(ends.verdict, 'UNKNOWN');
  assert.equal(ends.p, null);
  assert.deepEqual(ends.events, ['filter/INPUT#1:UNKNOWN']);
  assert.match(ends.assumptions.join('\n'), /FROBNICATE is unknown .* ends the traversal/);
  assert.equal(goesOn.verdict, 'DROP');
  assert.equal(goesOn.p, null);
  assert.deepEqual(goesOn.events, ['filter/INPUT#1:CONTINUE', 'filter/INPUT#2:DROP']);
  assert.match(goesOn.assumptions.join('\n'), /FROBNICATE is unknown .* lets the packet continue/);
});
