// Prisma CLI configuration. The JS schema engine talks to SQLite through the
// better-sqlite3 driver adapter, so `prisma generate`, `prisma migrate diff`,
// `prisma migrate deploy` and `prisma migrate status` work offline (no native
// engine download). The server applies migrations itself (src/store/migrate.ts).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';

const url = process.env['DATABASE_URL'] ?? 'file:./data/packetpath.db';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  engine: 'js',
  experimental: { adapter: true },
  async adapter() {
    const path = url.replace(/^file:/, '');
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    return new PrismaBetterSQLite3({ url });
  },
});
