// The agent's HTTP client: `http://`, `https://` or `unix:/path/to.sock`
// (HTTP over a unix socket) servers, bearer token, gzip-compressed uploads,
// a time limit per request, and errors sorted into what to do about them:
//  - auth:      401/403, the token is wrong or may not do this: stop;
//  - rejected:  other 4xx, the server will never take this snapshot: drop it;
//  - retryable: network errors, timeouts, 408/425/429/5xx: try again later.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';
import type { Family } from './collect.ts';
import type { DeltaUploadBody, NftOnlyUploadBody, UploadBody } from './snapshot.ts';

export type ApiErrorKind = 'auth' | 'rejected' | 'retryable';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status?: number,
    /** From Retry-After, for retryable errors. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ServerTarget {
  /** For display: the URL as given. */
  readonly display: string;
  readonly protocol: 'http:' | 'https:';
  readonly socketPath?: string;
  readonly hostname?: string;
  readonly port?: number;
  /** Path prefix without a trailing slash ('' for none). */
  readonly basePath: string;
}

/** A server's identity for matching kept snapshots: scheme, host (lower case), port and base path, or the socket path. */
export function serverIdentity(t: ServerTarget): string {
  return t.socketPath !== undefined ? `unix:${t.socketPath}${t.basePath}` : `${t.protocol}//${(t.hostname ?? '').toLowerCase()}:${t.port ?? (t.protocol === 'https:' ? 443 : 80)}${t.basePath}`;
}

/** Parses `--server`: `http(s)://host[:port][/base]` or `unix:/path/to.sock`. Throws on anything else. */
export function parseServer(text: string): ServerTarget {
  if (text.startsWith('unix:')) {
    const socketPath = text.slice('unix:'.length);
    if (!socketPath.startsWith('/')) throw new Error(`--server unix:PATH needs an absolute socket path, not "${text}"`);
    return { display: text, protocol: 'http:', socketPath, basePath: '' };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--server must be http://HOST[:PORT], https://HOST[:PORT] or unix:/PATH, not "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--server must use http, https or unix:, not "${url.protocol}"`);
  if (url.username || url.password) throw new Error('--server must not contain credentials: use --token-file');
  return {
    display: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`,
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

export interface UploadResponse {
  readonly status: number;
  readonly id: number;
  readonly sha256: string;
  readonly created: boolean;
  readonly ip6?: { readonly id: number; readonly sha256: string; readonly created: boolean };
  readonly nft?: { readonly id: number; readonly sha256: string; readonly created: boolean };
  /** Bytes of the request body as sent (gzip). */
  readonly sentBytes?: number;
}

export interface ServerClient {
  /** The sha256 of the node's latest version of `family`; null when the node or the family has none. */
  latestSha(node: string, family: Family | 'nft'): Promise<string | null>;
  upload(node: string, body: UploadBody | NftOnlyUploadBody | DeltaUploadBody): Promise<UploadResponse>;
}

export interface ClientOptions {
  readonly server: ServerTarget;
  /** Read at every request (the token file may be rotated). */
  readonly token: () => string;
  readonly timeoutMs: number;
  readonly userAgent?: string;
}

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

const MAX_RESPONSE = 4 * 1024 * 1024;

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** The problem document's `detail` (or the start of the body). */
function detailOf(body: string): string {
  try {
    const v = JSON.parse(body) as { detail?: unknown; title?: unknown };
    if (typeof v.detail === 'string') return v.detail;
    if (typeof v.title === 'string') return v.title;
  } catch {
    /* not JSON */
  }
  return body.slice(0, 200);
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

function classify(method: string, path: string, r: RawResponse): ApiError {
  const detail = detailOf(r.body);
  const what = `${method} ${path}: ${r.status}${detail ? ` ${detail}` : ''}`;
  if (r.status === 401 || r.status === 403) return new ApiError('auth', what, r.status);
  if (RETRYABLE_STATUS.has(r.status) || r.status >= 500) return new ApiError('retryable', what, r.status, retryAfterMs(r.headers['retry-after']));
  return new ApiError('rejected', what, r.status);
}

export function createClient(options: ClientOptions): ServerClient {
  const { server } = options;
  const send = (method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const token = options.token();
      const req: RequestOptions = {
        method,
        path: server.basePath + path,
        headers: {
          accept: 'application/json, application/problem+json',
          'user-agent': options.userAgent ?? 'packetpath-agent',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-length': String(body.length) } : {}),
          ...headers,
        },
        timeout: options.timeoutMs,
        ...(server.socketPath ? { socketPath: server.socketPath } : { hostname: server.hostname, port: server.port }),
      };
      const r = (server.protocol === 'https:' ? httpsRequest : httpRequest)(req, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_RESPONSE) chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(deadline);
          reject(new ApiError('retryable', `${method} ${path}: ${e.message}`));
        });
      });
      // `timeout` is an idle timeout; this bounds the whole exchange.
      const deadline = setTimeout(() => r.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      r.on('timeout', () => r.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      r.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(deadline);
        reject(new ApiError('retryable', `${method} ${server.display}${path}: ${e.code ?? ''}${e.code ? ' ' : ''}${e.message}`.trim()));
      });
      r.end(body);
    });

  const nodePath = (node: string): string => `/api/v1/nodes/${encodeURIComponent(node)}`;

  return {
    async latestSha(node, family) {
      const path = `${nodePath(node)}/dumps/latest/sha?family=${family}`;
      const res = await send('GET', path);
      if (res.status === 404) return null;
      if (res.status !== 200) throw classify('GET', path, res);
      const v = JSON.parse(res.body) as { sha256?: unknown };
      if (typeof v.sha256 !== 'string') throw new ApiError('retryable', `GET ${path}: answer without sha256`);
      return v.sha256;
    },
    async upload(node, body) {
      const path = `${nodePath(node)}/dumps`;
      const gz = gzipSync(Buffer.from(JSON.stringify(body), 'utf8'));
      const res = await send('POST', path, gz, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      if (res.status !== 200 && res.status !== 201) throw classify('POST', path, res);
      type Stored = { id: number; sha256: string; created: boolean };
      const v = JSON.parse(res.body) as Stored & { ip6?: Stored; nft?: Stored };
      const part = (p: Stored) => ({ id: p.id, sha256: p.sha256, created: p.created });
      return { status: res.status, ...part(v), ...(v.ip6 ? { ip6: part(v.ip6) } : {}), ...(v.nft ? { nft: part(v.nft) } : {}), sentBytes: gz.length };
    },
  };
}
