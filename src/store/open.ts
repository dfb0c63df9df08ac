// Opens the database DATABASE_URL names: `file:` → SQLite (db.ts), `postgres://`
// or `postgresql://` → PostgreSQL (postgres.ts).
import { DatabaseUrlError, openSqliteDatabase, type Database, type OpenOptions } from './db.ts';
import { isPostgresUrl, openPostgresDatabase } from './postgres.ts';

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  if (isPostgresUrl(url)) return openPostgresDatabase(url, options);
  if (url.startsWith('file:')) return openSqliteDatabase(url, options);
  throw new DatabaseUrlError(`DATABASE_URL must be a SQLite file URL (file:PATH) or a PostgreSQL URL (postgres://…), not "${url}"`);
}
