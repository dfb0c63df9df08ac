// HEAP_GROWING_PERCENT is a process-wide V8 flag that only the process that
// listens sets (startServer, not buildApp): checked here on the installed bin
// started from another directory, as an operator of a big node runs it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/paths.ts';
import { freePort } from '../support/ports.ts';

/** Starts `packetpath serve` with `env`, waits until it is ready, stops it; its log. */
async function serveLog(env: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-heap-'));
  const port = await freePort();
  const server = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'packetpath.mjs'), 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: `file:${join(dir, 'heap.db')}`, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  server.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  server.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) break;
      if (i > 300 || server.exitCode !== null) throw new Error(`the server did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    const exited = new Promise((r) => server.once('exit', r));
    if (server.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
  return log;
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
