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
import { parseDumpSteps, renderRule, rulesetStats, type Chain, type Family, type Rule, type RuleLineMemo, type Ruleset, type Steps, type Table } from '../netfilter/index.ts';
import type { CounterText } from './counters-codec.ts';
import { canonicalChain, canonicalRule, counterText, countersJsonFromOrder, type PreparedDump } from './ingest.ts';
import type { LineScriptOp } from './line-script.ts';
import { canonicalKey, chainLines, COMMIT, countSlots, layoutOf, DECL, eachPiece, HEAD, MAX_PIECES, ropeText, RULE, shiftedCanonical, sizeChange, SKIP, slotsOf, type HashCheckpoint, type SpliceCache, type SpliceCanonical, type SpliceUpload } from './splice-layout.ts';
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

/** Why a delta is not spliced (it then takes the full path). */
class NotSpliced extends Error {}
const fallback = (why: string): never => {
  throw new NotSpliced(why);
};

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

  // Where each line comes from: a base line, or -1 (inserted); and what it is.
  const src = new Int32Array(n);
  const kind = new Uint8Array(n);
  const owner = new Int32Array(n);
  const insertedName = new Map<number, string>();
  const comments: string[] = [];
  let at = 0;
  for (const op of input.script) {
    if (typeof op !== 'string') {
      const from = op[0] - 1;
      const count = op[1];
      for (let k = 0; k < count; k++) src[at + k] = from + k;
      kind.set(base.lineKind.subarray(from, from + count), at);
      owner.set(base.lineChain.subarray(from, from + count), at);
      at += count;
      continue;
    }
    src[at] = -1;
    const c0 = op.charCodeAt(0);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000a-\u001f]/.test(op)) fallback('an inserted line holds a control character');
    if (op.length === 0 || c0 === 35 /* # */) {
      kind[at] = SKIP;
      if (op.length) comments.push(op);
    } else if (op === 'COMMIT' || c0 === 42 /* * */) {
      // A short line the agent sent rather than copied: it must be the structure line expected there.
      kind[at] = c0 === 42 ? HEAD : COMMIT;
      owner[at] = -1;
      insertedName.set(at, op.slice(1));
    } else {
      const from = c0 === 91 /* [ */ ? op.indexOf('] ') + 2 : 0;
      if (from === 1 || !op.startsWith('-A ', from)) fallback('an inserted line is not a rule or a comment');
      const sp = op.indexOf(' ', from + 3);
      kind[at] = RULE;
      owner[at] = -1;
      insertedName.set(at, op.slice(from + 3, sp < 0 ? undefined : sp));
    }
    at++;
  }
  if (at !== n) fallback('the script does not make the lines given');
  yield;

  // The new text must have its base's structure lines, copied, in order, and rules only between a
  // table's last declaration and its COMMIT. A chain stays clean when its lines are its base run, whole.
  const { structure } = base;
  const structureNew = new Int32Array(structure.length);
  const newCount = new Int32Array(chains);
  const newFirst = new Int32Array(chains).fill(-1);
  const lastLine = new Int32Array(chains).fill(-2);
  const whole = new Uint8Array(chains).fill(1);
  const declLine = new Int32Array(chains).fill(-1);
  let sp = 0;
  let t = -1;
  let rulesOpen = false;
  for (let i = 0; i < n; i++) {
    const k = kind[i]!;
    if (k === SKIP) continue;
    if (k !== RULE) {
      const expected = structure[sp] ?? fallback('a table or COMMIT line too many');
      if (src[i]! >= 0 ? src[i] !== expected : base.lineKind[expected] !== k || (k === HEAD && canon.tables[base.lineChain[expected]!]!.name !== insertedName.get(i))) {
        fallback('a table, declaration or COMMIT line changed');
      }
      owner[i] = base.lineChain[expected]!;
      structureNew[sp++] = i;
      if (k === HEAD) t = owner[i]!;
      else if (k === COMMIT) t = -1;
      else declLine[owner[i]!] = i;
      rulesOpen = t >= 0 && sp < structure.length && base.lineKind[structure[sp]!] === COMMIT;
      continue;
    }
    if (!rulesOpen) fallback('a rule line outside its table\'s rules');
    let g = owner[i]!;
    if (g < 0) {
      g = canon.tables[t]!.names.get(insertedName.get(i)!) ?? fallback('an inserted rule of an undeclared chain');
      owner[i] = g;
    } else if (canon.chainTable[g] !== t) fallback('a rule copied into another table');
    const origin = src[i]!;
    if (newCount[g] === 0) {
      newFirst[g] = i;
      if (origin < 0 || origin !== base.runStart[g]) whole[g] = 0;
    } else if (lastLine[g] !== i - 1 || origin < 0 || origin !== src[i - 1]! + 1) whole[g] = 0;
    newCount[g] = newCount[g]! + 1;
    lastLine[g] = i;
  }
  if (sp !== structure.length) fallback('a table, declaration or COMMIT line is missing');
  const dirty: number[] = [];
  let dirtyLines = 0;
  for (let g = 0; g < chains; g++) {
    if (whole[g] && newCount[g] === canon.ruleCount[g]) continue;
    dirty.push(g);
    dirtyLines += newCount[g]!;
  }
  if (dirtyLines > 20_000) fallback('too many changed chains');
  yield;

  // The changed chains (and the inserted comments), parsed by the parser in a text of their own.
  const dirtyChains = new Map<number, Rule[]>();
  if (dirty.length || comments.length) {
    const mini: string[] = [...comments];
    const byTable = new Map<number, number[]>();
    for (const g of dirty) {
      const ti = canon.chainTable[g]!;
      let list = byTable.get(ti);
      if (!list) byTable.set(ti, (list = []));
      list.push(g);
    }
    const dirtySet = new Set(dirty);
    for (const [ti, list] of byTable) {
      const table = canon.tables[ti]!;
      const oldChains = baseRuleset.tables[ti]!.chains;
      const declare = new Set<number>();
      for (let ci = 0; ci < table.count; ci++) if (oldChains[ci]!.builtin) declare.add(table.first + ci);
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
      for (const g of [...declare].sort((a, b) => a - b)) mini.push(lines[declLine[g]!]!);
      mini.push(...ruleLines, 'COMMIT');
    }
    const parsed = yield* parseDumpSteps(mini.join('\n') + '\n', { family: input.family, format: 'iptables-save', ...(input.lineMemo ? { lineMemo: input.lineMemo } : {}) });
    if (parsed.diagnostics.length) fallback(`a changed chain has a diagnostic (${parsed.diagnostics[0]!.code})`);
    for (const [ti, list] of byTable) {
      const table = canon.tables[ti]!;
      const got = parsed.ruleset.tables.find((x) => x.name === table.name) ?? fallback('a changed table did not parse');
      for (const c of got.chains) {
        const g = table.names.get(c.name);
        if (g === undefined || (!dirtySet.has(g) && c.rules.length)) fallback('a changed line went to another chain');
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
  const memoSpecs = input.lineMemo?.specs;
  const blocks = new Map<number, { text: string; lines: string[] }>();
  const tables: Table[] = [];
  let line = 0;
  let changedCount = false;
  for (let ti = 0; ti < canon.tables.length; ti++) {
    const table = canon.tables[ti]!;
    const old = baseRuleset.tables[ti]!;
    const declared = line + 2;
    line += 1 + table.count;
    let same = true;
    const out: Chain[] = new Array<Chain>(table.count);
    for (let ci = 0; ci < table.count; ci++) {
      const g = table.first + ci;
      const c = old.chains[ci]!;
      const first = line + 1;
      const fresh = dirtyChains.get(g);
      if (fresh) {
        const texts = fresh.map((r) => renderRule(c.name, r, false, memoSpecs));
        const text = texts.join('\n');
        const raw = fresh.length ? text.split('\n') : [];
        blocks.set(g, { text, lines: raw });
        out[ci] = canonicalChain(c, declared + ci, fresh.map((r, i) => canonicalRule(r, first + i, raw[i]!)));
        if (fresh.length !== c.rules.length) changedCount = true;
        same = false;
        line += fresh.length;
        continue;
      }
      const shift = c.rules.length ? first - c.rules[0]!.line : 0;
      if (c.line === declared + ci && shift === 0) out[ci] = c;
      else {
        out[ci] = canonicalChain(c, declared + ci, c.rules.map((r) => canonicalRule(r, r.line + shift, r.raw)));
        same = false;
      }
      line += c.rules.length;
    }
    line++;
    tables.push(same ? old : { name: old.name, chains: out });
  }
  const ruleset: Ruleset = { family: input.family, tables };
  yield;

  // The canonical text: the base's, with the changed chains' blocks spliced in; hashed in slices.
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
        feed(bytes);
        bytePieces?.push(bytes);
      } else hash.update(text.slice(a, b));
    });
  };
  const insert = (s: string): void => {
    pieces.push(s);
    const b = Buffer.from(s, 'utf8');
    if (canon.bytePieces) feed(b);
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
  const sha256 = hash.digest('hex');
  yield;

  // Its lines: the base's, with the changed chains' (the store then need not split 25 MB again), and
  // where each comes from in the base's (-1: a changed chain's): the store's deltas need not compare them.
  const baseLines = (canon.lines ??= canon.pieces.join('').split('\n'));
  let canonicalLines: string[];
  let canonicalFrom: Int32Array;
  if (!dirty.length) {
    canonicalLines = baseLines.slice();
    canonicalFrom = new Int32Array(baseLines.length);
    for (let i = 0; i < baseLines.length; i++) canonicalFrom[i] = i;
  } else {
    const firstLine = chainLines(canon.tables, canon.ruleCount).ruleLine;
    let total = baseLines.length;
    for (const g of dirty) total += blocks.get(g)!.lines.length - canon.ruleCount[g]!;
    canonicalLines = new Array<string>(total);
    canonicalFrom = new Int32Array(total);
    let o = 0;
    let pos = 0;
    for (const g of dirty) {
      for (const end = firstLine[g]!; pos < end; o++) canonicalFrom[o] = pos, canonicalLines[o] = baseLines[pos++]!;
      for (const l of blocks.get(g)!.lines) canonicalFrom[o] = -1, canonicalLines[o++] = l;
      pos += canon.ruleCount[g]!;
    }
    for (; pos < baseLines.length; o++) canonicalFrom[o] = pos, canonicalLines[o] = baseLines[pos++]!;
  }
  yield;

  // Counters in the canonical text's order: the base's, the changed chains' from their parse, the overrides.
  const ruleCount = canon.ruleCount.slice();
  for (const [g, rules] of dirtyChains) ruleCount[g] = rules.length;
  const slots = changedCount ? slotsOf(canon.tables, ruleCount) : { policySlot: canon.policySlot, ruleSlot: canon.ruleSlot };
  let order: CounterText[] | null = null;
  if (base.counters || dirtyChains.size) {
    const old = base.counters;
    order = new Array<CounterText>(countSlots(canon.tables, ruleCount));
    for (let g = 0; g < chains; g++) {
      order[slots.policySlot[g]!] = old ? old[canon.policySlot[g]!]! : null;
      const fresh = dirtyChains.get(g);
      const to = slots.ruleSlot[g]!;
      if (fresh) for (let i = 0; i < fresh.length; i++) order[to + i] = counterText(fresh[i]!.counters);
      else {
        const at0 = canon.ruleSlot[g]!;
        for (let i = 0, m = ruleCount[g]!; i < m; i++) order[to + i] = old ? old[at0 + i]! : null;
      }
    }
    const overrides = input.counters ?? [];
    let ln = 0;
    for (let c = 0; c < overrides.length; c += 2) {
      ln += overrides[c] as number;
      const i = ln - 1;
      const g = owner[i]!;
      const value = normalCounter(overrides[c + 1] as string);
      if (kind[i] === DECL) order[slots.policySlot[g]!] = value;
      else if (kind[i] === RULE && !dirtyChains.has(g)) order[slots.ruleSlot[g]! + (src[i]! - base.runStart[g]!)] = value;
    }
    if (!order.some((c) => c !== null)) order = null;
  }
  // Lines whose counter the script moved: the uploaded one is not copied as it was, nor the counted canonical one.
  const canonicalAt = chainLines(canon.tables, ruleCount);
  const countersMoved = new Uint8Array(canonicalLines.length);
  const originalFrom = src.slice();
  // Each counter slot's slot in the base's counters (-1: a changed chain's, or moved).
  const countersFrom = new Int32Array(order ? order.length : 0);
  if (order) {
    for (let g = 0; g < chains; g++) {
      countersFrom[slots.policySlot[g]!] = canon.policySlot[g]!;
      const to = slots.ruleSlot[g]!;
      if (dirtyChains.has(g)) countersFrom.fill(-1, to, to + ruleCount[g]!);
      else for (let i = 0, at0 = canon.ruleSlot[g]!, m = ruleCount[g]!; i < m; i++) countersFrom[to + i] = at0 + i;
    }
  }
  if (input.counters) {
    const overrides = input.counters;
    let ln = 0;
    for (let c = 0; c < overrides.length; c += 2) {
      ln += overrides[c] as number;
      const i = ln - 1;
      const g = owner[i]!;
      originalFrom[i] = -1;
      if (kind[i] === DECL) {
        countersMoved[canonicalAt.declLine[g]!] = 1;
        if (order) countersFrom[slots.policySlot[g]!] = -1;
      } else if (kind[i] === RULE && !dirtyChains.has(g)) {
        countersMoved[canonicalAt.ruleLine[g]! + (src[i]! - base.runStart[g]!)] = 1;
        if (order) countersFrom[slots.ruleSlot[g]! + (src[i]! - base.runStart[g]!)] = -1;
      }
    }
  }
  yield;

  const stats = rulesetStats(ruleset);
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
    stats,
    diagnostics: [],
    ruleset,
    canonicalExact: true,
    originalLines: input.lines,
    canonicalLines,
    ...(bytePieces ? { canonicalSize } : {}),
    canonicalLayout: layoutOf(canon.tables, ruleCount, slots, canonicalLines),
    textHints: { baseCanonical: canon.sha256, canonicalFrom, countersMoved, baseOriginal: input.base, originalFrom, countersFrom },
  };

  // Kept for the next delta: the new canonical text's layout (unless known) and this text's.
  const key = canonicalKey(input.family, sha256);
  let next: SpliceCanonical | null | undefined = cache.canonical.get(key);
  if (!next) {
    next = shiftedCanonical(canon, sha256, pieces, canonicalSize, bytePieces, dirty, blocks, ruleCount, slots);
    if (next) next.lines = canonicalLines;
    // Byte offsets are the layout's offsets only in an ASCII text.
    if (next && bytePieces) next.checkpoints = checkpoints;
    if (next) cache.canonical.set(key, next);
  }
  if (next) {
    let plain = true;
    const runStart = base.runStart.slice();
    for (const g of dirty) {
      const rules = dirtyChains.get(g)!;
      // One rule per line, in one run.
      if (rules.length !== newCount[g] || (newCount[g] && lastLine[g]! - newFirst[g]! + 1 !== newCount[g])) plain = false;
      runStart[g] = newCount[g] ? newFirst[g]! : -1;
    }
    if (plain) {
      for (let g = 0; g < chains; g++) if (!dirtyChains.has(g) && newCount[g]) runStart[g] = newFirst[g]!;
      const upload: SpliceUpload = { originalSha256: input.originalSha256, canonical: next, lineKind: kind, lineChain: owner, structure: structureNew, runStart, counters: order };
      if (input.keepUpload) input.keepUpload(upload);
      else cache.uploads.set(input.originalSha256, upload);
    }
  }
  return prepared;
}
