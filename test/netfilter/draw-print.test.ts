// The printers: every Tone one style, frames nested, labels escaped for dot
// and for Mermaid, Mermaid ids sanitised, links and tooltips carried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shape, Tone, type DrawNode, type Drawing } from '../../src/netfilter/analysis/draw/drawing.ts';
import { dotString, printDot } from '../../src/netfilter/analysis/draw/dot.ts';
import { mermaidText, printMermaid } from '../../src/netfilter/analysis/draw/mermaid.ts';
import { TONE_STYLES } from '../../src/netfilter/analysis/draw/style.ts';

function node(id: string, label: string[], more: Partial<DrawNode> = {}): DrawNode {
  return { id, label, shape: Shape.Box, tone: Tone.Path, ...more };
}

function drawing(more: Partial<Drawing>): Drawing {
  return { title: 't', direction: 'LR', frames: [], nodes: [], edges: [], notes: [], ...more };
}

test('every tone has its own look, and the decisive one is the thickest, red and bold', () => {
  const looks = Object.values(Tone).map((t) => {
    const s = TONE_STYLES[t];
    return `${s.stroke}|${s.fill}|${s.line}|${s.width}|${s.bold}`;
  });
  assert.equal(new Set(looks).size, looks.length);
  const d = TONE_STYLES[Tone.Decisive];
  const widest = Math.max(...Object.values(TONE_STYLES).map((s) => s.width));
  assert.equal(d.width, widest);
  assert.ok(Object.entries(TONE_STYLES).every(([t, s]) => t === Tone.Decisive || s.width < d.width));
  assert.equal(d.bold, true);
  assert.match(d.stroke, /^#[c-f][0-9a-f]0{4}$/, 'a pure red');
  assert.equal(TONE_STYLES[Tone.NearMiss].line, 'dashed');
  assert.equal(TONE_STYLES[Tone.Assumed].line, 'dotted');
});

test('dot strings: quotes, backslashes, newlines and & escaped', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['a\\b', '"a\\\\b"'],
    ['two\nlines', '"two\\nlines"'],
    ['crlf\r\nend', '"crlf\\nend"'],
    ['a & b', '"a &amp; b"'],
    ['<tag>', '"<tag>"'],
    ['\\N \\l', '"\\\\N \\\\l"'],
  ];
  for (const [text, want] of cases) assert.equal(dotString(text), want, text);
});

test('Mermaid text: markup, quotes, entity starts and bars through entity codes; newlines as <br/>', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['--comment "x"', '--comment #quot;x#quot;'],
    ['<b> & #1', '#lt;b#gt; #amp; #35;1'],
    ['a|b', 'a#124;b'],
    ['`code`', '#96;code#96;'],
    ['one\ntwo', 'one<br/>two'],
    ['a\\b', 'a\\b'],
  ];
  for (const [text, want] of cases) assert.equal(mermaidText(text), want, text);
});

test('dot: every node and frame printed once, frames as nested clusters, tone attributes, links and tooltips', () => {
  const d = drawing({
    frames: [
      { id: 'node02', label: 'node02', tone: Tone.Normal },
      { id: 'fwd', label: 'FORWARD', tone: Tone.Path, parent: 'node02' },
      { id: 'loop', label: 'loops to itself', tone: Tone.Normal, parent: 'loop' },
    ],
    nodes: [
      node('policy', ['filter FORWARD', 'policy DROP'], { frame: 'fwd', tone: Tone.Decisive, shape: Shape.Octagon, tooltip: 'the full text', link: '/api/v1/nodes/node02?x=1&y=2' }),
      node('miss', ['-A FORWARD -j ACCEPT'], { frame: 'fwd', tone: Tone.NearMiss, shape: Shape.Rounded }),
      node('in-loop', ['x'], { frame: 'loop' }),
      node('free', ['no frame'], { frame: 'nowhere' }),
    ],
    edges: [{ from: 'miss', to: 'policy', label: 'p=0.5', tone: Tone.Path, style: 'dashed' }],
    notes: ['3 paths merged <here>'],
  });
  const dot = printDot(d);
  const outer = dot.indexOf('subgraph "cluster_node02" {');
  const inner = dot.indexOf('subgraph "cluster_fwd" {');
  assert.ok(outer >= 0 && inner > outer, 'the hook frame inside the node frame');
  const policyAt = dot.indexOf('    "policy" [');
  const closes = dot.slice(inner, policyAt);
  assert.ok(policyAt > inner && !closes.includes('}'), 'the policy inside the hook frame');
  for (const id of ['policy', 'miss', 'in-loop', 'free']) assert.equal(dot.split('\n').filter((l) => l.trimStart().startsWith(`"${id}" [`)).length, 1, id);
  assert.ok(dot.includes('subgraph "cluster_loop" {'), 'a frame that is its own parent is still drawn');
  const decisive = TONE_STYLES[Tone.Decisive];
  const policyLine = dot.split('\n').find((l) => l.includes('"policy" ['))!;
  assert.ok(policyLine.includes(`color="${decisive.stroke}"`) && policyLine.includes(`penwidth=${decisive.width}`), policyLine);
  assert.ok(policyLine.includes('shape=octagon') && policyLine.includes('label="filter FORWARD\\npolicy DROP"'));
  assert.ok(policyLine.includes('tooltip="the full text"') && policyLine.includes('URL="/api/v1/nodes/node02?x=1&amp;y=2"'));
  const missLine = dot.split('\n').find((l) => l.includes('"miss" ['))!;
  assert.ok(missLine.includes('style="filled,rounded,dashed"'), missLine);
  assert.ok(dot.includes('"miss" -> "policy" [label="p=0.5"') && /"miss" -> "policy" \[[^\n]*style="dashed"/.test(dot));
  assert.ok(dot.includes('3 paths merged &lt;here&gt;'), 'notes in the legend, HTML-escaped');
  assert.equal((dot.match(/{/g) ?? []).length, (dot.match(/}/g) ?? []).length);
});

test('Mermaid: ids sanitised and unique, subgraphs balanced, classes per tone, click for links', () => {
  const d = drawing({
    direction: 'TB',
    frames: [
      { id: 'node 1', label: 'node "1"', tone: Tone.Normal },
      { id: 'h/1', label: 'PREROUTING', tone: Tone.Path, parent: 'node 1' },
    ],
    nodes: [
      node('end', ['end'], { frame: 'h/1' }),
      node('a.b', ['first'], { frame: 'h/1', tone: Tone.Decisive, link: '/x?a="1"', tooltip: 'line\nbreak' }),
      node('a-b', ['second'], { tone: Tone.Assumed, shape: Shape.Diamond }),
    ],
    edges: [
      { from: 'end', to: 'a.b', tone: Tone.Path, label: 'via "eth0"' },
      { from: 'a.b', to: 'a-b', tone: Tone.Decisive },
      { from: 'a-b', to: 'end', tone: Tone.NearMiss },
    ],
    notes: ['note'],
  });
  const m = printMermaid(d);
  const lines = m.split('\n');
  assert.equal(lines[3], 'flowchart TB');
  const ids = [...m.matchAll(/^\s+(\S+?)(?:\[|\(|\{|>)"/gm)].map((x) => x[1]!);
  assert.ok(ids.length >= 3);
  for (const id of ids) assert.match(id, /^[A-Za-z][A-Za-z0-9_]*$/);
  assert.ok(!ids.includes('end'), 'no keyword ids');
  const ab = ids.filter((id) => id.startsWith('n_a_b'));
  assert.equal(new Set(ab).size, 2, 'a.b and a-b stay two nodes');
  const opens = lines.filter((l) => /^\s*subgraph /.test(l)).length;
  const ends = lines.filter((l) => /^\s*end$/.test(l)).length;
  assert.equal(opens, ends);
  assert.ok(m.includes('["node #quot;1#quot;"]'));
  assert.ok(/-->\|"via #quot;eth0#quot;"\|/.test(m));
  assert.ok(/ ==> /.test(m), 'the decisive arrow is thick');
  assert.ok(/ -\.-> /.test(m), 'the near miss arrow is dashed');
  assert.ok(/^ {2}linkStyle 2 stroke:#e69f00/m.test(m));
  const decisiveId = ab.find((id) => m.includes(`${id}["first"]`))!;
  assert.ok(new RegExp(`^ {2}class [^\\n]*\\b${decisiveId}\\b[^\\n]* tone_decisive;$`, 'm').test(m));
  assert.ok(m.includes(`classDef tone_decisive fill:${TONE_STYLES[Tone.Decisive].fill},stroke:${TONE_STYLES[Tone.Decisive].stroke},stroke-width:4px`));
  assert.ok(m.includes(`click ${decisiveId} href "/x?a='1'" "line break"`));
  assert.ok(/\{"second"\}/.test(m), 'a diamond');
});
