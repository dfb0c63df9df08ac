// A dump file that is not UTF-8 (a Latin-1 comment) reads as itself, as an upload does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/cli.ts';

test('render of a Latin-1 file keeps its comment (no U+FFFD)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-cli-latin1-'));
  try {
    const file = join(dir, 'latin1.txt');
    writeFileSync(file, Buffer.concat([Buffer.from('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "caf'), Buffer.from([0xe9]), Buffer.from('" -j ACCEPT\nCOMMIT\n')]));
    const r = await cli('render', file);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /--comment café -j ACCEPT|--comment "café" -j ACCEPT/);
    assert.ok(!r.out.includes('\uFFFD'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
