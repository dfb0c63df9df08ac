// Dump versions: recording uploads (with dedupe), listing, reading texts.
import type { Diagnostic, DumpFormat, Family } from '../netfilter/index.ts';
import { deleteUnreferencedBlobs, getBlobBytes, getBlobText, getCountersJson, type DeltaBaseCache } from './blobs.ts';
import { clampLimit, decodeCursor, encodeCursor, type Page, type PageRequest } from './cursor.ts';
import { writeTransaction, type Client, type PrismaClient, type Tx } from './db.ts';
import { ForbiddenError, NotFoundError } from './errors.ts';
import type { RulesetStats } from './ingest.ts';
import type { NftDumpFormat, PreparedVersion } from './nft-ingest.ts';
import { requireNodeId, upsertNode, type NodeMeta } from './node-rows.ts';
import { recordCounterSample } from './counter-samples.ts';
import { storeDumpTexts, type StoredTexts } from './texts.ts';

/** A stored version's family: an iptables address family, or `nft` (a node's whole nftables ruleset, every table family). */
export type StoredFamily = Family | 'nft';
/** A stored version's format: an iptables one, or `nft -j list ruleset` JSON / `nft list ruleset` text. */
export type StoredFormat = DumpFormat | NftDumpFormat;

/** A stored dump version, as the store hands it out. */
export interface DumpInfo {
  readonly id: number;
  readonly node: string;
  readonly family: StoredFamily;
  readonly format: StoredFormat;
  /** sha256 of the canonical text without counters. */
  readonly sha256: string;
  /** sha256 of the latest uploaded text of this version. */
  readonly originalSha256: string;
  readonly stats: RulesetStats;
  readonly diagnostics: readonly Diagnostic[];
  readonly collectedAt: Date | null;
  readonly receivedAt: Date;
  readonly lastSeenAt: Date;
  readonly uploads: number;
  readonly hasCounters: boolean;
  readonly hasHost: boolean;
}

export interface DumpDetail extends DumpInfo {
  /** The host file sent with the dump, parsed. */
  readonly host: Record<string, unknown> | null;
  /** Counters JSON (see ingest.ts `extractCounters`), parsed; null when none. */
  readonly counters: Record<string, unknown> | null;
}

const DUMP_SELECT = {
  id: true,
  family: true,
  format: true,
  sha256: true,
  originalSha256: true,
  countersSha256: true,
  statsJson: true,
  diagnosticsJson: true,
  collectedAt: true,
  receivedAt: true,
  lastSeenAt: true,
  uploads: true,
  hostJson: true,
  node: { select: { name: true } },
} as const;

type DumpRow = {
  id: number;
  family: string;
  format: string;
  sha256: string;
  originalSha256: string;
  countersSha256: string | null;
  statsJson: string;
  diagnosticsJson: string;
  collectedAt: Date | null;
  receivedAt: Date;
  lastSeenAt: Date;
  uploads: number;
  hostJson: string | null;
  node: { name: string };
};

function toInfo(row: DumpRow): DumpInfo {
  return {
    id: row.id,
    node: row.node.name,
    family: row.family as StoredFamily,
    format: row.format as StoredFormat,
    sha256: row.sha256,
    originalSha256: row.originalSha256,
    stats: JSON.parse(row.statsJson) as RulesetStats,
    diagnostics: JSON.parse(row.diagnosticsJson) as Diagnostic[],
    collectedAt: row.collectedAt,
    receivedAt: row.receivedAt,
    lastSeenAt: row.lastSeenAt,
    uploads: row.uploads,
    hasCounters: row.countersSha256 !== null,
    hasHost: row.hostJson !== null,
  };
}

export interface RecordDumpInput {
  readonly nodeId: number;
  readonly prepared: PreparedVersion;
  /** Host file JSON text sent with the dump (validated by the caller). */
  readonly hostJson?: string | null | undefined;
  readonly collectedAt?: Date | null | undefined;
  readonly now: Date;
  /** The database's delta-base cache (`Database.deltaBases`), when the caller has one. */
  readonly deltaBases?: DeltaBaseCache | undefined;
  /** Counter samples kept per node and family (counter-samples.ts; default DEFAULT_COUNTER_HISTORY, 0: none). */
  readonly counterHistory?: number | undefined;
}

/** A day of uploads at the agent's default interval (60 s): counter samples kept per node and family. */
export const DEFAULT_COUNTER_HISTORY = 1440;

export interface RecordResult {
  readonly dump: DumpInfo;
  /** False when the node's latest version of that family already had this canonical text. */
  readonly created: boolean;
}

/** Inserts a new version (no dedupe). */
export async function createDump(tx: Tx, input: RecordDumpInput, previous: { sha256: string; countersSha256: string | null } | null = null): Promise<DumpInfo> {
  const p = input.prepared;
  const stored = await storeDumpTexts(tx, input.nodeId, p, true, input.deltaBases);
  const { countersSha256 } = stored;
  const row = await tx.dump.create({
    data: {
      nodeId: input.nodeId,
      family: p.family,
      format: p.format,
      sha256: p.sha256,
      originalSha256: p.originalSha256,
      countersSha256,
      hostJson: input.hostJson ?? null,
      collectedAt: input.collectedAt ?? null,
      receivedAt: input.now,
      lastSeenAt: input.now,
      diagnosticsJson: JSON.stringify(p.diagnostics),
      statsJson: JSON.stringify(p.stats),
    },
    select: DUMP_SELECT,
  });
  await sampleCounters(tx, input, row.id, previous, stored);
  return toInfo(row);
}

/** The upload's counter sample (counters over time), against the node's previous version of the family. */
function sampleCounters(tx: Tx, input: RecordDumpInput, dumpId: number, previous: { sha256: string; countersSha256: string | null } | null, stored: StoredTexts): Promise<void> {
  const hints = 'textHints' in input.prepared ? input.prepared.textHints : undefined;
  return recordCounterSample(tx, {
    nodeId: input.nodeId,
    family: input.prepared.family,
    dumpId,
    now: input.now,
    previous,
    canonicalSha256: input.prepared.sha256,
    layout: stored.layout,
    values: stored.counters,
    countersSha256: stored.countersSha256,
    keep: input.counterHistory ?? DEFAULT_COUNTER_HISTORY,
    deltaBases: input.deltaBases,
    copiedFrom: hints && { base: hints.baseCanonical, lines: hints.canonicalFrom },
  });
}

/**
 * Records one uploaded dump for a node. When the canonical text equals the
 * node's latest version of that family, that version absorbs the upload
 * (latest raw text, counters, host, lastSeenAt; `created: false`);
 * otherwise a new version is created. Run inside `writeTransaction`.
 */
export async function recordDump(tx: Tx, input: RecordDumpInput): Promise<RecordResult> {
  const p = input.prepared;
  const latest = await tx.dump.findFirst({
    where: { nodeId: input.nodeId, family: p.family },
    orderBy: { id: 'desc' },
    select: { id: true, sha256: true, originalSha256: true, countersSha256: true },
  });
  if (!latest || latest.sha256 !== p.sha256) return { dump: await createDump(tx, input, latest), created: true };

  const stored = await storeDumpTexts(tx, input.nodeId, p, false);
  const { countersSha256 } = stored;
  const row = await tx.dump.update({
    where: { id: latest.id },
    data: {
      format: p.format,
      originalSha256: p.originalSha256,
      countersSha256,
      diagnosticsJson: JSON.stringify(p.diagnostics),
      lastSeenAt: input.now,
      uploads: { increment: 1 },
      ...(input.hostJson !== undefined && input.hostJson !== null ? { hostJson: input.hostJson } : {}),
      ...(input.collectedAt ? { collectedAt: input.collectedAt } : {}),
    },
    select: DUMP_SELECT,
  });
  await sampleCounters(tx, input, latest.id, latest, stored);
  await deleteUnreferencedBlobs(tx, [latest.originalSha256, latest.countersSha256].filter((s) => s !== p.originalSha256 && s !== countersSha256));
  return { dump: toInfo(row), created: false };
}

export interface UploadInput extends NodeMeta {
  readonly node: string;
  /** One or two prepared dumps (e.g. IPv4 and IPv6), recorded in one transaction. */
  readonly dumps: readonly PreparedVersion[];
  readonly hostJson?: string | null | undefined;
  readonly collectedAt?: Date | null | undefined;
  readonly now?: Date | undefined;
  /**
   * Only write when the node is new or already in this cluster (checked in
   * the write transaction); ForbiddenError otherwise. For cluster-limited tokens.
   */
  readonly requireCluster?: string | undefined;
  /** The database's delta-base cache (`Database.deltaBases`), so a fleet's uploads reuse one split base. */
  readonly deltaBases?: DeltaBaseCache | undefined;
  /** Counter samples kept per node and family (default DEFAULT_COUNTER_HISTORY, 0: none). */
  readonly counterHistory?: number | undefined;
}

/** Records an upload (node upserted, each dump recorded) atomically. */
export async function uploadDumps(prisma: PrismaClient, input: UploadInput): Promise<RecordResult[]> {
  return writeTransaction(prisma, async (tx) => {
    if (input.requireCluster !== undefined) {
      const existing = await tx.node.findUnique({ where: { name: input.node }, select: { cluster: true } });
      if (existing && existing.cluster !== input.requireCluster) {
        throw new ForbiddenError(`node "${input.node}" is not in cluster "${input.requireCluster}", the only cluster this token may write to`);
      }
    }
    const now = input.now ?? new Date();
    const nodeId = await upsertNode(tx, input.node, input, now);
    const results: RecordResult[] = [];
    for (const prepared of input.dumps) {
      results.push(await recordDump(tx, { nodeId, prepared, hostJson: input.hostJson, collectedAt: input.collectedAt, now, deltaBases: input.deltaBases, counterHistory: input.counterHistory }));
    }
    return results;
    // One node's versions: PostgreSQL runs uploads to different nodes concurrently (postgres.ts).
  }, { lock: `node:${input.node}` });
}

export interface ListDumpsOptions extends PageRequest {
  readonly family?: StoredFamily | undefined;
}

/** A node's versions, newest first. Throws NotFoundError for an unknown node. */
export async function listDumps(tx: Client, node: string, options: ListDumpsOptions = {}): Promise<Page<DumpInfo>> {
  const nodeId = await requireNodeId(tx, node);
  const limit = clampLimit(options.limit);
  const before = options.cursor ? decodeCursor(options.cursor, 'id', 'number').id : undefined;
  const rows = await tx.dump.findMany({
    where: { nodeId, ...(options.family ? { family: options.family } : {}), ...(before !== undefined ? { id: { lt: before } } : {}) },
    orderBy: { id: 'desc' },
    take: limit + 1,
    select: DUMP_SELECT,
  });
  const items = rows.slice(0, limit).map(toInfo);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor({ id: last.id }) : null };
}

async function findRow(tx: Client, node: string, id: number): Promise<DumpRow> {
  const row = await tx.dump.findFirst({ where: { id, node: { name: node } }, select: DUMP_SELECT });
  if (!row) {
    await requireNodeId(tx, node);
    throw new NotFoundError(`node "${node}" has no dump ${id}`);
  }
  return row;
}

/** One version with its host file and counters. Throws NotFoundError. */
export async function findDump(tx: Client, node: string, id: number): Promise<DumpDetail> {
  const row = await findRow(tx, node, id);
  const counters = row.countersSha256 ? await getCountersJson(tx, row.countersSha256, row.sha256) : null;
  return {
    ...toInfo(row),
    host: row.hostJson ? (JSON.parse(row.hostJson) as Record<string, unknown>) : null,
    counters,
  };
}

/** The node's latest version of a family, or null when it has none. Throws NotFoundError for an unknown node. */
export async function latestDump(tx: Client, node: string, family: StoredFamily): Promise<DumpInfo | null> {
  const nodeId = await requireNodeId(tx, node);
  const row = await tx.dump.findFirst({ where: { nodeId, family }, orderBy: { id: 'desc' }, select: DUMP_SELECT });
  return row ? toInfo(row) : null;
}

export type DumpTextKind = 'original' | 'canonical';

/** The uploaded (latest raw) or canonical text of a version. Throws NotFoundError. */
export async function getDumpText(tx: Client, node: string, id: number, kind: DumpTextKind): Promise<{ dump: DumpInfo; text: string }> {
  const row = await findRow(tx, node, id);
  const sha = kind === 'original' ? row.originalSha256 : row.sha256;
  const text = await getBlobText(tx, sha);
  if (text === null) throw new Error(`blob ${sha} of dump ${id} is missing`);
  return { dump: toInfo(row), text };
}

/** The bytes of a version's latest upload, exactly as sent. Throws NotFoundError. */
export async function getDumpBytes(tx: Client, node: string, id: number): Promise<{ dump: DumpInfo; bytes: Buffer }> {
  const row = await findRow(tx, node, id);
  const bytes = await getBlobBytes(tx, row.originalSha256);
  if (bytes === null) throw new Error(`blob ${row.originalSha256} of dump ${id} is missing`);
  return { dump: toInfo(row), bytes };
}

/** What the ruleset loader needs to know about a dump, by id alone. */
export async function findDumpById(tx: Client, id: number): Promise<DumpInfo | null> {
  const row = await tx.dump.findUnique({ where: { id }, select: DUMP_SELECT });
  return row ? toInfo(row) : null;
}

/** Versions by id (any node), as a map. */
export async function findDumpsByIds(tx: Client, ids: readonly number[]): Promise<Map<number, DumpInfo>> {
  if (!ids.length) return new Map();
  const rows = await tx.dump.findMany({ where: { id: { in: [...ids] } }, select: DUMP_SELECT });
  return new Map(rows.map((r) => [r.id, toInfo(r)]));
}
