// Counters over time, the pure part: what moved between two uploads of a node's
// counters (in the canonical text's order, counters-codec.ts), as sparse
// deltas, and their bytes (encoding `counter-moves`). No database here.
//
// Only the counters whose text differs are read as numbers: two uploads of a
// 10k-Service node (235k counters) differ in the few that traffic moved, and
// comparing two equal short strings is far cheaper than decoding either.
import { ByteReader, ByteWriter } from './encoding.ts';
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

/**
 * For each slot of `next`, the slot of `previous` it continues: the same
 * line (a rule's `-A CHAIN spec`, a chain's declaration up to its policy) in
 * the same table, the k-th such line of `next` continuing the k-th of
 * `previous`; -1 for a new one. For a new version of a node's ruleset.
 */
export function matchSlots(previous: CanonicalLayout, next: CanonicalLayout): Int32Array {
  const keyed = (layout: CanonicalLayout, each: (key: string, slot: number) => void): void => {
    const { lines, slotLine, slotKind } = layout;
    let table = '';
    for (let s = 0; s < slotLine.length; s++) {
      const line = lines[slotLine[s]!]!;
      if (slotKind[s] === 0) {
        const above = lines[slotLine[s]! - 1];
        if (above !== undefined && above.charCodeAt(0) === 42) table = above.slice(1);
        // `:NAME POLICY [0:0]`: a chain is the same chain whatever its policy.
        const sp = line.indexOf(' ');
        each(`${table}\n${sp < 0 ? line : line.slice(0, sp)}`, s);
      } else each(`${table}\n${line}`, s);
    }
  };
  const seen = new Map<string, number[]>();
  keyed(previous, (key, slot) => {
    const list = seen.get(key);
    if (list) list.push(slot);
    else seen.set(key, [slot]);
  });
  const out = new Int32Array(next.slotLine.length).fill(-1);
  const used = new Map<string, number>();
  keyed(next, (key, slot) => {
    const list = seen.get(key);
    if (!list) return;
    const k = used.get(key) ?? 0;
    if (k < list.length) out[slot] = list[k]!;
    used.set(key, k + 1);
  });
  return out;
}
