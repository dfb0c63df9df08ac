// RuleLineMemo: a re-parse that takes unchanged rule lines from the memo gives
// exactly what a parse without it gives (ruleset, diagnostics, canonical text),
// on the seeds and every corpus dump, with random edits between the parses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoSize, newRuleLineMemo, parseDump, renderRuleset } from '../../src/netfilter/index.ts';
import { prepareDump } from '../../src/store/index.ts';
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
        current = edits(current, round * 7 + name.length);
      }
      if (name === 'seed000') assert.ok(memoSize(memo) > 0, 'the memo is used');
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
});
