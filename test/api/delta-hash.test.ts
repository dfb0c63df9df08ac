// createTextHasher().sha256 (a delta upload's rebuilt text hashed by a worker thread
// while it is spliced): the same hex as sha256Hex for every kind of text, its
// UTF-8 and not its UTF-16, with texts of several sizes hashed at once (they
// share scratch buffers).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../src/store/hash.ts';
import { createTextHasher } from '../../src/store/hash-off-loop.ts';

const texts: [string, string][] = [
  ['empty', ''],
  ['ASCII', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n'],
  ['Latin-1 (two UTF-8 bytes each)', '-A INPUT -m comment --comment "café déjà" -j ACCEPT'],
  ['BMP and astral characters', '-m comment --comment "日本語 🚀 ok"'],
  ['a lone surrogate (hashed as U+FFFD, as sha256Hex does)', 'a\ud800b'],
  ['3 MiB of ASCII', '[12:345] -A KUBE-SVC-X -j KUBE-SEP-Y\n'.repeat(3 << 15)],
  ['3 MiB ending in a non-ASCII character', `${'x'.repeat(3 << 20)}é`],
];

describe('createTextHasher', () => {
  const hasher = createTextHasher();
  after(() => hasher.close());

  for (const [name, text] of texts) {
    it(`${name}: the sha256 of its UTF-8`, async () => {
      assert.equal(await hasher.sha256(text), sha256Hex(text));
    });
  }

  it('many texts at once, big and small, each its own hash', async () => {
    const many: [string, string][] = [...texts, ...texts.map(([n, t]): [string, string] => [n, `${t}\n#2`]), ['8 MiB', 'y'.repeat(8 << 20)]];
    const want = many.map(([, t]) => sha256Hex(t));
    assert.deepEqual(await Promise.all(many.map(([, t]) => hasher.sha256(t))), want);
    // And again, in the other order, over the buffers the first round left.
    assert.deepEqual((await Promise.all([...many].reverse().map(([, t]) => hasher.sha256(t)))).reverse(), want);
  });

  it('a text being hashed while the hasher closes still gets its sha256 (from the worker or, once it is gone, on the event loop); the next text starts another worker', async () => {
    const own = createTextHasher();
    const text = texts[5]![1];
    const first = own.sha256(text);
    await own.close();
    assert.equal(await first, sha256Hex(text));
    assert.equal(await own.sha256(text), sha256Hex(text));
    await own.close();
  });
});
