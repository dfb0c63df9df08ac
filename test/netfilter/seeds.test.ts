// The seed articles' dumps, parsed and rendered; golden files hold the
// canonical iptables-save text. Regenerate with UPDATE_GOLDEN=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDump, renderRuleset, findChain, findTable } from '../../src/netfilter/index.ts';
import { FIXTURES } from '../support/paths.ts';

const SEED_FILES = ['seeds', 'listing']
  .map((d) => join(FIXTURES, d))
  .filter((d) => existsSync(d))
  .flatMap((d) => readdirSync(d).filter((f) => /^seed.*\.txt$/.test(f) && !f.endsWith('.golden.txt')).map((f) => join(d, f)));

for (const file of SEED_FILES) {
  test(`seed fixture renders to its golden iptables-save: ${file.slice(FIXTURES.length + 1)}`, () => {
    const r = parseDump(readFileSync(file, 'utf8'));
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], 'lenient parse has no errors');
    const rendered = renderRuleset(r.ruleset);
    const golden = file.replace(/\.txt$/, '.golden.txt');
    if (process.env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, rendered);
    assert.equal(rendered, readFileSync(golden, 'utf8'));
  });
}

test('seed 000: kube-proxy NodePort service, missing COMMIT after nat', () => {
  const r = parseDump(readFileSync(join(FIXTURES, 'seeds/seed000.save.txt'), 'utf8'));
  assert.ok(r.diagnostics.some((d) => d.code === 'missing-commit' && d.line === 18));
  const nat = findTable(r.ruleset, 'nat')!;
  const svc = findChain(nat, 'KUBE-SVC-4N57TFCL4MD7ZTDA')!;
  assert.equal(svc.rules.length, 2);
  const stat = svc.rules[0]!.matches.find((m) => m.kind === 'module' && m.module === 'statistic');
  assert.deepEqual(stat && stat.kind === 'module' && stat.options.map((o) => [o.name, o.args[0]]), [['mode', 'random'], ['probability', '0.50000000000']]);
  assert.equal(findTable(r.ruleset, 'filter')!.chains.some((c) => c.name === 'KUBE-FORWARD'), true);
});

test('seed 001: a Rancher node paste with prompts and # comments becomes a nat table', () => {
  const r = parseDump(readFileSync(join(FIXTURES, 'seeds/seed001.paste.txt'), 'utf8'));
  assert.deepEqual(r.ruleset.tables.map((t) => t.name), ['nat']);
  const nat = findTable(r.ruleset, 'nat')!;
  assert.deepEqual(findChain(nat, 'KUBE-SEP-BBE6YPFJIF2XXMLH')!.rules.map((x) => x.target), [
    { kind: 'jump', chain: 'KUBE-MARK-MASQ' },
    { kind: 'extension', name: 'DNAT', known: true, options: [{ name: 'to-destination', negated: false, args: ['10.42.1.24:80'], known: true }] },
  ]);
  assert.ok(r.diagnostics.some((d) => d.code === 'shell-prompt' && d.line === 1));
  assert.ok(r.diagnostics.some((d) => d.code === 'inferred-table'));
});
