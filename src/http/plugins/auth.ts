// Bearer-token authentication and per-route scopes.
//
// Every route declares who may call it: `config: { scope: 'public' | 'read' |
// 'upload' | 'admin' }` (or a list: any of them). A route that declares
// nothing is treated as `admin` (fail safe). Tokens (src/store/tokens.ts)
// carry one scope; `admin` implies `read`, `upload` and `scrape` (GET /metrics only); an `upload` token can
// be limited to one cluster (see `writeCluster` / `assertNodeCluster`).
//
// Requests without a token:
//  - public routes: always served;
//  - read routes: served when PACKETPATH_OPEN_READS=true;
//  - anything else: served only while the server is *open*: bound to a
//    loopback address and no token was ever created (the local default; a
//    warning is logged at start). Creating the first token closes it for good.
//  - Bound to a non-loopback address with no tokens, the server is *locked*:
//    everything but public routes (and reads with PACKETPATH_OPEN_READS) is
//    refused until a token is created with `packetpath token create`.
//
// Failed authentications (a token was presented and was wrong) are counted per
// client address (`request.ip`: behind TRUST_PROXY, the forwarded client) and
// per token id named; past PACKETPATH_AUTH_FAILURE_LIMIT per minute, failing
// credentials from that address or for that id get 429 with Retry-After until
// the minute is over. A valid token is never refused by the limiter.
// Open mode refuses cross-site writes (see crossSiteReason). Authentication
// runs in `onRequest`, before any body is read.
import fp from 'fastify-plugin';
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { findTokenRow, hasTokens, presentedTokenId, scopeAllows, touchToken, verifyTokenWith, type TokenInfo, type TokenScope, type VerifyFailure } from '../../store/index.ts';
import { HttpProblem } from './errors.ts';
import { problemResponse } from '../schemas/common.ts';

export type RouteScope = 'public' | TokenScope;
export const ROUTE_SCOPES: readonly RouteScope[] = ['public', 'read', 'upload', 'admin', 'scrape'];

export type Principal =
  /** A public route: nobody was identified. */
  | { readonly kind: 'public' }
  /** No token, let in by the server's mode: `open` (loopback, no tokens) or `open-reads`. */
  | { readonly kind: 'anonymous'; readonly via: 'open' | 'open-reads' }
  | { readonly kind: 'token'; readonly token: TokenInfo };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (plugins/auth.ts); a list means any of them. Undeclared: `admin`. */
    scope?: RouteScope | readonly RouteScope[];
  }
  interface FastifyRequest {
    /** Who is calling; set by the auth plugin before the body is read. */
    principal: Principal;
  }
  interface FastifyInstance {
    auth: AuthState;
  }
}

export interface AuthState {
  /** The configured HOST is a loopback address. */
  readonly loopback: boolean;
  readonly openReads: boolean;
  /** Whether any token exists (cached once true: tokens are never deleted; "none" until the database changes). */
  hasTokens(): Promise<boolean>;
  /** Routes registered without a `config.scope` (served as admin-only), as `METHOD /url`. */
  readonly undeclared: readonly string[];
  /** The failed-authentication limiter (tests reset it). */
  readonly failures: FailureLimiter;
}

export const REALM = 'packetpath';

/** True for `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped loopback. Anything else (0.0.0.0, ::, a name) is not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === 'localhost.') return true;
  if (!ipaddr.isValid(h)) return false;
  let a = ipaddr.parse(h);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  return a.range() === 'loopback';
}

/** The scopes a route accepts; 'public' when anyone may call it. Undeclared → admin. */
export function routeScopes(declared: RouteScope | readonly RouteScope[] | undefined): 'public' | readonly TokenScope[] {
  const list: readonly RouteScope[] = declared === undefined ? ['admin'] : typeof declared === 'string' ? [declared] : declared;
  if (list.length === 0) return ['admin'];
  if (list.includes('public')) return 'public';
  return list as readonly TokenScope[];
}

/**
 * Failed authentications in fixed windows (one minute) per key: a client
 * address (`ip:…`) or a presented token id (`id:…`). A key reaching the limit
 * is locked until its window ends. Counting and locks are two LRUs, both
 * bounded: a flood of new keys (10,000 addresses, or random token ids) only
 * pushes other *counts* out, never a lock; to evict a lock takes creating
 * `maxLocks` newer ones, each costing `limit` failures within the minute.
 */
export class FailureLimiter {
  private readonly counts: LRUCache<string, { count: number; resetAt: number }>;
  private readonly locks: LRUCache<string, number>;
  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    maxKeys = 20_000,
    maxLocks = 50_000,
  ) {
    this.counts = new LRUCache({ max: maxKeys });
    this.locks = new LRUCache({ max: maxLocks });
  }

  /** Seconds until `key` is unlocked; 0 when it is not locked. */
  blockedFor(key: string, now = Date.now()): number {
    if (this.limit <= 0) return 0;
    const resetAt = this.locks.get(key);
    if (resetAt === undefined) return 0;
    if (resetAt <= now) {
      this.locks.delete(key);
      return 0;
    }
    return Math.max(1, Math.ceil((resetAt - now) / 1000));
  }

  /** Counts a failure; true when it locks `key` (it was not locked before). */
  fail(key: string, now = Date.now()): boolean {
    if (this.limit <= 0) return false;
    let w = this.counts.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + this.windowMs };
      this.counts.set(key, w);
    }
    w.count++;
    if (w.count < this.limit || (this.locks.get(key) ?? 0) > now) return false;
    this.locks.set(key, w.resetAt);
    return true;
  }

  /** Keys counted and locked (both bounded). */
  get size(): { counted: number; locked: number } {
    return { counted: this.counts.size, locked: this.locks.size };
  }

  reset(): void {
    this.counts.clear();
    this.locks.clear();
  }
}

const challenge = (params: Record<string, string> = {}): string =>
  [`Bearer realm="${REALM}"`, ...Object.entries(params).map(([k, v]) => `${k}="${v.replace(/["\\]/g, '')}"`)].join(', ');

function unauthorized(detail: string, error?: 'invalid_request' | 'invalid_token'): HttpProblem {
  const header = error ? challenge({ error, error_description: detail }) : challenge();
  return new HttpProblem(401, 'unauthorized', detail, {}, { 'www-authenticate': header });
}

const FAILURE_DETAIL: Record<VerifyFailure, string> = {
  malformed: 'the bearer token is not a packetpath token',
  unknown: 'the bearer token is not valid',
  revoked: 'the bearer token has been revoked',
  expired: 'the bearer token has expired',
};

const scopeText = (scopes: readonly TokenScope[]): string => scopes.map((s) => `"${s}"`).join(' or ');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const hostnameOf = (host: string): string | undefined => {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
};

/**
 * Why a write without a token must be refused as coming from another site, or
 * undefined when it does not. In open mode any web page the local user opens
 * could otherwise POST here (a `text/plain` form needs no CORS preflight), or
 * reach it by DNS rebinding under its own name. So: the Host must be a
 * loopback name or address, `Sec-Fetch-Site` (when sent) `same-origin` or
 * `none`, and the Origin (when sent) this server's own. The CLI and agents
 * send neither Origin nor Sec-Fetch-Site.
 */
export function crossSiteReason(headers: { host?: string | undefined; origin?: string | undefined; 'sec-fetch-site'?: string | string[] | undefined }): string | undefined {
  const host = headers.host;
  if (host !== undefined) {
    const name = hostnameOf(host);
    if (name === undefined || !isLoopbackHost(name)) return `the Host "${host}" is not a loopback address of this server`;
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `the browser says the request is ${String(site)} (Sec-Fetch-Site)`;
  const origin = headers.origin;
  if (origin !== undefined) {
    let own = false;
    try {
      const o = new URL(origin);
      own = host !== undefined && (o.protocol === 'http:' || o.protocol === 'https:') && o.host === new URL(`http://${host}`).host;
    } catch {
      own = false;
    }
    if (!own) return `the Origin "${origin}" is not this server's own${host !== undefined ? ` (http://${host})` : ''}`;
  }
  return undefined;
}

/** The client address the failure limiter counts (unix-socket clients share one key). */
const clientKey = (request: FastifyRequest): string => request.ip || request.socket?.remoteAddress || 'local';

/** The limiter keys a failed authentication counts against: the client address and the token id it named. */
const failureKeys = (address: string, tokenId: string | undefined): { key: string; what: string }[] => [
  { key: `ip:${address}`, what: `from the address ${address}` },
  ...(tokenId ? [{ key: `id:${tokenId}`, what: `for the token id ${tokenId}` }] : []),
];

/**
 * For writes: the cluster to record and the cluster the node must already be
 * in. A cluster-limited upload token writes to its cluster only (403 when the
 * request names another; the token's cluster when it names none).
 */
export function writeCluster(request: FastifyRequest, requested: string | undefined): { cluster: string | undefined; requireCluster: string | undefined } {
  const p = request.principal;
  const limit = p?.kind === 'token' && p.token.scope === 'upload' ? p.token.cluster : null;
  if (!limit) return { cluster: requested, requireCluster: undefined };
  if (requested !== undefined && requested !== limit) {
    throw new HttpProblem(403, 'forbidden', `this token may only write to cluster "${limit}", not "${requested}"`);
  }
  return { cluster: limit, requireCluster: limit };
}

/** 403 when a cluster-limited upload token asks about a node of another cluster (unknown nodes pass). */
export async function assertNodeCluster(app: FastifyInstance, request: FastifyRequest, node: string): Promise<void> {
  const p = request.principal;
  const limit = p?.kind === 'token' && p.token.scope === 'upload' ? p.token.cluster : null;
  if (!limit) return;
  const row = await app.db.prisma.node.findUnique({ where: { name: node }, select: { cluster: true } });
  if (row && row.cluster !== limit) throw new HttpProblem(403, 'forbidden', `node "${node}" is not in cluster "${limit}", the only cluster this token may access`);
}

const TOUCH_EVERY_MS = 60_000;

export default fp(
  async (app) => {
    const { config } = app;
    const loopback = isLoopbackHost(config.host);
    const failures = new FailureLimiter(config.authFailureLimit);
    // Route options as registered; later onRoute hooks (e.g. the docs' default
    // scope in plugins/swagger.ts) may still set `config.scope`, so undeclared
    // routes are worked out when asked.
    const registered: RouteOptions[] = [];
    const undeclared = (): string[] =>
      registered
        .filter((r) => r.config?.scope === undefined)
        .map((r) => `${Array.isArray(r.method) ? r.method.join(',') : r.method} ${r.url}`)
        .filter((r) => !r.startsWith('HEAD '));
    let tokensExist = await hasTokens(app.db.prisma);
    const lastTouch = new Map<string, number>();

    const state: AuthState = {
      loopback,
      openReads: config.openReads,
      async hasTokens() {
        // "None yet" is asked on every open-mode request: answered from the read cache until the database changes.
        if (!tokensExist) tokensExist = await app.readCache.volatile('tokens-exist', () => hasTokens(app.db.prisma));
        return tokensExist;
      },
      get undeclared() {
        return undeclared();
      },
      failures,
    };
    app.decorate('auth', state);
    app.decorateRequest('principal', null as unknown as { kind: 'public' });

    if (!tokensExist && loopback) {
      app.log.warn(
        { host: config.host },
        'no API tokens exist: the API is OPEN to every client that can reach this loopback address (read, upload and admin); create a token with `packetpath token create` to require authentication',
      );
    } else if (!tokensExist) {
      app.log.error(
        { host: config.host, openReads: config.openReads },
        `bound to the non-loopback address ${config.host} and no API tokens exist: ${config.openReads ? 'reads are served without a token (PACKETPATH_OPEN_READS), ' : ''}uploads and admin requests are refused until a token is created with \`packetpath token create\``,
      );
    }
    if (config.openReads) app.log.warn('PACKETPATH_OPEN_READS is set: read routes are served without a token');

    // Every route: remember undeclared scopes; document security and auth errors in OpenAPI.
    app.addHook('onRoute', (route: RouteOptions) => {
      registered.push(route);
      const declared = route.config?.scope;
      const scopes = routeScopes(declared);
      const schema = route.schema as (Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown> }) | undefined;
      if (!schema || schema.hide) return;
      if (scopes === 'public') {
        route.schema = { ...schema, security: [] };
        return;
      }
      const response = { ...(schema.response ?? {}) };
      response['401'] ??= problemResponse(401, 'No valid bearer token (missing, unknown, expired or revoked)', {
        'WWW-Authenticate': { type: 'string', description: '`Bearer realm="packetpath"` (with `error="invalid_token"` when a token was given)' },
      });
      const writes = [route.method].flat().some((m) => !SAFE_METHODS.has(m));
      response['403'] ??= problemResponse(403, 
        `The token's scope does not allow this (needs ${scopeText(scopes)}${scopes.includes('admin') ? '' : ' or "admin"'})${scopes.includes('upload') ? ', or the token is limited to another cluster' : ''}` +
          (writes ? '; or, without a token on an open server, the request comes from another site (Origin, Sec-Fetch-Site or Host)' : ''),
      );
      response['429'] ??= problemResponse(429, 'Too many failed authentications from this address or for this token id (a valid token is still served)', {
        'Retry-After': { type: 'integer', description: 'Seconds until failing credentials from this address or for this token id are answered again' },
      });
      route.schema = {
        ...schema,
        security: scopes.map((s) => ({ bearerAuth: [s] })),
        response,
      };
    });

    app.addHook('onRequest', async (request) => {
      if (request.is404) return; // unknown routes: the not-found handler answers
      const scopes = routeScopes(request.routeOptions.config.scope);
      if (scopes === 'public') {
        request.principal = { kind: 'public' };
        return;
      }
      const header = request.headers.authorization;
      if (header !== undefined) {
        const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
        // The token's row through the read cache (until the database changes: a revocation is seen at once);
        // hash, revocation and expiry are checked on every request.
        const result = m ? await verifyTokenWith((id) => app.readCache.volatile(`token:${id}`, () => findTokenRow(app.db.prisma, id)), m[1]!) : undefined;
        if (!result?.ok) {
          // Locks refuse only credentials that failed: a valid token is always served, so nobody sharing an
          // address (NAT, an Ingress) or guessing at a token's public id can lock its holder out. The secret
          // has 256 bits; the limit is there to stop scans and their noise, not to make guessing harder.
          const id = m ? presentedTokenId(m[1]!) : undefined;
          const keys = failureKeys(clientKey(request), id);
          const lock = keys.map((k) => ({ ...k, wait: failures.blockedFor(k.key) })).sort((a, b) => b.wait - a.wait)[0]!;
          if (lock.wait > 0) {
            throw new HttpProblem(429, 'too-many-failed-authentications', `too many failed authentications ${lock.what}; retry in ${lock.wait} s`, { retryAfter: lock.wait }, { 'retry-after': String(lock.wait) });
          }
          for (const k of keys) if (failures.fail(k.key)) request.log.warn({ locked: k.what, limit: failures.limit }, 'too many failed authentications: locked for the rest of the minute');
          const reason = result ? result.reason : 'not-bearer';
          request.log.info({ reason, token: id }, 'authentication failed');
          if (!result) throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
          throw unauthorized(FAILURE_DETAIL[result.reason], 'invalid_token');
        }
        tokensExist = true;
        const token = result.token;
        const now = Date.now();
        if (now - (lastTouch.get(token.id) ?? 0) >= TOUCH_EVERY_MS) {
          lastTouch.set(token.id, now);
          await touchToken(app.db.prisma, token.id, new Date(now)).catch((err: unknown) => request.log.debug({ err }, 'could not record token use'));
        }
        if (!scopes.some((s) => scopeAllows(token.scope, s))) {
          request.log.info({ token: token.id, scope: token.scope, needs: scopes }, 'token scope does not allow this route');
          throw new HttpProblem(
            403,
            'insufficient-scope',
            `this token has scope "${token.scope}"; ${request.method} ${request.routeOptions.url ?? request.url} needs ${scopeText(scopes)}`,
            { scope: token.scope, needs: [...scopes] },
            { 'www-authenticate': challenge({ error: 'insufficient_scope', scope: scopes.join(' ') }) },
          );
        }
        request.principal = { kind: 'token', token };
        return;
      }
      if (config.openReads && scopes.includes('read')) {
        request.principal = { kind: 'anonymous', via: 'open-reads' };
        return;
      }
      if (loopback && !(await state.hasTokens())) {
        const why = SAFE_METHODS.has(request.method) ? undefined : crossSiteReason(request.headers);
        if (why) {
          request.log.warn({ why, origin: request.headers.origin, host: request.headers.host }, 'cross-site write refused (open mode)');
          throw new HttpProblem(
            403,
            'cross-site-request',
            `this server is open (loopback, no tokens), so it only takes writes from its own pages and from non-browser clients: ${why}. Send the request without a foreign Origin, or create a token and send it as "Authorization: Bearer <token>"`,
          );
        }
        request.principal = { kind: 'anonymous', via: 'open' };
        return;
      }
      if (!loopback && !(await state.hasTokens())) {
        throw unauthorized(`this server is bound to ${config.host} and has no API tokens yet, so it only serves ${config.openReads ? 'reads and ' : ''}health checks: create a token on the server with \`packetpath token create --scope ${scopes[0] ?? 'admin'}\``);
      }
      throw unauthorized(`this route needs a bearer token with scope ${scopeText(scopes)}${scopes.includes('admin') ? '' : ' (or "admin")'}: send "Authorization: Bearer <token>"`);
    });

    app.addHook('onReady', async () => {
      const missing = undeclared();
      if (missing.length) app.log.warn({ routes: missing }, 'routes without config.scope are admin-only');
    });
  },
  { name: 'packetpath-auth', fastify: '5.x', dependencies: ['packetpath-db', 'packetpath-schemas'] },
);
