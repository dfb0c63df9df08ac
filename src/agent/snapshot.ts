// From a collection to what is uploaded: one or two upload bodies ("parts"),
// each with the fingerprints that decide whether it changed.
//
// Both backends present: the nft ruleset is the node's own upload; the legacy
// one is uploaded as a companion node `<node>.iptables-legacy` (same cluster
// and host) so that it is listed, versioned, diffed and traced like any node.
// Labels tie them together (see LABELS).
//
// Fingerprints: the dumps' sha256 is exactly the server's version identity
// (`prepareDump(text).sha256`: canonical iptables-save text without counters),
// so comparing it with `GET /nodes/{node}/dumps/latest/sha` says whether a
// ruleset changed. The host, cluster and labels are fingerprinted together
// (`metaSha`): a changed route must upload even when the rules did not.
// The nft ruleset (`nft -j list ruleset`) goes with the node's own part as
// `nft`, fingerprinted the same way (`prepareNftDump(text).sha256`, the
// server's identity of an nft version: counters and other live values left out).
import { createHash } from 'node:crypto';
import { prepareDump } from '../store/ingest.ts';
import { prepareNftDump } from '../store/nft-ingest.ts';
import { legacyCompanionOf } from '../store/companions.ts';
import type { LineScript } from '../store/line-script.ts';
import type { Collection, DumpCapture, Family, HostModel } from './collect.ts';

export const LABELS = {
  /** The iptables backend of the node's ruleset: `nft`, `legacy` or `unknown`. */
  backend: 'packetpath.io/iptables-backend',
  /** On a node with both backends: the companion node holding the legacy ruleset. */
  legacyNode: 'packetpath.io/iptables-legacy-node',
  /** On a node with both backends whose legacy tables could not be read: `unread`. */
  legacyTables: 'packetpath.io/iptables-legacy-tables',
  /** On the companion node: the node it belongs to. */
  legacyOf: 'packetpath.io/legacy-of',
} as const;

const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
export const isNodeName = (s: string): boolean => s.length <= 253 && NODE_NAME.test(s);

/** The JSON body of `POST /api/v1/nodes/{node}/dumps` the agent sends. */
export interface UploadBody {
  dump: string;
  ip6Dump?: string;
  /** `nft -j list ruleset` output, as printed. */
  nft?: string;
  family: Family;
  format: 'iptables-save';
  host?: HostModel;
  collectedAt: string;
  cluster?: string;
  labels: Record<string, string>;
}

/** A dump as a line edit script against the text last uploaded (`src/store/line-script.ts`). */
export interface UploadDelta extends LineScript {
  /** sha256 of the base: the text last uploaded for the node and family. */
  base: string;
  /** sha256 of the text the script makes. */
  sha256: string;
}

/** An upload body with `delta` (`ip6Delta`) in place of `dump` (`ip6Dump`). */
export type DeltaUploadBody = Omit<UploadBody, 'dump' | 'ip6Dump'> & { dump?: string; delta?: UploadDelta; ip6Dump?: string; ip6Delta?: UploadDelta };

/** The body of a node with nft tables only. */
export type NftOnlyUploadBody = Omit<UploadBody, 'dump' | 'ip6Dump' | 'family' | 'nft'> & { nft: string; dump?: undefined; family?: undefined };

export interface UploadPart {
  readonly node: string;
  readonly body: UploadBody | NftOnlyUploadBody;
  /** sha256 of `dump` (of family `body.family`; of `nft` when there is no dump) and of `ip6Dump`, as the server computes them. */
  readonly sha256: string;
  readonly ip6Sha256?: string;
  /** The server's identity of `nft` (`prepareNftDump(nft).sha256`). */
  readonly nftSha256?: string;
  /** sha256 of host + cluster + labels. */
  readonly metaSha: string;
}

/** Where a snapshot goes: it is only ever sent there (a kept one is dropped when a run names another). */
export interface SnapshotTarget {
  /** The server's identity (`serverIdentity` of `--server`). */
  readonly server: string;
  readonly node: string;
  readonly cluster: string | null;
}

export interface Snapshot {
  readonly version: 2;
  readonly target: SnapshotTarget;
  readonly node: string;
  readonly collectedAt: string;
  readonly parts: readonly UploadPart[];
}

export interface SnapshotOptions {
  readonly server: string;
  readonly node: string;
  readonly cluster?: string | undefined;
  readonly labels?: Readonly<Record<string, string>>;
}

/** JSON with object keys sorted (a stable fingerprint input). */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The server's version identity of a dump (throws DumpParseError when nothing can be read). */
export const dumpSha = (text: string, family: Family): string => prepareDump(text, { family, format: 'iptables-save' }).sha256;

/** The server's version identity of an nft ruleset (throws DumpParseError when nft would refuse it). */
export const nftSha = (text: string): string => prepareNftDump(text, { format: 'nft-json' }).sha256;

function part(
  node: string,
  v4: DumpCapture | null,
  v6: DumpCapture | null,
  nft: { text: string; sha256: string } | null,
  host: HostModel | undefined,
  collectedAt: string,
  cluster: string | undefined,
  labels: Record<string, string>,
): UploadPart | null {
  const first = v4 ?? v6;
  if (!first && !nft) return null;
  const second = v4 && v6 ? v6 : null;
  const meta = { format: 'iptables-save' as const, ...(host ? { host } : {}), collectedAt, ...(cluster !== undefined ? { cluster } : {}), labels };
  const body: UploadBody | NftOnlyUploadBody = first
    ? { dump: first.text, ...(second ? { ip6Dump: second.text } : {}), ...(nft ? { nft: nft.text } : {}), family: first.family, ...meta }
    : { nft: nft!.text, ...meta };
  return {
    node,
    body,
    sha256: first ? dumpSha(first.text, first.family) : nft!.sha256,
    ...(second ? { ip6Sha256: dumpSha(second.text, 'ipv6') } : {}),
    ...(nft ? { nftSha256: nft.sha256 } : {}),
    metaSha: sha256(stableJson({ host: host ?? null, cluster: cluster ?? null, labels })),
  };
}

/** The parts to upload; none when the node has no tables at all. `warnings` gets what was left out. */
export function buildSnapshot(c: Collection, options: SnapshotOptions, warnings: string[] = []): Snapshot {
  const collectedAt = c.collectedAt.toISOString();
  const mainBackend = c.ipv4.main?.backend ?? c.ipv6.main?.backend ?? 'unknown';
  const hasLegacy = c.ipv4.legacy !== null || c.ipv6.legacy !== null;
  const legacyNode = legacyCompanionOf(options.node);
  const legacyOk = hasLegacy && isNodeName(legacyNode);
  if (hasLegacy && !legacyOk) warnings.push(`legacy tables not uploaded: "${legacyNode}" is too long for a node name`);

  const labels: Record<string, string> = { ...(options.labels ?? {}), [LABELS.backend]: mainBackend };
  if (legacyOk) labels[LABELS.legacyNode] = legacyNode;
  if (c.ipv4.legacyUnread || c.ipv6.legacyUnread) labels[LABELS.legacyTables] = 'unread';

  let nft: { text: string; sha256: string } | null = null;
  let nftFacts = c.host?.nft;
  if (c.nft.status === 'ok' && c.nft.text !== undefined) {
    try {
      nft = { text: c.nft.text, sha256: nftSha(c.nft.text) };
    } catch (err) {
      // The server would refuse it (422) and with it the whole upload: send the rest, and say why.
      warnings.push(`nft -j list ruleset: not uploaded: ${(err as Error).message}`);
      nftFacts = { ...nftFacts, status: 'unreadable', detail: (err as Error).message };
    }
  }
  const host = (backend: string, withNft: boolean): HostModel | undefined => {
    if (!c.host) return undefined;
    const { nft: _nft, kubeProxy: _kubeProxy, ...rest } = c.host;
    return {
      ...(withNft ? { ...c.host, ...(nftFacts ? { nft: nftFacts } : {}) } : rest),
      ...(backend === 'nft' || backend === 'legacy' ? { backend } : {}),
    };
  };

  const parts: UploadPart[] = [];
  const main = part(options.node, c.ipv4.main, c.ipv6.main, nft, host(mainBackend, true), collectedAt, options.cluster, labels);
  if (main) parts.push(main);
  if (legacyOk) {
    const legacyLabels = { ...(options.labels ?? {}), [LABELS.backend]: 'legacy', [LABELS.legacyOf]: options.node };
    const legacy = part(legacyNode, c.ipv4.legacy, c.ipv6.legacy, null, host('legacy', false), collectedAt, options.cluster, legacyLabels);
    if (legacy) parts.push(legacy);
  }
  return { version: 2, target: { server: options.server, node: options.node, cluster: options.cluster ?? null }, node: options.node, collectedAt, parts };
}

export const sameTarget = (a: SnapshotTarget, b: SnapshotTarget): boolean => a.server === b.server && a.node === b.node && a.cluster === b.cluster;

/** Whether a parsed JSON value is a snapshot this agent wrote. */
export function isSnapshot(v: unknown): v is Snapshot {
  const s = v as Partial<Snapshot> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    s.version === 2 &&
    typeof s.target?.server === 'string' &&
    typeof s.target.node === 'string' &&
    (s.target.cluster === null || typeof s.target.cluster === 'string') &&
    typeof s.node === 'string' &&
    typeof s.collectedAt === 'string' &&
    Array.isArray(s.parts) &&
    s.parts.every((p) => typeof p?.node === 'string' && typeof p.sha256 === 'string' && typeof p.metaSha === 'string' && (typeof p.body?.dump === 'string' || typeof p.body?.nft === 'string'))
  );
}
