// The /ui dashboard's files as the API serves them (src/http/routes/ui.ts),
// without a browser: public even when the server needs tokens (the data does
// not come with them), `/ui` sent to `/ui/`, a strict CSP on every file, and
// only the browser's files served from the folder.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createToken } from '../../src/store/index.ts';
import { startApi, type TestApi } from '../support/api.ts';

describe('GET /ui', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    // With a token in the database the API is closed: the page must still load.
    await createToken(api.db.prisma, { scope: 'read', name: 'ui' });
  });
  after(async () => api.close());

  it('redirects /ui to /ui/, where the page is, without a token', async () => {
    const res = await api.request.get('/ui').expect(301);
    assert.equal(res.headers['location'], 'ui/');
    const page = await api.request.get('/ui/').expect(200);
    assert.match(page.headers['content-type'] ?? '', /^text\/html/);
    assert.match(page.text, /<script type="module" src="app\.js"><\/script>/);
    await api.request.get('/api/v1/nodes').expect(401);
  });

  for (const [path, type] of [
    ['/ui/', /^text\/html/],
    ['/ui/app.js', /^(application|text)\/javascript/],
    ['/ui/views/trace.js', /^(application|text)\/javascript/],
    ['/ui/style.css', /^text\/css/],
  ] as const) {
    it(`${path}: ${type.source.replace(/\\/g, '')}, strict CSP, nosniff`, async () => {
      const res = await api.request.get(path).expect(200);
      assert.match(res.headers['content-type'] ?? '', type);
      const csp = res.headers['content-security-policy'] ?? '';
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), `${csp} has ${directive}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    });
  }

  it('serves nothing else from the folder, and nothing outside it', async () => {
    for (const path of ['/ui/tsconfig.json', '/ui/types.d.ts', '/ui/missing.js', '/ui/../package.json', '/ui/%2e%2e/package.json']) {
      const res = await api.request.get(path);
      assert.ok(res.status === 404 || res.status === 403, `${path}: ${res.status}`);
    }
  });

  it('every route, the static ones included, declares its scope', () => {
    assert.deepEqual(api.app.auth.undeclared, []);
  });
});
