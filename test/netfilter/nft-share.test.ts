// A node's two nft parses share their equal objects (share.ts): a parse with
// the other parse as its donor is the same model as a parse alone, on every
// corpus ruleset, and the donor is never changed; leaves of one parse are
// interned only when equal in kind, keys and value types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { leafInterner, shareWith } from '../../src/netfilter/nftables/share.ts';
import { parseNftDump, prepareNftDump, type NftDumpFormat } from '../../src/store/nft-ingest.ts';
import { runSteps } from '../../src/netfilter/index.ts';
import { parseNftDumpSteps } from '../../src/store/nft-ingest.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { CORPUS } from '../support/paths.ts';
import { reachableObjects } from '../support/sharing.ts';

const files = (dir: string, format: NftDumpFormat): { name: string; text: string; format: NftDumpFormat }[] =>
  existsSync(join(CORPUS, dir)) ? readdirSync(join(CORPUS, dir)).filter((f) => !f.startsWith('.') && !f.endsWith('.md')).map((f) => ({ name: `${dir}/${f}`, text: readFileSync(join(CORPUS, dir, f), 'utf8'), format })) : [];

const kube = generateKubeNft({ services: 40, endpoints: 3 });
const inputs = [...files('nft', 'nft-text'), ...files('nft-json', 'nft-json'), { name: 'kube-proxy nft -j', text: kube.json, format: 'nft-json' as const }, { name: 'kube-proxy nft', text: kube.text, format: 'nft-text' as const }];

test('a parse given the other text\'s parse as donor is the parse alone, both ways, and leaves the donor as it was', () => {
  assert.ok(inputs.length > 4);
  let shared = 0;
  for (const { name, text, format } of inputs) {
    let prepared;
    try {
      prepared = prepareNftDump(text, { format });
    } catch {
      continue; // a corpus file nft itself would refuse: not a version
    }
    const uploaded = parseNftDump(text, format).ruleset;
    const canonicalAlone = parseNftDump(prepared.canonicalText, 'nft-text').ruleset;
    const canonical = runSteps(parseNftDumpSteps(prepared.canonicalText, 'nft-text', uploaded)).ruleset;
    assert.deepEqual(canonical, canonicalAlone, `${name}: canonical parse with the uploaded one as donor`);
    assert.deepEqual(uploaded, parseNftDump(text, format).ruleset, `${name}: the donor is unchanged`);
    const uploadedWithDonor = runSteps(parseNftDumpSteps(text, format, canonicalAlone)).ruleset;
    assert.deepEqual(uploadedWithDonor, uploaded, `${name}: uploaded parse with the canonical one as donor`);
    const rules = (r: typeof uploaded) => r.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
    const donorStmts = new Set(rules(uploaded).flatMap((r) => r.stmts.flatMap((s) => Object.values(s) as unknown[])));
    shared += rules(canonical).flatMap((r) => r.stmts.flatMap((s) => Object.values(s) as unknown[])).filter((v) => typeof v === 'object' && donorStmts.has(v)).length;
  }
  assert.ok(shared > 100, `${shared} statement parts are the donor's`);
});

test('shareWith: the donor where all is equal (same keys, order, values), else its equal parts', () => {
  const donor = { kind: 'match', op: '==', left: { kind: 'payload', protocol: 'ip', field: 'saddr' }, right: { kind: 'literal', value: 80 } };
  assert.equal(shareWith(structuredClone(donor), donor), donor);
  const mine = { kind: 'match', op: 'implicit', left: { kind: 'payload', protocol: 'ip', field: 'saddr' }, right: { kind: 'literal', value: '80' } };
  const out = shareWith(mine, donor);
  assert.equal(out, mine);
  assert.equal(out.left, donor.left);
  assert.notEqual(out.right, donor.right, 'a number and a string are not equal');
  const reordered = { left: { kind: 'payload', protocol: 'ip', field: 'saddr' }, kind: 'match', op: '==', right: { kind: 'literal', value: 80 } };
  const r = shareWith(reordered, donor);
  assert.equal(r, reordered, 'keys in another order: not the donor (they would serialize otherwise)');
  assert.equal(r.left, donor.left);
  const zero = { v: -0 };
  assert.equal(shareWith(zero, { v: 0 }), zero);
  const list = [{ a: 1 }, { a: 2 }];
  const longer = [{ a: 1 }, { a: 2 }, { a: 3 }];
  const l = shareWith(longer, list);
  assert.equal(l, longer);
  assert.equal(l[0], list[0]);
  assert.deepEqual(shareWith({ a: 1, extra: undefined }, { a: 1 }), { a: 1, extra: undefined });
});

test('leafInterner: equal literals, header fields, meta keys and verdicts become one object; others stay', () => {
  const intern = leafInterner();
  const a = intern([{ kind: 'literal', value: 80 }, { kind: 'literal', value: '80' }, { kind: 'payload', protocol: 'tcp', field: 'dport' }, { kind: 'verdict', verdict: 'jump', target: 'x' }]);
  const b = intern([{ kind: 'literal', value: 80 }, { kind: 'literal', value: '80' }, { kind: 'payload', protocol: 'tcp', field: 'dport' }, { kind: 'verdict', verdict: 'jump', target: 'x' }]);
  for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i]);
  assert.notEqual(a[0], a[1]);
  const odd = { kind: 'literal', value: 80, extra: 1 };
  assert.notEqual(intern([odd])[0], intern([{ kind: 'literal', value: 80, extra: 1 }])[0], 'a leaf with other keys is not interned');
  const nested = intern({ kind: 'match', left: { kind: 'meta', key: 'l4proto' }, right: { kind: 'literal', value: 'tcp' } });
  const again = intern({ kind: 'match', left: { kind: 'meta', key: 'l4proto' }, right: { kind: 'literal', value: 'tcp' } });
  assert.notEqual(nested, again, 'statements themselves are not interned');
  assert.equal(nested.left, again.left);
  assert.equal(nested.right, again.right);
});

test("a parse given an unrelated ruleset's parse as donor (an upload's donor is whichever parse was used last) is the parse alone, and as interned", () => {
  const objects = reachableObjects;
  const other = parseNftDump(readFileSync(join(CORPUS, 'nft', 'openwrt-fw4-default-ruleset-flowtable-helpers.txt'), 'utf8'), 'nft-text').ruleset;
  for (const { name, text, format } of [{ name: 'kube-proxy nft', text: kube.text, format: 'nft-text' as const }, { name: 'kube-proxy nft -j', text: kube.json, format: 'nft-json' as const }]) {
    const alone = parseNftDump(text, format).ruleset;
    const withOther = runSteps(parseNftDumpSteps(text, format, other)).ruleset;
    assert.deepEqual(withOther, alone, name);
    // Its own objects: as few as alone (its leaves interned though the donor had none of its rules).
    const own = objects(withOther).size - (objects(withOther).size + objects(other).size - objects(withOther, objects(other)).size);
    assert.ok(own <= objects(alone).size, `${name}: ${own} objects of its own, ${objects(alone).size} alone`);
  }
});
