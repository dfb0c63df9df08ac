// `packetpath trace ... --format svg|dot|mermaid` through the built bin, run
// from another directory as users run it: the seed 004 story drawn.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, REPO_ROOT } from '../support/paths.ts';
import { allText, descendants, parseXml } from '../support/xml.ts';
import { TONE_STYLES } from '../../src/netfilter/analysis/draw/style.ts';
import { Tone } from '../../src/netfilter/analysis/draw/drawing.ts';

const run = promisify(execFile);
const BIN = [join(REPO_ROOT, 'bin', 'packetpath.mjs')];
const D004 = join(FIXTURES, 'seed004');
const CLUSTER = ['--cluster', D004, '--from', 'master', '--in', 'eth0', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--sport', '51000', '--dport', '80'];
const NODE02 = [join(D004, 'node02.txt'), '--host', join(D004, 'node02.host.json'), '--in', 'flannel.1', '--src', '10.224.0.0', '--dst', '10.224.2.16', '--proto', 'tcp', '--sport', '51000', '--dport', '80'];

const packetpath = (...args: string[]) => run(process.execPath, [...BIN, ...args], { cwd: tmpdir(), maxBuffer: 64 * 1024 * 1024 });

describe('packetpath trace --format (the built bin, from another directory)', () => {
  it('svg of the seed 004 cluster trace: well-formed, node02 there, its FORWARD policy DROP decisive', async () => {
    const r = await packetpath('trace', ...CLUSTER, '--format', 'svg');
    const svg = parseXml(r.stdout);
    assert.equal(svg.name, 'svg');
    assert.ok([...descendants(svg)].some((g) => g.attrs.class === 'cluster' && allText(g).includes('node02')));
    const decisive = TONE_STYLES[Tone.Decisive];
    const marked = [...descendants(svg)].filter((g) => g.attrs.class === 'node' && !g.children.some((c) => c.name === 'title' && c.text === '_legend') && [...descendants(g)].some((e) => e.attrs.stroke === decisive.stroke && e.attrs['stroke-width'] === String(decisive.width)));
    assert.deepEqual(marked.map((g) => [...descendants(g)].filter((e) => e.name === 'text').map((e) => e.text)), [['filter FORWARD policy DROP']], 'the one decisive box (the legend aside)');
  });

  it('dot of node02 alone, named after its dump file; --json still JSON; a bad format exit 2 naming the choices', async () => {
    const dot = await packetpath('trace', ...NODE02, '--format', 'dot');
    assert.match(dot.stdout, /^digraph "Trace of tcp 10\.224\.0\.0:51000 → 10\.224\.2\.16:80 on node02" \{\n/);
    assert.match(dot.stdout, /label="filter FORWARD policy DROP"[^\n]*penwidth=4/);
    const json = await packetpath('trace', ...NODE02, '--json');
    assert.equal((JSON.parse(json.stdout) as { outcomes: { disposition: string }[] }).outcomes[0]!.disposition, 'DROPPED');
    await assert.rejects(packetpath('trace', ...NODE02, '--format', 'png'), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--format takes one of svg, dot, mermaid, not "png"/);
      return true;
    });
  });
});
