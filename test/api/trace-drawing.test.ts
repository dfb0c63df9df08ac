// POST /trace/drawing (and POST /trace?format=svg|dot|mermaid): the seed 004
// story drawn, laid out on the event loop and in a worker, errors as
// problem+json, and the read scope.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startApi, PROBLEM_TYPE, type TestApi } from '../support/api.ts';
import { FIXTURES } from '../support/paths.ts';
import { allText, descendants, parseXml, type XmlElement } from '../support/xml.ts';
import { createToken } from '../../src/store/index.ts';
import { TONE_STYLES } from '../../src/netfilter/analysis/draw/style.ts';
import { Tone } from '../../src/netfilter/analysis/draw/drawing.ts';

const V1 = '/api/v1';
const s004 = (f: string) => readFile(join(FIXTURES, 'seed004', f), 'utf8');
const STORY = { cluster: 'lab', from: { node: 'master', interface: 'eth0' }, packet: { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80 }, follow: true };
const ON_NODE02 = { node: 'node02', packet: { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' } };
const FIX = '-A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT';

async function uploadSeed004(api: TestApi): Promise<void> {
  for (const name of ['master', 'node02']) {
    await api.request
      .post(`${V1}/nodes/${name}/dumps`)
      .send({ dump: await s004(`${name}.txt`), host: JSON.parse(await s004(`${name}.host.json`)), cluster: 'lab' })
      .expect(201);
  }
}

const text = (r: { text?: string; body: unknown }): string => r.text ?? String(r.body);

/** The SVG's boxes: their texts, and the border colour and width of their shape. */
function boxes(svg: XmlElement): { texts: string[]; stroke?: string; width?: string }[] {
  return [...descendants(svg)]
    .filter((g) => g.name === 'g' && g.attrs.class === 'node' && !g.children.some((c) => c.name === 'title' && c.text === '_legend'))
    .map((g) => {
      const shape = [...descendants(g)].find((e) => (e.name === 'polygon' || e.name === 'ellipse' || e.name === 'path') && e.attrs.stroke !== 'none' && e.attrs.stroke !== undefined);
      return { texts: [...descendants(g)].filter((e) => e.name === 'text').map((e) => e.text), ...(shape?.attrs.stroke ? { stroke: shape.attrs.stroke } : {}), ...(shape?.attrs['stroke-width'] ? { width: shape.attrs['stroke-width'] } : {}) };
    });
}

function checkStorySvg(body: string): void {
  const svg = parseXml(body);
  assert.equal(svg.name, 'svg');
  const clusterTitles = [...descendants(svg)].filter((g) => g.attrs.class === 'cluster').map((g) => allText(g));
  assert.ok(clusterTitles.some((t) => t.includes('node02')), 'a frame for node02');
  assert.ok(clusterTitles.some((t) => t.includes('master')), 'a frame for master');
  const decisive = TONE_STYLES[Tone.Decisive];
  const drop = boxes(svg).filter((b) => b.stroke === decisive.stroke && b.width === String(decisive.width));
  assert.deepEqual(drop.map((b) => b.texts), [['filter FORWARD policy DROP']], 'the FORWARD policy DROP marked decisive, alone');
  const nearMiss = TONE_STYLES[Tone.NearMiss];
  const misses = boxes(svg).filter((b) => b.stroke === nearMiss.stroke).map((b) => b.texts[0]);
  assert.ok(misses.includes('FORWARD #12 would ACCEPT'), misses.join(' | '));
  assert.ok(allText(svg).includes('out flannel.1 via 10.224.2.0'));
}

describe('POST /trace/drawing', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await uploadSeed004(api);
  });
  after(() => api?.close());

  it('svg (the default) of the seed 004 cluster story: node02, its FORWARD policy DROP decisive, near misses', async () => {
    const r = await api.request.post(`${V1}/trace/drawing`).send(STORY).expect(200);
    assert.match(r.headers['content-type']!, /^image\/svg\+xml; charset=utf-8$/);
    checkStorySvg(text(r));
  });

  it('POST /trace?format=svg answers the same picture', async () => {
    const a = await api.request.post(`${V1}/trace/drawing?format=svg`).send(STORY).expect(200);
    const b = await api.request.post(`${V1}/trace?format=svg`).send(STORY).expect(200);
    assert.equal(b.headers['content-type'], a.headers['content-type']);
    assert.equal(text(b), text(a));
  });

  it('dot and mermaid, with their media types, on /trace/drawing and /trace', async () => {
    for (const path of ['/trace/drawing', '/trace']) {
      const dot = await api.request.post(`${V1}${path}?format=dot`).send(ON_NODE02).expect(200);
      assert.equal(dot.headers['content-type'], 'text/vnd.graphviz; charset=utf-8');
      const d = text(dot);
      assert.match(d, /^digraph "Trace of tcp 10\.224\.0\.0:51000 → 10\.224\.2\.16:80 on node02" \{/);
      assert.match(d, /subgraph "cluster_node:node02" \{/);
      assert.match(d, new RegExp(`label="filter FORWARD policy DROP"[^\\n]*color="${TONE_STYLES[Tone.Decisive].stroke}"[^\\n]*penwidth=4`));
      const mermaid = await api.request.post(`${V1}${path}?format=mermaid`).send(ON_NODE02).expect(200);
      assert.equal(mermaid.headers['content-type'], 'text/vnd.mermaid; charset=utf-8');
      const m = text(mermaid);
      assert.match(m, /^---\ntitle: "Trace of tcp 10\.224\.0\.0:51000 → 10\.224\.2\.16:80 on node02"\n---\nflowchart TB\n/);
      const id = /^\s+(n_\w+)\["filter FORWARD policy DROP"\]$/m.exec(m)?.[1];
      assert.ok(id, 'the policy box');
      assert.match(m, new RegExp(`^  class [\\w,]*\\b${id}\\b[\\w,]* tone_decisive;$`, 'm'));
    }
  });

  it('without format, the Accept header chooses (as Swagger UI sends it), else svg', async () => {
    const dot = await api.request.post(`${V1}/trace/drawing`).set('accept', 'text/vnd.graphviz').send(ON_NODE02).expect(200);
    assert.equal(dot.headers['content-type'], 'text/vnd.graphviz; charset=utf-8');
    const mermaid = await api.request.post(`${V1}/trace/drawing`).set('accept', 'application/json, text/vnd.mermaid;q=0.9').send(ON_NODE02).expect(200);
    assert.equal(mermaid.headers['content-type'], 'text/vnd.mermaid; charset=utf-8');
    const any = await api.request.post(`${V1}/trace/drawing`).set('accept', '*/*').send(ON_NODE02).expect(200);
    assert.match(any.headers['content-type']!, /^image\/svg\+xml/);
    const explicit = await api.request.post(`${V1}/trace/drawing?format=dot`).set('accept', 'image/svg+xml').send(ON_NODE02).expect(200);
    assert.equal(explicit.headers['content-type'], 'text/vnd.graphviz; charset=utf-8', 'format wins');
  });

  it('a what-if is drawn after its changes, the notes saying the outcomes differed before', async () => {
    const r = await api.request.post(`${V1}/trace/drawing?format=dot`).send({ ...STORY, changes: { node02: [FIX] } }).expect(200);
    const d = text(r);
    assert.ok(!d.includes('label="filter FORWARD policy DROP"'), 'the drop is gone after the fix');
    assert.ok(d.includes('label="LEFT_CLUSTER on node02\\nThe packet reaches 10.224.2.16 on node02'), 'node02 passes it to the pod');
    assert.match(d, /What-if: drawn with the change applied \(hypothetical; the stored rules are unchanged\): node02: -A FORWARD -i flannel\.1 -d 10\.224\.2\.0\/24 -j ACCEPT/);
    assert.match(d, /Before the changes the outcomes differed:/);
    assert.match(d, /before: 50%: DROPPED on node02/);
  });

  it('400 on a format it does not know, 404 on an unknown node, as problem+json', async () => {
    for (const path of ['/trace/drawing?format=png', '/trace?format=png']) {
      const bad = await api.request.post(`${V1}${path}`).send(STORY).expect(400);
      assert.match(bad.headers['content-type']!, PROBLEM_TYPE);
      assert.match(JSON.stringify(bad.body), /format/);
    }
    const missing = await api.request.post(`${V1}/trace/drawing`).send({ ...ON_NODE02, node: 'nope' }).expect(404);
    assert.match(missing.headers['content-type']!, PROBLEM_TYPE);
    const outside = await api.request.post(`${V1}/trace/drawing`).send({ ...STORY, from: { node: 'nope', interface: 'eth0' } }).expect(404);
    assert.match(outside.body.detail, /nope/);
  });
});

describe('POST /trace/drawing: where the layout runs', () => {
  for (const [where, svgInlineMaxElements, worker] of [['in a worker (past SVG_INLINE_MAX_ELEMENTS)', 0, true], ['on the event loop (small)', 1_000_000, false]] as const) {
    it(`lays the seed 004 story out ${where}`, async () => {
      const api = await startApi({ config: { svgInlineMaxElements } });
      try {
        await uploadSeed004(api);
        const ran = api.app.analysis.stats().ran;
        const r = await api.request.post(`${V1}/trace/drawing`).send(STORY).expect(200);
        assert.equal(api.app.analysis.stats().ran, ran + (worker ? 1 : 0));
        checkStorySvg(text(r));
      } finally {
        await api.close();
      }
    });
  }
});

describe('POST /trace/drawing: the read scope', () => {
  let api: TestApi;
  const tokens: Record<string, string> = {};
  before(async () => {
    api = await startApi();
    await uploadSeed004(api);
    tokens.read = (await createToken(api.db.prisma, { scope: 'read' })).token;
    tokens.upload = (await createToken(api.db.prisma, { scope: 'upload' })).token;
  });
  after(() => api?.close());

  it('no token 401, an upload token 403, a read token draws', async () => {
    await api.request.post(`${V1}/trace/drawing`).send(ON_NODE02).expect(401);
    await api.request.post(`${V1}/trace/drawing`).set('authorization', `Bearer ${tokens.upload}`).send(ON_NODE02).expect(403);
    const r = await api.request.post(`${V1}/trace/drawing?format=dot`).set('authorization', `Bearer ${tokens.read}`).send(ON_NODE02).expect(200);
    assert.match(text(r), /filter FORWARD policy DROP/);
  });
});

describe('POST /trace/drawing with counters: true', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api?.close());

  it('marks the rules and policies real traffic counted in the node\'s latest window', async () => {
    const listing = await s004('node02.txt');
    const withPolicy = (packets: number) => listing.replace('Chain FORWARD (policy DROP 0 packets, 0 bytes)', `Chain FORWARD (policy DROP ${packets} packets, ${packets * 84} bytes)`);
    const host = JSON.parse(await s004('node02.host.json'));
    await api.request.post(`${V1}/nodes/node02/dumps`).send({ dump: withPolicy(5), host }).expect(201);
    await api.request.post(`${V1}/nodes/node02/dumps`).send({ dump: withPolicy(42), host }).expect(200);
    const dot = text(await api.request.post(`${V1}/trace/drawing?format=dot`).send({ ...ON_NODE02, counters: true }).expect(200));
    assert.match(dot, /filter FORWARD policy DROP\\n● traffic now: 37 packets since /);
    const without = text(await api.request.post(`${V1}/trace/drawing?format=dot`).send(ON_NODE02).expect(200));
    assert.doesNotMatch(without, /traffic now/);
  });
});
