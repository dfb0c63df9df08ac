// Credentials are never accepted from the URL, and never logged from it: a
// request with `?token=` (or any packetpath token in the query) is a 400
// problem+json telling the client to use the Authorization header, and the
// server's log (captured from its stream) holds no trace of the secret.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialInUrl, redactUrl } from '../../src/http/credentials.ts';
import { createToken } from '../../src/store/index.ts';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

describe('credentials in the URL', () => {
  let api: TestApi;
  let token = '';
  const lines: string[] = [];
  before(async () => {
    api = await startApi({ logger: { level: 'trace', stream: { write: (l: string) => void lines.push(l) } } });
    token = (await createToken(api.db.prisma, { scope: 'admin' })).token;
  });
  after(async () => api.close());

  it('are refused with 400 problem+json pointing at the Authorization header, even when the token is valid', async () => {
    for (const url of [`${V1}/nodes?token=${token}`, `${V1}/nodes?access_token=${token}`, `${V1}/nodes?limit=5&x=${token}`, `/healthz?api_key=${token}`, `${V1}/nowhere?token=${token}`]) {
      const res = await api.request.get(url).expect(400).expect('content-type', PROBLEM_TYPE);
      assert.equal(res.body.type, '/problems/credentials-in-url', url);
      assert.match(res.body.detail, /Authorization header/);
      assert.ok(!JSON.stringify(res.body).includes(token.slice(17)), 'the answer does not echo the secret');
    }
    // Also when a valid Authorization header comes with it.
    await api.request.get(`${V1}/nodes?token=${token}`).set('authorization', `Bearer ${token}`).expect(400);
    await api.request.get(`${V1}/nodes`).set('authorization', `Bearer ${token}`).expect(200);
  });

  it('never reach the log: the request line is logged with the secret redacted', () => {
    const secret = token.slice(17);
    assert.ok(lines.some((l) => /incoming request/.test(l) && /token=\[redacted\]/.test(l)), 'the request was logged, redacted');
    assert.ok(!lines.some((l) => l.includes(secret)), 'the token secret is in the log');
  });
});

describe('credentialInUrl / redactUrl', () => {
  const t = `ppt_0123456789ab_${'s'.repeat(43)}`;
  it('finds credential parameters by name or token-shaped value', () => {
    assert.equal(credentialInUrl('/a?token=x'), 'token');
    assert.equal(credentialInUrl('/a?Access_Token=x'), 'Access_Token');
    assert.equal(credentialInUrl(`/a?q=${encodeURIComponent('Bearer ' + t)}`), 'q');
    assert.equal(credentialInUrl('/a?table=filter&chain=INPUT'), undefined);
    assert.equal(credentialInUrl('/a'), undefined);
  });
  it('redacts values, keeps the rest', () => {
    assert.equal(redactUrl(`/a?table=nat&token=${t}`), '/a?table=nat&token=[redacted]');
    assert.equal(redactUrl(`/a/${t}?x=1`), '/a/ppt_0123456789ab_[redacted]?x=1');
    assert.equal(redactUrl(`/a?q=${t}`), '/a?q=[redacted]');
  });
});
