// /api/v1/diff: two nodes (or two versions) compared rule by rule, and
// optionally by probe packets.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { findDumpHostJson, type DumpInfo } from '../../store/index.ts';
import { nodeVersion, versionText } from '../ruleset.ts';
import { DiffQuerySchema, DiffResultSchema, problemResponses, ref } from '../schemas/index.ts';

const diff: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/diff',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['query'],
        operationId: 'diffNodes',
        summary: 'Compare two nodes or versions',
        description:
          'Policies that differ, chains on one side only, and per chain the added and removed rules aligned like a text diff. Rules compare in canonical form, so counters and equivalent spellings do not show. kube-proxy names chains after hashes of the service and endpoint, so the same chain name on two nodes means the same thing. `format=unified` gives a text diff; `packets=auto` also traces probe packets on both nodes and lists those whose outcome differs.',
        querystring: DiffQuerySchema,
        response: {
          200: {
            description: 'The differences',
            content: { 'application/json': { schema: ref(DiffResultSchema) }, 'text/plain': { schema: Type.String() } },
          },
          ...problemResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const family = q.family ?? 'ipv4';
      const leftDump = await nodeVersion(app, q.left, q.leftDump ?? 'latest', family);
      const rightDump = await nodeVersion(app, q.right, q.rightDump ?? 'latest', family);
      const side = async (node: string, dump: DumpInfo) => ({
        label: `${node} (dump ${dump.id})`,
        text: await versionText(app, dump.sha256),
        hostJson: q.packets === 'auto' && dump.hasHost ? ((await findDumpHostJson(app.db.prisma, dump.id))?.hostJson ?? null) : null,
      });
      // Off the event loop: two 10k-Service nodes take seconds to parse and compare.
      const sides = { left: { node: q.left, dump: leftDump.id }, right: { node: q.right, dump: rightDump.id } };
      const unified = q.format === 'unified';
      const answer = await app.analysis.diff(async () => ({ kind: 'diff', family, left: await side(q.left, leftDump), right: await side(q.right, rightDump), unified, probes: q.packets === 'auto', sides }));
      // Written by the worker (JSON as the DiffResult schema describes it: test/api/analysis.test.ts
      // checks it against the schema's serializer); sent as is.
      // (The type provider types send() after the 200 schemas; a Buffer goes out unserialized.)
      const bytes = Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength) as unknown as string;
      return reply.type(unified ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8').send(bytes);
    },
  );
};

export default diff;
