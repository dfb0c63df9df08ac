// POST /api/v1/nodes/{node}/dumps: formats, dedupe, counters, host files,
// strict mode, gzip, limits, and rejected uploads leaving history alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { deflateSync, gzipSync } from 'node:zlib';
import { INFLATE_CHUNK_BYTES, inflating, SMALL_BODY_BYTES, SMALL_INFLATE_CHUNK_BYTES } from '../../src/http/upload.ts';
import { PROBLEM_TYPE, counterDump, seed, startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

/** Sends a body in chunks without Content-Length (chunked transfer encoding). */
function postChunked(url: string, path: string, headers: Record<string, string>, chunks: Buffer[]): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server may answer 413 and close before the whole body is written.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
      reject(err);
    });
    const write = (i: number): void => {
      if (i >= chunks.length) {
        req.end();
        return;
      }
      if (req.destroyed) return;
      req.write(chunks[i], () => setImmediate(() => write(i + 1)));
    };
    write(0);
  });
}


/** The buffers `inflating(encoding, declared)` decodes `body` into. */
async function inflatedChunks(encoding: 'gzip' | 'deflate', body: Buffer, declared: number | undefined): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  const stream = inflating(encoding, declared);
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => stream.on('end', resolve).on('error', reject).end(body));
  return chunks;
}
describe('uploading dumps', () => {
  let api: TestApi;
  let seedText: string;
  before(async () => {
    api = await startApi();
    seedText = await seed();
  });
  after(async () => api.close());

  const history = async (node: string) => (await api.request.get(`${V1}/nodes/${node}/dumps`).expect(200)).body as { items: { id: number; uploads: number; lastSeenAt: string }[] };

  it('stores a text/plain iptables-save dump: 201 with id, sha256, stats, diagnostics, Location', async () => {
    const res = await api.request.post(`${V1}/nodes/node-a/dumps`).set('content-type', 'text/plain').send(seedText).expect(201).expect('content-type', /application\/json/);
    assert.equal(res.body.created, true);
    assert.equal(res.body.node, 'node-a');
    assert.equal(res.body.family, 'ipv4');
    assert.equal(res.body.format, 'iptables-save');
    assert.match(res.body.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(res.body.stats, { tables: 2, chains: 19, rules: 25 });
    assert.ok(Array.isArray(res.body.diagnostics));
    assert.equal(res.body.ip6, undefined);
    assert.equal(res.headers['location'], `${V1}/nodes/node-a/dumps/${res.body.id}`);
  });

  it('an identical re-upload is 200 with the same id and created: false, and bumps lastSeenAt', async () => {
    const first = await api.request.post(`${V1}/nodes/node-b/dumps`).type('text/plain').send(seedText).expect(201);
    const before = await history('node-b');
    await new Promise((r) => setTimeout(r, 5));
    const again = await api.request.post(`${V1}/nodes/node-b/dumps`).type('text/plain').send(seedText).expect(200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.created, false);
    assert.equal(again.body.sha256, first.body.sha256);
    const after = await history('node-b');
    assert.equal(after.items.length, 1);
    assert.equal(after.items[0]?.uploads, 2);
    assert.ok(after.items[0]!.lastSeenAt > before.items[0]!.lastSeenAt);
  });

  it('a counters-only change keeps the version (same id) and shows the new counters', async () => {
    const a = await api.request.post(`${V1}/nodes/node-c/dumps`).type('text/plain').send(counterDump({ packets: 1 })).expect(201);
    const b = await api.request.post(`${V1}/nodes/node-c/dumps`).type('text/plain').send(counterDump({ packets: 7 })).expect(200);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.body.created, false);
    assert.equal(b.body.sha256, a.body.sha256);
    const detail = await api.request.get(`${V1}/nodes/node-c/dumps/${a.body.id}`).expect(200);
    assert.equal(detail.body.hasCounters, true);
    assert.equal(detail.body.uploads, 2);
    assert.deepEqual(detail.body.counters.filter.INPUT, { policy: '7:700', rules: ['7:350'] });
    const raw = await api.request.get(`${V1}/nodes/node-c/dumps/${a.body.id}/raw`).expect(200);
    assert.equal(raw.text, counterDump({ packets: 7 }));
    const withCounters = await api.request.get(`${V1}/nodes/node-c/dumps/${a.body.id}/canonical?counters=true`).expect(200);
    assert.match(withCounters.text, /^:INPUT DROP \[7:700\]$/m);
    assert.match(withCounters.text, /^\[7:350\] -A INPUT -s 10\.0\.0\.0\/8 /m);
    const canonical = await api.request.get(`${V1}/nodes/node-c/dumps/${a.body.id}/canonical`).expect(200);
    assert.match(canonical.text, /^:INPUT DROP \[0:0\]$/m);
    assert.doesNotMatch(canonical.text, /\[7:/);
    assert.equal((await history('node-c')).items.length, 1);
  });

  it('a changed ruleset is a new version (201, new id)', async () => {
    const a = await api.request.post(`${V1}/nodes/node-d/dumps`).type('text/plain').send(counterDump()).expect(201);
    const b = await api.request.post(`${V1}/nodes/node-d/dumps`).type('text/plain').send(counterDump({ variant: 1 })).expect(201);
    assert.notEqual(b.body.id, a.body.id);
    assert.notEqual(b.body.sha256, a.body.sha256);
    // Back to the first ruleset: it is not the latest any more, so it is a new version too.
    const c = await api.request.post(`${V1}/nodes/node-d/dumps`).type('text/plain').send(counterDump()).expect(201);
    assert.equal(c.body.sha256, a.body.sha256);
    assert.deepEqual((await history('node-d')).items.map((i) => i.id), [c.body.id, b.body.id, a.body.id]);
  });

  it('JSON with dump, ip6Dump, host, cluster, labels and collectedAt stores two versions', async () => {
    const host = { interfaces: [{ name: 'eth0', addresses: ['192.168.0.2/24'] }], routes: [{ dst: 'default', via: '192.168.0.1', dev: 'eth0' }], forwarding: true };
    const res = await api.request
      .post(`${V1}/nodes/node-e/dumps`)
      .send({ dump: counterDump(), ip6Dump: counterDump({ family: 'ipv6' }), host, cluster: 'prod', labels: { zone: 'a' }, collectedAt: '2026-11-22T03:00:00.000Z' })
      .expect(201);
    assert.equal(res.body.family, 'ipv4');
    assert.equal(res.body.created, true);
    assert.equal(res.body.ip6.family, 'ipv6');
    assert.equal(res.body.ip6.created, true);
    assert.notEqual(res.body.ip6.id, res.body.id);
    const node = await api.request.get(`${V1}/nodes/node-e`).expect(200);
    assert.equal(node.body.cluster, 'prod');
    assert.deepEqual(node.body.labels, { zone: 'a' });
    assert.equal(node.body.dumpCount, 2);
    assert.equal(node.body.latest.ipv4.id, res.body.id);
    assert.equal(node.body.latest.ipv6.id, res.body.ip6.id);
    const detail = await api.request.get(`${V1}/nodes/node-e/dumps/${res.body.id}`).expect(200);
    assert.deepEqual(detail.body.host, host);
    assert.equal(detail.body.collectedAt, '2026-11-22T03:00:00.000Z');
    // Same again: nothing new, 200.
    const again = await api.request.post(`${V1}/nodes/node-e/dumps`).send({ dump: counterDump(), ip6Dump: counterDump({ family: 'ipv6' }) }).expect(200);
    assert.equal(again.body.created, false);
    assert.equal(again.body.ip6.created, false);
  });

  it('an ip6tables-save text upload is stored as ipv6', async () => {
    const res = await api.request.post(`${V1}/nodes/node-f/dumps`).type('text/plain').send(counterDump({ family: 'ipv6' })).expect(201);
    assert.equal(res.body.family, 'ipv6');
  });

  it('a bad host file is a 422 with errors and stores nothing', async () => {
    const res = await api.request.post(`${V1}/nodes/node-g/dumps`).send({ dump: counterDump(), host: { interfaces: [{ name: 'eth0', addresses: ['300.1.1.1/24'] }], routes: [{ dst: 'nowhere' }] } }).expect(422).expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/invalid-input');
    assert.ok(res.body.errors.length >= 1);
    assert.equal(res.body.errors[0].path, '/body/host');
    await api.request.get(`${V1}/nodes/node-g`).expect(404);
  });

  it('dump being IPv6 while ip6Dump is given is a 422', async () => {
    const res = await api.request.post(`${V1}/nodes/node-g/dumps`).send({ dump: counterDump({ family: 'ipv6' }), ip6Dump: counterDump({ family: 'ipv6' }) }).expect(422);
    assert.match(res.body.detail, /IPv6/);
  });

  it('a dump with nothing usable is a 422 with line-numbered problems', async () => {
    // (nft text is no longer "nothing usable": it is stored as the node's nft version, test/api/nft-upload.test.ts.)
    for (const body of ['just some\nrandom text\n', '']) {
      const res = await api.request.post(`${V1}/nodes/node-h/dumps`).type('text/plain').send(body).expect(422).expect('content-type', PROBLEM_TYPE);
      assert.equal(res.body.type, '/problems/unprocessable-dump');
      assert.equal(res.body.field, 'dump');
      assert.ok(res.body.problems.length >= 1);
      for (const p of res.body.problems) {
        assert.equal(typeof p.line, 'number');
        assert.equal(p.severity, 'error');
        assert.equal(typeof p.code, 'string');
        assert.equal(typeof p.message, 'string');
      }
    }
    const bad6 = await api.request.post(`${V1}/nodes/node-h/dumps`).send({ dump: counterDump(), ip6Dump: 'nonsense' }).expect(422);
    assert.equal(bad6.body.field, 'ip6Dump');
    await api.request.get(`${V1}/nodes/node-h`).expect(404);
  });

  it('?strict=true rejects error diagnostics (422) that lenient mode accepts', async () => {
    const paste = await seed('seed001.paste.txt');
    const strict = await api.request.post(`${V1}/nodes/node-i/dumps?strict=true`).type('text/plain').send(paste).expect(422);
    assert.equal(strict.body.type, '/problems/unprocessable-dump');
    assert.deepEqual(
      strict.body.problems.map((p: { line: number; code: string }) => `${p.line}:${p.code}`).slice(0, 2),
      ['1:shell-prompt', '2:shell-prompt'],
    );
    await api.request.get(`${V1}/nodes/node-i`).expect(404);
    const lenient = await api.request.post(`${V1}/nodes/node-i/dumps`).type('text/plain').send(paste).expect(201);
    assert.ok(lenient.body.diagnostics.some((d: { code: string }) => d.code === 'shell-prompt'));
    await api.request.post(`${V1}/nodes/node-j/dumps?strict=true`).type('text/plain').send(counterDump()).expect(201);
  });

  it('accepts a gzip-encoded body', async () => {
    const res = await api.request.post(`${V1}/nodes/node-k/dumps`).set('content-type', 'text/plain').set('content-encoding', 'gzip').send(gzipSync(seedText)).expect(201);
    const raw = await api.request.get(`${V1}/nodes/node-k/dumps/${res.body.id}/raw`).expect(200);
    assert.equal(raw.text, seedText);
    // (supertest would JSON-encode a Buffer sent as application/json: use fetch)
    const json = await fetch(`${api.url}${V1}/nodes/node-k2/dumps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ dump: seedText })),
    });
    assert.equal(json.status, 201);
    assert.equal(((await json.json()) as { sha256: string }).sha256, res.body.sha256);
  });

  it('decodes a gzip or deflate body into buffers bigger than glibc\'s largest mmap threshold (each its own mapping, given back when freed), byte for byte', async () => {
    const text = Array.from({ length: 40_000 }, (_, i) => `-A KUBE-SEP-${i} -p tcp -m tcp -j DNAT --to-destination 10.0.${i >> 8}.${i & 255}:8080`).join('\n');
    for (const [encoding, body] of [['gzip', gzipSync(text)], ['deflate', deflateSync(text)]] as const) {
      // Its length unknown (chunked), or past SMALL_BODY_BYTES.
      for (const declared of [undefined, SMALL_BODY_BYTES + 1]) {
        const chunks = await inflatedChunks(encoding, body, declared);
        assert.equal(Buffer.concat(chunks).toString('utf8'), text, encoding);
        for (const c of chunks) assert.ok(c.buffer.byteLength > 32 * 2 ** 20, `${encoding}: a chunk in a ${c.buffer.byteLength}-byte buffer`);
      }
    }
    assert.equal(INFLATE_CHUNK_BYTES > 32 * 2 ** 20, true);
  });

  it('decodes a small gzip or deflate body (a delta) in small buffers, byte for byte: a 32 MiB buffer per re-upload is external memory V8 collects with major GCs', async () => {
    const text = Array.from({ length: 40_000 }, (_, i) => `-A KUBE-SEP-${i} -p tcp -m tcp -j DNAT --to-destination 10.0.${i >> 8}.${i & 255}:8080`).join('\n');
    for (const [encoding, body] of [['gzip', gzipSync(text)], ['deflate', deflateSync(text)]] as const) {
      assert.ok(body.length <= SMALL_BODY_BYTES);
      const chunks = await inflatedChunks(encoding, body, body.length);
      assert.equal(Buffer.concat(chunks).toString('utf8'), text, encoding);
      assert.ok(chunks.length > 1, `${encoding}: ${chunks.length} chunks`);
      for (const c of chunks) assert.ok(c.buffer.byteLength <= 2 * SMALL_INFLATE_CHUNK_BYTES, `${encoding}: a chunk in a ${c.buffer.byteLength}-byte buffer`);
    }
    // Through the route, small bodies: 'accepts a gzip-encoded body' above.
  });

  it('a corrupt gzip body is a 400, an unknown encoding a 415, an unknown content type a 415', async () => {
    const corrupt = await api.request.post(`${V1}/nodes/node-l/dumps`).set('content-type', 'text/plain').set('content-encoding', 'gzip').send(Buffer.from('not gzip at all')).expect(400);
    assert.equal(corrupt.body.type, '/problems/invalid-content-encoding');
    const br = await api.request.post(`${V1}/nodes/node-l/dumps`).set('content-type', 'text/plain').set('content-encoding', 'br').send('x').expect(415).expect('content-type', PROBLEM_TYPE);
    assert.equal(br.body.type, '/problems/unsupported-content-encoding');
    const xml = await api.request.post(`${V1}/nodes/node-l/dumps`).set('content-type', 'application/xml').send('<a/>').expect(415).expect('content-type', PROBLEM_TYPE);
    assert.equal(xml.body.status, 415);
    await api.request.get(`${V1}/nodes/node-l`).expect(404);
  });

  it('malformed JSON bodies are 400 problems', async () => {
    const unknownField = await api.request.post(`${V1}/nodes/node-m/dumps`).send({ dump: counterDump(), surprise: 1 }).expect(400).expect('content-type', PROBLEM_TYPE);
    assert.equal(unknownField.body.type, '/problems/validation-error');
    const missing = await api.request.post(`${V1}/nodes/node-m/dumps`).send({ ip6Dump: 'x' }).expect(400);
    assert.ok(missing.body.errors.some((e: { path: string }) => e.path === '/body/dump'));
    await api.request.post(`${V1}/nodes/node-m/dumps`).set('content-type', 'application/json').send('{"dump": ').expect(400).expect('content-type', PROBLEM_TYPE);
    await api.request.post(`${V1}/nodes/node-m/dumps?family=ipv5`).type('text/plain').send(counterDump()).expect(400);
    await api.request.post(`${V1}/nodes/bad%20name/dumps`).type('text/plain').send(counterDump()).expect(400);
    await api.request.get(`${V1}/nodes/node-m`).expect(404);
  });

  it('a rejected upload leaves the stored history unchanged', async () => {
    const ok = await api.request.post(`${V1}/nodes/node-n/dumps`).type('text/plain').send(counterDump({ packets: 3 })).expect(201);
    const before = await history('node-n');
    const beforeRaw = (await api.request.get(`${V1}/nodes/node-n/dumps/${ok.body.id}/raw`).expect(200)).text;
    const beforeDetail = (await api.request.get(`${V1}/nodes/node-n/dumps/${ok.body.id}`).expect(200)).body;
    await api.request.post(`${V1}/nodes/node-n/dumps`).type('text/plain').send('garbage').expect(422);
    await api.request.post(`${V1}/nodes/node-n/dumps?strict=true`).type('text/plain').send(await seed('seed001.paste.txt')).expect(422);
    await api.request.post(`${V1}/nodes/node-n/dumps`).send({ dump: counterDump({ packets: 9 }), host: { interfaces: [{ name: 'eth0', addresses: ['bogus'] }] } }).expect(422);
    await api.request.post(`${V1}/nodes/node-n/dumps`).send({ dump: counterDump({ packets: 9 }), host: [] }).expect(400);
    await api.request.post(`${V1}/nodes/node-n/dumps`).send({ dump: counterDump({ packets: 9 }), ip6Dump: '???' }).expect(422);
    await api.request.post(`${V1}/nodes/node-n/dumps`).set('content-type', 'text/plain').set('content-encoding', 'gzip').send(Buffer.from('broken')).expect(400);
    assert.deepEqual(await history('node-n'), before);
    assert.equal((await api.request.get(`${V1}/nodes/node-n/dumps/${ok.body.id}/raw`).expect(200)).text, beforeRaw);
    assert.deepEqual((await api.request.get(`${V1}/nodes/node-n/dumps/${ok.body.id}`).expect(200)).body, beforeDetail);
  });
});

describe('upload size limits', () => {
  let api: TestApi;
  const MAX_UPLOAD = 64 * 1024;
  const MAX_DECODED = 512 * 1024;
  before(async () => {
    api = await startApi({ config: { maxUploadBytes: MAX_UPLOAD, maxDecompressedBytes: MAX_DECODED } });
  });
  after(async () => api.close());

  /** A valid dump of about `bytes` bytes. */
  const bigDump = (bytes: number): string => {
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
    let size = 0;
    for (let i = 0; size < bytes; i++) {
      const line = `-A INPUT -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -p tcp -m tcp --dport 443 -j ACCEPT`;
      lines.push(line);
      size += line.length + 1;
    }
    lines.push('COMMIT', '');
    return lines.join('\n');
  };

  it('a body over MAX_UPLOAD_BYTES (Content-Length) is a 413 problem', async () => {
    const res = await api.request.post('/api/v1/nodes/big/dumps').type('text/plain').send(bigDump(MAX_UPLOAD + 1024)).expect(413).expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/payload-too-large');
    assert.match(res.body.detail, /MAX_UPLOAD_BYTES/);
    await api.request.get('/api/v1/nodes/big').expect(404);
  });

  it('a chunked body over MAX_UPLOAD_BYTES is a 413 problem', async () => {
    const text = Buffer.from(bigDump(MAX_UPLOAD * 2));
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += 8192) chunks.push(text.subarray(i, i + 8192));
    const res = await postChunked(api.url, '/api/v1/nodes/big/dumps', { 'content-type': 'text/plain' }, chunks);
    assert.equal(res.status, 413);
    assert.match(String(res.headers['content-type']), PROBLEM_TYPE);
    await api.request.get('/api/v1/nodes/big').expect(404);
  });

  it('a gzip body that inflates past MAX_DECOMPRESSED_BYTES (gzip bomb) is a 413 problem', async () => {
    // 32 MiB of zeros gzip to ~32 KiB: under MAX_UPLOAD as sent, 64x MAX_DECOMPRESSED inflated.
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024), { level: 9 });
    assert.ok(bomb.length < MAX_UPLOAD, `bomb is ${bomb.length} bytes`);
    const res = await api.request.post('/api/v1/nodes/bomb/dumps').set('content-type', 'text/plain').set('content-encoding', 'gzip').send(bomb).expect(413).expect('content-type', PROBLEM_TYPE);
    assert.equal(res.body.type, '/problems/payload-too-large');
    assert.match(res.body.detail, /MAX_DECOMPRESSED_BYTES/);
    await api.request.get('/api/v1/nodes/bomb').expect(404);
  });

  it('a gzip body under both limits is stored although it inflates past MAX_UPLOAD_BYTES', async () => {
    const text = bigDump(MAX_UPLOAD * 3);
    const res = await api.request.post('/api/v1/nodes/zipped/dumps').set('content-type', 'text/plain').set('content-encoding', 'gzip').send(gzipSync(text)).expect(201);
    assert.ok(res.body.stats.rules > 1000);
  });
});
