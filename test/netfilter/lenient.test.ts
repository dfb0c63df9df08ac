import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDump, findChain, findTable, renderRuleset } from '../../src/netfilter/index.ts';

const codes = (text: string, strict = false) =>
  parseDump(text, { strict }).diagnostics.map((d) => `${d.line}:${d.severity}:${d.code}`);

const LENIENT: { name: string; text: string; expect: string[] }[] = [
  {
    name: 'missing COMMIT between tables (seed 000)',
    text: '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n',
    expect: ['6:warning:missing-commit'],
  },
  {
    name: 'missing COMMIT at the end',
    text: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n',
    expect: ['6:warning:missing-commit'],
  },
  {
    name: 'chain used but never declared',
    text: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n',
    expect: ['5:warning:undeclared-chain'],
  },
  {
    name: 'chain with rules but no declaration',
    text: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A KUBE-FIREWALL -j DROP\nCOMMIT\n',
    expect: ['5:warning:undeclared-chain'],
  },
  {
    name: 'interleaved # comments and shell prompts (seed 001)',
    text: '[root@node01 ~]# iptables-save -t nat\n# 通过 PREROUTING 链\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n$ echo done\n',
    expect: ['1:warning:shell-prompt', '3:warning:undeclared-chain', '4:warning:shell-prompt'],
  },
  {
    name: 'trailing // notes (seed 003)',
    text: '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j DNAT --to-destination 192.0.2.1:80  // 还差 tcp\nCOMMIT\n',
    expect: ['6:warning:trailing-note'],
  },
  {
    name: 'prose around the dump',
    text: 'Here is my dump:\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\nthanks!\n',
    expect: ['1:warning:not-a-rule', '7:warning:not-a-rule'],
  },
  {
    name: 'iptables-nft legacy warning line',
    text: '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n',
    expect: ['1:info:legacy-tables-present'],
  },
];

for (const c of LENIENT) {
  test(`lenient: ${c.name}`, () => {
    const r = parseDump(c.text);
    assert.deepEqual(codes(c.text).filter((x) => !x.includes('assumed-policy')), c.expect);
    assert.equal(r.ok, true, 'lenient mode loads it');
    const strict = parseDump(c.text, { strict: true });
    if (c.expect.some((x) => x.includes('warning'))) assert.equal(strict.ok, false, 'strict mode rejects it');
  });
}

test('lenient: a fragment takes its table from a `-t` hint in a prompt', () => {
  const r = parseDump('# iptables -t mangle -S\n-P PREROUTING ACCEPT\n-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff\n');
  assert.equal(r.format, 'iptables-S');
  assert.deepEqual(r.ruleset.tables.map((t) => t.name), ['mangle']);
});

test('lenient: -S fragment tables are inferred and each inference is stated', () => {
  const r = parseDump('-P FORWARD DROP\n-N KUBE-FORWARD\n-A FORWARD -j KUBE-FORWARD\n-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT\n-N KUBE-SEP-X\n-A KUBE-SEP-X -p tcp -j DNAT --to-destination 192.0.2.9:80\n');
  assert.deepEqual(r.ruleset.tables.map((t) => t.name).sort(), ['filter', 'nat']);
  assert.equal(findChain(findTable(r.ruleset, 'filter'), 'FORWARD')!.policy, 'DROP');
  const inferred = r.diagnostics.filter((d) => d.code === 'inferred-table').map((d) => d.message);
  assert.equal(inferred.length, 2);
  assert.ok(inferred.some((m) => m.includes('KUBE-SEP-X') && m.includes('"nat"') && m.includes('DNAT')));
});

const BAD: { name: string; text: string; code: string; line: number; column?: number }[] = [
  { name: 'unterminated quote', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "oops -j ACCEPT\nCOMMIT\n', code: 'bad-quote', line: 3, column: 31 },
  { name: 'unknown table', text: '*bogus\n:INPUT ACCEPT [0:0]\nCOMMIT\n', code: 'unknown-table', line: 1 },
  { name: 'bad port', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n', code: 'bad-value', line: 3 },
  { name: 'bad address', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 300.1.1.1 -j ACCEPT\nCOMMIT\n', code: 'bad-address', line: 3 },
  { name: 'tcp option without -p tcp', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT --dport 22 -j ACCEPT\nCOMMIT\n', code: 'unknown-option', line: 3 },
  { name: 'tcp match on udp', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m tcp --dport 53 -j ACCEPT\nCOMMIT\n', code: 'protocol-mismatch', line: 3 },
  { name: 'missing -j argument', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j\nCOMMIT\n', code: 'missing-argument', line: 3 },
  { name: 'bad policy', text: '*filter\n:INPUT MAYBE [0:0]\nCOMMIT\n', code: 'bad-policy', line: 2 },
  { name: 'binary garbage', text: '\u0000\u0001\u0002\u00ff\u00fe garbage \u0007\n\u0000', code: 'binary-input', line: 1 },
  { name: 'nft ruleset', text: 'table ip filter {\n  chain input {\n  }\n}\n', code: 'unsupported-format', line: 1 },
];

for (const c of BAD) {
  test(`bad input gives a located error, never a throw: ${c.name}`, () => {
    const r = parseDump(c.text);
    assert.equal(r.ok, false);
    const d = r.diagnostics.find((x) => x.code === c.code);
    assert.ok(d, `expected ${c.code}, got ${JSON.stringify(r.diagnostics)}`);
    assert.equal(d.severity, 'error');
    assert.equal(d.line, c.line);
    if (c.column !== undefined) assert.equal(d.column, c.column);
  });
}

test('bad input: a 10 MB single line neither throws nor hangs', () => {
  const line = '-A INPUT ' + '-s 192.0.2.1 '.repeat(800_000);
  assert.ok(line.length > 10_000_000);
  const r = parseDump(`*filter\n:INPUT ACCEPT [0:0]\n${line}\nCOMMIT\n`);
  assert.ok(r.diagnostics.length > 0);
  assert.equal(r.diagnostics[0]!.line > 0, true);
});

test('bad input: a 10 MB single token is refused like iptables-restore refuses it', () => {
  const r = parseDump(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment ${'x'.repeat(10_000_000)} -j ACCEPT\nCOMMIT\n`);
  const d = r.diagnostics.find((x) => x.code === 'bad-quote');
  assert.ok(d && d.line === 3 && d.message.includes('too long'));
});

test('bad input: random bytes never throw', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = '*:-AIDNPXFj!"\\ \n\t[]0123456789abcdef/.,KUBE-SVC tcp udp -m --dport -s -d COMMIT filter nat';
  for (let n = 0; n < 300; n++) {
    let s = '';
    const len = Math.floor(rnd() * 400);
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    assert.doesNotThrow(() => {
      const r = parseDump(s);
      renderRuleset(r.ruleset);
    }, s);
  }
});
