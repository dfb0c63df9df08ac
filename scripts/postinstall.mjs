// npm's postinstall: in a checkout, generate the Prisma clients into src/generated
// (the sources and `npm run build` need them): SQLite's (prisma/schema.prisma →
// src/generated/prisma) and PostgreSQL's (prisma/postgres/schema.prisma →
// src/generated/prisma-pg). An installed package (npm install -g
// of the tarball) ships it compiled in dist/generated and has no sources: nothing to do.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(join(root, 'src', 'cli', 'main.ts'))) {
  for (const schema of ['prisma/schema.prisma', 'prisma/postgres/schema.prisma']) {
    // DATABASE_URL of the shell must not pick prisma.config.ts's other schema: --schema says which.
    const r = spawnSync('npx', ['prisma', 'generate', '--schema', schema], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
