// Incremental uploads: `{delta: {base, sha256, script, counters?}}` in place
// of `dump` (and `ip6Delta` of `ip6Dump`). The text is rebuilt from the node's
// last uploaded text of that family and then goes through exactly the path of
// a full upload of it, so the stored version, canonical text, diagnostics and
// every answer are the same. A base that is not the node's latest upload is a
// 409 with the current one: the agent then sends the whole text.
import { LRUCache } from 'lru-cache';
import type { FastifyInstance } from 'fastify';
import type { Family } from '../netfilter/index.ts';
import { applyLineScriptEdit, LineScriptError, type LineEdit, type LineScriptOp } from '../store/line-script.ts';
import { uploadedLines } from '../store/delta-base.ts';
import { rememberStoredBase, storedBaseRuleset } from '../store/splice-base.ts';
import { joinedLength, splitLines } from '../store/encoding.ts';
import { latestDump, NotFoundError, prepareDumpSteps, rulesetCacheKey, runStepsYielding, type PreparedDump, type PrepareOptions, type StoredFamily } from '../store/index.ts';
import type { TextHasher } from '../store/hash-off-loop.ts';
import { rememberForSpliceSteps, spliceDeltaSteps, type SpliceUpload } from '../store/splice.ts';
import { HttpProblem } from './plugins/errors.ts';
import type { UploadDelta } from './schemas/index.ts';

/**
 * Uploaded texts by sha256, as lines: the bases of the next deltas. A fleet's
 * next round finds its bases here instead of reading and un-deltaing them from
 * the store (another replica's upload, or an evicted one, is read from there).
 */
export type DeltaBaseTexts = LRUCache<string, readonly string[]>;

export function createDeltaBaseTexts(maxChars: number): DeltaBaseTexts {
  return new LRUCache<string, readonly string[]>({ maxSize: maxChars, sizeCalculation: (lines) => Math.max(1, lengths.get(lines) ?? joinedLength(lines) + 1) });
}

/**
 * Per lines of a text: where each line starts in the text (UTF-16 units) and, last, the text's
 * length + 1. Made once per base (a pass over its lines) or from its base's by a delta's edit
 * (typed arrays only), so the size of the text a script makes is known per script item.
 */
const starts = new WeakMap<readonly string[], Float64Array | (() => Float64Array)>();
/** The length + 1 of the text of lines a delta made (the base cache's size of them). */
const lengths = new WeakMap<readonly string[], number>();

function lineStarts(lines: readonly string[]): Float64Array {
  const kept = starts.get(lines);
  if (kept instanceof Float64Array) return kept;
  let out: Float64Array;
  if (kept) out = kept();
  else {
    out = new Float64Array(lines.length + 1);
    for (let i = 0; i < lines.length; i++) out[i + 1] = out[i]! + lines[i]!.length + 1;
  }
  starts.set(lines, out);
  return out;
}

/**
 * The length of the text `edit` made of `base` (per edit op); the line starts of its `lines` are
 * made from the base's when first asked for (the next delta's size check).
 */
function editedLength(base: readonly string[], edit: LineEdit, lines: readonly string[]): number {
  const from = lineStarts(base);
  const { ops, literal } = edit;
  let length = 0;
  let next = 0;
  for (let k = 0; k < ops.length; k += 2) {
    const b = ops[k]!;
    const count = ops[k + 1]!;
    if (b >= 0) length += from[b + count]! - from[b]!;
    else for (let j = 0; j < count; j++) length += literal[next++]!.length + 1;
  }
  starts.set(lines, () => {
    const out = new Float64Array(lines.length + 1);
    let l = 0;
    let lit = 0;
    for (let k = 0; k < ops.length; k += 2) {
      const b = ops[k]!;
      const count = ops[k + 1]!;
      if (b >= 0) {
        const shift = out[l]! - from[b]!;
        for (let j = 1; j <= count; j++) out[l + j] = from[b + j]! + shift;
      } else for (let j = 1; j <= count; j++) out[l + j] = out[l + j - 1]! + literal[lit++]!.length + 1;
      l += count;
    }
    return out;
  });
  lengths.set(lines, length);
  return length - 1;
}

/** Keeps an uploaded text (its lines, when a delta made it) as a base for the next delta. */
export function rememberUploadedText(cache: DeltaBaseTexts, sha256: string, text: string | RebuiltText): void {
  if (cache.has(sha256) || text.length > cache.maxSize / 2) return;
  cache.set(sha256, typeof text === 'string' ? text.split('\n') : text.lines);
}

/** An upload's text: a delta's joined (once) here. */
export const textOf = (text: string | RebuiltText): string => (typeof text === 'string' ? text : text.text);

/**
 * A few bytes of script can copy a big base many times over: the text a delta
 * would make is measured (lines, then characters) before it is made, against
 * the limits a whole upload has (MAX_DUMP_LINES, MAX_DECOMPRESSED_BYTES): 413.
 */
function assertRebuiltSize(base: readonly string[], delta: UploadDelta, maxLines: number, maxChars: number, field: string): void {
  let lines = 0;
  for (const op of delta.script) lines += typeof op === 'string' ? 1 : Math.max(0, op[1] ?? 0);
  // MAX_DUMP_LINES counts newlines; a text of n newlines has n + 1 lines.
  if (lines > maxLines + 1) {
    throw new HttpProblem(413, 'too-many-lines', `\`${field}\` makes a text of ${lines} lines, more than ${maxLines} (MAX_DUMP_LINES)`, { limit: maxLines, field });
  }
  let chars = 0;
  const at = lineStarts(base);
  for (const op of delta.script) {
    if (typeof op === 'string') chars += op.length + 1;
    else {
      const k = Math.max(0, (op[0] ?? 1) - 1);
      const end = Math.min(base.length, k + Math.max(0, op[1] ?? 0));
      if (end > k) chars += at[end]! - at[k]!;
    }
    if (chars > maxChars) throw new HttpProblem(413, 'payload-too-large', `\`${field}\` makes a text larger than ${maxChars} bytes (MAX_DECOMPRESSED_BYTES)`, { limit: maxChars, field });
  }
}

/** The text a delta made, its lines and sha256, and the delta itself. */
export interface RebuiltText {
  /** Its lines joined: made when first read (a spliced delta never needs it whole, nor does its store). */
  readonly text: string;
  readonly lines: string[];
  /** The text's length (UTF-16 units), known without joining it. */
  readonly length: number;
  /** The sha256 the delta names: the text's once `verified` has resolved. */
  readonly sha256: string;
  readonly delta: UploadDelta;
  /**
   * Resolves (to the text's length in UTF-8 bytes) once the text's sha256 is known to be `sha256`;
   * rejects with the 422 when it is not. Nothing may be stored or kept under `sha256` before it resolves.
   */
  readonly verified: Promise<number>;
}

/**
 * The text a delta describes (and its lines). Throws 409 (stale base), 422 (script); its sha256 is
 * checked off the event loop while the caller prepares it (`verified`: a 422 when it differs).
 */
export async function rebuildFromDelta(app: FastifyInstance, cache: DeltaBaseTexts, hasher: TextHasher, node: string, family: StoredFamily, delta: UploadDelta, field: string): Promise<RebuiltText> {
  let latest: Awaited<ReturnType<typeof latestDump>> = null;
  try {
    latest = await latestDump(app.db.prisma, node, family);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  if (!latest || latest.originalSha256 !== delta.base) {
    const current = latest?.originalSha256 ?? null;
    throw new HttpProblem(
      409,
      'stale-delta-base',
      latest
        ? `\`${field}.base\` ${delta.base} is not the text node "${node}" last uploaded for ${family} (${current}): send the whole text`
        : `node "${node}" has no ${family} version to apply \`${field}\` to: send the whole text`,
      { field, base: delta.base, currentBase: current, currentSha256: latest?.sha256 ?? null },
    );
  }
  let base = cache.get(delta.base);
  // A base this server kept in memory is the node's last upload here: its next delta is likely here too.
  const likelyBase = base !== undefined;
  if (!base) {
    // Not kept in memory (a fleet's bases do not fit): from the store, over the cluster's shared whole text.
    base = await uploadedLines(app.db.prisma, latest.originalSha256, app.db.deltaBases);
    cache.set(delta.base, base);
  }
  assertRebuiltSize(base, delta, app.config.maxDumpLines, app.config.maxDecompressedBytes, field);
  let made: { lines: string[]; edit: LineEdit };
  try {
    made = applyLineScriptEdit(base, delta);
  } catch (err) {
    if (!(err instanceof LineScriptError)) throw err;
    throw new HttpProblem(422, 'bad-delta', `\`${field}\`: ${err.message}`, { field, errors: [{ path: `/body/${field}${err.path}`, message: err.message }] });
  }
  const { lines, edit } = made;
  const length = editedLength(base, edit, lines);
  let text: string | undefined;
  const joined = (): string => (text ??= lines.join('\n'));
  // Hashed by a worker thread while the text is prepared (a splice does not need it): made there of
  // the base's bytes when the worker kept them (the node's last delta), else sent whole, and kept
  // for the next delta unless bases come from the store (a fleet's: they would not stay).
  const verified = hasher
    .digestEdit(delta.base, edit)
    .then((d) => d ?? hasher.digest(joined(), likelyBase))
    .then(({ sha256, size }) => {
      if (sha256 !== delta.sha256) {
        throw new HttpProblem(422, 'delta-mismatch', `\`${field}\`: the rebuilt text has sha256 ${sha256}, not ${delta.sha256}; nothing was stored (send the whole text)`, { field, expected: delta.sha256, got: sha256 });
      }
      return size;
    });
  // Awaited by whoever stores the text; a request that fails before that must not leave it unhandled.
  verified.catch(() => undefined);
  // A base whose splice layouts this server does not keep (a fleet's): made from its lines and its own blobs.
  await rememberStoredBase(app.db.prisma, app.rulesetCache, app.db.deltaBases, latest, base);
  return {
    get text() {
      return joined();
    },
    lines,
    length,
    sha256: delta.sha256,
    delta,
    verified,
  };
}

/**
 * Prepares a dump uploaded as a delta: on the event loop in slices (its parse is
 * then the one the ruleset cache keeps, so the new version is queryable without
 * another). An iptables-save delta of a base kept for it is spliced from the
 * base's canonical ruleset and text (splice.ts: only the chains it changes are
 * parsed); else the text is prepared with the cache's line memo of its family,
 * so only the lines not seen lately are parsed and rendered, and kept as a base
 * to splice the next delta from. Gives exactly what prepareDump gives.
 */
export async function prepareWithMemo(app: FastifyInstance, sent: string | RebuiltText, options: PrepareOptions & { family: Family }): Promise<PreparedDump> {
  const rebuilt = typeof sent === 'string' ? undefined : sent;
  try {
    return await prepareVerified(app, sent, options, rebuilt);
  } catch (err) {
    // A text that is not the one the agent meant: that is the answer, not what its parse found.
    await rebuilt?.verified;
    throw err;
  }
}

async function prepareVerified(app: FastifyInstance, sent: string | RebuiltText, options: PrepareOptions & { family: Family }, rebuilt?: RebuiltText): Promise<PreparedDump> {
  const cache = app.rulesetCache;
  const lineMemo = cache.lineMemos[options.family];
  if (rebuilt && (options.format === undefined || options.format === 'iptables-save') && !options.originalBytes) {
    const { base, script, counters } = rebuilt.delta;
    let upload: SpliceUpload | undefined;
    const spliced = await runStepsYielding(
      spliceDeltaSteps(cache.splices, {
        base,
        // Checked by applyLineScript: copies are [from, count] pairs.
        script: script as readonly LineScriptOp[],
        counters,
        // Joined only if read (a spliced PreparedDump's originalText is read only by a store that falls back to a whole blob).
        get text() {
          return rebuilt.text;
        },
        lines: rebuilt.lines,
        originalSha256: rebuilt.sha256,
        family: options.family,
        lineMemo,
        canonicalRuleset: (sha256) => cache.peek(rulesetCacheKey('canonical', options.family, sha256))?.ruleset ?? storedBaseRuleset(app.db.deltaBases, options.family, sha256),
        // Kept under the sha256 the delta names only once the text is known to have it.
        keepUpload: (u) => {
          upload = u;
        },
      }),
      cache.yielding,
    );
    const size = await rebuilt.verified;
    if (upload) cache.splices.uploads.set(upload.originalSha256, upload);
    if (spliced) return withOriginalSize(spliced, size, rebuilt.length);
  }
  const text = textOf(sent);
  const prepared = await runStepsYielding(prepareDumpSteps(text, { ...options, lineMemo }), cache.yielding);
  if (!rebuilt) return prepared;
  await rebuilt.verified;
  // The canonical text split once, for the store and the next delta's splice (its base's lines).
  const withLines: PreparedDump = { ...prepared, originalLines: rebuilt.lines, canonicalLines: splitLines(prepared.canonicalText) };
  await runStepsYielding(rememberForSpliceSteps(cache.splices, withLines, rebuilt.lines), cache.yielding);
  return withLines;
}

/**
 * `prepared` with the sizes of its uploaded text (UTF-8 bytes, UTF-16 units): its getters (the text
 * a delta joins only when read, the counters JSON) stay getters.
 */
function withOriginalSize(prepared: PreparedDump, originalSize: number, originalLength: number): PreparedDump {
  return Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(prepared), originalSize: { value: originalSize, enumerable: true }, originalLength: { value: originalLength, enumerable: true } }) as PreparedDump;
}
