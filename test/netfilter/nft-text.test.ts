// The nft text parser (`nft list ruleset`, `nft -a`, `nft -f` input) and printer,
// table-driven with inline rulesets; plus every corpus file in ../shared/corpus/nft.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftText, printNftRuleset, type NftParseResult, type NftStmt } from '../../src/netfilter/nftables/index.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';

const lit = (value: string | number) => ({ kind: 'literal', value }) as const;
const payload = (protocol: string, field: string) => ({ kind: 'payload', protocol, field }) as const;
const meta = (key: string) => ({ kind: 'meta', key }) as const;

/** The statements of the only rule of `table inet t { chain c { <rule> } }`. */
function stmtsOf(rule: string): { stmts: readonly NftStmt[]; comment?: string; result: NftParseResult } {
  const result = parseNftText(`table inet t {\n\tchain c {\n\t\t${rule}\n\t}\n}\n`);
  const r = result.ruleset.tables[0]!.chains[0]!.rules[0]!;
  return { stmts: r.stmts, ...(r.comment !== undefined ? { comment: r.comment } : {}), result };
}

const RULES: { rule: string; stmts: unknown[]; comment?: string }[] = [
  { rule: 'tcp dport 22 accept', stmts: [{ kind: 'match', op: 'implicit', left: payload('tcp', 'dport'), right: lit(22) }, { kind: 'verdict', verdict: 'accept' }] },
  { rule: 'ip saddr != 10.0.0.0/8 drop', stmts: [{ kind: 'match', op: '!=', left: payload('ip', 'saddr'), right: { kind: 'prefix', addr: lit('10.0.0.0'), len: 8 } }, { kind: 'verdict', verdict: 'drop' }] },
  { rule: 'tcp dport 1-1024 counter packets 3 bytes 180', stmts: [{ kind: 'match', op: 'implicit', left: payload('tcp', 'dport'), right: { kind: 'range', from: lit(1), to: lit(1024) } }, { kind: 'counter', packets: 3, bytes: 180 }] },
  { rule: 'mark and 0x4000 == 0 return', stmts: [{ kind: 'match', op: '==', left: { kind: 'binop', op: '&', left: meta('mark'), right: lit(0x4000) }, right: lit(0) }, { kind: 'verdict', verdict: 'return' }] },
  { rule: 'mark set mark or 0x4000', stmts: [{ kind: 'mangle', key: meta('mark'), value: { kind: 'binop', op: '|', left: meta('mark'), right: lit(0x4000) } }] },
  { rule: 'iifname "eth0" oifname != "cali*" accept', stmts: [{ kind: 'match', op: 'implicit', left: meta('iifname'), right: lit('"eth0"') }, { kind: 'match', op: '!=', left: meta('oifname'), right: lit('"cali*"') }, { kind: 'verdict', verdict: 'accept' }] },
  { rule: 'ct original ip saddr 192.0.2.1 ct state established,related accept', stmts: [{ kind: 'match', op: 'implicit', left: { kind: 'ct', key: 'saddr', dir: 'original', family: 'ip' }, right: lit('192.0.2.1') }, { kind: 'match', op: 'implicit', left: { kind: 'ct', key: 'state' }, right: { kind: 'flags', values: ['established', 'related'] } }, { kind: 'verdict', verdict: 'accept' }] },
  { rule: 'ct status dnat accept', stmts: [{ kind: 'match', op: 'implicit', left: { kind: 'ct', key: 'status' }, right: lit('dnat') }, { kind: 'verdict', verdict: 'accept' }] },
  { rule: 'fib saddr . iif oif missing drop', stmts: [{ kind: 'match', op: 'implicit', left: { kind: 'fib', result: 'oif', flags: ['saddr', 'iif'] }, right: lit('missing') }, { kind: 'verdict', verdict: 'drop' }] },
  { rule: 'fib daddr . oif type local', stmts: [{ kind: 'match', op: 'implicit', left: { kind: 'fib', result: 'type', flags: ['daddr', 'oif'] }, right: lit('local') }] },
  { rule: 'ip daddr . meta l4proto . th dport vmap @service-ips', stmts: [{ kind: 'vmap', key: { kind: 'concat', items: [payload('ip', 'daddr'), meta('l4proto'), payload('th', 'dport')] }, data: { kind: 'setRef', name: 'service-ips' } }] },
  {
    rule: 'numgen random mod 2 vmap { 0 : goto ep-a , 1 : goto ep-b }',
    stmts: [{ kind: 'vmap', key: { kind: 'numgen', mode: 'random', mod: 2, offset: 0 }, data: { kind: 'set', elements: [{ key: lit(0), data: { kind: 'verdict', verdict: 'goto', target: 'ep-a' } }, { key: lit(1), data: { kind: 'verdict', verdict: 'goto', target: 'ep-b' } }] } }],
  },
  { rule: 'dnat to jhash ip saddr mod 2 seed 0xa map { 0 : 192.0.2.1, 1 : 192.0.2.2 }', stmts: [{ kind: 'nat', type: 'dnat', addr: { kind: 'map', key: { kind: 'hash', fn: 'jhash', expr: payload('ip', 'saddr'), mod: 2, seed: 10, offset: 0 }, data: { kind: 'set', elements: [{ key: lit(0), data: lit('192.0.2.1') }, { key: lit(1), data: lit('192.0.2.2') }] } }, flags: [] }] },
  { rule: 'tcp flags & (fin | syn) == syn', stmts: [{ kind: 'match', op: '==', left: { kind: 'binop', op: '&', left: payload('tcp', 'flags'), right: { kind: 'binop', op: '|', left: lit('fin'), right: lit('syn') } }, right: lit('syn') }] },
  { rule: 'tcp flags syn / syn,ack', stmts: [{ kind: 'match', op: '==', left: { kind: 'binop', op: '&', left: payload('tcp', 'flags'), right: { kind: 'flags', values: ['syn', 'ack'] } }, right: lit('syn') }] },
  { rule: 'tcp flags != syn / fin,syn,rst,ack drop', stmts: [{ kind: 'match', op: '!=', left: { kind: 'binop', op: '&', left: payload('tcp', 'flags'), right: { kind: 'flags', values: ['fin', 'syn', 'rst', 'ack'] } }, right: lit('syn') }, { kind: 'verdict', verdict: 'drop' }] },
  { rule: 'meta l4proto tcp dnat ip to 192.0.2.2:8080', stmts: [{ kind: 'match', op: 'implicit', left: meta('l4proto'), right: lit('tcp') }, { kind: 'nat', type: 'dnat', family: 'ip', addr: lit('192.0.2.2'), port: lit(8080), flags: [] }] },
  { rule: 'dnat ip addr . port to ip daddr . tcp dport map @m', stmts: [{ kind: 'nat', type: 'dnat', family: 'ip', addr: { kind: 'map', key: { kind: 'concat', items: [payload('ip', 'daddr'), payload('tcp', 'dport')] }, data: { kind: 'setRef', name: 'm' } }, typeAddrPort: true, flags: [] }] },
  { rule: 'dnat to [2001:db8::1]:80', stmts: [{ kind: 'nat', type: 'dnat', addr: lit('2001:db8::1'), port: lit(80), flags: [] }] },
  { rule: 'snat to 192.0.2.1-192.0.2.9 fully-random,persistent', stmts: [{ kind: 'nat', type: 'snat', addr: { kind: 'range', from: lit('192.0.2.1'), to: lit('192.0.2.9') }, flags: ['fully-random', 'persistent'] }] },
  { rule: 'masquerade to :1024-65535 random', stmts: [{ kind: 'nat', type: 'masquerade', port: { kind: 'range', from: lit(1024), to: lit(65535) }, flags: ['random'] }] },
  { rule: 'redirect to :8080', stmts: [{ kind: 'nat', type: 'redirect', port: lit(8080), flags: [] }] },
  { rule: 'reject with icmpx type admin-prohibited', stmts: [{ kind: 'reject', type: 'icmpx', code: 'admin-prohibited' }] },
  { rule: 'reject with tcp reset', stmts: [{ kind: 'reject', type: 'tcp reset' }] },
  { rule: 'log prefix "DROP: " level warn flags all limit rate over 10/second burst 5 packets drop', stmts: [{ kind: 'log', props: { prefix: 'DROP: ', level: 'warn', flags: ['all'] } }, { kind: 'limit', rate: 10, per: 'second', burst: 5, over: true }, { kind: 'verdict', verdict: 'drop' }] },
  { rule: 'limit rate 1 mbytes/second quota over 25 mbytes used 1 kbytes', stmts: [{ kind: 'limit', rate: 1, per: 'second', unit: 'mbytes', over: false }, { kind: 'quota', bytes: 25 * 1024 * 1024, used: 1024, over: true }] },
  { rule: 'notrack queue num 3 bypass', stmts: [{ kind: 'notrack' }, { kind: 'queue', num: lit(3), flags: ['bypass'] }] },
  { rule: 'update @aff { ip saddr timeout 3h } add @seen { ip saddr . tcp dport }', stmts: [{ kind: 'setUpdate', op: 'update', set: 'aff', elem: { kind: 'elem', value: payload('ip', 'saddr'), timeout: 10800 } }, { kind: 'setUpdate', op: 'add', set: 'seen', elem: { kind: 'concat', items: [payload('ip', 'saddr'), payload('tcp', 'dport')] } }] },
  { rule: 'tcp dport 21 ct helper set "ftp-standard"', stmts: [{ kind: 'match', op: 'implicit', left: payload('tcp', 'dport'), right: lit(21) }, { kind: 'ctHelper', helper: lit('"ftp-standard"') }] },
  { rule: 'meta l4proto { tcp, udp } flow offload @ft', stmts: [{ kind: 'match', op: 'implicit', left: meta('l4proto'), right: { kind: 'set', elements: [{ key: lit('tcp') }, { key: lit('udp') }] } }, { kind: 'flowOffload', flowtable: 'ft' }] },
  { rule: 'ct mark set meta mark & 0xffff', stmts: [{ kind: 'mangle', key: { kind: 'ct', key: 'mark' }, value: { kind: 'binop', op: '&', left: meta('mark'), right: lit(0xffff) } }] },
  { rule: 'tcp option maxseg size set rt mtu', stmts: [{ kind: 'mangle', key: { kind: 'tcpOption', name: 'maxseg', field: 'size' }, value: { kind: 'rt', key: 'mtu' } }] },
  { rule: '@nh,16,8 0x10 continue', stmts: [{ kind: 'match', op: 'implicit', left: { kind: 'rawPayload', base: 'nh', offset: 16, len: 8 }, right: lit(16) }, { kind: 'verdict', verdict: 'continue' }] },
  { rule: 'meta hour "21:51:23"-"23:51:23" drop', stmts: [{ kind: 'match', op: 'implicit', left: meta('hour'), right: { kind: 'range', from: lit('"21:51:23"'), to: lit('"23:51:23"') } }, { kind: 'verdict', verdict: 'drop' }] },
  { rule: 'counter accept comment "allow all"', stmts: [{ kind: 'counter' }, { kind: 'verdict', verdict: 'accept' }], comment: 'allow all' },
  { rule: 'exthdr frag exists rt type 0 drop', stmts: [{ kind: 'match', op: 'implicit', left: { kind: 'exthdr', name: 'frag' }, right: lit('exists') }, { kind: 'match', op: 'implicit', left: { kind: 'exthdr', name: 'rt', field: 'type' }, right: lit(0) }, { kind: 'verdict', verdict: 'drop' }] },
  { rule: 'ct count over 10 drop', stmts: [{ kind: 'unknown', text: 'ct count over 10 drop' }] },
  { rule: 'ip option ra exists accept', stmts: [{ kind: 'unknown', text: 'ip option ra exists accept' }] },
  { rule: 'tcp dport 80 meter m { ip saddr limit rate 10/second } accept', stmts: [{ kind: 'match', op: 'implicit', left: payload('tcp', 'dport'), right: lit(80) }, { kind: 'unknown', text: 'meter m { ip saddr limit rate 10/second } accept' }] },
];

for (const { rule, stmts, comment } of RULES) {
  test(`rule: ${rule}`, () => {
    const r = stmtsOf(rule);
    assert.deepEqual(r.stmts, stmts);
    assert.equal(r.comment, comment);
    const errors = r.result.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors, []);
    // printing and parsing again keeps the statements
    const again = parseNftText(printNftRuleset(r.result.ruleset));
    assert.deepEqual(again.ruleset.tables[0]!.chains[0]!.rules[0]!.stmts, stmts, printNftRuleset(r.result.ruleset));
  });
}

test('unknown syntax: kept verbatim, with a warning at its line and column', () => {
  const r = stmtsOf('tcp dport 80 meter m { ip saddr limit rate 10/second } accept');
  assert.deepEqual(r.result.diagnostics.map((d) => [d.severity, d.code, d.line, d.column]), [['warning', 'unknown-syntax', 3, 16]]);
});

const DOCS: { name: string; text: string; check: (r: NftParseResult) => void }[] = [
  {
    name: 'nft -a list ruleset: handles, base chain with symbolic priority, devices',
    text: 'table netdev nd { # handle 3\n\tchain in { # handle 1\n\t\ttype filter hook ingress device "eth0" priority filter + 10; policy drop;\n\t\tudp dport 53 accept # handle 4\n\t}\n}\ntable ip nat { # handle 7\n\tchain pre { # handle 2\n\t\ttype nat hook prerouting priority dstnat - 10; policy accept;\n\t}\n}\n',
    check: (r) => {
      const [nd, nat] = r.ruleset.tables;
      assert.equal(nd!.handle, 3);
      assert.equal(nd!.family, 'netdev');
      assert.deepEqual(nd!.chains[0]!.base, { type: 'filter', hook: 'ingress', priority: 10, priorityText: 'filter + 10', policy: 'drop', devices: ['eth0'] });
      assert.equal(nd!.chains[0]!.rules[0]!.handle, 4);
      assert.equal(nd!.chains[0]!.rules[0]!.raw, 'udp dport 53 accept');
      assert.equal(nd!.chains[0]!.rules[0]!.line, 4);
      assert.equal(nat!.chains[0]!.base!.priority, -110);
    },
  },
  {
    name: 'sets and maps: typeof, flags, timeout, elements over several lines with per-element options',
    text: 'table ip t {\n\tset aff {\n\t\ttype ipv4_addr . inet_service\n\t\tflags dynamic,timeout\n\t\ttimeout 3h\n\t\tsize 65535\n\t\telements = { 192.0.2.1 . 80 timeout 1h expires 59m comment "a",\n\t\t\t     192.0.2.2 . 443 counter packets 1 bytes 60 }\n\t}\n\tmap m {\n\t\ttypeof ip daddr . tcp dport : ip daddr . tcp dport\n\t\tflags interval\n\t}\n\tmap v {\n\t\ttype ipv4_addr : verdict\n\t\telements = { 192.0.2.9 comment "x" : goto svc }\n\t}\n\tchain svc {\n\t}\n}\n',
    check: (r) => {
      const [aff, m, v] = r.ruleset.tables[0]!.sets;
      assert.deepEqual(aff!.keyType, ['ipv4_addr', 'inet_service']);
      assert.deepEqual(aff!.flags, ['dynamic', 'timeout']);
      assert.equal(aff!.timeout, 10800);
      assert.equal(aff!.size, 65535);
      assert.deepEqual(aff!.elements[0], { key: { kind: 'concat', items: [lit('192.0.2.1'), lit(80)] }, timeout: 3600, expires: 3540, comment: 'a' });
      assert.deepEqual(aff!.elements[1]!.counter, { packets: 1, bytes: 60 });
      assert.deepEqual(m!.keyTypeof, [payload('ip', 'daddr'), payload('tcp', 'dport')]);
      assert.deepEqual(m!.dataTypeof, [payload('ip', 'daddr'), payload('tcp', 'dport')]);
      assert.equal(v!.kind, 'map');
      assert.deepEqual(v!.elements[0], { key: lit('192.0.2.9'), comment: 'x', data: { kind: 'verdict', verdict: 'goto', target: 'svc' } });
    },
  },
  {
    name: 'objects and flowtables',
    text: 'table inet t {\n\tcounter c { packets 5 bytes 300 }\n\tquota q { over 25 mbytes used 0 bytes }\n\tlimit l { rate 1 kbytes/second }\n\tct helper ftp { type "ftp" protocol tcp; l3proto ip; }\n\tct timeout dns { protocol udp; l3proto ip; policy = { established : 3s, close : 1s }; }\n\tct expectation e { protocol tcp; dport 5432; timeout 1h; size 12; l3proto ip; }\n\tsynproxy s { mss 1460 wscale 7 timestamp sack-perm }\n\tflowtable ft { hook ingress priority filter; devices = { "eth0", "eth1" }; counter; }\n}\n',
    check: (r) => {
      const t = r.ruleset.tables[0]!;
      assert.deepEqual(t.objects.map((o) => [o.type, o.name]), [['counter', 'c'], ['quota', 'q'], ['limit', 'l'], ['ct helper', 'ftp'], ['ct timeout', 'dns'], ['ct expectation', 'e'], ['synproxy', 's']]);
      assert.deepEqual(t.objects[0]!.props, { packets: 5, bytes: 300 });
      assert.deepEqual(t.objects[1]!.props, { bytes: 25 * 1024 * 1024, over: true, used: 0 });
      assert.deepEqual(t.objects[3]!.props, { type: '"ftp"', protocol: 'tcp', l3proto: 'ip' });
      assert.equal(t.objects[4]!.props['policy'], '{ established : 3s, close : 1s }');
      assert.deepEqual(t.objects[6]!.props, { mss: 1460, wscale: 7, timestamp: true, 'sack-perm': true });
      assert.deepEqual(t.flowtables[0], { name: 'ft', line: 9, hook: 'ingress', priority: 0, devices: ['eth0', 'eth1'] });
      assert.deepEqual(r.diagnostics, []);
    },
  },
  {
    name: 'anonymous chain bindings nest rules',
    text: 'table inet t {\n\tchain c {\n\t\ttcp flags syn jump {\n\t\t\tip saddr 192.0.2.1 accept\n\t\t\tdrop\n\t\t}\n\t\tct state vmap { new : jump { counter; }, established : accept }\n\t}\n}\n',
    check: (r) => {
      const rules = r.ruleset.tables[0]!.chains[0]!.rules;
      assert.equal(rules.length, 2);
      const j = rules[0]!.stmts[1]!;
      assert.ok(j.kind === 'verdict' && 'chain' in j && j.chain);
      assert.deepEqual(j.chain.rules.map((x) => x.raw), ['ip saddr 192.0.2.1 accept', 'drop']);
      assert.equal(rules[1]!.position, 2);
      assert.deepEqual(r.diagnostics, []);
    },
  },
  {
    name: 'nft -f commands (knftables): add/insert/flush, define and $var, include is a warning',
    text: 'define PORTS = { 22, 443 }\ninclude "/etc/nft.d/*.nft"\nadd table ip kp { comment "kube" ; }\nadd chain ip kp svc\nadd chain ip kp in { type filter hook input priority 0 ; policy drop ; }\nadd rule ip kp in tcp dport $PORTS accept\ninsert rule ip kp in ct state established accept\nadd set ip kp ips { type ipv4_addr ; comment "ips" ; }\nadd element ip kp ips { 192.0.2.1 }\nadd element ip kp ips { 192.0.2.2, 192.0.2.3 }\nadd rule ip kp svc drop\nflush chain ip kp svc\n',
    check: (r) => {
      const t = r.ruleset.tables[0]!;
      assert.equal(t.comment, 'kube');
      const input = t.chains.find((c) => c.name === 'in')!;
      assert.equal(input.base!.policy, 'drop');
      assert.deepEqual(input.rules.map((x) => [x.position, x.raw]), [[1, 'ct state established accept'], [2, 'tcp dport $PORTS accept']]);
      assert.deepEqual(input.rules[1]!.stmts[0], { kind: 'match', op: 'implicit', left: payload('tcp', 'dport'), right: { kind: 'set', elements: [{ key: lit(22) }, { key: lit(443) }] } });
      assert.equal(t.sets[0]!.elements.length, 3);
      assert.equal(t.chains.find((c) => c.name === 'svc')!.rules.length, 0);
      assert.deepEqual(r.diagnostics.map((d) => [d.severity, d.code, d.line, d.column]), [['warning', 'include-unsupported', 2, 1]]);
    },
  },
  {
    name: 'old syntax (2015): no policy, irregular spacing, snat to a range, reject with icmp type',
    text: 'table ip nat {\n\tchain post {\n\t\t type nat hook postrouting priority 0;\n\t\toif eth0 snat 192.0.2.1-192.0.2.5\n\t\ttcp dport { 5050, 8080} reject with icmp type net-prohibited\n\t}\n}\n',
    check: (r) => {
      const c = r.ruleset.tables[0]!.chains[0]!;
      assert.equal(c.base!.policy, 'accept');
      assert.deepEqual(c.rules[0]!.stmts[1], { kind: 'nat', type: 'snat', addr: { kind: 'range', from: lit('192.0.2.1'), to: lit('192.0.2.5') }, flags: [] });
      assert.deepEqual(c.rules[1]!.stmts[1], { kind: 'reject', type: 'icmp', code: 'net-prohibited' });
      assert.deepEqual(r.diagnostics, []);
    },
  },
  {
    name: 'a comment after a rule (an iptables-nft action nft cannot show) is a warning, a # handle is not',
    text: 'table ip mangle {\n\tchain POSTROUTING {\n\t\toifname "virbr0" udp dport 68 counter packets 0 bytes 0 # CHECKSUM fill\n\t\taccept # handle 5\n\t}\n}\n',
    check: (r) => {
      assert.deepEqual(r.diagnostics.map((d) => [d.code, d.line, d.column]), [['trailing-comment', 3, 59]]);
      assert.equal(r.ruleset.tables[0]!.chains[0]!.rules[1]!.handle, 5);
    },
  },
];

for (const { name, text, check } of DOCS) test(name, () => check(parseNftText(text)));

const BROKEN: { name: string; text: string; at: [number, number] }[] = [
  { name: 'truncated listing (no closing brace)', text: 'table ip t {\n\tchain c {\n\t\taccept\n', at: [4, 1] },
  { name: 'unterminated string', text: 'table ip t {\n\tcomment "oops\n}\n', at: [2, 10] },
  { name: 'a priority name the family does not have', text: 'table netdev t {\n\tchain c {\n\t\ttype filter hook ingress device "lo" priority dstnat; policy accept;\n\t}\n}\n', at: [3, 49] },
  { name: 'garbage line inside a table', text: 'table ip t {\n\tchain c {\n\t}\n....\n}\n', at: [4, 1] },
  { name: 'a shell prompt pasted before the listing', text: '$ nft list ruleset\ntable ip t {\n}\n', at: [1, 1] },
  { name: 'an unknown top-level word', text: 'tabel ip t {\n}\n', at: [1, 1] },
  { name: 'a rule for a table never declared', text: 'add rule ip filter INPUT accept\n', at: [1, 13] },
  { name: 'a stray closing parenthesis (once looped forever)', text: ')\ntable ip t {\n\t]\n\tchain c {\n\t\t) accept\n\t}\n}\n', at: [1, 1] },
  { name: 'a brace left open in a rule', text: 'table ip t {\n\tchain a {\n\t\ttcp dport { 22, 80 accept\n\t}\n\tchain b {\n\t}\n}\n', at: [3, 22] },
  { name: 'undefined variable', text: 'table ip t {\n\tchain c {\n\t\ttcp dport $nope accept\n\t}\n}\n', at: [3, 13] },
];

for (const { name, text, at } of BROKEN) {
  test(`broken input gives an error with line and column: ${name}`, () => {
    const r = parseNftText(text);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.ok(errors.length > 0, 'an error diagnostic');
    assert.deepEqual([errors[0]!.line, errors[0]!.column], at, errors[0]!.message);
  });
}

test('printer: nft list ruleset style, # handle optional', () => {
  const r = parseNftText('table ip t { # handle 9\n\tchain c { # handle 1\n\t\ttype filter hook input priority filter; policy drop;\n\t\tip saddr 192.0.2.0/24 counter packets 0 bytes 0 accept # handle 2\n\t}\n}\n');
  const plain = 'table ip t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tip saddr 192.0.2.0/24 counter packets 0 bytes 0 accept\n\t}\n}\n';
  assert.equal(printNftRuleset(r.ruleset), plain);
  assert.equal(printNftRuleset(r.ruleset, { handles: true }), plain.replace('t {', 't { # handle 9').replace('c {', 'c { # handle 1').replace('accept\n', 'accept # handle 2\n'));
});

test('printer: bare strings as the JSON form gives them are quoted where nft needs it', () => {
  const text = printNftRuleset({
    tables: [{
      family: 'inet', name: 't', sets: [], objects: [], flowtables: [],
      chains: [{ name: 'c', rules: [{ position: 1, raw: '', stmts: [{ kind: 'match', op: '==', left: meta('oifname'), right: lit('cali*') }, { kind: 'match', op: 'implicit', left: meta('iifname'), right: lit('eth0') }] }] }],
    }],
  });
  // nft lists interface names quoted, and equality bare, whichever form they came in
  assert.match(text, /meta oifname "cali\*" meta iifname "eth0"\n/);
  const back = parseNftText(text);
  assert.deepEqual(back.diagnostics, []);
});

// --------------------------------------------------------------- corpus

const corpus = corpusAvailable() ? readdirSync(join(CORPUS, 'nft')).sort() : [];
const manifest = corpusAvailable() ? readFileSync(join(CORPUS, 'MANIFEST.tsv'), 'utf8') : '';

/** What the MANIFEST says nft 1.0.6 did with the file. */
function loads(file: string): boolean | undefined {
  const row = manifest.split('\n').find((l) => l.startsWith(`nft/${file}\t`));
  const m = row ? /Load \(nft 1\.0\.6[^)]*\): (OK|FAILS)/.exec(row) : null;
  return m ? m[1] === 'OK' : undefined;
}

test('corpus: every nft file parses without throwing; those nft 1.0.6 loads give no error diagnostic', { skip: corpus.length === 0 && 'no ../shared corpus' }, () => {
  let clean = 0;
  for (const f of corpus) {
    const text = readFileSync(join(CORPUS, 'nft', f), 'utf8');
    const r = parseNftText(text);
    for (const d of r.diagnostics) assert.ok(d.line >= 1 && d.column >= 1, `${f}: ${JSON.stringify(d)}`);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (loads(f) !== false) assert.deepEqual(errors, [], f);
    if (errors.length === 0) clean++;
    assert.ok(r.ruleset.tables.length > 0 || f.startsWith('calico-issue'), `${f}: some table parsed`);
  }
  assert.ok(clean >= 28, `clean parses: ${clean}/${corpus.length}`);
});

test('corpus: the truncated kube-proxy listing reports where nft does (line 74, column 1) and keeps what precedes it', { skip: corpus.length === 0 && 'no ../shared corpus' }, () => {
  const r = parseNftText(readFileSync(join(CORPUS, 'nft', 'kube-proxy-nftables-real-cluster-nft-a-handles-truncated.txt'), 'utf8'));
  const first = r.diagnostics.find((d) => d.severity === 'error')!;
  assert.deepEqual([first.line, first.column], [74, 1]);
  const t = r.ruleset.tables[0]!;
  assert.ok(t.chains.length >= 4 && t.chains.every((c) => c.handle !== undefined));
});
