// HEAP_GROWING_PERCENT is a process-wide V8 flag that only the process that
// listens sets (startServer, not buildApp): checked here on the installed bin
// started from another directory, as an operator of a big node runs it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBinServer } from '../support/bin-server.ts';

/** Starts `packetpath serve` with `env`, waits until it is ready, stops it; its log. */
async function serveLog(env: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-heap-'));
  try {
    const server = await startBinServer(dir, { DATABASE_URL: `file:${join(dir, 'heap.db')}`, LOG_LEVEL: 'info', ...env });
    await server.stop();
    return server.log();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('packetpath serve: HEAP_GROWING_PERCENT', { timeout: 120_000 }, () => {
  it('sets --heap-growing-percent in the listening process and says so; unset, nothing is set', async () => {
    const set = await serveLog({ HEAP_GROWING_PERCENT: '30' });
    const line = set.split('\n').find((l) => l.includes('heap-growing-percent'));
    assert.ok(line, set);
    const entry = JSON.parse(line) as { heapGrowingPercent?: number; msg?: string };
    assert.equal(entry.heapGrowingPercent, 30);
    assert.match(entry.msg ?? '', /--heap-growing-percent=30/);
    const unset = await serveLog({ HEAP_GROWING_PERCENT: '' });
    assert.doesNotMatch(unset, /heap-growing-percent/);
  });
});
