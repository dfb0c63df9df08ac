// Every refusal is a 4xx problem+json, also the ones Fastify's handlers never
// see: Node's parser (malformed request line, bad header, headers too large:
// raw sockets), the router (414 for an over-long path segment, 400 for bad
// percent-encoding), a JSON body nested thousands of levels deep (was a 500:
// JSON.stringify of the host file overflowed the stack), and a token lifetime
// of 14,000,000 weeks (was a 500 from the API and a stack trace from the CLI).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/paths.ts';
import { PROBLEM_TYPE, counterDump, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';
const run = promisify(execFile);

function rawExchange(url: string, text: string): Promise<{ status: number; contentType: string; body: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', body = ''] = out.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      const contentType = /^content-type:\s*(.*)$/im.exec(head)?.[1] ?? '';
      try {
        resolve({ status, contentType, body: JSON.parse(body) as Record<string, unknown> });
      } catch {
        reject(new Error(`not JSON: ${JSON.stringify(out)}`));
      }
    });
    s.write(text);
  });
}

describe('problem+json for what Node and the router refuse', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  for (const [name, request, status, type] of [
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, '/problems/malformed-request'],
    ['a malformed header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n', 400, '/problems/malformed-request'],
    ['headers over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, '/problems/headers-too-large'],
    ['a path segment over 256 characters', `GET ${V1}/nodes/${'n'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414, '/problems/uri-too-long'],
    ['bad percent-encoding', `GET ${V1}/nodes/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 400, '/problems/bad-url'],
  ] as const) {
    it(`${name}: ${status} ${type}`, async () => {
      const res = await rawExchange(api.url, request);
      assert.equal(res.status, status);
      assert.match(res.contentType, PROBLEM_TYPE);
      assert.equal(res.body['type'], type);
      assert.equal(res.body['status'], status);
      assert.equal(typeof res.body['detail'], 'string');
      assert.equal(typeof res.body['requestId'], 'string');
    });
  }

  it('a JSON host nested 4,100 levels deep is a 400 problem+json, for an upload and for a trace; nothing is stored', async () => {
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    for (const n of [4_100, 20_000]) {
      const upload = `{"dump":${JSON.stringify(counterDump())},"host":{"x":${deep(n)}}}`;
      const res = await api.request.post(`${V1}/nodes/deep/dumps`).set('content-type', 'application/json').send(upload).expect(400).expect('content-type', PROBLEM_TYPE);
      assert.equal(res.body.type, '/problems/json-too-deep');
      const trace = `{"node":"deep","packet":{"src":"192.0.2.1","dst":"192.0.2.2","protocol":"tcp","dport":80,"inInterface":"eth0"},"host":{"x":${'['.repeat(n)}${']'.repeat(n)}}}`;
      await api.request.post(`${V1}/trace`).set('content-type', 'application/json').send(trace).expect(400).expect('content-type', PROBLEM_TYPE);
    }
    await api.request.get(`${V1}/nodes/deep`).expect(404);
    // An ordinary nested host file still goes through.
    await api.request.post(`${V1}/nodes/deep/dumps`).send({ dump: counterDump(), host: { interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }] } }).expect(201);
  });

  it('a token lifetime over 10 years is a 422 problem+json naming the limit; 10 years is fine', async () => {
    for (const expiresIn of ['14000000w', '3654d', '999999999999999999999w']) {
      const res = await api.request.post(`${V1}/tokens`).send({ scope: 'read', expiresIn }).expect('content-type', PROBLEM_TYPE);
      assert.ok(res.status === 422 || res.status === 400, `${expiresIn}: ${res.status}`);
      assert.match(res.body.detail, /10 years|not a lifetime/);
    }
    const far = await api.request.post(`${V1}/tokens`).send({ scope: 'read', expiresAt: '9999-12-31T00:00:00Z' }).expect(422);
    assert.match(far.body.detail, /10 years/);
    await api.request.post(`${V1}/tokens`).send({ scope: 'read', expiresIn: '520w' }).expect(201);
  });
});

describe('packetpath token create --expires with a huge lifetime', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  it('is a usage error (exit 2) with a one-line message, not a stack trace', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'token', 'create', '--scope', 'read', '--expires', '14000000w'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: api.config.databaseUrl, LOG_LEVEL: 'silent' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code ?? 1, stderr: e.stderr ?? '' }),
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /10 years/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
