// The command line contract (../shared/spec/cli-and-trace.md): commands,
// exit codes (0 ok, 2 usage, 1 unprocessable input) and output shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cli } from './support/cli.ts';
import { FIXTURES, REPO_ROOT } from './support/paths.ts';

const S000 = join(FIXTURES, 'seeds/seed000.save.txt');
const D004 = join(FIXTURES, 'seed004');

test('parse --json prints the model with diagnostics {line, severity, message}', async () => {
  const r = await cli('parse', S000, '--json');
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out);
  assert.equal(j.format, 'iptables-save');
  assert.deepEqual(j.tables.map((t: { name: string }) => t.name), ['nat', 'filter']);
  const d = j.diagnostics.find((x: { code: string }) => x.code === 'missing-commit');
  assert.equal(d.line, 18);
  assert.equal(d.severity, 'warning');
  assert.equal(typeof d.message, 'string');
});

test('render prints canonical iptables-save; a listing renders too', async () => {
  const r = await cli('render', join(D004, 'node02.txt'));
  assert.equal(r.code, 0);
  assert.match(r.out, /^\*filter\n:INPUT ACCEPT \[0:0\]\n:FORWARD DROP \[0:0\]/);
  assert.match(r.out, /^\[695:58480\] -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD$/m);
});

test('trace --json follows the contract; without --json a readable trace', async () => {
  const args = ['trace', join(D004, 'node02.txt'), '--host', join(D004, 'node02.host.json'), '--in', 'flannel.1', '--src', '10.224.0.0', '--dst', '10.224.2.16', '--proto', 'tcp', '--sport', '51000', '--dport', '80'];
  const j = await cli(...args, '--json');
  assert.equal(j.code, 0);
  const t = JSON.parse(j.out);
  assert.equal(t.outcomes.length, 1);
  const o = t.outcomes[0];
  assert.equal(o.probability, 1);
  assert.equal(o.verdict, 'DROP');
  assert.equal(o.disposition, 'DROPPED');
  assert.deepEqual(Object.keys(o.events[0]).slice(0, 6), ['table', 'chain', 'kind', 'rule', 'text', 'verdict']);
  assert.deepEqual(o.assumptions, []);
  assert.ok(Array.isArray(t.warnings));
  const text = await cli(...args);
  assert.match(text.out, /filter FORWARD \(policy\)\s+→ DROP/);
});

test('trace --cluster DIR follows the packet across nodes', async () => {
  const r = await cli('trace', '--cluster', D004, '--from', 'master', '--in', 'eth0', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--dport', '80', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(j.paths.map((p: { end: string; endNode: string }) => `${p.end}@${p.endNode}`).sort(), ['DROPPED@node02', 'LEFT_CLUSTER@master']);
  const fixed = await cli('trace', '--cluster', D004, '--from', 'master', '--in', 'eth0', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--dport', '80', '--change', 'node02:-A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT', '--json');
  assert.ok(JSON.parse(fixed.out).paths.every((p: { end: string }) => p.end === 'LEFT_CLUSTER'));
});

test('diff and lint', async () => {
  const d = await cli('diff', join(D004, 'master.txt'), join(D004, 'node02.txt'));
  assert.equal(d.code, 1, 'different rulesets: 1, like diff(1)');
  assert.match(d.out, /^--- .*master\.txt\n\+\+\+ .*node02\.txt\n/);
  const same = await cli('diff', S000, S000);
  assert.match(same.out, /are the same ruleset/);
  assert.equal(same.code, 0);
  const l = await cli('lint', join(D004, 'master.txt'));
  assert.equal(l.code, 1, 'an error finding fails the lint, like eslint');
  assert.match(l.out, /error \[forward-drop-pod-traffic\] filter FORWARD:/);
});

test('exit codes: 2 for bad usage, 1 for input it cannot process', async () => {
  assert.equal((await cli()).code, 2);
  assert.equal((await cli('frobnicate')).code, 2);
  assert.equal((await cli('parse')).code, 2);
  assert.equal((await cli('trace', S000, '--src', '192.0.2.1')).code, 2);
  const badPacket = await cli('trace', S000, '--in', 'eth0', '--src', '999.1.1.1', '--dst', '192.0.2.1', '--proto', 'tcp');
  assert.equal(badPacket.code, 2);
  assert.match(badPacket.err, /src "999\.1\.1\.1" is not an IP address/);
  const missing = await cli('parse', '/nonexistent/dump.txt');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read/);
  const garbage = await cli('render', join(FIXTURES, 'seed004', 'README.md'));
  assert.equal(garbage.code, 1);
});

test('npm run -s cli -- parse works as the contract invokes it', async () => {
  const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'cli', '--', 'parse', S000, '--json'], { cwd: REPO_ROOT });
  assert.equal(JSON.parse(stdout).family, 'ipv4');
});
