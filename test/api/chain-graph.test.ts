// Issue 16: a table's chain graph and a drawn diff from the API, as users get
// them: SVG laid out by Graphviz (well-formed, group boxes in it), dot,
// Mermaid and the Drawing as JSON; kube-proxy's chains grouped and
// expandable; iptables and nft nodes; bad input as a 400, an absent table as
// a 404; read scope.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { allText, descendants, parseXml } from '../support/xml.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { createToken } from '../../src/store/index.ts';

const V1 = '/api/v1';
const KUBE = generateKubeDump({ services: 30, seed: 1 }).text;
/** The same node a version later: one Service's endpoint chain gone. */
const gone = /^:(KUBE-SEP-\S+)/m.exec(KUBE.slice(KUBE.indexOf('*nat')))![1]!;
const KUBE_LATER = KUBE.split('\n').filter((l) => !l.startsWith(`:${gone} `) && !l.startsWith(`-A ${gone} `) && !l.includes(`-j ${gone}`)).join('\n');

interface Drawing {
  title: string;
  nodes: { id: string; label: string[]; tone: string; shape: string; link?: string }[];
  edges: { from: string; to: string; label?: string; tone: string; style?: string }[];
  notes: string[];
}
const labels = (d: Drawing) => d.nodes.map((n) => n.label[0]!);

/** The text of each node box of a Graphviz SVG. */
function svgBoxes(svg: string): string[] {
  const doc = parseXml(svg);
  return [...descendants(doc)].filter((e) => e.name === 'g' && e.attrs['class'] === 'node').map((g) => allText(g));
}

describe('chain graphs and drawn diffs', () => {
  let api: TestApi;
  let auth = '';
  // Every answer read as text (superagent leaves image/svg+xml unread).
  const get = (path: string) =>
    api.request
      .get(`${V1}${path}`)
      .set('authorization', auth)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done(null, /json/.test(String(res.headers['content-type'])) ? JSON.parse(text) : text));
      });
  const text = (r: { body: unknown }): string => r.body as string;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/kube-a/dumps`).send({ dump: KUBE }).expect(201);
    await api.request.post(`${V1}/nodes/kube-b/dumps`).send({ dump: KUBE_LATER }).expect(201);
    await api.request.post(`${V1}/nodes/nft-a/dumps`).send({ nft: generateKubeNft({ services: 12, endpoints: 2 }).text }).expect(201);
    await api.request.post(`${V1}/nodes/nft-b/dumps`).send({ nft: generateKubeNft({ services: 13, endpoints: 2 }).text }).expect(201);
    // From here on the API wants a token: the routes below are read routes.
    auth = `Bearer ${(await createToken(api.db.prisma, { scope: 'read' })).token}`;
  });
  after(() => api?.close());

  it('read scope: no token is a 401, a read token draws', async () => {
    await api.request.get(`${V1}/nodes/kube-a/tables/nat/graph?format=dot`).expect(401);
    await api.request.get(`${V1}/diff?left=kube-a&right=kube-b&format=dot&table=nat`).expect(401);
    await get('/nodes/kube-a/tables/nat/graph?format=dot').expect(200);
  });

  it('json: the Drawing, kube-proxy chains grouped with counts, links to chains and expansions', async () => {
    const r = await get('/nodes/kube-a/tables/nat/graph?format=json').expect(200).expect('content-type', /^application\/json/);
    const d = r.body as Drawing;
    for (const g of ['KUBE-SVC-*', 'KUBE-SEP-*', 'KUBE-EXT-*']) assert.ok(labels(d).includes(g), `${g} in ${labels(d)}`);
    assert.ok(d.nodes.length < 20, `${d.nodes.length} boxes`);
    assert.ok(!labels(d).some((l) => /^KUBE-SEP-[A-Z0-9]+$/.test(l)));
    const sep = d.nodes.find((n) => n.label[0] === 'KUBE-SEP-*')!;
    assert.match(sep.label[1]!, /^×\d+ chains, \d+ rules$/);
    const dump = /^kube-a: table nat \(dump (\d+)\)$/.exec(d.title)?.[1];
    assert.ok(dump, d.title);
    // Links keep the version drawn.
    assert.equal(sep.link, `graph?expand=KUBE-SEP-*&dump=${dump}`);
    assert.equal(d.nodes.find((n) => n.label[0] === 'KUBE-SERVICES')!.link, `chains/KUBE-SERVICES?dump=${dump}`);
    // What the link asks for is what it draws.
    const followed = (await get(`/nodes/kube-a/tables/nat/${sep.link}&format=json`).expect(200)).body as Drawing;
    assert.ok(!labels(followed).includes('KUBE-SEP-*') && labels(followed).some((l) => /^KUBE-SEP-[A-Z0-9]+$/.test(l)));
    await get(`/nodes/kube-a/tables/nat/${d.nodes.find((n) => n.label[0] === 'KUBE-SERVICES')!.link}`).expect(200);
  });

  it('svg: well-formed, laid out with the group boxes; dot and mermaid as text', async () => {
    const svg = await get('/nodes/kube-a/tables/nat/graph').expect(200).expect('content-type', /^image\/svg\+xml/);
    const boxes = svgBoxes(text(svg));
    assert.ok(boxes.some((b) => b.includes('KUBE-SEP-*') && b.includes('chains')), boxes.join(' | '));
    assert.ok(boxes.some((b) => b.includes('PREROUTING') && b.includes('policy ACCEPT')), boxes.join(' | '));
    const dot = await get('/nodes/kube-a/tables/nat/graph?format=dot').expect(200).expect('content-type', /^text\/vnd\.graphviz/);
    assert.match(text(dot), /^digraph /);
    const mermaid = await get('/nodes/kube-a/tables/nat/graph?format=mermaid').expect(200).expect('content-type', /^text\/vnd\.mermaid/);
    assert.match(text(mermaid), /^flowchart LR$/m);
  });

  it('expand: a Service chain with its endpoints as boxes; a whole group laid out in a worker; unknown names a 400', async () => {
    const svc = /^:(KUBE-SVC-\S+)/m.exec(KUBE.slice(KUBE.indexOf('*nat')))![1]!;
    const d = (await get(`/nodes/kube-a/tables/nat/graph?format=json&expand=${svc}`).expect(200)).body as Drawing;
    assert.ok(labels(d).includes(svc));
    const seps = d.edges.filter((e) => e.from === d.nodes.find((n) => n.label[0] === svc)!.id).map((e) => d.nodes.find((n) => n.id === e.to)!.label[0]!);
    assert.ok(seps.filter((s) => /^KUBE-SEP-[A-Z0-9]+$/.test(s)).length > 0, seps.join());
    assert.ok(!seps.includes('KUBE-SEP-*'), 'its endpoints drawn, not the group');
    assert.ok(labels(d).includes('KUBE-SVC-*'), 'the other Services stay grouped');

    const before = api.app.drawings.stats().inWorker;
    const svg = await get(`/nodes/kube-a/tables/nat/graph?expand=${encodeURIComponent('KUBE-SEP-*')}`).expect(200);
    assert.ok(svgBoxes(text(svg)).filter((b) => /KUBE-SEP-[A-Z0-9]{16}/.test(b)).length > 80);
    assert.equal(api.app.drawings.stats().inWorker, before + 1, 'a picture of over SVG_INLINE_MAX_ELEMENTS boxes and arrows is laid out in a worker');

    const bad = await get('/nodes/kube-a/tables/nat/graph?expand=KUBE-SVC-NOPE,KUBE-SEP-*').expect(400).expect('content-type', /problem\+json/);
    assert.match(bad.body.detail, /"KUBE-SVC-NOPE"/);
  });

  it('cached: the same picture again is not rebuilt', async () => {
    const s0 = api.app.drawings.stats();
    const a = await get('/nodes/kube-a/tables/nat/graph?format=dot').expect(200);
    const b = await get('/nodes/kube-a/tables/nat/graph?format=dot').expect(200);
    assert.equal(text(a), text(b));
    const s1 = api.app.drawings.stats();
    assert.equal(s1.built, s0.built);
    assert.equal(s1.cached, s0.cached + 2);
  });

  it('bad format, bad table name: 400; a table the dump lacks, an unknown node: 404', async () => {
    await get('/nodes/kube-a/tables/nat/graph?format=png').expect(400);
    await get('/nodes/kube-a/tables/bogus/graph').expect(400);
    await get('/nodes/kube-a/tables/raw/graph').expect(404);
    await get('/nodes/ghost/tables/nat/graph').expect(404);
    await get(`/nodes/nft-a/tables/${encodeURIComponent('inet nope')}/graph`).expect(404);
    await get('/nodes/kube-a/tables/nat/graph?family=nft').expect(400);
  });

  it('nft: the kube-proxy table with service-* and endpoint-* groups, base chains with hook and priority', async () => {
    const d = (await get(`/nodes/nft-a/tables/${encodeURIComponent('ip kube-proxy')}/graph?format=json`).expect(200)).body as Drawing;
    const group = (l: string) => d.nodes.find((n) => n.label[0] === l)!;
    assert.deepEqual(group('service-*').label.slice(1), ['×12 chains, 24 rules']);
    assert.deepEqual(group('endpoint-*').label.slice(1), ['×24 chains, 48 rules']);
    assert.deepEqual(group('nat-prerouting').label, ['nat-prerouting', 'type nat hook prerouting priority dstnat', 'policy accept · 1 rule']);
    const svg = await get(`/nodes/nft-a/tables/${encodeURIComponent('ip kube-proxy')}/graph?format=svg`).expect(200);
    assert.ok(svgBoxes(text(svg)).some((b) => b.includes('endpoint-*')));
  });

  it('drawn diff: iptables nat with the changed groups marked; json and unified unchanged; table and expand only with a picture', async () => {
    const svg = await get('/diff?left=kube-a&right=kube-b&format=svg&table=nat').expect(200).expect('content-type', /^image\/svg\+xml/);
    const boxes = svgBoxes(text(svg));
    assert.ok(boxes.some((b) => b.includes('KUBE-SEP-*') && b.includes('1 removed')), boxes.join(' | '));
    const dot = await get('/diff?left=kube-a&right=kube-b&format=dot&table=nat').expect(200);
    assert.match(text(dot), /kube-a \(dump \d+\) → kube-b \(dump \d+\)/);
    const expanded = await get(`/diff?left=kube-a&right=kube-b&format=mermaid&table=nat&expand=${encodeURIComponent('KUBE-SEP-*')}`).expect(200);
    assert.ok(text(expanded).includes(gone), 'the removed endpoint chain drawn as its own box');
    const changed = await get('/diff?left=kube-a&right=kube-b&format=json&table=nat&expand=changed').expect(400);
    assert.match(changed.body.detail, /format/, 'json is the diff itself: table and expand only with a picture');
    const onlyChanged = await get('/diff?left=kube-a&right=kube-b&format=mermaid&table=nat&expand=changed').expect(200);
    assert.ok(text(onlyChanged).includes(gone));
    const json = await get('/diff?left=kube-a&right=kube-b').expect(200);
    assert.equal(json.body.summary.chainsOnlyLeft, 1);
    await get('/diff?left=kube-a&right=kube-b&table=nat').expect(400);
    await get('/diff?left=kube-a&right=kube-b&format=svg&table=bogus').expect(400);
    await get('/diff?left=kube-a&right=kube-b&format=svg&table=raw').expect(404);
    await get('/diff?left=kube-a&right=kube-b&format=svg&packets=auto').expect(400);
    // A node without an iptables version (nftables mode only) compares as empty: every chain removed.
    const empty = (await get('/diff?left=kube-a&right=nft-a&format=mermaid&table=nat').expect(200));
    assert.match(text(empty), /KUBE-SERVICES<br\/>\d+ rules<br\/>removed/);
    assert.match(text(empty), /no ipv4 version/);
  });

  it('drawn nft diff: the only table by default, a Service more as one added chain in its group', async () => {
    const mermaid = await get('/diff?left=nft-a&right=nft-b&family=nft&format=mermaid').expect(200).expect('content-type', /^text\/vnd\.mermaid/);
    assert.match(text(mermaid), /service-\*<br\/>×13 chains, 26 rules<br\/>1 added/);
    assert.match(text(mermaid), /map service-ips: \+1 −0 elements/);
    await get('/diff?left=nft-a&right=nft-b&family=nft&format=svg&table=nat').expect(400);
  });
});
