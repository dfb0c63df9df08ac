// The error mapping behind every problem+json response.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mapError, HttpProblem } from '../../src/http/plugins/errors.ts';
import { DumpParseError, InvalidCursorError, NotFoundError } from '../../src/store/index.ts';
import { PROBLEM_TYPE, startApi } from '../support/api.ts';
import type { Database } from '../../src/store/index.ts';

const prismaError = (code: string, meta?: unknown) => Object.assign(new Error(`prisma ${code}`), { name: 'PrismaClientKnownRequestError', code, meta });

describe('error mapping', () => {
  it('maps Prisma P2025 to 404 and P2002 to 409', () => {
    assert.deepEqual([mapError(prismaError('P2025')).status, mapError(prismaError('P2025')).slug], [404, 'not-found']);
    const conflict = mapError(prismaError('P2002', { target: ['name'] }));
    assert.equal(conflict.status, 409);
    assert.match(conflict.detail, /name/);
  });

  it('maps store errors, problems and lock errors', () => {
    assert.equal(mapError(new NotFoundError('gone')).status, 404);
    assert.equal(mapError(new InvalidCursorError()).status, 400);
    const parse = mapError(new DumpParseError('bad', [{ line: 3, severity: 'error', code: 'x', message: 'y' }]));
    assert.equal(parse.status, 422);
    assert.equal(parse.slug, 'unprocessable-dump');
    assert.deepEqual(parse.extras['problems'], [{ line: 3, severity: 'error', code: 'x', message: 'y' }]);
    const busy = mapError(Object.assign(new Error('SqliteError: database is locked'), { code: 'SQLITE_BUSY' }));
    assert.equal(busy.status, 503);
    assert.equal(busy.headers['retry-after'], '1');
    assert.equal(mapError(new HttpProblem(418, 'teapot', 'short and stout')).status, 418);
  });

  it('maps fastify client errors by status and hides internal errors', () => {
    const tooLarge = mapError(Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }));
    assert.deepEqual([tooLarge.status, tooLarge.slug], [413, 'payload-too-large']);
    const zlib = mapError(Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR', errno: -3 }));
    assert.deepEqual([zlib.status, zlib.slug], [400, 'invalid-content-encoding']);
    const boom = mapError(new TypeError('secret internals: x is undefined'));
    assert.equal(boom.status, 500);
    assert.equal(boom.slug, 'internal-error');
    assert.doesNotMatch(boom.detail, /secret/);
  });

  it('an unexpected failure is a 500 problem+json without internals; a locked database a 503', async () => {
    const api = await startApi();
    const failing = (err: Error): Database => ({
      ...api.db,
      prisma: new Proxy(api.db.prisma, {
        get(target, key, receiver) {
          if (key === 'node') return new Proxy({}, { get: () => async () => Promise.reject(err) });
          return Reflect.get(target, key, receiver) as unknown;
        },
      }),
      close: async () => {},
    });
    const broken = await startApi({ shareDatabaseOf: api, db: failing(new TypeError('secret internals')) });
    const locked = await startApi({ shareDatabaseOf: api, db: failing(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })) });
    try {
      const res = await broken.request.get('/api/v1/nodes/x').set('x-request-id', 'rid-500').expect(500).expect('content-type', PROBLEM_TYPE);
      assert.equal(res.body.type, '/problems/internal-error');
      assert.equal(res.body.requestId, 'rid-500');
      assert.doesNotMatch(JSON.stringify(res.body), /secret/);
      const busy = await locked.request.get('/api/v1/nodes/x').expect(503).expect('content-type', PROBLEM_TYPE);
      assert.equal(busy.body.type, '/problems/database-busy');
      assert.equal(busy.headers['retry-after'], '1');
    } finally {
      await locked.close();
      await broken.close();
      await api.close();
    }
  });
});
