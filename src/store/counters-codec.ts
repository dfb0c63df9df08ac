// The counters the store keeps per dump, apart from its texts (encoding.ts
// has the line deltas and the varint buffers). Pure: no database here.
//
// - Counters: `[packets:bytes]` of every chain declaration and rule line of
//   the canonical text, in text order, as varints. The canonical text gives
//   them their meaning (which table, chain and rule), so the encoding carries
//   no names; `countersJsonOf` rebuilds the API's JSON from the two.
// - Counted text: the canonical text with counters merged back in, as
//   `iptables-save -c` prints it. Uploaded `iptables-save` texts are stored as a
//   line delta against it (typically only the `# Generated`/`# Completed`
//   comment lines differ).
import { runSteps, type Steps } from '../netfilter/steps.ts';
import { ByteReader, ByteWriter, LINES_PER_STEP, lineIndex, splitLines, type DeltaBaseLines } from './encoding.ts';

/** One counter as `packets:bytes` (decimal, exact), or null for "none". */
export type CounterText = string | null;

/**
 * A canonical (packetpath-rendered) iptables-save text split into lines, with
 * the places of its counters in text order: every chain declaration
 * (`:CHAIN POLICY [0:0]`, its policy counter) and rule (`-A CHAIN ...`).
 */
export interface CanonicalLayout {
  readonly lines: readonly string[];
  /** Line number of each counter slot. */
  readonly slotLine: Int32Array;
  /** 0: a chain declaration (policy counter), 1: a rule. */
  readonly slotKind: Uint8Array;
}

const POLICY = 0;
const RULE = 1;

export function canonicalLayout(text: string | readonly string[]): CanonicalLayout {
  return runSteps(canonicalLayoutSteps(typeof text === 'string' ? splitLines(text) : text));
}

/** `canonicalLayout(lines)` in steps that pause every `LINES_PER_STEP` lines (for a server's event loop). */
export function* canonicalLayoutSteps(lines: readonly string[]): Steps<CanonicalLayout> {
  const slotLine = new Int32Array(lines.length);
  const slotKind = new Uint8Array(lines.length);
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.charCodeAt(0);
    if (c === 58 /* : */) {
      slotLine[n] = i;
      slotKind[n++] = POLICY;
    } else if (c === 45 /* - */ && line.charCodeAt(1) === 65 /* A */ && line.charCodeAt(2) === 32) {
      slotLine[n] = i;
      slotKind[n++] = RULE;
    }
    if (i % LINES_PER_STEP === LINES_PER_STEP - 1) yield;
  }
  return { lines, slotLine: slotLine.subarray(0, n), slotKind: slotKind.subarray(0, n) };
}

const layoutOf = (canonical: string | CanonicalLayout): CanonicalLayout => (typeof canonical === 'string' ? canonicalLayout(canonical) : canonical);

/** The chain named by a declaration (`:NAME ...`) or rule (`-A NAME ...`) line. */
function chainOf(line: string, kind: number): string {
  const from = kind === POLICY ? 1 : 3;
  const sp = line.indexOf(' ', from);
  return line.slice(from, sp < 0 ? undefined : sp);
}

/**
 * Walks the slots of a layout with their table and chain, calling `policy`
 * for each declaration and `rule` for each rule. Rules of one chain are
 * contiguous in a canonical text, so a rule line is matched against the
 * current chain's `-A NAME ` prefix and only sliced when the chain changes.
 */
function walkSlots(
  layout: CanonicalLayout,
  onTable: (table: string) => boolean,
  policy: (slot: number, chain: string) => boolean,
  rule: (slot: number, chain: string) => boolean,
): boolean {
  const { lines, slotLine, slotKind } = layout;
  let lastLine = -1;
  let chain = '';
  let prefix = '';
  for (let i = 0; i < slotLine.length; i++) {
    const at = slotLine[i]!;
    // Table headers between the previous slot and this one.
    for (let l = lastLine + 1; l < at; l++) if (lines[l]!.charCodeAt(0) === 42 /* * */ && !onTable(lines[l]!.slice(1))) return false;
    lastLine = at;
    const line = lines[at]!;
    if (slotKind[i] === POLICY) {
      if (!policy(i, chainOf(line, POLICY))) return false;
      continue;
    }
    if (!prefix || !line.startsWith(prefix)) {
      chain = chainOf(line, RULE);
      prefix = `-A ${chain} `;
      // A rule with no spec at all is `-A NAME` (no trailing space).
      if (line.length === chain.length + 3) prefix = '';
    }
    if (!rule(i, chain)) return false;
  }
  return true;
}

type CountersJson = Record<string, Record<string, { policy: CounterText; rules: CounterText[] }>>;

/**
 * The counters of `countersJson` (ingest.ts `extractCounters`) in the text
 * order of the canonical text, or null when the two do not line up exactly
 * (same tables and chains in the same order, same rule counts), so that
 * `countersJsonOf` gives `countersJson` back; a caller then keeps the JSON.
 */
export function countersInTextOrder(canonical: string | CanonicalLayout, countersJson: string): CounterText[] | null {
  const json = JSON.parse(countersJson) as CountersJson;
  const layout = layoutOf(canonical);
  const out: CounterText[] = new Array<CounterText>(layout.slotLine.length);
  const tables = Object.keys(json);
  let ti = -1;
  let chains: CountersJson[string] = {};
  let chainKeys: string[] = [];
  let ci = 0;
  let used = new Map<string, number>();
  // Each table's chains must be used up: declared in the JSON's key order, and every rule counter taken.
  const tableDone = (): boolean => {
    if (ti < 0) return true;
    if (ci !== chainKeys.length) return false;
    for (const name of chainKeys) if ((used.get(name) ?? 0) !== chains[name]!.rules.length) return false;
    return true;
  };
  const ok = walkSlots(
    layout,
    (table) => {
      if (!tableDone() || tables[++ti] !== table) return false;
      chains = json[table]!;
      chainKeys = Object.keys(chains);
      ci = 0;
      used = new Map();
      return true;
    },
    (slot, chain) => {
      if (ti < 0 || chainKeys[ci++] !== chain) return false;
      out[slot] = chains[chain]!.policy;
      return true;
    },
    (slot, chain) => {
      const c = ti < 0 ? undefined : chains[chain];
      if (!c) return false;
      const k = used.get(chain) ?? 0;
      if (k >= c.rules.length) return false;
      out[slot] = c.rules[k]!;
      used.set(chain, k + 1);
      return true;
    },
  );
  // A table header after the last slot (a table without chains) is not walked: such JSON does not line up.
  if (!ok || !tableDone() || ti + 1 !== tables.length) return null;
  return out;
}

/** True when the counters say nothing: no rule counter, and every policy counter absent or `0:0`. */
export function countersAreEmpty(canonical: string | CanonicalLayout, counters: readonly CounterText[]): boolean {
  const { slotKind } = layoutOf(canonical);
  for (let i = 0; i < slotKind.length; i++) {
    const c = counters[i];
    if (c !== null && !(slotKind[i] === POLICY && c === '0:0')) return false;
  }
  return true;
}

/** The API's counters JSON object from the canonical text and its counters in text order. */
export function countersJsonOf(canonical: string | CanonicalLayout, counters: readonly CounterText[]): CountersJson {
  const layout = layoutOf(canonical);
  if (layout.slotLine.length !== counters.length) throw new Error(`counters: ${counters.length} stored for ${layout.slotLine.length} slots of the canonical text`);
  const out: CountersJson = {};
  let table: CountersJson[string] = {};
  let current: { rules: CounterText[] } | undefined;
  let currentName = '';
  walkSlots(
    layout,
    (name) => {
      table = out[name] ??= {};
      current = undefined;
      return true;
    },
    (slot, chain) => {
      table[chain] = { policy: counters[slot]!, rules: [] };
      return true;
    },
    (slot, chain) => {
      if (!current || currentName !== chain) {
        current = table[chain];
        currentName = chain;
        if (!current) throw new Error(`counters: rule of undeclared chain ${chain}`);
      }
      current.rules.push(counters[slot]!);
      return true;
    },
  );
  return out;
}

const COUNTERS_VERSION = 1;

/**
 * Counters as bytes: a version byte, the count, then one varint per counter
 * (0: none, else packets + 1), then one varint of bytes per present counter.
 * Packets first and bytes after keep similar numbers together for deflate.
 */
export function encodeCounters(counters: readonly CounterText[]): Buffer {
  const head = new ByteWriter();
  head.byte(COUNTERS_VERSION);
  head.uint(counters.length);
  const bytes = new ByteWriter();
  for (const c of counters) {
    if (c === null) {
      head.uint(0);
      continue;
    }
    const colon = c.indexOf(':');
    // Digits read in place (a 10k-Service node has 235k counters): no substrings below 16 digits.
    if (colon < 16) head.uint(decimalOf(c, 0, colon) + 1);
    else head.big(BigInt(c.slice(0, colon)) + 1n);
    if (c.length - colon - 1 < 16) bytes.uint(decimalOf(c, colon + 1, c.length));
    else bytes.big(BigInt(c.slice(colon + 1)));
  }
  head.bytes(bytes.finish());
  return head.finish();
}

/** The number the decimal digits text[from, to) spell (fewer than 16: exact); anything else as Number() reads it. */
function decimalOf(text: string, from: number, to: number): number {
  if (from >= to) return 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(text.slice(from, to));
    n = n * 10 + d;
  }
  return n;
}

export function decodeCounters(data: Uint8Array): CounterText[] {
  return runSteps(decodeCountersSteps(data));
}

/** `decodeCounters` in steps that pause every `LINES_PER_STEP` counters (for a server's event loop). */
export function* decodeCountersSteps(data: Uint8Array): Steps<CounterText[]> {
  const r = new ByteReader(data);
  const version = r.uint();
  if (version !== COUNTERS_VERSION) throw new Error(`counters encoding version ${version} is not supported`);
  const n = r.uint();
  // Packets + 1 (0: none) as numbers while exact: one string per counter, made once both halves are read.
  const packets: (number | string)[] = new Array<number | string>(n);
  for (let i = 0; i < n; i++) packets[i] = r.exact();
  yield;
  const out: CounterText[] = new Array<CounterText>(n);
  for (let i = 0; i < n; i++) {
    const p = packets[i]!;
    out[i] = p === 0 || p === '0' ? null : `${typeof p === 'number' ? p - 1 : (BigInt(p) - 1n).toString()}:${r.exact()}`;
    if (i % LINES_PER_STEP === LINES_PER_STEP - 1) yield;
  }
  if (!r.done) throw new Error('counters: trailing bytes');
  return out;
}

/**
 * The lines `countedLines(layout, counters)` would make, as a delta base
 * compared without making them: a rule line is `[c] ` and its
 * canonical line, a declaration its canonical line up to its last ` [` and
 * ` [c]` (the index for `lookup` is made from the lines when first asked).
 */
export function countedBase(layout: CanonicalLayout, counters: readonly CounterText[] | null): DeltaBaseLines {
  const { lines, slotLine } = layout;
  if (counters && slotLine.length !== counters.length) throw new Error(`counters: ${counters.length} stored for ${slotLine.length} slots of the canonical text`);
  const slotOf = new Int32Array(lines.length).fill(-1);
  if (counters) for (let i = 0; i < slotLine.length; i++) if (counters[i] !== null && counters[i] !== undefined) slotOf[slotLine[i]!] = i;
  let index: Map<string, number> | undefined;
  return {
    length: lines.length,
    same(b, want) {
      const line = lines[b]!;
      const slot = slotOf[b]!;
      if (slot < 0) return want === line;
      const c = counters![slot]!;
      if (layout.slotKind[slot] === RULE) {
        // `[c] line`
        return want.length === c.length + 3 + line.length && want.charCodeAt(0) === 91 && want.startsWith(c, 1) && want.charCodeAt(c.length + 1) === 93 && want.charCodeAt(c.length + 2) === 32 && want.endsWith(line);
      }
      // `line up to its last " [" and " [c]"`
      const cut = line.lastIndexOf(' [');
      const head = cut < 0 ? line.length : cut;
      if (want.length !== head + c.length + 3 || !want.endsWith(`[${c}]`) || want.charCodeAt(head) !== 32) return false;
      for (let k = 0; k < head; k++) if (want.charCodeAt(k) !== line.charCodeAt(k)) return false;
      return true;
    },
    lookup(line) {
      index ??= lineIndex(countedLines(layout, counters));
      return index.get(line) ?? -1;
    },
  };
}

/**
 * The canonical text's lines with its counters put back, as `iptables-save -c`
 * prints them: `:CHAIN POLICY [p:b]` and `[p:b] -A CHAIN ...` (absent counters
 * leave the line as it is).
 */
export function countedLines(canonical: readonly string[] | CanonicalLayout, counters: readonly CounterText[] | null): string[] {
  return runSteps(countedLinesSteps(canonical, counters));
}

/** `countedLines` in steps that pause every `LINES_PER_STEP` counters (for a server's event loop). */
export function* countedLinesSteps(canonical: readonly string[] | CanonicalLayout, counters: readonly CounterText[] | null): Steps<string[]> {
  const layout = Array.isArray(canonical) ? yield* canonicalLayoutSteps(canonical as readonly string[]) : (canonical as CanonicalLayout);
  const out = layout.lines.slice();
  if (!counters) return out;
  const { slotLine, slotKind } = layout;
  if (slotLine.length !== counters.length) throw new Error(`counters: ${counters.length} stored for ${slotLine.length} slots of the canonical text`);
  for (let i = 0; i < slotLine.length; i++) {
    if (i % LINES_PER_STEP === LINES_PER_STEP - 1) yield;
    const c = counters[i];
    if (c === null || c === undefined) continue;
    const at = slotLine[i]!;
    const line = out[at]!;
    if (slotKind[i] === RULE) out[at] = `[${c}] ${line}`;
    else {
      const cut = line.lastIndexOf(' [');
      out[at] = `${cut < 0 ? line : line.slice(0, cut)} [${c}]`;
    }
  }
  return out;
}
