// Issue 16: `packetpath graph FILE` and `packetpath diff A B --format …` as
// users run them: the built bin (bin/packetpath.mjs → dist/) started from
// another directory. Needs `npm run -s build` first.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/paths.ts';
import { allText, descendants, parseXml } from '../support/xml.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';

const exec = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'packetpath.mjs');

describe('packetpath graph and diff --format, the built bin from another directory', () => {
  let dir = '';
  const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    try {
      const r = await exec(process.execPath, [BIN, ...args], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, out: x.stdout, err: x.stderr };
    }
  };
  const kube = generateKubeDump({ services: 30, seed: 1 }).text;
  const sep = /^:(KUBE-SEP-\S+)/m.exec(kube.slice(kube.indexOf('*nat')))![1]!;
  const svc = /^:(KUBE-SVC-\S+)/m.exec(kube.slice(kube.indexOf('*nat')))![1]!;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pp-graph-'));
    await writeFile(join(dir, 'a.txt'), kube);
    await writeFile(join(dir, 'b.txt'), kube.split('\n').filter((l) => !l.startsWith(`:${sep} `) && !l.startsWith(`-A ${sep} `) && !l.includes(`-j ${sep}`)).join('\n'));
    await writeFile(join(dir, 'a.nft'), generateKubeNft({ services: 5, endpoints: 2 }).text);
    await writeFile(join(dir, 'b.nft'), generateKubeNft({ services: 6, endpoints: 2 }).text);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('graph --table nat: SVG with the kube-proxy group boxes (the default format)', async () => {
    const r = await run('graph', 'a.txt', '--table', 'nat');
    assert.equal(r.code, 0, r.err);
    const boxes = [...descendants(parseXml(r.out))].filter((e) => e.name === 'g' && e.attrs['class'] === 'node').map(allText);
    assert.ok(boxes.some((b) => b.includes('KUBE-SEP-*') && /×\d+ chains/.test(b)), boxes.join(' | '));
    assert.ok(boxes.some((b) => b.includes('KUBE-SERVICES')));
  });

  it('graph --expand SVC --format json / dot / mermaid', async () => {
    const json = await run('graph', 'a.txt', '--table', 'nat', '--expand', svc, '--format', 'json');
    assert.equal(json.code, 0, json.err);
    const labels = (JSON.parse(json.out) as { nodes: { label: string[] }[] }).nodes.map((n) => n.label[0]);
    assert.ok(labels.includes(svc) && labels.includes('KUBE-SVC-*'), labels.join());
    const dot = await run('graph', 'a.txt', '--table', 'nat', '--format', 'dot');
    assert.match(dot.out, /^digraph /);
    const mermaid = await run('graph', 'a.nft', '--format', 'mermaid');
    assert.equal(mermaid.code, 0, mermaid.err);
    assert.match(mermaid.out, /endpoint-\*<br\/>×10 chains/);
  });

  it('bad input: unknown format or table a usage error (2), an unknown expand or absent table an error (1)', async () => {
    assert.equal((await run('graph', 'a.txt', '--format', 'png')).code, 2);
    assert.equal((await run('graph', 'a.txt', '--table', 'bogus')).code, 2);
    const r = await run('graph', 'a.txt', '--table', 'nat', '--expand', 'NOPE');
    assert.equal(r.code, 1);
    assert.match(r.err, /"NOPE"/);
    assert.equal((await run('graph', 'a.txt', '--table', 'raw')).code, 1);
  });

  it('diff A B --format: the table drawn with the change marked, exiting 1 (they differ)', async () => {
    const r = await run('diff', 'a.txt', 'b.txt', '--format', 'mermaid', '--table', 'nat');
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /KUBE-SEP-\*<br\/>×\d+ chains, \d+ rules<br\/>1 removed/);
    const svg = await run('diff', 'a.txt', 'b.txt', '--format', 'svg', '--table', 'nat', '--expand', 'KUBE-SEP-*');
    assert.equal(svg.code, 1, svg.err);
    assert.ok(allText(parseXml(svg.out)).includes(sep));
    const same = await run('diff', 'a.txt', 'a.txt', '--format', 'dot', '--table', 'nat');
    assert.equal(same.code, 0, same.err);
    const nft = await run('diff', 'a.nft', 'b.nft', '--format', 'mermaid');
    assert.equal(nft.code, 1, nft.err);
    assert.match(nft.out, /service-\*<br\/>×6 chains, 12 rules<br\/>1 added/);
    assert.equal((await run('diff', 'a.txt', 'b.txt', '--table', 'nat')).code, 2, '--table without --format');
    assert.equal((await run('diff', 'a.txt', 'b.txt', '--json', '--format', 'svg')).code, 2);
  });
});
