// The store under a filesystem that cannot take writes.
// "Disk full": the server runs on a database in a small tmpfs (a private
// mount namespace, so nothing is mounted on the machine). Once the disk is
// full a write must fail at once with a clear problem (507), /readyz must say
// the store cannot write, and after space is freed the next write must work.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/paths.ts';
import { freePort } from '../support/ports.ts';

const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;


/** A distinct dump of about `rules` rules, so every upload is a new version that needs space. */
function bigDump(tag: string, rules = 400): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  for (let i = 0; i < rules; i++) lines.push(`-A INPUT -s 198.51.100.${i % 250}/32 -p tcp -m tcp --dport ${1000 + i} -m comment --comment "${tag}-${i}-${'x'.repeat(40)}" -j ACCEPT`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

describe('disk full under the database', { skip: canUnshare ? false : 'needs root and unshare --mount' }, () => {
  let server: ChildProcess;
  let base: string;
  let mnt: string;
  let filler: string;
  const stderr: string[] = [];
  const call = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
  const upload = (tag: string, rules?: number): Promise<Response> => call(`/api/v1/nodes/n1/dumps`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: bigDump(tag, rules) });

  before(async () => {
    mnt = mkdtempSync(join(tmpdir(), 'packetpath-full-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // `exec`: the server is the unshared process, so /proc/<pid>/root shows its tmpfs.
    server = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=3m tmpfs "$1" && exec "$0" bin/packetpath.mjs serve --port "$2" --host 127.0.0.1`, process.execPath, mnt, String(port)], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: `file:${mnt}/db.sqlite`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    filler = `/proc/${server.pid}/root${mnt}/filler`;
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${base}/readyz`)).status === 200) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not start: ${stderr.join('')}`);
  });
  after(() => {
    server?.kill('SIGKILL');
    rmSync(mnt, { recursive: true, force: true });
  });

  it('a write on a full disk fails at once with 507, readyz says so, and writes work again once space is freed', async () => {
    assert.equal((await upload('first')).status, 201);
    // Fill what is left of the filesystem.
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(fd);
    }
    // Leave a little room: the write starts, and SQLite runs out of space inside it (SQLITE_FULL).
    truncateSync(filler, statSync(filler).size - 256 * 1024);
    let failed: Response | undefined;
    let stored = 1;
    for (let i = 0; i < 8 && !failed; i++) {
      const r = await upload(`full-${i}`, 4000);
      if (r.status === 201) stored++;
      else failed = r;
    }
    assert.ok(failed, 'some upload must fail once the disk is full');
    assert.equal(failed.status, 507, await failed.clone().text());
    assert.match(failed.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = (await failed.json()) as { type: string; detail: string };
    assert.equal(problem.type, '/problems/store-full');
    assert.match(problem.detail, /full/i);
    // The next write fails just as cleanly (no hang), and readiness reports the store.
    const again = await upload('full-again');
    assert.equal(again.status, 507);
    const ready = await call('/readyz');
    assert.equal(ready.status, 503);
    assert.match(((await ready.json()) as { detail: string }).detail, /full/i);
    // Reads still answer.
    assert.equal((await call('/api/v1/nodes')).status, 200);
    // Free the space: the next write works and readiness recovers.
    rmSync(filler);
    const ok = await upload('after');
    assert.equal(ok.status, 201, await ok.clone().text());
    assert.equal((await call('/readyz')).status, 200);
    const versions = (await (await call('/api/v1/nodes/n1/dumps')).json()) as { items: unknown[] };
    assert.equal(versions.items.length, stored + 1, 'every acknowledged upload is kept, nothing from the failed ones');
  });
});

describe('a read-only database', { skip: canUnshare ? false : 'needs root and unshare --mount' }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'packetpath-ro-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the server with `prefix` in a private mount namespace first; resolves when /readyz answers at all. */
  async function serve(prefix: string): Promise<{ base: string; stop: () => Promise<void>; stderr: string[] }> {
    const port = await freePort();
    const stderr: string[] = [];
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${prefix} exec "$0" bin/packetpath.mjs serve --port "$2" --host 127.0.0.1`, process.execPath, dir, String(port)], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: `file:${dir}/db.sqlite`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200; i++) {
      try {
        await fetch(`${base}/readyz`);
        return { base, stderr, stop: async () => { child.kill('SIGTERM'); await exited; } };
      } catch {
        if (child.exitCode !== null) throw new Error(`server exited: ${stderr.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`server did not start: ${stderr.join('')}`);
  }

  it('starts, serves reads, is not ready and refuses writes with 503 saying read-only', async () => {
    // A database with one version, written normally and closed cleanly.
    const rw = await serve('');
    const first = await fetch(`${rw.base}/api/v1/nodes/n1/dumps`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: bigDump('kept', 10) });
    assert.equal(first.status, 201);
    await rw.stop();
    // The same directory, bind-mounted read-only (root ignores file modes; a read-only mount it cannot).
    const ro = await serve('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&');
    try {
      const ready = await fetch(`${ro.base}/readyz`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { detail: string }).detail, /read-only/);
      const nodes = await fetch(`${ro.base}/api/v1/nodes/n1/dumps`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(nodes.status, 200, ro.stderr.join(''));
      assert.equal(((await nodes.json()) as { items: unknown[] }).items.length, 1);
      const up = await fetch(`${ro.base}/api/v1/nodes/n1/dumps`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: bigDump('refused', 10), signal: AbortSignal.timeout(30_000) });
      assert.equal(up.status, 503);
      assert.match(up.headers.get('content-type') ?? '', /application\/problem\+json/);
      const problem = (await up.json()) as { type: string; detail: string };
      assert.equal(problem.type, '/problems/store-unavailable');
      assert.match(problem.detail, /read-only/);
    } finally {
      await ro.stop();
    }
  });
});
