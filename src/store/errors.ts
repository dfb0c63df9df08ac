// Errors the store raises for the HTTP layer to map (src/http/plugins/errors.ts).
import type { Diagnostic } from '../netfilter/index.ts';

export type StoreErrorKind = 'not-found' | 'conflict' | 'invalid-cursor' | 'unprocessable' | 'forbidden' | 'unavailable' | 'full';

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    /** Extra members for the problem document. */
    readonly extras: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export class NotFoundError extends StoreError {
  override readonly name = 'NotFoundError';
  constructor(message: string) {
    super('not-found', message);
  }
}

/** The database cannot take writes (its file was deleted or replaced, or is read-only): nothing was written. */
export class StoreUnavailableError extends StoreError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** The disk under the database is full (SQLITE_FULL): the write was rolled back, nothing was stored. */
export class StoreFullError extends StoreError {
  override readonly name = 'StoreFullError';
  constructor(message: string) {
    super('full', message);
  }
}

export class InvalidCursorError extends StoreError {
  override readonly name = 'InvalidCursorError';
  constructor(message = 'the cursor is not one this server returned') {
    super('invalid-cursor', message);
  }
}

/** A line-numbered problem with a dump, the shape of a parser diagnostic. */
export type Problem = Pick<Diagnostic, 'line' | 'column' | 'severity' | 'code' | 'message'>;

/** A dump that cannot be stored: nothing usable was read, or strict mode found errors. */
export class DumpParseError extends StoreError {
  override readonly name = 'DumpParseError';
  constructor(
    message: string,
    readonly problems: readonly Problem[],
    /** Which dump of the request: `dump` or `ip6Dump`. */
    readonly field: string = 'dump',
  ) {
    super('unprocessable', message, { problems, field });
  }
}

/** Input that is well-formed JSON but semantically wrong (e.g. a bad host file). */
export class InvalidInputError extends StoreError {
  override readonly name = 'InvalidInputError';
  constructor(message: string, readonly errors: readonly { path: string; message: string }[]) {
    super('unprocessable', message, { errors });
  }
}

/** The caller may not do this (e.g. an upload token limited to another cluster). */
export class ForbiddenError extends StoreError {
  override readonly name = 'ForbiddenError';
  constructor(message: string) {
    super('forbidden', message);
  }
}
