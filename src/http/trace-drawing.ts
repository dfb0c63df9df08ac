// A trace answered as a picture (POST /trace/drawing, POST /trace?format=svg|dot|mermaid):
// the trace's Drawing (for a what-if, the trace with the changes, the notes
// saying how the outcomes were before), in the format asked for.
import type { FastifyInstance } from 'fastify';
import { drawClusterTrace, drawTrace, type TraceDrawingOptions } from '../netfilter/analysis/draw/trace.ts';
import type { Drawing } from '../netfilter/analysis/draw/drawing.ts';
import { DRAWING_MEDIA_TYPES, renderDrawing, type DrawingFormat } from '../draw/render.ts';
import type { TraceRequest } from './schemas/query.ts';
import { summarizeOutcomes, summarizePaths, type ClusterTrace, type SingleTrace } from './traces.ts';

function whatIfNotes(body: TraceRequest, before: readonly string[] | undefined, after: readonly string[]): string[] {
  if (body.changes === undefined) return [];
  const changes = Array.isArray(body.changes) ? body.changes : Object.entries(body.changes).flatMap(([node, cs]) => cs.map((c) => `${node}: ${c}`));
  const changed = before !== undefined && before.join('\n') !== after.join('\n');
  return [
    `What-if: drawn with ${changes.length === 1 ? 'the change' : `${changes.length} changes`} applied (hypothetical; the stored rules are unchanged): ${changes.join('; ')}`,
    changed ? 'Before the changes the outcomes differed:' : 'Before the changes the outcomes were the same.',
    ...(changed ? before!.map((b) => `  before: ${b}`) : []),
  ];
}

export function drawTraceAnswer(result: SingleTrace | ClusterTrace, body: TraceRequest): Drawing {
  const packet = { ...body.packet, ...(body.from?.interface !== undefined ? { inInterface: body.from.interface } : {}), ...(body.from?.local ? { local: true } : {}) };
  if (result.kind === 'single') {
    const notes = whatIfNotes(body, result.before && summarizeOutcomes(result.before), summarizeOutcomes(result.outcomes));
    const options: TraceDrawingOptions = { node: result.node, packet, notes };
    return drawTrace({ outcomes: result.outcomes, warnings: result.warnings }, options);
  }
  const notes = whatIfNotes(body, result.before && summarizePaths(result.before), summarizePaths(result.paths));
  return drawClusterTrace({ paths: result.paths, warnings: result.warnings }, { packet, notes });
}

/** The drawing's bytes and media type; SVG laid out by the analysis service (big ones in a worker). */
export async function renderTraceDrawing(app: FastifyInstance, drawing: Drawing, format: DrawingFormat): Promise<{ readonly type: string; readonly body: string }> {
  return { type: DRAWING_MEDIA_TYPES[format], body: await renderDrawing(drawing, format, (dot, size) => app.analysis.svg(dot, size)) };
}
