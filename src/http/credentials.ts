// Credentials never travel in the URL: URLs end up in proxy, browser and
// server logs. A request carrying one is refused (plugins/request-guards.ts)
// and the request log line shows the URL with it redacted.
import type { FastifyRequest } from 'fastify';

/** Query parameters that carry credentials by convention (compared case-insensitively). */
export const CREDENTIAL_PARAMS: readonly string[] = ['token', 'access_token', 'accesstoken', 'api_key', 'apikey', 'api-key', 'auth', 'authorization', 'bearer', 'password', 'secret'];

/** A packetpath token anywhere in a text (the id is public; what follows it is the secret). */
const TOKEN_IN_TEXT = /(ppt_[0-9a-f]{12}_)[A-Za-z0-9_-]+/gi;
const REDACTED = '[redacted]';

const isCredentialParam = (name: string): boolean => CREDENTIAL_PARAMS.includes(name.toLowerCase());

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The query parameter that carries a credential (by its name or a token-shaped value), if any. */
export function credentialInUrl(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    if (isCredentialParam(name) || new RegExp(TOKEN_IN_TEXT.source, 'i').test(value)) return name.slice(0, 64);
  }
  return undefined;
}

/** The URL with credential parameters' values and any token's secret replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(TOKEN_IN_TEXT, `$1${REDACTED}`);
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (isCredentialParam(decode(name))) return `${name}=${REDACTED}`;
      return new RegExp(TOKEN_IN_TEXT.source, 'i').test(decode(value)) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}

/**
 * pino's `req` serializer: Fastify's default fields, with the URL redacted.
 * `remoteAddress` is `request.ip`, the client behind trusted proxies (TRUST_PROXY).
 */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url ?? ''),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
