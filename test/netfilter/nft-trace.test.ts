// Native nftables base chains in the hook pipeline, next to iptables:
// kube-proxy-style service dispatch (vmap, numgen, dnat, masquerade marks),
// an accept in one base chain that another base chain's policy overrides,
// and iptables' FORWARD policy DROP next to a native accept.
// test/fixtures/nft/kube-mini.json is `nft -j list ruleset` of kube-mini.nft.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftJson } from '../../src/netfilter/nftables/json.ts';
import { buildHost, parseDump, parseNftText, traceNode, tracePacket, validatePacket, type PacketInput, type Ruleset, type TraceOutcome } from '../../src/netfilter/index.ts';
import { FIXTURES } from '../support/paths.ts';

const NFT = parseNftJson(readFileSync(join(FIXTURES, 'nft', 'kube-mini.json'), 'utf8')).ruleset;
const HOST = (() => {
  const h = buildHost({ interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }], routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }], forwarding: true });
  assert.ok(h.ok);
  return h.host;
})();
const EMPTY = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n').ruleset;
const NO_IPTABLES: Ruleset = { ...EMPTY, tables: [] };

function trace(input: PacketInput, iptables = NO_IPTABLES): TraceOutcome[] {
  const v = validatePacket(input);
  assert.ok(v.ok);
  return [...tracePacket(iptables, v.packet, { host: HOST, nftables: NFT }).outcomes];
}

const keys = (o: TraceOutcome): string[] => o.events.map((e) => `${e.family ?? 'iptables'} ${e.table} ${e.chain} ${e.kind === 'policy' ? 'policy' : `#${e.rule}`} ${e.verdict}`);

test('a ClusterIP: vmap to the service, numgen picks an endpoint (1/2 each), dnat, the forward reject of one endpoint, masquerade by mark', () => {
  const out = trace({ src: '192.0.2.10', dst: '203.0.113.80', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' });
  assert.equal(out.length, 2);
  const fwd = out.find((o) => o.disposition === 'FORWARDED')!;
  const rej = out.find((o) => o.disposition === 'REJECTED')!;
  assert.equal(fwd.probability, 0.5);
  assert.equal(rej.probability, 0.5);
  assert.deepEqual(keys(fwd), [
    'ip kp nat-prerouting #1 goto svc-web',
    'ip kp svc-web #1 goto ep-a',
    'ip kp ep-a #1 continue',
    'ip kp ep-a #2 accept',
    'ip kp filter-forward policy accept',
    'inet fw forward #1 accept',
    'ip kp nat-postrouting #1 accept',
  ]);
  assert.deepEqual([fwd.packet['src'], fwd.packet['dst'], fwd.packet['dport'], fwd.packet['mark']], ['198.51.100.1', '198.51.100.11', 8080, '0x4000']);
  assert.deepEqual(keys(rej), ['ip kp nat-prerouting #1 goto svc-web', 'ip kp svc-web #1 goto ep-b', 'ip kp ep-b #1 accept', 'ip kp filter-forward #2 drop']);
  assert.equal(rej.packet['dst'], '198.51.100.12');
  assert.equal(fwd.events[0]!.language, 'nftables');
  assert.equal(typeof fwd.events[0]!.handle, 'number');
});

test('an accept in one base chain does not stop another: inet fw input policy drop after nothing accepted', () => {
  const ssh = trace({ src: '192.0.2.10', dst: '192.0.2.1', protocol: 'tcp', sport: 40000, dport: 22, inInterface: 'eth0' });
  assert.deepEqual(ssh.map((o) => [o.disposition, keys(o)]), [['DELIVERED_LOCAL', ['ip kp nat-prerouting policy accept', 'inet fw input #1 accept']]]);
  const telnet = trace({ src: '192.0.2.10', dst: '192.0.2.1', protocol: 'tcp', sport: 40000, dport: 23, inInterface: 'eth0' });
  assert.deepEqual(telnet.map((o) => [o.disposition, keys(o)]), [['DROPPED', ['ip kp nat-prerouting policy accept', 'inet fw input policy drop']]]);
});

test('limit: both outcomes, each saying what it assumed', () => {
  const out = trace({ src: '192.0.2.10', dst: '192.0.2.1', protocol: 'icmp', icmpType: 8, inInterface: 'eth0' });
  assert.equal(out.length, 2);
  const passed = out.find((o) => o.disposition === 'DELIVERED_LOCAL')!;
  const limited = out.find((o) => o.disposition === 'DROPPED')!;
  assert.ok(passed.assumptions.some((a) => /limit 5\/second: assumed the packet passes/.test(a)));
  assert.ok(limited.assumptions.some((a) => /does not pass/.test(a)));
  assert.equal(passed.probability, null);
});

test('ct state established,related accept for an established reply', () => {
  const out = trace({ src: '198.51.100.11', dst: '192.0.2.10', protocol: 'tcp', sport: 8080, dport: 40000, inInterface: 'eth1', state: 'ESTABLISHED' });
  assert.deepEqual(out.map((o) => [o.disposition, keys(o)]), [['FORWARDED', ['ip kp filter-forward policy accept', 'inet fw forward #2 accept']]]);
});

test("iptables' FORWARD policy DROP drops what the native tables accepted; on a priority tie the nft chain runs first (registered later), as in the kernel", () => {
  const iptables = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n').ruleset;
  const v = validatePacket({ src: '192.0.2.10', dst: '198.51.100.20', protocol: 'tcp', sport: 40000, dport: 443, inInterface: 'eth0' });
  assert.ok(v.ok);
  const r = tracePacket(iptables, v.packet, { host: HOST, nftables: NFT });
  assert.deepEqual(r.outcomes.map((o) => [o.disposition, keys(o)]), [
    ['DROPPED', ['ip kp nat-prerouting policy accept', 'ip kp filter-forward policy accept', 'inet fw forward #1 accept', 'iptables filter FORWARD policy DROP']],
  ]);
  assert.ok(r.warnings.some((w) => /at FORWARD, iptables filter and nft inet fw forward share priority 0/.test(w)), r.warnings.join('\n'));
});

test('what a trace keeps with a ruleset (hook order, tie warnings, compiled literals and sets) never carries over to a trace with another dump, backend or ruleset copy', () => {
  const input: PacketInput = { src: '192.0.2.10', dst: '203.0.113.80', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' };
  const v = validatePacket(input);
  assert.ok(v.ok);
  const run = (iptables: Ruleset, nftables = NFT, host = HOST) => tracePacket(iptables, v.packet, { host, nftables });
  const first = run(NO_IPTABLES);
  const drop = parseDump('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n').ruleset;
  const withDrop = run(drop);
  assert.deepEqual(withDrop.outcomes.map((o) => o.disposition).sort(), ['DROPPED', 'REJECTED']);
  assert.ok(withDrop.warnings.some((w) => /share priority 0/.test(w)));
  // Legacy xtables: the same nft ruleset and dump, but its own hook order and warnings.
  const legacy = run(drop, NFT, { ...HOST, backend: 'legacy' });
  assert.deepEqual(legacy.outcomes.map((o) => o.disposition).sort(), ['DROPPED', 'REJECTED']);
  assert.deepEqual(run(NO_IPTABLES), first);
  // A fresh parse of the same ruleset (nothing cached for it yet) traces the same.
  const fresh = parseNftJson(readFileSync(join(FIXTURES, 'nft', 'kube-mini.json'), 'utf8')).ruleset;
  assert.deepEqual(run(NO_IPTABLES, fresh), first);
  assert.equal(first.warnings.some((w) => /share priority/.test(w)), false);
});

test('a name where an address belongs (ip saddr myhost / 10.0.0.300): a warning, and the trace explores it both ways, each path with one assumption per name', () => {
  const r = parseNftText(`table ip t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip saddr 10.0.0.300 drop\n\t\tip saddr myhost.example drop\n\t}\n}\n`);
  assert.deepEqual(r.diagnostics.map((d) => [d.line, d.severity, d.code]), [[4, 'warning', 'address-not-literal'], [5, 'warning', 'address-not-literal']]);
  assert.match(r.diagnostics[1]!.message, /"myhost\.example", which is not an IPv4 address: nft resolves it as a host name/);
  const v = validatePacket({ src: '192.0.2.5', dst: '127.0.0.1', protocol: 'tcp', sport: 1, dport: 2, inInterface: 'lo' });
  assert.ok(v.ok);
  const t = traceNode({ nftables: r.ruleset }, v.packet, {});
  assert.deepEqual(t.outcomes.map((o) => o.disposition).sort(), ['DELIVERED_LOCAL', 'DROPPED', 'DROPPED']);
  for (const o of t.outcomes) {
    assert.equal(o.probability, null, 'a path through an unknown value has no probability');
    for (const name of ['10.0.0.300', 'myhost.example']) {
      const said = o.assumptions.filter((a) => a.includes(`"${name}"`));
      assert.ok(said.length <= 1, `one assumption per name on a path, not both ways: ${said.join(' | ')}`);
    }
  }
  // The same from nft -j JSON.
  const j = parseNftJson(JSON.stringify({ nftables: [{ table: { family: 'ip', name: 't', handle: 1 } }, { chain: { family: 'ip', table: 't', name: 'c', handle: 2 } }, { rule: { family: 'ip', table: 't', chain: 'c', handle: 3, expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: 'myhost.example' } }, { drop: null }] } }] }));
  assert.deepEqual(j.diagnostics.map((d) => d.code), ['address-not-literal']);
});
