// Uploads that are not UTF-8 (a Latin-1 comment, say): the
// server keeps the bytes that were sent, `raw` returns them byte for byte,
// `originalSha256` hashes them, and the parsed text reads the comment right
// (no U+FFFD).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { startApi, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function dumpBytes(comment: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "'),
    comment,
    Buffer.from('" -j ACCEPT\nCOMMIT\n'),
  ]);
}

/** supertest collects text bodies as strings; this keeps them as bytes. */
const asBuffer = (res: import('supertest').Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = [];
  const stream = res as unknown as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => cb(null, Buffer.concat(chunks)));
};

describe('uploads that are not UTF-8 are kept byte for byte', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(() => api?.close());

  const ROWS = [
    { name: 'Latin-1 without a charset', node: 'latin1', bytes: dumpBytes(Buffer.from([0x63, 0x61, 0x66, 0xe9])), contentType: 'text/plain', comment: 'café' },
    { name: 'Latin-1 named as such', node: 'named', bytes: dumpBytes(Buffer.from([0x4d, 0xfc, 0x6c, 0x6c])), contentType: 'text/plain; charset=iso-8859-1', comment: 'Müll' },
    { name: 'gzip of Latin-1', node: 'gz', bytes: dumpBytes(Buffer.from([0xe9, 0xe8])), contentType: 'text/plain', comment: 'éè', gzip: true },
    { name: 'UTF-8 stays UTF-8', node: 'utf8', bytes: dumpBytes(Buffer.from('café', 'utf8')), contentType: 'text/plain', comment: 'café' },
  ];

  for (const row of ROWS) {
    it(row.name, async () => {
      const req = api.request.post(`${V1}/nodes/${row.node}/dumps`).set('content-type', row.contentType);
      const up = row.gzip ? await req.set('content-encoding', 'gzip').send(gzipSync(row.bytes)).expect(201) : await req.send(row.bytes).expect(201);
      const id = up.body.id as number;
      const info = await api.request.get(`${V1}/nodes/${row.node}/dumps/${id}`).expect(200);
      assert.equal(info.body.originalSha256, sha(row.bytes), 'originalSha256 is the hash of the bytes sent');
      const raw = await api.request.get(`${V1}/nodes/${row.node}/dumps/${id}/raw`).buffer(true).parse(asBuffer).expect(200);
      assert.ok(Buffer.compare(raw.body as Buffer, row.bytes) === 0, `raw returns the bytes sent:\n${(raw.body as Buffer).toString('hex')}\n${row.bytes.toString('hex')}`);
      const canonical = await api.request.get(`${V1}/nodes/${row.node}/dumps/${id}/canonical`).expect(200);
      assert.ok(canonical.text.includes(`--comment ${row.comment}`) || canonical.text.includes(`--comment "${row.comment}"`), canonical.text);
      assert.ok(!canonical.text.includes('\uFFFD'));
      // Sending the same bytes again is the same version.
      const again = await api.request.post(`${V1}/nodes/${row.node}/dumps`).set('content-type', row.contentType).send(row.bytes);
      assert.equal(again.status, 200);
    });
  }

  it('an unknown charset is a 415 problem and stores nothing', async () => {
    const r = await api.request.post(`${V1}/nodes/bad/dumps`).set('content-type', 'text/plain; charset=klingon').send(dumpBytes(Buffer.from('x'))).expect(415);
    assert.match(r.body.detail, /klingon/);
    await api.request.get(`${V1}/nodes/bad`).expect(404);
  });
});
