// Issue 14.5: nft tables compared rule by rule, and sets and maps by their
// members (a Service more is one element more, not a changed giant line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffNftRulesets, formatNftUnifiedDiff, nftDonor, parseNftJson, parseNftText, parseNftTextSteps, runSteps } from '../../src/netfilter/index.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';

const nft = (text: string) => {
  const r = parseNftText(text);
  assert.deepEqual(r.diagnostics, []);
  return r.ruleset;
};

const LEFT = `table inet filter {
\tset allowed {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 192.0.2.0/28, 198.51.100.7 }
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t\tip saddr @allowed counter packets 10 bytes 600 accept
\t\ttcp dport 22 accept
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t}
}
table ip old {
\tchain c {
\t}
}
`;
const RIGHT = `table inet filter {
\tset allowed {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 192.0.2.0/28, 203.0.113.9 }
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t\tip saddr @allowed counter packets 99 bytes 9999 accept
\t\ttcp dport 2222 accept
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
\tchain extra {
\t\tdrop
\t}
}
`;

test('diffNftRulesets: rules aligned, base chains, set members, one-sided tables; counters are no difference', () => {
  const d = diffNftRulesets(nft(LEFT), nft(RIGHT));
  assert.deepEqual(d.tablesOnlyLeft, ['ip old']);
  assert.deepEqual(d.tablesOnlyRight, []);
  assert.deepEqual(
    d.chains.map((c) => [c.table, c.chain, c.status, c.added, c.removed, c.base ?? null]),
    [
      ['inet filter', 'input', 'changed', 1, 1, null],
      ['inet filter', 'forward', 'changed', 0, 0, { left: 'type filter hook forward priority 0; policy accept;', right: 'type filter hook forward priority 0; policy drop;' }],
      ['inet filter', 'extra', 'onlyRight', 1, 0, null],
      ['ip old', 'c', 'onlyLeft', 0, 0, null],
    ],
  );
  assert.deepEqual(d.chains[0]!.lines.filter((l) => l.op !== ' ').map((l) => `${l.op}${l.text}`), ['-tcp dport 22 accept', '+tcp dport 2222 accept']);
  assert.deepEqual(d.sets, [{ table: 'inet filter', set: 'allowed', kind: 'set', status: 'changed', added: ['203.0.113.9'], removed: ['198.51.100.7'] }]);
  assert.deepEqual(d.summary, { chainsOnlyLeft: 1, chainsOnlyRight: 1, chainsChanged: 2, rulesAdded: 2, rulesRemoved: 1, setsChanged: 1, elementsAdded: 1, elementsRemoved: 1, identical: false });
  assert.equal(diffNftRulesets(nft(LEFT), nft(LEFT)).summary.identical, true);
  const text = formatNftUnifiedDiff(d, 'a', 'b');
  assert.match(text, /@@ inet filter set allowed @@\n-element 198\.51\.100\.7\n\+element 203\.0\.113\.9\n/);
  assert.match(text, /@@ inet filter chain forward @@\n-type filter hook forward priority 0; policy accept;\n\+type filter hook forward priority 0; policy drop;\n/);
  assert.match(text, /# table ip old only in a/);
});

test('kube-proxy nftables mode: a Service more is map elements and chains more, from the JSON the agent collects', () => {
  const a = parseNftJson(generateKubeNft({ services: 200 }).json);
  const b = parseNftJson(generateKubeNft({ services: 201 }).json);
  assert.deepEqual([a.diagnostics, b.diagnostics], [[], []]);
  const d = diffNftRulesets(a.ruleset, b.ruleset);
  assert.equal(d.summary.identical, false);
  assert.equal(d.summary.chainsChanged, 0, 'no existing chain changed');
  assert.ok(d.summary.chainsOnlyRight >= 2, 'the new Service and endpoint chains');
  assert.ok(d.sets.length >= 1 && d.sets.every((s) => s.status === 'changed' && s.removed.length === 0 && s.added.length >= 1), JSON.stringify(d.sets.map((s) => [s.set, s.added.length, s.removed.length])));
  assert.ok(d.sets.some((s) => s.set === 'service-ips' && s.added.length === 1), 'one element in service-ips');
});

test('a diff over parses sharing statements (one parsed with the other as donor) is the diff of the parses alone', () => {
  const kube = generateKubeNft({ services: 150, endpoints: 3 });
  const grown = generateKubeNft({ services: 151, endpoints: 3 }).text;
  const moved = kube.text.replace(/(dnat to 10\.\d+\.\d+\.\d+:)(\d+)/, (_m, h: string, p: string) => `${h}${Number(p) + 1}`);
  const withPolicy = kube.text.replace(/policy accept;/, 'policy drop;');
  const a = nft(kube.text);
  for (const text of [kube.text, grown, moved, withPolicy]) {
    const shared = runSteps(parseNftTextSteps(text, { donor: nftDonor(a) })).ruleset;
    const alone = nft(text);
    // Unchanged chains are then skipped without printing their rules: the same answer either way.
    assert.deepEqual(diffNftRulesets(a, shared), diffNftRulesets(a, alone));
    assert.deepEqual(diffNftRulesets(shared, a), diffNftRulesets(alone, a));
    assert.equal(formatNftUnifiedDiff(diffNftRulesets(a, shared), 'a', 'b'), formatNftUnifiedDiff(diffNftRulesets(a, alone), 'a', 'b'));
  }
  assert.equal(diffNftRulesets(a, runSteps(parseNftTextSteps(moved, { donor: nftDonor(a) })).ruleset).summary.rulesAdded, 1);
});
