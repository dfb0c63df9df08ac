// @ts-check
// The public REST API under /api/v1, called with the user's token
// (`Authorization: Bearer …`, kept in this browser's localStorage).

const TOKEN_KEY = 'packetpath.token';
// Relative to the page (/ui/), so a proxy that serves packetpath under a prefix keeps working.
export const API = '../api/v1';

/** @returns {string} */
export function savedToken() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

/** @param {string} token an empty string forgets it */
export function saveToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** An answer that is not 2xx, with the problem+json detail when there is one. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls the API; JSON in, JSON (or text) out. Throws ApiError on a non-2xx answer.
 * @param {string} method
 * @param {string} path under /api/v1, with its query
 * @param {unknown} [body]
 * @param {string} [accept]
 * @returns {Promise<any>}
 */
export async function call(method, path, body, accept = 'application/json') {
  /** @type {Record<string, string>} */
  const headers = { accept };
  const token = savedToken();
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    const problem = type.includes('json') ? await res.json().catch(() => null) : null;
    const detail = problem && typeof problem.detail === 'string' ? problem.detail : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, detail);
  }
  return type.includes('json') ? res.json() : res.text();
}

/**
 * GET with query parameters (undefined ones left out).
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [query]
 */
export function get(path, query = {}) {
  return call('GET', path + queryString(query));
}

/**
 * A query string (with its `?`; empty without parameters), the undefined and empty ones left out.
 * @param {Record<string, string | number | undefined>} query
 */
export function queryString(query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** @param {string} name */
export function nodePath(name) {
  return `/nodes/${encodeURIComponent(name)}`;
}

/**
 * Every node, following the list's cursor.
 * @returns {Promise<import('./types').NodeInfo[]>}
 */
export async function allNodes() {
  /** @type {import('./types').NodeInfo[]} */
  const nodes = [];
  /** @type {string | undefined} */
  let cursor;
  do {
    /** @type {{ items: import('./types').NodeInfo[], nextCursor: string | null }} */
    const page = await get('/nodes', { limit: 500, cursor });
    nodes.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return nodes;
}
