// The kernel's own JSON: every corpus nftables ruleset nft 1.0.6 loads is
// loaded in a private namespace and listed with `nft -j list ruleset`; the
// JSON parser must know every statement and expression in it (nothing kept
// as `unknown`; anonymous chains nft writes as text are read by the text
// parser) and keep every rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelAvailable } from './netns.ts';
import { parseNftJson } from '../../src/netfilter/nftables/json.ts';
import type { NftStmt } from '../../src/netfilter/nftables/model.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';

const avail = await kernelAvailable();
const skip = !avail.ok ? avail.reason : !corpusAvailable() ? 'no corpus' : false;

/** `nft -f` the text in a fresh namespace, then `nft -j list ruleset`; null when nft refuses the text. */
function kernelJson(text: string): string | null {
  const r = spawnSync('unshare', ['--net', '--mount', '--', 'sh', '-c', 'nft -f - && nft -j list ruleset'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout : null;
}

const unknowns = (stmts: readonly NftStmt[]): string[] => stmts.filter((s) => s.kind === 'unknown').map((s) => (s as { text: string }).text);

test('the kernel JSON of every loadable corpus ruleset is read whole', { skip }, () => {
  const dir = join(CORPUS, 'nft');
  let loaded = 0;
  let rules = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.txt'))) {
    const json = kernelJson(readFileSync(join(dir, f), 'utf8'));
    if (json === null) continue;
    loaded++;
    const r = parseNftJson(json);
    assert.deepEqual(r.diagnostics, [], f);
    const items = (JSON.parse(json) as { nftables: Record<string, { handle?: number }>[] }).nftables;
    const want = items.filter((i) => 'rule' in i).map((i) => i['rule']!.handle);
    const got = r.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((x) => x.handle)));
    assert.deepEqual([...got].sort(), [...want].sort(), `${f}: every rule, by handle`);
    for (const t of r.ruleset.tables) for (const c of t.chains) for (const x of c.rules) assert.deepEqual(unknowns(x.stmts), [], `${f}: ${x.raw}`);
    rules += got.length;
  }
  assert.ok(loaded >= 15, `only ${loaded} corpus rulesets loaded`);
  console.log(`nft JSON from the kernel: ${loaded} rulesets, ${rules} rules read`);
});
