// GET /rules?family=nft: which rules of an nft ruleset mention an address,
// a port, a protocol or a Service (searchNftRules), on kube-proxy's
// nftables-mode layout and an inline firewalld-like table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftText, searchNftRules, type NftRuleFilter } from '../../src/netfilter/index.ts';
import { FIXTURES } from '../support/paths.ts';

const KUBE = parseNftText(readFileSync(join(FIXTURES, 'nft', 'kube-proxy-mini.nft'), 'utf8')).ruleset;
const EP11 = 'endpoint-5OJB2KTY-default/web/tcp/http__198.51.100.11/8080';
const EP12 = 'endpoint-5XTHE2VS-default/web/tcp/http__198.51.100.12/8080';
const SVC = 'service-ULMVA6XW-default/web/tcp/http';
const EXT = 'external-ULMVA6XW-default/web/tcp/http';

const cases: [string, NftRuleFilter, string[]][] = [
  ['a ClusterIP: in a named set, a prefix, a verdict map key and a plain match', { ip: '203.0.113.80' }, ['cluster-ips-check#1', 'cluster-ips-check#2', 'services#1', `${SVC}#1`]],
  ['an endpoint: its source match and the address NAT rewrites to', { ip: '198.51.100.11' }, [`${EP11}#1`, `${EP11}#2`]],
  ['a negated comparison does not mention its values', { ip: '198.51.100.5' }, []],
  ['an address no rule compares', { ip: '10.1.0.5' }, []],
  ['a port in a concatenated map key and in a match', { port: 80 }, ['services#1', `${SVC}#1`]],
  ['a NodePort in the nodeport map', { port: 30080 }, ['services#2']],
  ['the port NAT rewrites to', { port: 8080 }, [`${EP11}#2`, `${EP12}#2`]],
  ['a protocol only in a map element', { proto: 'udp' }, ['service-endpoints-check#1']],
  ['address and port together', { ip: '203.0.113.80', port: 80 }, ['services#1', `${SVC}#1`]],
  ['a Service: its chains and the map rules that lead there', { service: 'default/web' }, ['services#1', 'services#2', `${EXT}#1`, `${EXT}#2`, `${SVC}#1`, `${SVC}#2`, `${EP11}#1`, `${EP11}#2`, `${EP12}#1`, `${EP12}#2`]],
  ['a Service without endpoints: named in the no-endpoint map element\'s comment', { service: 'kube-system/kube-dns' }, ['service-endpoints-check#1']],
  ['a Service port', { service: 'kube-system/kube-dns:dns' }, ['service-endpoints-check#1']],
  ['a Service name prefix is not a Service', { service: 'kube-system/kube' }, []],
  ['table, chain prefix and target (through a verdict map)', { table: 'ip kube-proxy', chain: 'serv*', target: SVC }, ['services#1']],
  ['a verdict', { target: 'reject' }, ['cluster-ips-check#1', 'reject-chain#1']],
];

for (const [name, filter, want] of cases) {
  test(`searchNftRules: ${name}`, () => {
    assert.deepEqual(searchNftRules(KUBE, filter).map((h) => `${h.chain.name}#${h.rule.position}`), want);
  });
}

test('searchNftRules: anonymous sets, ranges, ip6 and inet tables, tcp header fields as the protocol', () => {
  const rs = parseNftText(`table inet fw {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tip saddr { 192.0.2.0/25, 198.51.100.7 } tcp dport { 22, 8000-8999 } accept
\t\tip6 daddr 2001:db8::/32 udp dport 53 accept
\t\tip saddr 203.0.113.1-203.0.113.9 drop
\t}
}
`).ruleset;
  const find = (f: NftRuleFilter) => searchNftRules(rs, f).map((h) => h.rule.position);
  assert.deepEqual(find({ ip: '192.0.2.100' }), [1]);
  assert.deepEqual(find({ ip: '192.0.2.200' }), []);
  assert.deepEqual(find({ ip: '198.51.100.7' }), [1]);
  assert.deepEqual(find({ ip: '2001:db8:5::1' }), [2]);
  assert.deepEqual(find({ ip: '203.0.113.5' }), [3]);
  assert.deepEqual(find({ port: 8443 }), [1]);
  assert.deepEqual(find({ port: 9000 }), []);
  assert.deepEqual(find({ proto: 'tcp' }), [1]);
  assert.deepEqual(find({ proto: 'udp', port: 53 }), [2]);
  assert.deepEqual(find({ table: 'ip fw' }), [], 'tables are named family and name');
});

test('searchNftRules: target takes what a rule does, in nft\'s words', () => {
  const find = (target: string) => searchNftRules(KUBE, { target }).map((h) => `${h.chain.name}#${h.rule.position}`);
  assert.deepEqual(find('dnat'), [`${EP11}#2`, `${EP12}#2`]);
  assert.deepEqual(find('MASQUERADE'), ['masquerading#3']);
  assert.deepEqual(find('drop'), ['cluster-ips-check#2']);
});
