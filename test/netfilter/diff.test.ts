import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffRulesets, diffSequences, formatUnifiedDiff, outlineCanonicalText, parseDump } from '../../src/netfilter/index.ts';
import { prepareDump } from '../../src/store/ingest.ts';

const ruleset = (text: string) => parseDump(text).ruleset;

/** Replays `ops` on `a`: kept lines must be equal on both sides, and the script must give back `a` and `b` whole. */
function assertEditScript(a: readonly string[], b: readonly string[], ops: readonly string[]): void {
  const left: string[] = [];
  const right: string[] = [];
  let i = 0;
  let j = 0;
  for (const op of ops) {
    if (op === ' ') {
      assert.equal(a[i], b[j], `kept lines must be equal (${a} → ${b})`);
      left.push(a[i++]!);
      right.push(b[j++]!);
    } else if (op === '-') left.push(a[i++]!);
    else right.push(b[j++]!);
  }
  assert.deepEqual([left, right], [a, b]);
}

test('diffSequences: an edit script that turns a into b', () => {
  const cases: [string[], string[]][] = [
    [[], []],
    [['a'], []],
    [[], ['a']],
    [['a', 'b', 'c'], ['a', 'x', 'c']],
    [['a', 'b', 'c', 'd'], ['b', 'c', 'd', 'e']],
    [['x', 'a', 'b'], ['a', 'b', 'x']],
  ];
  for (const [a, b] of cases) {
    const ops = diffSequences(a, b);
    assertEditScript(a, b, ops);
    const kept = ops.filter((o) => o === ' ').length;
    // minimal: as many kept lines as the longest common subsequence
    const lcs = (x: string[], y: string[]): number => {
      const t = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
      for (let p = 1; p <= x.length; p++) for (let q = 1; q <= y.length; q++) t[p]![q] = x[p - 1] === y[q - 1] ? t[p - 1]![q - 1]! + 1 : Math.max(t[p - 1]![q]!, t[p]![q - 1]!);
      return t[x.length]![y.length]!;
    };
    assert.equal(kept, lcs(a, b));
  }
});

const LEFT = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ONLY-LEFT - [0:0]
-A FORWARD -s 10.0.0.0/8 -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT
-A ONLY-LEFT -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
`;
const RIGHT = `*filter
:INPUT ACCEPT [5:300]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 10.0.0.0/255.0.0.0 -j ACCEPT
-A FORWARD -p tcp --dport 2222 -j ACCEPT
COMMIT
`;

test('diffRulesets: canonical comparison, counters ignored, policies, one-sided tables and chains', () => {
  const d = diffRulesets(ruleset(LEFT), ruleset(RIGHT));
  assert.deepEqual(d.tablesOnlyLeft, ['nat']);
  assert.deepEqual(d.tablesOnlyRight, []);
  const forward = d.chains.find((c) => c.table === 'filter' && c.chain === 'FORWARD')!;
  assert.deepEqual(forward.policy, { left: 'DROP', right: 'ACCEPT' });
  // `10.0.0.0/255.0.0.0` is the same rule as `10.0.0.0/8`: kept, not changed
  assert.deepEqual(
    forward.lines.map((l) => l.op + l.text),
    [' -A FORWARD -s 10.0.0.0/8 -j ACCEPT', '--A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT', '+-A FORWARD -p tcp -m tcp --dport 2222 -j ACCEPT'],
  );
  assert.equal(d.chains.some((c) => c.chain === 'INPUT' && c.table === 'filter'), false, 'INPUT differs only in counters');
  const onlyLeft = d.chains.find((c) => c.chain === 'ONLY-LEFT')!;
  assert.equal(onlyLeft.status, 'onlyLeft');
  assert.equal(onlyLeft.policy, undefined, 'user chains have no policy');
  const pre = d.chains.find((c) => c.table === 'nat' && c.chain === 'PREROUTING')!;
  assert.deepEqual(pre.policy, { left: 'ACCEPT', right: null });
  assert.deepEqual(d.summary, { policiesDiffer: 1, chainsOnlyLeft: 5, chainsOnlyRight: 0, chainsChanged: 1, rulesAdded: 1, rulesRemoved: 3, identical: false });
  assert.equal(diffRulesets(ruleset(LEFT), ruleset(LEFT)).summary.identical, true);
});

test('formatUnifiedDiff: one hunk per chain; one-sided built-ins show their policy', () => {
  const text = formatUnifiedDiff(diffRulesets(ruleset(LEFT), ruleset(RIGHT)), 'master', 'node02');
  assert.equal(
    text,
    [
      '--- master',
      '+++ node02',
      '# table nat only in master',
      '@@ filter FORWARD @@',
      '-:FORWARD DROP',
      '+:FORWARD ACCEPT',
      ' -A FORWARD -s 10.0.0.0/8 -j ACCEPT',
      '--A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT',
      '+-A FORWARD -p tcp -m tcp --dport 2222 -j ACCEPT',
      '@@ filter ONLY-LEFT (only in master) @@',
      '-:ONLY-LEFT -',
      '--A ONLY-LEFT -j DROP',
      '@@ nat PREROUTING (only in master) @@',
      '-:PREROUTING ACCEPT',
      '@@ nat INPUT (only in master) @@',
      '-:INPUT ACCEPT',
      '@@ nat OUTPUT (only in master) @@',
      '-:OUTPUT ACCEPT',
      '@@ nat POSTROUTING (only in master) @@',
      '-:POSTROUTING ACCEPT',
      '--A POSTROUTING -o eth0 -j MASQUERADE',
      '',
    ].join('\n'),
  );
});

test('diffSequences past the minimal-edit bound: still an exact edit script, anchored on unique lines, in linear memory', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let round = 0; round < 200; round++) {
    const a = Array.from({ length: Math.floor(rnd() * 40) }, () => `r${Math.floor(rnd() * 30)}`);
    const b = Array.from({ length: Math.floor(rnd() * 40) }, () => `r${Math.floor(rnd() * 30)}`);
    for (const maxEdits of [0, 3, 10_000]) {
      assertEditScript(a, b, diffSequences(a, b, maxEdits));
    }
  }
  // Two unrelated 20k-line chains with a shared tail of unique lines: the anchors are kept.
  const a = [...Array.from({ length: 20_000 }, (_, i) => `a${i}`), 'x', 'y'];
  const b = [...Array.from({ length: 20_000 }, (_, i) => `b${i}`), 'x', 'z', 'y'];
  const ops = diffSequences(a, b);
  assert.equal(ops.filter((o) => o === ' ').length, 2);
  assert.equal(ops.filter((o) => o === '-').length, 20_000);
  assert.equal(ops.filter((o) => o === '+').length, 20_001);
});

// The outline of every stored canonical text (seeds, corpus) against a parse of it: test/netfilter/diff-steps.test.ts.
test('outlineCanonicalText: undefined for texts that are not canonical; a diff of outlines is the diff of parses', () => {
  // Counters, comments, blank lines, rules of undeclared chains: not a canonical text, so the caller parses.
  for (const other of ['*filter\n:INPUT ACCEPT [1:2]\nCOMMIT\n', '# x\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', '*filter\n:INPUT ACCEPT [0:0]\n-A FOO -j DROP\nCOMMIT\n', '*filter\n:INPUT ACCEPT [0:0]\n', '*filter\n:FOO ACCEPT [0:0]\nCOMMIT\n', '*filter\n:INPUT ACCEPT [0:0]\n[1:2] -A INPUT -j DROP\nCOMMIT\n']) {
    assert.equal(outlineCanonicalText(other), undefined, JSON.stringify(other));
  }
  assert.deepEqual(diffRulesets(outlineCanonicalText(prepareDump(LEFT).canonicalText)!, outlineCanonicalText(prepareDump(RIGHT).canonicalText)!), diffRulesets(ruleset(LEFT), ruleset(RIGHT)));
});
