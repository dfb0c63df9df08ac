// /api/v1/diff: two nodes (or two versions) compared rule by rule, and
// optionally by probe packets.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { diffRulesets, formatUnifiedDiff, semanticDiff, type Host } from '../../netfilter/index.ts';
import type { DumpInfo } from '../../store/index.ts';
import { loadNodeRuleset, storedHost } from '../ruleset.ts';
import { DiffQuerySchema, DiffResultSchema, problemResponses, ref } from '../schemas/index.ts';

const diff: FastifyPluginAsyncTypebox = async (app) => {
  const hostOf = async (dump: DumpInfo): Promise<Host | undefined> => {
    const h = await storedHost(app, dump);
    return h?.ok ? h.host : undefined;
  };

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
      const opts = q.family ? { family: q.family } : {};
      const left = await loadNodeRuleset(app, q.left, q.leftDump ?? 'latest', opts);
      const right = await loadNodeRuleset(app, q.right, q.rightDump ?? 'latest', opts);
      const d = diffRulesets(left.ruleset, right.ruleset);
      if (q.format === 'unified') {
        return reply.type('text/plain; charset=utf-8').send(formatUnifiedDiff(d, `${q.left} (dump ${left.dump.id})`, `${q.right} (dump ${right.dump.id})`));
      }
      let probes: { count: number; differences: { probe: Record<string, unknown>; left: string[]; right: string[] }[] } | undefined;
      if (q.packets === 'auto') {
        const [lh, rh] = await Promise.all([hostOf(left.dump), hostOf(right.dump)]);
        const s = semanticDiff(left.ruleset, right.ruleset, { ...(lh ? { leftHost: lh } : {}), ...(rh ? { rightHost: rh } : {}) });
        probes = { count: s.probes, differences: s.differences.map((x) => ({ probe: { ...x.probe }, left: [...x.left], right: [...x.right] })) };
      }
      return {
        left: { node: q.left, dump: left.dump.id },
        right: { node: q.right, dump: right.dump.id },
        summary: d.summary,
        tablesOnlyLeft: [...d.tablesOnlyLeft],
        tablesOnlyRight: [...d.tablesOnlyRight],
        chains: d.chains.map((c) => ({ ...c, lines: [...c.lines] })),
        ...(probes ? { probes } : {}),
      };
    },
  );
};

export default diff;
