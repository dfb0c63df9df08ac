// Mermaid flowchart from a Drawing, for people who paste pictures into docs:
// the same tones as dot (style.ts) as classDefs, frames as subgraphs, links
// as `click … href`. Mermaid ids allow only a few characters and some words
// are keywords (`end`), so every id is rewritten to a sanitised, unique one.
import { Shape, type DrawFrame, type Drawing } from './drawing.ts';
import { frameTree } from './frames.ts';
import { TONE_STYLES, needsLegend, usedTones } from './style.ts';

/**
 * Text inside a quoted Mermaid label. Mermaid decodes `#name;` / `#123;`
 * entity codes; markup characters and the quote go through them so a rule's
 * `"comment"` or `<` cannot end the label or become HTML.
 */
export function mermaidText(text: string): string {
  return text
    .replace(/#/g, '#35;')
    .replace(/&/g, '#amp;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/\|/g, '#124;')
    .replace(/`/g, '#96;')
    .replace(/\r\n?|\n/g, '<br/>');
}

/** A string inside `click`'s quotes, where Mermaid decodes nothing: no quotes, one line. */
function clickString(text: string): string {
  return `"${text.replace(/"/g, "'").replace(/\s*[\r\n]+\s*/g, ' ')}"`;
}

const OPEN_CLOSE: Readonly<Record<Shape, readonly [string, string]>> = {
  [Shape.Box]: ['[', ']'],
  [Shape.Rounded]: ['(', ')'],
  [Shape.Ellipse]: ['([', '])'],
  [Shape.Diamond]: ['{', '}'],
  [Shape.Octagon]: ['{{', '}}'],
  [Shape.Note]: ['>', ']'],
  [Shape.Stack]: ['[[', ']]'],
};

/** Unique Mermaid ids: letters, digits and `_` only, prefixed so no id is a keyword. */
function idMaker(prefix: string): (id: string) => string {
  const made = new Map<string, string>();
  const taken = new Set<string>();
  return (id) => {
    const known = made.get(id);
    if (known !== undefined) return known;
    const base = `${prefix}${id.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60)}`;
    let out = base;
    for (let i = 2; taken.has(out); i++) out = `${base}_${i}`;
    taken.add(out);
    made.set(id, out);
    return out;
  };
}

function classDef(tone: string): string {
  const s = TONE_STYLES[tone as keyof typeof TONE_STYLES];
  const dash = s.line === 'dashed' ? ',stroke-dasharray:6 3' : s.line === 'dotted' ? ',stroke-dasharray:2 2' : '';
  const bold = s.bold ? ',font-weight:bold' : '';
  return `classDef ${toneClass(tone)} fill:${s.fill},stroke:${s.stroke},stroke-width:${s.width}px,color:${s.font}${dash}${bold};`;
}

function toneClass(tone: string): string {
  return `tone_${tone.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export function printMermaid(drawing: Drawing): string {
  const nodeId = idMaker('n_');
  const frameId = idMaker('f_');
  const out: string[] = ['---', `title: ${JSON.stringify(drawing.title)}`, '---', `flowchart ${drawing.direction}`];
  const tree = frameTree(drawing);
  const byTone = new Map<string, string[]>();
  const clicks: string[] = [];

  const printContents = (frame: string, depth: number): void => {
    const indent = '  '.repeat(depth);
    for (const f of tree.frames.get(frame) ?? []) printFrame(f, depth);
    for (const n of tree.nodes.get(frame) ?? []) {
      const id = nodeId(n.id);
      const [open, close] = OPEN_CLOSE[n.shape];
      out.push(`${indent}${id}${open}"${n.label.map(mermaidText).join('<br/>')}"${close}`);
      let list = byTone.get(n.tone);
      if (!list) byTone.set(n.tone, (list = []));
      list.push(id);
      if (n.link !== undefined) clicks.push(`click ${id} href ${clickString(n.link)} ${clickString(n.tooltip ?? n.label.join(' '))}`);
    }
  };
  const printFrame = (f: DrawFrame, depth: number): void => {
    const indent = '  '.repeat(depth);
    out.push(`${indent}subgraph ${frameId(f.id)}["${mermaidText(f.label)}"]`);
    printContents(f.id, depth + 1);
    out.push(`${indent}end`);
  };
  printContents('', 1);

  const linkStyles: string[] = [];
  drawing.edges.forEach((e, i) => {
    const s = TONE_STYLES[e.tone];
    const style = e.style ?? s.line;
    const arrow = style === 'solid' ? (s.bold ? '==>' : '-->') : '-.->';
    const label = e.label !== undefined ? `|"${mermaidText(e.label)}"|` : '';
    out.push(`  ${nodeId(e.from)} ${arrow}${label} ${nodeId(e.to)}`);
    const dash = style === 'dashed' ? ',stroke-dasharray:6 3' : style === 'dotted' ? ',stroke-dasharray:2 2' : '';
    linkStyles.push(`  linkStyle ${i} stroke:${s.stroke},stroke-width:${s.width}px${dash};`);
  });

  const tones = usedTones([...drawing.nodes.map((n) => n.tone), ...drawing.edges.map((e) => e.tone)]);
  const legend = tones.filter(needsLegend);
  if (legend.length > 0 || drawing.notes.length > 0) {
    out.push(`  subgraph legend_["Legend"]`);
    for (const t of legend) {
      const id = `legend_${toneClass(t)}`;
      out.push(`    ${id}["${mermaidText(`${t}: ${TONE_STYLES[t].meaning}`)}"]`);
      let list = byTone.get(t);
      if (!list) byTone.set(t, (list = []));
      list.push(id);
    }
    if (drawing.notes.length > 0) out.push(`    legend_notes>"${drawing.notes.map(mermaidText).join('<br/>')}"]`);
    out.push('  end');
  }
  out.push(...linkStyles);
  for (const t of tones) out.push(`  ${classDef(t)}`);
  for (const [tone, ids] of byTone) out.push(`  class ${ids.join(',')} ${toneClass(tone)};`);
  for (const c of clicks) out.push(`  ${c}`);
  return out.join('\n') + '\n';
}

