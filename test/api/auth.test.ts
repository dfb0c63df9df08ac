// Authentication: bearer tokens and scopes (src/http/plugins/auth.ts,
// src/store/tokens.ts), the open-on-loopback default, the locked
// non-loopback mode, PACKETPATH_OPEN_READS, cluster-limited upload tokens,
// the failed-authentication limit, the token admin API and CLI, and the
// OpenAPI security documentation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generateOpenApi } from '../../src/http/openapi.ts';
import { isLoopbackHost, routeScopes, FailureLimiter } from '../../src/http/plugins/auth.ts';
import { createToken, revokeToken } from '../../src/store/index.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { PROBLEM_TYPE, counterDump, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';
const bearer = (token: string): string => `Bearer ${token}`;
const run = promisify(execFile);

/** A log sink for buildApp: every line kept, for "never logs a token" checks. */
function logSink(level = 'info'): { lines: string[]; logger: { level: string; stream: { write(line: string): void } } } {
  const lines: string[] = [];
  return { lines, logger: { level, stream: { write: (line: string) => void lines.push(line) } } };
}

describe('auth helpers', () => {
  it('isLoopbackHost: loopback addresses only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '192.0.2.1', '2001:db8::1', 'packetpath.example', '']) assert.equal(isLoopbackHost(h), false, h);
  });

  it('routeScopes: undeclared is admin, public wins, lists stay lists', () => {
    assert.deepEqual(routeScopes(undefined), ['admin']);
    assert.deepEqual(routeScopes([]), ['admin']);
    assert.equal(routeScopes('public'), 'public');
    assert.deepEqual(routeScopes('read'), ['read']);
    assert.deepEqual(routeScopes(['read', 'upload']), ['read', 'upload']);
  });

  it('FailureLimiter: blocks past the limit until the window ends', () => {
    const l = new FailureLimiter(2, 60_000);
    l.fail('a', 0);
    assert.equal(l.blockedFor('a', 1), 0);
    l.fail('a', 1);
    assert.equal(l.blockedFor('a', 1000), 59);
    assert.equal(l.blockedFor('b', 1000), 0);
    assert.equal(l.blockedFor('a', 60_000), 0);
    assert.equal(new FailureLimiter(0).blockedFor('a'), 0);
  });
});

describe('open by default: loopback, no tokens', () => {
  let api: TestApi;
  const sink = logSink('warn');
  before(async () => {
    api = await startApi({ logger: sink.logger });
  });
  after(async () => api.close());

  it('serves reads, uploads and admin routes without a token, and warns that it is open', async () => {
    await api.request.post(`${V1}/nodes/open-a/dumps`).set('content-type', 'text/plain').send(counterDump()).expect(201);
    await api.request.get(`${V1}/nodes`).expect(200);
    await api.request.get(`${V1}/tokens`).expect(200);
    await api.request.delete(`${V1}/nodes/open-a`).expect(204);
    assert.ok(sink.lines.some((l) => /"level":40/.test(l) && /API is OPEN/.test(l)), sink.lines.join(''));
  });

  it('a presented token is still checked: a bad one is a 401', async () => {
    const res = await api.request.get(`${V1}/nodes`).set('authorization', bearer('ppt_000000000000_' + 'A'.repeat(43))).expect(401).expect('content-type', PROBLEM_TYPE);
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="packetpath", error="invalid_token"/);
  });

  it('every route declares a scope (routes without one are admin-only)', () => {
    assert.deepEqual(api.app.auth.undeclared, []);
  });
});

describe('with tokens', () => {
  let api: TestApi;
  const sink = logSink('debug');
  const t: Record<'admin' | 'read' | 'upload' | 'lab' | 'expired' | 'revoked', string> = { admin: '', read: '', upload: '', lab: '', expired: '', revoked: '' };
  let revokedId = '';
  before(async () => {
    api = await startApi({ logger: sink.logger });
    const p = api.db.prisma;
    t.admin = (await createToken(p, { scope: 'admin', name: 'ops' })).token;
    t.read = (await createToken(p, { scope: 'read' })).token;
    t.upload = (await createToken(p, { scope: 'upload' })).token;
    t.lab = (await createToken(p, { scope: 'upload', cluster: 'lab', name: 'agents-lab' })).token;
    const soon = await createToken(p, { scope: 'admin', expiresAt: new Date(Date.now() + 50) });
    t.expired = soon.token;
    const r = await createToken(p, { scope: 'admin' });
    t.revoked = r.token;
    revokedId = r.info.id;
    await revokeToken(p, revokedId);
    await new Promise((res) => setTimeout(res, 60));
  });
  after(async () => api.close());

  const upload = (node: string, token: string | undefined, body: Record<string, unknown> = { dump: counterDump() }) => {
    const req = api.request.post(`${V1}/nodes/${node}/dumps`).set('content-type', 'application/json');
    if (token) req.set('authorization', bearer(token));
    return req.send(body);
  };

  it('public routes need no token: health, readiness, OpenAPI, Swagger UI; unknown routes stay 404', async () => {
    await api.request.get('/healthz').expect(200);
    await api.request.get('/readyz').expect(200);
    await api.request.get('/openapi.json').expect(200);
    await api.request.get('/docs').redirects(2).expect(200);
    await api.request.get('/docs/static/swagger-initializer.js').expect(200);
    await api.request.get(`${V1}/no-such-thing`).expect(404).expect('content-type', PROBLEM_TYPE);
  });

  it('no token: 401 problem+json with WWW-Authenticate: Bearer, for reads, uploads and admin routes', async () => {
    for (const res of [await api.request.get(`${V1}/nodes`), await upload('n0', undefined), await api.request.delete(`${V1}/nodes/n0`), await api.request.get(`${V1}/tokens`)]) {
      assert.equal(res.status, 401);
      assert.match(res.headers['content-type'] ?? '', PROBLEM_TYPE);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="packetpath"');
      assert.equal(res.body.type, '/problems/unauthorized');
      assert.match(res.body.detail, /bearer token/);
    }
  });

  it('bad, malformed, expired and revoked tokens: 401 saying which', async () => {
    const cases: [string, RegExp][] = [
      [bearer('ppt_0123456789ab_' + 'x'.repeat(43)), /not valid/],
      [bearer(t.admin.slice(0, -1) + (t.admin.endsWith('A') ? 'B' : 'A')), /not valid/],
      [bearer('hunter2'), /not a packetpath token/],
      [`Basic ${Buffer.from('a:b').toString('base64')}`, /must be "Bearer <token>"/],
      [bearer(t.expired), /expired/],
      [bearer(t.revoked), /revoked/],
    ];
    for (const [header, detail] of cases) {
      const res = await api.request.get(`${V1}/nodes`).set('authorization', header);
      assert.equal(res.status, 401, header);
      assert.match(res.body.detail, detail);
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm="packetpath", error="invalid_(token|request)"/);
    }
  });

  it('a read token reads but cannot upload, delete or manage tokens (403 insufficient-scope)', async () => {
    await api.request.get(`${V1}/nodes`).set('authorization', bearer(t.read)).expect(200);
    const res = await upload('n1', t.read).expect(403).expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/insufficient-scope');
    assert.equal(res.body.scope, 'read');
    assert.deepEqual(res.body.needs, ['upload']);
    assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope", scope="upload"/);
    await api.request.delete(`${V1}/nodes/n1`).set('authorization', bearer(t.read)).expect(403);
    await api.request.get(`${V1}/tokens`).set('authorization', bearer(t.read)).expect(403);
    await api.request.post(`${V1}/nodes`).set('authorization', bearer(t.read)).send({ name: 'n1' }).expect(403);
  });

  it('an upload token uploads and may ask for the latest sha, but cannot read otherwise', async () => {
    const up = await upload('n2', t.upload).expect(201);
    const sha = await api.request.get(`${V1}/nodes/n2/dumps/latest/sha`).set('authorization', bearer(t.upload)).expect(200);
    assert.equal(sha.body.sha256, up.body.sha256);
    await api.request.get(`${V1}/nodes`).set('authorization', bearer(t.upload)).expect(403);
    await api.request.get(`${V1}/nodes/n2/dumps/latest`).set('authorization', bearer(t.upload)).expect(403);
    await api.request.get(`${V1}/nodes/n2/dumps/${up.body.id}/raw`).set('authorization', bearer(t.upload)).expect(403);
    await api.request.delete(`${V1}/nodes/n2`).set('authorization', bearer(t.upload)).expect(403);
    await api.request.get(`${V1}/nodes/n2/dumps/latest/sha`).set('authorization', bearer(t.read)).expect(200);
  });

  it('an admin token does everything', async () => {
    await upload('n3', t.admin).expect(201);
    await api.request.get(`${V1}/nodes/n3`).set('authorization', bearer(t.admin)).expect(200);
    await api.request.delete(`${V1}/nodes/n3`).set('authorization', bearer(t.admin)).expect(204);
    await api.request.get(`${V1}/tokens`).set('authorization', bearer(t.admin)).expect(200);
  });

  it('a cluster-limited upload token writes to its cluster only', async () => {
    const other = await upload('lab-1', t.lab, { dump: counterDump(), cluster: 'prod' }).expect(403).expect('content-type', PROBLEM_TYPE);
    assert.match(other.body.detail, /only write to cluster "lab", not "prod"/);
    await upload('lab-1', t.lab, { dump: counterDump() }).expect(201);
    const node = await api.request.get(`${V1}/nodes/lab-1`).set('authorization', bearer(t.read)).expect(200);
    assert.equal(node.body.cluster, 'lab', 'an upload without a cluster is put in the token\'s');
    await upload('lab-1', t.lab, { dump: counterDump({ variant: 2 }), cluster: 'lab' }).expect(201);
    // A node of another cluster cannot be written, nor its sha read; nothing changes.
    await upload('prod-1', t.admin, { dump: counterDump(), cluster: 'prod' }).expect(201);
    const denied = await upload('prod-1', t.lab, { dump: counterDump({ variant: 'x' }) }).expect(403);
    assert.match(denied.body.detail, /not in cluster "lab"/);
    await api.request.get(`${V1}/nodes/prod-1/dumps/latest/sha`).set('authorization', bearer(t.lab)).expect(403);
    const history = await api.request.get(`${V1}/nodes/prod-1/dumps`).set('authorization', bearer(t.read)).expect(200);
    assert.equal(history.body.items.length, 1);
    // Nodes without a cluster are "another cluster" too.
    await upload('nocluster-1', t.upload, { dump: counterDump() }).expect(201);
    await upload('nocluster-1', t.lab, { dump: counterDump() }).expect(403);
    // Registering a node: same rules.
    await api.request.post(`${V1}/nodes`).set('authorization', bearer(t.lab)).send({ name: 'lab-2', cluster: 'prod' }).expect(403);
    const created = await api.request.post(`${V1}/nodes`).set('authorization', bearer(t.lab)).send({ name: 'lab-2' }).expect(201);
    assert.equal(created.body.cluster, 'lab');
  });

  it('token admin API: create (shown once), list (never the secret), revoke', async () => {
    const admin = bearer(t.admin);
    const res = await api.request.post(`${V1}/tokens`).set('authorization', admin).send({ scope: 'upload', cluster: 'edge', name: 'agents-edge', expiresIn: '30d' }).expect(201);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(res.body.token, /^ppt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(res.body.prefix, `ppt_${res.body.id}_`);
    assert.equal(res.body.status, 'active');
    assert.equal(res.body.cluster, 'edge');
    const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, String(days));
    assert.equal(res.headers['location'], `${V1}/tokens/${res.body.id}`);
    const token: string = res.body.token;
    await upload('edge-1', token, { dump: counterDump(), cluster: 'edge' }).expect(201);

    const list = await api.request.get(`${V1}/tokens`).set('authorization', admin).expect(200);
    assert.ok(!list.text.includes(token.slice(17)), 'the list never shows a token secret');
    assert.ok(!JSON.stringify(list.body).includes('hash'));
    const listed = list.body.items.find((i: { id: string }) => i.id === res.body.id);
    assert.equal(listed.name, 'agents-edge');
    assert.ok(listed.lastUsedAt, 'use is recorded');
    assert.equal(list.body.items.find((i: { id: string }) => i.id === revokedId).status, 'revoked');
    assert.ok(list.body.items.some((i: { status: string }) => i.status === 'expired'));

    const revoked = await api.request.delete(`${V1}/tokens/${res.body.id}`).set('authorization', admin).expect(200);
    assert.equal(revoked.body.status, 'revoked');
    await upload('edge-1', token, { dump: counterDump() }).expect(401);
    await api.request.delete(`${V1}/tokens/${res.body.id}`).set('authorization', admin).expect(200);
    await api.request.delete(`${V1}/tokens/0123456789ab`).set('authorization', admin).expect(404);
    await api.request.delete(`${V1}/tokens/nope`).set('authorization', admin).expect(400);
    const bad = await api.request.post(`${V1}/tokens`).set('authorization', admin).send({ scope: 'read', cluster: 'x' }).expect(422);
    assert.match(bad.body.detail, /only upload tokens/);
    await api.request.post(`${V1}/tokens`).set('authorization', admin).send({ scope: 'root' }).expect(400);
    await api.request.post(`${V1}/tokens`).set('authorization', admin).send({ scope: 'read', expiresAt: '2020-01-01T00:00:00Z' }).expect(422);
  });

  it('no token text ever reaches the server log', () => {
    assert.ok(sink.lines.length > 20, 'the server logged');
    assert.ok(sink.lines.some((l) => /authentication failed/.test(l)));
    for (const token of Object.values(t)) {
      assert.ok(!sink.lines.some((l) => l.includes(token)), 'a token is in the log');
      assert.ok(!sink.lines.some((l) => l.includes(token.slice(17))), 'a token secret is in the log');
    }
  });
});

describe('failed authentications are rate-limited per address (test/reliability/auth-limiter.test.ts has the rest)', () => {
  let api: TestApi;
  let good = '';
  before(async () => {
    api = await startApi({ config: { authFailureLimit: 3 } });
    good = (await createToken(api.db.prisma, { scope: 'read' })).token;
  });
  after(async () => api.close());

  it('past the limit: 429 problem+json with Retry-After for failing credentials, never for a good token; public routes still answer', async () => {
    for (let i = 0; i < 3; i++) await api.request.get(`${V1}/nodes`).set('authorization', bearer(`ppt_0123456789ab_${'z'.repeat(43)}`)).expect(401);
    await api.request.get(`${V1}/nodes`).set('authorization', bearer(good)).expect(200);
    const res = await api.request.get(`${V1}/nodes`).set('authorization', bearer(`ppt_0123456789ac_${'z'.repeat(43)}`)).expect(429).expect('content-type', PROBLEM_TYPE);
    const wait = Number(res.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= 60, String(wait));
    assert.equal(res.body.type, '/problems/too-many-failed-authentications');
    await api.request.get('/healthz').expect(200);
    // Requests without credentials are not authentication attempts.
    await api.request.get(`${V1}/nodes`).expect(401);
    api.app.auth.failures.reset();
    await api.request.get(`${V1}/nodes`).set('authorization', bearer(`ppt_0123456789ac_${'z'.repeat(43)}`)).expect(401);
  });
});

describe('bound to a non-loopback address', () => {
  it('with no tokens it is locked: only health checks answer, and 401s say how to create a token', async () => {
    const sink = logSink('warn');
    const api = await startApi({ config: { host: '0.0.0.0' }, logger: sink.logger });
    try {
      assert.equal(api.app.auth.loopback, false);
      await api.request.get('/healthz').expect(200);
      const res = await api.request.get(`${V1}/nodes`).expect(401);
      assert.match(res.body.detail, /has no API tokens yet.*packetpath token create/);
      await api.request.post(`${V1}/nodes/x/dumps`).set('content-type', 'text/plain').send(counterDump()).expect(401);
      assert.ok(sink.lines.some((l) => /"level":50/.test(l) && /non-loopback/.test(l)), 'an error is logged at start');
      // Creating a token (e.g. `packetpath token create` on the same database) unlocks it at once.
      const { token } = await createToken(api.db.prisma, { scope: 'upload' });
      await api.request.post(`${V1}/nodes/x/dumps`).set('authorization', bearer(token)).set('content-type', 'text/plain').send(counterDump()).expect(201);
      await api.request.get(`${V1}/nodes`).expect(401);
    } finally {
      await api.close();
    }
  });

  it('PACKETPATH_OPEN_READS serves reads without a token; uploads and admin still need one', async () => {
    const api = await startApi({ config: { host: '0.0.0.0', openReads: true } });
    try {
      await api.request.get(`${V1}/nodes`).expect(200);
      await api.request.post(`${V1}/nodes/x/dumps`).set('content-type', 'text/plain').send(counterDump()).expect(401);
      const { token } = await createToken(api.db.prisma, { scope: 'upload' });
      await api.request.post(`${V1}/nodes/x/dumps`).set('authorization', bearer(token)).set('content-type', 'text/plain').send(counterDump()).expect(201);
      await api.request.get(`${V1}/nodes/x/dumps/latest`).expect(200);
      await api.request.delete(`${V1}/nodes/x`).expect(401);
    } finally {
      await api.close();
    }
  });

  it('open reads on loopback with tokens: reads open, the rest closed', async () => {
    const api = await startApi({ config: { openReads: true } });
    try {
      await createToken(api.db.prisma, { scope: 'admin' });
      await api.request.get(`${V1}/nodes`).expect(200);
      await api.request.post(`${V1}/nodes/x/dumps`).set('content-type', 'text/plain').send(counterDump()).expect(401);
    } finally {
      await api.close();
    }
  });
});

describe('OpenAPI security', () => {
  type Op = { security?: Record<string, string[]>[]; responses: Record<string, { headers?: Record<string, unknown> }> };
  let doc: { components: { securitySchemes: Record<string, Record<string, unknown>> }; security: unknown; paths: Record<string, Record<string, Op>> };
  before(async () => {
    doc = (await generateOpenApi()) as typeof doc;
  });

  it('has a bearerAuth scheme, public routes opt out, every other operation names its scope with 401/403/429', () => {
    assert.equal(doc.components.securitySchemes['bearerAuth']?.['type'], 'http');
    assert.equal(doc.components.securitySchemes['bearerAuth']?.['scheme'], 'bearer');
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    assert.deepEqual(doc.paths['/healthz']?.['get']?.security, []);
    assert.deepEqual(doc.paths['/readyz']?.['get']?.security, []);
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (path === '/healthz' || path === '/readyz') continue;
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        assert.ok(op.security?.length, `${where} has security`);
        for (const s of ['401', '403', '429']) assert.ok(op.responses[s], `${where} documents ${s}`);
        assert.ok(op.responses['401']?.headers?.['WWW-Authenticate'], `${where} 401 WWW-Authenticate`);
        assert.ok(op.responses['429']?.headers?.['Retry-After'], `${where} 429 Retry-After`);
        checked++;
      }
    }
    assert.ok(checked >= 12);
    assert.deepEqual(doc.paths['/api/v1/nodes/{node}/dumps']?.['post']?.security, [{ bearerAuth: ['upload'] }]);
    assert.deepEqual(doc.paths['/api/v1/nodes/{node}']?.['delete']?.security, [{ bearerAuth: ['admin'] }]);
    assert.deepEqual(doc.paths['/api/v1/nodes']?.['get']?.security, [{ bearerAuth: ['read'] }]);
    assert.deepEqual(doc.paths['/api/v1/nodes/{node}/dumps/latest/sha']?.['get']?.security, [{ bearerAuth: ['read'] }, { bearerAuth: ['upload'] }]);
    assert.deepEqual(doc.paths['/api/v1/tokens']?.['post']?.security, [{ bearerAuth: ['admin'] }]);
  });
});

describe('packetpath token (CLI, on the database)', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'token', ...args], { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: api.config.databaseUrl, LOG_LEVEL: 'silent' } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );

  it('create prints the token alone on stdout; list shows it without the secret; revoke stops it', async () => {
    const created = await cli(['create', '--scope', 'upload', '--cluster', 'prod', '--name', 'agents', '--expires', '30d']);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^ppt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /scope upload, cluster prod, name agents, expires .*shown only this once/);
    const id = token.slice(4, 16);

    // The running server (same database) requires tokens from now on and accepts this one.
    await api.request.get(`${V1}/nodes`).expect(401);
    await api.request.post(`${V1}/nodes/cli-1/dumps`).set('authorization', bearer(token)).set('content-type', 'text/plain').send(counterDump()).expect(201);

    const list = await cli(['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${id}\\s+upload\\s+prod\\s+agents\\s+active`, 'm'));
    assert.ok(!list.stdout.includes(token.slice(17)));
    const json = JSON.parse((await cli(['list', '--json'])).stdout) as { items: { id: string; lastUsedAt: string | null }[] };
    assert.ok(json.items.find((i) => i.id === id)?.lastUsedAt);

    const revoked = await cli(['revoke', id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    await api.request.post(`${V1}/nodes/cli-1/dumps`).set('authorization', bearer(token)).set('content-type', 'text/plain').send(counterDump()).expect(401);
    assert.equal((await cli(['revoke', '0123456789ab'])).code, 1);
    assert.equal((await cli(['create', '--scope', 'root'])).code, 2);
    assert.equal((await cli(['create', '--scope', 'read', '--cluster', 'x'])).code, 2);
  });
});
