// Bytes of an unknown charset as text. Its own module, free of the database,
// because the CLI reads files with it too.

import { isUtf8 } from 'node:buffer';
import type { Steps } from '../netfilter/steps.ts';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Text of bytes in an unknown charset: UTF-8 when they are valid UTF-8,
 * otherwise Latin-1 (every byte one character), so nothing is replaced by
 * U+FFFD and the bytes can be kept apart. `utf8` says which.
 */
export function decodeText(bytes: Uint8Array): { text: string; utf8: boolean } {
  try {
    return { text: STRICT_UTF8.decode(bytes), utf8: true };
  } catch {
    return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), utf8: false };
  }
}

/** Bytes a step of `decodeTextSteps` decodes (about 1 MB: a few ms). */
const DECODE_CHUNK_BYTES = 1 << 20;

/**
 * `decodeText(bytes).text` in steps of about `DECODE_CHUNK_BYTES` (a 27 MB text took the event
 * loop 100-200 ms in one piece): the bytes are checked to be UTF-8 at once (simdutf: a few ms),
 * then decoded a run of lines at a time (a newline byte never falls inside a UTF-8 sequence), else
 * as Latin-1. Not a streaming TextDecoder: its pieces come out as two-byte strings, twice the
 * memory and slower to read, where a whole decode of ASCII gives one-byte strings.
 */
export function* decodeTextSteps(bytes: Uint8Array): Steps<string> {
  if (bytes.length <= DECODE_CHUNK_BYTES) return decodeText(bytes).text;
  let text = '';
  for (const piece of decodedPieces(bytes)) {
    text += piece;
    yield;
  }
  return text;
}

/**
 * `decodeText(bytes).text.split('\n')` in steps, each run of lines split from its own decoded piece:
 * the whole text is never made (flattening 27 MB of pieces took the event loop 100 ms and more).
 */
export function* decodeLinesSteps(bytes: Uint8Array): Steps<string[]> {
  if (bytes.length <= DECODE_CHUNK_BYTES) return decodeText(bytes).text.split('\n');
  const lines: string[] = [];
  let carry = false;
  for (const piece of decodedPieces(bytes)) {
    // Every piece but the last ends in a newline: its split ends in '', the start of the next line.
    if (carry) lines.pop();
    for (const line of piece.split('\n')) lines.push(line);
    carry = piece.endsWith('\n');
    yield;
  }
  return lines;
}

/** The text of `bytes` in pieces of about `DECODE_CHUNK_BYTES`, each but the last ending in a newline. */
function* decodedPieces(bytes: Uint8Array): Generator<string, void, void> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = isUtf8(buf);
  for (let at = 0; at < buf.length; ) {
    const newline = buf.indexOf(10, Math.min(at + DECODE_CHUNK_BYTES, buf.length) - 1);
    const end = newline < 0 ? buf.length : newline + 1;
    yield utf8 ? STRICT_UTF8.decode(buf.subarray(at, end)) : buf.toString('latin1', at, end);
    at = end;
  }
}
