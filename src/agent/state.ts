// The agent's state directory:
//  - pending.json: the newest snapshot not yet delivered (written before the
//    upload is tried, removed once the server has it), so a restart or a
//    server outage loses nothing;
//  - accepted.json: per node, the fingerprints of the last upload the server
//    accepted (host/cluster/labels fingerprint and dump sha256s);
//  - bases/<node>.<family>.txt: the dump text last uploaded for a node and
//    family, the base of the next incremental upload (its sha256 is in
//    accepted.json's `texts`; a file that does not match it is not used).
// Writes are atomic: a temporary file in the same directory, fsync, rename,
// fsync of the directory.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSnapshot, type Snapshot } from './snapshot.ts';

export interface AcceptedPart {
  readonly metaSha: string;
  readonly sha256: string;
  readonly ip6Sha256?: string;
  readonly nftSha256?: string;
  /** sha256 of the dump texts as uploaded, by family: the bases the server has for incremental uploads. */
  readonly texts?: { readonly ipv4?: string; readonly ipv6?: string };
  /** When the server accepted it. */
  readonly at: string;
}

export type Accepted = Record<string, AcceptedPart>;

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = join(path, '..');
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* some filesystems cannot fsync a directory; the rename is still atomic */
  }
}

export class AgentState {
  readonly pendingPath: string;
  readonly acceptedPath: string;

  constructor(readonly dir: string) {
    this.pendingPath = join(dir, 'pending.json');
    this.acceptedPath = join(dir, 'accepted.json');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The kept snapshot, or null. A file that is not one is moved aside (`.corrupt`) and reported through `onCorrupt`. */
  async readPending(onCorrupt?: (why: string) => void): Promise<Snapshot | null> {
    let text: string;
    try {
      text = await readFile(this.pendingPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const v: unknown = JSON.parse(text);
      if (isSnapshot(v)) return v;
      onCorrupt?.('not a snapshot of this agent version');
    } catch (err) {
      onCorrupt?.(`bad JSON: ${(err as Error).message}`);
    }
    await rename(this.pendingPath, `${this.pendingPath}.corrupt`).catch(() => undefined);
    return null;
  }

  writePending(snapshot: Snapshot): Promise<void> {
    return writeFileAtomic(this.pendingPath, JSON.stringify(snapshot));
  }

  async clearPending(): Promise<void> {
    await rm(this.pendingPath, { force: true });
  }

  async readAccepted(): Promise<Accepted> {
    try {
      const v: unknown = JSON.parse(await readFile(this.acceptedPath, 'utf8'));
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Accepted) : {};
    } catch {
      return {};
    }
  }

  writeAccepted(accepted: Accepted): Promise<void> {
    return writeFileAtomic(this.acceptedPath, JSON.stringify(accepted));
  }

  private basePath(node: string, family: string): string {
    return join(this.dir, 'bases', `${encodeURIComponent(node)}.${family}.txt`);
  }

  /** The text last uploaded for `node` and `family` when its sha256 is `sha256`; null otherwise (missing, or not that text). */
  async readBase(node: string, family: string, sha256: string): Promise<string | null> {
    try {
      const text = await readFile(this.basePath(node, family), 'utf8');
      return createHash('sha256').update(text, 'utf8').digest('hex') === sha256 ? text : null;
    } catch {
      return null;
    }
  }

  async writeBase(node: string, family: string, text: string): Promise<void> {
    await mkdir(join(this.dir, 'bases'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.basePath(node, family), text);
  }
}
