// Content hashes. Its own module, free of the database, because the node
// agent fingerprints snapshots with the same hash and must not load Prisma.
import { createHash } from 'node:crypto';
import type { Steps } from '../netfilter/steps.ts';

export const sha256Hex = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');

/** Characters (or bytes) hashed between two pauses: a few milliseconds' work. */
const HASH_SLICE = 4 << 20;

/**
 * `sha256Hex` as steps that pause every few MiB (a 200 MB upload is hashed in
 * about half a second: too long for the event loop in one go). A string is cut
 * only between UTF-16 code units that are not a surrogate pair, so the bytes
 * hashed are its UTF-8, as `sha256Hex` hashes them.
 */
export function* sha256HexSteps(text: string | Uint8Array): Steps<string> {
  const hash = createHash('sha256');
  for (let from = 0; from < text.length; ) {
    let to = Math.min(text.length, from + HASH_SLICE);
    if (typeof text === 'string' && to < text.length && (text.charCodeAt(to - 1) & 0xfc00) === 0xd800) to++;
    hash.update(typeof text === 'string' ? text.slice(from, to) : text.subarray(from, to));
    from = to;
    if (from < text.length) yield;
  }
  return hash.digest('hex');
}
