// The OpenAPI document as committed in openapi/openapi.json: generated from
// the route schemas of a real app (on a throwaway database), keys sorted so
// the file is stable, two-space indented with a trailing newline.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './app.ts';
import { DEFAULT_CONFIG } from './config.ts';

/** Deep copy with object keys in sorted order (arrays keep their order). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** The serialized document: what `npm run openapi` writes. */
export const serializeOpenApi = (doc: unknown): string => JSON.stringify(sortKeys(doc), null, 2) + '\n';

/** Builds an app on a temporary database and returns its OpenAPI document. */
export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'packetpath-openapi-'));
  try {
    const app = await buildApp({ config: { ...DEFAULT_CONFIG, databaseUrl: `file:${join(dir, 'openapi.db')}`, logLevel: 'silent' }, logger: false });
    try {
      await app.ready();
      return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
    } finally {
      await app.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
