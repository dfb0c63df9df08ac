// Opaque pagination cursors: base64url of a small JSON object naming the
// last item of the previous page (keyset pagination, stable under inserts).
import { InvalidCursorError } from './errors.ts';

export interface Page<T> {
  readonly items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly cursor?: string | undefined;
  readonly limit?: number | undefined;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIMIT;
  return Math.min(MAX_LIMIT, Math.max(1, Math.trunc(limit)));
}

export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a cursor and checks it has `key` of the given type. */
export function decodeCursor<K extends string, V extends 'string' | 'number'>(
  cursor: string,
  key: K,
  type: V,
): Record<K, V extends 'string' ? string : number> {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const v = (value as Record<string, unknown> | null)?.[key];
  if (typeof v !== type || (type === 'number' && !Number.isSafeInteger(v))) throw new InvalidCursorError();
  return value as Record<K, V extends 'string' ? string : number>;
}
