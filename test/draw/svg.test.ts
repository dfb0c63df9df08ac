// Graphviz (WASM) lays the printed dot out as SVG: the SVG is well-formed XML,
// every box is there with its text exactly as written (escaping survives the
// round trip), the decisive box wears the decisive colour, links are links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shape, Tone, type Drawing } from '../../src/netfilter/analysis/draw/drawing.ts';
import { TONE_STYLES } from '../../src/netfilter/analysis/draw/style.ts';
import { dotToSvg, drawingToSvg, loadGraphviz } from '../../src/draw/svg.ts';
import { allText, descendants, parseXml, type XmlElement } from '../support/xml.ts';

const TRICKY = ['-A KUBE-SVC -m comment --comment "ns/a\\b & <c>"', 'line #2 | `x` &amp; \\n'];

const DRAWING: Drawing = {
  title: 'A "tricky" & <drawing>',
  direction: 'LR',
  frames: [
    { id: 'node02', label: 'node02', tone: Tone.Normal },
    { id: 'node02/FORWARD', label: 'FORWARD', tone: Tone.Path, parent: 'node02' },
  ],
  nodes: [
    { id: 'in', label: ['eth0'], shape: Shape.Ellipse, tone: Tone.Path },
    { id: 'rule', label: TRICKY, shape: Shape.Box, tone: Tone.NearMiss, frame: 'node02/FORWARD', tooltip: 'full "text"' },
    { id: 'policy', label: ['filter FORWARD', 'policy DROP'], shape: Shape.Octagon, tone: Tone.Decisive, frame: 'node02/FORWARD', link: '/api/v1/nodes/node02/tables/filter?a=1&b=2' },
  ],
  edges: [
    { from: 'in', to: 'rule', tone: Tone.Path, label: 'p=0.25' },
    { from: 'rule', to: 'policy', tone: Tone.Decisive },
  ],
  notes: ['2 paths merged'],
};

function nodeGroup(svg: XmlElement, id: string): XmlElement | undefined {
  return [...descendants(svg)].find((g) => g.name === 'g' && g.attrs.class === 'node' && g.children.some((c) => c.name === 'title' && c.text === id));
}

test('the SVG is well-formed, every box there with its exact text, the decisive one in its colour', async () => {
  const graphviz = await loadGraphviz();
  const svg = parseXml(drawingToSvg(graphviz, DRAWING));
  assert.equal(svg.name, 'svg');
  for (const n of DRAWING.nodes) {
    const g = nodeGroup(svg, n.id);
    assert.ok(g, `box ${n.id}`);
    const texts = [...descendants(g)].filter((e) => e.name === 'text').map((e) => e.text);
    assert.deepEqual(texts, n.label, `text of ${n.id}`);
  }
  const decisive = TONE_STYLES[Tone.Decisive];
  const shapes = [...descendants(nodeGroup(svg, 'policy')!)].filter((e) => e.name === 'polygon');
  assert.ok(shapes.some((p) => p.attrs.stroke === decisive.stroke && p.attrs['stroke-width'] === String(decisive.width)));
  const link = [...descendants(nodeGroup(svg, 'policy')!)].find((e) => e.name === 'a' && e.attrs['xlink:href']);
  assert.equal(link?.attrs['xlink:href'], '/api/v1/nodes/node02/tables/filter?a=1&b=2');
  const tip = [...descendants(nodeGroup(svg, 'rule')!)].find((e) => e.name === 'a');
  assert.equal(tip?.attrs['xlink:title'], 'full "text"');
  const nearMiss = [...descendants(nodeGroup(svg, 'rule')!)].find((e) => e.name === 'polygon' && e.attrs.stroke === TONE_STYLES[Tone.NearMiss].stroke);
  assert.ok(nearMiss?.attrs['stroke-dasharray'], 'the near miss is dashed');
  const clusters = [...descendants(svg)].filter((g) => g.attrs.class === 'cluster').map((g) => allText(g));
  assert.ok(clusters.some((t) => t.includes('node02')) && clusters.some((t) => t.includes('FORWARD')));
  assert.ok(allText(svg).includes('A "tricky" & <drawing>'));
  assert.ok(allText(svg).includes('2 paths merged'));
  assert.ok(allText(svg).includes('p=0.25'));
});

test('dot Graphviz cannot read is an error, not an empty picture', async () => {
  const graphviz = await loadGraphviz();
  assert.throws(() => dotToSvg(graphviz, 'digraph { a -> }'));
});
