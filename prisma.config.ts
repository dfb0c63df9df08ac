// Prisma CLI configuration. The JS schema engine talks to the database through
// a driver adapter, so `prisma generate`, `prisma migrate diff`,
// `prisma migrate deploy` and `prisma migrate status` work offline (no native
// engine download). The server applies migrations itself (src/store/migrate.ts,
// src/store/migrate-postgres.ts).
//
// DATABASE_URL picks the provider as the server does: `file:` (default) is
// SQLite (prisma/schema.prisma, prisma/migrations); `postgres://` or
// `postgresql://` is PostgreSQL (prisma/postgres/schema.prisma and its
// migrations). `prisma generate --schema prisma/postgres/schema.prisma`
// generates the PostgreSQL client (scripts/postinstall.mjs runs both).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';

const url = process.env['DATABASE_URL'] ?? 'file:./data/packetpath.db';
const postgres = /^postgres(ql)?:\/\//.test(url);

export default defineConfig(
  postgres
    ? {
        schema: 'prisma/postgres/schema.prisma',
        migrations: { path: 'prisma/postgres/migrations' },
        engine: 'js',
        experimental: { adapter: true },
        async adapter() {
          return new PrismaPg({ connectionString: url });
        },
      }
    : {
        schema: 'prisma/schema.prisma',
        migrations: { path: 'prisma/migrations' },
        engine: 'js',
        experimental: { adapter: true },
        async adapter() {
          const path = url.replace(/^file:/, '');
          if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
          return new PrismaBetterSQLite3({ url });
        },
      },
);
