// Counters over time (issue 16): the moved counters of a node's last uploads,
// GET /nodes/{node}/counters windows, pruning past COUNTER_HISTORY, resets,
// rules carried across versions, the trace's hits and the policy drops
// /metrics reads; on SQLite and PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { latestPolicyDrops } from '../../src/store/index.ts';
import { canonicalLayout } from '../../src/store/counters-codec.ts';
import { decodeMoves, diffCounters, encodeMoves, matchSlots, matchSlotsCopied } from '../../src/store/counter-moves.ts';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';
import { FIXTURES } from '../support/paths.ts';
import { makeLineScript } from '../../src/store/line-script.ts';
import { sha256Hex } from '../../src/store/hash.ts';
import { describeEachBackend } from '../support/postgres.ts';

const V1 = '/api/v1';
const LISTING = await readFile(join(FIXTURES, 'seed004', 'node02.txt'), 'utf8');
const HOST = JSON.parse(await readFile(join(FIXTURES, 'seed004', 'node02.host.json'), 'utf8')) as object;
const TRACE_PACKET = { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' };

interface Counts {
  /** FORWARD policy DROP: packets (bytes 84 each). */
  readonly policy: number;
  /** FORWARD's last rule (LOG "forward-end"): packets (bytes 84 each). */
  readonly end: number;
  /** FORWARD's first rule (-j KUBE-FORWARD): packets (bytes 84 each). */
  readonly first: number;
  /** An extra rule appended to KUBE-FORWARD (a new version), with these packets. */
  readonly extra?: number;
}

/** node02's `iptables -nvL` listing of seed 004 with its counters edited. */
function node02(c: Counts): string {
  let text = LISTING.replace('Chain FORWARD (policy DROP 0 packets, 0 bytes)', `Chain FORWARD (policy DROP ${c.policy} packets, ${c.policy * 84} bytes)`)
    .replace(/^ +554 46104 LOG /m, `  ${c.end} ${c.end * 84} LOG `)
    .replace(/^ +695 58480 KUBE-FORWARD /m, `  ${c.first} ${c.first * 84} KUBE-FORWARD `);
  if (c.extra !== undefined) {
    text = text.replace(/(\/\* kubernetes forwarding conntrack rule \*\/ ctstate RELATED,ESTABLISHED\n)/, `$1    ${c.extra} ${c.extra * 84} ACCEPT     all  --  *      *       10.224.0.0/16        0.0.0.0/0           \n`);
  }
  return text;
}

const BASE: Counts = { policy: 0, end: 554, first: 695 };

/** A canonical text of the filter and nat tables with these FORWARD rules (`n` nat rules in KUBE-SERVICES, `-m comment` numbered). */
function canonical(forward: readonly string[], nat = 0, skipNat: readonly number[] = []): string {
  const natRules = Array.from({ length: nat }, (_, i) => i).filter((i) => !skipNat.includes(i)).map((i) => `-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -j KUBE-SVC-${i}`);
  return ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ...forward.map((f) => `-A FORWARD ${f}`), 'COMMIT', '*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ...natRules, 'COMMIT', ''].join('\n');
}

describe('counter moves', () => {
  const cases: { name: string; before: string; after: string; expected: (number | -1)[] }[] = [
      { name: 'same text', before: canonical(['-j A', '-j B']), after: canonical(['-j A', '-j B']), expected: [0, 1, 2, 3, 4, 5] },
      { name: 'a rule inserted', before: canonical(['-j A', '-j B']), after: canonical(['-j A', '-j X', '-j B']), expected: [0, 1, 2, -1, 3, 4, 5] },
      { name: 'a rule removed', before: canonical(['-j A', '-j B', '-j C']), after: canonical(['-j A', '-j C']), expected: [0, 1, 2, 4, 5, 6] },
      { name: 'a rule replaced', before: canonical(['-j A', '-j B', '-j C']), after: canonical(['-j A', '-j X', '-j C']), expected: [0, 1, 2, -1, 4, 5, 6] },
      { name: 'duplicates pair in order', before: canonical(['-j A', '-j A']), after: canonical(['-j A', '-j A', '-j A']), expected: [0, 1, 2, 3, -1, 4, 5] },
  ];
  it('a rule of the same text in the same chain and table carries on across versions; new ones do not', () => {
    for (const c of cases) assert.deepEqual([...matchSlots(canonicalLayout(c.before), canonicalLayout(c.after))], c.expected, c.name);
  });

  it('a spliced upload’s copied lines give the same matches without comparing them', () => {
    for (const c of cases) {
      const before = canonicalLayout(c.before);
      const after = canonicalLayout(c.after);
      // What a splice knows: a line copied from the previous text where it is unique there.
      const count = new Map<string, number>();
      for (const l of before.lines) count.set(l, (count.get(l) ?? 0) + 1);
      const copied = Int32Array.from(after.lines, (l) => (count.get(l) === 1 ? before.lines.indexOf(l) : -1));
      assert.deepEqual([...matchSlotsCopied(before, after, copied)], c.expected, c.name);
    }
  });

  it('many rules gone in one place: matched by a map of every line, the same answer', () => {
    const before = canonicalLayout(canonical(['-j A'], 1000));
    const gone = Array.from({ length: 400 }, (_, i) => 100 + i);
    const after = canonicalLayout(canonical(['-j A'], 1000, gone));
    const from = matchSlots(before, after);
    // Slots: 3 filter (2 policies, 1 rule), then nat's 2 policies and its rules.
    const kept = Array.from({ length: 1000 }, (_, i) => i).filter((i) => !gone.includes(i));
    assert.deepEqual([...from], [0, 1, 2, 3, 4, ...kept.map((i) => 5 + i)]);
  });

  it('deltas: only what moved, a counter that went down is a reset at its new value, bytes round-trip exactly', () => {
    const moves = diffCounters(['1:10', null, '5:50', '7:70', '2:2'], ['1:10', '3:30', '9:90', '2:20', '18446744073709551615:18446744073709551615'], undefined);
    assert.deepEqual(moves, [
      { slot: 1, packets: 3n, bytes: 30n, reset: false },
      { slot: 2, packets: 4n, bytes: 40n, reset: false },
      { slot: 3, packets: 2n, bytes: 20n, reset: true },
      { slot: 4, packets: 18446744073709551613n, bytes: 18446744073709551613n, reset: false },
    ]);
    assert.deepEqual(decodeMoves(encodeMoves(moves)), moves);
  });
});

describeEachBackend('counters over time', (backend) => {
  let api: TestApi;
  const ids: number[] = [];
  before(async () => {
    api = await startApi({ backend, config: { counterHistory: 4 } });
  });
  after(async () => {
    await api.close();
  });

  const upload = (c: Counts) => api.request.post(`${V1}/nodes/node02/dumps`).send({ dump: node02(c), host: HOST, cluster: 'lab' });
  const window = (query = '') => api.request.get(`${V1}/nodes/node02/counters${query}`);
  const latestUploadId = async (): Promise<number> => (await api.request.get(`${V1}/nodes/node02/counters/uploads?limit=1`).expect(200)).body.items[0].upload as number;

  it('three uploads with growing counters: the default window is the latest against the one before', async () => {
    await upload(BASE).expect(201);
    ids.push(await latestUploadId());
    await upload({ policy: 10, end: 564, first: 705 }).expect(200);
    ids.push(await latestUploadId());
    await upload({ policy: 15, end: 564, first: 708 }).expect(200);
    ids.push(await latestUploadId());

    const res = await window().expect(200);
    const w = res.body;
    assert.equal(w.node, 'node02');
    assert.equal(w.family, 'ipv4');
    assert.deepEqual([w.window.from.upload, w.window.to.upload, w.window.uploads, w.window.complete, w.window.uncompared], [ids[1], ids[2], 1, true, 0]);
    const forward = w.policies.find((p: { chain: string }) => p.chain === 'FORWARD');
    assert.deepEqual(forward, { table: 'filter', chain: 'FORWARD', policy: 'DROP', packets: 5, bytes: 420 });
    assert.deepEqual(
      w.rules.map((r: { chain: string; rule: number; packets: number; bytes: number }) => [r.chain, r.rule, r.packets, r.bytes]),
      [['FORWARD', 1, 3, 252]],
      'only the rule that moved',
    );
    assert.match(w.rules[0].text, /^-A FORWARD .*-j KUBE-FORWARD$/);
    assert.equal(w.rulesMoved, 1);
    assert.deepEqual(w.chains, [{ table: 'filter', chain: 'FORWARD', rules: 1, packets: 3, bytes: 252 }]);
    assert.equal(w.resets, 0);
  });

  it('a wider window sums the uploads in it, busiest rule first; a time or a duration before the history starts is the oldest upload, marked incomplete', async () => {
    const w = (await window(`?since=${ids[0]}&until=${ids[2]}`).expect(200)).body;
    assert.deepEqual([w.window.from.upload, w.window.to.upload, w.window.uploads], [ids[0], ids[2], 2]);
    assert.deepEqual(
      w.rules.map((r: { rule: number; packets: number }) => [r.rule, r.packets]),
      [
        [1, 13],
        [14, 10],
      ],
    );
    assert.equal(w.policies.find((p: { chain: string }) => p.chain === 'FORWARD').packets, 15);
    assert.deepEqual(w.chains, [{ table: 'filter', chain: 'FORWARD', rules: 2, packets: 23, bytes: 23 * 84 }]);
    // One rule per page.
    const page2 = (await window(`?since=${ids[0]}&limit=1&offset=1`).expect(200)).body;
    assert.deepEqual([page2.rules.length, page2.rules[0].rule, page2.rulesMoved], [1, 14, 2]);

    const byDuration = (await window('?since=1h').expect(200)).body;
    assert.deepEqual([byDuration.window.from.upload, byDuration.window.complete], [ids[0], false]);
    const byTime = (await window(`?since=${encodeURIComponent(new Date().toISOString())}`).expect(200)).body;
    assert.deepEqual([byTime.window.from.upload, byTime.window.to.upload, byTime.window.uploads, byTime.rules.length], [ids[2], ids[2], 0, 0], 'since now: nothing after it');
  });

  it('bad since, since after until, unknown upload or node: clear 4xx', async () => {
    for (const q of ['?since=yesterday', '?since=2026-13-45T00:00:00Z', '?since=0', '?until=15x', `?since=${ids[2]}&until=${ids[0]}`, '?family=nft']) {
      const res = await window(q);
      assert.equal(res.status, 400, q);
      assert.match(res.headers['content-type'] ?? '', PROBLEM_TYPE);
    }
    assert.equal((await window('?since=999999').expect(404)).body.status, 404);
    await api.request.get(`${V1}/nodes/nobody/counters`).expect(404);
    await api.request.get(`${V1}/nodes/nobody/counters/uploads`).expect(404);
    assert.equal((await window('?family=ipv6').expect(404)).body.status, 404, 'no ipv6 history');
  });

  it('the trace marks the rules on its path that traffic hits now, when asked', async () => {
    const traced = (await api.request.post(`${V1}/trace`).send({ node: 'node02', packet: TRACE_PACKET, counters: true }).expect(200)).body;
    const events = traced.outcomes.flatMap((o: { events: object[] }) => o.events) as { chain: string; kind: string; rule: number | null; hits?: { packets: number; bytes: number; since: string } }[];
    const policy = events.find((e) => e.chain === 'FORWARD' && e.kind === 'policy');
    assert.ok(policy, 'the path ends at FORWARD policy DROP');
    assert.equal(policy.hits?.packets, 5);
    assert.equal(policy.hits?.bytes, 420);
    const latest = (await window().expect(200)).body;
    assert.equal(policy.hits?.since, latest.window.from.uploadedAt);
    const first = events.find((e) => e.chain === 'FORWARD' && e.rule === 1);
    assert.deepEqual(first?.hits && [first.hits.packets], [3]);
    const quiet = events.find((e) => e.chain === 'FORWARD' && e.rule === 14);
    assert.ok(quiet && quiet.hits === undefined, 'a rule that counted nothing lately has no hits');
    const plain = (await api.request.post(`${V1}/trace`).send({ node: 'node02', packet: TRACE_PACKET }).expect(200)).body;
    assert.ok(plain.outcomes.every((o: { events: { hits?: unknown }[] }) => o.events.every((e) => e.hits === undefined)), 'no hits unless asked');
  });

  it('a cluster trace marks each hop’s events against that node’s own latest window', async () => {
    const master = await readFile(join(FIXTURES, 'seed004', 'master.txt'), 'utf8');
    const masterHost = JSON.parse(await readFile(join(FIXTURES, 'seed004', 'master.host.json'), 'utf8')) as object;
    await api.request.post(`${V1}/nodes/master/dumps`).send({ dump: master, host: masterHost, cluster: 'lab' }).expect(201);
    const body = { cluster: 'lab', from: { node: 'master', interface: 'eth0' }, packet: { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80 }, counters: true };
    const traced = (await api.request.post(`${V1}/trace`).send(body).expect(200)).body;
    type Hop = { node: string; outcome: { events: { chain: string; kind: string; hits?: { packets: number } }[] } };
    const hops = (traced.paths as { hops: Hop[] }[]).flatMap((p) => p.hops);
    const drop = hops.find((h) => h.node === 'node02')?.outcome.events.find((e) => e.chain === 'FORWARD' && e.kind === 'policy');
    assert.equal(drop?.hits?.packets, 5, 'node02’s FORWARD policy, from node02’s window');
    assert.ok(hops.filter((h) => h.node === 'master').every((h) => h.outcome.events.every((e) => e.hits === undefined)), 'master has one upload: nothing to compare');
  });

  it('the policy drops of every node’s latest window, for /metrics', async () => {
    const drops = await latestPolicyDrops(api.app.db.prisma);
    assert.deepEqual(
      drops.map((d) => [d.node, d.family, d.upload, d.chains]),
      [['node02', 'ipv4', ids[2], [{ table: 'filter', chain: 'FORWARD', packets: 5, bytes: 420 }]]],
    );
  });

  it('a counter that went down is a reset: it counts from its new value, never negative', async () => {
    await upload({ policy: 2, end: 1, first: 3 }).expect(200);
    ids.push(await latestUploadId());
    const w = (await window().expect(200)).body;
    assert.deepEqual(
      w.rules.map((r: { rule: number; packets: number; resets?: number }) => [r.rule, r.packets, r.resets]),
      [
        [1, 3, 1],
        [14, 1, 1],
      ],
    );
    assert.deepEqual(w.policies.find((p: { chain: string }) => p.chain === 'FORWARD'), { table: 'filter', chain: 'FORWARD', policy: 'DROP', packets: 2, bytes: 168, resets: 1 });
    assert.equal(w.resets, 3);
  });

  it('a new version: rules of the same text carry on, a new rule counts from its counters; past COUNTER_HISTORY the oldest uploads are pruned', async () => {
    await upload({ policy: 4, end: 1, first: 10, extra: 6 }).expect(201);
    ids.push(await latestUploadId());
    const w = (await window().expect(200)).body;
    assert.notEqual(w.window.from.dump, w.window.to.dump, 'the window spans two versions');
    assert.deepEqual(
      w.rules.map((r: { chain: string; rule: number; packets: number }) => [r.chain, r.rule, r.packets]),
      [
        ['FORWARD', 1, 7],
        ['KUBE-FORWARD', 4, 6],
      ],
    );
    assert.equal(w.policies.find((p: { chain: string }) => p.chain === 'FORWARD').packets, 2);
    // COUNTER_HISTORY 4: five uploads, the first one pruned.
    const kept = (await api.request.get(`${V1}/nodes/node02/counters/uploads`).expect(200)).body.items.map((u: { upload: number }) => u.upload);
    assert.deepEqual(kept, ids.slice(1).reverse());
    await window(`?since=${ids[0]}`).expect(404);
    const all = (await window('?since=1d').expect(200)).body;
    assert.deepEqual([all.window.from.upload, all.window.complete, all.window.uploads], [ids[1], false, 3]);
  });

  it('another replica (the previous counters not in its memory): the same version and a new version are compared from the store', async () => {
    const replica = await startApi({ shareDatabaseOf: api });
    try {
      const up = (c: Counts) => replica.request.post(`${V1}/nodes/node02/dumps`).send({ dump: node02(c), host: HOST, cluster: 'lab' });
      await up({ policy: 9, end: 1, first: 10, extra: 6 }).expect(200);
      let w = (await window().expect(200)).body;
      assert.deepEqual([w.window.uncompared, w.policies.find((p: { chain: string }) => p.chain === 'FORWARD').packets], [0, 5]);
      // A new version on the first server, whose memory holds an older upload of the node: read from the store instead.
      await upload({ policy: 11, end: 2, first: 13 }).expect(201);
      w = (await window().expect(200)).body;
      assert.deepEqual(
        [w.window.uncompared, w.rules.map((r: { chain: string; rule: number; packets: number }) => [r.chain, r.rule, r.packets]), w.policies.find((p: { chain: string }) => p.chain === 'FORWARD').packets],
        [0, [['FORWARD', 1, 3], ['FORWARD', 14, 1]], 2],
      );
      await upload({ policy: 12, end: 2, first: 14 }).expect(200);
      w = (await window().expect(200)).body;
      assert.deepEqual([w.window.uncompared, w.rules.map((r: { rule: number; packets: number }) => [r.rule, r.packets]), w.policies.find((p: { chain: string }) => p.chain === 'FORWARD').packets], [0, [[1, 1]], 1]);
    } finally {
      await replica.close();
    }
  });
});

describeEachBackend('counters over time across replicas and restarts', (backend) => {
  let a: TestApi;
  before(async () => {
    a = await startApi({ backend });
  });
  after(async () => {
    await a.close();
  });

  const upload = (api: TestApi, node: string, c: Counts) => api.request.post(`${V1}/nodes/${node}/dumps`).send({ dump: node02(c), host: HOST, cluster: 'lab' });
  const rulesOf = (w: { rules: { chain: string; rule: number; packets: number; bytes: number }[] }) => w.rules.map((r) => [r.chain, r.rule, r.packets, r.bytes]);
  const forwardPolicy = (w: { policies: { chain: string; packets: number }[] }) => w.policies.find((p) => p.chain === 'FORWARD')?.packets;

  it('v1 on one replica, v2 (a rule added, counters grown) on another: the window is compared, carried rules by their deltas, the new rule from its value', async () => {
    const b = await startApi({ shareDatabaseOf: a });
    try {
      await upload(a, 'r1', { policy: 3, end: 10, first: 20 }).expect(201);
      await upload(b, 'r1', { policy: 8, end: 12, first: 27, extra: 5 }).expect(201);
      for (const api of [a, b]) {
        const w = (await api.request.get(`${V1}/nodes/r1/counters`).expect(200)).body;
        assert.notEqual(w.window.from.dump, w.window.to.dump, 'the window spans two versions');
        assert.equal(w.window.uncompared, 0);
        assert.deepEqual(rulesOf(w), [
          ['FORWARD', 1, 7, 7 * 84],
          ['KUBE-FORWARD', 4, 5, 5 * 84],
          ['FORWARD', 14, 2, 2 * 84],
        ]);
        assert.equal(forwardPolicy(w), 5);
      }
    } finally {
      await b.close();
    }
  });

  it('after a restart (a new process on the same database): a new version is compared against the stored one', async () => {
    await upload(a, 'r2', { policy: 1, end: 1, first: 1, extra: 1 }).expect(201);
    // The first server's memory holds r2's upload; a restarted one has nothing.
    const restarted = await startApi({ shareDatabaseOf: a });
    try {
      await upload(restarted, 'r2', { policy: 4, end: 9, first: 1 }).expect(201);
      const w = (await restarted.request.get(`${V1}/nodes/r2/counters`).expect(200)).body;
      assert.deepEqual([w.window.uncompared, rulesOf(w), forwardPolicy(w)], [0, [['FORWARD', 14, 8, 8 * 84]], 3]);
    } finally {
      await restarted.close();
    }
  });

  it('a previous upload without counters: nothing to compare with, on any replica', async () => {
    const b = await startApi({ shareDatabaseOf: a });
    try {
      // iptables-save without -c: no rule counters, every policy counter [0:0].
      const save = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', '-A FORWARD -i flannel.1 -j ACCEPT', 'COMMIT', ''].join('\n');
      await a.request.post(`${V1}/nodes/r3/dumps`).send({ dump: save }).expect(201);
      const counted = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [3:180]', ':OUTPUT ACCEPT [0:0]', '[5:300] -A FORWARD -i flannel.1 -j ACCEPT', '[2:120] -A FORWARD -o docker0 -j DOCKER', 'COMMIT', ''].join('\n');
      await b.request.post(`${V1}/nodes/r3/dumps`).send({ dump: counted }).expect(201);
      const w = (await b.request.get(`${V1}/nodes/r3/counters`).expect(200)).body;
      assert.deepEqual([w.window.uncompared, w.rules.length, w.policies.length], [1, 0, 0]);
    } finally {
      await b.close();
    }
  });
});

describeEachBackend('counters over time, delta uploads', (backend) => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ backend });
  });
  after(async () => {
    await api.close();
  });

  /** An iptables-save text with counters: FORWARD policy DROP, two rules, and `extra` inserted between them. */
  const save = (policy: number, a: number, b: number, extra?: number): string =>
    [
      '# Generated by iptables-save v1.8.7 on Sun Dec  6 10:00:00 2026',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      `:FORWARD DROP [${policy}:${policy * 60}]`,
      ':OUTPUT ACCEPT [0:0]',
      `[${a}:${a * 60}] -A FORWARD -i flannel.1 -j ACCEPT`,
      ...(extra !== undefined ? [`[${extra}:${extra * 60}] -A FORWARD -s 10.0.0.0/8 -j ACCEPT`] : []),
      `[${b}:${b * 60}] -A FORWARD -o docker0 -j DOCKER`,
      'COMMIT',
      '# Completed on Sun Dec  6 10:00:00 2026',
      '',
    ].join('\n');

  it('a delta (spliced) upload of a new version: the rules it copied carry on, the new rule counts from its counters', async () => {
    const texts = [save(10, 100, 50), save(12, 100, 53), save(15, 104, 53, 7)];
    await api.request.post(`${V1}/nodes/d1/dumps`).send({ dump: texts[0] }).expect(201);
    for (let i = 1; i < texts.length; i++) {
      const delta = { base: sha256Hex(texts[i - 1]!), sha256: sha256Hex(texts[i]!), ...makeLineScript(texts[i - 1]!, texts[i]!) };
      await api.request.post(`${V1}/nodes/d1/dumps`).send({ delta }).expect(i === 1 ? 200 : 201);
    }
    const w = (await api.request.get(`${V1}/nodes/d1/counters`).expect(200)).body;
    assert.deepEqual(
      w.rules.map((r: { rule: number; packets: number; text: string }) => [r.rule, r.packets, r.text]),
      [
        [2, 7, '-A FORWARD -s 10.0.0.0/8 -j ACCEPT'],
        [1, 4, '-A FORWARD -i flannel.1 -j ACCEPT'],
      ],
    );
    assert.deepEqual(w.policies.find((p: { chain: string }) => p.chain === 'FORWARD'), { table: 'filter', chain: 'FORWARD', policy: 'DROP', packets: 3, bytes: 180 });
    const all = (await api.request.get(`${V1}/nodes/d1/counters?since=1h`).expect(200)).body;
    assert.deepEqual(all.chains, [{ table: 'filter', chain: 'FORWARD', rules: 3, packets: 14, bytes: 14 * 60 }]);
  });

  it('identical rules in one chain are told apart by their place among their equals, across versions too', async () => {
    const dup = (a: number, b: number, top?: number) =>
      ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ...(top !== undefined ? [`[${top}:${top * 60}] -A FORWARD -i lo -j ACCEPT`] : []), `[${a}:${a * 60}] -A FORWARD -p tcp -j ACCEPT`, `[${b}:${b * 60}] -A FORWARD -p tcp -j ACCEPT`, 'COMMIT', ''].join('\n');
    await api.request.post(`${V1}/nodes/dup/dumps`).send({ dump: dup(10, 20) }).expect(201);
    await api.request.post(`${V1}/nodes/dup/dumps`).send({ dump: dup(12, 25) }).expect(200);
    // A new version: a rule inserted above them, their numbers shift.
    await api.request.post(`${V1}/nodes/dup/dumps`).send({ dump: dup(13, 29, 1) }).expect(201);
    const rows = (w: { rules: { rule: number; packets: number; text: string }[] }) => w.rules.map((r) => [r.rule, r.packets, r.text]);
    const latest = (await api.request.get(`${V1}/nodes/dup/counters`).expect(200)).body;
    assert.deepEqual(rows(latest), [
      [3, 4, '-A FORWARD -p tcp -j ACCEPT'],
      [1, 1, '-A FORWARD -i lo -j ACCEPT'],
      [2, 1, '-A FORWARD -p tcp -j ACCEPT'],
    ]);
    const all = (await api.request.get(`${V1}/nodes/dup/counters?since=1h`).expect(200)).body;
    assert.deepEqual(rows(all), [
      [3, 9, '-A FORWARD -p tcp -j ACCEPT'],
      [2, 3, '-A FORWARD -p tcp -j ACCEPT'],
      [1, 1, '-A FORWARD -i lo -j ACCEPT'],
    ]);
    assert.equal(all.rulesMoved, 3);
    assert.deepEqual(all.chains, [{ table: 'filter', chain: 'FORWARD', rules: 3, packets: 13, bytes: 13 * 60 }]);
  });

  it('a delta upload of a new version to another replica than the previous upload: matched by its copied lines against the stored text', async () => {
    const replica = await startApi({ shareDatabaseOf: api });
    try {
      const [v1, v2] = [save(10, 100, 50), save(13, 106, 52, 4)];
      await api.request.post(`${V1}/nodes/d2/dumps`).send({ dump: v1 }).expect(201);
      const delta = { base: sha256Hex(v1), sha256: sha256Hex(v2), ...makeLineScript(v1, v2) };
      await replica.request.post(`${V1}/nodes/d2/dumps`).send({ delta }).expect(201);
      const w = (await replica.request.get(`${V1}/nodes/d2/counters`).expect(200)).body;
      assert.equal(w.window.uncompared, 0);
      assert.deepEqual(
        w.rules.map((r: { rule: number; packets: number }) => [r.rule, r.packets]),
        [
          [1, 6],
          [2, 4],
          [3, 2],
        ],
      );
      assert.equal(w.policies.find((p: { chain: string }) => p.chain === 'FORWARD').packets, 3);
    } finally {
      await replica.close();
    }
  });
});
