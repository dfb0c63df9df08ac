// The one error handler: every error, unknown route and validation failure
// becomes an RFC 9457 `application/problem+json` document
// `{type, title, status, detail, instance, requestId, ...extras}`.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StoreError, isBusyError, isUnreachableError, type StoreErrorKind } from '../../store/index.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  [extra: string]: unknown;
}

/** An error that carries its problem document; throw it from routes. */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly statusCode: number,
    readonly slug: string,
    detail: string,
    readonly extras: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
  }
}

const problemType = (slug: string): string => `/problems/${slug}`;

const KIND_STATUS: Record<StoreErrorKind, [number, string]> = {
  'not-found': [404, 'not-found'],
  conflict: [409, 'conflict'],
  'invalid-cursor': [400, 'invalid-cursor'],
  unprocessable: [422, 'unprocessable'],
  forbidden: [403, 'forbidden'],
  unavailable: [503, 'store-unavailable'],
  full: [507, 'store-full'],
};

const FASTIFY_SLUGS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad-request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-json',
};

interface Mapped {
  status: number;
  slug: string;
  detail: string;
  extras: Record<string, unknown>;
  headers: Record<string, string>;
}

function prismaCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; name?: unknown };
  return typeof e.code === 'string' && /^P\d{4}$/.test(e.code) && typeof e.name === 'string' && e.name.startsWith('PrismaClient') ? e.code : undefined;
}

/** Maps any thrown value to status, type and detail. */
export function mapError(err: unknown): Mapped {
  const none = { extras: {}, headers: {} };
  if (err instanceof HttpProblem) {
    return { status: err.statusCode, slug: err.slug, detail: err.message, extras: { ...err.extras }, headers: { ...err.headers } };
  }
  if (err instanceof StoreError) {
    const [status, slug0] = KIND_STATUS[err.kind];
    const slug = err.name === 'DumpParseError' ? 'unprocessable-dump' : err.name === 'InvalidInputError' ? 'invalid-input' : slug0;
    return { status, slug, detail: err.message, extras: { ...err.extras }, headers: {} };
  }
  const fe = err as Partial<FastifyError> & { validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[] };
  if (Array.isArray(fe.validation)) {
    const context = fe.validationContext ?? 'request';
    const errors = fe.validation.map((v) => {
      const missing = typeof v.params?.['missingProperty'] === 'string' ? `/${v.params['missingProperty']}` : '';
      return { path: `/${context}${v.instancePath ?? ''}${missing}`, message: v.message ?? 'is invalid' };
    });
    return { status: 400, slug: 'validation-error', detail: fe.message ?? 'request validation failed', extras: { errors }, headers: {} };
  }
  const pc = prismaCode(err);
  if (pc === 'P2025') return { status: 404, slug: 'not-found', detail: 'the record does not exist', ...none };
  if (pc === 'P2002') {
    const target = (err as { meta?: { target?: unknown } }).meta?.target;
    return { status: 409, slug: 'conflict', detail: `a record with this ${Array.isArray(target) ? target.join(', ') : 'key'} already exists`, ...none };
  }
  if (isUnreachableError(err)) {
    return { status: 503, slug: 'database-unavailable', detail: 'the database server cannot be reached; retry shortly', extras: {}, headers: { 'retry-after': '5' } };
  }
  if (isBusyError(err)) {
    return { status: 503, slug: 'database-busy', detail: 'the database is busy; retry shortly', extras: {}, headers: { 'retry-after': '1' } };
  }
  const code = typeof fe.code === 'string' ? fe.code : '';
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
    return { status: 400, slug: 'invalid-content-encoding', detail: `the body could not be decompressed: ${fe.message ?? code}`, ...none };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const slug = FASTIFY_SLUGS[code] ?? (STATUS_CODES[status] ?? 'client-error').toLowerCase().replace(/[^a-z0-9]+/g, '-');
    return { status, slug, detail: fe.message ?? STATUS_CODES[status] ?? 'client error', ...none };
  }
  return { status: status >= 500 && status < 600 ? status : 500, slug: 'internal-error', detail: 'internal server error; the server log has the details under this request id', ...none };
}

export function problemDocument(request: FastifyRequest, status: number, slug: string, detail: string, extras: Record<string, unknown> = {}): ProblemDocument {
  return {
    type: problemType(slug),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: String(request.id),
    ...extras,
  };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, status: number, slug: string, detail: string, extras: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problemDocument(request, status, slug, detail, extras));
}

/**
 * Fastify's `frameworkErrors`: the router's own refusals (a path segment over
 * `maxParamLength` is a 414, a malformed percent-encoding a 400) as problems.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = (request.url.split('?')[0] ?? '').slice(0, 200);
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendProblem(request, reply, 414, 'uri-too-long', 'a path segment of the URL is too long (at most 256 characters)');
  } else if (err.code === 'FST_ERR_BAD_URL') {
    sendProblem(request, reply, 400, 'bad-url', `the URL path is not valid (bad percent-encoding): ${path}`);
  } else {
    const m = mapError(err);
    sendProblem(request, reply, m.status, m.slug, m.detail, m.extras);
  }
}

/** A request Node's parser refused before Fastify saw it: status, slug and why. */
function clientErrorProblem(err: Error & { code?: string; reason?: string }): [number, string, string] {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [408, 'request-timeout', 'the request was not received in time (HTTP_HEADERS_TIMEOUT_MS for the headers, HTTP_REQUEST_TIMEOUT_MS for the whole request)'];
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return [431, 'headers-too-large', 'the request line and headers are larger than the server accepts (16 KiB)'];
  const why = typeof err.reason === 'string' && err.reason ? err.reason : (err.code ?? 'unparsable');
  return [400, 'malformed-request', `the request is not valid HTTP/1.1: ${why}`];
}

/**
 * The http server's 'clientError' (Fastify's `clientErrorHandler`): requests
 * Node's parser refuses (malformed, headers too large, timed out) get a
 * problem document too, written straight to the socket, which is then closed.
 */
export function clientErrorHandler(this: { log: FastifyBaseLogger }, err: Error & { code?: string; reason?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, slug, detail] = clientErrorProblem(err);
  const requestId = randomUUID();
  this.log.debug({ err, requestId, remoteAddress: socket.remoteAddress }, 'client error');
  // A response already started on this socket cannot be replaced (Node's own handler checks the same).
  const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !started) {
    const body = JSON.stringify({ type: problemType(slug), title: STATUS_CODES[status], status, detail, requestId });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}

export default fp(
  async (app) => {
    app.setErrorHandler((err, request, reply) => {
      const m = mapError(err);
      if (m.status >= 500) request.log.error({ err }, 'request failed');
      else request.log.info({ status: m.status, type: m.slug, detail: m.detail }, 'request rejected');
      for (const [k, v] of Object.entries(m.headers)) reply.header(k, v);
      return sendProblem(request, reply, m.status, m.slug, m.detail, m.extras);
    });
    app.setNotFoundHandler((request, reply) => sendProblem(request, reply, 404, 'not-found', `no route ${request.method} ${request.url.split('?')[0]}`));
  },
  { name: 'packetpath-errors', fastify: '5.x' },
);
