// A delta's line script read against its base upload's layout (splice-layout.ts)
// for the splice (splice.ts), one script op at a time: a copy of 200k lines is
// a run of its base's lines, so what each new line is and whose (`kind`,
// `owner`) is a copy of the base's arrays, where it comes from (`src`) a copy
// of a run of line numbers, and the structure check a look at the base's
// table, declaration and COMMIT lines the copy holds. Per line work is left for
// the inserted lines and the chains a copy cuts or leaves out: those (and the
// chains of inserted rules) are the changed chains, the ones the splice parses.
import { COMMIT, DECL, HEAD, RULE, SKIP, type SpliceUpload } from './splice-layout.ts';
import type { LineScriptOp } from './line-script.ts';
import { lastAtOrBefore } from './bisect.ts';

/** Why a delta is not spliced (it then takes the full path). */
export class NotSpliced extends Error {}
export const fallback = (why: string): never => {
  throw new NotSpliced(why);
};

/** The new text's lines against the base upload's, and the chains it changes. */
export interface ScriptMap {
  /** Per new line: the base line it copies, or -1 (inserted). */
  readonly src: Int32Array;
  /** Per new line: SKIP, RULE, DECL, HEAD or COMMIT; its chain (RULE, DECL) or table (HEAD, COMMIT), as `SpliceUpload` has them. */
  readonly kind: Uint8Array;
  readonly owner: Int32Array;
  /** The new lines of the base's structure lines, in order (the base's `structure` and `declAt` index them). */
  readonly structure: Int32Array;
  /** The inserted comments (parsed with the changed chains). */
  readonly comments: readonly string[];
  /** Chains whose rules are not their base run copied whole, ascending; `changed[g]` is 1 for them. */
  readonly dirty: readonly number[];
  readonly changed: Uint8Array;
  /** Per changed chain: how many new lines are its rules, the first and the last of them. */
  readonly newCount: Int32Array;
  readonly newFirst: Int32Array;
  readonly lastLine: Int32Array;
  /** Where each base line of an unchanged chain's run went (`runStart` of the next layout): `at - from` of the copy holding it. */
  readonly shiftOf: (baseLine: number) => number;
  /** Whether every copy keeps its lines where they were (`shiftOf` is 0). */
  readonly unshifted: boolean;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f]/;

/** The first index of sorted `a` (from `lo`) whose value is at least `x`. */
function lowerBound(a: Int32Array, x: number, lo = 0): number {
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Reads `script` (making `n` lines) against `base`; `iota` is `identity` of at least the base's
 * lines. Throws NotSpliced for what the splice leaves to the full path: a table, declaration or
 * COMMIT line changed, missing or out of order, a rule line outside its table's rules.
 */
export function mapScript(base: SpliceUpload, script: readonly LineScriptOp[], n: number, iota: Int32Array): ScriptMap {
  const canon = base.canonical;
  const chains = canon.chainTable.length;
  const { structure, lineKind, lineChain, runStart } = base;
  const { ruleCount } = canon;
  const baseLength = lineKind.length;
  const src = new Int32Array(n);
  const kind = new Uint8Array(n);
  const owner = new Int32Array(n);
  const structureNew = new Int32Array(structure.length);
  const newCount = new Int32Array(chains);
  const newFirst = new Int32Array(chains);
  const lastLine = new Int32Array(chains);
  const changed = new Uint8Array(chains);
  const dirty: number[] = [];
  const comments: string[] = [];
  const touch = (g: number): void => {
    if (changed[g]) return;
    changed[g] = 1;
    dirty.push(g);
  };
  /** New lines [a, b) are rules of chain g. */
  const add = (g: number, a: number, b: number): void => {
    if (newCount[g] === 0) {
      newFirst[g] = a;
      lastLine[g] = b - 1;
    } else {
      if (a < newFirst[g]!) newFirst[g] = a;
      if (b - 1 > lastLine[g]!) lastLine[g] = b - 1;
    }
    newCount[g] = newCount[g]! + (b - a);
  };
  // The table whose rules may follow the first s structure lines (-1: none), as the base has it.
  const tableAfter = (s: number): number => {
    if (s === 0) return -1;
    const l = structure[s - 1]!;
    const k = lineKind[l];
    return k === HEAD ? lineChain[l]! : k === DECL ? canon.chainTable[lineChain[l]!]! : -1;
  };
  const rulesOpen = (s: number): boolean => s < structure.length && lineKind[structure[s]!] === COMMIT && tableAfter(s) >= 0;

  const copyFrom: number[] = [];
  const copyCount: number[] = [];
  const copyAt: number[] = [];
  let sp = 0;
  let at = 0;
  for (let o = 0; o < script.length; o++) {
    const op = script[o]!;
    if (typeof op !== 'string') {
      const from = op[0] - 1;
      let count = op[1];
      // Copies that go on where the last one stopped are one run.
      for (let next = script[o + 1]; next !== undefined && typeof next !== 'string' && next[0] - 1 === from + count; next = script[++o + 1]) count += next[1];
      const end = from + count;
      if (from < 0 || count < 1 || end > baseLength || at + count > n) fallback('the script does not make the lines given');
      // Its structure lines must be the next ones expected; then its rules are in their table's rules, as in the base.
      const s0 = lowerBound(structure, from);
      const s1 = lowerBound(structure, end, s0);
      if (s0 !== sp && (s1 > s0 || (rulesOpen(s0) && lineKind.subarray(from, end).includes(RULE)))) {
        fallback(s1 > s0 ? 'a table, declaration or COMMIT line changed' : "a rule line outside its table's rules");
      }
      const shift = at - from;
      if (s1 > s0) {
        if (shift === 0) structureNew.set(structure.subarray(s0, s1), s0);
        else for (let s = s0; s < s1; s++) structureNew[s] = structure[s]! + shift;
        sp = s1;
      }
      src.set(iota.subarray(from, end), at);
      kind.set(lineKind.subarray(from, end), at);
      owner.set(lineChain.subarray(from, end), at);
      // A chain run the copy cuts, at either end, is not copied whole.
      if (lineKind[from] === RULE && runStart[lineChain[from]!]! < from) touch(lineChain[from]!);
      const g = lineChain[end - 1]!;
      if (lineKind[end - 1] === RULE && runStart[g]! + ruleCount[g]! > end) touch(g);
      copyFrom.push(from);
      copyCount.push(count);
      copyAt.push(at);
      at += count;
      continue;
    }
    if (at >= n) fallback('the script does not make the lines given');
    src[at] = -1;
    const c0 = op.charCodeAt(0);
    if (CONTROL.test(op)) fallback('an inserted line holds a control character');
    if (op.length === 0 || c0 === 35 /* # */) {
      kind[at] = SKIP;
      if (op.length) comments.push(op);
    } else if (op === 'COMMIT' || c0 === 42 /* * */) {
      // A short line the agent sent rather than copied: it must be the structure line expected there.
      const k = c0 === 42 ? HEAD : COMMIT;
      const expected = structure[sp] ?? fallback('a table or COMMIT line too many');
      if (lineKind[expected] !== k || (k === HEAD && canon.tables[lineChain[expected]!]!.name !== op.slice(1))) fallback('a table, declaration or COMMIT line changed');
      kind[at] = k;
      owner[at] = lineChain[expected]!;
      structureNew[sp++] = at;
    } else {
      const from = c0 === 91 /* [ */ ? op.indexOf('] ') + 2 : 0;
      if (from === 1 || !op.startsWith('-A ', from)) fallback('an inserted line is not a rule or a comment');
      if (!rulesOpen(sp)) fallback("a rule line outside its table's rules");
      const space = op.indexOf(' ', from + 3);
      const g = canon.tables[tableAfter(sp)]!.names.get(op.slice(from + 3, space < 0 ? undefined : space)) ?? fallback('an inserted rule of an undeclared chain');
      kind[at] = RULE;
      owner[at] = g;
      touch(g);
      add(g, at, at + 1);
    }
    at++;
  }
  if (at !== n) fallback('the script does not make the lines given');
  if (sp !== structure.length) fallback('a table, declaration or COMMIT line is missing');

  // Base lines no copy holds, or two copies hold: their chains' runs are not copied whole (once).
  const copies = copyFrom.length;
  const byFrom = Array.from({ length: copies }, (_, k) => k);
  let monotone = true;
  for (let k = 1; k < copies && monotone; k++) if (copyFrom[k]! < copyFrom[k - 1]! + copyCount[k - 1]!) monotone = false;
  if (!monotone) byFrom.sort((a, b) => copyFrom[a]! - copyFrom[b]!);
  const touchRuns = (a: number, b: number): void => {
    for (let p = a; p < b; ) {
      if (lineKind[p] !== RULE) {
        p++;
        continue;
      }
      const g = lineChain[p]!;
      touch(g);
      p = runStart[g]! + ruleCount[g]!;
    }
  };
  let covered = 0;
  for (const k of byFrom) {
    const from = copyFrom[k]!;
    const end = from + copyCount[k]!;
    if (from > covered) touchRuns(covered, from);
    else if (from < covered) touchRuns(from, Math.min(end, covered));
    covered = Math.max(covered, end);
  }
  touchRuns(covered, baseLength);

  // The changed chains' copied rules: where their base runs went.
  /** The last copy (in base order) starting at or before base line `l`. */
  const copyBefore = (l: number): number => lastAtOrBefore(copies, (k) => copyFrom[byFrom[k]!]!, l);
  for (const g of dirty) {
    if (ruleCount[g] === 0) continue;
    const rs = runStart[g]!;
    const re = rs + ruleCount[g]!;
    // In base order, each copy that may hold a line of [rs, re) (all of them when copies overlap).
    for (let j = monotone ? copyBefore(rs) : 0; j < copies; j++) {
      const k = byFrom[j]!;
      const from = copyFrom[k]!;
      if (from >= re) break;
      const lo = Math.max(rs, from);
      const hi = Math.min(re, from + copyCount[k]!);
      if (lo < hi) add(g, copyAt[k]! + lo - from, copyAt[k]! + hi - from);
    }
  }
  dirty.sort((a, b) => a - b);

  let unshifted = true;
  for (let k = 0; k < copies; k++) if (copyAt[k] !== copyFrom[k]) unshifted = false;
  const shiftOf = (l: number): number => {
    // The copy holding l (one only, for a line of an unchanged chain): the last starting at or before
    // it, unless copies overlap (one inside another).
    for (let j = copies ? copyBefore(l) : -1; j >= 0; j--) {
      const k = byFrom[j]!;
      if (copyFrom[k]! + copyCount[k]! > l) return copyAt[k]! - copyFrom[k]!;
    }
    return 0;
  };
  return { src, kind, owner, structure: structureNew, comments, dirty, changed, newCount, newFirst, lastLine, shiftOf, unshifted };
}
