// Query endpoints: tables, chains (json/save/listing), rule search,
// services, findings, diff (json/unified/packets=auto) and traces (single
// node, cluster, what-if, text).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROBLEM_TYPE, seed, startApi, type TestApi } from '../support/api.ts';
import { describeEachBackend } from '../support/postgres.ts';
import { FIXTURES } from '../support/paths.ts';

const V1 = '/api/v1';
const s004 = (f: string) => readFile(join(FIXTURES, 'seed004', f), 'utf8');

describeEachBackend('query endpoints', (backend) => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ backend });
    for (const name of ['master', 'node02']) {
      await api.request
        .post(`${V1}/nodes/${name}/dumps`)
        .send({ dump: await s004(`${name}.txt`), host: JSON.parse(await s004(`${name}.host.json`)), cluster: 'lab' })
        .expect(201);
    }
    await api.request.post(`${V1}/nodes/seed000/dumps`).type('text/plain').send(await seed()).expect(201);
  });
  after(async () => api.close());

  it('GET tables and chains, with referencedBy and jumpsTo', async () => {
    const t = await api.request.get(`${V1}/nodes/master/tables`).expect(200);
    assert.deepEqual(t.body.tables.map((x: { name: string }) => x.name), ['nat', 'filter']);
    const c = await api.request.get(`${V1}/nodes/master/tables/nat/chains`).expect(200);
    const svc = c.body.chains.find((x: { name: string }) => x.name === 'KUBE-SVC-PIU4JA5FNNNHNOAJ');
    assert.deepEqual(svc.referencedBy, [{ table: 'nat', chain: 'KUBE-SERVICES', position: 1 }]);
    assert.deepEqual(svc.jumpsTo, ['KUBE-MARK-MASQ', 'KUBE-SEP-ISOO2NXNTRU4Q4WM', 'KUBE-SEP-EKAXC3AGUDPBQ32C']);
    const pre = c.body.chains.find((x: { name: string }) => x.name === 'PREROUTING');
    assert.equal(pre.policy, 'ACCEPT');
    assert.deepEqual(pre.counters, { packets: 4660, bytes: 212000 });
    await api.request.get(`${V1}/nodes/master/tables/raw/chains`).expect(404).expect('content-type', PROBLEM_TYPE);
    await api.request.get(`${V1}/nodes/master/tables/bogus/chains`).expect(400);
  });

  it('GET one chain as JSON, save text and listing', async () => {
    const j = await api.request.get(`${V1}/nodes/node02/tables/filter/chains/FORWARD`).expect(200);
    assert.equal(j.body.policy, 'DROP');
    assert.equal(j.body.rules.length, 14);
    assert.equal(j.body.rules[0].text, '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
    assert.match(j.body.rules[0].raw, /KUBE-FORWARD\s+all/);
    assert.deepEqual(j.body.rules[0].counters, { packets: 695, bytes: 58480 });
    assert.deepEqual(j.body.rules[0].target, { kind: 'jump', chain: 'KUBE-FORWARD' });
    const save = await api.request.get(`${V1}/nodes/node02/tables/filter/chains/FORWARD?format=save`).expect(200).expect('content-type', /text\/plain/);
    assert.equal(save.text.split('\n')[11], '-A FORWARD -s 10.244.0.0/16 -j ACCEPT');
    const listing = await api.request.get(`${V1}/nodes/node02/tables/filter/chains/FORWARD?format=listing`).expect(200);
    // As `iptables -L FORWARD -n -v --line-numbers` prints it (test/kernel/listing.test.ts compares byte for byte).
    assert.match(listing.text, /^Chain FORWARD \(policy DROP 0 packets, 0 bytes\)\nnum   pkts bytes target     prot opt in     out     source               destination         \n1      695 58480 KUBE-FORWARD  0    --/);
    assert.ok(listing.text.includes(' 10.224.2.16          LOG flags 0 level 4 prefix "[iptables 3:]"'), 'a host without /32, LOG as its print function writes it');
    await api.request.get(`${V1}/nodes/node02/tables/filter/chains/NOPE`).expect(404);
  });

  it('GET rules filtered by ip, port, target, chain, comment and service', async () => {
    const byIp = await api.request.get(`${V1}/nodes/master/rules?ip=10.224.2.16`).expect(200);
    assert.ok(byIp.body.rules.some((r: { text: string }) => r.text.includes('--to-destination 10.224.2.16:80')));
    const dnat = await api.request.get(`${V1}/nodes/master/rules?target=DNAT&port=80`).expect(200);
    assert.equal(dnat.body.rules.length, 2);
    const chain = await api.request.get(`${V1}/nodes/master/rules?chain=KUBE-SEP-*&table=nat`).expect(200);
    assert.equal(chain.body.rules.length, 4);
    const svc = await api.request.get(`${V1}/nodes/master/rules?service=nginx-test/nginx-service`).expect(200);
    assert.ok(svc.body.rules.length >= 6, JSON.stringify(svc.body.rules.map((r: { text: string }) => r.text)));
    const comment = await api.request.get(`${V1}/nodes/master/rules?comment=kube-dns`).expect(200);
    assert.equal(comment.body.rules.length, 3);
  });

  it("GET services rebuilds kube-proxy's Services", async () => {
    const res = await api.request.get(`${V1}/nodes/seed000/services`).expect(200);
    const s = res.body.services.find((x: { name: string }) => x.name === 'default/nginx:');
    assert.equal(s.clusterIP, '10.105.178.199');
    assert.equal(s.port, 8080);
    assert.equal(s.nodePort, 30180);
    assert.deepEqual(s.endpoints.map((e: { ip: string; probability: number }) => [e.ip, e.probability]), [['172.17.0.4', 0.5], ['172.17.0.5', 0.5]]);
  });

  it('GET findings', async () => {
    const res = await api.request.get(`${V1}/nodes/master/findings`).expect(200);
    assert.ok(res.body.findings.some((f: { code: string }) => f.code === 'forward-drop-pod-traffic'));
  });

  it('GET diff: json, unified, packets=auto, and 404 for an unknown node', async () => {
    const d = await api.request.get(`${V1}/diff?left=master&right=node02`).expect(200);
    assert.equal(d.body.summary.identical, false);
    assert.ok(d.body.chains.some((c: { chain: string; status: string }) => c.chain === 'KUBE-SERVICES' && c.status === 'onlyLeft'));
    const fwd = d.body.chains.find((c: { table: string; chain: string }) => c.table === 'filter' && c.chain === 'FORWARD');
    assert.ok(fwd.lines.some((l: { op: string; text: string }) => l.op === '+' && l.text.includes('[iptables 3:]')));
    const u = await api.request.get(`${V1}/diff?left=master&right=node02&format=unified`).expect(200);
    assert.match(u.text, /^--- master \(dump \d+\)\n\+\+\+ node02 \(dump \d+\)\n/);
    assert.match(u.text, /\n\+-A FORWARD -d 10\.224\.2\.16\/32 -j LOG --log-prefix "\[iptables 3:\]"\n/);
    const p = await api.request.get(`${V1}/diff?left=master&right=node02&packets=auto`).expect(200);
    assert.ok(p.body.probes.count > 0);
    assert.ok(p.body.probes.differences.some((x: { probe: { dst: string } }) => x.probe.dst === '10.108.94.160'));
    const same = await api.request.get(`${V1}/diff?left=master&right=master`).expect(200);
    assert.equal(same.body.summary.identical, true);
    await api.request.get(`${V1}/diff?left=master&right=ghost`).expect(404).expect('content-type', PROBLEM_TYPE);
  });

  it('POST trace on one node (json and text), with the stored host file', async () => {
    const body = { node: 'node02', packet: { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' } };
    const res = await api.request.post(`${V1}/trace`).send(body).expect(200);
    assert.equal(res.body.outcomes.length, 1);
    const o = res.body.outcomes[0];
    assert.equal(o.verdict, 'DROP');
    assert.equal(o.disposition, 'DROPPED');
    assert.deepEqual(o.events.at(-1), { table: 'filter', chain: 'FORWARD', kind: 'policy', rule: null, text: '', verdict: 'DROP', hook: 'FORWARD' });
    assert.equal(o.events[0].verdict, 'JUMP:KUBE-FORWARD');
    assert.ok(o.explanation.fix.includes('iptables -A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT'));
    const text = await api.request.post(`${V1}/trace?format=text`).send(body).expect(200).expect('content-type', /text\/plain/);
    assert.match(text.text, /Outcome 1 of 1 \(100%\): DROP, DROPPED/);
    assert.match(text.text, /fix: iptables -A FORWARD -i flannel\.1 -d 10\.224\.2\.0\/24 -j ACCEPT/);
  });

  it('POST trace across the cluster, and the what-if fix', async () => {
    const body = { cluster: 'lab', from: { node: 'master', interface: 'eth0' }, packet: { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80 }, follow: true };
    const res = await api.request.post(`${V1}/trace`).send(body).expect(200);
    assert.equal(res.body.paths.length, 2);
    const drop = res.body.paths.find((p: { endNode: string }) => p.endNode === 'node02');
    assert.equal(drop.end, 'DROPPED');
    assert.equal(drop.probability, 0.5);
    assert.deepEqual(drop.hops.map((h: { node: string; inInterface: string }) => [h.node, h.inInterface]), [['master', 'eth0'], ['node02', 'flannel.1']]);
    // Each hop lists the base chains it ran and which one decided (iptables tables, owner by backend).
    const decided = drop.hops[1].outcome.baseChains.filter((b: { decided: boolean }) => b.decided);
    assert.deepEqual(decided, [{ hook: 'FORWARD', language: 'iptables', table: 'filter', chain: 'FORWARD', priority: 0, owner: 'iptables (nft backend)', verdict: 'DROP', byPolicy: true, decided: true }]);
    const fixed = await api.request.post(`${V1}/trace`).send({ ...body, changes: { node02: ['-A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT'] } }).expect(200);
    const now = fixed.body.paths.find((p: { endNode: string }) => p.endNode === 'node02');
    assert.equal(now.end, 'LEFT_CLUSTER');
    assert.match(now.summary, /reaches 10\.224\.2\.16 on node02's cni0 link/);
    assert.equal(fixed.body.whatIf.changed, true);
    assert.ok(fixed.body.whatIf.before.some((s: string) => s.startsWith('50%: DROPPED on node02')));
  });

  it('POST trace errors: bad packet 422, unknown node 404, bad change 422, schema 400', async () => {
    const bad = await api.request.post(`${V1}/trace`).send({ node: 'node02', packet: { src: '10.0.0.300', dst: '10.224.2.16', protocol: 'tcp', inInterface: 'eth0' } }).expect(422).expect('content-type', PROBLEM_TYPE);
    assert.match(bad.body.detail, /src "10\.0\.0\.300" is not an IP address/);
    await api.request.post(`${V1}/trace`).send({ node: 'ghost', packet: { src: '192.0.2.1', dst: '192.0.2.2', protocol: 'tcp', inInterface: 'eth0' } }).expect(404);
    const change = await api.request.post(`${V1}/trace`).send({ node: 'node02', packet: { src: '192.0.2.1', dst: '192.0.2.2', protocol: 'tcp', dport: 80, inInterface: 'eth0' }, changes: ['-D FORWARD 99'] }).expect(422);
    assert.match(change.body.detail, /no rule 99/);
    await api.request.post(`${V1}/trace`).send({ packet: 'nope' }).expect(400);
    // Port 0 is reserved, as in the CLI.
    const port0 = await api.request.post(`${V1}/trace`).send({ node: 'node02', packet: { src: '192.0.2.1', dst: '192.0.2.2', protocol: 'tcp', dport: 0, inInterface: 'eth0' } }).expect(400).expect('content-type', PROBLEM_TYPE);
    assert.match(JSON.stringify(port0.body), /dport/);
  });
});
