// A page of an nft table's chains summarizes only its own chains (who jumps
// to each, from anywhere in the table, and where each jumps), with the
// answers of summarizing the whole table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { parseNftDump } from '../../src/store/index.ts';
import { summarizeNftChains } from '../../src/http/nft-reads.ts';

test('summaries of some chains equal those chains in the summary of all, for pages and single chains', () => {
  const kube = generateKubeNft({ services: 60, endpoints: 3 });
  for (const text of [kube.json, kube.text]) {
    const table = parseNftDump(text).ruleset.tables.find((t) => t.name === 'kube-proxy')!;
    const all = summarizeNftChains(table);
    assert.equal(all.length, table.chains.length);
    assert.ok(all.some((c) => c.referencedBy.length > 1) && all.some((c) => c.jumpsTo.length > 1), 'chains referenced from several places, and jumping to several');
    for (let at = 0; at < table.chains.length; at += 37) assert.deepEqual(summarizeNftChains(table, table.chains.slice(at, at + 37)), all.slice(at, at + 37));
    table.chains.forEach((c, i) => assert.deepEqual(summarizeNftChains(table, [c]), [all[i]]));
  }
});
