// Red-team cases of the core: what-ifs that iptables would refuse, what-if
// work linear in the number of changes, loops told apart from deep chains,
// an exact cap on cluster paths.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assumedHost, applyRuleChanges, parseDump, traceCluster, tracePacket, validatePacket, type Ruleset } from '../../src/netfilter/index.ts';

const BASE = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n:C - [0:0]\n-A INPUT -j A\n-A B -j ACCEPT\nCOMMIT\n').ruleset;

describe('what-if commands iptables refuses are refused (checked against iptables 1.8.9 in a namespace)', () => {
  const rows: [string, RegExp | null][] = [
    ['-E A FORWARD', /chain FORWARD already exists \(iptables: File exists\)/],
    ['-E A B', /chain B already exists/],
    ['-E INPUT Z', /cannot rename the built-in chain INPUT/],
    ['-E C Z', null],
    ['-A INPUT -j INPUT', /cannot jump to the built-in chain INPUT/],
    ['-A A -j FORWARD', /cannot jump to the built-in chain FORWARD/],
    ['-X A', /a rule jumps to it \(iptables: CHAIN_DEL failed \(Device or resource busy\)\)/],
    ['-X B', /it has 1 rule\(s\)/],
    ['-X C', null],
    ['-X INPUT', /cannot delete the built-in chain INPUT/],
    ['-N A', /chain A already exists/],
    ['-A INPUT -j NOSUCH', /never declared/],
  ];
  for (const [command, refusal] of rows) {
    it(`${command} → ${refusal ? 'refused' : 'applied'}`, () => {
      const r = applyRuleChanges(BASE, [command]);
      if (!refusal) return assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('; '));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.errors.map((e) => e.message).join('; '), refusal);
    });
  }
  it('a refusal names the change it comes from', () => {
    const r = applyRuleChanges(BASE, ['-A INPUT -s 192.0.2.1 -j ACCEPT', '-A INPUT -s 192.0.2.2 -j ACCEPT', '-E A FORWARD']);
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => e.change), [2]);
  });
});

describe('what-if work is linear in the changes', () => {
  it('25,000 distinct changes apply, in order, each where it was asked', () => {
    const changes = Array.from({ length: 25_000 }, (_, i) => `-A INPUT -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j ACCEPT`);
    const r = applyRuleChanges(BASE, changes);
    assert.ok(r.ok);
    if (!r.ok) return;
    const input = r.ruleset.tables[0]!.chains.find((c) => c.name === 'INPUT')!;
    assert.equal(input.rules.length, 25_001);
    assert.match(input.rules[25_000]!.raw, /-s 10\.0\.97\.167\/32/);
  });
  it('a bad change among 25,000 is reported with its index', () => {
    const changes = Array.from({ length: 25_000 }, (_, i) => `-A INPUT -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j ACCEPT`);
    changes[24_321] = '-A INPUT -j NOSUCH';
    const r = applyRuleChanges(BASE, changes);
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => e.change), [24_321]);
  });
});

/** INPUT → C1 → C2 → … → Cn, loop-free, the last chain accepting. */
function deepChain(n: number): Ruleset {
  const lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  for (let i = 1; i <= n; i++) lines.push(`:C${i} - [0:0]`);
  lines.push('-A INPUT -j C1');
  for (let i = 1; i < n; i++) lines.push(`-A C${i} -j C${i + 1}`);
  lines.push(`-A C${n} -j ACCEPT`, 'COMMIT', '');
  return parseDump(lines.join('\n')).ruleset;
}

describe('loops and depth', () => {
  const packet = validatePacket({ src: '192.0.2.1', dst: '127.0.0.1', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'lo' });
  assert.ok(packet.ok);
  it('a 10,000-deep loop-free chain is too deep, not a loop', () => {
    const r = tracePacket(deepChain(10_000), packet.packet, { host: assumedHost() });
    const o = r.outcomes[0]!;
    assert.equal(o.verdict, 'UNKNOWN');
    assert.match(o.reason, /nested deeper than 64/);
    assert.doesNotMatch(o.reason, /loop/);
    assert.ok(o.assumptions.some((a) => /refuses rulesets nested deeper than 16 jumps/.test(a)));
  });
  it('a real loop is a loop', () => {
    const rs = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n').ruleset;
    const o = tracePacket(rs, packet.packet, { host: assumedHost() }).outcomes[0]!;
    assert.match(o.reason, /jump loop through A/);
  });
  it('a 12-deep chain is followed to its verdict', () => {
    assert.equal(tracePacket(deepChain(12), packet.packet, { host: assumedHost() }).outcomes[0]!.verdict, 'ACCEPT');
  });
});

describe('cluster path cap', () => {
  it('never more paths than the cap, and the warning says so', () => {
    // Eight statistic branches per node: 8 paths end on one node in one step.
    const rules = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
    for (let i = 0; i < 8; i++) rules.push(`-A PREROUTING -m statistic --mode random --probability ${(1 / (8 - i)).toFixed(5)} -j DNAT --to-destination 198.51.100.${10 + i}`);
    rules.push('COMMIT', '');
    const rs = parseDump(rules.join('\n')).ruleset;
    const p = validatePacket({ src: '192.0.2.1', dst: '203.0.113.5', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' });
    assert.ok(p.ok);
    const r = traceCluster([{ name: 'n1', ruleset: rs, host: assumedHost() }], 'n1', p.packet, { maxPaths: 5 });
    assert.equal(r.paths.length, 5);
    assert.ok(r.warnings.includes('stopped after 5 paths'));
    const all = traceCluster([{ name: 'n1', ruleset: rs, host: assumedHost() }], 'n1', p.packet, { maxPaths: 256 });
    assert.ok(all.paths.length > 5 && !all.warnings.some((w) => /stopped after/.test(w)));
  });
});
