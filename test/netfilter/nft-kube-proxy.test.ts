// kube-proxy's nftables mode: Services read back from the maps and chains,
// and packets traced through them. test/fixtures/nft/kube-proxy-mini.json is
// `nft -j list ruleset` of kube-proxy-mini.nft (kube-proxy's layout, our addresses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftJson } from '../../src/netfilter/nftables/json.ts';
import { extractNftServices } from '../../src/netfilter/analysis/nft-services.ts';
import { buildHost, parseDump, tracePacket, validatePacket, type PacketInput, type Ruleset, type TraceOutcome } from '../../src/netfilter/index.ts';
import { FIXTURES } from '../support/paths.ts';

const NFT = parseNftJson(readFileSync(join(FIXTURES, 'nft', 'kube-proxy-mini.json'), 'utf8')).ruleset;
const host = buildHost({ interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'cni0', addresses: ['198.51.100.1/24'] }], routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }], forwarding: true });
assert.ok(host.ok);
const NONE: Ruleset = { ...parseDump('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n').ruleset, tables: [] };

function trace(input: PacketInput): TraceOutcome[] {
  const v = validatePacket(input);
  assert.ok(v.ok);
  return [...tracePacket(NONE, v.packet, { host: host.ok ? host.host : undefined, nftables: NFT }).outcomes];
}
const brief = (o: TraceOutcome) => `${o.probability} ${o.disposition} ${o.packet['src']}:${o.packet['sport']}>${o.packet['dst']}:${o.packet['dport']} mark=${o.packet['mark']}`;

test('Services: ClusterIP, NodePort, external IP, endpoints with probabilities, masquerade and no-endpoint rules', () => {
  const s = extractNftServices(NFT);
  assert.deepEqual(
    s.map((x) => [x.name, x.protocol, x.clusterIP, x.port, x.nodePort, x.externalIPs, x.endpoints.map((e) => [e.ip, e.port, e.probability, e.hairpinMasquerade]), x.masqueradeRules.length, x.noEndpointRules.length]),
    [
      ['default/web:http', 'tcp', '203.0.113.80', 80, 30080, ['192.0.2.200'], [['198.51.100.11', 8080, 0.5, true], ['198.51.100.12', 8080, 0.5, true]], 2, 0],
      ['kube-system/kube-dns:dns', 'udp', '203.0.113.10', 53, null, [], [], 0, 1],
    ],
  );
});

test('a ClusterIP from outside the pod network: marked for masquerade, one of two endpoints (1/2 each), masqueraded on the way out', () => {
  const out = trace({ src: '192.0.2.10', dst: '203.0.113.80', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' });
  assert.deepEqual(out.map(brief).sort(), [
    '0.5 FORWARDED 198.51.100.1:40000>198.51.100.11:8080 mark=0x0',
    '0.5 FORWARDED 198.51.100.1:40000>198.51.100.12:8080 mark=0x0',
  ]);
  assert.ok(out[0]!.events.some((e) => e.chain === 'masquerading' && e.verdict === 'accept'));
});

test('a NodePort on the node address goes through external-… (marked) to an endpoint', () => {
  const out = trace({ src: '192.0.2.10', dst: '192.0.2.1', protocol: 'tcp', sport: 40000, dport: 30080, inInterface: 'eth0' });
  assert.deepEqual(out.map(brief).sort(), [
    '0.5 FORWARDED 198.51.100.1:40000>198.51.100.11:8080 mark=0x0',
    '0.5 FORWARDED 198.51.100.1:40000>198.51.100.12:8080 mark=0x0',
  ]);
});

test('a Service without endpoints is rejected by the filter chains; an unknown port of a ClusterIP too; an unallocated ClusterIP dropped', () => {
  const dns = trace({ src: '198.51.100.20', dst: '203.0.113.10', protocol: 'udp', sport: 40000, dport: 53, inInterface: 'cni0' });
  assert.deepEqual(dns.map((o) => o.disposition), ['REJECTED']);
  assert.ok(dns[0]!.events.some((e) => e.chain === 'reject-chain'));
  const badPort = trace({ src: '198.51.100.20', dst: '203.0.113.80', protocol: 'tcp', sport: 40000, dport: 81, inInterface: 'cni0' });
  assert.deepEqual(badPort.map((o) => [o.disposition, o.events.at(-1)?.chain]), [['REJECTED', 'cluster-ips-check']]);
  const unallocated = trace({ src: '198.51.100.20', dst: '203.0.113.99', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'cni0' });
  assert.deepEqual(unallocated.map((o) => [o.disposition, o.events.at(-1)?.chain, o.events.at(-1)?.verdict]), [['DROPPED', 'cluster-ips-check', 'drop']]);
});

test('a pod to the ClusterIP is not marked; hairpin to itself is', () => {
  const pod = trace({ src: '198.51.100.20', dst: '203.0.113.80', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'cni0' });
  assert.ok(pod.every((o) => o.packet['src'] === '198.51.100.20'), pod.map(brief).join('\n'));
  const hairpin = trace({ src: '198.51.100.11', dst: '203.0.113.80', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'cni0' });
  const self = hairpin.find((o) => o.packet['dst'] === '198.51.100.11')!;
  assert.equal(self.packet['src'], '198.51.100.1', 'masqueraded: the endpoint talks to itself');
});
