// /api/v1/diff: two nodes (or two versions) compared rule by rule, and
// optionally by probe packets.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { nftUnifiedDiffLines, unifiedDiffLines, type Family } from '../../netfilter/index.ts';
import { NotFoundError, type DumpInfo, type StoredFamily } from '../../store/index.ts';
import { diffHere, diffJsonPieces, linePieces, piecesStream } from '../diff-here.ts';
import { diffNftHere, nftDiffJsonPieces } from '../nft-diff-here.ts';
import { dumpInfo, versionText } from '../ruleset.ts';
import { hostJsonOf, latestVersion } from '../node-netfilter.ts';
import { DiffQuerySchema, DiffResultSchema, GraphFormat, problemResponses, ref } from '../schemas/index.ts';
import { diffGraph } from '../chain-graphs.ts';
import { HttpProblem } from '../plugins/errors.ts';

/**
 * The version a diff compares: `pinned` (a dump of that node and family) or the latest of `family`;
 * null when the node has none of that family but has the other kind (an nft ruleset for an iptables
 * diff, or the reverse): across kube-proxy modes it compares as empty. 404 when it has neither.
 */
async function comparedVersion(app: FastifyInstance, node: string, pinned: number | undefined, family: StoredFamily): Promise<DumpInfo | null> {
  if (pinned !== undefined) {
    const d = await dumpInfo(app, pinned);
    if (!d || d.node !== node) throw new NotFoundError(`node "${node}" has no dump ${pinned}`);
    if (d.family !== family) throw new NotFoundError(`dump ${pinned} of node "${node}" is ${d.family}, not ${family}`);
    return d;
  }
  const version = await latestVersion(app, node, family);
  if (version) return version;
  const other = family === 'nft' ? ((await latestVersion(app, node, 'ipv4')) ?? (await latestVersion(app, node, 'ipv6'))) : await latestVersion(app, node, 'nft');
  if (!other) throw new NotFoundError(`node "${node}" has no ${family} dump`);
  return null;
}

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
          'Policies that differ, chains on one side only, and per chain the added and removed rules aligned like a text diff. Rules compare in canonical form, so counters and equivalent spellings do not show. kube-proxy names chains after hashes of the service and endpoint, so the same chain name on two nodes means the same thing. `format=unified` gives a text diff; `packets=auto` also traces probe packets on both nodes and lists those whose outcome differs. `family=nft` compares the nodes\' nft rulesets: tables as `family name`, chains rule by rule with base chain declarations, and sets and maps by members added and removed. Probes run through each node\'s whole netfilter (iptables and nft), so a node in kube-proxy\'s iptables mode and one in nftables mode compare by outcome; a node without a version of the compared family but with the other kind compares as empty (`dump: null`). `format=svg|dot|mermaid` draws one `table` (iptables: `filter` unless named; nft: `ip kube-proxy`, by default the only table of both sides) as its chain graph over both sides, chains and arrows added, removed and changed marked, kube-proxy\'s per-Service chains grouped (each group box says how many of its chains changed) and expandable by `expand`, as on a table\'s graph (cached per pair of versions and options; `packets=auto` is not drawn).',
        querystring: DiffQuerySchema,
        response: {
          200: {
            description: 'The differences',
            content: {
              'application/json': { schema: ref(DiffResultSchema) },
              'text/plain': { schema: Type.String() },
              'image/svg+xml': { schema: Type.String() },
              'text/vnd.graphviz': { schema: Type.String() },
              'text/vnd.mermaid': { schema: Type.String({ description: 'Mermaid flowchart' }) },
            },
          },
          ...problemResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const family = q.family ?? 'ipv4';
      const probes = q.packets === 'auto';
      if (probes && (q.format === 'svg' || q.format === 'dot' || q.format === 'mermaid')) throw new HttpProblem(400, 'bad-request', '`packets=auto` is not drawn: ask for `format=json` for the probes', { errors: [{ path: '/packets', message: `not with format=${q.format}` }] });
      const probeFamily: Family = family === 'nft' ? 'ipv4' : family;
      // Each side: the compared version (null when the node has none of that kind but has the other:
      // it compares as empty), and for probes the node's whole netfilter.
      const sideOf = async (node: string, pinned: number | undefined) => {
        const version = await comparedVersion(app, node, pinned, family);
        const [iptables, nft] = probes ? await Promise.all([family === 'nft' ? latestVersion(app, node, probeFamily) : version, family === 'nft' ? version : latestVersion(app, node, 'nft')]) : [null, null];
        return { node, version, iptables, nft };
      };
      const [l, r] = await Promise.all([sideOf(q.left, q.leftDump), sideOf(q.right, q.rightDump)]);
      const label = (s: typeof l): string => `${s.node} (${s.version ? `dump ${s.version.id}` : `no ${family} version`})`;
      const sides = { left: { node: q.left, dump: l.version?.id ?? null }, right: { node: q.right, dump: r.version?.id ?? null } };
      const picture = q.format === 'svg' || q.format === 'dot' || q.format === 'mermaid' ? (q.format as GraphFormat) : undefined;
      if (picture) {
        const drawn = await app.analysis.admitDiff(() => diffGraph(app, family, { label: label(l), version: l.version }, { label: label(r), version: r.version }, { format: picture, ...(q.table !== undefined ? { table: q.table } : {}), ...(q.expand !== undefined ? { expand: q.expand } : {}) }));
        return reply.type(drawn.type).send(drawn.body);
      }
      if (q.table !== undefined || q.expand !== undefined) throw new HttpProblem(400, 'bad-request', '`table` and `expand` go with a drawn diff (`format=svg`, `dot` or `mermaid`)', { errors: [{ path: q.table !== undefined ? '/table' : '/expand', message: 'only with a picture format' }] });
      const unified = q.format === 'unified';
      const type = unified ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
      if (!probes && family !== 'nft') {
        // On the event loop in slices, over the cached parses (diff-here.ts). The diff's turn ends
        // once it is computed (as a worker's did): a client reading slowly holds its own answer, not
        // everyone's turn; the answer is written as the client reads it.
        const d = await app.analysis.admitDiff(() => diffHere(app, { label: label(l), version: l.version }, { label: label(r), version: r.version }));
        const stream = piecesStream(unified ? linePieces(unifiedDiffLines(d, label(l), label(r))) : diffJsonPieces(d, sides), app.rulesetCache.yielding);
        // (The type provider types send() after the 200 schemas; a stream goes out unserialized.)
        return reply.type(type).send(stream as unknown as string);
      }
      if (!probes) {
        // nft rulesets: likewise, over the cached canonical nft parses (nft-diff-here.ts).
        const d = await app.analysis.admitDiff(() => diffNftHere(app, l.version, r.version));
        const stream = piecesStream(unified ? linePieces(nftUnifiedDiffLines(d, label(l), label(r))) : nftDiffJsonPieces(d, sides), app.rulesetCache.yielding);
        return reply.type(type).send(stream as unknown as string);
      }
      const text = async (d: DumpInfo | null): Promise<string> => (d ? versionText(app, d.sha256) : '');
      const side = async (s: typeof l) => {
        return {
          label: label(s),
          text: await text(s.version),
          hostJson: probes ? await hostJsonOf(app, s.iptables, s.nft, s.version) : null,
          ...(probes && family === 'nft' ? { probeIptables: await text(s.iptables) } : {}),
          ...(probes && s.nft ? { probeNft: await text(s.nft) } : {}),
        };
      };
      // Probes: in a worker (whole models parsed and traced, not in slices).
      const answer = await app.analysis.diff(async () => ({ kind: 'diff', family, left: await side(l), right: await side(r), unified, probes, sides }));
      // Written by the worker (JSON as the DiffResult schema describes it: test/api/analysis.test.ts
      // checks it against the schema's serializer); sent as is.
      // (The type provider types send() after the 200 schemas; a Buffer goes out unserialized.)
      const bytes = Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength) as unknown as string;
      return reply.type(type).send(bytes);
    },
  );
};

export default diff;
