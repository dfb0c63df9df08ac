// The core stays pure: no fs, process, Fastify or Prisma, and nothing
// beyond itself but ipaddr.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../support/paths.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('src/netfilter imports only itself and ipaddr.js, and never touches process or the file system', () => {
  const core = join(REPO_ROOT, 'src', 'netfilter');
  const problems: string[] = [];
  for (const f of files(core)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      const inside = spec.startsWith('.') && !relative(core, join(f, '..', spec)).startsWith('..');
      if (!inside && spec !== 'ipaddr.js') problems.push(`${relative(REPO_ROOT, f)} imports ${spec}`);
    }
    if (/\bprocess\.|\brequire\(|\bDate\.now\(|\bMath\.random\(/.test(text)) problems.push(`${relative(REPO_ROOT, f)} uses process, require, the clock or randomness`);
  }
  assert.deepEqual(problems, []);
});
