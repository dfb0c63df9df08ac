// Prometheus metrics (prom-client) on a registry of this app's own (never
// prom-client's global one: every app in a process counts for itself):
// process metrics, every request (by route pattern, never the raw URL, so the
// label set stays bounded), uploads and traces (routes marked
// `config.observe`, read in one onResponse hook), the analysis pool, and per
// node what the store says at scrape time (node collectors, see
// metrics/node-collector.ts). GET /metrics is routes/metrics.ts.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, exponentialBuckets, Gauge, Histogram, Registry } from 'prom-client';
import { latestPolicyDrops, latestVersionsOfAllNodes } from '../../store/index.ts';
import { findingsCollector, type FindingsCollector } from '../metrics/findings.ts';
import { uploadAgeCollector, type NodeCollector, type NodeSample } from '../metrics/node-collector.ts';
import { policyDropCollector } from '../metrics/policy-drops.ts';
import { nodeFindings } from '../services.ts';
import { isClusterTrace } from '../traces.ts';
import { uploadKind } from '../upload.ts';
import type { UploadQuery } from '../schemas/index.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the metrics plugin counts of this route's requests beyond the HTTP metrics: an upload or a trace. */
    observe?: 'upload' | 'trace';
  }
  interface FastifyInstance {
    metrics: MetricsService;
  }
}

export interface MetricsService {
  /** This app's registry (the process metrics and every metric below are on it). */
  readonly registry: Registry;
  /** Adds per-node gauges filled at each scrape (e.g. `policyDropCollector(...)`, metrics/policy-drops.ts). */
  addNodeCollector(collector: NodeCollector): void;
  /** The metrics in Prometheus text format, the node collectors run first (concurrent scrapes share one run). */
  scrape(): Promise<string>;
  /** Resolves when the findings queued by past scrapes are computed. */
  findingsIdle(): Promise<void>;
}

/** The outcome of a request as the upload and trace metrics name it. */
const resultOf = (status: number, stored: string, unchanged = stored): string =>
  status === 201 ? stored : status < 300 ? unchanged : status < 500 ? 'rejected' : 'failed';

export default fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const registers = [registry];

    const requests = new Counter({ name: 'packetpath_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status code', labelNames: ['method', 'route', 'status'] as const, registers });
    const requestSeconds = new Histogram({
      name: 'packetpath_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route pattern',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const uploads = new Counter({ name: 'packetpath_uploads_total', help: 'Uploads by kind (whole: an iptables text, with or without nft; delta: incremental; nft: an nft ruleset alone) and result (stored: a new version; unchanged: same canonical text; rejected: 4xx; failed: 5xx)', labelNames: ['kind', 'result'] as const, registers });
    const uploadBytes = new Histogram({ name: 'packetpath_upload_size_bytes', help: 'Upload bodies as sent (before Content-Encoding is decoded), by kind', labelNames: ['kind'] as const, buckets: exponentialBuckets(1024, 4, 10), registers });
    const uploadSeconds = new Histogram({ name: 'packetpath_upload_duration_seconds', help: 'Time to answer an upload, by kind', labelNames: ['kind'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers });
    const traces = new Counter({ name: 'packetpath_traces_total', help: 'Traces by kind (single node or cluster), whether they applied what-if changes, and result (ok, rejected: 4xx, failed: 5xx)', labelNames: ['kind', 'whatif', 'result'] as const, registers });
    const traceSeconds = new Histogram({ name: 'packetpath_trace_duration_seconds', help: 'Time to answer a trace, by kind and whether it applied what-if changes', labelNames: ['kind', 'whatif'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    new Gauge({
      name: 'packetpath_analysis_queued',
      help: 'Analyses (findings, diffs, what-if traces, big uploads\' parses) waiting for a worker or their turn',
      registers,
      collect() {
        this.set(app.analysis.stats().queued);
      },
    });
    new Counter({
      name: 'packetpath_analysis_runs_total',
      help: 'Analyses answered, by where: a worker (or a plain diff on the event loop) or the result cache',
      labelNames: ['answered'] as const,
      registers,
      collect() {
        const { ran, cached } = app.analysis.stats();
        this.reset();
        this.inc({ answered: 'worker' }, ran);
        this.inc({ answered: 'cache' }, cached);
      },
    });
    const collectorErrors = new Counter({ name: 'packetpath_scrape_collector_errors_total', help: 'Scrapes at which a per-node collector failed (its gauges were left empty)', labelNames: ['collector'] as const, registers });

    app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
      const seconds = reply.elapsedTime / 1000;
      requests.inc({ method: request.method, route, status: String(reply.statusCode) });
      requestSeconds.observe({ method: request.method, route }, seconds);
      const observe = request.is404 ? undefined : request.routeOptions.config.observe;
      if (observe === 'upload') {
        const kind = uploadKind(request.body, request.query as UploadQuery | undefined);
        uploads.inc({ kind, result: resultOf(reply.statusCode, 'stored', 'unchanged') });
        if (request.uploadSentBytes > 0) uploadBytes.observe({ kind }, request.uploadSentBytes);
        uploadSeconds.observe({ kind }, seconds);
      } else if (observe === 'trace') {
        const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Parameters<typeof isClusterTrace>[0] & { changes?: unknown };
        const labels = { kind: isClusterTrace(body) ? 'cluster' : 'single', whatif: body.changes === undefined ? 'no' : 'yes' };
        traces.inc({ ...labels, result: resultOf(reply.statusCode, 'ok') });
        traceSeconds.observe(labels, seconds);
      }
    });

    const collectors: { collector: NodeCollector; gauges: Map<string, Gauge> }[] = [];
    const addNodeCollector = (collector: NodeCollector): void => {
      const gauges = new Map(collector.gauges.map((g) => [g.name, new Gauge({ name: g.name, help: g.help, labelNames: [...g.labelNames], registers })]));
      collectors.push({ collector, gauges });
    };
    const findings: FindingsCollector = findingsCollector(async (node, family) => (await nodeFindings(app, node, undefined, family)).findings, app.log);
    addNodeCollector(uploadAgeCollector);
    addNodeCollector(findings);
    addNodeCollector(policyDropCollector(latestPolicyDrops));
    app.addHook('onClose', async () => findings.stop());

    const runScrape = async (): Promise<string> => {
      const scrape = { now: new Date(), versions: await latestVersionsOfAllNodes(app.db.prisma), db: app.db.prisma };
      const answers = await Promise.all(
        collectors.map(({ collector }) =>
          collector.collect(scrape).catch((err: unknown): Readonly<Record<string, readonly NodeSample[]>> => {
            app.log.warn({ err, collector: collector.name }, 'metrics: a node collector failed; its gauges are empty at this scrape');
            collectorErrors.inc({ collector: collector.name });
            return {};
          }),
        ),
      );
      collectors.forEach(({ gauges }, i) => {
        for (const [name, gauge] of gauges) {
          gauge.reset();
          for (const s of answers[i]![name] ?? []) gauge.set(s.labels, s.value);
        }
      });
      return registry.metrics();
    };
    let inflight: Promise<string> | undefined;
    const service: MetricsService = {
      registry,
      addNodeCollector,
      scrape: () =>
        (inflight ??= runScrape().finally(() => {
          inflight = undefined;
        })),
      findingsIdle: () => findings.idle(),
    };
    app.decorate('metrics', service);
  },
  { name: 'packetpath-metrics', fastify: '5.x', dependencies: ['packetpath-db', 'packetpath-analysis'] },
);
