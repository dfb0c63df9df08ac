// Content-addressed texts. A dump version points at blobs by sha256, so the
// same canonical ruleset uploaded by 1,000 nodes is stored once.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Client } from './db.ts';

/** Texts at least this long are stored gzip-compressed. */
const COMPRESS_FROM_BYTES = 1024;

export const sha256Hex = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');

/** Stores `text` unless a blob with its sha256 exists; returns the sha256. */
export async function putBlob(tx: Client, text: string, sha256: string = sha256Hex(text)): Promise<string> {
  const existing = await tx.blob.findUnique({ where: { sha256 }, select: { sha256: true } });
  if (existing) return sha256;
  const bytes = Buffer.from(text, 'utf8');
  const compress = bytes.length >= COMPRESS_FROM_BYTES;
  const data = compress ? gzipSync(bytes) : bytes;
  await tx.blob.create({ data: { sha256, size: bytes.length, encoding: compress ? 'gzip' : 'identity', data: new Uint8Array(data) } });
  return sha256;
}

export function decodeBlob(blob: { encoding: string; data: Uint8Array }): string {
  const buf = Buffer.from(blob.data.buffer, blob.data.byteOffset, blob.data.byteLength);
  if (blob.encoding === 'gzip') return gunzipSync(buf).toString('utf8');
  if (blob.encoding === 'identity') return buf.toString('utf8');
  throw new Error(`blob encoding "${blob.encoding}" is not supported`);
}

/** The text of a blob, or null when there is none with that sha256. */
export async function getBlobText(tx: Client, sha256: string): Promise<string | null> {
  const blob = await tx.blob.findUnique({ where: { sha256 }, select: { encoding: true, data: true } });
  return blob ? decodeBlob(blob) : null;
}

/** Deletes those of the given blobs that no dump references any more. */
export async function deleteUnreferencedBlobs(tx: Client, sha256s: Iterable<string | null | undefined>): Promise<number> {
  const candidates = [...new Set([...sha256s].filter((s): s is string => !!s))];
  if (!candidates.length) return 0;
  const { count } = await tx.blob.deleteMany({
    where: {
      sha256: { in: candidates },
      canonicalOf: { none: {} },
      originalOf: { none: {} },
      countersOf: { none: {} },
    },
  });
  return count;
}

/** Bytes stored for blobs (compressed sizes), for storage statistics. */
export async function blobStorageBytes(tx: Client): Promise<{ blobs: number; storedBytes: number; textBytes: number }> {
  const rows = await tx.$queryRawUnsafe<{ blobs: bigint | number; stored: bigint | number | null; text: bigint | number | null }[]>(
    'SELECT COUNT(*) AS blobs, SUM(LENGTH("data")) AS stored, SUM("size") AS text FROM "Blob"',
  );
  const r = rows[0];
  return { blobs: Number(r?.blobs ?? 0), storedBytes: Number(r?.stored ?? 0), textBytes: Number(r?.text ?? 0) };
}
