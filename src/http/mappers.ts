// Store objects → API shapes (the schemas' static types).
import type { DumpDetail, DumpInfo, NodeInfo, RecordResult } from '../store/index.ts';
import type { Dump, DumpSummary, Node, UploadedDump } from './schemas/index.ts';

const iso = (d: Date): string => d.toISOString();

export function toDumpSummary(d: DumpInfo): DumpSummary {
  const counts = { error: 0, warning: 0, info: 0 };
  for (const x of d.diagnostics) counts[x.severity]++;
  return {
    id: d.id,
    node: d.node,
    family: d.family,
    format: d.format,
    sha256: d.sha256,
    stats: d.stats,
    collectedAt: d.collectedAt ? iso(d.collectedAt) : null,
    receivedAt: iso(d.receivedAt),
    lastSeenAt: iso(d.lastSeenAt),
    uploads: d.uploads,
    hasCounters: d.hasCounters,
    hasHost: d.hasHost,
    diagnosticCounts: counts,
  };
}

export function toDump(d: DumpDetail): Dump {
  return {
    ...toDumpSummary(d),
    originalSha256: d.originalSha256,
    diagnostics: [...d.diagnostics],
    host: d.host,
    counters: d.counters,
  };
}

export function toNode(n: NodeInfo): Node {
  return {
    name: n.name,
    cluster: n.cluster,
    labels: { ...n.labels },
    createdAt: iso(n.createdAt),
    lastSeenAt: iso(n.lastSeenAt),
    dumpCount: n.dumpCount,
    latest: {
      ipv4: n.latest.ipv4 ? toDumpSummary(n.latest.ipv4) : null,
      ipv6: n.latest.ipv6 ? toDumpSummary(n.latest.ipv6) : null,
      // Only for nodes that have one: iptables-only answers stay as they were.
      ...(n.latest.nft ? { nft: toDumpSummary(n.latest.nft) } : {}),
    },
  };
}

export function toUploaded(r: RecordResult): UploadedDump {
  return {
    id: r.dump.id,
    node: r.dump.node,
    sha256: r.dump.sha256,
    format: r.dump.format,
    family: r.dump.family,
    stats: r.dump.stats,
    diagnostics: [...r.dump.diagnostics],
    created: r.created,
  };
}
