// Open mode (loopback, no tokens) refuses writes from other sites: a
// text/plain form POST from any page the local user opens, or a DNS-rebound
// name, must not create versions or delete nodes. The CLI and agents (no
// Origin) and the server's own pages (Swagger UI's "Try it out") still write.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crossSiteReason } from '../../src/http/plugins/auth.ts';
import { createToken } from '../../src/store/index.ts';
import { PROBLEM_TYPE, counterDump, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

describe('open mode: cross-site writes', () => {
  let api: TestApi;
  let own = '';
  before(async () => {
    api = await startApi();
    own = new URL(api.url).host;
  });
  after(async () => api.close());

  const versions = async (node: string): Promise<number> => {
    const res = await api.request.get(`${V1}/nodes/${node}/dumps`);
    return res.status === 404 ? 0 : (res.body.items as unknown[]).length;
  };

  it('a text/plain POST from a foreign page (Origin) is a 403 problem+json saying why, and stores nothing', async () => {
    const res = await api.request
      .post(`${V1}/nodes/victim/dumps`)
      .set('content-type', 'text/plain')
      .set('origin', 'http://evil.example')
      .set('sec-fetch-site', 'cross-site')
      .send(counterDump())
      .expect(403)
      .expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/cross-site-request');
    assert.match(res.body.detail, /another site|cross-site|Origin/);
    assert.equal(await versions('victim'), 0);
  });

  it('Sec-Fetch-Site: cross-site alone, a foreign Origin alone, or Origin "null" is refused', async () => {
    await api.request.post(`${V1}/nodes/victim/dumps`).set('content-type', 'text/plain').set('sec-fetch-site', 'cross-site').send(counterDump()).expect(403);
    await api.request.post(`${V1}/nodes/victim/dumps`).set('content-type', 'text/plain').set('origin', 'http://localhost:1').send(counterDump()).expect(403);
    await api.request.post(`${V1}/nodes/victim/dumps`).set('content-type', 'text/plain').set('origin', 'null').send(counterDump()).expect(403);
    assert.equal(await versions('victim'), 0);
  });

  it('a DNS-rebound name (foreign Host, same-origin by the browser) is refused', async () => {
    const port = new URL(api.url).port;
    const res = await api.request
      .post(`${V1}/nodes/victim/dumps`)
      .set('host', `rebind.example:${port}`)
      .set('origin', `http://rebind.example:${port}`)
      .set('sec-fetch-site', 'same-origin')
      .set('content-type', 'text/plain')
      .send(counterDump())
      .expect(403);
    assert.match(res.body.detail, /Host "rebind\.example/);
    assert.equal(await versions('victim'), 0);
  });

  it('CLI and agent requests (no Origin) and the server\'s own pages still write; reads are not affected', async () => {
    await api.request.post(`${V1}/nodes/local/dumps`).set('content-type', 'text/plain').send(counterDump()).expect(201);
    await api.request
      .post(`${V1}/nodes/local/dumps`)
      .set('content-type', 'text/plain')
      .set('origin', `http://${own}`)
      .set('sec-fetch-site', 'same-origin')
      .send(counterDump({ variant: 2 }))
      .expect(201);
    assert.equal(await versions('local'), 2);
    await api.request.get(`${V1}/nodes`).set('origin', 'http://evil.example').set('sec-fetch-site', 'cross-site').expect(200);
    await api.request.delete(`${V1}/nodes/local`).set('origin', 'http://evil.example').expect(403);
    await api.request.delete(`${V1}/nodes/local`).expect(204);
  });

  it('with a token the check does not apply (a browser cannot send Authorization cross-site without CORS)', async () => {
    const admin = (await createToken(api.db.prisma, { scope: 'admin' })).token;
    await api.request.post(`${V1}/nodes/tok/dumps`).set('authorization', `Bearer ${admin}`).set('origin', 'http://tools.example').set('content-type', 'text/plain').send(counterDump()).expect(201);
  });
});

describe('crossSiteReason', () => {
  it('accepts loopback Hosts with their own Origin or none, refuses the rest', () => {
    assert.equal(crossSiteReason({ host: '127.0.0.1:8080' }), undefined);
    assert.equal(crossSiteReason({ host: '[::1]:8080', origin: 'http://[::1]:8080' }), undefined);
    assert.equal(crossSiteReason({ host: 'localhost:8080', origin: 'http://localhost:8080', 'sec-fetch-site': 'same-origin' }), undefined);
    assert.equal(crossSiteReason({}), undefined);
    assert.match(crossSiteReason({ host: 'localhost:8080', origin: 'http://localhost:3000' }) ?? '', /Origin/);
    assert.match(crossSiteReason({ host: 'localhost:8080', 'sec-fetch-site': 'same-site' }) ?? '', /same-site/);
    assert.match(crossSiteReason({ host: '192.0.2.1:8080' }) ?? '', /Host/);
  });
});
