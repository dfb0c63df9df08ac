// /api/v1/nodes/{node}/counters: counters over time (the moved counters of a node's last uploads).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listCounterUploads } from '../../store/index.ts';
import { counterWindowJson } from '../counters.ts';
import { CounterUploadListSchema, CounterUploadsQuerySchema, CounterWindowQuerySchema, CounterWindowSchema, jsonResponse, NodeParamsSchema, problemResponses, ref } from '../schemas/index.ts';

const WINDOW_DESCRIPTION = `Which rules counted packets between two uploads of the node, and how many: the counters of the node's last COUNTER_HISTORY uploads per family (default 1440, a day at the agent's 60 s interval) are kept as the counters that moved since the upload before. By default the window is the latest upload against the one before it; \`since\` and \`until\` take an upload id, an ISO 8601 time or a duration back from now (\`15m\`).

Rules come busiest first (\`limit\`, \`offset\`), with their table, chain, 1-based number and text; \`policies\` has every built-in chain's policy counter (a FORWARD policy DROP that counts is traffic being dropped), \`chains\` what each chain's rules counted. A counter that went down (a rule replaced, a chain flushed, a restart) counts from its new value and is noted in \`resets\`, never as a negative number. When the ruleset changes between uploads, a rule of the same text in the same chain carries on; a new one counts from its counters. iptables only (ipv4, ipv6): nftables rulesets are not sampled.`;

const counters: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/nodes/:node/counters',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['counters'],
        operationId: 'getCounterWindow',
        summary: 'Which rules counted packets between two uploads',
        description: WINDOW_DESCRIPTION,
        params: NodeParamsSchema,
        querystring: CounterWindowQuerySchema,
        response: { 200: jsonResponse('The counters that moved in the window', ref(CounterWindowSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      return counterWindowJson(app, request.params.node, { since: q.since, until: q.until, family: q.family ?? 'ipv4', limit: q.limit ?? 100, offset: q.offset ?? 0, now: new Date() });
    },
  );

  app.get(
    '/nodes/:node/counters/uploads',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['counters'],
        operationId: 'listCounterUploads',
        summary: 'The uploads kept in a node\'s counter history',
        description: 'Newest first, each with how many counters moved since the upload before and what its rules counted: the ids `since` and `until` of `GET /nodes/{node}/counters` take.',
        params: NodeParamsSchema,
        querystring: CounterUploadsQuerySchema,
        response: { 200: jsonResponse('The uploads kept', ref(CounterUploadListSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const family = request.query.family ?? 'ipv4';
      const items = await listCounterUploads(app.db.prisma, request.params.node, family, request.query.limit ?? 100);
      return {
        node: request.params.node,
        family,
        items: items.map((u) => ({ upload: u.id, dump: u.dump, uploadedAt: u.uploadedAt.toISOString(), compared: u.compared, moved: u.moved, resets: u.resets, packets: u.packets, bytes: u.bytes })),
      };
    },
  );
};

export default counters;
