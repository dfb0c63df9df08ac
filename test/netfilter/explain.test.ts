// Explanations for the well-known situations: each names the deciding rule
// or policy, the likely origin and a concrete fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHost, parseDump, tracePacket, validatePacket, type HostFile, type PacketInput } from '../../src/netfilter/index.ts';

const HOST: HostFile = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'cni0', addresses: ['10.244.0.1/24'] },
  ],
  routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }],
  forwarding: true,
};

function explain(dump: string, packet: PacketInput, host: HostFile = HOST) {
  const h = buildHost(host);
  assert.ok(h.ok);
  const v = validatePacket(packet);
  assert.ok(v.ok);
  const r = tracePacket(parseDump(dump).ruleset, v.packet, { host: h.host, explain: true, node: 'n1' });
  assert.equal(r.outcomes.length, 1);
  return r.outcomes[0]!;
}

test('a Service without endpoints: kube-proxy REJECT, origin and what to check', () => {
  const o = explain(
    `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.9/32 -p tcp -m comment --comment "default/empty:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
`,
    { src: '10.244.0.5', dst: '10.96.0.9', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'cni0' },
  );
  assert.equal(o.disposition, 'REJECTED');
  const ex = o.explanation!;
  assert.match(ex.summary, /rejected on n1 by filter KUBE-SERVICES rule 1/);
  assert.match(ex.origin!, /no ready endpoints/);
  assert.match(ex.fix![0]!, /kubernetes\.io\/service-name/);
});

test('a NodePort dropped in INPUT: origin and the ACCEPT to add', () => {
  const o = explain(
    `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`,
    { src: '203.0.113.9', dst: '192.0.2.1', protocol: 'tcp', sport: 40000, dport: 31080, inInterface: 'eth0' },
  );
  assert.equal(o.disposition, 'DROPPED');
  const ex = o.explanation!;
  assert.equal(ex.decidedBy, 'the filter INPUT policy DROP');
  assert.match(ex.origin!, /NodePort \(31080\) is dropped by the node's INPUT rules/);
  assert.deepEqual(ex.fix, ['iptables -I INPUT -p tcp --dport 31080 -j ACCEPT']);
  assert.ok(ex.nearMisses.includes('filter INPUT rule 1 would ACCEPT, but the destination port is 31080, not 22'));
});

test('ip_forward off: routing drops the packet; the fix is the sysctl', () => {
  const o = explain(
    `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`,
    { src: '10.244.0.5', dst: '198.51.100.7', protocol: 'tcp', sport: 40000, dport: 443, inInterface: 'cni0' },
    { ...HOST, forwarding: false },
  );
  assert.equal(o.disposition, 'NO_ROUTE');
  const ex = o.explanation!;
  assert.equal(ex.decidedBy, 'routing');
  assert.match(ex.origin!, /forwarding is disabled/);
  assert.deepEqual(ex.fix, ['sysctl -w net.ipv4.ip_forward=1']);
});

test('an accepted packet names the ACCEPT rule and lists DROPs it escaped', () => {
  const o = explain(
    `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`,
    { src: '198.51.100.9', dst: '192.0.2.1', protocol: 'tcp', sport: 40000, dport: 22, inInterface: 'eth0' },
  );
  assert.equal(o.disposition, 'DELIVERED_LOCAL');
  assert.match(o.explanation!.decidedBy, /filter INPUT rule 2/);
  assert.deepEqual(o.explanation!.nearMisses, ['filter INPUT rule 1 would DROP, but the source 198.51.100.9 is not in 203.0.113.0/24']);
});
