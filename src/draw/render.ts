// A Drawing in the format asked for: dot and Mermaid are printed (pure, fast);
// SVG is laid out by Graphviz through `layout`, which the caller chooses (the
// server sends big drawings to a worker, the CLI lays out in place).
import { printDot } from '../netfilter/analysis/draw/dot.ts';
import type { Drawing } from '../netfilter/analysis/draw/drawing.ts';
import { printMermaid } from '../netfilter/analysis/draw/mermaid.ts';

export enum DrawingFormat {
  Svg = 'svg',
  Dot = 'dot',
  Mermaid = 'mermaid',
}

export const DRAWING_FORMATS: readonly DrawingFormat[] = Object.values(DrawingFormat);

/** The media type each format is answered with (Mermaid has no registered one; `text/vnd.mermaid` is the usual). */
export const DRAWING_MEDIA_TYPES: Readonly<Record<DrawingFormat, string>> = {
  [DrawingFormat.Svg]: 'image/svg+xml; charset=utf-8',
  [DrawingFormat.Dot]: 'text/vnd.graphviz; charset=utf-8',
  [DrawingFormat.Mermaid]: 'text/vnd.mermaid; charset=utf-8',
};

/** Boxes and arrows: what Graphviz's layout time grows with. */
export function drawingSize(drawing: Drawing): number {
  return drawing.nodes.length + drawing.edges.length;
}

/** Lays dot out as SVG; `size` is the drawing's (drawingSize) so the caller can choose where. */
export type Layout = (dot: string, size: number) => Promise<string>;

export async function renderDrawing(drawing: Drawing, format: DrawingFormat, layout: Layout): Promise<string> {
  switch (format) {
    case DrawingFormat.Dot:
      return printDot(drawing);
    case DrawingFormat.Mermaid:
      return printMermaid(drawing);
    case DrawingFormat.Svg:
      return layout(printDot(drawing), drawingSize(drawing));
  }
}

/** The format an Accept header names (Swagger UI's media type menu sends one), if it names exactly one of ours first. */
export function formatFromAccept(accept: string | undefined): DrawingFormat | undefined {
  for (const part of (accept ?? '').split(',')) {
    const type = part.split(';', 1)[0]!.trim().toLowerCase();
    const format = DRAWING_FORMATS.find((f) => DRAWING_MEDIA_TYPES[f].startsWith(`${type};`));
    if (format !== undefined) return format;
  }
  return undefined;
}
