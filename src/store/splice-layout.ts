// What the splice fast path of delta uploads (splice.ts) keeps and reads:
// the layout of a canonical text (where each chain's block is, its counter
// slots; shared by every upload with that canonical sha256, so a fleet's
// nodes with one ruleset share it) and of an uploaded text (which chain each
// line belongs to, its counters; per node). Bounded LRUs.
import { createHash, type Hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Chain, Family, Ruleset, Steps, TableName } from '../netfilter/index.ts';
import type { CanonicalLayout, CounterText } from './counters-codec.ts';
import { lastAtOrBefore } from './bisect.ts';
import { countersLineUp, type PreparedDump } from './ingest.ts';

/** What a line of an uploaded text is. */
export const SKIP = 0; // a comment or an empty line
export const RULE = 1; // `[p:b] -A CHAIN ...`
export const DECL = 2; // `:CHAIN POLICY [p:b]`
export const HEAD = 3; // `*table`
export const COMMIT = 4;

/** A pause every 16k lines read. */
const PAUSE_LINES = 16383;

export interface SpliceTable {
  readonly name: TableName;
  /** Global index of its first chain (chains are numbered in canonical order across tables). */
  readonly first: number;
  readonly count: number;
  readonly names: ReadonlyMap<string, number>;
  /** Its built-in chains (global indexes): a changed chain's small parse declares them. */
  readonly builtins: readonly number[];
}

/** A canonical text's layout: shared by every upload with that canonical sha256. */
export interface SpliceCanonical {
  readonly sha256: string;
  readonly family: Family;
  /**
   * The text as pieces (joined: the text) and their offsets: a spliced text is
   * its base's pieces with its new blocks between them, so no splice copies
   * 25 MB (compacted past MAX_PIECES).
   */
  readonly pieces: readonly string[];
  readonly pieceStart: Float64Array;
  readonly length: number;
  /** The same pieces as bytes when the text is ASCII (byte offsets are character offsets): hashed in slices. */
  readonly bytePieces: readonly Buffer[] | null;
  readonly tables: readonly SpliceTable[];
  readonly chainTable: Int32Array;
  readonly ruleCount: Int32Array;
  /** Where each chain's `-A` lines are in `text` (end: before its last newline); an empty chain: where they would go. */
  readonly blockStart: Int32Array;
  readonly blockEnd: Int32Array;
  /** Each chain's slot of its policy counter and of its first rule's, in the counters' text order. */
  readonly policySlot: Int32Array;
  readonly ruleSlot: Int32Array;
  /** The text's lines (split when first needed): a spliced text's lines are these with its new blocks'. */
  lines?: readonly string[];
  /**
   * The sha256 state after every CHECKPOINT_BYTES of the text (an ASCII one; made by the splice that
   * made it): a splice of it hashes only from the last checkpoint before its first changed chain.
   */
  checkpoints?: readonly HashCheckpoint[];
  /** Each chain's declaration and first rule line (`chainLines`), made when first needed. */
  at?: ChainLines;
  /** Rules in all (made when first needed). */
  rules?: number;
}

/** Each chain's declaration line and first rule line (0-based) in a canonical text. */
export interface ChainLines {
  readonly declLine: Int32Array;
  readonly ruleLine: Int32Array;
}

/** A copy of a sha256 after the first `at` bytes of a text. */
export interface HashCheckpoint {
  readonly at: number;
  readonly hash: Hash;
}

/** Bytes between hash checkpoints of a canonical text by default (about a dozen for a 10k-Service node). */
const CHECKPOINT_BYTES = 2 * 2 ** 20;

/** An uploaded text's layout (one node's collection): per line what it is and whose. */
export interface SpliceUpload {
  readonly originalSha256: string;
  readonly canonical: SpliceCanonical;
  readonly lineKind: Uint8Array;
  /** The chain of a RULE or DECL line, the table of a HEAD or COMMIT line. */
  readonly lineChain: Int32Array;
  /** Lines of the HEAD, DECL and COMMIT lines, in order. */
  readonly structure: Int32Array;
  /** Each chain's declaration: its index in `structure`. */
  readonly declAt: Int32Array;
  /** Each chain's first rule line (its rules are contiguous, one rule per line); -1 without rules. */
  readonly runStart: Int32Array;
  /** Counters in the canonical text's order; null when the dump had none at all. */
  readonly counters: readonly CounterText[] | null;
}

export interface SpliceStats {
  spliced: number;
  fallbacks: number;
  /** Why the last delta was not spliced. */
  lastFallback: string | null;
  /** Splices whose canonical text an earlier splice made (its sha256 known, not hashed again). */
  knownTexts: number;
}

export interface SpliceCache {
  readonly canonical: LRUCache<string, SpliceCanonical>;
  readonly uploads: LRUCache<string, SpliceUpload>;
  readonly stats: SpliceStats;
  /** Bytes between a canonical text's hash checkpoints (SpliceCanonical.checkpoints). */
  readonly checkpointBytes: number;
  /** 0, 1, 2, ... (grown by `identity`): runs of line numbers are copied from it, not counted out. */
  iota: Int32Array;
  /**
   * The sha256 of the canonical text a splice made, by `spliceKey` (its base canonical text and its
   * changed chains' blocks): a fleet's nodes making one change make one text, hashed once.
   */
  readonly made: LRUCache<string, string>;
}

/**
 * Bounded by characters of canonical text (a 10k-Service node: 25 M, kept with its bytes) and by lines
 * of uploaded texts (235k per such node, ~40 bytes each with its counters).
 */
export function createSpliceCache(maxCanonicalChars = 96 * 2 ** 20, maxUploadLines = 2_000_000, checkpointBytes = CHECKPOINT_BYTES): SpliceCache {
  return {
    checkpointBytes,
    canonical: new LRUCache<string, SpliceCanonical>({ maxSize: maxCanonicalChars, sizeCalculation: (c) => Math.max(1, c.length) }),
    uploads: new LRUCache<string, SpliceUpload>({ maxSize: maxUploadLines, sizeCalculation: (u) => Math.max(1, u.lineKind.length) }),
    stats: { spliced: 0, fallbacks: 0, lastFallback: null, knownTexts: 0 },
    iota: new Int32Array(0),
    made: new LRUCache<string, string>({ max: 4096 }),
  };
}

/** `[0, 1, ..., n - 1, ...]`: `a.set(identity(c, n).subarray(from, to), at)` writes `from, from + 1, ...` at `at`. */
export function identity(cache: SpliceCache, n: number): Int32Array {
  if (cache.iota.length < n) {
    const iota = new Int32Array(Math.max(n + (n >> 3), 2 * cache.iota.length));
    for (let i = 0; i < iota.length; i++) iota[i] = i;
    cache.iota = iota;
  }
  return cache.iota;
}

export const canonicalKey = (family: Family, sha256: string): string => `${family}:${sha256}`;

const isAscii = (text: string): boolean => Buffer.byteLength(text, 'utf8') === text.length;

/** Pieces of a canonical text at most; past that they are joined again. */
export const MAX_PIECES = 64;

/** Offsets of pieces. */
export function offsetsOf(pieces: readonly string[]): Float64Array {
  const at = new Float64Array(pieces.length + 1);
  for (let i = 0; i < pieces.length; i++) at[i + 1] = at[i]! + pieces[i]!.length;
  return at;
}

/** The text of pieces as one (cons) string: joined without copying them. */
export const ropeText = (pieces: readonly string[]): string => (pieces.length === 1 ? pieces[0]! : pieces.reduce((a, b) => a + b, ''));

/** Calls `piece(k, from, to)` for the parts of the pieces between offsets `from` and `to` of their text. */
export function eachPiece(canon: SpliceCanonical, from: number, to: number, piece: (k: number, a: number, b: number) => void): void {
  const at = canon.pieceStart;
  for (let k = lastAtOrBefore(canon.pieces.length, (i) => at[i]!, from); k < canon.pieces.length && at[k]! < to; k++) {
    const a = Math.max(from, at[k]!) - at[k]!;
    const b = Math.min(to, at[k + 1]!) - at[k]!;
    if (b > a) piece(k, a, b);
  }
}

/** Length of a chain's declaration in a canonical text (`:NAME POLICY [0:0]`). */
const declLength = (c: Chain): number => 1 + c.name.length + 1 + (c.builtin ? (c.policy === null ? 1 : c.policy.length) : 1) + 6;

/** Counter slots from rule counts: per table, every chain's policy, then the rules chain by chain. */
export function slotsOf(tables: readonly SpliceTable[], ruleCount: Int32Array): { policySlot: Int32Array; ruleSlot: Int32Array } {
  const policySlot = new Int32Array(ruleCount.length);
  const ruleSlot = new Int32Array(ruleCount.length);
  let n = 0;
  for (const t of tables) {
    for (let g = t.first; g < t.first + t.count; g++) policySlot[g] = n++;
    for (let g = t.first; g < t.first + t.count; g++) {
      ruleSlot[g] = n;
      n += ruleCount[g]!;
    }
  }
  return { policySlot, ruleSlot };
}

/** The layout of a canonical text from its ruleset (as the canonical text reads back); null when they do not line up. */
function canonicalOf(sha256: string, family: Family, text: string, ruleset: Ruleset): SpliceCanonical | null {
  if (!countersLineUp(ruleset)) return null;
  let chains = 0;
  for (const t of ruleset.tables) chains += t.chains.length;
  const chainTable = new Int32Array(chains);
  const ruleCount = new Int32Array(chains);
  const blockStart = new Int32Array(chains);
  const blockEnd = new Int32Array(chains);
  const tables: SpliceTable[] = [];
  let g = 0;
  let pos = 0;
  for (let ti = 0; ti < ruleset.tables.length; ti++) {
    const t = ruleset.tables[ti]!;
    const names = new Map<string, number>();
    const builtins: number[] = [];
    const first = g;
    pos += 1 + t.name.length;
    for (const c of t.chains) {
      if (c.builtin) builtins.push(g);
      names.set(c.name, g++);
      pos += 1 + declLength(c);
    }
    pos += 1;
    g = first;
    for (const c of t.chains) {
      chainTable[g] = ti;
      ruleCount[g] = c.rules.length;
      blockStart[g] = pos;
      for (const r of c.rules) pos += r.raw.length + 1;
      blockEnd[g] = c.rules.length ? pos - 1 : pos;
      g++;
    }
    pos += 'COMMIT\n'.length;
    tables.push({ name: t.name, first, count: t.chains.length, names, builtins });
  }
  if (pos !== text.length || pos > 0x7fffffff) return null;
  const pieces = [text];
  return { sha256, family, pieces, pieceStart: offsetsOf(pieces), length: text.length, bytePieces: isAscii(text) ? [Buffer.from(text, 'latin1')] : null, tables, chainTable, ruleCount, blockStart, blockEnd, ...slotsOf(tables, ruleCount) };
}

/** The layout of an uploaded text against its canonical one; null unless it is plain iptables-save (see below). */
function* uploadOf(originalSha256: string, lines: readonly string[], canonical: SpliceCanonical, counters: readonly CounterText[] | null): Steps<SpliceUpload | null> {
  // Plain: comments and empty lines anywhere; per table (in the canonical order), `*table`, its
  // chains' declarations once each, then its rules, each chain's in one run of one rule per line, COMMIT.
  const n = lines.length;
  const chains = canonical.chainTable.length;
  const lineKind = new Uint8Array(n);
  const lineChain = new Int32Array(n);
  const structure: number[] = [];
  const runStart = new Int32Array(chains).fill(-1);
  const lineCount = new Int32Array(chains);
  const declared = new Uint8Array(chains);
  const declAt = new Int32Array(chains);
  let t = -1;
  let nextTable = 0;
  let inRules = false;
  let prev = -1;
  let prevPrefix = '';
  for (let i = 0; i < n; i++) {
    if ((i & PAUSE_LINES) === PAUSE_LINES) yield;
    const line = lines[i]!;
    const c0 = line.charCodeAt(0);
    if (line.length === 0 || c0 === 35 /* # */) {
      prev = -1;
      continue;
    }
    if (c0 === 42 /* * */) {
      const table = canonical.tables[nextTable];
      if (t >= 0 || !table || line !== `*${table.name}`) return null;
      t = nextTable++;
      inRules = false;
      lineKind[i] = HEAD;
      lineChain[i] = t;
      structure.push(i);
      prev = -1;
      continue;
    }
    if (t < 0) return null;
    if (c0 === 58 /* : */) {
      const sp = line.indexOf(' ');
      const g = canonical.tables[t]!.names.get(line.slice(1, sp < 0 ? undefined : sp));
      if (inRules || g === undefined || declared[g]) return null;
      declared[g] = 1;
      lineKind[i] = DECL;
      lineChain[i] = g;
      declAt[g] = structure.length;
      structure.push(i);
      prev = -1;
      continue;
    }
    if (line === 'COMMIT') {
      lineKind[i] = COMMIT;
      lineChain[i] = t;
      structure.push(i);
      t = -1;
      prev = -1;
      continue;
    }
    let from = 0;
    if (c0 === 91 /* [ */) {
      const end = line.indexOf('] ');
      if (end < 0) return null;
      from = end + 2;
    }
    let g: number | undefined;
    if (prev >= 0 && line.startsWith(prevPrefix, from)) g = prev;
    else {
      if (!line.startsWith('-A ', from)) return null;
      const sp = line.indexOf(' ', from + 3);
      const name = line.slice(from + 3, sp < 0 ? undefined : sp);
      g = canonical.tables[t]!.names.get(name);
      if (g === undefined || runStart[g] !== -1) return null;
      runStart[g] = i;
      prevPrefix = `-A ${name} `;
    }
    inRules = true;
    lineKind[i] = RULE;
    lineChain[i] = g;
    lineCount[g] = lineCount[g]! + 1;
    prev = g;
  }
  if (t >= 0 || nextTable !== canonical.tables.length) return null;
  for (let g = 0; g < chains; g++) if (!declared[g] || lineCount[g] !== canonical.ruleCount[g]) return null;
  return { originalSha256, canonical, lineKind, lineChain, structure: Int32Array.from(structure), declAt, runStart, counters };
}

/**
 * Keeps what the fast path needs of a prepared upload (its uploaded text's lines given), so a delta
 * of it can be spliced: only a plain iptables-save upload without diagnostics, whose canonical ruleset
 * is the ruleset cache's. Returns whether it was kept.
 */
export function* rememberForSpliceSteps(cache: SpliceCache, p: PreparedDump, lines: readonly string[]): Steps<boolean> {
  // Lines are split on '\n' only; a CR would be read as part of a line here and as white space by the parser.
  if (!p.ruleset || !p.canonicalExact || p.format !== 'iptables-save' || p.diagnostics.length || p.originalBytes || p.originalText.includes('\r')) return false;
  if (cache.uploads.has(p.originalSha256)) return true;
  const counters = p.countersInTextOrder ?? null;
  if (p.countersJson !== null && !counters) return false;
  const key = canonicalKey(p.family, p.sha256);
  let canonical = cache.canonical.get(key);
  if (!canonical) {
    const made = canonicalOf(p.sha256, p.family, p.canonicalText, p.ruleset);
    if (!made) return false;
    // Its lines when the preparer split them (the store reads the same): the first splice need not.
    if (p.canonicalLines) made.lines = p.canonicalLines;
    cache.canonical.set(key, (canonical = made));
    yield;
  }
  const upload = yield* uploadOf(p.originalSha256, lines, canonical, counters);
  if (!upload) return false;
  cache.uploads.set(p.originalSha256, upload);
  return true;
}

/** Each chain's declaration line and first rule line (0-based) in the canonical text of these tables and rule counts. */
export function chainLines(tables: readonly SpliceTable[], ruleCount: Int32Array): ChainLines {
  const declLine = new Int32Array(ruleCount.length);
  const ruleLine = new Int32Array(ruleCount.length);
  let ln = 0;
  for (const t of tables) {
    for (let g = t.first; g < t.first + t.count; g++) declLine[g] = ln + 1 + g - t.first;
    ln += 1 + t.count;
    for (let g = t.first; g < t.first + t.count; g++) {
      ruleLine[g] = ln;
      ln += ruleCount[g]!;
    }
    ln++;
  }
  return { declLine, ruleLine };
}

/** `chainLines` of a canonical text, kept with its layout. */
export const chainLinesOf = (canon: SpliceCanonical): ChainLines => (canon.at ??= chainLines(canon.tables, canon.ruleCount));

/** How many rules a canonical text has, kept with its layout. */
export function rulesOf(canon: SpliceCanonical): number {
  if (canon.rules === undefined) {
    let n = 0;
    for (let g = 0; g < canon.ruleCount.length; g++) n += canon.ruleCount[g]!;
    canon.rules = n;
  }
  return canon.rules;
}

/**
 * `canonicalLayout(lines)` of a canonical text of these tables, rule counts and counter slots, without
 * reading its lines. A table is its header, a line per counter slot (its chains' declarations, then
 * its rules) and COMMIT, so the slots of table `ti` are on lines slot + 2 × ti + 1: copied from
 * `iota` (`identity`, at least `countSlots + 2 × tables + 1` long), not counted out per slot.
 */
export function layoutOf(
  tables: readonly SpliceTable[],
  ruleCount: Int32Array,
  slots: { policySlot: Int32Array; ruleSlot: Int32Array },
  lines: readonly string[],
  iota: Int32Array,
): CanonicalLayout {
  const last = tables.at(-1);
  const n = last && last.count ? slots.ruleSlot[last.first + last.count - 1]! + ruleCount[last.first + last.count - 1]! : countSlots(tables, ruleCount);
  const slotLine = new Int32Array(n);
  const slotKind = new Uint8Array(n);
  for (let ti = 0; ti < tables.length; ti++) {
    const t = tables[ti]!;
    if (t.count === 0) continue;
    const start = slots.policySlot[t.first]!;
    const last = t.first + t.count - 1;
    const end = slots.ruleSlot[last]! + ruleCount[last]!;
    slotLine.set(iota.subarray(start + 2 * ti + 1, end + 2 * ti + 1), start);
    slotKind.fill(1, start + t.count, end);
  }
  return { lines, slotLine, slotKind };
}

export function countSlots(tables: readonly SpliceTable[], ruleCount: Int32Array): number {
  let n = 0;
  for (const t of tables) {
    n += t.count;
    for (let g = t.first; g < t.first + t.count; g++) n += ruleCount[g]!;
  }
  return n;
}

/** How many characters splicing the changed chains' blocks adds to a canonical text. */
export function sizeChange(canon: SpliceCanonical, dirty: readonly number[], blocks: ReadonlyMap<number, { text: string; lines: readonly string[] }>): number {
  let n = 0;
  for (const g of dirty) {
    const block = blocks.get(g)!;
    const had = canon.ruleCount[g]! > 0;
    const has = block.lines.length > 0;
    if (had) n -= canon.blockEnd[g]! - canon.blockStart[g]! + (has ? 0 : 1);
    if (has) n += block.text.length + (had ? 0 : 1);
  }
  return n;
}

/**
 * The layout of a spliced canonical text: the base's, blocks moved by what was spliced before them
 * (`dirty` ascending; only the chains after a block that changed size are moved one by one).
 */
export function shiftedCanonical(
  canon: SpliceCanonical,
  sha256: string,
  pieces: readonly string[],
  length: number,
  bytePieces: readonly Buffer[] | null,
  dirty: readonly number[],
  blocks: ReadonlyMap<number, { text: string; lines: readonly string[] }>,
  ruleCount: Int32Array,
  slots: { policySlot: Int32Array; ruleSlot: Int32Array },
  sameCounts: boolean,
): SpliceCanonical | null {
  if (length > 0x7fffffff) return null;
  const blockStart = canon.blockStart.slice();
  const blockEnd = canon.blockEnd.slice();
  let shift = 0;
  const move = (from: number, to: number): void => {
    if (!shift) return;
    for (let g = from; g < to; g++) {
      blockStart[g] = blockStart[g]! + shift;
      blockEnd[g] = blockEnd[g]! + shift;
    }
  };
  let next = 0;
  for (const g of dirty) {
    move(next, g);
    next = g + 1;
    const block = blocks.get(g)!;
    const s = canon.blockStart[g]! + shift;
    const had = canon.ruleCount[g]! > 0;
    const has = block.lines.length > 0;
    blockStart[g] = s;
    blockEnd[g] = has ? s + block.text.length : s;
    if (had && has) shift += block.text.length - (canon.blockEnd[g]! - canon.blockStart[g]!);
    else if (had) shift -= canon.blockEnd[g]! - canon.blockStart[g]! + 1;
    else if (has) shift += block.text.length + 1;
  }
  move(next, blockStart.length);
  return {
    sha256,
    family: canon.family,
    pieces,
    pieceStart: offsetsOf(pieces),
    length,
    bytePieces,
    tables: canon.tables,
    chainTable: canon.chainTable,
    ruleCount,
    blockStart,
    blockEnd,
    ...slots,
    // Its lines are where its base's are when no chain changed its number of rules.
    ...(sameCounts && canon.at ? { at: canon.at } : {}),
    ...(sameCounts && canon.rules !== undefined ? { rules: canon.rules } : {}),
  };
}

// ---- Layouts of a stored upload (splice-base.ts): a fleet's node whose layout is not in memory.

/**
 * Keeps the layouts of an upload read back from the store, as `rememberForSpliceSteps` keeps a
 * prepared one's: its canonical text and that text's parse (`canonicalExact`: a plain iptables-save
 * upload without diagnostics), its uploaded text's lines, and its counters in the canonical text's
 * order (null: none at all). The canonical layout is shared by sha256 (a cluster's nodes make it
 * once). Returns whether it was kept.
 */
export function* rememberStoredSteps(
  cache: SpliceCache,
  /** The canonical text is needed only when its layout is not kept (`hasCanonical`). */
  canonical: { readonly family: Family; readonly sha256: string; readonly text: string | null; readonly ruleset: Ruleset },
  originalSha256: string,
  lines: readonly string[],
  /** From the version's counters blob; null when it has none (see `declaredCounters`). */
  counters: readonly CounterText[] | null,
  /**
   * Line layouts of uploads made of the same lines but for their counters (`DeltaBaseCache.uploadShapes`),
   * and this upload's key there: a cluster's nodes share one, made once.
   */
  shape?: { readonly key: string; readonly shapes: LRUCache<string, UploadShape> },
): Steps<boolean> {
  if (cache.uploads.has(originalSha256)) return true;
  const key = canonicalKey(canonical.family, canonical.sha256);
  let layout = cache.canonical.get(key);
  if (!layout) {
    if (canonical.text === null) return false;
    const made = canonicalOf(canonical.sha256, canonical.family, canonical.text, canonical.ruleset);
    if (!made) return false;
    yield;
    // Shared by the cluster's nodes: their splices hash only from the last checkpoint before their first change.
    if (made.bytePieces) made.checkpoints = yield* checkpointsOf(made.bytePieces[0]!, cache.checkpointBytes);
    cache.canonical.set(key, (layout = made));
  }
  if (counters && counters.length !== countSlots(layout.tables, layout.ruleCount)) return false;
  const known = shape?.shapes.get(shape.key);
  let upload: SpliceUpload | null;
  if (known && known.canonical === layout && known.lineKind.length === lines.length) upload = { ...known, originalSha256, counters };
  else {
    upload = yield* uploadOf(originalSha256, lines, layout, counters);
    if (upload && shape) {
      const { originalSha256: _o, counters: _c, ...same } = upload;
      shape.shapes.set(shape.key, same);
    }
  }
  if (!upload) return false;
  const kept = counters ? upload : declaredCounters(upload, lines);
  if (!kept) return false;
  cache.uploads.set(originalSha256, kept);
  return true;
}

/** What uploads whose lines differ in their counters only share of their layout. */
export type UploadShape = Omit<SpliceUpload, 'originalSha256' | 'counters'>;

/** Hash checkpoints of a whole text's bytes (as a splice keeps them for the text it makes), a pause after each. */
function* checkpointsOf(bytes: Buffer, step: number): Steps<HashCheckpoint[]> {
  const hash = createHash('sha256');
  const out: HashCheckpoint[] = [];
  for (let at = step; at <= bytes.length; at += step) {
    hash.update(bytes.subarray(at - step, at));
    out.push({ at, hash: hash.copy() });
    yield;
  }
  return out;
}

/**
 * The counters of an upload whose version kept no counters blob (they say nothing: no rule
 * counter, every policy counter absent or `0:0`) as its parse reads them: `0:0` for a declaration
 * with `[p:b]` (the parser's pattern), none otherwise; null for the upload (every counter none)
 * when no declaration has one. Undefined when a declaration's counter is not zero (not such a version).
 */
function declaredCounters(upload: SpliceUpload, lines: readonly string[]): SpliceUpload | undefined {
  const { canonical } = upload;
  let order: CounterText[] | null = null;
  for (const i of upload.structure) {
    if (upload.lineKind[i] !== DECL) continue;
    const m = /\s\[(\d+):(\d+)\]\s*$/.exec(lines[i]!);
    if (!m) continue;
    if (!/^0+$/.test(m[1]!) || !/^0+$/.test(m[2]!)) return undefined;
    order ??= new Array<CounterText>(countSlots(canonical.tables, canonical.ruleCount)).fill(null);
    order[canonical.policySlot[upload.lineChain[i]!]!] = '0:0';
  }
  return order ? { ...upload, counters: order } : upload;
}

/** Whether the layout of a canonical text is kept (else `rememberStoredSteps` needs the text). */
export const hasCanonical = (cache: SpliceCache, family: Family, sha256: string): boolean => cache.canonical.has(canonicalKey(family, sha256));
