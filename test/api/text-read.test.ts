// Reading a big stored text (whole, delta, counted-delta chains) gives the event loop turns while
// it decodes, splits, applies deltas, merges counters and joins, and reads the very text the
// one-piece path reads (and the text that was stored).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { getBlobText, openDatabase, prepareDump, sha256Hex, uploadDumps, type Database, type ParseYielding } from '../../src/store/index.ts';
import { blobLines, putBytes } from '../../src/store/blobs.ts';

/** Never pauses: the whole read in one piece, as reads ran before. */
const ONE_PIECE: ParseYielding = { sliceMs: Infinity, pause: async () => {} };

describe('reading a big stored text', () => {
  let dir: string;
  let db: Database;
  const texts: { label: string; sha256: string; encoding: string }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'packetpath-textread-'));
    db = await openDatabase(`file:${join(dir, 'db.sqlite')}`);
    // ~5 MB texts: 2,000 Services with counters; the next version moves a counter and edits a rule.
    const g = generateKubeDump({ services: 2000, seed: 5, counters: true });
    const first = prepareDump(g.text);
    await uploadDumps(db.prisma, { node: 'n1', dumps: [first] });
    const second = prepareDump(g.text.replace(/\[(\d+):(\d+)\]/, '[999:999]').replace('--dport 80 ', '--dport 81 '));
    await uploadDumps(db.prisma, { node: 'n1', dumps: [second] });
    // And a text that is not UTF-8 (read as Latin-1), stored whole.
    const latin1 = Buffer.concat([Buffer.from(g.text, 'latin1'), Buffer.from('\n# caf\xe9\n', 'latin1')]);
    const latin1Sha = await putBytes(db.prisma, latin1);
    const rows = await db.prisma.blob.findMany({ select: { sha256: true, encoding: true } });
    const encodingOf = (sha256: string): string => rows.find((r) => r.sha256 === sha256)!.encoding;
    for (const [label, sha256] of [
      ['first canonical', first.sha256],
      ['second canonical', second.sha256],
      ['second upload', second.originalSha256],
      ['Latin-1 upload', latin1Sha],
    ] as const) {
      texts.push({ label, sha256, encoding: encodingOf(sha256) });
    }
  });

  after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('covers whole, delta and counted-delta blobs', () => {
    assert.deepEqual(
      texts.map((t) => t.encoding),
      ['gzip', 'delta', 'counted-delta', 'gzip'],
    );
  });

  it('gives the event loop turns while it reads, and reads the same text as in one piece', async () => {
    for (const { label, sha256, encoding } of texts) {
      let pauses = 0;
      const everyStep: ParseYielding = {
        sliceMs: 0,
        pause: () => {
          pauses++;
          return new Promise<void>((resolve) => setImmediate(resolve));
        },
      };
      // Something else the event loop has to do meanwhile: it runs while the text is read.
      let ticks = 0;
      let reading = true;
      const tick = (): void => {
        ticks++;
        if (reading) setImmediate(tick);
      };
      setImmediate(tick);
      const stepped = await getBlobText(db.prisma, sha256, everyStep);
      reading = false;
      const whole = await getBlobText(db.prisma, sha256, ONE_PIECE);
      assert.ok(stepped !== null && whole !== null, label);
      assert.ok(stepped.length > 4_000_000, `${label}: a multi-MB text (${stepped.length} chars)`);
      // A 5 MB text is decoded in 1 MB pieces and applied, merged and joined 4,096 lines at a time.
      assert.ok(pauses >= 5, `${label} (${encoding}): ${pauses} pauses`);
      assert.ok(ticks >= pauses, `${label}: ${ticks} ticks of other work during ${pauses} pauses`);
      assert.ok(stepped === whole, `${label}: the same text either way`);
      if (label !== 'Latin-1 upload') assert.equal(sha256Hex(stepped), sha256, `${label}: the text that was stored`);
      else assert.ok(stepped.endsWith('\n# caf\xe9\n'), 'Latin-1 bytes read as Latin-1');
    }
  });

  it('resolves the same lines with and without pauses (the write path reads bases without them)', async () => {
    for (const { label, sha256 } of texts) {
      const sync = await blobLines(db.prisma, sha256);
      const stepped = await blobLines(db.prisma, sha256, undefined, 0, { sliceMs: 0, pause: () => new Promise<void>((resolve) => setImmediate(resolve)) });
      assert.ok(sync && stepped, label);
      assert.equal(stepped.length, sync.length, label);
      assert.ok(stepped.every((line, i) => line === sync[i]), `${label}: the same lines`);
      assert.ok(stepped.join('\n') === (await getBlobText(db.prisma, sha256)), `${label}: the lines of the text`);
    }
  });
});
