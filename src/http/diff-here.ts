// A plain iptables diff (JSON or unified, no probe packets) computed on the
// event loop in slices, over what the server already holds, instead of in a
// worker that read both canonical texts again: a worker diff of two 10k-Service
// nodes (~400 MiB of its own heap) next to the cached parse of one of them
// (~240 MiB) went over the 1 GiB budget (issue 17).
// - A side whose canonical parse is in the ruleset cache (an upload or a trace
//   put it there; the same key traces read) is outlined from that parse: its
//   rules' `raw` texts are the canonical lines, so nothing is parsed or copied.
// - Another side's stored canonical text is outlined (a few MiB over the text);
//   it is not parsed and not put in the cache, so a diff evicts nothing traces use.
//   Only a text not in canonical form (never written by this version of the
//   store) is parsed, through the cache, as a trace would.
// The answer is written chunk by chunk as the client reads it (a diff of two
// unrelated 10k nodes is ~70 MB of JSON), with the same bytes the worker wrote.
// nft diffs run the same way over the cached nft parses (nft-diff-here.ts).
// Probes (`packets=auto`: whole models traced) still run in the analysis worker.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { diffRulesetsSteps, outlineCanonicalTextSteps, outlineRulesetSteps, type RulesetDiff, type RulesetOutline } from '../netfilter/index.ts';
import { loadDumpRuleset, rulesetCacheKey, runStepsYielding, type DumpInfo, type ParseYielding } from '../store/index.ts';
import { versionText } from './ruleset.ts';

/** One side of the diff: its label in the unified text, and the compared version (null: compares as empty). */
export interface HereSide {
  readonly label: string;
  readonly version: DumpInfo | null;
}

/** The answer's `left` and `right` members. */
export interface DiffSides {
  readonly left: { readonly node: string; readonly dump: number | null };
  readonly right: { readonly node: string; readonly dump: number | null };
}

const EMPTY: RulesetOutline = { kind: 'outline', tables: [] };

/** What a side compares: its cached canonical parse's outline, else its canonical text's (see above). */
async function outlineSide(app: FastifyInstance, version: DumpInfo | null): Promise<RulesetOutline> {
  if (!version) return EMPTY;
  const cache = app.rulesetCache;
  const key = rulesetCacheKey('canonical', version.family as 'ipv4' | 'ipv6', version.sha256);
  // has() first: a side that is not cached is not a miss (nothing is parsed for it).
  const parsed = cache.has(key) ? cache.get(key) : await cache.parsing.get(key);
  if (parsed) return runStepsYielding(outlineRulesetSteps(parsed.ruleset, parsed.diagnostics.length === 0 ? 'raw' : 'render'), cache.yielding);
  const outline = await runStepsYielding(outlineCanonicalTextSteps(await versionText(app, version.sha256)), cache.yielding);
  if (outline) return outline;
  const loaded = await loadDumpRuleset(app.db.prisma, cache, version);
  return runStepsYielding(outlineRulesetSteps(loaded.ruleset, 'render'), cache.yielding);
}

/** The diff of two versions (their outlines built one after the other: the second waits for the first). */
export async function diffHere(app: FastifyInstance, left: HereSide, right: HereSide): Promise<RulesetDiff> {
  const l = await outlineSide(app, left.version);
  const r = await outlineSide(app, right.version);
  return runStepsYielding(diffRulesetsSteps(l, r), app.rulesetCache.yielding);
}

/** Lines or chain records between pauses of the writers below. */
const PAUSE_PIECES = 1023;

/**
 * The DiffResult JSON in pieces: exactly `JSON.stringify({ ...sides, summary, tablesOnlyLeft,
 * tablesOnlyRight, chains })`, what the worker wrote (each chain's and line's members in the order
 * diffRulesets makes them, `lines` last), pausing now and then (undefined).
 */
export function* diffJsonPieces(d: RulesetDiff, sides: DiffSides): Generator<string | undefined, void, void> {
  const head = JSON.stringify({ ...sides, summary: d.summary, tablesOnlyLeft: d.tablesOnlyLeft, tablesOnlyRight: d.tablesOnlyRight, chains: [] });
  yield head.slice(0, -2);
  const count: PieceCount = { n: 0 };
  for (const [ci, c] of d.chains.entries()) {
    const chain = JSON.stringify({ ...c, lines: [] });
    yield `${ci ? ',' : ''}${chain.slice(0, -2)}`;
    yield* jsonItems(c.lines, count);
    yield ']}';
    if ((++count.n & PAUSE_PIECES) === 0) yield undefined;
  }
  yield ']}';
}

/** Records written so far by one answer's writer: it pauses after every PAUSE_PIECES + 1 of them. */
export interface PieceCount {
  n: number;
}

/** The members of a JSON array, each as JSON.stringify writes it, comma first but for the first, pausing now and then (undefined). */
export function* jsonItems(items: readonly unknown[], count: PieceCount): Generator<string | undefined, void, void> {
  for (let i = 0; i < items.length; i++) {
    if ((++count.n & PAUSE_PIECES) === 0) yield undefined;
    yield `${i ? ',' : ''}${JSON.stringify(items[i])}`;
  }
}

/** A unified diff's lines (unifiedDiffLines, nftUnifiedDiffLines) in pieces, each with its newline, pausing now and then (undefined). */
export function* linePieces(lines: Iterable<string>): Generator<string | undefined, void, void> {
  let n = 0;
  for (const line of lines) {
    if ((++n & PAUSE_PIECES) === 0) yield undefined;
    yield `${line}\n`;
  }
}

/** Bytes per chunk of the answer stream. */
const CHUNK_BYTES = 1 << 20;

/**
 * A stream of `pieces` as UTF-8 chunks of ~1 MiB, each made after a turn of the event loop and in at
 * most one slice of `yielding` (a chunk ends early when its slice is up), only as fast as the client reads.
 */
export function piecesStream(pieces: Generator<string | undefined, void, void>, { sliceMs, pause }: ParseYielding): Readable {
  let busy = false;
  const fill = (stream: Readable): void => {
    const parts: string[] = [];
    let size = 0;
    const since = performance.now();
    for (;;) {
      const r = pieces.next();
      if (r.done) {
        if (size) stream.push(Buffer.from(parts.join('')));
        stream.push(null);
        return;
      }
      if (r.value !== undefined) {
        parts.push(r.value);
        size += r.value.length;
      }
      if (size >= CHUNK_BYTES || (r.value === undefined && performance.now() - since >= sliceMs)) break;
    }
    stream.push(Buffer.from(parts.join('')));
  };
  return new Readable({
    read() {
      if (busy) return;
      busy = true;
      void pause().then(() => {
        busy = false;
        if (!this.destroyed) fill(this);
      });
    },
  });
}
