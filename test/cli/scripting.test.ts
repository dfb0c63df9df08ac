// The CLI as people script it: --help on every command and --version,
// exit codes that gate CI (lint 1 on errors, diff 1 on differences, trace
// --expect), mistakes that are errors rather than ignored (a --change for no
// node, an --in the host file lacks), warnings on stderr, what-ifs that say
// they are hypothetical and show before and after, findings with their line.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/cli.ts';
import { FIXTURES, REPO_ROOT } from '../support/paths.ts';

const S000 = join(FIXTURES, 'seeds/seed000.save.txt');
const D004 = join(FIXTURES, 'seed004');
const MASTER = join(D004, 'master.txt');
const CLUSTER = ['--cluster', D004, '--from', 'master', '--in', 'eth0', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--dport', '80'];
const FIX = 'node02:-A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT';
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('--help and --version', () => {
  for (const command of ['parse', 'render', 'diff', 'lint', 'trace', 'serve', 'agent', 'token']) {
    test(`${command} --help: usage on stdout, exit 0`, async () => {
      const r = await cli(command, '--help');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`${command}`));
      assert.equal(r.err, '');
    });
  }
  test('--version prints the package version', async () => {
    const r = await cli('--version');
    assert.deepEqual([r.code, r.out], [0, `packetpath ${VERSION}\n`]);
  });
  test('an unknown option is a usage error (exit 2) naming it', async () => {
    for (const command of ['trace', 'lint', 'diff', 'render']) {
      const r = await cli(command, S000, '--frobnicate');
      assert.equal(r.code, 2, command);
      assert.match(r.err, /unknown option '--frobnicate'/);
    }
  });
});

describe('exit codes that gate CI', () => {
  const rows: { name: string; args: string[]; code: number; err?: RegExp }[] = [
    { name: 'lint with an error finding', args: ['lint', MASTER], code: 1 },
    { name: 'lint with no error finding', args: ['lint', join(FIXTURES, 'listing/kernel-v4.save.txt')], code: 0 },
    { name: 'diff of the same ruleset', args: ['diff', S000, S000], code: 0 },
    { name: 'diff of different rulesets', args: ['diff', MASTER, join(D004, 'node02.txt')], code: 1 },
    { name: 'diff of an unreadable file', args: ['diff', S000, '/nonexistent'], code: 2 },
    { name: 'trace --expect DROP that drops', args: ['trace', ...CLUSTER, '--expect', 'DROP'], code: 1, err: /expected DROP, but 1 of 2 outcomes end otherwise/ },
    { name: 'trace --expect DROPPED of a path that partly drops', args: ['trace', ...CLUSTER, '--expect', 'DROPPED'], code: 1 },
    { name: 'trace --expect after the fix', args: ['trace', ...CLUSTER, '--change', FIX, '--expect', 'ACCEPT'], code: 0 },
    { name: 'trace --expect with a word it does not know', args: ['trace', ...CLUSTER, '--expect', 'MAYBE'], code: 2, err: /--expect takes one of ACCEPT, DROP/ },
    { name: 'trace --change for a node that is not there', args: ['trace', ...CLUSTER, '--change', 'node03:-A FORWARD -j ACCEPT'], code: 1, err: /--change names "node03", not a node/ },
    { name: 'trace --change iptables would refuse (a jump to a built-in chain)', args: ['trace', S000, '--in', 'eth0', '--src', '192.0.2.1', '--dst', '10.105.178.199', '--proto', 'tcp', '--dport', '8080', '--change', '-A INPUT -j INPUT'], code: 1, err: /--change: cannot jump to the built-in chain INPUT/ },
    { name: 'trace --change renaming onto a built-in chain', args: ['trace', S000, '--in', 'eth0', '--src', '192.0.2.1', '--dst', '10.105.178.199', '--proto', 'tcp', '--dport', '8080', '--change', '-E KUBE-SERVICES FORWARD'], code: 1, err: /cannot rename KUBE-SERVICES to FORWARD/ },
    { name: 'trace --in an interface the host file lacks', args: ['trace', MASTER, '--host', join(D004, 'master.host.json'), '--in', 'eth9', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--dport', '80'], code: 1, err: /--in eth9: the host file .* has no such interface/ },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const r = await cli(...row.args);
      assert.equal(r.code, row.code, r.err);
      if (row.err) assert.match(r.err, row.err);
    });
  }
});

describe('what the output says', () => {
  test('a what-if says it is hypothetical and shows the outcomes before and after', async () => {
    const r = await cli('trace', ...CLUSTER, '--change', FIX);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^What-if \(hypothetical: the dumps on disk and the nodes are unchanged\), with:\n  node02:-A FORWARD/);
    const [before, after] = r.out.split(/^After.*:$/m);
    assert.match(before!, /Before:\n(.*\n)*.*DROPPED on node02/);
    assert.doesNotMatch(after!.split('The trace with the changes:')[0]!, /DROPPED/);
    const json = JSON.parse((await cli('trace', ...CLUSTER, '--change', FIX, '--json')).out) as { whatIf: { before: string[]; after: string[]; changed: boolean } };
    assert.equal(json.whatIf.changed, true);
    assert.ok(json.whatIf.before.some((l) => /DROPPED on node02/.test(l)));
  });

  test('warnings go to stderr, not into the trace on stdout', async () => {
    // No host file: the trace assumes addresses and says so in a warning.
    const r = await cli('trace', S000, '--in', 'eth0', '--src', '192.168.0.50', '--dst', '10.105.178.199', '--proto', 'tcp', '--dport', '8080');
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /^warning:/m);
    assert.match(r.err, /^packetpath trace: warning: /m);
  });

  test('lint names the line of every finding that names a rule or a chain', async () => {
    const r = await cli('lint', MASTER);
    const lines = r.out.split('\n').filter((l) => l.startsWith(MASTER));
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, new RegExp(`^${MASTER.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(:[1-9]\\d*)?: `), l);
    assert.ok(!r.out.includes(`${MASTER}:0:`));
    assert.ok(lines.some((l) => /\[forward-drop-pod-traffic\]/.test(l) && /:\d+: /.test(l)), 'the FORWARD finding points at the chain');
  });
});

describe('every parse failure names a place; old Mac line endings are lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-parse-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const rows: { name: string; text: string; err: RegExp; code: number }[] = [
    { name: 'empty', text: '', err: /no table or rule could be read \(line 1: the input is empty/, code: 1 },
    { name: 'prose', text: 'hello world\n', err: /\(line 1, column 1: line is not part of a dump/, code: 1 },
    { name: 'bad address', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.0/33 -j ACCEPT\nCOMMIT\n', err: /1 error, the first on line 3, column 13: /, code: 1 },
    { name: 'CR-only endings with a bad address', text: '*filter\r:INPUT ACCEPT [0:0]\r-A INPUT -s 192.0.2.0/33 -j ACCEPT\rCOMMIT\r', err: /the first on line 3, column 13: /, code: 1 },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const r = await cli('parse', file(`${row.name}.txt`, row.text));
      assert.equal(r.code, row.code);
      assert.match(r.err, row.err);
    });
  }
  test('a CR-only file parses as the same ruleset as its LF twin', async () => {
    const lf = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.0/24 -j ACCEPT\nCOMMIT\n';
    const a = await cli('render', file('lf.txt', lf));
    const b = await cli('render', file('cr.txt', lf.replace(/\n/g, '\r')));
    assert.equal(b.code, 0, b.err);
    assert.equal(b.out, a.out);
  });
});
