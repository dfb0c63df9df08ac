// Issue 16: a table's chain graph and the diff of two nodes as Drawings
// (boxes, arrows, groups), asserted on their structure, not on printed text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDump, parseNftText } from '../../src/netfilter/index.ts';
import { Shape, Tone, type Drawing, type DrawNode } from '../../src/netfilter/analysis/draw/drawing.ts';
import { drawChainGraph, chainBoxId, groupBoxId } from '../../src/netfilter/analysis/draw/chain-graph.ts';
import { drawNftRulesetDiff, drawRulesetDiff } from '../../src/netfilter/analysis/draw/diff-graph.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';

const ipt = (text: string) => {
  const r = parseDump(text);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return r.ruleset;
};
const table = (text: string, name: 'nat' | 'filter' = 'filter') => ipt(text).tables.find((t) => t.name === name)!;
const nft = (text: string) => {
  const r = parseNftText(text);
  assert.deepEqual(r.diagnostics, []);
  return r.ruleset;
};

const box = (d: Drawing, id: string): DrawNode => {
  const n = d.nodes.find((x) => x.id === id);
  assert.ok(n, `no box ${id} in ${d.nodes.map((x) => x.id).join(', ')}`);
  return n;
};
const arrows = (d: Drawing) => d.edges.map((e) => `${e.from} -> ${e.to}: ${e.label}${e.style === 'dashed' ? ' (dashed)' : ''}`).sort();

const FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:DOCKER - [0:0]
:UNUSED - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i eth0 -j DOCKER
-A FORWARD -i eth1 -g DOCKER
-A FORWARD -j MISSING
-A DOCKER-USER -j RETURN
-A DOCKER -d 172.17.0.2/32 -p tcp --dport 80 -j ACCEPT
COMMIT
`;

test('iptables: a box per chain with rules and policy, arrows counting the rules that jump (goto dashed)', () => {
  const g = drawChainGraph(table(FILTER));
  const d = g.drawing;
  assert.deepEqual(g.unknownExpand, []);
  const cases: [string, readonly string[], Shape, Tone][] = [
    ['INPUT', ['INPUT', 'policy ACCEPT · 0 rules'], Shape.Rounded, Tone.Normal],
    ['FORWARD', ['FORWARD', 'policy DROP · 5 rules'], Shape.Rounded, Tone.Drop],
    ['DOCKER', ['DOCKER', '1 rule'], Shape.Box, Tone.Normal],
    ['DOCKER-USER', ['DOCKER-USER', '1 rule'], Shape.Box, Tone.Normal],
    ['UNUSED', ['UNUSED', '0 rules'], Shape.Box, Tone.Normal],
    ['MISSING', ['MISSING', 'no such chain'], Shape.Octagon, Tone.Assumed],
  ];
  for (const [name, label, shape, tone] of cases) {
    const b = box(d, chainBoxId(name));
    assert.deepEqual([b.label, b.shape, b.tone], [label, shape, tone], name);
  }
  assert.deepEqual(arrows(d), [
    `${chainBoxId('FORWARD')} -> ${chainBoxId('DOCKER')}: 2 rules`,
    `${chainBoxId('FORWARD')} -> ${chainBoxId('DOCKER')}: goto, 1 rule (dashed)`,
    `${chainBoxId('FORWARD')} -> ${chainBoxId('DOCKER-USER')}: 1 rule`,
    `${chainBoxId('FORWARD')} -> ${chainBoxId('MISSING')}: 1 rule`,
  ]);
  // Built-in chains first in hook order, then what they reach, then the rest.
  assert.deepEqual(d.nodes.map((n) => n.label[0]), ['INPUT', 'FORWARD', 'DOCKER-USER', 'DOCKER', 'MISSING', 'OUTPUT', 'UNUSED']);
  assert.equal(box(d, chainBoxId('DOCKER')).link, 'chains/DOCKER');
  assert.match(d.title, /table filter/);
});

test('box ids are letters, digits and underscores, distinct for distinct names', () => {
  const names = ['a-b', 'a_b', 'a.b', 'a/b:c', 'ab'];
  const ids = names.map(chainBoxId);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_]+$/);
  assert.equal(new Set(ids).size, names.length);
  assert.notEqual(groupBoxId('KUBE-SEP-*'), chainBoxId('KUBE-SEP-*'));
});

const KUBE = generateKubeDump({ services: 30, seed: 1 }).text;

test('iptables kube-proxy: per-Service chains collapse into a group per kind, with counts', () => {
  const nat = ipt(KUBE).tables.find((t) => t.name === 'nat')!;
  const d = drawChainGraph(nat).drawing;
  const count = (prefix: string) => nat.chains.filter((c) => c.name.startsWith(prefix));
  for (const prefix of ['KUBE-SVC-', 'KUBE-SEP-']) {
    const chains = count(prefix);
    assert.ok(chains.length >= 20, prefix);
    const rules = chains.reduce((n, c) => n + c.rules.length, 0);
    const g = box(d, groupBoxId(`${prefix}*`));
    assert.deepEqual([g.label, g.shape, g.tone], [[`${prefix}*`, `×${chains.length} chains, ${rules.toLocaleString('en-US')} rules`], Shape.Stack, Tone.Group]);
    assert.equal(g.link, `graph?expand=${encodeURIComponent(`${prefix}*`)}`);
    assert.ok(!d.nodes.some((n) => n.label[0] !== `${prefix}*` && n.label[0]!.startsWith(prefix)), `no ${prefix} chain of its own`);
  }
  // The Services' dispatch: one arrow from KUBE-SERVICES to the group, counting its rules and chains.
  const svcs = count('KUBE-SVC-').length;
  const toSvc = d.edges.find((e) => e.from === chainBoxId('KUBE-SERVICES') && e.to === groupBoxId('KUBE-SVC-*'))!;
  assert.equal(toSvc.label, `${svcs} rules → ${svcs} chains`);
  assert.ok(d.edges.some((e) => e.from === groupBoxId('KUBE-SVC-*') && e.to === groupBoxId('KUBE-SEP-*')));
  assert.ok(d.nodes.length < 20, `${d.nodes.length} boxes`);
  assert.match(d.notes.join('\n'), /kube-proxy's per-Service/);
});

test('expand: a group by id, or a Service chain with its endpoints; the rest stays grouped; unknown names reported', () => {
  const nat = ipt(KUBE).tables.find((t) => t.name === 'nat')!;
  const svc = nat.chains.find((c) => c.name.startsWith('KUBE-SVC-') && c.rules.some((r) => r.target?.kind === 'jump' && r.target.chain.startsWith('KUBE-SEP-')))!;
  const seps = [...new Set(svc.rules.flatMap((r) => (r.target?.kind === 'jump' && r.target.chain.startsWith('KUBE-SEP-') ? [r.target.chain] : [])))];
  const cases: { expand: string[]; own: string[]; grouped: string[]; unknown: string[] }[] = [
    { expand: [svc.name], own: [svc.name, ...seps], grouped: ['KUBE-SVC-*', 'KUBE-SEP-*'], unknown: [] },
    { expand: ['KUBE-SEP-*'], own: seps, grouped: ['KUBE-SVC-*'], unknown: [] },
    { expand: ['NOPE', 'KUBE-NOPE-*'], own: [], grouped: ['KUBE-SVC-*', 'KUBE-SEP-*'], unknown: ['NOPE', 'KUBE-NOPE-*'] },
  ];
  for (const c of cases) {
    const g = drawChainGraph(nat, { expand: c.expand });
    assert.deepEqual(g.unknownExpand, c.unknown, c.expand.join());
    for (const n of c.own) box(g.drawing, chainBoxId(n));
    for (const id of c.grouped) box(g.drawing, groupBoxId(id));
    // A group's link expands it too, keeping what is expanded already.
    for (const id of c.grouped) assert.equal(box(drawChainGraph(nat, { expand: c.unknown.length ? [] : c.expand, linkQuery: 'dump=7' }).drawing, groupBoxId(id)).link, `graph?expand=${encodeURIComponent([...(c.unknown.length ? [] : c.expand), id].join(','))}&dump=7`);
    if (c.expand[0] === 'KUBE-SEP-*') assert.ok(!g.drawing.nodes.some((n) => n.id === groupBoxId('KUBE-SEP-*')), 'a group whose chains are all drawn is gone');
  }
  // The expanded Service's chain: arrows to each endpoint box, and the Service group counts one chain less.
  const g = drawChainGraph(nat, { expand: [svc.name] }).drawing;
  for (const sep of seps) assert.ok(g.edges.some((e) => e.from === chainBoxId(svc.name) && e.to === chainBoxId(sep)), sep);
  const svcCount = nat.chains.filter((c) => c.name.startsWith('KUBE-SVC-')).length;
  assert.match(box(g, groupBoxId('KUBE-SVC-*')).label[1]!, new RegExp(`^×${svcCount - 1} chains`));
});

test('expand is bounded: past maxExpanded the rest stays in its group, with a note', () => {
  const nat = ipt(KUBE).tables.find((t) => t.name === 'nat')!;
  const seps = nat.chains.filter((c) => c.name.startsWith('KUBE-SEP-')).length;
  const d = drawChainGraph(nat, { expand: ['KUBE-SEP-*'], maxExpanded: 5 }).drawing;
  assert.equal(d.nodes.filter((n) => n.label[0]!.startsWith('KUBE-SEP-') && n.shape === Shape.Box).length, 5);
  assert.match(box(d, groupBoxId('KUBE-SEP-*')).label[1]!, new RegExp(`^×${seps - 5} chains`));
  assert.match(d.notes.join('\n'), new RegExp(`expand: 5 of the ${seps} chains`));
});

test('many chains sharing a prefix (not kube-proxy) collapse above the threshold, with a note; fewer stay boxes', () => {
  const ifaces = (n: number) => Array.from({ length: n }, (_, i) => `cali${String(i).padStart(4, '0')}`);
  const text = (n: number) =>
    ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':cali-FORWARD - [0:0]', ...ifaces(n).map((i) => `:cali-fw-${i} - [0:0]`), '-A FORWARD -j cali-FORWARD', ...ifaces(n).map((i) => `-A cali-FORWARD -i ${i} -g cali-fw-${i}`), ...ifaces(n).map((i) => `-A cali-fw-${i} -j ACCEPT`), 'COMMIT', ''].join('\n');
  const many = drawChainGraph(table(text(25))).drawing;
  assert.deepEqual(box(many, groupBoxId('cali-fw-*')).label, ['cali-fw-*', '×25 chains, 25 rules']);
  assert.deepEqual(arrows(many).filter((a) => a.includes(groupBoxId('cali-fw-*'))), [`${chainBoxId('cali-FORWARD')} -> ${groupBoxId('cali-fw-*')}: goto, 25 rules → 25 chains (dashed)`]);
  assert.match(many.notes.join('\n'), /cali-fw-\*: 25 chains sharing a prefix/);
  assert.doesNotMatch(many.notes.join('\n'), /kube-proxy/);
  const few = drawChainGraph(table(text(5))).drawing;
  assert.equal(few.nodes.filter((n) => n.label[0]!.startsWith('cali-fw-')).length, 5);
  assert.equal(drawChainGraph(table(text(25)), { prefixGroupMin: 100 }).drawing.nodes.length, many.nodes.length + 24);
});

const NFT = `table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tjump allow
\t\ttcp dport vmap { 22 : jump ssh, 80 : goto web }
\t}
\tchain allow {
\t\tiifname "lo" accept
\t}
\tchain ssh {
\t\taccept
\t}
\tchain web {
\t\taccept
\t}
}
`;

test('nft: base chains with type, hook, priority and policy; jumps through verdict maps', () => {
  const t = nft(NFT).tables[0]!;
  const d = drawChainGraph(t).drawing;
  const input = box(d, chainBoxId('input'));
  assert.deepEqual([input.label, input.shape, input.tone], [['input', 'type filter hook input priority filter', 'policy drop · 3 rules'], Shape.Rounded, Tone.Drop]);
  assert.deepEqual(box(d, chainBoxId('allow')).label, ['allow', '1 rule']);
  assert.deepEqual(arrows(d), [
    `${chainBoxId('input')} -> ${chainBoxId('allow')}: 1 rule`,
    `${chainBoxId('input')} -> ${chainBoxId('ssh')}: 1 rule`,
    `${chainBoxId('input')} -> ${chainBoxId('web')}: goto, 1 rule (dashed)`,
  ]);
  assert.match(d.title, /nft table inet filter/);
});

test('nft kube-proxy: service-*, endpoint-* groups; the service-ips map is one rule to every Service', () => {
  const rs = parseNftText(generateKubeNft({ services: 40, endpoints: 3 }).text).ruleset;
  const t = rs.tables.find((x) => x.name === 'kube-proxy')!;
  const d = drawChainGraph(t).drawing;
  assert.deepEqual(box(d, groupBoxId('service-*')).label, ['service-*', '×40 chains, 80 rules']);
  assert.deepEqual(box(d, groupBoxId('endpoint-*')).label, ['endpoint-*', '×120 chains, 240 rules']);
  const a = arrows(d);
  assert.ok(a.includes(`${chainBoxId('services')} -> ${groupBoxId('service-*')}: goto, 1 rule → 40 chains (dashed)`), a.join('\n'));
  assert.ok(a.includes(`${groupBoxId('service-*')} -> ${groupBoxId('endpoint-*')}: goto, 40 rules → 120 chains (dashed)`), a.join('\n'));
  assert.ok(a.includes(`${groupBoxId('endpoint-*')} -> ${chainBoxId('mark-for-masquerade')}: 120 rules`), a.join('\n'));
  assert.ok(d.nodes.length <= 10, `${d.nodes.length} boxes`);
  const svc = t.chains.find((c) => c.name.startsWith('service-'))!.name;
  const expanded = drawChainGraph(t, { expand: [svc] }).drawing;
  assert.equal(expanded.nodes.filter((n) => n.label[0]!.startsWith('endpoint-') && n.shape === Shape.Box).length, 3);
});

test('the 10k-Service dump collapses to tens of boxes', () => {
  const nat = ipt(generateKubeDump({ services: 10000, seed: 1 }).text).tables.find((t) => t.name === 'nat')!;
  const d = drawChainGraph(nat).drawing;
  assert.ok(d.nodes.length >= 8 && d.nodes.length <= 40, `${d.nodes.length} boxes`);
  assert.ok(d.edges.length <= 80, `${d.edges.length} arrows`);
});

const LEFT = FILTER;
/** The right side: FORWARD's policy ACCEPT, its goto and -i jump to DOCKER gone, chain NEW added (and jumped to), UNUSED gone. */
const RIGHT = LEFT.replace(':FORWARD DROP', ':FORWARD ACCEPT')
  .replace(':UNUSED - [0:0]', ':NEW - [0:0]')
  .replace('-A FORWARD -i eth0 -j DOCKER\n-A FORWARD -i eth1 -g DOCKER\n', '-A FORWARD -j NEW\n')
  .replace('COMMIT', '-A NEW -j ACCEPT\nCOMMIT');

test('diff: chains added, removed, changed marked; arrows on one side only marked; unchanged chains plain', () => {
  const g = drawRulesetDiff(ipt(LEFT), ipt(RIGHT), 'filter', { leftName: 'node01', rightName: 'node02' })!;
  const d = g.drawing;
  const cases: [string, Tone, readonly string[]][] = [
    ['FORWARD', Tone.Changed, ['FORWARD', 'policy ACCEPT · 4 rules', 'policy DROP → ACCEPT', '+1 −2 rules']],
    ['NEW', Tone.Added, ['NEW', '1 rule', 'added']],
    ['UNUSED', Tone.Removed, ['UNUSED', '0 rules', 'removed']],
    ['DOCKER', Tone.Normal, ['DOCKER', '1 rule']],
    ['INPUT', Tone.Normal, ['INPUT', 'policy ACCEPT · 0 rules']],
  ];
  for (const [name, tone, label] of cases) {
    const b = box(d, chainBoxId(name));
    assert.deepEqual([b.tone, b.label], [tone, label], name);
    assert.equal(b.link, undefined);
  }
  const edge = (to: string, goto = false) => d.edges.find((e) => e.from === chainBoxId('FORWARD') && e.to === chainBoxId(to) && (e.style === 'dashed') === goto);
  assert.deepEqual([edge('NEW')?.tone, edge('DOCKER', true)?.tone, edge('DOCKER')?.tone, edge('DOCKER-USER')?.tone], [Tone.Added, Tone.Removed, Tone.Changed, Tone.Jump]);
  assert.equal(edge('DOCKER')?.label, '2 → 1 rule');
  assert.match(d.title, /node01 → node02/);
  assert.equal(drawRulesetDiff(ipt(LEFT), ipt(RIGHT), 'nat'), undefined);
  assert.deepEqual(drawRulesetDiff(ipt(LEFT), ipt(LEFT), 'filter')!.drawing.nodes.map((n) => n.tone).filter((t) => t !== Tone.Normal && t !== Tone.Drop && t !== Tone.Assumed), []);
});

test('diff of kube-proxy nodes: group boxes say how many of their chains changed', () => {
  const a = generateKubeDump({ services: 30, seed: 1 }).text;
  // The right side: one Service's endpoint chain gone, one new Service chain, one Service chain's rule changed.
  const left = ipt(a);
  const nat = left.tables.find((t) => t.name === 'nat')!;
  const seps = nat.chains.filter((c) => c.name.startsWith('KUBE-SEP-'));
  const svc = nat.chains.find((c) => c.name.startsWith('KUBE-SVC-'))!;
  const gone = seps.at(-1)!.name;
  const lines = a.split('\n').filter((l) => !l.startsWith(`:${gone} `) && !l.startsWith(`-A ${gone} `) && !l.includes(`-j ${gone}`));
  const commit = lines.indexOf('COMMIT', lines.indexOf('*nat'));
  lines.splice(commit, 0, `-A ${svc.name} -m comment --comment extra -j RETURN`);
  lines.splice(lines.indexOf('*nat') + 1, 0, ':KUBE-SVC-NEWNEWNEWNEWNEW0 - [0:0]');
  const right = ipt(lines.join('\n'));
  const d = drawRulesetDiff(left, right, 'nat')!.drawing;
  const sepGroup = box(d, groupBoxId('KUBE-SEP-*'));
  assert.deepEqual([sepGroup.tone, sepGroup.label.at(-1)], [Tone.Changed, '1 removed']);
  const svcGroup = box(d, groupBoxId('KUBE-SVC-*'));
  assert.equal(svcGroup.tone, Tone.Changed);
  assert.match(svcGroup.label.at(-1)!, /^1 added, \d+ changed$/);
  // expand=changed: the chains that differ as boxes of their own, marked; the groups keep the rest, unmarked.
  const x = drawRulesetDiff(left, right, 'nat', { expand: ['changed'] })!;
  assert.deepEqual(x.unknownExpand, []);
  assert.deepEqual([box(x.drawing, chainBoxId(gone)).tone, box(x.drawing, chainBoxId('KUBE-SVC-NEWNEWNEWNEWNEW0')).tone, box(x.drawing, chainBoxId(svc.name)).tone], [Tone.Removed, Tone.Added, Tone.Changed]);
  assert.deepEqual([box(x.drawing, groupBoxId('KUBE-SEP-*')).tone, box(x.drawing, groupBoxId('KUBE-SEP-*')).label.length], [Tone.Group, 2]);
  assert.ok(!x.drawing.nodes.some((n) => n.shape === Shape.Box && n.label[0]!.startsWith('KUBE-SEP-') && n.tone === Tone.Normal), 'only the chains that differ, not the endpoints they lead to');
});

const NFT_RIGHT = NFT.replace('policy drop;', 'policy accept;').replace('\t\tjump allow\n', '').replace('\tchain allow {\n\t\tiifname "lo" accept\n\t}\n', '');

test('nft diff: base chain declarations, chains removed, arrows gone', () => {
  const d = drawNftRulesetDiff(nft(NFT), nft(NFT_RIGHT), 'inet filter')!.drawing;
  const input = box(d, chainBoxId('input'));
  assert.equal(input.tone, Tone.Changed);
  assert.ok(input.label.includes('+0 −1 rules'), input.label.join(' | '));
  assert.ok(input.label.some((l) => /^was .*policy drop/.test(l)), input.label.join(' | '));
  assert.deepEqual([box(d, chainBoxId('allow')).tone, box(d, chainBoxId('ssh')).tone], [Tone.Removed, Tone.Normal]);
  assert.equal(d.edges.find((e) => e.to === chainBoxId('allow'))?.tone, Tone.Removed);
  assert.equal(drawNftRulesetDiff(nft(NFT), nft(NFT_RIGHT), 'ip nope'), undefined);
});

test('nft kube-proxy diff: a Service more is an added chain in its group and a set change in the notes', () => {
  const [a, b] = [generateKubeNft({ services: 10, endpoints: 2 }), generateKubeNft({ services: 11, endpoints: 2 })];
  const d = drawNftRulesetDiff(parseNftText(a.text).ruleset, parseNftText(b.text).ruleset, 'ip kube-proxy')!.drawing;
  assert.deepEqual(box(d, groupBoxId('service-*')).label.slice(1), ['×11 chains, 22 rules', '1 added']);
  assert.deepEqual(box(d, groupBoxId('endpoint-*')).label.slice(1), ['×22 chains, 44 rules', '2 added']);
  assert.ok(d.notes.includes('map service-ips: +1 −0 elements'), d.notes.join('\n'));
});
