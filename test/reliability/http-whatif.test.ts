// What-if requests over HTTP: bounded (a 400 problem naming the bound, not
// seconds of work), and `changed` only when a change applied and changed an outcome.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WHATIF_CHANGES, MAX_WHATIF_COMMAND_LENGTH } from '../../src/http/schemas/query.ts';
import { PROBLEM_TYPE, seed, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';
const packet = { src: '192.0.2.1', dst: '10.105.178.199', protocol: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0' };

describe('what-if over HTTP', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/n1/dumps`).set('content-type', 'text/plain').send(await seed()).expect(201);
  });
  after(() => api?.close());

  it(`more than ${MAX_WHATIF_CHANGES} changes, or a change over ${MAX_WHATIF_COMMAND_LENGTH} characters, is a 400`, async () => {
    const many = Array.from({ length: MAX_WHATIF_CHANGES + 1 }, (_, i) => `-A INPUT -s 10.0.${i >> 8}.${i & 255} -j ACCEPT`);
    const r = await api.request.post(`${V1}/trace`).send({ node: 'n1', packet, changes: many }).expect(400);
    assert.match(r.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.match(JSON.stringify(r.body.errors), new RegExp(`${MAX_WHATIF_CHANGES}`));
    await api.request.post(`${V1}/trace`).send({ node: 'n1', packet, changes: ['-A INPUT -m comment --comment ' + 'x'.repeat(MAX_WHATIF_COMMAND_LENGTH)] }).expect(400);
    const ok = await api.request.post(`${V1}/trace`).send({ node: 'n1', packet, changes: many.slice(0, MAX_WHATIF_CHANGES) }).expect(200);
    assert.equal(ok.body.whatIf.changes.length, MAX_WHATIF_CHANGES);
  });

  it('an empty list of changes changes nothing: changed false, before equal to after', async () => {
    const r = await api.request.post(`${V1}/trace`).send({ node: 'n1', packet, changes: [] }).expect(200);
    assert.equal(r.body.whatIf.changed, false);
    assert.deepEqual(r.body.whatIf.before, r.body.whatIf.after);
    assert.ok(r.body.whatIf.after.length > 0);
  });

  it('a change iptables refuses is a 422 naming it', async () => {
    const r = await api.request.post(`${V1}/trace`).send({ node: 'n1', packet, changes: ['-A INPUT -j FORWARD'] }).expect(422);
    assert.match(JSON.stringify(r.body), /built-in chain FORWARD/);
  });
});
