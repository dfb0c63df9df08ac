// Kernel round trip of the nft text parser and printer (private namespaces only):
// for every corpus ruleset nft 1.0.6 loads (and the MANIFEST's repaired
// variants of those that fail for a known reason):
//  - L1 = `nft list ruleset` after loading the original;
//  - L2 = the same after loading printNftRuleset(parseNftText(original)); L1 must equal L2,
//    and so must the `nft -j list ruleset` twins (handles aside);
//  - the kernel's own listing L1 (and its `nft -a` twin, handles kept) parses without diagnostics,
//    parse(print(parse(L1))) is the same model as parse(L1), and reloading our printing of L1 gives L1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftText, printNftRuleset, type NftRuleset } from '../../src/netfilter/nftables/index.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';
import { nftAvailable, nftCheck, nftLoadAndList } from './nft-netns.ts';

const avail = await nftAvailable();
const NFT_DIR = join(CORPUS, 'nft');

/** Repairs the MANIFEST describes for files nft 1.0.6 refuses for one known reason. */
function repaired(name: string, text: string): string | undefined {
  if (name.startsWith('docker29-')) return text.replace(/hook output priority dstnat/g, 'hook output priority -100');
  if (name === 'kube-proxy-nftables-unit-test-overall-rules.txt') {
    const lines = text.split('\n');
    const late = (l: string): boolean => /^add (rule|element) /.test(l);
    return [...lines.filter((l) => !late(l)), ...lines.filter(late)].join('\n');
  }
  return undefined;
}

function inputs(): { name: string; text: string }[] {
  if (!corpusAvailable()) return [];
  const out: { name: string; text: string }[] = [];
  for (const f of readdirSync(NFT_DIR).sort()) {
    const text = readFileSync(join(NFT_DIR, f), 'utf8');
    out.push({ name: f, text });
    const r = repaired(f, text);
    if (r !== undefined) out.push({ name: `${f} (repaired as MANIFEST says)`, text: r });
  }
  return out;
}

/** The model without where-it-came-from fields (line, raw, handle, position). */
function shape(r: NftRuleset): unknown {
  return JSON.parse(JSON.stringify(r, (k, v: unknown) => (k === 'line' || k === 'raw' || k === 'handle' || k === 'position' ? undefined : v)));
}

function withoutHandles(json: string): unknown {
  return JSON.parse(json, (k, v: unknown) => (k === 'handle' || k === 'metainfo' ? undefined : v));
}

function firstDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `line ${i + 1}:\n  L1: ${x[i]}\n  L2: ${y[i]}`;
  return '';
}

const skip = (t: { skip: (m: string) => void }): boolean => {
  if (avail.ok) return false;
  console.warn(`\n!!! NFT KERNEL ROUND-TRIP TEST SKIPPED: ${avail.reason}\n`);
  t.skip(avail.reason);
  return true;
};

test('kernel round trip: listing after loading our printing equals listing after loading the original', async (t) => {
  if (skip(t)) return;
  let loadable = 0;
  const identical: string[] = [];
  const refused: string[] = [];
  for (const { name, text } of inputs()) {
    const l1 = await nftLoadAndList(text);
    if (!l1.ok) {
      refused.push(`${name}: ${l1.stderr.split('\n')[0]}`);
      continue;
    }
    loadable++;
    const parsed = parseNftText(text);
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), [], `${name}: nft loads it, so no error diagnostic`);
    const printed = printNftRuleset(parsed.ruleset);
    const check = await nftCheck(printed);
    assert.ok(check.ok, `${name}: nft -c -f refuses our printing: ${check.stderr}`);
    const l2 = await nftLoadAndList(printed);
    assert.ok(l2.ok, `${name}: loading our printing failed: ${l2.stderr}`);
    assert.equal(l2.stdout, l1.stdout, `${name}: kernel listings differ at ${firstDiff(l1.stdout, l2.stdout)}`);
    const j1 = await nftLoadAndList(text, { json: true });
    const j2 = await nftLoadAndList(printed, { json: true });
    assert.deepEqual(withoutHandles(j2.stdout), withoutHandles(j1.stdout), `${name}: nft -j listings differ`);
    identical.push(name);

    // the kernel's own listing: parses cleanly, and print/parse keeps its model
    const p1 = parseNftText(l1.stdout);
    assert.deepEqual(p1.diagnostics, [], `${name}: diagnostics on the kernel's listing`);
    assert.deepEqual(shape(parseNftText(printNftRuleset(p1.ruleset)).ruleset), shape(p1.ruleset), `${name}: parse(print(parse(L1))) != parse(L1)`);
    const l3 = await nftLoadAndList(printNftRuleset(p1.ruleset));
    assert.equal(l3.stdout, l1.stdout, `${name}: reloading our printing of the kernel's listing changes it at ${firstDiff(l1.stdout, l3.stdout)}`);

    // `nft -a`: handles become model handles; printed back as comments they change nothing
    const la = await nftLoadAndList(text, { handles: true });
    const pa = parseNftText(la.stdout);
    assert.deepEqual(pa.diagnostics, [], `${name}: diagnostics on nft -a listing`);
    const all = pa.ruleset.tables.flatMap((tb) => [tb, ...tb.chains, ...tb.sets, ...tb.chains.flatMap((c) => c.rules)]);
    assert.ok(all.every((x) => typeof x.handle === 'number' && x.handle > 0), `${name}: every table, chain, set and rule has its handle`);
    assert.deepEqual(shape(pa.ruleset), shape(p1.ruleset), `${name}: nft -a listing parses to the same model`);
    const l4 = await nftLoadAndList(printNftRuleset(pa.ruleset, { handles: true }));
    assert.equal(l4.stdout, l1.stdout, `${name}: printing with # handle comments changes the listing`);
  }
  console.log(`nft round trip: ${identical.length}/${loadable} loadable rulesets identical; nft refused ${refused.length}:\n  ${refused.join('\n  ')}`);
  assert.ok(loadable >= 20, `expected at least 20 loadable corpus rulesets, got ${loadable}`);
  assert.equal(identical.length, loadable);
});

test('printer round trip on every nftables differential ruleset: the kernel lists our printing as it lists the original', { skip: avail.ok ? false : avail.reason }, async () => {
  const { NFT_CASES } = await import('./cases/nft.ts');
  let checked = 0;
  for (const c of NFT_CASES) {
    const l1 = await nftLoadAndList(c.nft);
    assert.ok(l1.ok, `${c.name}: nft refuses the case: ${l1.ok ? '' : l1.stderr}`);
    const parsed = parseNftText(c.nft);
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), [], c.name);
    const l2 = await nftLoadAndList(printNftRuleset(parsed.ruleset));
    assert.ok(l2.ok, `${c.name}: nft refuses our printing: ${l2.ok ? '' : l2.stderr}`);
    assert.equal(l2.stdout, l1.stdout, c.name);
    checked++;
  }
  assert.ok(checked >= 20);
});
