// libnftables JSON (`nft -j list ruleset`) into the nftables model: each
// object and statement kind, table-driven with inline documents, and every
// JSON dump of the corpus read without an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftJson, parseNftJsonSteps } from '../../src/netfilter/nftables/json.ts';
import { printNftRuleset } from '../../src/netfilter/nftables/printer.ts';
import type { NftStmt } from '../../src/netfilter/nftables/model.ts';
import { CORPUS } from '../support/paths.ts';

const doc = (...items: unknown[]): string => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6', json_schema_version: 1 } }, ...items] });
const T = { table: { family: 'inet', name: 't', handle: 1 } };
const rule = (...expr: unknown[]) => ({ rule: { family: 'inet', table: 't', chain: 'c', handle: 9, expr } });
const CHAIN = { chain: { family: 'inet', table: 't', name: 'c', handle: 2 } };

function stmtsOf(...expr: unknown[]): readonly NftStmt[] {
  const r = parseNftJson(doc(T, CHAIN, rule(...expr)));
  assert.deepEqual(r.diagnostics, []);
  return r.ruleset.tables[0]!.chains[0]!.rules[0]!.stmts;
}

test('tables, base chains with their numeric priorities (printed as nft lists them), regular chains, handles', () => {
  const r = parseNftJson(
    doc(
      { table: { family: 'ip', name: 'kube-proxy', handle: 3, comment: 'rules for kube-proxy' } },
      { chain: { family: 'ip', table: 'kube-proxy', name: 'nat-prerouting', handle: 4, type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
      { chain: { family: 'ip', table: 'kube-proxy', name: 'filter-forward', handle: 5, type: 'filter', hook: 'forward', prio: -110, policy: 'drop' } },
      { chain: { family: 'ip', table: 'kube-proxy', name: 'services', handle: 6 } },
    ),
  );
  assert.deepEqual(r.diagnostics, []);
  const t = r.ruleset.tables[0]!;
  assert.equal(t.comment, 'rules for kube-proxy');
  assert.deepEqual(t.chains.map((c) => [c.name, c.handle, c.base?.type, c.base?.hook, c.base?.priority, c.base?.policy]), [
    ['nat-prerouting', 4, 'nat', 'prerouting', -100, 'accept'],
    ['filter-forward', 5, 'filter', 'forward', -110, 'drop'],
    ['services', 6, undefined, undefined, undefined, undefined],
  ]);
  // dstnat is a name nft uses at prerouting only: -110 at forward is listed as the number.
  assert.match(printNftRuleset(r.ruleset), /type nat hook prerouting priority dstnat; policy accept;[\s\S]*type filter hook forward priority -110; policy drop;/);
});

const STMTS: { name: string; expr: unknown[]; want: unknown[] }[] = [
  {
    name: 'match on a payload field, accept',
    expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } }, { accept: null }],
    want: [{ kind: 'match', op: '==', left: { kind: 'payload', protocol: 'tcp', field: 'dport' }, right: { kind: 'literal', value: 22 } }, { kind: 'verdict', verdict: 'accept' }],
  },
  {
    name: 'ct state in a set (JSON\'s spelling of a flag list), jump',
    expr: [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { jump: { target: 'x' } }],
    want: [
      { kind: 'match', op: 'implicit', left: { kind: 'ct', key: 'state' }, right: { kind: 'flags', values: ['established', 'related'] } },
      { kind: 'verdict', verdict: 'jump', target: 'x' },
    ],
  },
  {
    name: 'kube-proxy service dispatch: concatenated key, vmap of a named map',
    expr: [{ vmap: { key: { concat: [{ payload: { protocol: 'ip', field: 'daddr' } }, { meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] }, data: '@service-ips' } }],
    want: [{ kind: 'vmap', key: { kind: 'concat', items: [{ kind: 'payload', protocol: 'ip', field: 'daddr' }, { kind: 'meta', key: 'l4proto' }, { kind: 'payload', protocol: 'th', field: 'dport' }] }, data: { kind: 'setRef', name: 'service-ips' } }],
  },
  {
    name: 'numgen random mod 2 vmap of an anonymous map of gotos',
    expr: [{ vmap: { key: { numgen: { mode: 'random', mod: 2, offset: 0 } }, data: { set: [[0, { goto: { target: 'ep-a' } }], [1, { goto: { target: 'ep-b' } }]] } } }],
    want: [
      {
        kind: 'vmap',
        key: { kind: 'numgen', mode: 'random', mod: 2, offset: 0 },
        data: { kind: 'set', elements: [{ key: { kind: 'literal', value: 0 }, data: { kind: 'verdict', verdict: 'goto', target: 'ep-a' } }, { key: { kind: 'literal', value: 1 }, data: { kind: 'verdict', verdict: 'goto', target: 'ep-b' } }] },
      },
    ],
  },
  {
    name: 'mark arithmetic and mark set',
    expr: [
      { match: { op: '==', left: { '&': [{ meta: { key: 'mark' } }, 16384] }, right: 0 } },
      { mangle: { key: { meta: { key: 'mark' } }, value: { '|': [{ meta: { key: 'mark' } }, 16384] } } },
    ],
    want: [
      { kind: 'match', op: '==', left: { kind: 'binop', op: '&', left: { kind: 'meta', key: 'mark' }, right: { kind: 'literal', value: 16384 } }, right: { kind: 'literal', value: 0 } },
      { kind: 'mangle', key: { kind: 'meta', key: 'mark' }, value: { kind: 'binop', op: '|', left: { kind: 'meta', key: 'mark' }, right: { kind: 'literal', value: 16384 } } },
    ],
  },
  {
    name: 'fib daddr type local, counter with values',
    expr: [{ match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } }, { counter: { packets: 3, bytes: 180 } }],
    want: [{ kind: 'match', op: '==', left: { kind: 'fib', result: 'type', flags: ['daddr'] }, right: { kind: 'literal', value: 'local' } }, { kind: 'counter', packets: 3, bytes: 180 }],
  },
  {
    name: 'dnat to address and port, masquerade fully-random',
    expr: [{ dnat: { addr: '10.0.0.1', port: 80 } }, { masquerade: { flags: ['fully-random'] } }],
    want: [
      { kind: 'nat', type: 'dnat', addr: { kind: 'literal', value: '10.0.0.1' }, port: { kind: 'literal', value: 80 }, flags: [] },
      { kind: 'nat', type: 'masquerade', flags: ['fully-random'] },
    ],
  },
  {
    name: 'dnat ip addr . port to a map in an inet table',
    expr: [{ dnat: { family: 'ip', addr: { map: { key: { concat: [{ payload: { protocol: 'ip', field: 'daddr' } }, { payload: { protocol: 'tcp', field: 'dport' } }] }, data: '@m' } }, type_flags: ['addr', 'port'] } }],
    want: [
      {
        kind: 'nat',
        type: 'dnat',
        family: 'ip',
        addr: { kind: 'map', key: { kind: 'concat', items: [{ kind: 'payload', protocol: 'ip', field: 'daddr' }, { kind: 'payload', protocol: 'tcp', field: 'dport' }] }, data: { kind: 'setRef', name: 'm' } },
        typeAddrPort: true,
        flags: [],
      },
    ],
  },
  {
    name: 'reject with icmpx, notrack, queue, log',
    expr: [{ reject: { type: 'icmpx', expr: 'port-unreachable' } }, { notrack: null }, { queue: { num: 3, flags: ['bypass'] } }, { log: { prefix: 'x ' } }],
    want: [
      { kind: 'reject', type: 'icmpx', code: 'port-unreachable' },
      { kind: 'notrack' },
      { kind: 'queue', num: { kind: 'literal', value: 3 }, flags: ['bypass'] },
      { kind: 'log', props: { prefix: 'x ' } },
    ],
  },
  {
    name: 'session affinity: update @set with a timeout element',
    expr: [{ set: { op: 'update', elem: { elem: { val: { payload: { protocol: 'ip', field: 'saddr' } }, timeout: 10800 } }, set: '@affinity' } }],
    want: [{ kind: 'setUpdate', op: 'update', set: 'affinity', elem: { kind: 'elem', value: { kind: 'payload', protocol: 'ip', field: 'saddr' }, timeout: 10800 } }],
  },
  {
    name: 'limit over and quota, ct original address, prefix and range',
    expr: [
      { limit: { rate: 10, burst: 5, per: 'second', inv: true } },
      { quota: { val: 2, val_unit: 'mbytes', inv: false } },
      { match: { op: '==', left: { ct: { key: 'saddr', dir: 'original', family: 'ip' } }, right: { prefix: { addr: '10.0.0.0', len: 8 } } } },
      { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { range: [1000, 2000] } } },
    ],
    want: [
      { kind: 'limit', rate: 10, per: 'second', over: true },
      { kind: 'quota', bytes: 2 * 1024 * 1024, over: false },
      { kind: 'match', op: '==', left: { kind: 'ct', key: 'saddr', dir: 'original', family: 'ip' }, right: { kind: 'prefix', addr: { kind: 'literal', value: '10.0.0.0' }, len: 8 } },
      { kind: 'match', op: '==', left: { kind: 'payload', protocol: 'tcp', field: 'dport' }, right: { kind: 'range', from: { kind: 'literal', value: 1000 }, to: { kind: 'literal', value: 2000 } } },
    ],
  },
];

for (const row of STMTS) test(`statement: ${row.name}`, () => assert.deepEqual(stmtsOf(...row.expr), row.want));

test('sets and maps: types, typeof, flags, elements with timeouts, comments and map data', () => {
  const r = parseNftJson(
    doc(
      T,
      { map: { family: 'inet', table: 't', name: 'service-ips', handle: 7, type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict', comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic', elem: [[{ elem: { val: { concat: ['172.30.0.41', 'tcp', 80] }, comment: 'ns1/svc1:p80' } }, { goto: { target: 'service-ULMVA6XW-ns1/svc1/tcp/p80' } }]] } },
      { set: { family: 'inet', table: 't', name: 'affinity', handle: 8, type: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeout: 10800 } },
      { set: { family: 'inet', table: 't', name: 'vlans', handle: 9, type: { typeof: { payload: { protocol: 'vlan', field: 'id' } } } } },
    ),
  );
  assert.deepEqual(r.diagnostics, []);
  const [map, aff, vlans] = r.ruleset.tables[0]!.sets;
  assert.deepEqual([map!.kind, map!.keyType, map!.dataType, map!.comment], ['map', ['ipv4_addr', 'inet_proto', 'inet_service'], ['verdict'], 'ClusterIP, ExternalIP and LoadBalancer IP traffic']);
  assert.deepEqual(map!.elements[0], {
    key: { kind: 'concat', items: [{ kind: 'literal', value: '172.30.0.41' }, { kind: 'literal', value: 'tcp' }, { kind: 'literal', value: 80 }] },
    comment: 'ns1/svc1:p80',
    data: { kind: 'verdict', verdict: 'goto', target: 'service-ULMVA6XW-ns1/svc1/tcp/p80' },
  });
  assert.deepEqual([aff!.flags, aff!.timeout], [['dynamic', 'timeout'], 10800]);
  assert.deepEqual(vlans!.keyTypeof, [{ kind: 'payload', protocol: 'vlan', field: 'id' }]);
});

test('objects, flowtables and rule positions', () => {
  const r = parseNftJson(
    doc(T, CHAIN, rule({ accept: null }), rule({ drop: null }), { counter: { family: 'inet', table: 't', name: 'cnt', handle: 11, packets: 0, bytes: 0 } }, { 'ct helper': { family: 'inet', table: 't', name: 'ftp', handle: 12, type: 'ftp', protocol: 'tcp', l3proto: 'inet' } }, { flowtable: { family: 'inet', table: 't', name: 'ft', handle: 13, hook: 'ingress', prio: 0, dev: ['eth0', 'eth1'] } }),
  );
  assert.deepEqual(r.diagnostics, []);
  const t = r.ruleset.tables[0]!;
  assert.deepEqual(t.chains[0]!.rules.map((x) => x.position), [1, 2]);
  assert.deepEqual(t.objects.map((o) => [o.type, o.name]), [['counter', 'cnt'], ['ct helper', 'ftp']]);
  assert.deepEqual(t.flowtables.map((f) => [f.name, f.devices]), [['ft', ['eth0', 'eth1']]]);
});

test('bad input: not JSON (with line and column), not nftables JSON, unknown statements kept with a warning', () => {
  const bad = parseNftJson('{"nftables": [\n  {"table": {"family": "ip", "name": "x"}},\n  oops\n]}');
  assert.equal(bad.diagnostics[0]!.code, 'invalid-json');
  assert.equal(bad.diagnostics[0]!.line, 3);
  assert.ok(bad.diagnostics[0]!.column >= 1);
  assert.equal(parseNftJson('[1,2]').diagnostics[0]!.code, 'not-nftables-json');
  const r = parseNftJson(doc(T, CHAIN, rule({ 'fancy-new-thing': { x: 1 } })));
  assert.equal(r.ruleset.tables[0]!.chains[0]!.rules[0]!.stmts[0]!.kind, 'unknown');
  assert.equal(r.diagnostics[0]!.severity, 'warning');
  assert.ok(r.diagnostics[0]!.line >= 1);
});

const jsonDir = join(CORPUS, 'nft-json');
test('every JSON dump of the corpus reads without an error', { skip: existsSync(jsonDir) ? false : 'no corpus' }, () => {
  for (const f of readdirSync(jsonDir).filter((x) => x.endsWith('.json'))) {
    const r = parseNftJson(readFileSync(join(jsonDir, f), 'utf8'));
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], f);
    assert.ok(r.ruleset.tables.length > 0, f);
  }
});

test('a big nft -j text is read item by item, pausing while it is scanned: the same model, errors at the same place', () => {
  const items = Array.from({ length: 3000 }, (_, i) => `{"rule": {"family": "ip", "table": "x", "chain": "c", "handle": ${i + 3}, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "192.0.2.${i % 250}"}}, {"comment": "${'pad '.repeat(200)}"}, {"accept": null}]}}`);
  const text = `{"nftables": [\n{"table": {"family": "ip", "name": "x", "handle": 1}},\n{"chain": {"family": "ip", "table": "x", "name": "c", "handle": 2}},\n${items.join(',\n')}\n]}\n`;
  assert.ok(text.length > 2 << 20, 'more than two scan slices');
  let pauses = 0;
  const steps = parseNftJsonSteps(text);
  let r = steps.next();
  for (; !r.done; r = steps.next()) pauses++;
  const stepped = r.value;
  assert.ok(pauses >= 2 + Math.floor(3000 / 256), `${pauses} pauses`);
  // The item-by-item read gives what one JSON.parse of the whole text gives (the fallback, forced by a second key).
  const whole = parseNftJson(text.replace(/\]\}\n$/, '], "x": 1}\n'));
  assert.deepEqual(stepped, whole);
  assert.equal(stepped.ruleset.tables[0]!.chains[0]!.rules.length, 3000);
  assert.equal(stepped.ruleset.tables[0]!.chains[0]!.rules[2999]!.line, 3003);
  // A broken item deep in the text: the error is where JSON.parse of the whole text puts it.
  const broken = text.replace('"handle": 2003,', '"handle": 2003,,');
  const d = parseNftJson(broken).diagnostics;
  assert.equal(d.length, 1);
  assert.equal(d[0]!.code, 'invalid-json');
  assert.equal(d[0]!.line, 2004);
  // Two commas between items, or one after the last: not JSON, and said so.
  assert.equal(parseNftJson(text.replace('},\n{"rule"', '},,\n{"rule"')).diagnostics[0]!.code, 'invalid-json');
  assert.equal(parseNftJson(text.replace(/\}\n\]\}\n$/, '},\n]}\n')).diagnostics[0]!.code, 'invalid-json');
});
