// Compares two rulesets rule by rule in canonical form: equivalent spellings
// compare equal and counters are ignored. Rules are aligned like a text diff
// (Myers), so an inserted rule shows as one addition, not a shifted chain.
import type { Ruleset, TableName } from '../iptables/model.ts';
import { BUILTIN_CHAINS } from '../iptables/model.ts';
import { outlineRulesetSteps, type ChainOutline, type RulesetOutline } from '../iptables/syntax/outline.ts';
import { runSteps, type Steps } from '../steps.ts';

export type DiffOp = ' ' | '-' | '+';

export interface DiffLine {
  readonly op: DiffOp;
  readonly text: string;
  /** 1-based rule position on the left / right side. */
  readonly left?: number;
  readonly right?: number;
}

export interface ChainDiff {
  readonly table: TableName;
  readonly chain: string;
  readonly status: 'onlyLeft' | 'onlyRight' | 'changed';
  /** Built-in chains whose policies differ, or that exist on one side only (null on the other). */
  readonly policy?: { readonly left: string | null; readonly right: string | null };
  readonly added: number;
  readonly removed: number;
  /** Changed rules with up to `context` unchanged rules around them. */
  readonly lines: readonly DiffLine[];
}

export interface RulesetDiff {
  readonly chains: readonly ChainDiff[];
  readonly tablesOnlyLeft: readonly TableName[];
  readonly tablesOnlyRight: readonly TableName[];
  readonly summary: {
    readonly policiesDiffer: number;
    readonly chainsOnlyLeft: number;
    readonly chainsOnlyRight: number;
    readonly chainsChanged: number;
    readonly rulesAdded: number;
    readonly rulesRemoved: number;
    readonly identical: boolean;
  };
}

export interface DiffOptions {
  readonly context?: number;
}

/**
 * Edit distance up to which the diff is minimal (Myers). Past it (two unrelated kube-proxy
 * chains of 20k rules each), Myers' trace would need O(D²) memory: the diff then anchors on
 * lines unique to both sides (patience) and is still an exact edit script, if not the shortest.
 */
export const MAX_MINIMAL_EDITS = 2000;

/**
 * An edit script turning `a` into `b`: minimal (Myers' O(ND), each step's V kept as only its
 * 2d+1 live diagonals) while the distance is at most `maxEdits`, else anchored on unique lines.
 */
export function diffSequences(a: readonly string[], b: readonly string[], maxEdits = MAX_MINIMAL_EDITS): DiffOp[] {
  return runSteps(diffSequencesSteps(a, b, maxEdits));
}

/** Diagonal steps (x advances and comparisons) between pauses of the diff's steps. */
const PAUSE_WORK = 1 << 16;

/** diffSequences in steps: two unrelated 20k-rule chains take Myers up to its bound, a long stretch. */
export function* diffSequencesSteps(a: readonly string[], b: readonly string[], maxEdits = MAX_MINIMAL_EDITS): Steps<DiffOp[]> {
  // Trim the common prefix and suffix first: most chains differ in a few rules.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  // One side empty (a chain on one side only): every line added or removed, what Myers gives, without its trace.
  const middle = !A.length || !B.length ? [...Array<DiffOp>(A.length).fill('-'), ...Array<DiffOp>(B.length).fill('+')] : ((yield* myers(A, B, maxEdits)) ?? (yield* patience(A, B, maxEdits)));
  return [...Array<DiffOp>(pre).fill(' '), ...middle, ...Array<DiffOp>(suf).fill(' ')];
}

/** Myers' shortest edit script, or undefined when it is longer than `maxEdits`. */
function* myers(A: readonly string[], B: readonly string[], maxEdits: number): Steps<DiffOp[] | undefined> {
  const n = A.length;
  const m = B.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds V's diagonals -d..d as they were before step d (index k + d).
  const trace: Int32Array[] = [];
  let found = n === 0 && m === 0;
  let work = 0;
  for (let d = 0; d <= max && !found; d++) {
    if (work >= PAUSE_WORK) {
      work = 0;
      yield;
    }
    trace.push(v.slice(offset - d, offset + d + 1));
    work += d + 1;
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      const x0 = x;
      while (x < n && y < m && A[x] === B[y]) {
        x++;
        y++;
      }
      work += x - x0;
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  if (!found) return undefined;
  const middle: DiffOp[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d]!;
    const at = (k: number): number => (k < -d || k > d ? 0 : vd[k + d]!);
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      middle.push(' ');
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) {
        middle.push('+');
        y--;
      } else {
        middle.push('-');
        x--;
      }
    }
  }
  while (x > 0 && y > 0) {
    middle.push(' ');
    x--;
    y--;
  }
  return middle.reverse();
}

/**
 * Patience diff: lines occurring once on each side are anchors; the longest run of anchors in
 * the same order on both sides is kept, and the stretches between anchors are diffed again
 * (minimal when short, else all removed then all added). Linear memory.
 */
function* patience(A: readonly string[], B: readonly string[], maxEdits: number): Steps<DiffOp[]> {
  const count = new Map<string, { a: number; b: number; ia: number; ib: number }>();
  A.forEach((line, i) => {
    const c = count.get(line);
    if (c) c.a++;
    else count.set(line, { a: 1, b: 0, ia: i, ib: -1 });
  });
  B.forEach((line, j) => {
    const c = count.get(line);
    if (c) {
      c.b++;
      c.ib = j;
    }
  });
  const pairs: [number, number][] = [];
  for (const c of count.values()) if (c.a === 1 && c.b === 1) pairs.push([c.ia, c.ib]);
  pairs.sort((p, q) => p[0] - q[0]);
  const anchors = longestIncreasing(pairs);
  const out: DiffOp[] = [];
  let i = 0;
  let j = 0;
  yield;
  const gap = function* (toA: number, toB: number): Steps<void> {
    const ga = A.slice(i, toA);
    const gb = B.slice(j, toB);
    const ops = yield* myers(ga, gb, maxEdits);
    if (ops) out.push(...ops);
    else out.push(...Array<DiffOp>(ga.length).fill('-'), ...Array<DiffOp>(gb.length).fill('+'));
    i = toA;
    j = toB;
  };
  for (const [ia, ib] of anchors) {
    yield* gap(ia, ib);
    out.push(' ');
    i++;
    j++;
  }
  yield* gap(A.length, B.length);
  return out;
}

/** The longest subsequence of `pairs` (sorted by their first) whose seconds increase, in O(n log n). */
function longestIncreasing(pairs: readonly [number, number][]): [number, number][] {
  const tails: number[] = [];
  const prev = new Int32Array(pairs.length).fill(-1);
  pairs.forEach((p, idx) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]!]![1] < p[1]) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[idx] = tails[lo - 1]!;
    tails[lo] = idx;
  });
  const out: [number, number][] = [];
  for (let idx = tails.length ? tails[tails.length - 1]! : -1; idx >= 0; idx = prev[idx]!) out.push(pairs[idx]!);
  return out.reverse();
}

/** The edit script as numbered lines, keeping `context` unchanged lines around each change. */
export function withContext(a: readonly string[], b: readonly string[], ops: readonly DiffOp[], context: number): { lines: DiffLine[]; added: number; removed: number } {
  const all: DiffLine[] = [];
  let i = 0;
  let j = 0;
  let added = 0;
  let removed = 0;
  for (const op of ops) {
    if (op === ' ') all.push({ op, text: a[i]!, left: ++i, right: ++j });
    else if (op === '-') {
      all.push({ op, text: a[i]!, left: ++i });
      removed++;
    } else {
      all.push({ op, text: b[j]!, right: ++j });
      added++;
    }
  }
  const keep = new Uint8Array(all.length);
  all.forEach((l, idx) => {
    if (l.op === ' ') return;
    for (let k = Math.max(0, idx - context); k <= Math.min(all.length - 1, idx + context); k++) keep[k] = 1;
  });
  return { lines: all.filter((_, idx) => keep[idx]), added, removed };
}

/** The differences of two rulesets, parsed or outlined (`outlineCanonicalText`: no parse needed). */
export function diffRulesets(leftRuleset: Ruleset | RulesetOutline, rightRuleset: Ruleset | RulesetOutline, options: DiffOptions = {}): RulesetDiff {
  return runSteps(diffRulesetsSteps(leftRuleset, rightRuleset, options));
}

/**
 * diffRulesets in steps, pausing between chains and within long ones, so a server can compute the
 * diff of two 10k-Service nodes on its event loop (issue 17) over outlines it already has.
 */
export function* diffRulesetsSteps(leftRuleset: Ruleset | RulesetOutline, rightRuleset: Ruleset | RulesetOutline, options: DiffOptions = {}): Steps<RulesetDiff> {
  const context = options.context ?? 3;
  const left = 'kind' in leftRuleset ? leftRuleset : yield* outlineRulesetSteps(leftRuleset, 'render');
  const right = 'kind' in rightRuleset ? rightRuleset : yield* outlineRulesetSteps(rightRuleset, 'render');
  const chains: ChainDiff[] = [];
  const leftTables = new Map(left.tables.map((t) => [t.name, t]));
  const rightTables = new Map(right.tables.map((t) => [t.name, t]));
  const tableNames = [...new Set([...leftTables.keys(), ...rightTables.keys()])];
  let policiesDiffer = 0;
  for (const tn of tableNames) {
    const lt = leftTables.get(tn);
    const rt = rightTables.get(tn);
    const lc = new Map<string, ChainOutline>((lt?.chains ?? []).map((c) => [c.name, c]));
    const rc = new Map<string, ChainOutline>((rt?.chains ?? []).map((c) => [c.name, c]));
    yield;
    // Built-in chains first, in their hook order, then the others by name (code units). Not one
    // sort with a comparator looking names up: 120k chain names of two kube-proxy nodes took
    // ~100 ms at once of the event loop.
    const all = new Set([...lc.keys(), ...rc.keys()]);
    const builtins = BUILTIN_CHAINS[tn].filter((n) => all.has(n));
    for (const n of builtins) all.delete(n);
    yield;
    const names = [...builtins, ...[...all].sort()];
    for (const name of names) {
      const l = lc.get(name);
      const r = rc.get(name);
      const a = l?.lines ?? [];
      const b = r?.lines ?? [];
      const policyL = l?.builtin ? l.policy : null;
      const policyR = r?.builtin ? r.policy : null;
      const policyDiffers = !!l && !!r && l.builtin && policyL !== policyR;
      if (policyDiffers) policiesDiffer++;
      yield;
      const ops = yield* diffSequencesSteps(a, b);
      const changedRules = ops.some((o) => o !== ' ');
      if (l && r && !changedRules && !policyDiffers) continue;
      const { lines, added, removed } = withContext(a, b, ops, context);
      chains.push({
        table: tn,
        chain: name,
        status: !l ? 'onlyRight' : !r ? 'onlyLeft' : 'changed',
        // A built-in chain on one side only still shows its policy there (the other side's is null).
        ...(policyDiffers || (!l !== !r && (l ?? r)!.builtin) ? { policy: { left: policyL, right: policyR } } : {}),
        added,
        removed,
        lines,
      });
    }
  }
  const rulesAdded = chains.reduce((n, c) => n + c.added, 0);
  const rulesRemoved = chains.reduce((n, c) => n + c.removed, 0);
  const chainsOnlyLeft = chains.filter((c) => c.status === 'onlyLeft').length;
  const chainsOnlyRight = chains.filter((c) => c.status === 'onlyRight').length;
  const tablesOnlyLeft = left.tables.filter((t) => !rightTables.has(t.name)).map((t) => t.name);
  const tablesOnlyRight = right.tables.filter((t) => !leftTables.has(t.name)).map((t) => t.name);
  return {
    chains,
    tablesOnlyLeft,
    tablesOnlyRight,
    summary: {
      policiesDiffer,
      chainsOnlyLeft,
      chainsOnlyRight,
      chainsChanged: chains.filter((c) => c.status === 'changed').length,
      rulesAdded,
      rulesRemoved,
      identical: chains.length === 0 && tablesOnlyLeft.length === 0 && tablesOnlyRight.length === 0,
    },
  };
}

/** A unified diff's head (iptables and nft): the two names, then the tables on one side only. */
export function* unifiedHeadLines(d: { readonly tablesOnlyLeft: readonly string[]; readonly tablesOnlyRight: readonly string[] }, leftName: string, rightName: string): Generator<string, void, void> {
  yield `--- ${leftName}`;
  yield `+++ ${rightName}`;
  for (const t of d.tablesOnlyLeft) yield `# table ${t} only in ${leftName}`;
  for (const t of d.tablesOnlyRight) yield `# table ${t} only in ${rightName}`;
}

/** A hunk title's note for a chain or set on one side only ('' when on both). */
export const onlyIn = (status: string, leftName: string, rightName: string): string =>
  status === 'onlyLeft' ? ` (only in ${leftName})` : status === 'onlyRight' ? ` (only in ${rightName})` : '';

/** A unified-diff rendering, one hunk per chain. */
export function formatUnifiedDiff(d: RulesetDiff, leftName: string, rightName: string): string {
  return [...unifiedDiffLines(d, leftName, rightName)].join('\n') + '\n';
}

/** The lines of formatUnifiedDiff (each without its newline), one at a time: a server writes them in slices. */
export function* unifiedDiffLines(d: RulesetDiff, leftName: string, rightName: string): Generator<string, void, void> {
  yield* unifiedHeadLines(d, leftName, rightName);
  for (const c of d.chains) {
    yield `@@ ${c.table} ${c.chain}${onlyIn(c.status, leftName, rightName)} @@`;
    if (c.status === 'onlyLeft') yield `-:${c.chain} ${c.policy?.left ?? '-'}`;
    else if (c.status === 'onlyRight') yield `+:${c.chain} ${c.policy?.right ?? '-'}`;
    else if (c.policy) {
      yield `-:${c.chain} ${c.policy.left ?? '-'}`;
      yield `+:${c.chain} ${c.policy.right ?? '-'}`;
    }
    for (const l of c.lines) yield `${l.op}${l.text}`;
  }
}
