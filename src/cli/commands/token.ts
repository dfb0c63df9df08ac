// `token create|list|revoke`: API token management directly on the database
// (DATABASE_URL, see src/http/config.ts), e.g. to create the first token of a
// server, or from `kubectl exec` in its pod. A running server sees the change
// at once (tokens are looked up per request).
import { parseArgs } from 'node:util';
import { loadCliConfig } from '../config.ts';
import { toToken } from '../../http/routes/tokens.ts';
import {
  createToken,
  expiryAfter,
  InvalidInputError,
  isTokenScope,
  listTokens,
  NotFoundError,
  openDatabase,
  parseDuration,
  revokeToken,
  TOKEN_SCOPES,
  writeTransaction,
  type Database,
} from '../../store/index.ts';
import { InputError, UsageError, type Io } from '../io.ts';

export const TOKEN_USAGE = 'token create --scope read|upload|admin|scrape [--cluster NAME] [--name NAME] [--expires 30d] [--json] | token list [--json] | token revoke ID';

async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const config = loadCliConfig();
  const db = await openDatabase(config.databaseUrl, { busyTimeoutMs: config.busyTimeoutMs, poolSize: config.dbPoolSize });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const when = (iso: string | null): string => iso ?? '-';

export async function runToken(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        scope: { type: 'string' },
        cluster: { type: 'string' },
        name: { type: 'string' },
        expires: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: packetpath ${TOKEN_USAGE}`);
  }
  const v = parsed.values;
  if (!sub || sub === '--help' || sub === '-h' || v.help) {
    io.stdout(`usage: packetpath ${TOKEN_USAGE}\n\nScopes: read (queries), upload (agents; --cluster limits it to one cluster), admin (deletes, tokens; implies read, upload and scrape), scrape (GET /metrics only, for Prometheus).\nThe database is DATABASE_URL (default file:./data/packetpath.db).\n`);
    return sub ? 0 : 2;
  }

  if (sub === 'create') {
    if (parsed.positionals.length) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    if (!isTokenScope(v.scope)) throw new UsageError(`--scope must be one of ${TOKEN_SCOPES.join(', ')}`);
    const scope = v.scope;
    let expiresAt: Date | undefined;
    if (v.expires !== undefined) {
      if (!parseDuration(v.expires)) throw new UsageError(`--expires must be a lifetime such as 12h, 30d or 2w, not "${v.expires}"`);
      try {
        expiresAt = expiryAfter(v.expires, new Date(), '--expires');
      } catch (err) {
        if (err instanceof InvalidInputError) throw new UsageError(`--expires: ${err.message}`);
        throw err;
      }
    }
    return withDatabase(async (db) => {
      let created;
      try {
        created = await writeTransaction(db.prisma, (tx) => createToken(tx, { scope, cluster: v.cluster, name: v.name, expiresAt }));
      } catch (err) {
        if (err instanceof InvalidInputError) throw new UsageError(err.message);
        throw err;
      }
      const t = toToken(created.info);
      if (v.json) {
        io.stdout(JSON.stringify({ ...t, token: created.token }, null, 2) + '\n');
      } else {
        io.stdout(created.token + '\n');
        io.stderr(
          `created token ${t.id} (scope ${t.scope}${t.cluster ? `, cluster ${t.cluster}` : ''}${t.name ? `, name ${t.name}` : ''}, ${t.expiresAt ? `expires ${t.expiresAt}` : 'never expires'}); it is shown only this once\n`,
        );
      }
      return 0;
    });
  }

  if (sub === 'list') {
    if (parsed.positionals.length) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    return withDatabase(async (db) => {
      const items = (await listTokens(db.prisma)).map((t) => toToken(t));
      if (v.json) {
        io.stdout(JSON.stringify({ items }, null, 2) + '\n');
        return 0;
      }
      if (!items.length) {
        io.stdout('no tokens\n');
        return 0;
      }
      const rows = [['ID', 'SCOPE', 'CLUSTER', 'NAME', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'], ...items.map((t) => [t.id, t.scope, t.cluster ?? '-', t.name ?? '-', t.status, t.createdAt, when(t.expiresAt), when(t.lastUsedAt)])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      io.stdout(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
      return 0;
    });
  }

  if (sub === 'revoke') {
    const [id, ...more] = parsed.positionals;
    if (!id || more.length) throw new UsageError('usage: packetpath token revoke ID');
    return withDatabase(async (db) => {
      try {
        const t = await writeTransaction(db.prisma, (tx) => revokeToken(tx, id));
        io.stderr(`token ${t.id} revoked\n`);
        return 0;
      } catch (err) {
        if (err instanceof NotFoundError) throw new InputError(err.message);
        throw err;
      }
    });
  }

  throw new UsageError(`unknown token command "${sub}"\nusage: packetpath ${TOKEN_USAGE}`);
}
