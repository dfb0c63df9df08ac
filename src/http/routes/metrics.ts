// GET /metrics: Prometheus text format (plugins/metrics.ts). Readable with a
// `scrape` token (made for this route alone), a `read` or an `admin` one; open
// when reads are (no tokens on a loopback server, or PACKETPATH_OPEN_READS).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { prometheusContentType } from 'prom-client';
import { problemResponses } from '../schemas/index.ts';

const metrics: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      config: { scope: ['read', 'scrape'] },
      schema: {
        tags: ['metrics'],
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description:
          'The server\'s metrics in the Prometheus text format 0.0.4: requests by route pattern and status, uploads by kind and result, traces by kind and what-if, the analysis pool, process metrics, and per node the age of its last upload of each family and its findings by severity (computed in the background: `packetpath_node_findings_pending` nodes are not counted yet). Per-node values come from the database, so every replica answers the same. ' +
          'Needs a `scrape` token (for a Prometheus server: it can read nothing else), or a `read` or `admin` one. The metric list is in the README ("Metrics").',
        response: { 200: { description: 'The metrics', content: { 'text/plain; version=0.0.4': { schema: Type.String() } } }, ...problemResponses(503) },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'no-store').type(prometheusContentType).send(await app.metrics.scrape()),
  );
};

export default metrics;
