// createTextHasher().sha256 (a delta upload's rebuilt text hashed by a worker thread
// while it is spliced): the same hex as sha256Hex for every kind of text, its
// UTF-8 and not its UTF-16, with texts of several sizes hashed at once (they
// share scratch buffers).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../src/store/hash.ts';
import { createTextHasher } from '../../src/store/hash-off-loop.ts';
import { applyLineScriptEdit, makeLineScript } from '../../src/store/line-script.ts';

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

  describe('digestEdit: a delta of a text the worker kept, made there of its bytes', () => {
    const base = ['# Generated', '*filter', ':INPUT ACCEPT [10:600]', '[3:180] -A INPUT -m comment --comment "café" -j ACCEPT', '[0:0] -A INPUT -j DROP', 'COMMIT', '# Completed', ''];
    const edits: [string, string[]][] = [
      ['the same lines', base],
      ['counters moved, the first and the last copied line', base.map((l) => l.replace('[10:600]', '[11:660]').replace('[0:0] -A', '[1:1] -A'))],
      ['an astral line inserted, a rule deleted', [...base.slice(0, 4), '-A INPUT -m comment --comment "🚀 日本" -j ACCEPT', ...base.slice(5)]],
      ['a lone surrogate inserted (UTF-8 as U+FFFD)', [...base.slice(0, 2), '# a\ud800b', ...base.slice(2)]],
      ['no final newline: the base\'s last line left out', base.slice(0, -1)],
      ['the last line copied into the middle, lines copied twice', [base[7]!, ...base, ...base.slice(1, 3)]],
      ['one inserted line only', ['COMMIT']],
      ['3 MiB of rules, a few changed', Array.from({ length: 1 << 16 }, (_, i) => `[${i}:${i * 60}] -A KUBE-SVC-X -m comment --comment "svc ${i}" -j KUBE-SEP-Y${i % 7 === 0 ? 'é' : ''}`)],
    ];
    for (const [name, target] of edits) {
      it(`${name}: the sha256 and UTF-8 size of the text it makes`, async () => {
        const hasher = createTextHasher();
        try {
          const from = name.startsWith('3 MiB') ? target.map((l, i) => (i % 5000 === 7 ? l.replace(/^\[\d+/, '[0') : l)) : base;
          const text = from.join('\n');
          const kept = await hasher.digest(text, true);
          assert.deepEqual(kept, { sha256: sha256Hex(text), size: Buffer.byteLength(text) });
          const { lines, edit } = applyLineScriptEdit(from, makeLineScript(from, target));
          assert.deepEqual(lines, target);
          const want = target.join('\n');
          assert.deepEqual(await hasher.digestEdit(kept.sha256, edit), { sha256: sha256Hex(want), size: Buffer.byteLength(want) });
          // The edited text is kept in turn: an edit of it is made there too.
          const again = applyLineScriptEdit(target, makeLineScript(target, from));
          assert.deepEqual(await hasher.digestEdit(sha256Hex(want), again.edit), { sha256: sha256Hex(text), size: Buffer.byteLength(text) });
        } finally {
          await hasher.close();
        }
      });
    }

    it('a base the worker did not keep (never hashed, evicted, too big for it, or its worker ended): null, so the text is hashed whole', async () => {
      const small = createTextHasher({ keepBytes: 3 << 20 });
      try {
        const a = 'a\n'.repeat(1 << 19);
        const b = 'b\n'.repeat(1 << 19);
        const c = 'c'.repeat(2 << 20);
        const edit = { ops: [0, 2], literal: [] };
        assert.equal(await small.digestEdit(sha256Hex(a), edit), null);
        await small.digest(a, true);
        assert.notEqual(await small.digestEdit(sha256Hex(a), edit), null);
        // b and e push a out (3 MiB kept at most); c is more than half of that: not kept at all.
        await small.digest(b, true);
        await small.digest('e\n'.repeat(5 << 17), true);
        await small.digest(c, true);
        assert.equal(await small.digestEdit(sha256Hex(a), edit), null);
        assert.notEqual(await small.digestEdit(sha256Hex(b), edit), null);
        assert.equal(await small.digestEdit(sha256Hex(c), { ops: [0, 1], literal: [] }), null);
        // Not kept unless asked.
        const d = 'd\nd';
        await small.sha256(d);
        assert.equal(await small.digestEdit(sha256Hex(d), { ops: [0, 1], literal: [] }), null);
        await small.close();
        assert.equal(await small.digestEdit(sha256Hex(b), edit), null);
      } finally {
        await small.close();
      }
    });

    it('an edit copying past the kept text fails in the worker: null, not a wrong hash', async () => {
      const own = createTextHasher();
      try {
        const text = 'x\ny';
        await own.digest(text, true);
        assert.equal(await own.digestEdit(sha256Hex(text), { ops: [1, 2], literal: [] }), null);
        assert.equal(await own.digestEdit(sha256Hex(text), { ops: [-1, 2], literal: ['one'] }), null);
        assert.deepEqual(await own.digestEdit(sha256Hex(text), { ops: [1, 1, -1, 1, 0, 1], literal: ['é'] }), { sha256: sha256Hex('y\né\nx'), size: 6 });
      } finally {
        await own.close();
      }
    });
  });
});
