// Content hashes. Its own module, free of the database, because the node
// agent fingerprints snapshots with the same hash and must not load Prisma.
import { createHash } from 'node:crypto';

export const sha256Hex = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');
