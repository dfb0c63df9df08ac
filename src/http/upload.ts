// Upload bodies: a `preParsing` hook that enforces the size limit on the
// bytes as sent and, for `Content-Encoding: gzip|deflate`, stream-decodes
// them with a hard limit on the decoded size (a gzip bomb stops at the limit
// with a 413, it is never inflated in full).
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { preParsingAsyncHookHandler } from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem } from './plugins/errors.ts';
import { decodeText } from '../store/charset.ts';
import { isNftFormat, looksLikeNft } from '../store/nft-ingest.ts';
import type { UploadJson, UploadQuery } from './schemas/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** A text/plain upload's bytes, when they are not UTF-8 (see textUploadParser). */
    uploadBytes: Buffer | null;
    /** An upload's body size as sent (before any Content-Encoding is decoded), counted as it arrives. */
    uploadSentBytes: number;
  }
}

/**
 * text/plain uploads as bytes: UTF-8 when they are (the usual case), else
 * decoded by the `charset` the request names, or as Latin-1 when it names
 * none, with the bytes kept on the request so the store keeps (and `raw`
 * returns) exactly what was sent. Fastify's own parser would decode as UTF-8
 * and turn every other byte into U+FFFD.
 */
export function registerTextUploadParser(app: FastifyInstance): void {
  app.decorateRequest('uploadBytes', null);
  app.decorateRequest('uploadSentBytes', 0);
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const charset = /;\s*charset="?([^";\s]+)"?/i.exec(String(request.headers['content-type'] ?? ''))?.[1]?.toLowerCase();
    if (charset === undefined || charset === 'utf-8' || charset === 'utf8') {
      const { text, utf8 } = decodeText(body);
      if (!utf8) request.uploadBytes = body;
      return done(null, text);
    }
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(charset, { ignoreBOM: true });
    } catch {
      return done(new HttpProblem(415, 'unsupported-charset', `charset "${charset}" is not supported; send UTF-8 (or name another charset Node.js knows)`));
    }
    request.uploadBytes = body;
    return done(null, decoder.decode(body));
  });
}

const mib = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);

export function tooLarge(what: 'upload' | 'decompressed', limit: number): HttpProblem {
  return what === 'upload'
    ? new HttpProblem(413, 'payload-too-large', `the request body is larger than the ${mib(limit)} upload limit (MAX_UPLOAD_BYTES)`, { limit })
    : new HttpProblem(413, 'payload-too-large', `the decompressed request body is larger than the ${mib(limit)} limit (MAX_DECOMPRESSED_BYTES)`, { limit });
}

/**
 * The upload as its JSON form: a text/plain body is `dump`, or `nft` when it
 * is an nftables ruleset: `nft -j` JSON or `nft list ruleset` text (detected:
 * no iptables format starts with `{`, `table ...` or an nft command), or
 * anything with `?family=nft` or `?format=nft-*`.
 */
export function uploadJson(body: unknown, query: UploadQuery): UploadJson {
  if (typeof body !== 'string') return body as UploadJson;
  if (query.family === 'nft' || isNftFormat(query.format) || (query.format === undefined && query.family === undefined && looksLikeNft(body))) return { nft: body };
  return { dump: body };
}

/** What kind of upload a request is, for /metrics: a delta, an nft ruleset alone, or a whole iptables text (with or without nft). */
export type UploadKind = 'whole' | 'delta' | 'nft';

/** The kind of an upload's body (`whole` when it was never read: refused before, or unreadable). */
export function uploadKind(body: unknown, query: UploadQuery | undefined): UploadKind {
  if (body === undefined || body === null || (typeof body !== 'string' && typeof body !== 'object')) return 'whole';
  const json = uploadJson(body, query ?? {});
  if (json.delta !== undefined || json.ip6Delta !== undefined) return 'delta';
  const format = json.format ?? query?.format;
  return json.nft !== undefined && json.dump === undefined && json.ip6Dump === undefined ? 'nft' : json.dump !== undefined && isNftFormat(format) ? 'nft' : 'whole';
}

/**
 * Refuses a dump of more than `limit` lines with a 413 before it is parsed: parsing costs memory
 * per rule (~2 KB at peak), so a bomb of short lines within the byte limit could still exhaust
 * the server. Counted with indexOf: no copy of the text.
 */
export function assertLineLimit(text: string, limit: number, field: string): void {
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    if (++lines > limit) {
      throw new HttpProblem(413, 'too-many-lines', `\`${field}\` has more than ${limit} lines (MAX_DUMP_LINES); raise it together with the server's memory (about 2 KB per line at peak)`, { limit, field });
    }
  }
}

/** Passes bytes through, failing with a 413 problem past `limit`. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly what: 'upload' | 'decompressed',
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    if (this.bytes > this.limit) done(tooLarge(this.what, this.limit));
    else done(null, chunk);
  }
}

/** The stream fastify reads the body from; it reports the bytes as sent for its Content-Length check. */
type BodyStream = Readable & { receivedEncodedLength?: number };

/**
 * The decoded body comes in buffers of this size, above glibc's largest mmap threshold (32 MiB):
 * each is its own mapping, given back to the system when the body is freed. In zlib's default
 * 16 KiB chunks a 197 MiB upload (a 44k-Service nft ruleset) was malloc'd from the heap and
 * ~200 MiB of it stayed in the process's RSS after it was freed (issue 15, item 4). Pages never
 * written are never resident: a small upload costs what it decodes.
 */
export const INFLATE_CHUNK_BYTES = 32 * 2 ** 20 + 2 ** 16;

/**
 * A body whose Content-Length says it is at most this big decodes in SMALL_INFLATE_CHUNK_BYTES
 * buffers: V8 counts every buffer zlib allocates as external memory whether its pages are
 * written or not, so a 10 KB delta decoded into a 32 MiB buffer pushed the server into a major
 * GC every other re-upload (+150–250 ms each, issue 15). What such a body decodes to (a few MB
 * of a kube-proxy dump at gzip's ratio) does not leave the heap's pages resident.
 */
export const SMALL_BODY_BYTES = 2 ** 20;
export const SMALL_INFLATE_CHUNK_BYTES = 2 ** 16;

/**
 * The stream that decodes a body of this Content-Encoding (gzip, x-gzip or deflate): in
 * INFLATE_CHUNK_BYTES buffers, or smaller ones when `encodedLength` (its Content-Length) is at most SMALL_BODY_BYTES.
 */
export function inflating(encoding: string, encodedLength?: number): Transform {
  const chunkSize = encodedLength !== undefined && encodedLength <= SMALL_BODY_BYTES ? SMALL_INFLATE_CHUNK_BYTES : INFLATE_CHUNK_BYTES;
  return encoding === 'deflate' ? createInflate({ chunkSize }) : createGunzip({ chunkSize });
}

export interface UploadLimits {
  readonly maxUploadBytes: number;
  readonly maxDecompressedBytes: number;
}

/** The route `bodyLimit` that lets the hook below do the limiting. */
export const uploadBodyLimit = (limits: UploadLimits): number => Math.max(limits.maxUploadBytes, limits.maxDecompressedBytes);

export function uploadPreParsing(limits: UploadLimits): preParsingAsyncHookHandler {
  return async (request, _reply, payload) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limits.maxUploadBytes) throw tooLarge('upload', limits.maxUploadBytes);
    const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const sent = (n: number): void => {
      request.uploadSentBytes = n;
    };
    if (encoding === 'identity' || encoding === '') {
      const limit = new ByteLimit(limits.maxUploadBytes, 'upload', sent);
      return pipeline(payload, limit, () => {}) as BodyStream;
    }
    if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
      throw new HttpProblem(415, 'unsupported-content-encoding', `Content-Encoding "${encoding}" is not supported; use gzip, deflate or identity`);
    }
    let out: BodyStream | undefined;
    const raw = new ByteLimit(limits.maxUploadBytes, 'upload', (n) => {
      sent(n);
      if (out) out.receivedEncodedLength = n;
    });
    const decoded = new ByteLimit(limits.maxDecompressedBytes, 'decompressed');
    out = pipeline(payload, raw, inflating(encoding, Number.isFinite(declared) ? declared : undefined), decoded, () => {}) as BodyStream;
    out.receivedEncodedLength = 0;
    return out;
  };
}
