// Incremental uploads: `{delta: {base, sha256, script, counters?}}` in place
// of `dump` (and `ip6Delta` of `ip6Dump`). The text is rebuilt from the node's
// last uploaded text of that family and then goes through exactly the path of
// a full upload of it, so the stored version, canonical text, diagnostics and
// every answer are the same. A base that is not the node's latest upload is a
// 409 with the current one: the agent then sends the whole text.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { FastifyInstance } from 'fastify';
import type { Family } from '../netfilter/index.ts';
import { applyLineScript, LineScriptError, type LineScriptOp } from '../store/line-script.ts';
import { uploadedLines } from '../store/delta-base.ts';
import { joinedLength, splitLines } from '../store/encoding.ts';
import { latestDump, NotFoundError, prepareDumpSteps, rulesetCacheKey, runStepsYielding, sha256Hex, type PreparedDump, type PrepareOptions, type StoredFamily } from '../store/index.ts';
import { rememberForSpliceSteps, spliceDeltaSteps } from '../store/splice.ts';
import { HttpProblem } from './plugins/errors.ts';
import type { UploadDelta } from './schemas/index.ts';

/**
 * Uploaded texts by sha256, as lines: the bases of the next deltas. A fleet's
 * next round finds its bases here instead of reading and un-deltaing them from
 * the store (another replica's upload, or an evicted one, is read from there).
 * A text a delta made keeps its UTF-8 bytes too (`bytes`, by its lines), so
 * the next delta's text is made and hashed as byte ranges of it (no join of
 * 235k lines, no UTF-8 encoding of 29 MB); they count in the cache's size.
 */
export type DeltaBaseTexts = LRUCache<string, readonly string[]> & { readonly bytes: WeakMap<readonly string[], ByteLines> };

/** A text's UTF-8 bytes with a newline after every line (the last too): line k is `bytes[starts[k], starts[k + 1] - 1)`. */
export interface ByteLines {
  readonly bytes: Buffer;
  readonly starts: Uint32Array;
}

export function createDeltaBaseTexts(maxChars: number): DeltaBaseTexts {
  const bytes = new WeakMap<readonly string[], ByteLines>();
  const size = (lines: readonly string[]): number => Math.max(1, joinedLength(lines) + 1 + (bytes.get(lines)?.bytes.length ?? 0));
  return Object.assign(new LRUCache<string, readonly string[]>({ maxSize: maxChars, sizeCalculation: size }), { bytes });
}

/** Keeps an uploaded text (or the text a delta made, with its lines and bytes) as a base for the next delta. */
export function rememberUploadedText(cache: DeltaBaseTexts, sha256: string, text: string | RebuiltText): void {
  const size = typeof text === 'string' ? text.length : text.size;
  if (cache.has(sha256) || size > cache.maxSize / 2) return;
  if (typeof text === 'string') return void cache.set(sha256, text.split('\n'));
  if (text.bytes) cache.bytes.set(text.lines, text.bytes);
  cache.set(sha256, text.lines);
}

/** The bytes of lines (the text they were split from, and a last newline). */
function byteLinesOf(lines: readonly string[]): ByteLines {
  const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  const starts = new Uint32Array(lines.length + 1);
  for (let k = 0, at = 0; k < lines.length; k++) starts[k + 1] = at = bytes.indexOf(10, at) + 1;
  return { bytes, starts };
}

/**
 * The bytes of the text a (checked) script makes of a base's bytes: copied runs are byte ranges of
 * the base, inserted lines and lines with a new counter (`lines`, `overridden`) are encoded.
 */
function rebuildBytes(base: ByteLines, script: readonly LineScriptOp[], lines: readonly string[], overridden: Uint8Array): ByteLines {
  const b = base.starts;
  let total = 0;
  let i = 0;
  for (const op of script) {
    if (typeof op === 'string') {
      total += Buffer.byteLength(op, 'utf8') + 1;
      i++;
      continue;
    }
    const from = op[0] - 1;
    total += b[from + op[1]]! - b[from]!;
    for (let k = 0; k < op[1]; k++) if (overridden[i + k]) total += Buffer.byteLength(lines[i + k]!, 'utf8') - (b[from + k + 1]! - b[from + k]! - 1);
    i += op[1];
  }
  const bytes = Buffer.allocUnsafe(total);
  const starts = new Uint32Array(lines.length + 1);
  let pos = 0;
  const put = (line: string): void => {
    starts[i] = pos;
    pos += bytes.write(line, pos, 'utf8');
    bytes[pos++] = 10;
    i++;
  };
  i = 0;
  for (const op of script) {
    if (typeof op === 'string') {
      put(op);
      continue;
    }
    const end = op[0] - 1 + op[1];
    for (let from = op[0] - 1; from < end; ) {
      if (overridden[i]) {
        put(lines[i]!);
        from++;
        continue;
      }
      // A run of lines copied as they were: one byte range.
      let to = from + 1;
      while (to < end && !overridden[i + to - from]) to++;
      const shift = pos - b[from]!;
      for (let k = from; k < to; k++) starts[i++] = b[k]! + shift;
      pos += base.bytes.copy(bytes, pos, b[from]!, b[to]!);
      from = to;
    }
  }
  starts[i] = pos;
  return { bytes, starts };
}

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
  for (const op of delta.script) {
    if (typeof op === 'string') chars += op.length + 1;
    else for (let k = Math.max(0, (op[0] ?? 1) - 1), end = Math.min(base.length, k + (op[1] ?? 0)); k < end; k++) chars += base[k]!.length + 1;
    if (chars > maxChars) throw new HttpProblem(413, 'payload-too-large', `\`${field}\` makes a text larger than ${maxChars} bytes (MAX_DECOMPRESSED_BYTES)`, { limit: maxChars, field });
  }
}

/** The text a delta made (joined when first read), its lines, UTF-8 size, bytes and sha256, and the delta itself. */
export interface RebuiltText {
  readonly text: string;
  readonly lines: string[];
  readonly size: number;
  readonly bytes: ByteLines | null;
  readonly sha256: string;
  readonly delta: UploadDelta;
}

/** The text a delta describes (and its lines), checked against its sha256. Throws 409 (stale base), 422 (script or sha256). */
export async function rebuildFromDelta(app: FastifyInstance, cache: DeltaBaseTexts, node: string, family: StoredFamily, delta: UploadDelta, field: string): Promise<RebuiltText> {
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
  if (!base) {
    // Not kept in memory (a fleet's bases do not fit): from the store, over the cluster's shared whole text.
    base = await uploadedLines(app.db.prisma, latest.originalSha256, app.db.deltaBases);
    cache.set(delta.base, base);
  }
  assertRebuiltSize(base, delta, app.config.maxDumpLines, app.config.maxDecompressedBytes, field);
  let lines: string[];
  try {
    lines = applyLineScript(base, delta);
  } catch (err) {
    if (!(err instanceof LineScriptError)) throw err;
    throw new HttpProblem(422, 'bad-delta', `\`${field}\`: ${err.message}`, { field, errors: [{ path: `/body/${field}${err.path}`, message: err.message }] });
  }
  // Made and hashed as bytes: copies of the base's (kept with it, else made once from its lines).
  let bytes: ByteLines | null = null;
  let sha256: string;
  let size: number;
  let joined: string | undefined;
  if (delta.script.length < lines.length) {
    let baseBytes = cache.bytes.get(base);
    if (!baseBytes) {
      cache.bytes.set(base, (baseBytes = byteLinesOf(base)));
      // Sized again with its bytes.
      if (cache.has(delta.base)) cache.set(delta.base, base);
    }
    const overridden = new Uint8Array(lines.length);
    const counters = delta.counters ?? [];
    for (let c = 0, at = 0; c < counters.length; c += 2) overridden[(at += counters[c] as number) - 1] = 1;
    bytes = rebuildBytes(baseBytes, delta.script as readonly LineScriptOp[], lines, overridden);
    size = bytes.bytes.length - 1;
    sha256 = createHash('sha256').update(bytes.bytes.subarray(0, size)).digest('hex');
  } else {
    joined = lines.join('\n');
    size = Buffer.byteLength(joined, 'utf8');
    sha256 = sha256Hex(joined);
  }
  if (sha256 !== delta.sha256) {
    throw new HttpProblem(422, 'delta-mismatch', `\`${field}\`: the rebuilt text has sha256 ${sha256}, not ${delta.sha256}; nothing was stored (send the whole text)`, { field, expected: delta.sha256, got: sha256 });
  }
  return {
    // Joined only when something needs the text (the full path; not a spliced delta).
    get text(): string {
      return (joined ??= lines.join('\n'));
    },
    lines,
    size,
    bytes,
    sha256,
    delta,
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
export async function prepareWithMemo(app: FastifyInstance, text: string | (() => string), options: PrepareOptions & { family: Family }, rebuilt?: RebuiltText): Promise<PreparedDump> {
  const cache = app.rulesetCache;
  const lineMemo = cache.lineMemos[options.family];
  if (rebuilt && (options.format === undefined || options.format === 'iptables-save') && !options.originalBytes) {
    const { base, script, counters } = rebuilt.delta;
    const spliced = await runStepsYielding(
      spliceDeltaSteps(cache.splices, {
        base,
        // Checked by applyLineScript: copies are [from, count] pairs.
        script: script as readonly LineScriptOp[],
        counters,
        text,
        size: rebuilt.size,
        lines: rebuilt.lines,
        originalSha256: rebuilt.sha256,
        family: options.family,
        lineMemo,
        canonicalRuleset: (sha256) => cache.peek(rulesetCacheKey('canonical', options.family, sha256))?.ruleset,
      }),
      cache.yielding,
    );
    if (spliced) return spliced;
  }
  const prepared = await runStepsYielding(prepareDumpSteps(typeof text === 'string' ? text : text(), { ...options, lineMemo }), cache.yielding);
  if (!rebuilt) return prepared;
  // The canonical text split once, for the store and the next delta's splice (its base's lines).
  const withLines: PreparedDump = { ...prepared, originalLines: rebuilt.lines, canonicalLines: splitLines(prepared.canonicalText) };
  await runStepsYielding(rememberForSpliceSteps(cache.splices, withLines, rebuilt.lines), cache.yielding);
  return withLines;
}
