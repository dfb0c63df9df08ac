// A plain nft diff (`family=nft`, JSON or unified, no probe packets) computed on
// the event loop in slices over the ruleset cache's canonical nft parses (the
// ones traces read), instead of in a worker that parsed both canonical texts
// alone next to the main thread's cached entries: two 44k-Service nodes took
// the server to ~3.4 GiB (issue 15, item 4).
// - A side whose canonical parse is cached is used as it is: nothing parsed.
// - A side not cached is parsed once (in slices) with the other side's parse
//   as donor (nftables/share.ts): a twin node's parse then keeps every deep-equal
//   statement, expression, element and raw text of the other's, so it adds
//   little more than its own rule objects. Without another side (or for the
//   first of two uncached sides) its own upload parse is the donor, as for a trace.
// - The parse is then kept in the cache under the key traces read: it costs
//   little (it shares nearly everything with a cached parse) and saves the
//   node's next trace a whole parse of its canonical text (the cache's rule
//   budget still evicts the least recently used entries).
// The answer is written chunk by chunk as the client reads it, the same bytes
// the worker wrote. Probes (`packets=auto`) still run in the worker.
import type { FastifyInstance } from 'fastify';
import { diffNftRulesetsSteps, parseNftText, type NftRuleset } from '../netfilter/index.ts';
import type { NftRulesetDiff } from '../netfilter/index.ts';
import { loadNftRuleset, runStepsYielding, type DumpInfo } from '../store/index.ts';
import { jsonItems, type DiffSides, type PieceCount } from './diff-here.ts';

/** What a side without an nft version compares as: what the worker parsed from an empty text. */
const EMPTY: NftRuleset = parseNftText('').ruleset;

/**
 * The two sides' canonical nft parses, from the cache or parsed (see above): a cached side first, so
 * that the other can take it as donor.
 */
async function nftSides(app: FastifyInstance, left: DumpInfo | null, right: DumpInfo | null): Promise<[NftRuleset, NftRuleset]> {
  const { prisma } = app.db;
  const cache = app.rulesetCache;
  const load = (v: DumpInfo | null, donor?: NftRuleset): Promise<NftRuleset> => (v ? loadNftRuleset(prisma, cache, v, donor) : Promise.resolve(EMPTY));
  const cached = (v: DumpInfo | null): boolean => v === null || cache.nft.has(v.sha256) || cache.nft.parsing.has(v.sha256);
  const donorOf = (r: NftRuleset): NftRuleset | undefined => (r === EMPTY ? undefined : r);
  if (cached(left) || !cached(right)) {
    const l = await load(left);
    return [l, await load(right, donorOf(l))];
  }
  const r = await load(right);
  return [await load(left, donorOf(r)), r];
}

/** The nft diff of two versions (null: compares as empty), computed in slices. */
export async function diffNftHere(app: FastifyInstance, left: DumpInfo | null, right: DumpInfo | null): Promise<NftRulesetDiff> {
  const [l, r] = await nftSides(app, left, right);
  return runStepsYielding(diffNftRulesetsSteps(l, r), app.rulesetCache.yielding);
}

/**
 * The nft DiffResult JSON in pieces: exactly the worker's `JSON.stringify({ ...sides, family: 'nft',
 * summary, tablesOnlyLeft, tablesOnlyRight, chains, sets })`, pausing now and then (undefined).
 */
export function* nftDiffJsonPieces(d: NftRulesetDiff, sides: DiffSides): Generator<string | undefined, void, void> {
  const summary = { policiesDiffer: d.chains.filter((c) => c.base && c.base.left !== null && c.base.right !== null).length, ...d.summary };
  const head = JSON.stringify({ ...sides, family: 'nft', summary, tablesOnlyLeft: d.tablesOnlyLeft, tablesOnlyRight: d.tablesOnlyRight, chains: [], sets: [] });
  // `..."chains":[],"sets":[]}`: the chains go between the first brackets, the sets between the last.
  const tail = '],"sets":[]}';
  yield head.slice(0, -tail.length);
  const count: PieceCount = { n: 0 };
  yield* jsonItems(d.chains, count);
  yield '],"sets":[';
  for (const [si, s] of d.sets.entries()) {
    // A set's members may be a whole map's (a set on one side only): written member by member.
    const set = JSON.stringify({ ...s, added: [], removed: [] });
    yield `${si ? ',' : ''}${set.slice(0, -'[],"removed":[]}'.length)}[`;
    yield* jsonItems(s.added, count);
    yield '],"removed":[';
    yield* jsonItems(s.removed, count);
    yield ']}';
  }
  yield ']}';
}

