// API bearer tokens. A token is `ppt_<id>_<secret>`: `id` (12 hex digits) is
// public (listings, `revoke ID`), `secret` is 32 random bytes (base64url).
// Only the sha256 of the whole token text is stored; verification looks the
// row up by id and compares hashes with crypto.timingSafeEqual. Tokens are
// never deleted, only revoked, so "this server has tokens" never flips back.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Client } from './db.ts';
import { parseDuration } from './duration.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';

/** `scrape`: GET /metrics and nothing else (a Prometheus server's token). */
export type TokenScope = 'read' | 'upload' | 'admin' | 'scrape';
export const TOKEN_SCOPES: readonly TokenScope[] = ['read', 'upload', 'admin', 'scrape'];

export const isTokenScope = (s: unknown): s is TokenScope => typeof s === 'string' && (TOKEN_SCOPES as readonly string[]).includes(s);

/** What a token may do: admin implies read, upload and scrape. */
export function scopeAllows(granted: TokenScope, needed: TokenScope): boolean {
  return granted === 'admin' || granted === needed;
}

export interface TokenInfo {
  /** Public id (12 hex digits). */
  readonly id: string;
  readonly name: string | null;
  readonly scope: TokenScope;
  /** Upload tokens limited to one cluster; null: any cluster. */
  readonly cluster: string | null;
  /** The token's first characters, `ppt_<id>_`, to recognise it (the secret part is never shown again). */
  readonly prefix: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

export interface CreateTokenInput {
  readonly scope: TokenScope;
  readonly cluster?: string | null | undefined;
  readonly name?: string | null | undefined;
  readonly expiresAt?: Date | null | undefined;
  readonly now?: Date | undefined;
}

export interface CreatedToken {
  /** The token text: shown once, never stored. */
  readonly token: string;
  readonly info: TokenInfo;
}

const TOKEN_TEXT = /^ppt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const TOKEN_ID = /^[0-9a-f]{12}$/;
/** Compared against when the id is unknown, so the answer takes as long either way. */
const DUMMY_HASH = createHash('sha256').update('packetpath: no such token').digest();

const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export const tokenPrefix = (id: string): string => `ppt_${id}_`;

/** The id a presented text names (`ppt_<id>_…`), valid or not; undefined when it names none. */
export const presentedTokenId = (text: string): string | undefined => /^ppt_([0-9a-f]{12})_/.exec(text)?.[1];

/** True for text shaped like a packetpath token (says nothing about validity). */
export const looksLikeToken = (text: string): boolean => TOKEN_TEXT.test(text);

export type TokenRow = {
  id: string;
  name: string | null;
  scope: string;
  cluster: string | null;
  hash: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
};

function toInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope as TokenScope,
    cluster: row.cluster,
    prefix: tokenPrefix(row.id),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
  };
}

/** The longest lifetime a token may be given (10 years); for longer, create it without an expiry. */
export const MAX_TOKEN_LIFETIME_MS = 3653 * 86_400_000;
const MAX_TOKEN_LIFETIME_TEXT = '10 years (3653d)';

/**
 * When a token given `lifetime` (e.g. `30d`, see parseDuration) at `now` expires.
 * InvalidInputError (naming `path`) when it is not a lifetime, is zero, or exceeds 10 years.
 */
export function expiryAfter(lifetime: string, now: Date, path = '/body/expiresIn'): Date {
  const ms = parseDuration(lifetime);
  if (!ms) throw new InvalidInputError(`"${lifetime}" is not a lifetime`, [{ path, message: 'e.g. 3600, 90m, 12h, 30d' }]);
  if (ms > MAX_TOKEN_LIFETIME_MS) {
    throw new InvalidInputError(`a token lifetime may be at most ${MAX_TOKEN_LIFETIME_TEXT}, not "${lifetime}"; create it without an expiry instead`, [
      { path, message: `at most ${MAX_TOKEN_LIFETIME_TEXT}` },
    ]);
  }
  return new Date(now.getTime() + ms);
}

/** Creates a token; the returned `token` text is the only copy. */
export async function createToken(tx: Client, input: CreateTokenInput): Promise<CreatedToken> {
  if (!isTokenScope(input.scope)) throw new InvalidInputError(`unknown scope "${String(input.scope)}"`, [{ path: '/body/scope', message: `must be one of ${TOKEN_SCOPES.join(', ')}` }]);
  const cluster = input.cluster?.trim() || null;
  if (cluster !== null && input.scope !== 'upload') {
    throw new InvalidInputError('only upload tokens can be limited to a cluster', [{ path: '/body/cluster', message: 'only with scope "upload"' }]);
  }
  const now = input.now ?? new Date();
  if (input.expiresAt && Number.isNaN(input.expiresAt.getTime())) {
    throw new InvalidInputError('the expiry is not a valid date', [{ path: '/body/expiresAt', message: 'must be a date-time' }]);
  }
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
    throw new InvalidInputError('the expiry is in the past', [{ path: '/body/expiresAt', message: 'must be in the future' }]);
  }
  if (input.expiresAt && input.expiresAt.getTime() - now.getTime() > MAX_TOKEN_LIFETIME_MS) {
    throw new InvalidInputError(`the expiry is more than ${MAX_TOKEN_LIFETIME_TEXT} away`, [{ path: '/body/expiresAt', message: `must be within ${MAX_TOKEN_LIFETIME_TEXT}` }]);
  }
  const id = randomBytes(6).toString('hex');
  const token = `${tokenPrefix(id)}${randomBytes(32).toString('base64url')}`;
  const row = await tx.apiToken.create({
    data: {
      id,
      name: input.name?.trim() || null,
      scope: input.scope,
      cluster,
      hash: hashToken(token).toString('hex'),
      createdAt: now,
      expiresAt: input.expiresAt ?? null,
    },
  });
  return { token, info: toInfo(row) };
}

/** Every token (revoked and expired ones too), oldest first. */
export async function listTokens(tx: Client): Promise<TokenInfo[]> {
  const rows = await tx.apiToken.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return rows.map(toInfo);
}

/** Revokes a token (idempotent: an already revoked token keeps its revocation time). NotFoundError when unknown. */
export async function revokeToken(tx: Client, id: string, now: Date = new Date()): Promise<TokenInfo> {
  if (!TOKEN_ID.test(id)) throw new NotFoundError(`no token "${id}"`);
  const row = await tx.apiToken.findUnique({ where: { id } });
  if (!row) throw new NotFoundError(`no token "${id}"`);
  if (row.revokedAt) return toInfo(row);
  return toInfo(await tx.apiToken.update({ where: { id }, data: { revokedAt: now } }));
}

/** Whether any token was ever created (revoked and expired ones count: the server never re-opens). */
export async function hasTokens(tx: Client): Promise<boolean> {
  return (await tx.apiToken.findFirst({ select: { id: true } })) !== null;
}

export type VerifyFailure = 'malformed' | 'unknown' | 'revoked' | 'expired';
export type VerifyResult = { ok: true; token: TokenInfo } | { ok: false; reason: VerifyFailure };

/** Checks a presented token text. Never throws for bad input. */
export async function verifyToken(tx: Client, presented: string, now: Date = new Date()): Promise<VerifyResult> {
  return verifyTokenWith((id) => findTokenRow(tx, id), presented, now);
}

/** The stored row of a token id (null when there is none): what `verifyTokenWith` checks a presented token against. */
export function findTokenRow(tx: Client, id: string): Promise<TokenRow | null> {
  return tx.apiToken.findUnique({ where: { id } });
}

/**
 * `verifyToken` with the row lookup supplied (e.g. through a cache of
 * `findTokenRow` answers); the hash, revocation and expiry are checked here,
 * on every call.
 */
export async function verifyTokenWith(lookup: (id: string) => Promise<TokenRow | null>, presented: string, now: Date = new Date()): Promise<VerifyResult> {
  const m = TOKEN_TEXT.exec(presented);
  if (!m) return { ok: false, reason: 'malformed' };
  const row = await lookup(m[1]!);
  const given = hashToken(presented);
  const stored = row ? Buffer.from(row.hash, 'hex') : DUMMY_HASH;
  const equal = stored.length === given.length && timingSafeEqual(stored, given);
  if (!row || !equal) return { ok: false, reason: 'unknown' };
  if (row.revokedAt) return { ok: false, reason: 'revoked' };
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, token: toInfo(row) };
}

/** Records a successful use (callers throttle it). */
export async function touchToken(tx: Client, id: string, now: Date = new Date()): Promise<void> {
  await tx.apiToken.update({ where: { id }, data: { lastUsedAt: now } });
}
