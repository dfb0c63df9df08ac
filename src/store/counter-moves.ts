// Counters over time, the pure part: what moved between two uploads of a node's
// counters (in the canonical text's order, counters-codec.ts), as sparse
// deltas, and their bytes (encoding `counter-moves`). No database here.
//
// Only the counters whose text differs are read as numbers: two uploads of a
// 10k-Service node (235k counters) differ in the few that traffic moved, and
// comparing two equal short strings is far cheaper than decoding either.
import { ByteReader, ByteWriter } from './encoding.ts';
import { lastAtOrBefore } from './bisect.ts';
import type { CanonicalLayout, CounterText } from './counters-codec.ts';

/** One counter that moved since the previous upload. */
export interface CounterMove {
  /** Its slot in the canonical text's order (counters-codec.ts). */
  readonly slot: number;
  readonly packets: bigint;
  readonly bytes: bigint;
  /**
   * The counter went down (the rule was replaced, the chain flushed, the host
   * restarted): packets and bytes are its new value, what it counted since.
   */
  readonly reset: boolean;
}

function parseCounter(c: string): [bigint, bigint] {
  const colon = c.indexOf(':');
  return [BigInt(c.slice(0, colon)), BigInt(c.slice(colon + 1))];
}

/**
 * The counters of `next` that moved since `previous`. `from[s]` is the slot
 * of `previous` that slot s of `next` continues (a rule of the same text in
 * the same chain), or -1 for a new one, which counts from its value; without
 * `from` the two have the same canonical text (slot s is slot s). Absent
 * counters (null) never move.
 */
export function diffCounters(previous: readonly CounterText[], next: readonly CounterText[], from?: Int32Array): CounterMove[] {
  const out: CounterMove[] = [];
  for (let s = 0; s < next.length; s++) {
    const now = next[s];
    if (now === null || now === undefined) continue;
    const p = from ? from[s]! : s;
    const was = p >= 0 ? previous[p] : null;
    if (was === now) continue;
    const [np, nb] = parseCounter(now);
    if (was === null || was === undefined) {
      if (np !== 0n || nb !== 0n) out.push({ slot: s, packets: np, bytes: nb, reset: false });
      continue;
    }
    const [wp, wb] = parseCounter(was);
    if (np < wp || nb < wb) out.push({ slot: s, packets: np, bytes: nb, reset: true });
    else if (np !== wp || nb !== wb) out.push({ slot: s, packets: np - wp, bytes: nb - wb, reset: false });
  }
  return out;
}

const MOVES_VERSION = 1;

/**
 * Moves as bytes: a version byte, the count, then per move (slots
 * ascending) the varint `gap * 2 + reset` (gap: slot minus the previous
 * move's slot + 1), packets, bytes.
 */
export function encodeMoves(moves: readonly CounterMove[]): Buffer {
  const w = new ByteWriter();
  w.byte(MOVES_VERSION);
  w.uint(moves.length);
  let next = 0;
  for (const m of moves) {
    if (m.slot < next) throw new Error('counter moves: slots must ascend');
    w.uint((m.slot - next) * 2 + (m.reset ? 1 : 0));
    w.big(m.packets);
    w.big(m.bytes);
    next = m.slot + 1;
  }
  return w.finish();
}

const bigOf = (n: number | string): bigint => BigInt(n);

export function decodeMoves(data: Uint8Array): CounterMove[] {
  const r = new ByteReader(data);
  const version = r.uint();
  if (version !== MOVES_VERSION) throw new Error(`counter moves encoding version ${version} is not supported`);
  const n = r.uint();
  const out: CounterMove[] = new Array<CounterMove>(n);
  let next = 0;
  for (let i = 0; i < n; i++) {
    const head = r.uint();
    const slot = next + Math.floor(head / 2);
    out[i] = { slot, reset: head % 2 === 1, packets: bigOf(r.exact()), bytes: bigOf(r.exact()) };
    next = slot + 1;
  }
  if (!r.done) throw new Error('counter moves: trailing bytes');
  return out;
}

/** A built-in chain's policy counter: its slot, table, chain and policy (`ACCEPT`, `DROP`). */
export interface PolicySlot {
  readonly slot: number;
  readonly table: string;
  readonly chain: string;
  readonly policy: string;
}

/**
 * The policy counters of a canonical text's built-in chains (declared with a
 * policy, not `-`). A table's declarations follow its `*table` line.
 */
export function builtinPolicySlots(layout: CanonicalLayout): PolicySlot[] {
  const { lines, slotLine, slotKind } = layout;
  const out: PolicySlot[] = [];
  let table = '';
  for (let s = 0; s < slotLine.length; s++) {
    if (slotKind[s] !== 0) continue;
    const line = lines[slotLine[s]!]!;
    const above = lines[slotLine[s]! - 1];
    if (above !== undefined && above.charCodeAt(0) === 42 /* * */) table = above.slice(1);
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const sp2 = line.indexOf(' ', sp + 1);
    const policy = line.slice(sp + 1, sp2 < 0 ? undefined : sp2);
    if (policy !== '-') out.push({ slot: s, table, chain: line.slice(1, sp), policy });
  }
  return out;
}

/** A layout's slots as keys: a rule's line, a chain's declaration up to its policy (a chain is the same whatever its policy), and each slot's table. */
function slotKeys(layout: CanonicalLayout): { key: (slot: number) => string; table: (slot: number) => string } {
  const { lines, slotLine, slotKind } = layout;
  // The `*table` lines, in order: a slot's table is the last one above it. A table's header is right
  // above its first declaration, where the slots' lines skip one (COMMIT, the header): only there is a line read.
  const starts: number[] = [];
  for (let s = 0; s < slotLine.length; s++) {
    const at = slotLine[s]! - 1;
    if (slotKind[s] === 0 && (s === 0 || slotLine[s - 1] !== at) && lines[at]?.charCodeAt(0) === 42 /* * */) starts.push(at);
  }
  let lastSlot = -2;
  let lastTable = '';
  return {
    key(s) {
      const line = lines[slotLine[s]!]!;
      if (slotKind[s] !== 0) return line;
      const sp = line.indexOf(' ');
      return sp < 0 ? line : line.slice(0, sp);
    },
    table(s) {
      if (s === lastSlot) return lastTable;
      const at = slotLine[s]!;
      if (starts.length === 0 || starts[0]! > at) return '';
      const lo = lastAtOrBefore(starts.length, (k) => starts[k]!, at);
      lastSlot = s;
      lastTable = lines[starts[lo]!]!.slice(1);
      return lastTable;
    },
  };
}

/** How far the aligned walk of `matchSlots` looks ahead for a line inserted or removed. */
const LOOKAHEAD = 32;
/** Lines replaced in place (no match within LOOKAHEAD) before `matchSlots` matches the rest by key instead. */
const MAX_REPLACED = 256;

/**
 * For each slot of `next`, the slot of `previous` it continues: the same
 * line (a rule's `-A CHAIN spec`, a chain's declaration up to its policy) in
 * the same table, the k-th such line of `next` continuing the k-th of
 * `previous`; -1 for a new one. For a new version of a node's ruleset.
 *
 * Two versions of a node mostly share their lines in the same order (a
 * kube-proxy resync changes a few chains), so both are walked side by side,
 * looking a few lines ahead where they part; only after many lines that
 * match nothing nearby are the rest matched by a map of every line (a
 * different ruleset): that is ~100× slower on a 10k-Service node.
 */
export function matchSlots(previous: CanonicalLayout, next: CanonicalLayout): Int32Array {
  const p = slotKeys(previous);
  const n = slotKeys(next);
  const np = previous.slotLine.length;
  const nn = next.slotLine.length;
  const out = new Int32Array(nn).fill(-1);
  const same = (i: number, j: number): boolean => p.key(i) === n.key(j) && p.table(i) === n.table(j);
  let i = 0;
  let j = 0;
  let replaced = 0;
  // Where the first line replaced in place was: a walk that lost its way is redone from there by key.
  let firstI = -1;
  let firstJ = -1;
  while (j < nn && i < np) {
    if (same(i, j)) {
      out[j++] = i++;
      continue;
    }
    let k = 1;
    // Inserted in next (next[j..j+k) new) or removed from previous (previous[i..i+k) gone).
    for (; k <= LOOKAHEAD; k++) {
      if (j + k < nn && same(i, j + k)) {
        j += k;
        break;
      }
      if (i + k < np && same(i + k, j)) {
        i += k;
        break;
      }
    }
    if (k <= LOOKAHEAD) continue;
    // Replaced in place.
    if (firstI < 0) {
      firstI = i;
      firstJ = j;
    }
    i++;
    j++;
    if (++replaced > MAX_REPLACED) {
      out.fill(-1, firstJ);
      return matchRestByKey(p, n, firstI, firstJ, np, nn, out);
    }
  }
  return out;
}

/** `matchSlots` for next's slots from `j` on, against previous's from `i` on, by a map of their keys. */
function matchRestByKey(p: ReturnType<typeof slotKeys>, n: ReturnType<typeof slotKeys>, i0: number, j0: number, np: number, nn: number, out: Int32Array): Int32Array {
  const seen = new Map<string, number[]>();
  for (let i = i0; i < np; i++) {
    const key = `${p.table(i)}\n${p.key(i)}`;
    const list = seen.get(key);
    if (list) list.push(i);
    else seen.set(key, [i]);
  }
  const used = new Map<string, number>();
  for (let j = j0; j < nn; j++) {
    const key = `${n.table(j)}\n${n.key(j)}`;
    const list = seen.get(key);
    if (!list) continue;
    const k = used.get(key) ?? 0;
    if (k < list.length) out[j] = list[k]!;
    used.set(key, k + 1);
  }
  return out;
}

/**
 * `matchSlots` from what a spliced upload knows: `canonicalFrom[line]`, the
 * line of `previous` each line of `next` copies (its chain copied whole), or
 * -1. Copied lines keep their slot; only the slots of changed chains are
 * matched by key, against the previous slots no copied line took (a few
 * chains), so a 10k-Service node's new version costs a pass over its slots.
 */
export function matchSlotsCopied(previous: CanonicalLayout, next: CanonicalLayout, canonicalFrom: Int32Array): Int32Array {
  const slotAt = new Int32Array(previous.lines.length).fill(-1);
  for (let s = 0; s < previous.slotLine.length; s++) slotAt[previous.slotLine[s]!] = s;
  const out = new Int32Array(next.slotLine.length).fill(-1);
  const taken = new Uint8Array(previous.slotLine.length);
  const open: number[] = [];
  for (let s = 0; s < out.length; s++) {
    const line = canonicalFrom[next.slotLine[s]!] ?? -1;
    const was = line >= 0 ? slotAt[line]! : -1;
    if (was >= 0 && !taken[was]) {
      out[s] = was;
      taken[was] = 1;
    } else open.push(s);
  }
  if (!open.length) return out;
  const p = slotKeys(previous);
  const n = slotKeys(next);
  const free = new Map<string, number[]>();
  for (let s = 0; s < taken.length; s++) {
    if (taken[s]) continue;
    const key = `${p.table(s)}\n${p.key(s)}`;
    const list = free.get(key);
    if (list) list.push(s);
    else free.set(key, [s]);
  }
  for (const s of open) {
    const list = free.get(`${n.table(s)}\n${n.key(s)}`);
    const was = list?.shift();
    if (was !== undefined) out[s] = was;
  }
  return out;
}
