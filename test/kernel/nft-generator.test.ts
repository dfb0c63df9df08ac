// The benchmark's kube-proxy nftables generator writes the same ruleset twice,
// as text and as JSON: the kernel's JSON of the text must read as the JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { kernelAvailable } from './netns.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { parseNftJson } from '../../src/netfilter/nftables/json.ts';
import type { NftRuleset } from '../../src/netfilter/nftables/model.ts';

const avail = await kernelAvailable();

/** The model without what the kernel assigns (handles) or what differs by source (lines, raw text). */
function shape(r: NftRuleset): unknown {
  return JSON.parse(JSON.stringify(r, (k, v) => (k === 'handle' || k === 'line' || k === 'raw' ? undefined : v)), (_k, v) => v);
}
const byName = (r: NftRuleset) => ({ ...r, tables: r.tables.map((t) => ({ ...t, chains: [...t.chains].sort((a, b) => a.name.localeCompare(b.name)), sets: [...t.sets].sort((a, b) => a.name.localeCompare(b.name)) })) });

test('generated kube-proxy nftables: the kernel reads the text as the generated JSON says', { skip: avail.ok ? false : avail.reason }, () => {
  const g = generateKubeNft({ services: 20, endpoints: 3 });
  const r = spawnSync('unshare', ['--net', '--mount', '--', 'sh', '-c', 'nft -f - && nft -j list ruleset'], { input: g.text, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const kernel = parseNftJson(r.stdout);
  const ours = parseNftJson(g.json);
  assert.deepEqual(kernel.diagnostics, []);
  assert.deepEqual(ours.diagnostics, []);
  assert.deepEqual(shape(byName(ours.ruleset)), shape(byName(kernel.ruleset)));
});
