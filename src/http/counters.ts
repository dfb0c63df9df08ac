// Counters over time for the API: a window of a node's counter samples
// (store/counter-samples.ts) told as rules, policies and chains, and the hits
// the trace marks on its events. A sample's slots are read against its
// version's canonical ruleset (parsed once, the ruleset cache), whose tables,
// chains and rules are in the canonical text's slot order.
import type { FastifyInstance } from 'fastify';
import type { Family, Ruleset } from '../netfilter/index.ts';
import { lastAtOrBefore } from '../store/bisect.ts';
import { counterWindow, InvalidInputError, NotFoundError, parseDuration, type CounterSampleData, type SampleRef, type WindowBound } from '../store/index.ts';
import { HttpProblem } from './plugins/errors.ts';
import { loadRuleset } from './ruleset.ts';
import type { CounterWindowJson } from './schemas/counters.ts';

/** What a counter slot of a canonical text is: a chain's policy (rule null) or a rule (1-based). */
export interface SlotInfo {
  readonly table: string;
  readonly chain: string;
  readonly rule: number | null;
  readonly text: string;
  /** A rule's place among the rules of the same text in its chain (0: the first), as versions carry them on (counter-moves.ts `matchSlots`). */
  readonly nth: number;
}

/** Per rule of a chain, how many rules of the same text come before it; made when a window first names one of its rules. */
const nths = new WeakMap<readonly { readonly raw: string }[], Int32Array>();
function nthOf(rules: readonly { readonly raw: string }[], i: number): number {
  let out = nths.get(rules);
  if (!out) {
    const seen = new Map<string, number>();
    out = Int32Array.from(rules, (r) => {
      const k = seen.get(r.raw) ?? 0;
      seen.set(r.raw, k + 1);
      return k;
    });
    nths.set(rules, out);
  }
  return out[i]!;
}

/**
 * A canonical ruleset's slots told by number: per table, every chain's
 * policy, then the rules chain by chain (counters-codec.ts). Offsets only:
 * a 10k-Service node has 235k slots and a window names a few.
 */
function slotReader(ruleset: Ruleset): (slot: number) => SlotInfo | null {
  const tables = ruleset.tables.map((t) => {
    const ruleStart = new Int32Array(t.chains.length + 1);
    for (let c = 0; c < t.chains.length; c++) ruleStart[c + 1] = ruleStart[c]! + t.chains[c]!.rules.length;
    return { table: t, ruleStart, size: t.chains.length + ruleStart[t.chains.length]! };
  });
  return (slot) => {
    let s = slot;
    for (const { table, ruleStart, size } of tables) {
      if (s >= size) {
        s -= size;
        continue;
      }
      if (s < table.chains.length) {
        const c = table.chains[s]!;
        return { table: table.name, chain: c.name, rule: null, text: c.policy ?? '-', nth: 0 };
      }
      const r = s - table.chains.length;
      // The last chain whose rules start at or before r.
      const lo = lastAtOrBefore(table.chains.length, (k) => ruleStart[k]!, r);
      const c = table.chains[lo]!;
      const i = r - ruleStart[lo]!;
      return { table: table.name, chain: c.name, rule: i + 1, text: c.rules[i]!.raw, nth: nthOf(c.rules, i) };
    }
    return null;
  };
}

const readers = new WeakMap<Ruleset, (slot: number) => SlotInfo | null>();
function readerOf(ruleset: Ruleset): (slot: number) => SlotInfo | null {
  let r = readers.get(ruleset);
  if (!r) readers.set(ruleset, (r = slotReader(ruleset)));
  return r;
}

const badBound = (name: 'since' | 'until', why: string): HttpProblem =>
  new HttpProblem(400, 'validation-error', `${name}: ${why}`, { errors: [{ path: `/querystring/${name}`, message: why }] });

/** `since`/`until` as the store takes them: an upload id, a time, or a duration back from `now`. */
export function windowBound(text: string | undefined, name: 'since' | 'until', now: Date): WindowBound {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (/^[1-9]\d{0,14}$/.test(t)) return { upload: Number(t) };
  const ms = /^\d+(ms|s|m|h|d|w)$/.test(t) ? parseDuration(t) : undefined;
  if (ms !== undefined) return { at: new Date(now.getTime() - ms) };
  if (/^\d{4}-\d{2}-\d{2}(T|$)/.test(t)) {
    const at = new Date(t);
    if (!Number.isNaN(at.getTime())) return { at };
  }
  throw badBound(name, `"${text}" is not an upload id, an ISO 8601 time or a duration like 15m`);
}

const refJson = (r: SampleRef) => ({ upload: r.id, dump: r.dump, uploadedAt: r.uploadedAt.toISOString() });

interface Acc {
  info: SlotInfo;
  packets: bigint;
  bytes: bigint;
  resets: number;
}

/** The rules and policies of a window's samples, each rule (table, text, place among its equals) summed across the versions it spans. */
async function sumSamples(app: FastifyInstance, samples: readonly CounterSampleData[]): Promise<{ rules: Map<string, Acc>; policies: Map<string, Acc & { policy: string }> }> {
  const rules = new Map<string, Acc>();
  const policies = new Map<string, Acc & { policy: string }>();
  let since = performance.now();
  for (const sample of samples) {
    if (!sample.compared) continue;
    // A long window of a busy node is millions of moves: other requests get their turns.
    if (performance.now() - since >= EVENT_LOOP_SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
    const moves = sample.moves();
    if (moves.length) {
      const read = readerOf((await loadRuleset(app, sample.dump)).ruleset);
      for (const m of moves) {
        const info = read(m.slot);
        if (!info || info.rule === null) continue;
        // Identical rules of a chain apart, by their place among their equals.
        const key = `${info.table}\n${info.text}\n${info.nth}`;
        const acc = rules.get(key);
        if (acc) {
          acc.info = info;
          acc.packets += m.packets;
          acc.bytes += m.bytes;
          if (m.reset) acc.resets++;
        } else rules.set(key, { info, packets: m.packets, bytes: m.bytes, resets: m.reset ? 1 : 0 });
      }
    }
    for (const p of sample.policies) {
      const key = `${p.table}\n${p.chain}`;
      const acc = policies.get(key);
      if (acc) {
        acc.policy = p.policy;
        acc.packets += BigInt(p.packets);
        acc.bytes += BigInt(p.bytes);
        if (p.reset) acc.resets++;
      } else policies.set(key, { info: { table: p.table, chain: p.chain, rule: null, text: p.policy, nth: 0 }, policy: p.policy, packets: BigInt(p.packets), bytes: BigInt(p.bytes), resets: p.reset ? 1 : 0 });
    }
  }
  return { rules, policies };
}

/** Milliseconds of summing before the event loop gets a turn. */
const EVENT_LOOP_SLICE_MS = 10;

const byPackets = (a: { packets: bigint; bytes: bigint }, b: { packets: bigint; bytes: bigint }): number => (a.packets === b.packets ? (a.bytes === b.bytes ? 0 : a.bytes > b.bytes ? -1 : 1) : a.packets > b.packets ? -1 : 1);

export interface CounterWindowOptions {
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly family: Family;
  readonly limit: number;
  readonly offset: number;
  readonly now: Date;
}

/** GET /nodes/{node}/counters: which rules counted packets in the window, and how many. */
export async function counterWindowJson(app: FastifyInstance, node: string, options: CounterWindowOptions): Promise<CounterWindowJson> {
  const since = windowBound(options.since, 'since', options.now);
  const until = windowBound(options.until, 'until', options.now);
  const w = await counterWindow(app.db.prisma, node, options.family, since, until).catch((err: unknown) => {
    // The store's "since is after until": the query's fault, like a malformed bound.
    throw err instanceof InvalidInputError ? badBound('since', err.message) : err;
  });
  const { rules, policies } = await sumSamples(app, w.samples);
  const sorted = [...rules.values()].sort(byPackets);
  const chains = new Map<string, { table: string; chain: string; rules: number; packets: bigint; bytes: bigint }>();
  let resets = 0;
  for (const r of sorted) {
    resets += r.resets;
    const key = `${r.info.table}\n${r.info.chain}`;
    const c = chains.get(key);
    if (c) {
      c.rules++;
      c.packets += r.packets;
      c.bytes += r.bytes;
    } else chains.set(key, { table: r.info.table, chain: r.info.chain, rules: 1, packets: r.packets, bytes: r.bytes });
  }
  for (const p of policies.values()) resets += p.resets;
  return {
    node,
    family: options.family,
    window: {
      from: w.from ? refJson(w.from) : null,
      to: refJson(w.to),
      uploads: w.samples.length,
      complete: w.complete,
      uncompared: w.samples.filter((s) => !s.compared).length,
    },
    rules: sorted.slice(options.offset, options.offset + options.limit).map((r) => ({
      table: r.info.table,
      chain: r.info.chain,
      rule: r.info.rule!,
      text: r.info.text,
      packets: Number(r.packets),
      bytes: Number(r.bytes),
      ...(r.resets ? { resets: r.resets } : {}),
    })),
    rulesMoved: sorted.length,
    policies: [...policies.values()].map((p) => ({ table: p.info.table, chain: p.info.chain, policy: p.policy, packets: Number(p.packets), bytes: Number(p.bytes), ...(p.resets ? { resets: p.resets } : {}) })),
    chains: [...chains.values()].sort(byPackets).map((c) => ({ table: c.table, chain: c.chain, rules: c.rules, packets: Number(c.packets), bytes: Number(c.bytes) })),
    resets,
  };
}

/** What a trace event's rule or policy counted in the node's latest window. */
export interface Hits {
  readonly packets: number;
  readonly bytes: number;
  /** When the window starts: the upload before the latest. */
  readonly since: string;
}

/**
 * The rules and policies of version `dump` that counted packets in its node's
 * latest window (since the upload before), keyed `table\nchain\nrule` (rule:
 * 1-based number, or `policy`); empty when the node's latest upload is not of
 * that version, or had nothing to compare with.
 */
export async function latestHits(app: FastifyInstance, node: string, family: Family, dump: number): Promise<Map<string, Hits>> {
  const out = new Map<string, Hits>();
  let w;
  try {
    w = await counterWindow(app.db.prisma, node, family, undefined, undefined);
  } catch (err) {
    // No counter history (yet): nothing to mark.
    if (err instanceof NotFoundError) return out;
    throw err;
  }
  const sample = w.samples[w.samples.length - 1];
  if (!sample || !w.from || sample.dump !== dump || !sample.compared) return out;
  const since = w.from.uploadedAt.toISOString();
  const read = readerOf((await loadRuleset(app, dump)).ruleset);
  for (const m of sample.moves()) {
    const info = read(m.slot);
    if (info && info.rule !== null && m.packets > 0n) out.set(`${info.table}\n${info.chain}\n${info.rule}`, { packets: Number(m.packets), bytes: Number(m.bytes), since });
  }
  for (const p of sample.policies) if (p.packets > 0) out.set(`${p.table}\n${p.chain}\npolicy`, { packets: p.packets, bytes: p.bytes, since });
  return out;
}

interface EventJson {
  readonly table: string;
  readonly chain: string;
  readonly kind: string;
  readonly rule: number | null;
  readonly language?: string;
  readonly backend?: string;
}

/** A trace outcome's events with `hits` on those of the node's iptables rules and policies that counted packets lately. */
export function withHits<O extends { readonly events: readonly EventJson[] }>(outcome: O, hits: ReadonlyMap<string, Hits>): O {
  if (!hits.size) return outcome;
  return {
    ...outcome,
    events: outcome.events.map((e) => {
      if (e.language !== undefined || e.backend !== undefined) return e;
      const h = hits.get(`${e.table}\n${e.chain}\n${e.kind === 'policy' ? 'policy' : e.rule}`);
      return h ? { ...e, hits: h } : e;
    }),
  };
}
