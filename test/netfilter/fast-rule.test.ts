// The save parser's fast path (fast-rule.ts) must give exactly what the
// general path gives: the same model, the same diagnostics, the same shared
// objects' values; and it must leave every line it is not sure of to the
// general path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseSaveLines } from '../../src/netfilter/iptables/syntax/parse-save.ts';
import { buildRuleset } from '../../src/netfilter/iptables/syntax/build.ts';
import { newSpecMemo } from '../../src/netfilter/iptables/syntax/rule-spec.ts';
import { newFastRuleState, readFastRule } from '../../src/netfilter/iptables/syntax/fast-rule.ts';
import { MATCHES, matchSpec, TARGETS, targetSpec } from '../../src/netfilter/iptables/syntax/extensions.ts';
import { newRuleLineMemo } from '../../src/netfilter/iptables/syntax/line-memo.ts';
import { parseDump, type Family } from '../../src/netfilter/index.ts';
import { isValidChainName } from '../../src/netfilter/iptables/model.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';

/** The whole parse (drafts built into the model, diagnostics) as JSON, keys in order, bigints spelled out. */
function parsed(text: string, family: Family, generalOnly: boolean, lineMemo?: ReturnType<typeof newRuleLineMemo>, noBlanks = false): string {
  const out = parseSaveLines(text.split('\n'), { family, generalOnly, noBlanks, ...(lineMemo ? { lineMemo } : {}) });
  const diagnostics = [...out.diagnostics];
  const ruleset = buildRuleset(family, out.tables, diagnostics);
  return JSON.stringify({ ruleset, diagnostics }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

const dump = (rules: readonly string[], table = 'nat'): string =>
  [`*${table}`, ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]',
    ':KUBE-SEP-A - [0:0]', ':KUBE-SVC-B - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-SERVICES - [0:0]', ...rules, 'COMMIT', ''].join('\n');

// [rule line, whether the fast path reads it]. Every line must give the same result either way.
const LINES: [string, boolean][] = [
  // the shapes of a kube-proxy dump
  ['-A KUBE-SEP-A -s 10.244.3.223/32 -m comment --comment "monitoring/event-backend:postgres" -j KUBE-MARK-MASQ', true],
  ['-A KUBE-SEP-A -p tcp -m comment --comment "monitoring/event-backend:postgres" -m tcp -j DNAT --to-destination 10.244.3.223:5432', true],
  ['-A KUBE-SEP-A -p udp -m comment --comment "x/y:dns" -m udp -j DNAT --to-destination 10.244.3.223:53', true],
  ['-A KUBE-SVC-B -m comment --comment "a/b:http -> 10.244.1.195:9100" -m statistic --mode random --probability 0.25000000000 -j KUBE-SEP-A', true],
  ['-A KUBE-SVC-B -m comment --comment "a/b -> 10.244.3.182:5432" -j KUBE-SEP-A', true],
  ['-A KUBE-SVC-B ! -s 10.244.0.0/16 -d 10.111.87.169/32 -p tcp -m comment --comment "team-b/ledger-sync:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ', true],
  ['-A KUBE-SERVICES -d 10.100.124.90/32 -p tcp -m comment --comment "logging/event-sync:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-B', true],
  ['-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m comment --comment "a/b has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable', true],
  ['-A KUBE-SERVICES -p tcp -m comment --comment "a/b" -m addrtype --dst-type LOCAL -m tcp --dport 30001 -j REJECT --reject-with icmp-port-unreachable', true],
  ['-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL -j KUBE-SVC-B', true],
  ['-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', true],
  ['-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j MASQUERADE --random-fully', true],
  ['-A KUBE-SVC-B -j MARK --set-xmark 0x4000/0x0', true],
  ['-A KUBE-SVC-B -j RETURN', true],
  ['-A KUBE-SVC-B', true],
  ['[12:345] -A KUBE-SVC-B -s 10.0.0.1 -j KUBE-MARK-MASQ', true],
  ['[0:0] -A KUBE-SVC-B -s 10.0.0.1 -j KUBE-MARK-MASQ', true],
  // values the fast path normalizes exactly as the general path
  ['-A KUBE-SVC-B -s 10.0.0.1 -d 10.1.2.3/8 -j ACCEPT', true],
  ['-A KUBE-SVC-B -s 0.0.0.0/0 -j ACCEPT', true],
  ['-A KUBE-SVC-B ! -d 0.0.0.0/0 -j ACCEPT', true],
  ['-A KUBE-SVC-B -p TCP -m TCP --destination-port 0080 -j ACCEPT', true],
  ['-A KUBE-SVC-B ! -p udp -j ACCEPT', true],
  ['-A KUBE-SVC-B -p all -j ACCEPT', true],
  ['-A KUBE-SVC-B ! -p all -j ACCEPT', true],
  ['-A KUBE-SVC-B -p 6 -m tcp --dport http -j ACCEPT', true],
  ['-A KUBE-SVC-B -m statistic --probability 0.5 --mode random -j ACCEPT', true],
  ['-A KUBE-SVC-B -p tcp -m tcp --tcp-flags SYN,ACK SYN -j ACCEPT', true],
  ['-A KUBE-SVC-B -m comment --comment plain-word -j ACCEPT', true],
  ['-A KUBE-SVC-B -m comment --comment "" -j ACCEPT', true],
  ['-A KUBE-SVC-B -m comment --comment "# not a note // either" -j ACCEPT', true],
  ["-A KUBE-SVC-B -m comment --comment 'single quotes are plain' -j ACCEPT", false],
  ['-A KUBE-SVC-B -m comment --comment "-j DROP" -j ACCEPT', true],
  ['-A KUBE-SVC-B -m comment --comment "a" --comment "b" -j ACCEPT', true],
  ['-A KUBE-SVC-B -j DNAT --to-destination 10.0.0.1', true],
  // shared addresses and targets with options: the same text in another role, with another protocol or negated
  ['-A KUBE-SVC-B -s 10.0.0.9/32 -j ACCEPT', true],
  ['-A KUBE-SVC-B ! -s 10.0.0.9/32 -j ACCEPT', true],
  ['-A KUBE-SVC-B -d 10.0.0.9/32 -j ACCEPT', true],
  ['-A KUBE-SVC-B -s 10.0.0.9 -d 10.0.0.9/32 -j ACCEPT', true],
  ['-A KUBE-SVC-B -s 0.0.0.0/0 -d 0.0.0.0/0 -j ACCEPT', true],
  ['-A KUBE-SVC-B -p tcp -j DNAT --to-destination 10.0.0.1:80', true],
  ['-A KUBE-SVC-B -p udp -j DNAT --to-destination 10.0.0.1:80', true],
  ['-A KUBE-SVC-B -p icmp -j DNAT --to-destination 10.0.0.1:80', false],
  // left to the general path
  ['-A KUBE-SVC-B  -s 10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 10.0.0.1 -j ACCEPT ', false],
  ['-A KUBE-SVC-B\t-s 10.0.0.1 -j ACCEPT', false],
  // spaces in a row, wherever a word starts (the fast path finds them where it reads the word)
  ['-A  KUBE-SVC-B -j ACCEPT', false],
  ['[1:2]  -A KUBE-SVC-B -j ACCEPT', false],
  ['-A KUBE-SVC-B  -j ACCEPT', false],
  ['-A KUBE-SVC-B -s  10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 10.0.0.1  -j ACCEPT', false],
  ['-A KUBE-SVC-B -d  10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p  tcp -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp  -m tcp --dport 80 -j ACCEPT', false],
  ['-A KUBE-SVC-B !  -s 10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -m  comment --comment x -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment  --comment x -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment  x -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment x  -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment "x"  -j ACCEPT', false],
  ['-A KUBE-SVC-B -m statistic --mode random  --probability 0.5 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp -m tcp --dport  80 -j ACCEPT', false],
  ['-A KUBE-SVC-B -j  ACCEPT', false],
  ['-A KUBE-SVC-B -j MARK  --set-xmark 0x4000/0x0', false],
  ['-A KUBE-SVC-B -j MARK --set-xmark  0x4000/0x0', false],
  ['-A KUBE-SVC-B -p tcp -j DNAT --to-destination  10.0.0.1:80', false],
  ['-A KUBE-SVC-B -j KUBE-SEP-A  -j KUBE-SEP-A', false],
  ['-A KUBE-SVC-B -m comment --comment "two  spaces inside quotes" -j ACCEPT', true],
  ['-A KUBE-SVC-B -m comment --comment "a\ttab inside quotes" -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment "a \\" b" -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment "a"b -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment a"b c" -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment "unterminated -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment "!" -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 10.0.0.1 -j ACCEPT # trailing note', false],
  ['-A KUBE-SVC-B -s 10.0.0.1 -j ACCEPT // trailing note', false],
  // a note starts at any word outside quotes (the fast path finds it there, not by a scan of each line)
  ['-A KUBE-SVC-B -j ACCEPT #', false],
  ['-A KUBE-SVC-B -j ACCEPT //', false],
  ['-A KUBE-SVC-B -j #x', false],
  ['-A KUBE-SVC-B -j //x', false],
  ['-A #x -j ACCEPT', false],
  ['-A //x -j ACCEPT', false],
  ['-A KUBE-SVC-B -s #10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -d //10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p #tcp -j ACCEPT', false],
  ['-A KUBE-SVC-B -m #comment --comment x -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment #x -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment //x -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment x #y -j ACCEPT', false],
  ['-A KUBE-SVC-B -m statistic --mode random --probability #1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -j MARK --set-xmark #0x4000/0x0', false],
  ['-A KUBE-SVC-B -p tcp -j DNAT --to-destination //10.0.0.1:80', false],
  ['[1:2] # -A KUBE-SVC-B -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment x#y -j ACCEPT', true],
  ['-A KUBE-SVC-B -m comment --comment a//b -j ACCEPT', true],
  ['-A KUBE-SVC-B -m comment --comment "a # b // c" -j ACCEPT', true],
  // white space other than a space before # or // inside a word starts a note too
  ['-A KUBE-SVC-B -m comment --comment a\u00a0#b -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment a\v//b -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment a\f#b', false],
  ['-A KUBE-SVC-B -m comment --comment a\u3000//b -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment a\u2028#b -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment a\ufeff#b -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment a\u00a0b -j ACCEPT', false],
  ['-A KUBE-SVC-B -m comment --comment "a\u00a0#b" -j ACCEPT', false],
  ['-A KUBE-SVC-B -j KUBE-SEP-A#', true],
  ['-A KUBE-SVC-B -s ! 10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 10.0.0.1,10.0.0.2 -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 010.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 10.0.0.1 -s 10.0.0.2 -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 10.0.0.256 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp -p udp -j ACCEPT', false],
  ['-A KUBE-SVC-B -p nosuch -j ACCEPT', false],
  ['-A KUBE-SVC-B -m tcp --dport 80 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p udp -m tcp --dport 80 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp --dport 80 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp -m tcp ! --dport 80 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp -m tcp --dport ! 80 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp -m tcp --dport 99999 -j ACCEPT', false],
  ['-A KUBE-SVC-B -p tcp -m comment --comment x --dport 80 -m tcp -j ACCEPT', false],
  ['-A KUBE-SVC-B -m mark ! --mark 0x4000/0x4000 -j RETURN', false],
  ['-A KUBE-SVC-B ! -m comment --comment x -j ACCEPT', false],
  ['-A KUBE-SVC-B ! ! -s 10.0.0.1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -s 10.0.0.1 !', false],
  ['-A KUBE-SVC-B -m nosuch --x 1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -m icmp6 --icmpv6-type 1 -j ACCEPT', false],
  ['-A KUBE-SVC-B -m statistic --mode random --probability 1.5 -j ACCEPT', false],
  ['-A KUBE-SVC-B -m multiport --dports 1,2 -j ACCEPT', false],
  ['-A KUBE-SVC-B -j KUBE-SEP-A --foo', false],
  ['-A KUBE-SVC-B -j DNAT --to-destination 10.0.0.1:80', false],
  ['-A KUBE-SVC-B -j ACCEPT -j DROP', false],
  ['-A KUBE-SVC-B -j ACCEPT -m comment --comment x', false],
  ['-A KUBE-SVC-B -j PREROUTING', false],
  ['-A KUBE-SVC-B -j "a b"', false],
  ["-A KUBE-SVC-B -j a'b", false],
  ['-A KUBE-SVC-B -j UNDECLARED', true],
  ['-A KUBE-SVC-B -g KUBE-SEP-A', false],
  ['-A KUBE-SVC-B -i eth0 -j ACCEPT', false],
  ['-A KUBE-SVC-B -c 5 6 -j ACCEPT', false],
  ['-A "KUBE-SVC-B" -j ACCEPT', false],
  ['-A -x -j ACCEPT', true], // read, but the parser checks the chain's name and leaves the line to the general path
  ['-A', false],
  ['--append KUBE-SVC-B -j ACCEPT', false],
  ['-I KUBE-SVC-B 1 -j ACCEPT', false],
  ['[1:x] -A KUBE-SVC-B -j ACCEPT', true], // read, but the parser checks the counters and leaves the line to the general path
  [`-A KUBE-SVC-B -m comment --comment "${'y'.repeat(1100)}" -j ACCEPT`, false],
];

test('the fast path reads the lines it should, and every line gives the general path\'s model and diagnostics', () => {
  const state = newFastRuleState(newSpecMemo(), 'ipv4');
  // As parseDump reads a text without tabs: the fast path does not look for blanks other than spaces.
  const unchecked = newFastRuleState(newSpecMemo(), 'ipv4', false);
  for (const [line, fast] of LINES) {
    const from = line.startsWith('[') ? line.indexOf(' ') + 1 : 0;
    const blanks = /[^\S ]/.test(line);
    assert.equal(readFastRule(line, from, state, 'nat') !== undefined, fast, `fast path for: ${line}`);
    if (!blanks) assert.equal(readFastRule(line, from, unchecked, 'nat') !== undefined, fast, `fast path without the blanks check for: ${line}`);
    for (const table of ['nat', 'filter']) {
      const text = dump([line, line], table);
      const general = parsed(text, 'ipv4', true);
      assert.equal(parsed(text, 'ipv4', false), general, `${table}: ${line}`);
      if (!blanks) assert.equal(parsed(text, 'ipv4', false, undefined, true), general, `no blanks, ${table}: ${line}`);
      assert.equal(parsed(text, 'ipv6', false), parsed(text, 'ipv6', true), `ipv6 ${table}: ${line}`);
    }
  }
});

test('parseDump gives the general path\'s model for texts with and without white space other than spaces, with LF and CRLF line ends', () => {
  const model = (text: string): string => JSON.stringify(parseDump(text, { family: 'ipv4' }).ruleset, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const general = (text: string): string => JSON.stringify(JSON.parse(parsed(text, 'ipv4', true)).ruleset);
  const plain = LINES.map(([l]) => l).filter((l) => !/[^\S ]/.test(l));
  const texts = [dump(LINES.map(([l]) => l)), dump(plain)];
  // one line with one kind of white space each, the rest plain: parseDump must look at every line
  for (const ws of ['\t', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff']) {
    texts.push(dump([...plain, `-A KUBE-SVC-B -m comment --comment a${ws}#b -j ACCEPT`, `-A KUBE-SVC-B -m comment --comment a${ws}//b`]));
  }
  for (const text of texts) {
    assert.equal(model(text), general(text));
    assert.equal(model(text.replaceAll('\n', '\r\n')), general(text));
  }
});

test('all the lines in one dump, and with a line memo, give the general path\'s result', () => {
  const text = dump(LINES.map(([l]) => l));
  assert.equal(parsed(text, 'ipv4', false), parsed(text, 'ipv4', true));
  const memo = newRuleLineMemo('ipv4');
  const first = parsed(text, 'ipv4', false, memo);
  assert.equal(first, parsed(text, 'ipv4', true));
  assert.equal(parsed(text, 'ipv4', false, memo), first);
});

test('a generated kube-proxy dump and the corpus give the general path\'s result', () => {
  const texts = [generateKubeDump({ services: 200, seed: 5 }).text];
  if (corpusAvailable()) {
    for (const dir of ['iptables-save', 'iptables-S']) for (const f of readdirSync(join(CORPUS, dir))) texts.push(readFileSync(join(CORPUS, dir, f), 'utf8'));
  }
  for (const text of texts) {
    for (const family of ['ipv4', 'ipv6'] as const) assert.equal(parsed(text, family, false), parsed(text, family, true));
  }
});

test('rules read by the fast path share their repeated matches', () => {
  const r = parseDump(dump(LINES.slice(0, 2).map(([l]) => l).concat(LINES.slice(0, 2).map(([l]) => l.replace('KUBE-SEP-A', 'KUBE-SVC-B'))))).ruleset;
  const rules = r.tables[0]!.chains.flatMap((c) => c.rules);
  assert.equal(rules.length, 4);
  assert.equal(rules[0]!.matches[1], rules[1]!.matches[1]); // the comment, within a chain
  assert.equal(rules[0]!.matches[1], rules[2]!.matches[1]); // and across chains
  assert.equal(rules[1]!.matches[3], rules[3]!.matches[3]); // -m tcp
  assert.equal(rules[0]!.target, rules[2]!.target); // -j KUBE-MARK-MASQ
});

test('rules read by the fast path share their repeated addresses and targets with options', () => {
  const lines = [
    '-A KUBE-SEP-A -s 10.244.3.223/32 -m comment --comment "a/b:http" -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-A -p tcp -m comment --comment "a/b:http" -m tcp -j DNAT --to-destination 10.244.3.223:80',
    '-A KUBE-SVC-B -s 10.244.3.223/32 -m comment --comment "c/d:http" -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-B -p tcp -m comment --comment "c/d:http" -m tcp -j DNAT --to-destination 10.244.3.223:80',
    '-A KUBE-SVC-B -p udp -m comment --comment "c/d:dns" -m udp -j DNAT --to-destination 10.244.3.223:80',
    '-A KUBE-SERVICES ! -s 10.244.3.223/32 -d 10.244.3.223/32 -j KUBE-SVC-B',
  ];
  const r = parseDump(dump(lines)).ruleset;
  const rule = (chain: string, i: number) => r.tables[0]!.chains.find((c) => c.name === chain)!.rules[i]!;
  assert.equal(rule('KUBE-SEP-A', 0).matches[0], rule('KUBE-SVC-B', 0).matches[0]); // -s, across chains
  assert.equal(rule('KUBE-SEP-A', 1).target, rule('KUBE-SVC-B', 1).target); // the same DNAT after -p tcp: one Target
  assert.notEqual(rule('KUBE-SVC-B', 1).target, rule('KUBE-SVC-B', 2).target); // after -p udp: its own
  assert.deepEqual(rule('KUBE-SVC-B', 1).target, rule('KUBE-SVC-B', 2).target); // with the same value
  const [notSource, dest] = rule('KUBE-SERVICES', 0).matches;
  assert.deepEqual(notSource, { kind: 'source', negated: true, cidr: '10.244.3.223/32' });
  assert.deepEqual(dest, { kind: 'destination', negated: false, cidr: '10.244.3.223/32' });
});

test('a chain declared for an undeclared jump turns an earlier unknown extension of its name into that jump', () => {
  // The model builder resolves targets in the drafts before it declares such chains, then resolves those again.
  const r = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A X -j FOO --bar 1\n-A INPUT -j FOO\n-A X -j BAZ --q\nCOMMIT\n');
  const targets = Object.fromEntries(r.ruleset.tables[0]!.chains.map((c) => [c.name, c.rules.map((x) => x.target)]));
  assert.deepEqual(targets.X, [{ kind: 'jump', chain: 'FOO' }, { kind: 'extension', name: 'BAZ', options: [{ name: 'q', negated: false, args: [], known: false }], known: false }]);
  assert.equal(targets.X![0], targets.INPUT![0]);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code}:${d.line}`), ['assumed-policy:1', 'assumed-policy:1', 'undeclared-chain:5', 'unknown-target:6']);
});

test('chains flushed, deleted or renamed between rule lines: the fast path appends where the general path does', () => {
  const texts = [
    ['*filter', ':INPUT ACCEPT [0:0]', ':X - [0:0]', '-A X -s 10.0.0.1 -j ACCEPT', '-F X', '-X X', '-A X -s 10.0.0.2 -j ACCEPT', '-A X -s 10.0.0.3 -j ACCEPT', 'COMMIT', ''],
    ['*filter', ':INPUT ACCEPT [0:0]', ':X - [0:0]', '-A X -s 10.0.0.1 -j ACCEPT', '-E X Y', '-A X -s 10.0.0.2 -j ACCEPT', '-A Y -s 10.0.0.3 -j ACCEPT', 'COMMIT', ''],
    ['*filter', ':X - [0:0]', '-A X -j ACCEPT', 'COMMIT', '*nat', ':X - [0:0]', '-A X -j ACCEPT', 'COMMIT', '*filter', '-A X -j DROP', 'COMMIT', ''],
    ['*filter', ':XY - [0:0]', ':X - [0:0]', '-A XY -j ACCEPT', '-A X -j ACCEPT', '-A XY -j DROP', '-A X -j DROP', 'COMMIT', ''],
    ['*filter', ':X - [0:0]', ':Y - [0:0]', '-X X', '-A X -j ACCEPT', '-A Y -j ACCEPT', 'COMMIT', ''],
    ['*filter', ':X - [0:0]', ':Z - [0:0]', '-E X Y', '-A X -j ACCEPT', '-A Y -j ACCEPT', '-A Z -j ACCEPT', 'COMMIT', ''],
    ['*filter', ':X - [0:0]', 'COMMIT', '*nat', ':X - [0:0]', '-A X -j ACCEPT', 'COMMIT', '*filter', '-A X -j DROP', 'COMMIT', ''],
  ].map((l) => l.join('\n'));
  for (const text of texts) assert.equal(parsed(text, 'ipv4', false), parsed(text, 'ipv4', true), text);
});

test('declared chains start with the shared empty rule list; commands that change a list in place give it its own', () => {
  const text = [
    '*filter', ':INPUT ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', ':C - [0:0]', ':D - [0:0]', ':E - [0:0]',
    '-I A 1 -j ACCEPT', // insert into a chain without rules
    '-A B -s 10.0.0.1,10.0.0.2 -j DROP', // two rules from one line
    '-A C -j ACCEPT', '-F C', '-A C -j DROP', // flushed, then appended
    '-D D 1', // delete from a chain without rules: an error, nothing changes
    'COMMIT', '',
  ].join('\n');
  const r = parseDump(text);
  const rules = Object.fromEntries(r.ruleset.tables[0]!.chains.map((c) => [c.name, c.rules.map((x) => x.raw)]));
  assert.deepEqual(rules, { INPUT: [], FORWARD: [], OUTPUT: [], A: ['-I A 1 -j ACCEPT'], B: ['-A B -s 10.0.0.1,10.0.0.2 -j DROP', '-A B -s 10.0.0.1,10.0.0.2 -j DROP'], C: ['-A C -j DROP'], D: [], E: [] });
  assert.deepEqual(r.ruleset.tables[0]!.chains.find((c) => c.name === 'B')!.rules.map((x) => x.matches[0]), [
    { kind: 'source', negated: false, cidr: '10.0.0.1/32' }, { kind: 'source', negated: false, cidr: '10.0.0.2/32' },
  ]);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}:${d.line}`), ['bad-rule-position:13']);
  // chains without rules share one frozen empty list; the others have their own, at their exact length
  const chains = r.ruleset.tables[0]!.chains;
  const d = chains.find((c) => c.name === 'D')!.rules;
  assert.ok(Object.isFrozen(d) && chains.find((c) => c.name === 'E')!.rules === d);
  assert.ok(!Object.isFrozen(chains.find((c) => c.name === 'A')!.rules));
  // a fragment (-S style, no table header) merged into a table's chain without rules
  const merged = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\nCOMMIT\n-A X -j ACCEPT\n');
  assert.deepEqual(merged.ruleset.tables[0]!.chains.find((c) => c.name === 'X')!.rules.map((x) => x.raw), ['-A X -j ACCEPT']);
});

test('runs of fast-path rules of one chain, interrupted by lines of the general path, keep the dump\'s order', () => {
  // The fast path adds a chain's rules in a row to its list at once; any other line adds them first.
  const G = '-A X -s 10.0.0.9 -j ACCEPT # general path'; // a trailing note: read by the general path
  const cases: [string[], Record<string, string[]>][] = [
    [['-A X -s 10.0.0.1 -j ACCEPT', '-A X -s 10.0.0.2 -j ACCEPT', G, '-A X -s 10.0.0.3 -j ACCEPT'], { X: ['.1', '.2', '.9', '.3'] }],
    [['-A X -s 10.0.0.1 -j ACCEPT', '-I X 1 -s 10.0.0.2 -j ACCEPT', '-A X -s 10.0.0.3 -j ACCEPT'], { X: ['.2', '.1', '.3'] }],
    [['-A X -s 10.0.0.1 -j ACCEPT', '-A X -s 10.0.0.2 -j ACCEPT', '-D X -s 10.0.0.1 -j ACCEPT', '-A X -s 10.0.0.3 -j ACCEPT'], { X: ['.2', '.3'] }],
    [['-A X -s 10.0.0.1 -j ACCEPT', '-A X -s 10.0.0.2 -j ACCEPT', '-D X 2', '-A X -s 10.0.0.3 -j ACCEPT'], { X: ['.1', '.3'] }],
    [['-A X -s 10.0.0.1 -j ACCEPT', '-F X', '-A X -s 10.0.0.3 -j ACCEPT'], { X: ['.3'] }],
    [['-A X -s 10.0.0.1 -j ACCEPT', '-A Y -s 10.0.0.2 -j X', '-A X -s 10.0.0.3 -j ACCEPT', '-A Y -s 10.0.0.4 -j ACCEPT'], { X: ['.1', '.3'], Y: ['.2', '.4'] }],
    [['-A Y -s 10.0.0.2 -j X', '-X X', '-A X -s 10.0.0.3 -j ACCEPT'], { X: ['.3'], Y: ['.2'] }], // X is referenced: not deleted
    [['-A Y -s 10.0.0.2 -j X', '-A Y -s 10.0.0.4 -j X', '-E X Z', '-A Z -s 10.0.0.3 -j ACCEPT'], { Y: ['.2', '.4'], Z: ['.3'] }],
    [['-A X -s 10.0.0.1 -j ACCEPT', '-A X -s 10.0.0.2 -j ACCEPT', ':Z - [0:0]', ':W ACCEPT [1:2]', '-A X -s 10.0.0.3 -j ACCEPT'], { X: ['.1', '.2', '.3'], W: [], Z: [] }],
    [Array.from({ length: 12 }, (_v, k) => `-A X -s 10.0.0.${k + 1} -j ACCEPT`).concat([G]), { X: [...Array.from({ length: 12 }, (_v, k) => `.${k + 1}`), '.9'] }],
  ];
  for (const [rules, want] of cases) {
    const text = ['*filter', ':INPUT ACCEPT [0:0]', ':X - [0:0]', ':Y - [0:0]', ...rules, 'COMMIT', ''].join('\n');
    assert.equal(parsed(text, 'ipv4', false), parsed(text, 'ipv4', true), text);
    const memo = newRuleLineMemo('ipv4');
    assert.equal(parsed(text, 'ipv4', false, memo), parsed(text, 'ipv4', true), text);
    assert.equal(parsed(text, 'ipv4', false, memo), parsed(text, 'ipv4', true), `again from the memo: ${text}`);
    const chains = parseDump(text).ruleset.tables[0]!.chains;
    for (const [name, sources] of Object.entries(want)) {
      const c = chains.find((x) => x.name === name);
      assert.deepEqual(c?.rules.map((r) => (r.matches[0] as { cidr: string }).cidr.replace(/^10\.0\.0(\.\d+)\/32$/, '$1')), sources, `${name} in ${text}`);
      assert.deepEqual(c.rules.map((r) => r.position), sources.map((_s, k) => k + 1));
    }
  }
});

test('plain chain declarations read without the regex give what the regex gives', () => {
  const decls = [':KUBE-SEP-A - [0:0]', ':A - [0:0]', ':A  - [0:0]', ':A - [0:0] ', ':A\u00a0B - [0:0]', ':A - [1:2]', ':A ACCEPT [0:0]', ':A BAD [0:0]', ':A -', ':A', ': - [0:0]', ':-A - [0:0]'];
  for (const d of decls) {
    const text = ['*filter', ':INPUT ACCEPT [0:0]', d, 'COMMIT', ''].join('\n');
    assert.equal(parsed(text, 'ipv4', false), parsed(text, 'ipv4', true), d);
  }
  const r = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:KUBE-SEP-A - [0:0]\n:B - [3:4]\nCOMMIT\n');
  const chains = Object.fromEntries(r.ruleset.tables[0]!.chains.map((c) => [c.name, c]));
  assert.deepEqual([chains['KUBE-SEP-A']!.policy, chains['KUBE-SEP-A']!.counters, chains['KUBE-SEP-A']!.line], [null, { packets: 0n, bytes: 0n }, 3]);
  assert.deepEqual([chains.B!.policy, chains.B!.counters, chains.B!.line], [null, { packets: 3n, bytes: 4n }, 4]);
});

test('matchSpec and targetSpec give what a lookup of every name gives (names no extension starts with skip the lookup)', () => {
  const inherited = Object.getOwnPropertyNames(Object.prototype);
  const names = [...Object.keys(MATCHES), ...Object.keys(TARGETS), ...inherited, 'KUBE-SEP-ABC', 'KUBE-MARK-MASQ', 'kube', 'Dnat', 'dnat', 'é', 'ÉTAT', '', ' ', '-j', '0', 'z'];
  for (const name of names) {
    const lookup = (table: typeof MATCHES): unknown => (Object.hasOwn(table, name) ? table[name] : inherited.includes(name) ? table[name] : undefined);
    assert.equal(matchSpec(name), lookup(MATCHES), `match ${name}`);
    assert.equal(targetSpec(name), lookup(TARGETS), `target ${name}`);
  }
});

test('isValidChainName: what iptables accepts as a chain or target name, for every character up to U+3000', () => {
  // The rule written out: not empty, not starting with - or !, no blank (as \s) and no quote.
  const accepted = (name: string): boolean => name !== '' && name[0] !== '-' && name[0] !== '!' && !/[\s"']/.test(name);
  for (const name of ['KUBE-SEP-ABC', 'a', '-a', '!a', 'a!', 'a-', '', ' ', 'a b', 'a"b', "a'b", 'a\tb', 'a\u00a0b', 'aé', 'a\u2028', 'a\u007f', 'a~']) {
    assert.equal(isValidChainName(name), accepted(name), JSON.stringify(name));
  }
  for (let c = 0; c < 0x3000; c++) {
    for (const name of ['A' + String.fromCharCode(c), String.fromCharCode(c) + 'B']) assert.equal(isValidChainName(name), accepted(name), JSON.stringify(name));
  }
});

test('a declaration with any character in its name gives what the declaration regex gives', () => {
  const chars = [...Array.from({ length: 0x200 }, (_, c) => c), 0x2028, 0x3000, 0xfeff].map((c) => String.fromCharCode(c)).filter((ch) => ch !== '\n' && ch !== '\r');
  for (const ch of chars) {
    const decl = `:A${ch}B - [0:0]`;
    const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?\s*$/.exec(decl.trim());
    const r = parseDump(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', decl, 'COMMIT', ''].join('\n'));
    const names = r.ruleset.tables[0]!.chains.map((c) => c.name).filter((n) => !['INPUT', 'FORWARD', 'OUTPUT'].includes(n));
    const want = m && m[2] === '-' && isValidChainName(m[1]!) ? [m[1]!] : [];
    assert.deepEqual(names, want, JSON.stringify(decl));
    assert.equal(r.diagnostics.some((d) => d.code === 'bad-chain-declaration'), !m, JSON.stringify(decl));
  }
});

// [lines in a row, pairs of [rule, match index] that must share one match object]: one-option
// modules (comment, dport, ...) repeated in a row, between other options and general-path lines.
const REPEATS: [string[], [number, number][]][] = [
  [['-A KUBE-SEP-A -m comment --comment "a/b:http" -j KUBE-MARK-MASQ', '-A KUBE-SEP-A -m comment --comment "a/b:http" -j ACCEPT'], [[0, 0], [1, 0]]],
  // a comment, then a port, then the same comment again: each option keeps its own last argument
  [['-A KUBE-SEP-A -p tcp -m comment --comment "a/b:http" -m tcp --dport 80 -j ACCEPT', '-A KUBE-SEP-A -p tcp -m comment --comment "a/b:http" -m tcp --dport 80 -j DROP'], [[0, 1], [1, 1], [0, 2], [1, 2]]],
  // the same text as another option's argument, and the same length with other characters
  [['-A KUBE-SEP-A -p tcp -m comment --comment 80 -m tcp --dport 80 -j ACCEPT', '-A KUBE-SEP-A -p tcp -m comment --comment 81 -m tcp --dport 81 -j ACCEPT'], []],
  [['-A KUBE-SEP-A -p tcp -m tcp --dport 80 -j ACCEPT', '-A KUBE-SEP-A -p tcp -m tcp --sport 80 -j ACCEPT', '-A KUBE-SEP-A -p tcp -m tcp --dport 80 -j ACCEPT'], [[0, 1], [2, 1]]],
  // an argument the module refuses is not remembered: the next line reads it again
  [['-A KUBE-SEP-A -p tcp -m tcp --dport 99999 -j ACCEPT', '-A KUBE-SEP-A -p tcp -m tcp --dport 99999 -j ACCEPT', '-A KUBE-SEP-A -p tcp -m tcp --dport 8080 -j ACCEPT'], []],
  // across chains and tables' lines in a row, with the general path's lines between
  [['-A KUBE-SEP-A -m comment --comment "x y" -j ACCEPT', '-A KUBE-SVC-B -m comment --comment "x y" -m foo -j ACCEPT', '-A KUBE-SVC-B -m comment --comment "x y" -j ACCEPT'], [[0, 0], [2, 0]]],
  [['-A KUBE-SEP-A -m comment --comment "x y" -j ACCEPT', '-A KUBE-SEP-A -m comment --comment "x z" -j ACCEPT', '-A KUBE-SEP-A -m comment --comment "x y" -j ACCEPT'], [[0, 0], [2, 0]]],
];

test('one-option modules repeated in a row give the general path\'s model, shared as it shares them', () => {
  for (const [lines, shared] of REPEATS) {
    for (const table of ['nat', 'filter']) {
      const text = dump(lines, table);
      assert.equal(parsed(text, 'ipv4', false), parsed(text, 'ipv4', true), `${table}: ${lines.join(' | ')}`);
      assert.equal(parsed(text, 'ipv4', false, undefined, true), parsed(text, 'ipv4', true), `no blanks, ${table}: ${lines.join(' | ')}`);
    }
    const r = parseDump(dump(lines)).ruleset;
    const rules = r.tables[0]!.chains.flatMap((c) => c.rules).sort((a, b) => a.line - b.line);
    for (let k = 0; k + 1 < shared.length; k += 2) {
      const [[ra, ma], [rb, mb]] = [shared[k]!, shared[k + 1]!];
      assert.equal(rules[ra]!.matches[ma], rules[rb]!.matches[mb], `${lines.join(' | ')}: rule ${ra} match ${ma} and rule ${rb} match ${mb}`);
    }
  }
});
