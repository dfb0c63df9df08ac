// The least-recently-used map behind the ruleset cache and the read cache.
/** A small least-recently-used map. `max` 0 disables caching. */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  readonly #weights = new Map<K, number>();
  #weight = 0;
  hits = 0;
  misses = 0;
  /**
   * At most `max` entries and, with `maxWeight`, at most that much weight in
   * all (an entry heavier than that alone is not kept). Hand-written rather
   * than lru-cache: the hit/miss counters are part of the read path's tests.
   */
  constructor(
    readonly max: number,
    readonly options: {
      readonly maxWeight?: number;
      readonly weigh?: (value: V) => number;
      /** Told of every entry dropped (evicted or replaced; not on `clear`), after it is gone. */
      readonly onDrop?: (key: K, value: V) => void;
    } = {},
  ) {}

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    if (this.max <= 0) return;
    const w = this.options.weigh ? this.options.weigh(value) : 0;
    const limit = this.options.maxWeight ?? Infinity;
    this.#drop(key);
    if (w > limit) return;
    this.#map.set(key, value);
    this.#weights.set(key, w);
    this.#weight += w;
    this.#evict();
  }

  /** Weighs `key`'s entry again (what it holds alone changed: see nft-cache.ts), recency unchanged; evicts if now over. */
  reweigh(key: K): void {
    const value = this.#map.get(key);
    if (value === undefined || !this.options.weigh) return;
    const w = this.options.weigh(value);
    this.#weight += w - (this.#weights.get(key) ?? 0);
    this.#weights.set(key, w);
    this.#evict();
  }

  /** The most recently used value (no hit counted), or undefined. */
  newest(): V | undefined {
    let last: V | undefined;
    for (const v of this.#map.values()) last = v;
    return last;
  }

  /** The keys, least recently used first (recency unchanged). */
  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  #evict(): void {
    const limit = this.options.maxWeight ?? Infinity;
    while (this.#map.size > this.max || this.#weight > limit) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#drop(oldest.value);
    }
  }

  #drop(key: K): void {
    const value = this.#map.get(key);
    if (!this.#map.delete(key)) return;
    this.#weight -= this.#weights.get(key) ?? 0;
    this.#weights.delete(key);
    if (this.options.onDrop) this.options.onDrop(key, value as V);
  }

  /** The weight of what is kept (rules, for the ruleset cache). */
  get weight(): number {
    return this.#weight;
  }

  /** `key`'s value, without counting a hit or miss or making it recent. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  /** Whether `key` is cached (no hit/miss counted, recency unchanged). */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map.clear();
    this.#weights.clear();
    this.#weight = 0;
  }
}
