// Checks every request gets before any route sees it:
//  - credentials in the URL are refused (400), whatever the route: a token
//    sent that way has already leaked into logs on the way;
//  - a JSON body nested deeper than MAX_JSON_DEPTH is refused (400) before
//    validation: JSON.parse copes with any depth, but the recursive code
//    after it (JSON.stringify of a stored host file, ajv, the core) overflows
//    the stack at a few thousand levels, which was a 500.
import fp from 'fastify-plugin';
import { credentialInUrl } from '../credentials.ts';
import { HttpProblem } from './errors.ts';

/** Deepest JSON nesting accepted in a request body (host files and what-if changes need fewer than 10 levels). */
export const MAX_JSON_DEPTH = 64;

/** Whether `value` nests objects/arrays deeper than `max` levels; iterative, so any depth is safe to ask about. */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

export default fp(
  async (app) => {
    app.addHook('onRequest', async (request) => {
      const param = credentialInUrl(request.url);
      if (param !== undefined) {
        throw new HttpProblem(
          400,
          'credentials-in-url',
          `credentials are never accepted in the URL (query parameter "${param}"): send the token in the Authorization header as "Bearer <token>". A token sent in a URL may be in proxy and browser logs: revoke it and create a new one`,
          { parameter: param },
        );
      }
    });
    app.addHook('preValidation', async (request) => {
      if (request.body !== null && typeof request.body === 'object' && deeperThan(request.body, MAX_JSON_DEPTH)) {
        throw new HttpProblem(400, 'json-too-deep', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`, { maxDepth: MAX_JSON_DEPTH });
      }
    });
  },
  { name: 'packetpath-request-guards', fastify: '5.x' },
);
