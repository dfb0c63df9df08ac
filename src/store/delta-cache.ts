// The delta-base cache an open database owns (see blobs.ts). Its own module so
// db.ts can create one without importing blobs.ts, which imports db.ts.
import { LRUCache } from 'lru-cache';
import type { Family, Ruleset } from '../netfilter/index.ts';
import { joinedLength } from './encoding.ts';
import { type CanonicalLayout, type CounterText } from './counters-codec.ts';
import type { UploadShape } from './splice-layout.ts';

export interface DeltaBase {
  readonly sha256: string;
  readonly lines: readonly string[];
  readonly index: () => Map<string, number>;
}

/**
 * Characters of whole texts kept as lines for `wholeLines`: two 10k-Service
 * canonical texts (25 MB each), e.g. a cluster's ipv4 and ipv6 bases.
 */
const WHOLE_LINES_MAX_CHARS = 64 * 2 ** 20;

/**
 * The last delta base used, split and indexed: uploads of a fleet are deltas
 * of the same few bases. Content-addressed, so never stale; one entry, and
 * only for texts up to BASE_CACHE_MAX_CHARS (a big base is not kept in memory).
 * Owned by whoever opened the database (`Database.deltaBases`).
 */
export interface DeltaBaseCache {
  last: DeltaBase | null;
  /**
   * Lines of whole texts that other blobs are deltas of (a cluster's shared
   * canonical text), by sha256: every node's uploaded text is read from them
   * plus its own small blobs (delta-base.ts). Content-addressed, never stale.
   */
  readonly wholeLines: LRUCache<string, readonly string[]>;
  /**
   * The canonical ruleset the last delta base read from the store was spliced from (splice-base.ts),
   * kept beside the ruleset cache: a fleet's nodes share it as their base while the cache's budget
   * (RULESET_CACHE_RULES, one 10k-Service node by default) goes to the new version every upload
   * primes, which mostly shares its chains with it. Without it every node re-parsed the base.
   */
  baseRuleset: { readonly family: Family; readonly sha256: string; readonly ruleset: Ruleset } | null;
  /**
   * Counters blobs decoded, by sha256 (a few): a stored delta base's counters are read twice, for its
   * lines (its counted delta) and for its splice layout (splice-base.ts). Content-addressed.
   */
  readonly counters: LRUCache<string, readonly CounterText[]>;
  /**
   * The counter layout of whole lines kept in `wholeLines` (a counted delta's base), by the lines
   * themselves: a fleet's nodes read their uploaded texts over the same canonical lines.
   */
  readonly layouts: WeakMap<readonly string[], CanonicalLayout>;
  /**
   * Line layouts of stored uploads (splice-base.ts), by what their lines are made of (a counted
   * delta's canonical base, its line delta, whether it has counters): uploads made of the same differ
   * in their counters only, which no line's kind or chain depends on, so a cluster's nodes share one.
   */
  readonly uploadShapes: LRUCache<string, UploadShape>;
  /**
   * Each node's latest counters by `nodeId:family` (counter-samples.ts): the next upload's sample is
   * their difference, without decoding the stored blob. Checked against the stored row's sha256s.
   */
  readonly latestCounters: LRUCache<string, LatestCounters>;
}

/** A node family's latest counters in text order, and the canonical text (its layout) they belong to. */
export interface LatestCounters {
  readonly canonicalSha256: string;
  /** The stored counters blob (null: none was stored, the counters said nothing). */
  readonly countersSha256: string | null;
  readonly values: readonly CounterText[];
  /**
   * The canonical text's layout: a new version's counters are matched to these by line without
   * reading the text back, and a spliced version shares most line strings with it (compared by identity).
   */
  readonly layout: CanonicalLayout;
}

/**
 * Counters and lines `latestCounters` holds at most: a 10k-Service node has 235k counters and 300k
 * lines (whose strings its next version mostly shares), so two such nodes or a fleet of small ones.
 */
const LATEST_COUNTERS_MAX = 1_200_000;
export const createDeltaBaseCache = (): DeltaBaseCache => ({
  last: null,
  baseRuleset: null,
  counters: new LRUCache<string, readonly CounterText[]>({ max: 2 }),
  layouts: new WeakMap(),
  uploadShapes: new LRUCache<string, UploadShape>({ max: 4 }),
  latestCounters: new LRUCache<string, LatestCounters>({ maxSize: LATEST_COUNTERS_MAX, sizeCalculation: (c) => Math.max(1, c.values.length + c.layout.lines.length) }),
  wholeLines: new LRUCache<string, readonly string[]>({ maxSize: WHOLE_LINES_MAX_CHARS, sizeCalculation: (lines) => Math.max(1, joinedLength(lines) + 1) }),
});
