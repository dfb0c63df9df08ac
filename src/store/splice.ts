// The fast path of a delta upload (issue 15): an iptables-save re-upload that
// copies most of its base's chains whole is prepared from the base version's
// prepared structures instead of from its 235k lines. Chains whose `-A` lines
// the script copies whole (counter overrides aside) keep their canonical rules
// and their rendered block of the canonical text; only the chains with
// inserted (or lost) lines are parsed, with the line memo, in a small text of
// their own (their table's header, the declarations they need, their lines),
// so the parser decides everything about them. The canonical text is the
// base's with those chains' blocks spliced in, the counters the base's array
// (in canonical text order) with the script's overrides. The result is what
// `prepareDump` gives for the whole text; anything out of the ordinary (a
// declaration, table or COMMIT line changed, a line inserted outside its
// table's rules, a base with diagnostics, a diagnostic in the small parse, ...)
// is left to that path.
//
// What is kept for it is in splice-layout.ts; the canonical ruleset itself is
// the ruleset cache's entry (none, no fast path).
import { createHash } from 'node:crypto';
import { parseDumpSteps, renderRule, type Chain, type Family, type Rule, type RuleLineMemo, type Ruleset, type Steps, type Table } from '../netfilter/index.ts';
import type { CounterText } from './counters-codec.ts';
import { canonicalChain, canonicalRule, counterText, countersJsonFromOrder, type PreparedDump } from './ingest.ts';
import type { LineScriptOp } from './line-script.ts';
import { canonicalKey, chainLines, chainLinesOf, DECL, eachPiece, identity, layoutOf, MAX_PIECES, ropeText, RULE, rulesOf, shiftedCanonical, sizeChange, slotsOf, type HashCheckpoint, type SpliceCache, type SpliceCanonical, type SpliceUpload } from './splice-layout.ts';
import { fallback, mapScript, NotSpliced } from './splice-script.ts';
export { createSpliceCache, rememberForSpliceSteps, type SpliceCache, type SpliceUpload } from './splice-layout.ts';

export interface SpliceInput {
  readonly base: string;
  readonly script: readonly LineScriptOp[];
  readonly counters?: readonly (number | string)[] | undefined;
  /** The text the script makes (checked against `originalSha256`), and its lines. */
  readonly text: string;
  readonly lines: readonly string[];
  readonly originalSha256: string;
  readonly family: Family;
  readonly lineMemo?: RuleLineMemo | undefined;
  /** The ruleset cache's canonical ruleset of a canonical sha256, if it has it. */
  readonly canonicalRuleset: (sha256: string) => Ruleset | undefined;
  /**
   * Given, it gets the uploaded text's layout (the next delta's base) instead of `cache.uploads`:
   * `originalSha256` is then the one the delta names, kept by the caller once the text's hash says so.
   */
  readonly keepUpload?: ((upload: SpliceUpload) => void) | undefined;
}

/** `packets:bytes` as a parse prints it back (no leading zeros). */
const normalCounter = (c: string): string => (/(?:^|:)0\d/.test(c) ? c.replace(/(^|:)0+(?=\d)/g, '$1') : c);

/** Chains a rule line may jump or go to. */
const TARGET_WORDS = /(?:^|\s)(?:-j|-g|--jump|--goto)\s+(\S+)/g;

/**
 * The delta's PreparedDump spliced from its base's (what prepareDump gives for the whole text), and
 * the layouts kept for the next delta; or null (the reason in `cache.stats`) when it takes the full path.
 */
export function* spliceDeltaSteps(cache: SpliceCache, input: SpliceInput): Steps<PreparedDump | null> {
  try {
    const prepared = yield* splice(cache, input);
    cache.stats.spliced++;
    return prepared;
  } catch (err) {
    if (!(err instanceof NotSpliced)) throw err;
    cache.stats.fallbacks++;
    cache.stats.lastFallback = err.message;
    return null;
  }
}

function* splice(cache: SpliceCache, input: SpliceInput): Steps<PreparedDump> {
  const base = cache.uploads.get(input.base) ?? fallback('the base was not kept');
  const canon = base.canonical;
  if (canon.family !== input.family) fallback('another family');
  const baseRuleset = input.canonicalRuleset(canon.sha256) ?? fallback("the base's canonical ruleset is not cached");
  const { lines } = input;
  const n = lines.length;
  const chains = canon.chainTable.length;
  // Line numbers of both texts, and of the base canonical text's (a line per counter slot, two per table, the last empty one).
  let iota = identity(cache, Math.max(n, base.lineKind.length, chains + rulesOf(canon) + 2 * canon.tables.length + 1));

  // Where each line comes from, what it is, and which chains are not copied whole (op by op).
  const map = mapScript(base, input.script, n, iota);
  const { src, kind, owner, dirty, changed, newCount, newFirst, lastLine } = map;
  let dirtyLines = 0;
  for (const g of dirty) dirtyLines += newCount[g]!;
  if (dirtyLines > 20_000) fallback('too many changed chains');
  yield;

  // The changed chains (and the inserted comments), parsed by the parser in a text of their own.
  const dirtyChains = new Map<number, Rule[]>();
  if (dirty.length || map.comments.length) {
    const mini: string[] = [...map.comments];
    const byTable = new Map<number, number[]>();
    for (const g of dirty) {
      const ti = canon.chainTable[g]!;
      let list = byTable.get(ti);
      if (!list) byTable.set(ti, (list = []));
      list.push(g);
    }
    const declLine = (g: number): string => lines[map.structure[base.declAt[g]!]!]!;
    for (const [ti, list] of byTable) {
      const table = canon.tables[ti]!;
      const declare = new Set<number>(table.builtins);
      const ruleLines: string[] = [];
      for (const g of list) {
        declare.add(g);
        if (newCount[g] === 0) continue;
        for (let i = newFirst[g]!; i <= lastLine[g]!; i++) {
          if (kind[i] !== RULE || owner[i] !== g) continue;
          const line = lines[i]!;
          ruleLines.push(line);
          for (const m of line.matchAll(TARGET_WORDS)) {
            const to = table.names.get(m[1]!);
            if (to !== undefined) declare.add(to);
          }
        }
      }
      mini.push(`*${table.name}`);
      for (const g of [...declare].sort((a, b) => a - b)) mini.push(declLine(g));
      mini.push(...ruleLines, 'COMMIT');
    }
    const parsed = yield* parseDumpSteps(mini.join('\n') + '\n', { family: input.family, format: 'iptables-save', ...(input.lineMemo ? { lineMemo: input.lineMemo } : {}) });
    if (parsed.diagnostics.length) fallback(`a changed chain has a diagnostic (${parsed.diagnostics[0]!.code})`);
    for (const [ti, list] of byTable) {
      const table = canon.tables[ti]!;
      const got = parsed.ruleset.tables.find((x) => x.name === table.name) ?? fallback('a changed table did not parse');
      for (const c of got.chains) {
        const g = table.names.get(c.name);
        if (g === undefined || (!changed[g] && c.rules.length)) fallback('a changed line went to another chain');
      }
      for (const g of list) {
        const name = baseRuleset.tables[ti]!.chains[g - table.first]!.name;
        const c = got.chains.find((x) => x.name === name);
        const rules = (c?.rules ?? []) as Rule[];
        for (const r of rules) if (r.target?.kind === 'extension' && table.names.has(r.target.name)) fallback('a target named like a chain');
        dirtyChains.set(g, rules);
      }
    }
  }
  yield;

  // The canonical ruleset: unchanged chains as they were (new objects only where line numbers moved).
  // Tables and chains before the first changed one, and between changed ones while no line moved, are not visited.
  const memoSpecs = input.lineMemo?.specs;
  const baseAt = chainLinesOf(canon);
  const blocks = new Map<number, { text: string; lines: string[] }>();
  const tables: Table[] = [];
  /** Lines the changed chains so far added. */
  let shift = 0;
  let d = 0;
  let changedCount = false;
  for (let ti = 0; ti < canon.tables.length; ti++) {
    const table = canon.tables[ti]!;
    const old = baseRuleset.tables[ti]!;
    const end = table.first + table.count;
    if (table.count === 0 || (shift === 0 && (d === dirty.length || dirty[d]! >= end))) {
      tables.push(old);
      continue;
    }
    const declShift = shift;
    const declared = baseAt.declLine[table.first]! + 1 + declShift;
    const out = old.chains.slice() as Chain[];
    for (let g = table.first; g < end; g++) {
      if (shift === 0 && declShift === 0) {
        if (d === dirty.length || dirty[d]! >= end) break;
        g = dirty[d]!;
      }
      const ci = g - table.first;
      const c = old.chains[ci]!;
      const first = baseAt.ruleLine[g]! + 1 + shift;
      if (changed[g]) {
        d++;
        const fresh = dirtyChains.get(g)!;
        const texts = fresh.map((r) => renderRule(c.name, r, false, memoSpecs));
        const text = texts.join('\n');
        const raw = fresh.length ? text.split('\n') : [];
        blocks.set(g, { text, lines: raw });
        out[ci] = canonicalChain(c, declared + ci, fresh.map((r, i) => canonicalRule(r, first + i, raw[i]!)));
        if (fresh.length !== c.rules.length) changedCount = true;
        shift += fresh.length - c.rules.length;
        continue;
      }
      const moved = c.rules.length ? first - c.rules[0]!.line : 0;
      if (c.line !== declared + ci || moved !== 0) out[ci] = canonicalChain(c, declared + ci, c.rules.map((r) => canonicalRule(r, r.line + moved, r.raw)));
    }
    tables.push({ name: old.name, chains: out });
  }
  const ruleset: Ruleset = { family: input.family, tables };
  yield;

  // The canonical text: the base's, with the changed chains' blocks spliced in; hashed in slices,
  // unless an earlier splice made it (another node of a fleet making the same change) and its layout is kept.
  const madeKey = spliceKey(canon.sha256, dirty, blocks);
  const made = dirty.length ? cache.made.get(madeKey) : canon.sha256;
  const known = made !== undefined && cache.canonical.has(canonicalKey(input.family, made)) ? made : undefined;
  let pieces: string[] = [];
  /** The same pieces as bytes, while every piece is ASCII (the next layout keeps them). */
  let bytePieces: Buffer[] | null = canon.bytePieces ? [] : null;
  // The text up to its first changed chain is the base's: its hash resumes from the base's last
  // checkpoint before it (a copy of the hash's state), and the new text keeps checkpoints of its own.
  const firstChange = dirty.length ? canon.blockStart[dirty[0]!]! : canon.length;
  let resume: HashCheckpoint | undefined;
  if (canon.bytePieces) for (const c of canon.checkpoints ?? []) if (c.at <= firstChange) resume = c;
  const hash = resume ? resume.hash.copy() : createHash('sha256');
  const skip = resume?.at ?? 0;
  const checkpoints: HashCheckpoint[] = resume ? canon.checkpoints!.filter((c) => c.at <= skip) : [];
  let hashed = 0;
  const step = cache.checkpointBytes;
  /** Hashes the next bytes of the new text (those past `skip`), keeping a checkpoint every `step` bytes. */
  const feed = (bytes: Buffer): void => {
    for (let o = Math.max(0, skip - hashed); o < bytes.length; ) {
      const at = hashed + o;
      const next = (Math.floor(at / step) + 1) * step;
      const n = Math.min(bytes.length - o, next - at);
      hash.update(bytes.subarray(o, o + n));
      o += n;
      if (at + n === next) checkpoints.push({ at: next, hash: hash.copy() });
    }
    hashed += bytes.length;
  };
  let from = 0;
  const take = (to: number): void => {
    if (to <= from) return;
    eachPiece(canon, from, to, (k, a, b) => {
      const text = canon.pieces[k]!;
      pieces.push(a === 0 && b === text.length ? text : text.slice(a, b));
      if (canon.bytePieces) {
        const bytes = canon.bytePieces[k]!.subarray(a, b);
        if (!known) feed(bytes);
        bytePieces?.push(bytes);
      } else if (!known) hash.update(text.slice(a, b));
    });
  };
  const insert = (s: string): void => {
    pieces.push(s);
    const b = Buffer.from(s, 'utf8');
    if (known) {
      // (Measured only.)
    } else if (canon.bytePieces) feed(b);
    else hash.update(b);
    if (b.length === s.length) bytePieces?.push(b);
    else bytePieces = null;
  };
  for (const g of dirty) {
    const block = blocks.get(g)!;
    const s = canon.blockStart[g]!;
    const e = canon.blockEnd[g]!;
    const had = canon.ruleCount[g]! > 0;
    const has = block.lines.length > 0;
    if (had && has) {
      take(s);
      insert(block.text);
      from = e;
    } else if (had) {
      take(s);
      from = e + 1;
    } else if (has) {
      take(s);
      insert(`${block.text}\n`);
      from = s;
    }
  }
  take(canon.length);
  if (pieces.length > MAX_PIECES) {
    pieces = [pieces.join('')];
    bytePieces &&= [Buffer.concat(bytePieces)];
  }
  const canonicalText = ropeText(pieces);
  const canonicalSize = canon.length + sizeChange(canon, dirty, blocks);
  const sha256 = known ?? hash.digest('hex');
  if (known) cache.stats.knownTexts++;
  else cache.made.set(madeKey, sha256);
  yield;

  // Its lines: the base's, with the changed chains' (the store then need not split 25 MB again), and
  // where each comes from in the base's (-1: a changed chain's): the store's deltas need not compare them.
  // Runs of lines and of line numbers are copied whole.
  const baseLines = (canon.lines ??= canon.pieces.join('').split('\n'));
  let total = baseLines.length;
  for (const g of dirty) total += blocks.get(g)!.lines.length - canon.ruleCount[g]!;
  iota = identity(cache, Math.max(total, baseLines.length));
  const canonicalFrom = new Int32Array(total);
  let canonicalLines: readonly string[];
  if (!dirty.length) {
    canonicalLines = baseLines;
    canonicalFrom.set(iota.subarray(0, total));
  } else if (!changedCount) {
    // Every changed chain kept its number of rules: one copy, its blocks written over.
    const out = baseLines.slice();
    canonicalFrom.set(iota.subarray(0, total));
    for (const g of dirty) {
      const block = blocks.get(g)!.lines;
      const at = baseAt.ruleLine[g]!;
      for (let k = 0; k < block.length; k++) out[at + k] = block[k]!;
      canonicalFrom.fill(-1, at, at + block.length);
    }
    canonicalLines = out;
  } else {
    const parts: (readonly string[])[] = [];
    let o = 0;
    let pos = 0;
    for (const g of dirty) {
      const end = baseAt.ruleLine[g]!;
      parts.push(baseLines.slice(pos, end));
      canonicalFrom.set(iota.subarray(pos, end), o);
      o += end - pos;
      const block = blocks.get(g)!.lines;
      parts.push(block);
      canonicalFrom.fill(-1, o, o + block.length);
      o += block.length;
      pos = end + canon.ruleCount[g]!;
    }
    parts.push(baseLines.slice(pos));
    canonicalFrom.set(iota.subarray(pos, baseLines.length), o);
    canonicalLines = concatAll(parts);
  }
  yield;

  // Counters in the canonical text's order: runs of the base's, the changed chains' from their parse, the overrides.
  let ruleCount = canon.ruleCount;
  let rules = rulesOf(canon);
  if (changedCount) {
    ruleCount = ruleCount.slice();
    for (const [g, fresh] of dirtyChains) {
      rules += fresh.length - ruleCount[g]!;
      ruleCount[g] = fresh.length;
    }
  }
  const slotCount = chains + rules;
  const slots = changedCount ? slotsOf(canon.tables, ruleCount) : { policySlot: canon.policySlot, ruleSlot: canon.ruleSlot };
  // Each counter slot's slot in the base's counters (-1: a changed chain's, or moved).
  let countersFrom = new Int32Array(0);
  let order: CounterText[] | null = null;
  iota = identity(cache, Math.max(slotCount, chains + rulesOf(canon)));
  if ((base.counters || dirtyChains.size) && !changedCount) {
    // The base's slots: one copy, the changed chains' written over.
    order = base.counters ? base.counters.slice() : new Array<CounterText>(slotCount).fill(null);
    countersFrom = new Int32Array(slotCount);
    countersFrom.set(iota.subarray(0, slotCount));
    for (const [g, fresh] of dirtyChains) {
      const at = canon.ruleSlot[g]!;
      for (let k = 0; k < fresh.length; k++) order[at + k] = counterText(fresh[k]!.counters);
      countersFrom.fill(-1, at, at + fresh.length);
    }
  } else if (base.counters || dirtyChains.size) {
    const old = base.counters;
    const baseSlots = chains + rulesOf(canon);
    const parts: (readonly CounterText[])[] = [];
    countersFrom = new Int32Array(slotCount);
    let o = 0;
    let pos = 0;
    const copy = (to: number): void => {
      parts.push(old ? old.slice(pos, to) : new Array<CounterText>(to - pos).fill(null));
      countersFrom.set(iota.subarray(pos, to), o);
      o += to - pos;
    };
    for (const g of dirty) {
      copy(canon.ruleSlot[g]!);
      const fresh = dirtyChains.get(g)!;
      parts.push(fresh.map((r) => counterText(r.counters)));
      countersFrom.fill(-1, o, o + fresh.length);
      o += fresh.length;
      pos = canon.ruleSlot[g]! + canon.ruleCount[g]!;
    }
    copy(baseSlots);
    order = concatAll(parts);
  }
  // Lines whose counter the script moved: the uploaded one is not copied as it was, nor the counted canonical one.
  const canonicalAt = changedCount ? chainLines(canon.tables, ruleCount) : baseAt;
  const countersMoved = new Uint8Array(total);
  const originalFrom = src.slice();
  const overrides = input.counters ?? [];
  let ln = 0;
  for (let c = 0; c < overrides.length; c += 2) {
    ln += overrides[c] as number;
    const i = ln - 1;
    const g = owner[i]!;
    const value = normalCounter(overrides[c + 1] as string);
    originalFrom[i] = -1;
    if (kind[i] === DECL) {
      countersMoved[canonicalAt.declLine[g]!] = 1;
      if (order) (order[slots.policySlot[g]!] = value), (countersFrom[slots.policySlot[g]!] = -1);
    } else if (kind[i] === RULE && !changed[g]) {
      const r = src[i]! - base.runStart[g]!;
      countersMoved[canonicalAt.ruleLine[g]! + r] = 1;
      if (order) (order[slots.ruleSlot[g]! + r] = value), (countersFrom[slots.ruleSlot[g]! + r] = -1);
    }
  }
  if (order && !order.some((c) => c !== null)) {
    order = null;
    countersFrom = new Int32Array(0);
  }
  yield;

  let json: string | null | undefined = order ? undefined : null;
  const prepared: PreparedDump = {
    family: input.family,
    format: 'iptables-save',
    // Read only if needed: a delta's text is joined from its lines when read.
    get originalText(): string {
      return input.text;
    },
    originalSha256: input.originalSha256,
    canonicalText,
    sha256,
    // Written only when asked for: the store reads the text order.
    get countersJson(): string | null {
      return json === undefined ? (json = countersJsonFromOrder(ruleset, order!)) : json;
    },
    ...(order ? { countersInTextOrder: order } : {}),
    stats: { tables: canon.tables.length, chains, rules },
    diagnostics: [],
    ruleset,
    canonicalExact: true,
    originalLines: input.lines,
    canonicalLines,
    ...(bytePieces ? { canonicalSize } : {}),
    canonicalLayout: layoutOf(canon.tables, ruleCount, slots, canonicalLines, identity(cache, slotCount + 2 * canon.tables.length + 1)),
    textHints: { baseCanonical: canon.sha256, canonicalFrom, countersMoved, baseOriginal: input.base, originalFrom, countersFrom },
  };

  // Kept for the next delta: the new canonical text's layout (unless known) and this text's.
  const key = canonicalKey(input.family, sha256);
  let next: SpliceCanonical | null | undefined = cache.canonical.get(key);
  if (!next) {
    next = shiftedCanonical(canon, sha256, pieces, canonicalSize, bytePieces, dirty, blocks, ruleCount, slots, !changedCount);
    if (next) {
      next.lines = canonicalLines;
      next.rules = rules;
      if (changedCount) next.at = canonicalAt;
      // Byte offsets are the layout's offsets only in an ASCII text.
      if (bytePieces) next.checkpoints = checkpoints;
      cache.canonical.set(key, next);
    }
  }
  if (next) {
    const runStart = base.runStart.slice();
    if (!map.unshifted) for (let g = 0; g < chains; g++) if (!changed[g] && runStart[g]! >= 0) runStart[g] = runStart[g]! + map.shiftOf(runStart[g]!);
    let plain = true;
    for (const g of dirty) {
      // One rule per line, in one run.
      if (dirtyChains.get(g)!.length !== newCount[g] || (newCount[g] && lastLine[g]! - newFirst[g]! + 1 !== newCount[g])) plain = false;
      runStart[g] = newCount[g] ? newFirst[g]! : -1;
    }
    if (plain) {
      const upload: SpliceUpload = { originalSha256: input.originalSha256, canonical: next, lineKind: kind, lineChain: owner, structure: map.structure, declAt: base.declAt, runStart, counters: order };
      if (input.keepUpload) input.keepUpload(upload);
      else cache.uploads.set(input.originalSha256, upload);
    }
  }
  return prepared;
}

/** What a spliced canonical text is made of: its base's sha256 and its changed chains' new blocks. */
function spliceKey(base: string, dirty: readonly number[], blocks: ReadonlyMap<number, { text: string }>): string {
  const h = createHash('sha256').update(base);
  for (const g of dirty) h.update(`\u0000${g}\u0000${blocks.get(g)!.text.length}\u0000`).update(blocks.get(g)!.text);
  return h.digest('hex');
}

/** Arrays joined (copied whole: `concat` of arrays of one kind is a block copy). */
function concatAll<T>(parts: readonly (readonly T[])[]): T[] {
  if (parts.length === 1) return parts[0]!.slice();
  // Past a few thousand arguments, in slices.
  let out: T[] = [];
  for (let k = 0; k < parts.length; k += 4096) out = out.concat(...parts.slice(k, k + 4096));
  return out;
}
