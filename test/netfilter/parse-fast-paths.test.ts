// The parser's fast paths must give exactly what the general paths give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidr, ipv4Cidr, parsedCidr } from '../../src/netfilter/iptables/syntax/values.ts';
import { tokenizeLine } from '../../src/netfilter/iptables/syntax/lexer.ts';
import { parseDump, renderRuleset } from '../../src/netfilter/index.ts';

// [input, what cidr() returns (value or undefined for an error), whether the fast path takes it]
const CIDRS: [string, string | undefined, boolean][] = [
  ['10.0.0.1', '10.0.0.1/32', true],
  ['10.0.0.1/32', '10.0.0.1/32', true],
  ['10.0.0.1/8', '10.0.0.0/8', true],
  ['10.255.255.255/9', '10.128.0.0/9', true],
  ['10.0.0.0/8', '10.0.0.0/8', true],
  ['0.0.0.0/0', '0.0.0.0/0', true],
  ['1.2.3.4/0', '0.0.0.0/0', true],
  ['255.255.255.255/31', '255.255.255.254/31', true],
  ['255.255.255.255', '255.255.255.255/32', true],
  ['192.168.1.77/24', '192.168.1.0/24', true],
  ['1.2.3.4/08', '1.0.0.0/8', true],
  ['1.2.3.4/00', '0.0.0.0/0', true],
  ['1.2.3.4/032', '1.2.3.4/32', false],
  ['1.2.3.4/33', undefined, false],
  ['1.2.3.4/', undefined, false],
  ['1.2.3.4/-1', undefined, false],
  ['1.2.3.4/8/8', undefined, false],
  ['1.2.3.256', undefined, false],
  ['1.2.3.1000', undefined, false],
  ['1.2.3', '1.2.0.3/32', false],
  ['1.2.3.4.5', undefined, false],
  ['01.2.3.4', '1.2.3.4/32', false],
  ['010.0.0.1', '8.0.0.1/32', false],
  ['0x0a.0.0.1', '10.0.0.1/32', false],
  ['10.0.0.1/255.0.0.0', '10.0.0.0/8', false],
  ['10.0.0.1/255.0.255.0', undefined, false],
  ['localhost', '127.0.0.1/32', false],
  ['anywhere', '0.0.0.0/0', false],
  [' 1.2.3.4', undefined, false],
  ['1.2.3.4 ', undefined, false],
  ['!1.2.3.4', undefined, false],
  ['::1', undefined, false],
  ['', undefined, false],
];

test('the IPv4 cidr fast path agrees with ipaddr.js on tricky spellings', () => {
  for (const [input, expected, fast] of CIDRS) {
    const slow = parsedCidr(input, 'ipv4');
    const full = cidr(input, 'ipv4');
    assert.deepEqual(full, slow, input);
    assert.equal(full.ok ? full.value : undefined, expected, input);
    assert.equal(ipv4Cidr(input) !== undefined, fast, `fast path taken for ${input}`);
    if (fast) assert.equal(ipv4Cidr(input), expected, input);
  }
});

test('the IPv4 cidr fast path agrees with ipaddr.js on every prefix of a few addresses', () => {
  for (const a of ['0.0.0.0', '255.255.255.255', '10.96.0.1', '172.31.250.7', '128.0.0.1', '1.128.64.3']) {
    for (let p = 0; p <= 33; p++) {
      for (const text of [`${a}/${p}`, `${a}/0${p}`]) assert.deepEqual(cidr(text, 'ipv4'), parsedCidr(text, 'ipv4'), text);
    }
  }
});

test('negated and listed addresses go through the same normalization', () => {
  const text = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    '-A INPUT ! -s 10.0.0.1/8 -d 1.2.3.4/32,10.1.1.1/16 -j ACCEPT',
    '-A INPUT -s ! 010.0.0.1 -j DROP',
    '-A INPUT -s 1.2.3.256 -j DROP',
    'COMMIT',
    '',
  ].join('\n');
  const r = parseDump(text);
  assert.equal(
    renderRuleset(r.ruleset),
    [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-A INPUT ! -s 10.0.0.0/8 -d 1.2.3.4/32 -j ACCEPT',
      '-A INPUT ! -s 10.0.0.0/8 -d 10.1.0.0/16 -j ACCEPT',
      '-A INPUT ! -s 8.0.0.1/32 -j DROP',
      '-A INPUT -s 1.2.3.256 -j DROP',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.column, d.code]), [[5, 13, 'bad-address']]);
});

test('the lexer slices plain runs and unescapes quoted parts', () => {
  const cases: [string, string[]][] = [
    ['-A X  -m comment --comment "a b"', ['-A', 'X', '-m', 'comment', '--comment', 'a b']],
    ['a"b c"d', ['ab c', 'd']],
    ['"x\\"y\\\\z"', ['x"y\\z']],
    ['""', ['']],
    ["'a b'", ["'a", "b'"]],
    ['\ta\r\nb', ['a', 'b']],
  ];
  for (const [line, texts] of cases) {
    const r = tokenizeLine(line);
    assert.ok(r.ok, line);
    assert.deepEqual(r.tokens.map((t) => t.text), texts, line);
  }
  assert.deepEqual(tokenizeLine('a "b c').ok ? undefined : tokenizeLine('a "b c'), { ok: false, column: 3, message: 'unterminated quote', tokens: [{ text: 'a', column: 1 }] });
  assert.deepEqual(tokenizeLine('"a\\').ok, false);
  assert.equal(tokenizeLine('x ' + 'y'.repeat(1024)).ok, false);
});

test('rules sharing match text share readonly match objects, and stay equal to unshared ones', () => {
  const rules = ['-A INPUT -p tcp -m comment --comment "same" -m tcp --dport 80 -j ACCEPT', '-A INPUT -p tcp -m comment --comment "same" -m tcp --dport 80 -j DROP'];
  const both = parseDump(`*filter\n:INPUT ACCEPT [0:0]\n${rules.join('\n')}\nCOMMIT\n`).ruleset.tables[0]!.chains[0]!.rules;
  const alone = parseDump(`*filter\n:INPUT ACCEPT [0:0]\n${rules[1]}\nCOMMIT\n`).ruleset.tables[0]!.chains[0]!.rules;
  assert.deepEqual(both[1]!.matches, alone[0]!.matches);
  assert.equal(both[0]!.matches[1], both[1]!.matches[1]);
});

test('every option spec object belongs to one match extension (the per-parse match memo keys on it)', async () => {
  const { MATCHES } = await import('../../src/netfilter/iptables/syntax/extensions.ts');
  const owner = new Map<object, string>();
  for (const spec of Object.values(MATCHES)) {
    for (const o of spec.options) {
      assert.equal(owner.get(o), undefined, `${o.name} is shared by ${owner.get(o)} and ${spec.name}`);
      owner.set(o, spec.name);
    }
  }
});

test('NAT ranges with plain IPv4 addresses print as ipaddr.js would', async () => {
  const { natRange } = await import('../../src/netfilter/iptables/syntax/values.ts');
  const cases: [string, string | undefined][] = [
    ['10.244.3.232:9090', '10.244.3.232:9090'],
    ['10.0.0.1', '10.0.0.1'],
    ['010.0.0.1:80', '8.0.0.1:80'],
    ['10.0.0.1:0080', '10.0.0.1:80'],
    ['10.0.0.1:http', '10.0.0.1:80'],
    ['10.0.0.1-10.0.0.1:80', '10.0.0.1:80'],
    ['10.0.0.1-10.0.0.9:80-90', '10.0.0.1-10.0.0.9:80-90'],
    [':80', ':80'],
    ['10.0.0.256:80', undefined],
    ['1.2.3:80', '1.2.0.3:80'],
  ];
  for (const [input, expected] of cases) {
    const r = natRange(input, 'ipv4');
    assert.equal(r.ok ? r.value : undefined, expected, input);
  }
});

test('the parser vocabulary only changes which string object a token is, never its text', async () => {
  const { tokenizeInto, vocabulary } = await import('../../src/netfilter/iptables/syntax/lexer.ts');
  const words = vocabulary(['-A', '-m', '--comment', 'comment', 'tcp', '--dport', 'A-', '--']);
  for (const line of ['-A X -m comment --comment "a b" -m tcp --dport 80', '-A -AA A- --A -- ---comment tcp"x" "tcp"', '-m\t-m  tcp\r']) {
    const plain = { texts: [] as string[], columns: [] as number[] };
    const withWords = { texts: [] as string[], columns: [] as number[] };
    assert.deepEqual(tokenizeInto(line, withWords, words), tokenizeInto(line, plain));
    assert.deepEqual(withWords, plain, line);
  }
});
