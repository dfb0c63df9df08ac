// Counters over time: each upload of a node's iptables family adds a sample of
// the counters that moved since the upload before (counter-moves.ts), in the
// upload's transaction, which also prunes the samples past the node's last
// `keep`. Windows of samples are read back for GET /nodes/{node}/counters, the
// trace's hits and /metrics' policy drops.
import { blobLines, getCounters } from './blobs.ts';
import { canonicalLayout, type CanonicalLayout, type CounterText } from './counters-codec.ts';
import { builtinPolicySlots, decodeMoves, diffCounters, encodeMoves, matchSlots, matchSlotsCopied, type CounterMove } from './counter-moves.ts';
import type { Client, Tx } from './db.ts';
import type { DeltaBaseCache } from './delta-cache.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import { requireNodeId } from './node-rows.ts';

/** A built-in chain's policy counter over a sample or window. */
export interface PolicyCount {
  readonly table: string;
  readonly chain: string;
  readonly policy: string;
  readonly packets: number;
  readonly bytes: number;
  /** The counter went down at least once (a reset or restart). */
  readonly reset?: boolean;
}

export interface RecordSampleInput {
  readonly nodeId: number;
  readonly family: string;
  readonly dumpId: number;
  readonly now: Date;
  /** The node's latest version of the family before this upload (null: none). */
  readonly previous: { readonly sha256: string; readonly countersSha256: string | null } | null;
  readonly canonicalSha256: string;
  readonly layout: CanonicalLayout;
  /** This upload's counters in text order (null: it had none, or they did not line up). */
  readonly values: readonly CounterText[] | null;
  readonly countersSha256: string | null;
  /** Samples kept per node and family (0: none recorded). */
  readonly keep: number;
  /** A spliced upload's `TextHints`: per line of its canonical text, the line of canonical text `base` it copies, or -1. */
  readonly copiedFrom?: { readonly base: string; readonly lines: Int32Array } | undefined;
  readonly deltaBases?: DeltaBaseCache | undefined;
}

const INT64_MAX = 2n ** 63n - 1n;
const clamp = (n: bigint): bigint => (n > INT64_MAX ? INT64_MAX : n);

/** The previous upload's counters (and layout, when kept): from the cache when it holds what the row says, else decoded from the store. */
async function previousCounters(tx: Tx, input: RecordSampleInput): Promise<{ values: readonly CounterText[]; layout?: CanonicalLayout } | null> {
  const prev = input.previous;
  if (!prev) return null;
  const kept = input.deltaBases?.latestCounters.get(`${input.nodeId}:${input.family}`);
  if (kept && kept.canonicalSha256 === prev.sha256 && kept.countersSha256 === prev.countersSha256) return kept;
  if (!prev.countersSha256) return null;
  const values = await getCounters(tx, prev.countersSha256);
  return values && { values };
}

/**
 * The layout of the previous version's canonical text, read back from the store when it is not in
 * this process's memory (a restart, or the previous upload went to another replica). The upload
 * has usually read that text, or the whole text it is a line delta of, already: as its own text's
 * delta base (`cache.last`) or a delta upload's base (`cache.wholeLines`). Those lines are used
 * rather than read again: a 10k-Service text read whole costs 0.3-1 s of CPU (BENCHMARKS.md).
 */
async function storedLayout(tx: Tx, sha256: string, cache: DeltaBaseCache | undefined): Promise<CanonicalLayout | null> {
  const last = cache?.last;
  let lines = last?.sha256 === sha256 ? last.lines : cache?.wholeLines.get(sha256);
  if (!lines) {
    if (cache && last && !cache.wholeLines.has(last.sha256)) {
      // A line delta of the text the upload just read as its delta base: only the delta is applied.
      const blob = await tx.blob.findUnique({ where: { sha256 }, select: { baseSha256: true } });
      if (blob?.baseSha256 === last.sha256) cache.wholeLines.set(last.sha256, last.lines);
    }
    lines = (await blobLines(tx, sha256, cache)) ?? undefined;
  }
  return lines ? (cache?.layouts.get(lines) ?? canonicalLayout(lines)) : null;
}

/**
 * The moves of an upload whose canonical text differs from the previous one: rules of the same
 * text in the same chain carry over. The previous layout comes from memory when kept, else from
 * the store; null only when the previous text is missing or its counters do not line up with it.
 */
async function movesAcrossVersions(tx: Tx, input: RecordSampleInput, previous: { values: readonly CounterText[]; layout?: CanonicalLayout }): Promise<CounterMove[] | null> {
  const layout = previous.layout ?? (await storedLayout(tx, input.previous!.sha256, input.deltaBases));
  if (!layout || layout.slotLine.length !== previous.values.length) return null;
  const copied = input.copiedFrom?.base === input.previous!.sha256 ? input.copiedFrom.lines : undefined;
  return diffCounters(previous.values, input.values!, copied ? matchSlotsCopied(layout, input.layout, copied) : matchSlots(layout, input.layout));
}

/**
 * Records the sample of one upload of an iptables family (nft versions have
 * none) and prunes the node's samples of that family past `keep`. Run in the
 * upload's transaction, after its Dump row is written.
 */
export async function recordCounterSample(tx: Tx, input: RecordSampleInput): Promise<void> {
  if (input.keep <= 0 || (input.family !== 'ipv4' && input.family !== 'ipv6')) return;
  const previous = input.values ? await previousCounters(tx, input) : null;
  let moves: CounterMove[] | null = null;
  if (previous !== null && input.values !== null && previous.values.length > 0) {
    moves = input.previous!.sha256 === input.canonicalSha256 ? diffCounters(previous.values, input.values) : await movesAcrossVersions(tx, input, previous);
  }
  const compared = moves !== null;
  moves ??= [];
  const bySlot = new Map<number, CounterMove>();
  let packets = 0n;
  let bytes = 0n;
  let resets = 0;
  const { slotKind } = input.layout;
  for (const m of moves) {
    if (m.reset) resets++;
    if (slotKind[m.slot] === 0) bySlot.set(m.slot, m);
    else {
      packets += m.packets;
      bytes += m.bytes;
    }
  }
  const policies: PolicyCount[] = compared
    ? builtinPolicySlots(input.layout).map((p) => {
        const m = bySlot.get(p.slot);
        return { table: p.table, chain: p.chain, policy: p.policy, packets: Number(m?.packets ?? 0n), bytes: Number(m?.bytes ?? 0n), ...(m?.reset ? { reset: true } : {}) };
      })
    : [];
  await tx.counterSample.create({
    data: {
      nodeId: input.nodeId,
      family: input.family,
      dumpId: input.dumpId,
      uploadedAt: input.now,
      compared,
      data: new Uint8Array(encodeMoves(moves)),
      moved: moves.length,
      resets,
      packets: clamp(packets),
      bytes: clamp(bytes),
      policiesJson: JSON.stringify(policies),
    },
    select: { id: true },
  });
  const cut = await tx.counterSample.findFirst({ where: { nodeId: input.nodeId, family: input.family }, orderBy: { id: 'desc' }, skip: input.keep, select: { id: true } });
  if (cut) await tx.counterSample.deleteMany({ where: { nodeId: input.nodeId, family: input.family, id: { lte: cut.id } } });
  if (input.values && input.deltaBases) {
    input.deltaBases.latestCounters.set(`${input.nodeId}:${input.family}`, { canonicalSha256: input.canonicalSha256, countersSha256: input.countersSha256, values: input.values, layout: input.layout });
  }
}

// ------------------------------------------------------------------- reading

/** One kept upload of a node family: where a window starts or ends. */
export interface SampleRef {
  /** The upload's id (its sample's). */
  readonly id: number;
  /** The version it was an upload of. */
  readonly dump: number;
  readonly uploadedAt: Date;
}

export interface CounterSampleData extends SampleRef {
  /** False: nothing to compare with (first upload, or no counters before or now): it only opens the next window. */
  readonly compared: boolean;
  /** Its moves, decoded when asked (a day's window of a busy node holds millions: the caller paces itself). */
  moves(): CounterMove[];
  readonly policies: readonly PolicyCount[];
}

/** Where a window starts or ends: an upload id, a time, or (undefined) the default. */
export type WindowBound = { readonly upload: number } | { readonly at: Date } | undefined;

export interface CounterWindow {
  /** The upload the window starts after (its counters are the baseline); null when there is none before `to`. */
  readonly from: SampleRef | null;
  readonly to: SampleRef;
  /** False when `since` asked for more history than is kept: the window starts at the oldest upload kept. */
  readonly complete: boolean;
  /** The samples after `from` up to `to`, oldest first. */
  readonly samples: readonly CounterSampleData[];
}

const REF_SELECT = { id: true, dumpId: true, uploadedAt: true } as const;
const toRef = (r: { id: number; dumpId: number; uploadedAt: Date }): SampleRef => ({ id: r.id, dump: r.dumpId, uploadedAt: r.uploadedAt });

/**
 * A window of a node family's counter samples: after `since` (default: the
 * upload before `until`) up to `until` (default: the latest upload). A time
 * names the latest upload at or before it. NotFoundError for an unknown node
 * or upload, or when the node has no samples of the family; InvalidInputError
 * when `since` is not before `until`.
 */
export async function counterWindow(tx: Client, node: string, family: string, since: WindowBound, until: WindowBound): Promise<CounterWindow> {
  const nodeId = await requireNodeId(tx, node);
  const where = { nodeId, family };
  const byUpload = async (id: number, what: string) => {
    const row = await tx.counterSample.findFirst({ where: { ...where, id }, select: REF_SELECT });
    if (!row) throw new NotFoundError(`node "${node}" has no ${family} upload ${id} in its counter history (${what})`);
    return row;
  };
  const atOrBefore = (at: Date) => tx.counterSample.findFirst({ where: { ...where, uploadedAt: { lte: at } }, orderBy: { id: 'desc' }, select: REF_SELECT });
  let to;
  if (until === undefined) to = await tx.counterSample.findFirst({ where, orderBy: { id: 'desc' }, select: REF_SELECT });
  else if ('upload' in until) to = await byUpload(until.upload, 'until');
  else {
    to = await atOrBefore(until.at);
    if (!to) throw new NotFoundError(`node "${node}" has no ${family} upload kept at or before ${until.at.toISOString()}`);
  }
  if (!to) throw new NotFoundError(`node "${node}" has no ${family} counter history (no upload since it is kept)`);
  let from = null;
  let complete = true;
  if (since === undefined) from = await tx.counterSample.findFirst({ where: { ...where, id: { lt: to.id } }, orderBy: { id: 'desc' }, select: REF_SELECT });
  else if ('upload' in since) from = await byUpload(since.upload, 'since');
  else {
    from = await atOrBefore(since.at);
    if (!from) {
      // History does not reach back that far: from the oldest upload kept.
      from = await tx.counterSample.findFirst({ where, orderBy: { id: 'asc' }, select: REF_SELECT });
      complete = false;
    }
  }
  if (from && from.id > to.id) throw new InvalidInputError(`since (upload ${from.id}, ${from.uploadedAt.toISOString()}) is after until (upload ${to.id}, ${to.uploadedAt.toISOString()})`, [{ path: '/querystring/since', message: 'after until' }]);
  const rows = from?.id === to.id ? [] : await tx.counterSample.findMany({
    where: { ...where, id: { gt: from?.id ?? 0, lte: to.id } },
    orderBy: { id: 'asc' },
    select: { ...REF_SELECT, compared: true, data: true, policiesJson: true },
  });
  return {
    from: from ? toRef(from) : null,
    to: toRef(to),
    complete,
    samples: rows.map((r) => ({ ...toRef(r), compared: r.compared, moves: () => decodeMoves(r.data), policies: JSON.parse(r.policiesJson) as PolicyCount[] })),
  };
}

/** One kept upload in a node's counter history. */
export interface CounterUpload extends SampleRef {
  readonly compared: boolean;
  readonly moved: number;
  readonly resets: number;
  readonly packets: number;
  readonly bytes: number;
}

/** A node family's kept uploads, newest first (at most `limit`). NotFoundError for an unknown node. */
export async function listCounterUploads(tx: Client, node: string, family: string, limit: number): Promise<CounterUpload[]> {
  const nodeId = await requireNodeId(tx, node);
  const rows = await tx.counterSample.findMany({
    where: { nodeId, family },
    orderBy: { id: 'desc' },
    take: limit,
    select: { ...REF_SELECT, compared: true, moved: true, resets: true, packets: true, bytes: true },
  });
  return rows.map((r) => ({ ...toRef(r), compared: r.compared, moved: r.moved, resets: r.resets, packets: Number(r.packets), bytes: Number(r.bytes) }));
}

/** A node family's latest window's drops by built-in chains whose policy is DROP. */
export interface PolicyDrops {
  readonly node: string;
  readonly family: string;
  /** The latest upload (the window ends there and starts at the one before). */
  readonly upload: number;
  readonly uploadedAt: Date;
  readonly chains: readonly { readonly table: string; readonly chain: string; readonly packets: number; readonly bytes: number; readonly reset?: boolean }[];
}

/**
 * For every node and iptables family, the packets and bytes the built-in
 * chains with policy DROP counted since the previous upload (their latest
 * sample), in two queries whatever the fleet's size. Nodes whose latest
 * upload had nothing to compare with are left out.
 */
export async function latestPolicyDrops(tx: Client): Promise<PolicyDrops[]> {
  const latest = await tx.counterSample.groupBy({ by: ['nodeId', 'family'], _max: { id: true } });
  const ids = latest.map((l) => l._max.id).filter((id): id is number => id !== null);
  if (!ids.length) return [];
  const rows = await tx.counterSample.findMany({
    where: { id: { in: ids }, compared: true },
    orderBy: { id: 'asc' },
    select: { id: true, family: true, uploadedAt: true, policiesJson: true, node: { select: { name: true } } },
  });
  return rows
    .map((r) => ({
      node: r.node.name,
      family: r.family,
      upload: r.id,
      uploadedAt: r.uploadedAt,
      chains: (JSON.parse(r.policiesJson) as PolicyCount[]).filter((p) => p.policy === 'DROP').map((p) => ({ table: p.table, chain: p.chain, packets: p.packets, bytes: p.bytes, ...(p.reset ? { reset: true } : {}) })),
    }))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.family < b.family ? -1 : a.family > b.family ? 1 : 0));
}
