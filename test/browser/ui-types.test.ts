// The dashboard's browser modules are plain JavaScript (served without a
// build step), checked by tsc through their JSDoc types (`// @ts-check`,
// src/http/ui/tsconfig.json: strict, DOM library, the API's answers in
// types.d.ts). `npm test` is what CI runs, so the check runs here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/paths.ts';

const run = promisify(execFile);
const UI = join(REPO_ROOT, 'src', 'http', 'ui');

describe('the /ui browser modules', () => {
  it('type-check with tsc (strict, checkJs)', { timeout: 120_000 }, async () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', UI, '--pretty', 'false']).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    assert.equal(result, '');
  });

  it('all opt in to the check and never assign HTML', () => {
    const files = readdirSync(UI, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    assert.ok(files.length >= 5, files.join(', '));
    for (const f of files) {
      const text = readFileSync(join(UI, f), 'utf8');
      assert.ok(text.startsWith('// @ts-check\n'), `${f} starts with // @ts-check`);
      assert.doesNotMatch(text, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/, `${f} builds DOM nodes, never HTML strings`);
    }
  });
});
