// packetpath_node_findings{node,severity}: the findings of each node's latest
// versions, counted by severity. Linting a big node takes seconds, so a scrape
// never computes them: it reports what was computed already and queues the
// nodes whose versions changed (or were never seen) for a background run, one
// node at a time through the analysis worker pool, reported at a later scrape.
// Until then a node keeps the counts of its previous versions, if any, and
// `packetpath_node_findings_pending` says how many nodes wait. A node whose
// findings fail for a reason other than a busy pool (e.g. too big for a
// worker's memory) is not retried until its versions change, and is counted in
// `packetpath_node_findings_failed`.
import type { FastifyBaseLogger } from 'fastify';
import type { Family, Finding } from '../../netfilter/index.ts';
import type { LatestVersion, StoredFamily } from '../../store/index.ts';
import type { NodeCollector, NodeSample } from './node-collector.ts';

export const NODE_FINDINGS = 'packetpath_node_findings';
export const NODE_FINDINGS_PENDING = 'packetpath_node_findings_pending';
export const NODE_FINDINGS_FAILED = 'packetpath_node_findings_failed';

const SEVERITIES: readonly Finding['severity'][] = ['error', 'warning', 'info'];

/** A node's findings, as `GET /nodes/{node}/findings?family=` answers them. */
export type ComputeFindings = (node: string, family: Family) => Promise<readonly Pick<Finding, 'severity'>[]>;

export interface FindingsCollector extends NodeCollector {
  /** Resolves when the background runs queued so far are done (tests; shutdown). */
  idle(): Promise<void>;
  /**
   * Takes no more background runs (the app is closing). The one running is not waited for: it may
   * be a lint of seconds, and closing the pool and the database ends it; what it then throws is ignored.
   */
  stop(): void;
}

interface Job {
  readonly key: string;
  readonly family: Family;
}

/**
 * What a node's findings depend on, and the family they are computed for: the iptables dump of
 * ipv4 (ipv6 for a node with only ipv6 dumps), the nft ruleset and the host file, by their
 * canonical sha256 (a re-upload whose counters alone changed is the same).
 */
export function findingsJob(versions: ReadonlyMap<StoredFamily, LatestVersion>): Job {
  const family: Family = versions.has('ipv4') || versions.has('nft') || !versions.has('ipv6') ? 'ipv4' : 'ipv6';
  const iptables = versions.get(family);
  const nft = versions.get('nft');
  const host = [iptables, nft].find((v) => v?.hostSha256)?.hostSha256 ?? '-';
  return { family, key: [family, iptables?.sha256 ?? '-', nft?.sha256 ?? '-', host].join(':') };
}

/** `busy`: the pool's queue was full; tried again at the next scrape. */
const isBusy = (err: unknown): boolean => (err as { statusCode?: number; slug?: string }).slug === 'analysis-busy';

export function findingsCollector(compute: ComputeFindings, log: FastifyBaseLogger): FindingsCollector {
  /** The last computed counts of each node, and the versions they are for. */
  const counted = new Map<string, { key: string; counts: Readonly<Record<string, number>> }>();
  const failed = new Map<string, string>();
  const queue = new Map<string, Job>();
  let running: Promise<void> | undefined;
  /** The node computed now (not queued again for the same versions). */
  let current: { node: string; key: string } | undefined;
  let stopped = false;

  const runOne = async (node: string, job: Job): Promise<void> => {
    try {
      const findings = await compute(node, job.family);
      const counts = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length]));
      counted.set(node, { key: job.key, counts });
      failed.delete(node);
    } catch (err) {
      if (stopped || isBusy(err)) return; // closing; or queued again by the next scrape
      failed.set(node, job.key);
      log.warn({ err, node }, 'metrics: could not compute the findings of a node; not retried until its versions change');
    }
  };
  const drain = async (): Promise<void> => {
    for (let next = queue.entries().next(); !stopped && !next.done; next = queue.entries().next()) {
      const [node, job] = next.value;
      queue.delete(node);
      current = { node, key: job.key };
      await runOne(node, job);
      current = undefined;
    }
  };
  const kick = (): void => {
    if (running || stopped || !queue.size) return;
    running = drain().finally(() => {
      running = undefined;
    });
  };

  return {
    name: 'findings',
    gauges: [
      { name: NODE_FINDINGS, help: "Findings of the node's latest versions by severity (as GET /api/v1/nodes/{node}/findings answers: ipv4, or ipv6 for a node with only ipv6 dumps; its nft ruleset; its host file). Computed in the background: a node's counts appear, or follow its new versions, a scrape or more after its upload", labelNames: ['node', 'severity'] },
      { name: NODE_FINDINGS_PENDING, help: 'Nodes whose latest versions\' findings are not computed yet (queued in the background; those with earlier counts still report them)', labelNames: [] },
      { name: NODE_FINDINGS_FAILED, help: "Nodes whose latest versions' findings could not be computed (e.g. too big for an analysis worker); retried when their versions change", labelNames: [] },
    ],
    async collect({ versions }) {
      const byNode = new Map<string, Map<StoredFamily, LatestVersion>>();
      for (const v of versions) {
        let m = byNode.get(v.node);
        if (!m) byNode.set(v.node, (m = new Map()));
        m.set(v.family, v);
      }
      for (const known of [counted, failed, queue]) for (const node of known.keys()) if (!byNode.has(node)) known.delete(node);
      let pending = 0;
      let failures = 0;
      for (const [node, latest] of byNode) {
        const job = findingsJob(latest);
        if (counted.get(node)?.key === job.key) continue;
        if (failed.get(node) === job.key) failures++;
        else {
          pending++;
          if (current?.node !== node || current.key !== job.key) queue.set(node, job);
        }
      }
      kick();
      const samples: NodeSample[] = [];
      for (const [node, { counts }] of counted) for (const severity of SEVERITIES) samples.push({ labels: { node, severity }, value: counts[severity] ?? 0 });
      return { [NODE_FINDINGS]: samples, [NODE_FINDINGS_PENDING]: [{ labels: {}, value: pending }], [NODE_FINDINGS_FAILED]: [{ labels: {}, value: failures }] };
    },
    idle: async () => {
      while (running) await running;
    },
    stop() {
      stopped = true;
      queue.clear();
    },
  };
}
