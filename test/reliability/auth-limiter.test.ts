// The failed-authentication limiter (src/http/plugins/auth.ts) and TRUST_PROXY:
// failures are counted per client address and per presented token id; a
// valid token is never refused because of anyone's failures; failures from
// many addresses are still limited per token id; a flood of new addresses
// does not clear existing locks; memory stays bounded. Many client addresses
// are simulated with X-Forwarded-For through a trusted proxy (the loopback
// address the test connects from).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLimiter } from '../../src/http/plugins/auth.ts';
import { createToken } from '../../src/store/index.ts';
import { PROBLEM_TYPE, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';
const bearer = (token: string): string => `Bearer ${token}`;
const wrongSecretFor = (token: string): string => token.slice(0, 17) + 'x'.repeat(43);
const addr = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function logSink(level = 'info'): { lines: string[]; logger: { level: string; stream: { write(line: string): void } } } {
  const lines: string[] = [];
  return { lines, logger: { level, stream: { write: (line: string) => void lines.push(line) } } };
}

describe('auth limiter behind a trusted proxy (TRUST_PROXY=loopback)', () => {
  let api: TestApi;
  let good = '';
  let other = '';
  const sink = logSink();
  before(async () => {
    api = await startApi({ config: { authFailureLimit: 5, trustProxy: ['loopback'] }, logger: sink.logger });
    good = (await createToken(api.db.prisma, { scope: 'read' })).token;
    other = (await createToken(api.db.prisma, { scope: 'read' })).token;
  });
  after(async () => api.close());

  const get = (token: string, from: string) => api.request.get(`${V1}/nodes`).set('authorization', bearer(token)).set('x-forwarded-for', from);

  it('one client behind the proxy failing locks that client, not the others behind the same proxy', async () => {
    for (let i = 0; i < 5; i++) await get(`ppt_${'a'.repeat(12)}_${'z'.repeat(43)}`, '203.0.113.7').expect(401);
    const locked = await get(`ppt_${'b'.repeat(12)}_${'z'.repeat(43)}`, '203.0.113.7').expect(429).expect('content-type', PROBLEM_TYPE);
    assert.match(locked.body.detail, /from the address 203\.0\.113\.7/);
    assert.ok(Number(locked.headers['retry-after']) >= 1);
    // Another client behind the same proxy (same TCP peer) is not affected.
    await get(`ppt_${'b'.repeat(12)}_${'z'.repeat(43)}`, '203.0.113.8').expect(401);
    // The log names the real client address, not the proxy's.
    assert.ok(sink.lines.some((l) => /"remoteAddress":"203\.0\.113\.7"/.test(l)), 'the request log shows the forwarded client address');
    api.app.auth.failures.reset();
  });

  it('a valid token is never refused: not from a locked address, not when its own id is locked by others', async () => {
    // The address is locked by its own bad guesses (another user behind the same NAT) ...
    for (let i = 0; i < 6; i++) await get(wrongSecretFor(other), '203.0.113.20').expect(i < 5 ? 401 : 429);
    await get(good, '203.0.113.20').expect(200);
    // ... and guesses at the good token's public id from many addresses lock that id.
    for (let i = 0; i < 5; i++) await get(wrongSecretFor(good), `198.51.100.${i + 1}`).expect(401);
    const byId = await get(wrongSecretFor(good), '198.51.100.99').expect(429);
    assert.match(byId.body.detail, /for the token id/);
    // The holder of the good token still gets in, from anywhere.
    await get(good, '198.51.100.1').expect(200);
    await get(good, '192.0.2.1').expect(200);
    api.app.auth.failures.reset();
  });

  it('failures from 50 addresses (one guess each ten times over) are limited per token id', async () => {
    let refused = 0;
    for (let round = 0; round < 10; round++) {
      for (let a = 0; a < 50; a++) {
        const res = await get(wrongSecretFor(other), `192.0.2.${a + 1}`);
        assert.ok(res.status === 401 || res.status === 429, String(res.status));
        if (res.status === 429) refused++;
      }
    }
    // 500 guesses, at most `limit` (5) of them answered before the id locks.
    assert.equal(refused, 500 - 5);
    await get(other, '192.0.2.1').expect(200);
    api.app.auth.failures.reset();
  });

  it('a flood of failures from 10,000 new addresses does not clear existing locks', async () => {
    for (let i = 0; i < 5; i++) await get(wrongSecretFor(other), '203.0.113.50').expect(401);
    await get(wrongSecretFor(other), '203.0.113.51').expect(429); // the id is locked
    // 10,000 addresses each failing once with a token id of their own.
    for (let i = 0; i < 10_000; i++) {
      const res = await api.app.inject({ method: 'GET', url: `${V1}/nodes`, headers: { authorization: bearer(`ppt_${i.toString(16).padStart(12, '0')}_${'q'.repeat(43)}`), 'x-forwarded-for': addr(i) } });
      assert.equal(res.statusCode, 401);
    }
    await get(`ppt_${'c'.repeat(12)}_${'z'.repeat(43)}`, '203.0.113.50').expect(429); // the address is still locked
    await get(wrongSecretFor(other), '203.0.113.52').expect(429); // and so is the id
    const size = api.app.auth.failures.size;
    assert.ok(size.counted <= 20_000 && size.locked <= 50_000, JSON.stringify(size));
    api.app.auth.failures.reset();
  });
});

describe('TRUST_PROXY off (the default): X-Forwarded-For is ignored', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ config: { authFailureLimit: 3 } });
    await createToken(api.db.prisma, { scope: 'read' });
  });
  after(async () => api.close());

  it('a client cannot dodge its lock by claiming other addresses', async () => {
    const bad = bearer(`ppt_${'d'.repeat(12)}_${'z'.repeat(43)}`);
    for (let i = 0; i < 3; i++) await api.request.get(`${V1}/nodes`).set('authorization', bad).set('x-forwarded-for', `192.0.2.${i + 1}`).expect(401);
    const other = bearer(`ppt_${'e'.repeat(12)}_${'z'.repeat(43)}`);
    await api.request.get(`${V1}/nodes`).set('authorization', other).set('x-forwarded-for', '192.0.2.200').expect(429);
  });

  it('with a hop count, the address one hop in is the client', async () => {
    const hop = await startApi({ config: { authFailureLimit: 2, trustProxy: 1 }, shareDatabaseOf: api });
    try {
      const bad = bearer(`ppt_${'f'.repeat(12)}_${'z'.repeat(43)}`);
      const bad2 = bearer(`ppt_${'9'.repeat(12)}_${'z'.repeat(43)}`);
      for (let i = 0; i < 2; i++) await hop.request.get(`${V1}/nodes`).set('authorization', bad).set('x-forwarded-for', '203.0.113.1').expect(401);
      await hop.request.get(`${V1}/nodes`).set('authorization', bad2).set('x-forwarded-for', '203.0.113.1').expect(429);
      await hop.request.get(`${V1}/nodes`).set('authorization', bad2).set('x-forwarded-for', '203.0.113.2').expect(401);
    } finally {
      await hop.close();
    }
  });
});

describe('FailureLimiter bounds', () => {
  it('holds at most maxKeys counts however many keys fail, and keeps its locks through the flood', () => {
    const l = new FailureLimiter(3, 60_000, 1000, 100);
    for (let i = 0; i < 3; i++) l.fail('ip:locked', 0);
    assert.ok(l.blockedFor('ip:locked', 1) > 0);
    for (let i = 0; i < 100_000; i++) l.fail(`ip:${addr(i)}`, 2);
    assert.ok(l.size.counted <= 1000, JSON.stringify(l.size));
    assert.ok(l.blockedFor('ip:locked', 3) > 0, 'the lock survived');
    assert.equal(l.blockedFor('ip:locked', 60_000), 0, 'and ends with its window');
  });
});
