// Assembles what a trace needs from the store (rulesets, host files, the
// nodes of a cluster) and runs the core's single-node or cluster trace,
// with optional what-if changes.
import type { FastifyInstance } from 'fastify';
import {
  applyRuleChanges,
  assumedHost,
  buildHost,
  rulesetStats,
  traceCluster,
  tracePacket,
  traceToJson,
  validatePacket,
  type ClusterNode,
  type ClusterPath,
  type Family,
  type Host,
  type PacketInput,
  type Ruleset,
  type TraceOutcome,
} from '../netfilter/index.ts';
import { InvalidInputError, NotFoundError, type DumpInfo } from '../store/index.ts';
import { clusterNodeNames, dumpInfo, storedHost as storedHostResult, versionText, type HostResult } from './ruleset.ts';
import { loadNodeNetfilter, nodeDumps, withHost } from './node-netfilter.ts';
import type { TraceRequest } from './schemas/query.ts';

export interface SingleTrace {
  readonly kind: 'single';
  readonly node: string;
  readonly dump: number;
  /** The node's nft version traced with it, if it has one. */
  readonly nftDump?: number;
  /** The iptables-legacy version of its companion node traced with it, if it uses both backends. */
  readonly legacyDump?: number;
  readonly outcomes: readonly TraceOutcome[];
  readonly warnings: readonly string[];
  readonly before?: readonly TraceOutcome[];
}

export interface ClusterTrace {
  readonly kind: 'cluster';
  readonly paths: readonly ClusterPath[];
  readonly warnings: readonly string[];
  readonly before?: readonly ClusterPath[];
}

function packetOf(req: TraceRequest, fromInterface?: string, fromLocal?: boolean) {
  const input = { ...req.packet, ...(fromInterface ? { inInterface: fromInterface } : {}), ...(fromLocal ? { local: true } : {}) } as PacketInput;
  const v = validatePacket(input);
  if (!v.ok) throw new InvalidInputError(`bad packet: ${v.errors.join('; ')}`, v.errors.map((message) => ({ path: '/body/packet', message })));
  return v;
}

function hostOk(h: HostResult, where: string): Host {
  if (!h.ok) throw new InvalidInputError(`${where}: ${h.errors.join('; ')}`, h.errors.map((message) => ({ path: '/body/host', message })));
  return h.host;
}

const hostFrom = (json: unknown, where: string): Host => hostOk(buildHost(json), where);

/** The version's stored host file (built once, cached), undefined when it has none. */
async function storedHost(app: FastifyInstance, node: string, dump: DumpInfo): Promise<Host | undefined> {
  const h = await storedHostResult(app, dump);
  return h ? hostOk(h, `stored host file of ${node}`) : undefined;
}

function refusedChanges(errors: readonly { change: number; message: string }[], node: string): InvalidInputError {
  return new InvalidInputError(`what-if changes for ${node} cannot be applied: ${errors.map((e) => `change ${e.change + 1}: ${e.message}`).join('; ')}`, errors.map((e) => ({ path: `/body/changes/${e.change}`, message: e.message })));
}

function withChanges(ruleset: Ruleset, changes: readonly string[], node: string): Ruleset {
  const r = applyRuleChanges(ruleset, changes);
  if (!r.ok) throw refusedChanges(r.errors, node);
  return r.ruleset;
}

/** The rules of the nodes' latest versions, iptables and nft (from their stored stats: nothing parsed). */
async function clusterRules(app: FastifyInstance, names: readonly string[], family: Family): Promise<number> {
  const dumps = await Promise.all(names.map((name) => nodeDumps(app, name, family)));
  return dumps.reduce((n, d) => n + (d.iptables?.stats.rules ?? 0) + (d.nft?.stats.rules ?? 0), 0);
}

/** Past these a what-if leaves the event loop (a worker re-parses the nodes: worth it only for big work). */
const WHATIF_INLINE_CHANGES = 100;
const WHATIF_INLINE_RULES = 20_000;

/** A node's texts for a worker: its iptables canonical text ('' when none), its nft one and its legacy companion's. */
async function nodeTexts(app: FastifyInstance, dumps: { iptables: DumpInfo | null; nft: DumpInfo | null; legacy: DumpInfo | null }): Promise<{ text: string; nftText?: string; legacyText?: string }> {
  const text = dumps.iptables ? await versionText(app, dumps.iptables.sha256) : '';
  return {
    text,
    ...(dumps.nft ? { nftText: await versionText(app, dumps.nft.sha256) } : {}),
    ...(dumps.legacy ? { legacyText: await versionText(app, dumps.legacy.sha256) } : {}),
  };
}

/** Whether a trace request follows the packet across a cluster (`cluster`, or `from` without `follow: false`). */
export const isClusterTrace = (req: Pick<TraceRequest, 'cluster' | 'from' | 'follow'>): boolean => req.cluster !== undefined || (req.from !== undefined && req.follow !== false);

export async function runTrace(app: FastifyInstance, req: TraceRequest): Promise<SingleTrace | ClusterTrace> {
  if (isClusterTrace(req)) return runClusterTrace(app, req);
  const packet = packetOf(req, req.from?.interface, req.from?.local);
  const family = packet.packet.family;
  let node: string;
  let pinned: DumpInfo | undefined;
  if (req.dumpId !== undefined) {
    pinned = (await dumpInfo(app, req.dumpId)) ?? undefined;
    if (!pinned) throw new NotFoundError(`dump ${req.dumpId} not found`);
    node = pinned.node;
    if (req.node !== undefined && req.node !== node) throw new NotFoundError(`node "${req.node}" has no dump ${req.dumpId}`);
  } else {
    node = req.node ?? req.from?.node ?? '';
    if (!node) throw new InvalidInputError('say which ruleset to trace: `node`, `dumpId`, or `cluster` with `from`', [{ path: '/body', message: 'node, dumpId or cluster required' }]);
  }
  const nf = await loadNodeNetfilter(app, node, family, pinned);
  const host = req.host ? hostFrom(req.host, 'host') : await storedHost(app, node, nf.hostDump);
  const changes = Array.isArray(req.changes) ? req.changes : req.changes?.[node];
  const options = { explain: true, node, ...(host ? { host } : {}), ...(nf.nftables ? { nftables: nf.nftables } : {}), ...(nf.legacy ? { legacy: nf.legacy } : {}) };
  const dumps = { dump: (nf.iptablesDump ?? nf.nftDump)!.id, ...(nf.nftDump ? { nftDump: nf.nftDump.id } : {}), ...(nf.legacyDump ? { legacyDump: nf.legacyDump.id } : {}) };
  if (changes?.length && (changes.length > WHATIF_INLINE_CHANGES || rulesetStats(nf.iptables).rules + (nf.nftDump?.stats.rules ?? 0) > WHATIF_INLINE_RULES)) {
    // A big what-if (render, re-parse and trace a large node twice) runs in an analysis worker.
    const texts = await nodeTexts(app, { iptables: nf.iptablesDump, nft: nf.nftDump, legacy: nf.legacyDump });
    const answer = await app.analysis.whatIf({ kind: 'whatif', ...texts, family, node, changes, packet: packet.packet, host });
    if (answer.kind === 'refused') throw refusedChanges(answer.errors, node);
    return { kind: 'single', node, ...dumps, outcomes: answer.outcomes, warnings: [...answer.warnings, ...packet.notes], before: answer.before };
  }
  const ruleset = changes?.length ? withChanges(nf.iptables, changes, node) : nf.iptables;
  const result = tracePacket(ruleset, packet.packet, options);
  const before = changes?.length ? tracePacket(nf.iptables, packet.packet, options).outcomes : undefined;
  return { kind: 'single', node, ...dumps, outcomes: result.outcomes, warnings: [...result.warnings, ...packet.notes], ...(before ? { before } : {}) };
}

async function clusterNames(app: FastifyInstance, cluster: string | undefined, start: string, family: Family): Promise<readonly string[]> {
  if (cluster === undefined) return [start];
  const names = await clusterNodeNames(app, cluster, family);
  if (!names.includes(start)) throw new NotFoundError(`node "${start}" is not in cluster "${cluster}" (or has no ${family} dump and no nft ruleset)`);
  return names;
}

async function clusterNodes(app: FastifyInstance, names: readonly string[], family: Family): Promise<ClusterNode[]> {
  return Promise.all(
    names.map(async (name) => {
      const nf = await loadNodeNetfilter(app, name, family);
      return { name, ruleset: nf.iptables, host: (await storedHost(app, name, nf.hostDump)) ?? assumedHost(), ...(nf.nftables ? { nftables: nf.nftables } : {}), ...(nf.legacy ? { legacy: nf.legacy } : {}) };
    }),
  );
}

async function runClusterTrace(app: FastifyInstance, req: TraceRequest): Promise<ClusterTrace> {
  const start = req.from?.node ?? req.node;
  if (!start) throw new InvalidInputError('a cluster trace needs `from.node`', [{ path: '/body/from', message: 'required' }]);
  const packet = packetOf(req, req.from?.interface, req.from?.local);
  const family = packet.packet.family;
  const names = await clusterNames(app, req.cluster, start, family);
  const changes = req.changes === undefined ? {} : Array.isArray(req.changes) ? { [start]: req.changes } : req.changes;
  for (const name of Object.keys(changes)) if (!names.includes(name)) throw new NotFoundError(`what-if changes name node "${name}", which is not in the trace`);
  if (Object.values(changes).reduce((n, c) => n + c.length, 0) > WHATIF_INLINE_CHANGES || (Object.keys(changes).length && (await clusterRules(app, names, family)) > WHATIF_INLINE_RULES)) {
    // Big what-ifs across the cluster: every node parsed, changed and traced twice, in a worker.
    const answer = await app.analysis.clusterWhatIf(async () => ({
      kind: 'cluster-whatif',
      family,
      start,
      changes,
      packet: packet.packet,
      nodes: await Promise.all(
        names.map(async (name) => {
          const dumps = await nodeDumps(app, name, family);
          const hostDump = withHost(dumps.iptables, dumps.nft) ?? (dumps.iptables ?? dumps.nft)!;
          return { name, ...(await nodeTexts(app, dumps)), host: (await storedHost(app, name, hostDump)) ?? assumedHost() };
        }),
      ),
    }));
    if (answer.kind === 'refused') throw refusedChanges(answer.errors, answer.node);
    return { kind: 'cluster', paths: answer.paths, warnings: [...answer.warnings, ...packet.notes], before: answer.before };
  }
  const nodes = await clusterNodes(app, names, family);
  const changed = nodes.map((n) => (changes[n.name]?.length ? { ...n, ruleset: withChanges(n.ruleset, changes[n.name]!, n.name) } : n));
  const result = traceCluster(changed, start, packet.packet, { explain: true });
  const before = Object.keys(changes).length ? traceCluster(nodes, start, packet.packet, { explain: true }).paths : undefined;
  return { kind: 'cluster', paths: result.paths, warnings: [...result.warnings, ...packet.notes], ...(before ? { before } : {}) };
}

export { summarizeOutcomes, summarizePaths } from '../netfilter/index.ts';

export function pathToJson(p: ClusterPath) {
  return { probability: p.probability, end: p.end, endNode: p.endNode, summary: p.summary, hops: p.hops.map((h) => ({ node: h.node, inInterface: h.inInterface, outcome: traceToJson({ outcomes: [h.outcome], warnings: [] }).outcomes[0]! })) };
}
