// Graphviz dot from a Drawing: frames as nested clusters, each Tone in its
// one colour and line style (style.ts), links as URL, tooltips, and a legend
// of the tones used plus the drawing's notes.
import { Shape, Tone, type DrawEdge, type DrawFrame, type DrawNode, type Drawing } from './drawing.ts';
import { frameTree, type FrameTree } from './frames.ts';
import { TONE_STYLES, needsLegend, usedTones } from './style.ts';

const FONT = 'Helvetica';
// Boxes hold rule text: a fixed-width font reads like the rules, and Graphviz's
// width estimate for Courier holds for any monospace font a viewer substitutes
// (Helvetica's does not: boxes came out narrower than their text on Linux).
const MONO = 'Courier';

const DOT_SHAPES: Readonly<Record<Shape, string>> = {
  [Shape.Box]: 'box',
  [Shape.Rounded]: 'box',
  [Shape.Ellipse]: 'ellipse',
  [Shape.Diamond]: 'diamond',
  [Shape.Octagon]: 'octagon',
  [Shape.Note]: 'note',
  [Shape.Stack]: 'box3d',
};

/** A dot double-quoted string; `&` as an entity because Graphviz reads entities in labels. */
export function dotString(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/&/g, '&amp;')
    .replace(/\r\n?|\n/g, '\\n');
  return `"${escaped}"`;
}

/** Lines of a label as one dot string, centred. */
function dotLabel(lines: readonly string[]): string {
  return dotString(lines.join('\n'));
}

function htmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attrs(list: readonly (readonly [string, string | number | undefined])[]): string {
  const parts = list.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

function nodeStyle(shape: Shape, tone: Tone): string {
  const s = TONE_STYLES[tone];
  const words = ['filled'];
  if (shape === Shape.Rounded) words.push('rounded');
  if (s.line !== 'solid') words.push(s.line);
  return dotString(words.join(','));
}

function printNode(n: DrawNode, indent: string): string {
  const s = TONE_STYLES[n.tone];
  return `${indent}${dotString(n.id)}${attrs([
    ['label', dotLabel(n.label)],
    ['shape', DOT_SHAPES[n.shape]],
    ['style', nodeStyle(n.shape, n.tone)],
    ['color', dotString(s.stroke)],
    ['fillcolor', dotString(s.fill)],
    ['fontcolor', dotString(s.font)],
    ['penwidth', s.width],
    ['fontname', s.bold ? dotString(`${MONO}-Bold`) : undefined],
    ['tooltip', dotString(n.tooltip ?? n.label.join('\n'))],
    ['URL', n.link !== undefined ? dotString(n.link) : undefined],
    ['target', n.link !== undefined ? dotString('_top') : undefined],
  ])};`;
}

function printEdge(e: DrawEdge): string {
  const s = TONE_STYLES[e.tone];
  const style = e.style ?? s.line;
  return `  ${dotString(e.from)} -> ${dotString(e.to)}${attrs([
    ['label', e.label !== undefined ? dotString(e.label) : undefined],
    ['color', dotString(s.stroke)],
    ['fontcolor', dotString(s.stroke === TONE_STYLES[Tone.Normal].stroke ? s.font : s.stroke)],
    ['penwidth', s.width],
    ['style', style !== 'solid' || s.bold ? dotString([style, ...(s.bold ? ['bold'] : [])].join(',')) : undefined],
    ['tooltip', e.label !== undefined ? dotString(e.label) : undefined],
  ])};`;
}

function printFrame(f: DrawFrame, tree: FrameTree, depth: number, out: string[]): void {
  const indent = '  '.repeat(depth);
  const s = TONE_STYLES[f.tone];
  out.push(`${indent}subgraph ${dotString(`cluster_${f.id}`)} {`);
  out.push(
    `${indent}  graph${attrs([
      ['label', dotString(f.label)],
      ['tooltip', dotString(f.label)],
      ['color', dotString(s.stroke)],
      ['fontcolor', dotString(s.font)],
      ['penwidth', s.width],
      ['style', dotString(['rounded', ...(s.line === 'solid' ? [] : [s.line])].join(','))],
      ['fontname', dotString(s.bold ? `${FONT}-Bold` : FONT)],
      ['fontsize', 11],
      ['labeljust', 'l'],
    ])};`,
  );
  printContents(f.id, tree, depth + 1, out);
  out.push(`${indent}}`);
}

function printContents(frame: string, tree: FrameTree, depth: number, out: string[]): void {
  for (const child of tree.frames.get(frame) ?? []) printFrame(child, tree, depth, out);
  for (const n of tree.nodes.get(frame) ?? []) out.push(printNode(n, '  '.repeat(depth)));
}

/** The legend (tones used) and the notes, as one HTML-like table node. */
function printLegend(drawing: Drawing): string | undefined {
  const tones = usedTones([...drawing.nodes.map((n) => n.tone), ...drawing.edges.map((e) => e.tone)]).filter(needsLegend);
  if (tones.length === 0 && drawing.notes.length === 0) return undefined;
  const rows: string[] = [];
  for (const t of tones) {
    const s = TONE_STYLES[t];
    const border = s.line === 'solid' ? '' : ` STYLE="${s.line.toUpperCase()}"`;
    rows.push(
      `<TR><TD BGCOLOR="${s.fill}" COLOR="${s.stroke}" BORDER="${Math.max(1, Math.round(s.width))}"${border}>${htmlText(t)}</TD>` +
        `<TD ALIGN="LEFT" BORDER="0">${htmlText(s.meaning)}</TD></TR>`,
    );
  }
  for (const note of drawing.notes) rows.push(`<TR><TD COLSPAN="2" ALIGN="LEFT" BORDER="0">${htmlText(note)}</TD></TR>`);
  return `  "_legend" [shape=plain, tooltip="legend", label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="3" CELLPADDING="3">${rows.join('')}</TABLE>>];`;
}

export function printDot(drawing: Drawing): string {
  const out: string[] = [];
  out.push(`digraph ${dotString(drawing.title)} {`);
  out.push(
    `  graph${attrs([
      ['rankdir', drawing.direction],
      ['label', dotString(drawing.title)],
      ['labelloc', 't'],
      ['labeljust', 'l'],
      ['fontname', dotString(`${FONT}-Bold`)],
      ['fontsize', 14],
      ['tooltip', dotString(drawing.title)],
      ['newrank', 'true'],
      ['compound', 'true'],
    ])};`,
  );
  out.push(`  node [fontname=${dotString(MONO)}, fontsize=10, margin="0.12,0.06"];`);
  out.push(`  edge [fontname=${dotString(FONT)}, fontsize=9, arrowsize=0.8];`);
  printContents('', frameTree(drawing), 1, out);
  for (const e of drawing.edges) out.push(printEdge(e));
  const legend = printLegend(drawing);
  if (legend !== undefined) out.push(legend);
  out.push('}');
  return out.join('\n') + '\n';
}
