// RuleLineMemo: a re-parse that takes unchanged rule lines from the memo gives
// exactly what a parse without it gives (ruleset, diagnostics, canonical text),
// on the seeds and every corpus dump, with random edits between the parses;
// its chain renderings (ChainTextMemo) give the printer's own text; and the
// counters prepareDump puts in text order are what the store reads from the JSON.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoSize, newChainTextMemo, newRuleLineMemo, parseDump, renderBlocks, renderRuleset, type Match, type Ruleset, type Target } from '../../src/netfilter/index.ts';
import { prepareDump } from '../../src/store/index.ts';
import { countersInTextOrder } from '../../src/store/counters-codec.ts';
import { CORPUS, FIXTURES, corpusAvailable } from '../support/paths.ts';

function edits(text: string, seedValue: number): string {
  let s = seedValue;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines = text.split('\n');
  for (let e = 0; e < 4; e++) {
    const at = Math.floor(rnd() * lines.length);
    const k = rnd();
    if (k < 0.2) lines.splice(at, 1);
    else if (k < 0.4) lines.splice(at, 0, `-A INPUT -s 198.51.100.${Math.floor(rnd() * 250)}/32 -j DROP`);
    else if (k < 0.55) lines.splice(at, 0, '-A INPUT -m nosuchmatch --foo -j ACCEPT'); // a line with a diagnostic
    else if (k < 0.7) lines.splice(at, 0, lines[Math.floor(rnd() * lines.length)]!); // a line repeated elsewhere (another table, maybe)
    else if (k < 0.85) lines[at] = lines[at]!.replace(/^\[\d+:\d+\]/, '[4:400]');
    else lines.splice(at, 0, ...lines.splice(Math.floor(rnd() * lines.length), 3));
  }
  return lines.join('\n');
}

const texts = (): [string, string][] => {
  const out: [string, string][] = [['seed000', readFileSync(join(FIXTURES, 'seeds', 'seed000.save.txt'), 'utf8')]];
  if (corpusAvailable()) for (const dir of ['iptables-save', 'iptables-S']) for (const f of readdirSync(join(CORPUS, dir)).sort()) out.push([`${dir}/${f}`, readFileSync(join(CORPUS, dir, f), 'utf8')]);
  return out;
};

describe('RuleLineMemo', () => {
  it('a memo-assisted parse equals a plain parse, edit after edit', () => {
    for (const [name, text] of texts()) {
      const family = parseDump(text).ruleset.family;
      const memo = newRuleLineMemo(family);
      let current = text;
      for (let round = 0; round < 6; round++) {
        const plain = parseDump(current, { family });
        const memoed = parseDump(current, { family, lineMemo: memo });
        assert.deepEqual(memoed, plain, `${name} round ${round}`);
        assert.equal(renderRuleset(memoed.ruleset), renderRuleset(plain.ruleset));
        const a = prepareDump(current, { family, lineMemo: memo });
        const b = prepareDump(current, { family });
        assert.deepEqual({ ...a, originalText: '' }, { ...b, originalText: '' }, `${name} round ${round} (prepareDump)`);
        if (a.countersInTextOrder) assert.deepEqual(a.countersInTextOrder, countersInTextOrder(a.canonicalText, a.countersJson!), `${name} round ${round} (counters in text order)`);
        current = edits(current, round * 7 + name.length);
      }
      if (name === 'seed000') assert.ok(memoSize(memo) > 0, 'the memo is used');
      if (name === 'seed000') assert.ok(memo.chains.byChain.size > 0, 'chain renderings are kept');
    }
  });

  it('bounded: at most twice `max` lines, the ones in use kept', () => {
    const rules = Array.from({ length: 40 }, (_, i) => `-A INPUT -s 192.0.2.${i}/32 -j DROP`);
    const text = (rs: string[]) => `*filter\n:INPUT ACCEPT [0:0]\n${rs.join('\n')}\nCOMMIT\n`;
    const memo = newRuleLineMemo('ipv4', 10);
    parseDump(text(rules), { family: 'ipv4', lineMemo: memo });
    assert.ok(memoSize(memo) <= 20, `${memoSize(memo)} lines kept`);
    const last = rules.slice(-3);
    parseDump(text(last), { family: 'ipv4', lineMemo: memo });
    assert.deepEqual(parseDump(text(last), { family: 'ipv4', lineMemo: memo }), parseDump(text(last), { family: 'ipv4' }));
  });

  it('a memo of the other family is not used', () => {
    const memo = newRuleLineMemo('ipv6');
    parseDump('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.1/32 -j DROP\nCOMMIT\n', { family: 'ipv4', lineMemo: memo });
    assert.equal(memoSize(memo), 0);
  });

  it('a chain printed before is taken from the chain memo only when its rules would print the same', () => {
    const m1: readonly Match[] = [{ kind: 'source', negated: false, cidr: '192.0.2.1/32' } as unknown as Match];
    const m2: readonly Match[] = [{ kind: 'protocol', negated: false, protocol: 'tcp' } as unknown as Match];
    const dnat = (port: number): Target => ({ kind: 'extension', name: 'DNAT', options: [{ name: 'to-destination', negated: false, args: [`198.51.100.1:${port}`] }] as never, known: true });
    const ruleset = (targets: (Target | null)[], matches: readonly (readonly Match[])[] = targets.map(() => m1), chain = 'X'): Ruleset => ({
      family: 'ipv4',
      tables: [{ name: 'nat', chains: [{ name: chain, builtin: false, policy: null, rules: targets.map((target, i) => ({ position: i + 1, line: i + 3, raw: '', matches: matches[i]!, target })) }] }],
    });
    const same = dnat(80);
    const cases: [string, Ruleset][] = [
      ['first', ruleset([same, { kind: 'verdict', verdict: 'ACCEPT' }])],
      ['unchanged (memo)', ruleset([same, { kind: 'verdict', verdict: 'ACCEPT' }])],
      ['another verdict', ruleset([same, { kind: 'verdict', verdict: 'DROP' }])],
      ['DNAT options changed', ruleset([dnat(81), { kind: 'verdict', verdict: 'DROP' }])],
      ['jump, not goto', ruleset([{ kind: 'jump', chain: 'Y' }, { kind: 'verdict', verdict: 'DROP' }])],
      ['goto', ruleset([{ kind: 'goto', chain: 'Y' }, { kind: 'verdict', verdict: 'DROP' }])],
      ['no target', ruleset([{ kind: 'goto', chain: 'Y' }, null])],
      ['other matches', ruleset([{ kind: 'goto', chain: 'Y' }, null], [m1, m2])],
      ['a rule more', ruleset([{ kind: 'goto', chain: 'Y' }, null, null], [m1, m2, m2])],
      ['a rule less', ruleset([{ kind: 'goto', chain: 'Y' }], [m1])],
      ['another chain, same rules', ruleset([{ kind: 'goto', chain: 'Y' }], [m1], 'Z')],
    ];
    const memo = newChainTextMemo(100);
    let reused = 0;
    for (const [name, r] of cases) {
      const before = memo.byChain.get(`nat ${r.tables[0]!.chains[0]!.name}`);
      const blocks = [...renderBlocks(r, { counters: false, chainCounters: false, chainMemo: memo })];
      const text = blocks.map((b) => b.text).join('\n') + '\n';
      assert.equal(text, renderRuleset(r, { counters: false, chainCounters: false }), name);
      const rules = blocks.find((b) => b.kind === 'rules')!;
      assert.deepEqual(rules.lines, rules.text.split('\n'), `${name}: lines`);
      if (memo.byChain.get(`nat ${r.tables[0]!.chains[0]!.name}`) === before) reused++;
    }
    assert.equal(reused, 1, 'only the unchanged chain is taken from the memo');
  });

  it('the chain memo holds at most `max` rules', () => {
    const memo = newChainTextMemo(3);
    const text = (chains: number) => `*filter\n${Array.from({ length: chains }, (_, i) => `:C${i} - [0:0]`).join('\n')}\n${Array.from({ length: chains }, (_, i) => `-A C${i} -s 192.0.2.${i}/32 -j DROP`).join('\n')}\nCOMMIT\n`;
    const parsed = parseDump(text(5), { family: 'ipv4' }).ruleset;
    const rendered = [...renderBlocks(parsed, { counters: false, chainCounters: false, chainMemo: memo })].map((b) => b.text).join('\n') + '\n';
    assert.equal(rendered, renderRuleset(parsed, { counters: false, chainCounters: false }));
    assert.ok(memo.rules <= 3 && memo.byChain.size <= 3, `${memo.rules} rules kept`);
  });

  it('counters in text order are left to the JSON when names would not read back in place', () => {
    const dump = (chain: string) => `*filter\n:INPUT ACCEPT [1:2]\n:${chain} - [0:0]\n[3:4] -A INPUT -j ${chain}\n[5:6] -A ${chain} -j DROP\nCOMMIT\n`;
    const plain = prepareDump(dump('KUBE-X'), { family: 'ipv4' });
    assert.ok(plain.countersInTextOrder?.includes('5:6'));
    assert.deepEqual(plain.countersInTextOrder, countersInTextOrder(plain.canonicalText, plain.countersJson!));
    for (const name of ['123', '__proto__']) {
      const p = prepareDump(dump(name), { family: 'ipv4' });
      assert.equal(p.countersInTextOrder, undefined, name);
    }
    // A table without chains after the last counter: the JSON does not line up with the text, so the store keeps it as JSON.
    const chainless = prepareDump(`${dump('KUBE-X')}*raw\nCOMMIT\n`, { family: 'ipv4' });
    assert.equal(countersInTextOrder(chainless.canonicalText, chainless.countersJson!) === null, chainless.countersInTextOrder === undefined);
  });
});
