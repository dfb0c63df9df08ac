// The `packetpath` bin as users get it: from the checkout but started from
// another directory, and from the packed tarball installed with
// `npm install -g` into a temporary prefix. It used to need tsx resolvable
// from the working directory, so both failed outside the repository root.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, REPO_ROOT } from '../support/paths.ts';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SEED = join(FIXTURES, 'seeds', 'seed000.save.txt');
const MASTER = join(FIXTURES, 'seed004', 'master.txt');
const elsewhere = tmpdir();

/** What a user runs, checked from a directory that is not the repository. */
async function checkBin(command: string, args: readonly string[] = []): Promise<void> {
  const version = await run(command, [...args, '--version'], { cwd: elsewhere });
  assert.equal(version.stdout, `packetpath ${VERSION}\n`);
  const parsed = await run(command, [...args, 'render', SEED], { cwd: elsewhere });
  assert.match(parsed.stdout, /^\*nat$/m);
  const traced = await run(command, [...args, 'trace', MASTER, '--in', 'eth0', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--dport', '80', '--json'], { cwd: elsewhere });
  assert.ok((JSON.parse(traced.stdout) as { outcomes: unknown[] }).outcomes.length > 0);
}

describe('the packetpath bin outside the repository', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'pp-bin-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('bin/packetpath.mjs of the checkout, started from another directory', async () => {
    await checkBin(process.execPath, [join(REPO_ROOT, 'bin', 'packetpath.mjs')]);
  });

  describe('npm pack, then npm install -g of the tarball into a temporary prefix', () => {
    const prefix = join(work, 'prefix');
    before(async () => {
      await run('npm', ['pack', '--pack-destination', work], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
      const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
      assert.ok(tarball, 'npm pack wrote a tarball');
      await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], { cwd: work, maxBuffer: 16 * 1024 * 1024 });
    });
    it('the installed `packetpath` runs from any directory', async () => {
      await checkBin(join(prefix, 'bin', 'packetpath'));
    });
    it('the tarball holds the compiled CLI, the dashboard and the migrations, not the TypeScript sources', async () => {
      const installed = join(prefix, 'lib', 'node_modules', 'packetpath');
      assert.ok(readdirSync(join(installed, 'dist', 'cli')).includes('main.js'));
      // The /ui dashboard's browser files, served from beside the compiled routes.
      assert.deepEqual(['app.js', 'index.html', 'style.css'].filter((f) => !readdirSync(join(installed, 'dist', 'http', 'ui')).includes(f)), []);
      assert.ok(readdirSync(join(installed, 'prisma', 'migrations')).length > 0);
      assert.ok(readdirSync(join(installed, 'prisma', 'postgres', 'migrations')).length > 0);
      assert.ok(!readdirSync(installed).includes('src'));
    });
  });
});
