// The line edit script of a delta upload (`{delta: {base, sha256, script,
// counters?}}`): the new text as copies of line runs of the text the server
// already has (the node's last uploaded text) plus inserted lines, with the
// counters that changed in copied lines sent apart. Pure: the agent makes
// scripts, the server applies them.
//
// Texts are split on '\n' only, so `lines.join('\n')` is the text again, byte
// for byte ('\r' stays part of a line; a final newline is a last empty line).
//
// `script` is a JSON array; each item is one of
//   [from, count]  copy `count` lines of the base starting at its line `from` (1-based);
//   "text"         insert this line.
// Base lines no copy names are left out. `counters` (optional) is a flat array
// `[n1, "p:b", n2, "p:b", ...]`: the result line `n1` (1-based), then the line
// `n1 + n2`, ... gets the counter `[p:b]` instead of the one its base line had.
// Only copied lines with a counter can take one: a rule line's `[p:b] ` prefix
// (`iptables-save -c`) or a chain declaration's trailing ` [p:b]`.
//
// Why counters apart: `iptables-save -c` counters move on every collection,
// so a script over whole lines would resend most of a busy node's rules.
// Lines are matched with their counters left out; only the counters that
// moved are sent (nothing when a node's counters are all zero or unchanged).
//
// Hand-written (no diff library): the matcher must be linear on 700k-line
// dumps and compare lines without their counters; the usual change, a few
// scattered edits, needs no index of the base at all.

export type LineScriptOp = string | readonly [number, number];

export interface LineScript {
  readonly script: readonly LineScriptOp[];
  /** Absent when no copied line's counter changed. */
  readonly counters?: readonly (number | string)[];
}

/** A script that cannot be applied: the message says which item and why. */
export class LineScriptError extends Error {
  override readonly name = 'LineScriptError';
  constructor(
    message: string,
    /** JSON pointer of the offending item, relative to the delta object (`/script/3`). */
    readonly path: string,
  ) {
    super(message);
  }
}

const RULE_COUNTER = /^\[(\d+:\d+)\] /;
const CHAIN_COUNTER = / \[(\d+:\d+)\]$/;
const COUNTER_VALUE = /^\d+:\d+$/;

/** A line without its counter (the key lines are matched by) and the counter (`p:b`), if it has one. */
export function splitCounter(line: string): { key: string; counter: string | null } {
  const c0 = line.charCodeAt(0);
  if (c0 === 91 /* [ */) {
    const m = RULE_COUNTER.exec(line);
    if (m) return { key: line.slice(m[0].length), counter: m[1]! };
  } else if (c0 === 58 /* : */ && line.charCodeAt(line.length - 1) === 93 /* ] */) {
    const m = CHAIN_COUNTER.exec(line);
    if (m) return { key: `\u0000${line.slice(0, m.index)}`, counter: m[1]! };
  }
  return { key: line, counter: null };
}

/** The line with its counter replaced by `counter`; null when it has none to replace. */
function withCounter(line: string, counter: string): string | null {
  const c0 = line.charCodeAt(0);
  if (c0 === 91) {
    const m = RULE_COUNTER.exec(line);
    if (m) return `[${counter}] ${line.slice(m[0].length)}`;
  } else if (c0 === 58) {
    const m = CHAIN_COUNTER.exec(line);
    if (m) return `${line.slice(0, m.index)} [${counter}]`;
  }
  return null;
}

/** How far a mismatch looks around the expected base line before asking the index. */
const WINDOW = 4;

/** A line without its counter: the key lines are matched by (chain declarations marked, so they never match a rule line). */
function keyOf(line: string): string {
  const c0 = line.charCodeAt(0);
  if (c0 !== 91 && !(c0 === 58 && line.charCodeAt(line.length - 1) === 93)) return line;
  return splitCounter(line).key;
}

/** The script turning `base` into `target` (both as text or as lines). */
export function makeLineScript(base: string | readonly string[], target: string | readonly string[]): LineScript {
  const baseLines = typeof base === 'string' ? base.split('\n') : base;
  const targetLines = typeof target === 'string' ? target.split('\n') : target;
  // Keys only (slices of the lines): counters are read where two matched lines differ.
  const b = baseLines.map(keyOf);
  const t = targetLines.map(keyOf);
  let index: Map<string, number> | undefined;
  const lookup = (key: string): number => {
    if (!index) {
      index = new Map();
      for (let k = 0; k < b.length; k++) if (!index.has(b[k]!)) index.set(b[k]!, k);
    }
    return index.get(key) ?? -1;
  };
  let expected = 0;
  /** Where to copy target line i from, or -1 to insert it. */
  const startFor = (i: number): number => {
    const key = t[i]!;
    if (expected < b.length && b[expected] === key) return expected;
    for (let k = 1; k <= WINDOW && expected + k < b.length; k++) {
      if (b[expected + k] === key && (i + 1 >= t.length || b[expected + k + 1] === t[i + 1])) return expected + k;
    }
    if (expected < b.length) for (let k = 1; k <= WINDOW && i + k < t.length; k++) if (t[i + k] === b[expected]) return -1;
    return lookup(key);
  };
  const script: LineScriptOp[] = [];
  const counters: (number | string)[] = [];
  let lastOverride = 0;
  let i = 0;
  while (i < t.length) {
    const start = startFor(i);
    // A lone short line found elsewhere (COMMIT, a blank line) is cheaper inline.
    if (start >= 0 && !(start !== expected && t[i]!.length < 8 && b[start + 1] !== t[i + 1])) {
      let n = 1;
      while (i + n < t.length && start + n < b.length && b[start + n] === t[i + n]) n++;
      for (let k = 0; k < n; k++) {
        const want = targetLines[i + k]!;
        const had = baseLines[start + k]!;
        if (want === had) continue;
        const wantCounter = splitCounter(want).counter;
        const hadCounter = splitCounter(had).counter;
        if (wantCounter === null || hadCounter === null) {
          // A counter appearing or vanishing is not a counter change: the line itself differs. The copy ends here.
          n = k;
          break;
        }
        counters.push(i + k + 1 - lastOverride, wantCounter);
        lastOverride = i + k + 1;
      }
      if (n > 0) {
        script.push([start + 1, n]);
        expected = start + n;
        i += n;
        continue;
      }
    }
    script.push(targetLines[i]!);
    i++;
  }
  return counters.length ? { script, counters } : { script };
}

/**
 * The text a script makes of its base as runs of the base's lines and the other lines as they are
 * (inserted, or copied with another counter): what the hash worker makes the new text's bytes from
 * (hash-off-loop.ts). `ops` are pairs: (from, count) copies `count` base lines from line `from`
 * (0-based), (-1, count) takes the next `count` lines of `literal`.
 */
export interface LineEdit {
  readonly ops: readonly number[];
  readonly literal: readonly string[];
}

/** The lines a script makes of `base`. Throws LineScriptError on a malformed script. */
export function applyLineScript(base: readonly string[], delta: { script?: unknown; counters?: unknown }): string[] {
  return applyLineScriptEdit(base, delta).lines;
}

/** The lines a script makes of `base`, and the same as a `LineEdit`. Throws LineScriptError on a malformed script. */
export function applyLineScriptEdit(base: readonly string[], delta: { script?: unknown; counters?: unknown }): { lines: string[]; edit: LineEdit } {
  const { script, counters } = delta;
  if (!Array.isArray(script)) throw new LineScriptError('`script` must be an array of [from, count] copies and inserted lines (strings)', '/script');
  // Sized up front (a 10k-Service node's script makes 235k lines from a few items).
  let total = 0;
  for (const op of script) total += typeof op === 'string' ? 1 : Array.isArray(op) && Number.isSafeInteger(op[1]) && op[1] > 0 ? (op[1] as number) : 0;
  const copied = new Uint8Array(total);
  // Copies as slices of the base, joined by one concat: native copies, no loop per line here.
  const pieces: string[][] = [];
  let inserted: string[] | null = null;
  let n = 0;
  for (let s = 0; s < script.length; s++) {
    const op: unknown = script[s];
    if (typeof op === 'string') {
      if (op.includes('\n')) throw new LineScriptError(`script item ${s}: an inserted line must not contain a newline (send one string per line)`, `/script/${s}`);
      if (!inserted) pieces.push((inserted = []));
      inserted.push(op);
      n++;
      continue;
    }
    if (!Array.isArray(op) || op.length !== 2 || !Number.isSafeInteger(op[0]) || !Number.isSafeInteger(op[1])) {
      throw new LineScriptError(`script item ${s}: expected [from, count] (two integers) or a string, got ${JSON.stringify(op)?.slice(0, 80)}`, `/script/${s}`);
    }
    const [from, count] = op as [number, number];
    if (from < 1 || count < 1) throw new LineScriptError(`script item ${s}: [${from}, ${count}] needs from ≥ 1 and count ≥ 1`, `/script/${s}`);
    if (from + count - 1 > base.length) throw new LineScriptError(`script item ${s}: copies base lines ${from}–${from + count - 1}, but the base has ${base.length} lines`, `/script/${s}`);
    pieces.push(base.slice(from - 1, from - 1 + count));
    inserted = null;
    copied.fill(1, n, n + count);
    n += count;
  }
  let out: string[] = [];
  for (let k = 0; k < pieces.length; k += CONCAT_ARGS) out = out.concat(...pieces.slice(k, k + CONCAT_ARGS));
  /** Result lines (0-based, ascending) copied with another counter. */
  const overridden: number[] = [];
  if (counters !== undefined) {
    if (!Array.isArray(counters) || counters.length % 2 !== 0) throw new LineScriptError('`counters` must be a flat array of pairs [line step, "packets:bytes", ...]', '/counters');
    let line = 0;
    for (let c = 0; c < counters.length; c += 2) {
      const step: unknown = counters[c];
      const value: unknown = counters[c + 1];
      if (!Number.isSafeInteger(step) || (step as number) < 1) throw new LineScriptError(`counters item ${c}: a line step must be an integer ≥ 1, got ${JSON.stringify(step)}`, `/counters/${c}`);
      if (typeof value !== 'string' || !COUNTER_VALUE.test(value)) throw new LineScriptError(`counters item ${c + 1}: expected "packets:bytes", got ${JSON.stringify(value)?.slice(0, 40)}`, `/counters/${c + 1}`);
      line += step as number;
      if (line > out.length) throw new LineScriptError(`counters item ${c}: line ${line} is past the end of the result (${out.length} lines)`, `/counters/${c}`);
      const replaced = copied[line - 1] ? withCounter(out[line - 1]!, value) : null;
      if (replaced === null) throw new LineScriptError(`counters item ${c}: result line ${line} is not a copied line with a counter`, `/counters/${c}`);
      out[line - 1] = replaced;
      overridden.push(line - 1);
    }
  }
  return { lines: out, edit: editOf(script as readonly LineScriptOp[], overridden, out) };
}

/** Arrays joined per concat call (its arguments go on the stack). */
const CONCAT_ARGS = 4096;

/** A checked script's lines as a LineEdit: `overridden`, its copied lines with another counter (ascending). */
function editOf(script: readonly LineScriptOp[], overridden: readonly number[], out: readonly string[]): LineEdit {
  const ops: number[] = [];
  const literal: string[] = [];
  const take = (i: number): void => {
    if (ops.length && ops[ops.length - 2] === -1) ops[ops.length - 1]!++;
    else ops.push(-1, 1);
    literal.push(out[i]!);
  };
  const copy = (from: number, count: number): void => {
    // Runs of one copy are contiguous in the base: the last op grows when it ends where this starts.
    const last = ops.length - 2;
    if (last >= 0 && ops[last]! >= 0 && ops[last]! + ops[last + 1]! === from) ops[last + 1]! += count;
    else ops.push(from, count);
  };
  let n = 0;
  let o = 0;
  for (const op of script) {
    if (typeof op === 'string') {
      take(n++);
      continue;
    }
    let from = op[0] - 1;
    const end = n + op[1];
    while (n < end) {
      const next = o < overridden.length ? Math.min(overridden[o]!, end) : end;
      if (next > n) {
        copy(from, next - n);
        from += next - n;
        n = next;
      }
      if (n < end) {
        take(n++);
        from++;
        o++;
      }
    }
  }
  return { ops, literal };
}
