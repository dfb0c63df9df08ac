// POST /api/v1/trace: one node, or a cluster when `cluster`/`from` is given.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { formatTraceText, traceToJson } from '../../netfilter/index.ts';
import type { Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { jsonResponse, problemResponses, ref, StringEnum, TraceRequestSchema, TraceResponseSchema } from '../schemas/index.ts';

/** The core's readonly JSON views are what the schema describes; only mutability differs. */
const asResponse = (x: unknown) => x as Static<typeof TraceResponseSchema>;
import { pathToJson, runTrace, summarizeOutcomes, summarizePaths } from '../traces.ts';
import { drawTraceAnswer, renderTraceDrawing } from '../trace-drawing.ts';
import { DRAWING_FORMATS, DrawingFormat, formatFromAccept } from '../../draw/render.ts';

const DRAWING_DESCRIPTION = `The trace of \`POST /trace\` (same body: one node or a cluster, what-ifs too) as a picture: per node a frame, in it the hooks in the kernel's order and each base chain that ran (owner, priority), one box per rule or policy that acted (its number, short text and verdict; the full text in the tooltip), forks with their probabilities, the end of every path. The rule or policy that decided the packet's fate has a thick red border, near misses are dashed, assumptions dotted. Outcomes share boxes while their events agree; past 8 paths the less probable ones fold into one "more" box (the notes say so). A what-if is drawn with its changes applied, the notes saying how the outcomes were before. \`format\`: \`svg\` (laid out by Graphviz; big drawings in a worker), \`dot\` (Graphviz source) or \`mermaid\` (a flowchart to paste into docs).`;

/** The three media types of a drawing, for OpenAPI. */
const drawingContent = {
  'image/svg+xml': { schema: Type.String({ description: 'SVG laid out by Graphviz' }) },
  'text/vnd.graphviz': { schema: Type.String({ description: 'Graphviz dot source' }) },
  'text/vnd.mermaid': { schema: Type.String({ description: 'Mermaid flowchart' }) },
};

type AnswerAs = 'json' | 'text' | DrawingFormat;
const isDrawing = (as: AnswerAs): as is DrawingFormat => (DRAWING_FORMATS as readonly string[]).includes(as);

const DESCRIPTION = `Walks a packet through a node's stored ruleset as the kernel would (hooks and table order, routing with the node's host file, jumps, NAT, marks, conntrack state) and returns one outcome per path, with probabilities for \`statistic\` branches, the events the kernel's TRACE would report, assumptions, near misses and an explanation.

A node is one netfilter: its iptables dump of the packet's family and its nft ruleset (\`nft\` versions) run in one pipeline, every base chain of every owner at each hook in the kernel's order; each outcome's \`baseChains\` lists them with their owner and which one decided, and \`nftDump\` names the nft version traced. A node using both iptables backends (the agent uploads its iptables-legacy tables as the companion node \`<node>.iptables-legacy\`) is traced with both: \`legacyDump\` names the companion's version, and its events and base chains carry \`backend: legacy\`. Give \`node\` (its latest versions) or \`dumpId\` (that version; the node's other ruleset is its latest). With \`cluster\` and \`from: {node, interface | local}\` the trace follows the packet across the cluster's nodes: when it leaves a node towards a next hop, it continues on the node owning that address, arriving on the interface that holds it. \`changes\` applies what-if iptables commands for this trace only; the answer then shows the outcomes before and after. \`POST /trace/text\` gives the readable form.`;

type TraceBody = Static<typeof TraceRequestSchema>;

const trace: FastifyPluginAsyncTypebox = async (app) => {
  /** One trace, as JSON (the TraceResponse schema) or as the readable text. */
  async function answer(body: TraceBody, reply: FastifyReply, as: AnswerAs): Promise<FastifyReply> {
    const result = await runTrace(app, body);
    if (isDrawing(as)) {
      const drawn = await renderTraceDrawing(app, drawTraceAnswer(result, body), as);
      return reply.type(drawn.type).send(drawn.body);
    }
    const text = as === 'text';
    // No change applied (an empty list): the before is the after, and nothing changed.
    const whatIf = (before: string[] | undefined, after: string[]) =>
      body.changes === undefined ? {} : { whatIf: { changes: body.changes, before: before ?? after, after, changed: before !== undefined && before.join('\n') !== after.join('\n') } };
    if (result.kind === 'single') {
      const json = traceToJson({ outcomes: result.outcomes, warnings: result.warnings });
      if (text) return reply.type('text/plain; charset=utf-8').send(`node ${result.node}, dump ${result.dump}${result.nftDump !== undefined ? `, nft dump ${result.nftDump}` : ''}${result.legacyDump !== undefined ? `, iptables-legacy dump ${result.legacyDump}` : ''}\n` + formatTraceText(json));
      // The hot path: JSON.stringify is ~2× faster than the schema serializer on these ~10 KB answers, and
      // the core's JSON view is exactly the TraceResponse schema (test/api/read-path.test.ts checks both agree).
      const answer = asResponse({ ...json, node: result.node, dump: result.dump, ...(result.nftDump !== undefined ? { nftDump: result.nftDump } : {}), ...(result.legacyDump !== undefined ? { legacyDump: result.legacyDump } : {}), ...whatIf(result.before && summarizeOutcomes(result.before), summarizeOutcomes(result.outcomes)) });
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(answer));
    }
    if (text) {
      const out = result.paths.map((p, i) => [`Path ${i + 1} of ${result.paths.length}: ${summarizePaths([p])[0]}`, ...p.hops.map((h) => `== ${h.node} (in ${h.inInterface ?? 'local'})\n` + formatTraceText({ outcomes: [h.outcome], warnings: [] }))].join('\n'));
      return reply.type('text/plain; charset=utf-8').send(out.join('\n') + result.warnings.map((w) => `warning: ${w}\n`).join(''));
    }
    return reply.send(asResponse({ paths: result.paths.map(pathToJson), warnings: result.warnings, ...whatIf(result.before && summarizePaths(result.before), summarizePaths(result.paths)) }));
  }

  // Two operations, one media type each: a generated client (openapi-typescript + openapi-fetch) then
  // types POST /trace's answer as TraceResponse, not as "TraceResponse or string".
  app.post(
    '/trace',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['trace'],
        operationId: 'tracePacket',
        summary: 'Trace a packet through a node or a cluster',
        description: DESCRIPTION,
        querystring: Type.Object({ format: Type.Optional(StringEnum(['json', 'text', ...DRAWING_FORMATS], { description: '`text` is kept for older clients: it answers as `POST /trace/text` does (text/plain); use that operation instead. `svg`, `dot`, `mermaid` answer as `POST /trace/drawing` does (image/svg+xml, text/vnd.graphviz, text/vnd.mermaid)' })) }),
        body: ref(TraceRequestSchema),
        response: { 200: jsonResponse('The trace', ref(TraceResponseSchema)), ...problemResponses(400, 404, 422) },
      },
    },
    async (request, reply) => {
      await answer(request.body, reply, request.query.format ?? 'json');
    },
  );
  app.post(
    '/trace/text',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['trace'],
        operationId: 'tracePacketText',
        summary: 'Trace a packet, answered as readable text',
        description: 'The same trace as `POST /trace` (same body), as the text `packetpath trace` prints: outcomes, events, assumptions, near misses, the explanation and, for what-ifs, the outcomes before and after.',
        body: ref(TraceRequestSchema),
        response: { 200: { description: 'The trace as text', content: { 'text/plain': { schema: Type.String() } } }, ...problemResponses(400, 404, 422) },
      },
    },
    async (request, reply) => {
      await answer(request.body, reply, 'text');
    },
  );
  app.post(
    '/trace/drawing',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['trace'],
        operationId: 'tracePacketDrawing',
        summary: 'Trace a packet, answered as a picture (SVG, dot or Mermaid)',
        description: DRAWING_DESCRIPTION,
        querystring: Type.Object({ format: Type.Optional(StringEnum(DRAWING_FORMATS, { description: '`svg`, `dot` or `mermaid`; without it, the first of the three media types the `Accept` header names, else `svg`' })) }),
        body: ref(TraceRequestSchema),
        response: { 200: { description: 'The trace drawn', content: drawingContent }, ...problemResponses(400, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      // Without `format`, the Accept header may choose (Swagger UI's media type menu sets it).
      await answer(request.body, reply, request.query.format ?? formatFromAccept(request.headers.accept) ?? DrawingFormat.Svg);
    },
  );
};

export default trace;
