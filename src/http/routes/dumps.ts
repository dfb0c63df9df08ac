// /api/v1/nodes/{node}/dumps: upload and read ruleset versions.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildHost, printNftRuleset, renderRuleset } from '../../netfilter/index.ts';
import {
  findDump,
  decodeText,
  DumpParseError,
  getDumpBytes,
  getDumpText,
  InvalidInputError,
  latestDump,
  listDumps,
  NotFoundError,
  isNftFormat,
  looksLikeNft,
  parseNftDump,
  prepareDump,
  prepareDumpSteps,
  prepareNftDump,
  prepareNftDumpSteps,
  primeCanonicalRuleset,
  primeUploadedRuleset,
  primeUploadedNftRuleset,
  runStepsYielding,
  uploadDumps,
  type PreparedDump,
  type PreparedNftDump,
  type PrepareNftOptions,
  type NftDumpFormat,
  type PreparedVersion,
  type PrepareOptions,
  type StoredFamily,
} from '../../store/index.ts';
import { toDump, toDumpSummary, toUploaded } from '../mappers.ts';
import { assertNodeCluster, writeCluster } from '../plugins/auth.ts';
import { loadRuleset, requireLatestDumpId } from '../ruleset.ts';
import { assertLineLimit, registerTextUploadParser, uploadBodyLimit, uploadJson, uploadPreParsing } from '../upload.ts';
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
  type UploadResult,
} from '../schemas/index.ts';
import { HttpProblem } from '../plugins/errors.ts';
import { createTextHasher } from '../../store/hash-off-loop.ts';
import { createDeltaBaseTexts, prepareWithMemo, rebuildFromDelta, rememberUploadedText, textOf, type RebuiltText } from '../delta-upload.ts';

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

const UPLOAD_DESCRIPTION = `Stores a node's ruleset. The body is either the dump itself (\`text/plain\`: iptables-save, ip6tables-save, \`iptables -S\` or \`iptables -L -n -v\` output, format and family detected) or JSON \`{dump?, ip6Dump?, nft?, host?, collectedAt?, cluster?, labels?, format?, family?}\`; \`ip6Dump\` is stored as a second (ipv6) version and returned under \`ip6\`. The node is created on first upload.

**nftables.** A node's nft ruleset is a version of family \`nft\`: send it as \`nft\` in the JSON body (\`nft -j list ruleset\` output as a string, kept byte for byte, or as a JSON object; or \`nft list ruleset\` text), or alone as a \`text/plain\` body (JSON or nft text, detected; \`?format=nft-json|nft-text\` forces it). It is returned under \`nft\` (and at the top level when no \`dump\` was sent). Its identity is the sha256 of its canonical printing (\`/canonical?family=nft\`) without live values (counters, quota usage, element expiry, elements of \`dynamic\` sets), so a re-upload that differs only there is a 200 with \`created: false\`. An nft ruleset with an error (anything \`nft -f\` would refuse that packetpath can tell) is a 422 whose \`problems\` give line and column; nothing of the upload is stored.

**Incremental uploads.** Instead of \`dump\` (or \`ip6Dump\`), a JSON body may carry \`delta\` (\`ip6Delta\`): the sha256 of the text this node last uploaded for that family (\`base\`: the latest version's \`originalSha256\`), a line edit \`script\` (\`[from, count]\` copies of base lines and inserted lines), optionally the \`counters\` that changed in copied lines, and the \`sha256\` of the resulting text. The server rebuilds the text, checks its sha256 and stores it exactly as a full upload of that text (same version, canonical text, diagnostics). A \`base\` that is not the node's latest upload (or a node without one) is a **409** \`stale-delta-base\` with \`currentBase\` and \`currentSha256\`: send the whole text. A malformed script is a 422 \`bad-delta\`, a rebuilt text with another sha256 a 422 \`delta-mismatch\`, a script making a text past MAX_DUMP_LINES or MAX_DECOMPRESSED_BYTES a 413; none stores anything.

\`Content-Encoding: gzip\` (or deflate) is accepted; the body is limited to MAX_UPLOAD_BYTES as sent and MAX_DECOMPRESSED_BYTES decoded (413 past either).

Versions are identified by the sha256 of the canonical iptables-save text **without counters**. When it equals the node's latest version of that family, no version is created: the response is **200** with that version's id and \`created: false\`, and its raw text, counters, host file and \`lastSeenAt\` are updated. Otherwise **201** with \`created: true\`. Agents can skip uploads altogether by comparing their canonical sha256 with \`GET /nodes/{node}/dumps/latest/sha\` (or the ETag of \`HEAD /nodes/{node}/dumps/latest\`).

Needs an \`upload\` (or \`admin\`) token. A token limited to a cluster writes to that cluster only: the upload's \`cluster\` must be it (when absent, the node is put in it), and a node already in another cluster is a 403.

A dump from which nothing usable can be read (no table) is rejected with 422 and line-numbered \`problems\`; with \`?strict=true\` any error diagnostic is. A bad host file is a 422 with \`errors\`. A rejected upload changes nothing.

A \`text/plain\` body that is not UTF-8 is read in the \`charset\` of its Content-Type (Latin-1 when none is named) and kept byte for byte (\`/raw\`, \`originalSha256\`); an unknown charset is a 415.`;

/**
 * MAX_DUMP_LINES for an nft ruleset: its lines, and its rules (`nft -j`
 * prints the whole ruleset on one line, so a JSON bomb is counted by rule
 * objects). Counted with indexOf: no copy of the text.
 */
function assertNftSize(text: string, limit: number, field: string): void {
  let n = 0;
  for (const needle of ['\n', '{"rule":']) {
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      if (++n > limit) throw new HttpProblem(413, 'too-many-lines', `\`${field}\` has more than ${limit} lines and rules (MAX_DUMP_LINES); raise it together with the server's memory`, { limit, field });
    }
  }
}

/**
 * An upload is parsed once, here: its parse becomes the ruleset cache's entry
 * for the version (iptables: the canonical text's parse for traces and diffs,
 * `primeCanonicalRuleset`, and the uploaded text's for reads, `primeUploadedRuleset`;
 * nft: the uploaded text's, `primeUploadedNftRuleset`), so the first read (and
 * an iptables node's first trace) parses nothing. One over this size is parsed on the event loop in slices
 * (`runStepsYielding`), hashed too, when its turn comes (`admitUpload`: parsing
 * costs ~2 KB of heap per line at its peak); a smaller one at once.
 */
const INLINE_PARSE_CHARS = 1 << 20;

const dumps: FastifyPluginAsyncTypebox = async (app) => {
  const { yielding } = app.rulesetCache;
  /** `admitted`: the request holds its admission already (a delta upload): not admitted again. */
  const prepare = (text: string, options: PrepareOptions & { field: string }, admitted: boolean): Promise<PreparedDump> => {
    if (text.length <= INLINE_PARSE_CHARS) return Promise.resolve(prepareDump(text, options));
    const run = (): Promise<PreparedDump> => runStepsYielding(prepareDumpSteps(text, options), yielding);
    return admitted ? run() : app.analysis.admitUpload(run);
  };
  // An nft upload shares what equals the most recently used cached nft parse (share.ts): a fleet's
  // nodes upload nearly the same ruleset, so its parse then adds little (nft-cache.ts weighs it so).
  const withDonor = (options: PrepareNftOptions & { field: string }) => ({ ...options, donor: app.rulesetCache.nft.newest() });
  const prepareNft = (text: string, options: PrepareNftOptions & { field: string }, admitted: boolean): Promise<PreparedNftDump> => {
    if (text.length <= INLINE_PARSE_CHARS) return Promise.resolve(prepareNftDump(text, withDonor(options)));
    const run = (): Promise<PreparedNftDump> => runStepsYielding(prepareNftDumpSteps(text, withDonor(options)), yielding);
    return admitted ? run() : app.analysis.admitUpload(run);
  };
  const limits = { maxUploadBytes: app.config.maxUploadBytes, maxDecompressedBytes: app.config.maxDecompressedBytes };
  registerTextUploadParser(app);
  /** The last uploaded texts, as bases of incremental uploads (128 Mi characters: four 10k-Service nodes). */
  const deltaBases = createDeltaBaseTexts(128 * 2 ** 20);
  const hasher = createTextHasher();
  app.addHook('onClose', () => hasher.close());

  app.post(
    '/nodes/:node/dumps',
    {
      config: { scope: 'upload', observe: 'upload' },
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
          ...problemResponses(400, 409, 413, 415, 422, 503, 507),
        },
      },
    },
    async (request, reply) => {
      const { node } = request.params;
      const query = request.query;
      const sent = uploadJson(request.body, query);
      const viaDelta = sent.delta !== undefined || sent.ip6Delta !== undefined;
      // A delta upload holds the text it rebuilds and its parse: it is admitted as a big whole
      // upload is (at most ANALYSIS_WORKERS at once, ANALYSIS_QUEUE waiting, then a 503), once for
      // both, so a fleet's round of deltas cannot hold one ~200 MB parse per request in flight.
      const store = async () => {
        let json = sent;
        /** The texts deltas made, with their lines (the bases of the next deltas). */
        let rebuilt: { dump?: RebuiltText; ip6Dump?: RebuiltText } = {};
        if (viaDelta) {
          // Incremental upload: rebuild the texts, then store them as a full upload of them would be.
          if ((json.delta !== undefined && json.dump !== undefined) || (json.ip6Delta !== undefined && json.ip6Dump !== undefined)) {
            throw new HttpProblem(400, 'validation-error', 'send `dump` or `delta` (and `ip6Dump` or `ip6Delta`), not both', { errors: [{ path: json.delta !== undefined && json.dump !== undefined ? '/body/delta' : '/body/ip6Delta', message: 'must not be sent with the full text' }] });
          }
          await assertNodeCluster(app, request, node);
          const family = json.family ?? (query.family === 'nft' ? undefined : query.family) ?? 'ipv4';
          const { delta, ip6Delta, ...rest } = json;
          rebuilt = {
            ...(delta ? { dump: await rebuildFromDelta(app, deltaBases, hasher, node, family, delta, 'delta') } : {}),
            ...(ip6Delta ? { ip6Dump: await rebuildFromDelta(app, deltaBases, hasher, node, 'ipv6', ip6Delta, 'ip6Delta') } : {}),
          };
          // A delta's text stays lines until something needs it whole (a splice and its store do not).
          json = { ...rest, ...(rebuilt.dump ? { family } : {}) };
        }
        const format = json.format ?? query.format;
        const strict = query.strict === true;

        let hostJson: string | undefined;
        if (json.host !== undefined) {
          const host = buildHost(json.host);
          if (!host.ok) throw new InvalidInputError(`the host file is invalid: ${host.errors.join('; ')}`, host.errors.map((message) => ({ path: '/body/host', message })));
          hostJson = JSON.stringify(json.host);
        }
        // `{dump, format: "nft-text"}`: the dump is the nft ruleset.
        const sentDump = rebuilt.dump ?? json.dump;
        const nftInDump = json.nft === undefined && sentDump !== undefined && isNftFormat(format);
        const dump = nftInDump ? undefined : sentDump;
        const nft = nftInDump ? textOf(sentDump!) : typeof json.nft === 'object' ? JSON.stringify(json.nft) : json.nft;
        const ip6Dump = rebuilt.ip6Dump ?? json.ip6Dump;
        if (dump === undefined && (nft === undefined || ip6Dump !== undefined)) {
          throw new HttpProblem(400, 'validation-error', "body must have required property 'dump' (or, for an nftables ruleset alone, 'nft')", { errors: [{ path: '/body/dump', message: "must have required property 'dump' (or send only 'nft')" }] });
        }
        if (nft !== undefined && dump !== undefined && isNftFormat(format)) throw new InvalidInputError(`format ${format} names an nft ruleset, but \`dump\` holds the iptables one: leave \`format\` out`, [{ path: '/body/format', message: 'is an nft format' }]);
        const originalBytes = typeof request.body === 'string' ? request.uploadBytes ?? undefined : undefined;
        const iptablesFormat = isNftFormat(format) ? undefined : format;

        const prepared: PreparedVersion[] = [];
        if (dump !== undefined) {
          // A delta's text was measured before it was made (413 too): not counted again.
          if (typeof dump === 'string') assertLineLimit(dump, app.config.maxDumpLines, 'dump');
          if (typeof ip6Dump === 'string') assertLineLimit(ip6Dump, app.config.maxDumpLines, 'ip6Dump');
          const family = json.family ?? (query.family === 'nft' ? undefined : query.family);
          let first: PreparedDump;
          try {
            // A delta's text is prepared with the node's line memo: only its new lines are parsed.
            first =
              viaDelta && family !== undefined
                ? await prepareWithMemo(app, dump, { family, format: iptablesFormat, strict, field: 'dump', originalSha256: rebuilt.dump?.sha256 })
                : await prepare(textOf(dump), { family, format: iptablesFormat, strict, field: 'dump', originalBytes }, viaDelta);
          } catch (err) {
            if (err instanceof DumpParseError && looksLikeNft(textOf(dump))) {
              throw new DumpParseError('nothing usable could be read from dump as an iptables dump: it looks like an nftables ruleset: upload it with ?family=nft (or as `nft` in a JSON body)', err.problems, err.field);
            }
            throw err;
          }
          prepared.push(first);
          if (ip6Dump !== undefined) {
            if (first.family === 'ipv6') {
              throw new InvalidInputError('`dump` is an IPv6 dump but `ip6Dump` was given too: send the IPv4 dump as `dump`', [{ path: '/body/dump', message: 'is IPv6' }]);
            }
            const options = { family: 'ipv6' as const, format: iptablesFormat, strict, field: 'ip6Dump' };
            prepared.push(viaDelta ? await prepareWithMemo(app, ip6Dump, { ...options, originalSha256: rebuilt.ip6Dump?.sha256 }) : await prepare(textOf(ip6Dump), options, viaDelta));
          }
        }
        if (nft !== undefined) {
          const field = typeof request.body === 'string' || nftInDump ? 'dump' : 'nft';
          assertNftSize(nft, app.config.maxDumpLines, field);
          const nftFormat = typeof json.nft === 'object' ? 'nft-json' : isNftFormat(format) ? format : undefined;
          const options = { format: nftFormat, field, strict, ...(dump === undefined ? { originalBytes } : {}) };
          prepared.push(await prepareNft(nft, options, viaDelta));
        }

        // A delta's text is stored only once its sha256 is the one the agent sent (hashed off the event loop).
        await Promise.all([rebuilt.dump?.verified, rebuilt.ip6Dump?.verified]);
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
          counterHistory: app.config.counterHistory,
        });
        // The upload's parse is the stored text's parse: the first query need not gunzip and re-parse it.
        for (const p of prepared) {
          if (p.family === 'nft') primeUploadedNftRuleset(app.rulesetCache, p);
          else {
            primeUploadedRuleset(app.rulesetCache, p);
            primeCanonicalRuleset(app.rulesetCache, p);
          }
        }
        // What was uploaded is the base of the node's next delta.
        if (dump !== undefined && prepared[0]?.format === 'iptables-save' && !originalBytes) rememberUploadedText(deltaBases, prepared[0].originalSha256, dump);
        if (ip6Dump !== undefined && prepared[1]?.family === 'ipv6' && prepared[1].format === 'iptables-save') rememberUploadedText(deltaBases, prepared[1].originalSha256, ip6Dump);
        const first = results[0];
        if (!first) throw new Error('upload recorded nothing');
        const ip6 = results.find((r, i) => i > 0 && r.dump.family === 'ipv6');
        const nftResult = results.find((r) => r.dump.family === 'nft');
        const body: UploadResult = { ...toUploaded(first), ...(ip6 ? { ip6: toUploaded(ip6) } : {}), ...(nftResult ? { nft: toUploaded(nftResult) } : {}) };
        const created = results.some((r) => r.created);
        reply.header('location', `/api/v1/nodes/${encodeURIComponent(node)}/dumps/${first.dump.id}`);
        return reply.code(created ? 201 : 200).send(body);
      };
      return viaDelta ? app.analysis.admitUpload(store) : store();
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
  const requireLatest = async (node: string, family: StoredFamily) => {
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
  const dumpIdOf = async (node: string, id: number | 'latest', family: StoredFamily | undefined): Promise<number> =>
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
        summary: 'The ruleset as canonical text (iptables-save, or nft syntax for an nft version)',
        description:
          'Rendered by packetpath from the parsed model, counters stripped (its sha256 is the version id\'s `sha256`); `?counters=true` prints the latest counters. ' +
          'An `nft` version (`?family=nft` with `latest`) prints in `nft list ruleset` syntax, loadable with `nft -f`, without live values: no rule, element or named counter values, no quota `used`, no element `expires`, no elements of `dynamic` sets; `?counters=true` prints the uploaded ruleset with them.',
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
        if (dump.family === 'nft') {
          // The uploaded ruleset, printed as the canonical text is, with its counters and quotas' values.
          const { text } = await getDumpText(app.db.prisma, node, id, 'original');
          return reply.type(TEXT).send(printNftRuleset(parseNftDump(text, dump.format as NftDumpFormat).ruleset));
        }
        const loaded = await loadRuleset(app, dump.id, 'original');
        return reply.type(TEXT).send(renderRuleset(loaded.ruleset, { counters: true }));
      }
      const { dump, text } = await getDumpText(app.db.prisma, node, id, 'canonical');
      return reply.type(TEXT).header('etag', etag(dump.sha256)).send(text);
    },
  );
};

export default dumps;
