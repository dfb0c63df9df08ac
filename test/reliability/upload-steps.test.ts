// What a big upload's preparation runs on the event loop, in steps that pause:
// each gives exactly what its one-go counterpart gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { parseNftDump, prepareNftDump, prepareNftDumpSteps, sha256Hex, sha256HexSteps } from '../../src/store/index.ts';
import { printNftRuleset, printNftRulesetSteps, parseNftJson } from '../../src/netfilter/index.ts';

function run<T>(steps: Generator<void, T, void>): { value: T; pauses: number } {
  let pauses = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { value: r.value, pauses };
    pauses++;
  }
}

test('sha256HexSteps hashes in slices what sha256Hex hashes at once, a surrogate pair across a slice boundary included', () => {
  const slice = 4 << 20;
  const texts = ['', 'abc', 'x'.repeat(slice * 2 + 5), `${'x'.repeat(slice - 1)}\u{1F600}${'é'.repeat(1000)}`];
  for (const text of texts) {
    const { value, pauses } = run(sha256HexSteps(text));
    assert.equal(value, sha256Hex(text), `${text.length} characters`);
    assert.equal(pauses, Math.max(0, Math.ceil(text.length / slice) - 1));
  }
  const bytes = new Uint8Array(slice + 3).fill(7);
  assert.equal(run(sha256HexSteps(bytes)).value, sha256Hex(bytes));
});

test('prepareNftDumpSteps pauses while parsing, stripping, printing and hashing, and gives what prepareNftDump gives, with the parse of the uploaded text', () => {
  const kube = generateKubeNft({ services: 600, endpoints: 3 });
  for (const text of [kube.json, kube.text]) {
    const { value, pauses } = run(prepareNftDumpSteps(text));
    assert.ok(pauses > 10, `${pauses} pauses`);
    const { uploadedRuleset, ...rest } = value;
    const { uploadedRuleset: _once, ...inline } = prepareNftDump(text);
    assert.deepEqual(rest, inline);
    assert.deepEqual(uploadedRuleset, parseNftDump(text).ruleset);
  }
  const ruleset = parseNftJson(kube.json).ruleset;
  const printed = run(printNftRulesetSteps(ruleset));
  assert.ok(printed.pauses >= 2, `${printed.pauses} pauses`);
  assert.equal(printed.value, printNftRuleset(ruleset));
});

test('an upload with bytes that are not the UTF-8 of its text keeps no parse for the reads (they parse the stored bytes)', () => {
  const kube = generateKubeNft({ services: 5, endpoints: 1 });
  const prepared = prepareNftDump(kube.text, { originalBytes: Buffer.from(kube.text, 'latin1') });
  assert.equal(prepared.uploadedRuleset, undefined);
});
