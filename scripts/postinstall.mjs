// npm's postinstall: in a checkout, generate the Prisma client into src/generated
// (the sources and `npm run build` need it). An installed package (npm install -g
// of the tarball) ships it compiled in dist/generated and has no sources: nothing to do.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(join(root, 'src', 'cli', 'main.ts'))) {
  const r = spawnSync('npx', ['prisma', 'generate'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
