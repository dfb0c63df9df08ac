// Pages of a version's rules and chains: a 700k-line node's KUBE-SERVICES
// chain, or a search that matches most of it, is answered a page at a time
// instead of as one giant JSON document. A cursor names the version and the
// position after the last item sent, so every page of one walk reads the
// same version even when a newer one is uploaded meanwhile.
import { Type } from '@sinclair/typebox';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../store/index.ts';

export const RULES_DEFAULT_LIMIT = 1000;
export const RULES_MAX_LIMIT = 10_000;

export const RulePageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: RULES_MAX_LIMIT, description: `Items per page (1–${RULES_MAX_LIMIT}, default ${RULES_DEFAULT_LIMIT})` })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: '`nextCursor` of the previous page (it also pins the version read)' })),
});

export const NextCursorSchema = Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page (same version); null on the last page' });

export interface PagePosition {
  /** The version the walk reads (from the cursor), if one was given. */
  readonly dump?: number;
  /** Items to skip. */
  readonly at: number;
  readonly limit: number;
}

/** Where a page starts: the cursor's version and position, or the first page. */
export function pagePosition(q: { limit?: number | undefined; cursor?: string | undefined }): PagePosition {
  const limit = q.limit ?? RULES_DEFAULT_LIMIT;
  if (q.cursor === undefined) return { at: 0, limit };
  const c = decodeCursor(q.cursor, 'at', 'number') as { at: number; dump?: unknown };
  if (!Number.isSafeInteger(c.dump) || (c.dump as number) < 1 || c.at < 0) throw new InvalidCursorError();
  return { dump: c.dump as number, at: c.at, limit };
}

/** The cursor of the page after one that ended before item `at` (null when nothing is left). */
export const nextCursor = (dump: number, at: number, more: boolean): string | null => (more ? encodeCursor({ dump, at }) : null);

/** One page of `items` from `p`, and the cursor of the next. */
export function pageOf<T>(items: readonly T[], p: PagePosition, dump: number): { page: T[]; nextCursor: string | null } {
  const page = items.slice(p.at, p.at + p.limit);
  return { page, nextCursor: nextCursor(dump, p.at + page.length, p.at + page.length < items.length) };
}
