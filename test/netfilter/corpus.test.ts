// Every file of ../shared/corpus parses without an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDump, renderRuleset, rulesetStats } from '../../src/netfilter/index.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';

test('corpus: every dump parses without throwing', (t) => {
  if (!corpusAvailable()) {
    console.warn(`corpus sweep SKIPPED: ${CORPUS} not found`);
    t.skip('no ../shared/corpus');
    return;
  }
  const rows: string[] = [];
  let files = 0;
  let rules = 0;
  for (const dir of readdirSync(CORPUS, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const f of readdirSync(join(CORPUS, dir.name))) {
      const text = readFileSync(join(CORPUS, dir.name, f), 'utf8');
      const r = parseDump(text);
      const rendered = renderRuleset(r.ruleset);
      assert.equal(typeof rendered, 'string');
      const s = rulesetStats(r.ruleset);
      const count = (sev: string) => r.diagnostics.filter((d) => d.severity === sev).length;
      rows.push(`${dir.name}/${f}\t${r.format}\t${r.ruleset.family}\t${s.rules} rules\t${count('error')} errors\t${count('warning')} warnings\t${count('info')} infos`);
      if (['iptables-save', 'iptables-S', 'iptables-L', 'iptables-L-v'].includes(dir.name)) {
        assert.ok(s.rules > 0, `${f}: expected rules`);
      }
      files++;
      rules += s.rules;
    }
  }
  console.log(`corpus sweep: ${files} files, ${rules} rules\n  ${rows.join('\n  ')}`);
  assert.ok(files >= 25);
});
