// /api/v1/nodes/{node}/dumps: upload and read ruleset versions.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildHost, renderRuleset, type Family } from '../../netfilter/index.ts';
import {
  findDump,
  decodeText,
  getDumpBytes,
  getDumpText,
  InvalidInputError,
  latestDump,
  listDumps,
  NotFoundError,
  prepareDump,
  primeCanonicalRuleset,
  uploadDumps,
  type PreparedDump,
  type PrepareOptions,
} from '../../store/index.ts';
import { toDump, toDumpSummary, toUploaded } from '../mappers.ts';
import { assertNodeCluster, writeCluster } from '../plugins/auth.ts';
import { loadRuleset, requireLatestDumpId } from '../ruleset.ts';
import { assertLineLimit, registerTextUploadParser, uploadBodyLimit, uploadPreParsing } from '../upload.ts';
import {
  CanonicalQuerySchema,
  DumpListQuerySchema,
  DumpListSchema,
  DumpParamsSchema,
  DumpRefParamsSchema,
  DumpSchema,
  FamilyQuerySchema,
  LatestShaSchema,
  NodeParamsSchema,
  UploadJsonSchema,
  UploadQuerySchema,
  UploadResultSchema,
  UploadTextSchema,
  jsonResponse,
  problemResponses,
  ref,
  type UploadJson,
  type UploadResult,
} from '../schemas/index.ts';

const TEXT = 'text/plain; charset=utf-8';
const textResponse = (description: string) => ({ description, content: { 'text/plain': { schema: Type.String() } } });
const etag = (sha: string): string => `"${sha}"`;

/** True when an If-None-Match header names this sha256 (or is `*`). */
function matchesEtag(header: string | undefined, sha: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === etag(sha) || v === sha;
  });
}

const UPLOAD_DESCRIPTION = `Stores a node's ruleset. The body is either the dump itself (\`text/plain\`: iptables-save, ip6tables-save, \`iptables -S\` or \`iptables -L -n -v\` output, format and family detected) or JSON \`{dump, ip6Dump?, host?, collectedAt?, cluster?, labels?, format?, family?}\`; \`ip6Dump\` is stored as a second (ipv6) version and returned under \`ip6\`. The node is created on first upload.

\`Content-Encoding: gzip\` (or deflate) is accepted; the body is limited to MAX_UPLOAD_BYTES as sent and MAX_DECOMPRESSED_BYTES decoded (413 past either).

Versions are identified by the sha256 of the canonical iptables-save text **without counters**. When it equals the node's latest version of that family, no version is created: the response is **200** with that version's id and \`created: false\`, and its raw text, counters, host file and \`lastSeenAt\` are updated. Otherwise **201** with \`created: true\`. Agents can skip uploads altogether by comparing their canonical sha256 with \`GET /nodes/{node}/dumps/latest/sha\` (or the ETag of \`HEAD /nodes/{node}/dumps/latest\`).

Needs an \`upload\` (or \`admin\`) token. A token limited to a cluster writes to that cluster only: the upload's \`cluster\` must be it (when absent, the node is put in it), and a node already in another cluster is a 403.

A dump from which nothing usable can be read (no table) is rejected with 422 and line-numbered \`problems\`; with \`?strict=true\` any error diagnostic is. A bad host file is a 422 with \`errors\`. A rejected upload changes nothing.

A \`text/plain\` body that is not UTF-8 is read in the \`charset\` of its Content-Type (Latin-1 when none is named) and kept byte for byte (\`/raw\`, \`originalSha256\`); an unknown charset is a 415.`;

/**
 * Parsing costs ~2 KB of heap per line at its peak, and that heap stays with the
 * process that parsed: big dumps are parsed in an analysis worker (whose heap
 * is capped and given back when it idles), small ones here, where a worker's
 * round trip would cost more than the parse.
 */
const INLINE_PARSE_CHARS = 1 << 20;

const dumps: FastifyPluginAsyncTypebox = async (app) => {
  const prepare = (text: string, options: PrepareOptions & { field: string }): Promise<PreparedDump> =>
    text.length <= INLINE_PARSE_CHARS ? Promise.resolve(prepareDump(text, options)) : app.analysis.prepare({ kind: 'prepare', text, options });
  const limits = { maxUploadBytes: app.config.maxUploadBytes, maxDecompressedBytes: app.config.maxDecompressedBytes };
  registerTextUploadParser(app);

  app.post(
    '/nodes/:node/dumps',
    {
      config: { scope: 'upload' },
      bodyLimit: uploadBodyLimit(limits),
      preParsing: uploadPreParsing(limits),
      schema: {
        tags: ['dumps'],
        operationId: 'uploadDump',
        summary: 'Upload a dump',
        description: UPLOAD_DESCRIPTION,
        params: NodeParamsSchema,
        querystring: UploadQuerySchema,
        headers: Type.Object({
          // No example: Swagger UI would pre-fill it, and a plain-text body sent as gzip is a 400.
          'content-encoding': Type.Optional(Type.String({ description: '`gzip` (or `x-gzip`), `deflate` or `identity` (the default: leave empty for a plain body); anything else is a 415' })),
        }),
        body: {
          content: {
            'text/plain': { schema: UploadTextSchema },
            'application/json': { schema: ref(UploadJsonSchema) },
          },
        },
        response: {
          200: jsonResponse('Same canonical text as the latest version: nothing created, counters and lastSeenAt updated', ref(UploadResultSchema)),
          201: jsonResponse('A new version was stored', ref(UploadResultSchema)),
          ...problemResponses(400, 413, 415, 422, 503, 507),
        },
      },
    },
    async (request, reply) => {
      const { node } = request.params;
      const query = request.query;
      const json: UploadJson = typeof request.body === 'string' ? { dump: request.body } : (request.body as UploadJson);
      const format = json.format ?? query.format;
      const strict = query.strict === true;

      let hostJson: string | undefined;
      if (json.host !== undefined) {
        const host = buildHost(json.host);
        if (!host.ok) throw new InvalidInputError(`the host file is invalid: ${host.errors.join('; ')}`, host.errors.map((message) => ({ path: '/body/host', message })));
        hostJson = JSON.stringify(json.host);
      }
      assertLineLimit(json.dump, app.config.maxDumpLines, 'dump');
      if (json.ip6Dump !== undefined) assertLineLimit(json.ip6Dump, app.config.maxDumpLines, 'ip6Dump');
      const originalBytes = typeof request.body === 'string' ? request.uploadBytes ?? undefined : undefined;
      const prepared: PreparedDump[] = [await prepare(json.dump, { family: json.family ?? query.family, format, strict, field: 'dump', originalBytes })];
      if (json.ip6Dump !== undefined) {
        if (prepared[0]?.family === 'ipv6') {
          throw new InvalidInputError('`dump` is an IPv6 dump but `ip6Dump` was given too: send the IPv4 dump as `dump`', [{ path: '/body/dump', message: 'is IPv6' }]);
        }
        prepared.push(await prepare(json.ip6Dump, { family: 'ipv6', format, strict, field: 'ip6Dump' }));
      }

      const { cluster, requireCluster } = writeCluster(request, json.cluster ?? query.cluster);
      const results = await uploadDumps(app.db.prisma, {
        node,
        dumps: prepared,
        cluster,
        requireCluster,
        labels: json.labels,
        hostJson,
        collectedAt: json.collectedAt ? new Date(json.collectedAt) : undefined,
        deltaBases: app.db.deltaBases,
      });
      // The upload's parse is the canonical text's parse: the first query need not gunzip and re-parse it.
      for (const p of prepared) primeCanonicalRuleset(app.rulesetCache, p);
      const [first, second] = results;
      if (!first) throw new Error('upload recorded nothing');
      const body: UploadResult = { ...toUploaded(first), ...(second ? { ip6: toUploaded(second) } : {}) };
      const created = results.some((r) => r.created);
      reply.header('location', `/api/v1/nodes/${encodeURIComponent(node)}/dumps/${first.dump.id}`);
      return reply.code(created ? 201 : 200).send(body);
    },
  );

  app.get(
    '/nodes/:node/dumps',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['dumps'],
        operationId: 'listDumps',
        summary: "List a node's versions",
        description: 'Newest first. `?limit=` (default 50, max 500) and `?cursor=` (the previous page\'s `nextCursor`).',
        params: NodeParamsSchema,
        querystring: DumpListQuerySchema,
        response: { 200: jsonResponse('A page of versions', ref(DumpListSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const page = await listDumps(app.db.prisma, request.params.node, request.query);
      return { items: page.items.map(toDumpSummary), nextCursor: page.nextCursor };
    },
  );

  /** The node's latest version of `family`; NotFoundError when it has none. */
  const requireLatest = async (node: string, family: Family) => {
    const latest = await latestDump(app.db.prisma, node, family);
    if (!latest) throw new NotFoundError(`node "${node}" has no ${family} dump`);
    return latest;
  };

  app.get(
    '/nodes/:node/dumps/latest',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['dumps'],
        operationId: 'getLatestDump',
        summary: "A node's latest version",
        description:
          'The latest version of `family` (default ipv4), with `ETag: "<sha256>"` (canonical, counters stripped). ' +
          '`HEAD` gives the ETag alone; `If-None-Match: "<sha256>"` answers 304 when it is still the latest.',
        params: NodeParamsSchema,
        querystring: FamilyQuerySchema,
        headers: Type.Object({
          'if-none-match': Type.Optional(Type.String({ description: 'An ETag from an earlier response: `"<sha256>"`; 304 when it is still the latest', examples: ['"1b609bf6c1f22272bb81e237235579d6b4587592b2b666070b48810d1af93a18"'] })),
        }),
        response: { 200: jsonResponse('The latest version', ref(DumpSchema)), 304: { description: 'Not modified', type: 'null' }, ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { node } = request.params;
      const family = request.query.family ?? 'ipv4';
      const latest = await requireLatest(node, family);
      reply.header('etag', etag(latest.sha256));
      if (matchesEtag(request.headers['if-none-match'], latest.sha256)) return reply.code(304).send();
      return toDump(await findDump(app.db.prisma, node, latest.id));
    },
  );

  app.get(
    '/nodes/:node/dumps/latest/sha',
    {
      // Agents ask before uploading: upload tokens may read this sha too (of their cluster's nodes).
      config: { scope: ['read', 'upload'] },
      schema: {
        tags: ['dumps'],
        operationId: 'getLatestSha',
        summary: "The sha256 of a node's latest version",
        description:
          'Cheap check for agents: compare with the sha256 of your canonical dump (counters stripped) and skip the upload when equal. ' +
          'Needs a `read` or an `upload` token (a cluster-limited upload token: only for nodes of its cluster, or unknown ones).',
        params: NodeParamsSchema,
        querystring: FamilyQuerySchema,
        response: { 200: jsonResponse('Identity of the latest version', ref(LatestShaSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { node } = request.params;
      const family = request.query.family ?? 'ipv4';
      await assertNodeCluster(app, request, node);
      const latest = await requireLatest(node, family);
      reply.header('etag', etag(latest.sha256));
      return { node, family, id: latest.id, sha256: latest.sha256 };
    },
  );

  app.get(
    '/nodes/:node/dumps/:id',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['dumps'],
        operationId: 'getDump',
        summary: 'A version: metadata, stats, diagnostics, host file, counters',
        params: DumpParamsSchema,
        response: { 200: jsonResponse('The version', ref(DumpSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => toDump(await findDump(app.db.prisma, request.params.node, request.params.id)),
  );

  /** A version id, with `latest` resolved to the node's latest version of `family` (default ipv4). */
  const dumpIdOf = async (node: string, id: number | 'latest', family: Family | undefined): Promise<number> =>
    id === 'latest' ? requireLatestDumpId(app, node, family ?? 'ipv4') : id;

  app.get(
    '/nodes/:node/dumps/:id/raw',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['dumps'],
        operationId: 'getDumpRaw',
        summary: 'The text as uploaded (latest upload of this version)',
        params: DumpRefParamsSchema,
        querystring: FamilyQuerySchema,
        response: { 200: textResponse('The uploaded text, byte for byte'), ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { node } = request.params;
      const id = await dumpIdOf(node, request.params.id, request.query.family);
      const { dump, bytes } = await getDumpBytes(app.db.prisma, node, id);
      // Bytes that are not UTF-8 go back as they came, without a charset claim.
      return reply.type(decodeText(bytes).utf8 ? TEXT : 'text/plain').header('etag', etag(dump.originalSha256)).send(bytes as unknown as string);
    },
  );

  app.get(
    '/nodes/:node/dumps/:id/canonical',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['dumps'],
        operationId: 'getDumpCanonical',
        summary: 'The ruleset as canonical iptables-save text',
        description: 'Rendered by packetpath from the parsed model, counters stripped (its sha256 is the version id\'s `sha256`); `?counters=true` prints the latest counters.',
        params: DumpRefParamsSchema,
        querystring: CanonicalQuerySchema,
        response: { 200: textResponse('iptables-save text'), ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { node } = request.params;
      const id = await dumpIdOf(node, request.params.id, request.query.family);
      if (request.query.counters) {
        const dump = await findDump(app.db.prisma, node, id);
        const loaded = await loadRuleset(app, dump.id, 'original');
        return reply.type(TEXT).send(renderRuleset(loaded.ruleset, { counters: true }));
      }
      const { dump, text } = await getDumpText(app.db.prisma, node, id, 'canonical');
      return reply.type(TEXT).header('etag', etag(dump.sha256)).send(text);
    },
  );
};

export default dumps;
