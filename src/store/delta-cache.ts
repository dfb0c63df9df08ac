// The delta-base cache an open database owns (see blobs.ts). Its own module so
// db.ts can create one without importing blobs.ts, which imports db.ts.

export interface DeltaBase {
  readonly sha256: string;
  readonly lines: readonly string[];
  readonly index: () => Map<string, number>;
}

/**
 * The last delta base used, split and indexed: uploads of a fleet are deltas
 * of the same few bases. Content-addressed, so never stale; one entry, and
 * only for texts up to BASE_CACHE_MAX_CHARS (a big base is not kept in memory).
 * Owned by whoever opened the database (`Database.deltaBases`).
 */
export interface DeltaBaseCache {
  last: DeltaBase | null;
}
export const createDeltaBaseCache = (): DeltaBaseCache => ({ last: null });
