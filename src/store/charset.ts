// Bytes of an unknown charset as text. Its own module, free of the database,
// because the CLI reads files with it too.

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
