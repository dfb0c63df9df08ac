// sha256 of a big text off the event loop: a delta upload's rebuilt text (25–
// 30 MB for a 10k-Service node) must be checked against the sha256 the agent
// sent, and hashing it on the event loop took 35–50 ms (UTF-8 conversion
// included) in a request whose other work (the splice) does not need it. The
// text is written as UTF-8 into a SharedArrayBuffer (a copy of a few ms, no
// new 30 MB allocation per upload: that set off full GCs, BENCHMARKS.md) and
// hashed by a small worker thread of our own while the event loop goes on.
// Hand-written rather than the analysis pool (piscina): its workers exit when
// idle and load the whole core; this one is a few lines of plain JS, started
// once per server (the dumps plugin owns it and ends it with the app), unref'd
// while idle. Any failure of the worker falls back to hashing here.
import { Worker } from 'node:worker_threads';
import { sha256Hex } from './hash.ts';

/** A scratch buffer at most this big is kept for the next text; bigger ones are made and dropped. */
const KEEP_SCRATCH_BYTES = 64 << 20;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, length }) => {
  try {
    parentPort.postMessage({ id, hex: createHash('sha256').update(new Uint8Array(buffer, 0, length)).digest('hex') });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err) });
  }
});
`;

interface Reply {
  readonly id: number;
  readonly hex?: string;
  readonly error?: string;
}

export interface TextHasher {
  /**
   * `sha256Hex(text)`, hashed by the worker thread: the event loop only copies
   * the text's bytes (a few ms for 30 MB).
   */
  sha256(text: string): Promise<string>;
  /** Ends the worker (a later `sha256` starts another). */
  close(): Promise<void>;
}

/** A hasher with its own worker thread (started at its first text) and its own scratch buffer. */
export function createTextHasher(): TextHasher {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  /** One free scratch buffer (shared with the worker), reused by the next text that fits. */
  let spare: SharedArrayBuffer | null = null;

  function hashWorker(): Worker {
    if (worker) return worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (m: Reply) => {
      const job = pending.get(m.id);
      if (!job) return;
      pending.delete(m.id);
      if (!pending.size) w.unref();
      if (m.hex !== undefined) job.resolve(m.hex);
      else job.reject(new Error(m.error ?? 'hash worker failed'));
    });
    const fail = (err: Error): void => {
      if (worker === w) worker = null;
      for (const job of pending.values()) job.reject(err);
      pending.clear();
    };
    w.on('error', fail);
    w.on('exit', () => fail(new Error('hash worker exited')));
    return (worker = w);
  }

  /** `text`'s UTF-8 in a shared buffer (the spare one when it fits) and its length in bytes. */
  function utf8Shared(text: string): { buffer: SharedArrayBuffer; length: number } {
    const size = Buffer.byteLength(text, 'utf8');
    let buffer: SharedArrayBuffer;
    if (spare && spare.byteLength >= size) {
      buffer = spare;
      spare = null;
    } else buffer = new SharedArrayBuffer(size);
    const view = Buffer.from(buffer, 0, size);
    // As many bytes as units: every unit is ASCII, and latin1 (a plain copy) writes its UTF-8.
    return { buffer, length: view.write(text, 0, size === text.length ? 'latin1' : 'utf8') };
  }

  function release(buffer: SharedArrayBuffer): void {
    if (buffer.byteLength <= KEEP_SCRATCH_BYTES && (!spare || spare.byteLength < buffer.byteLength)) spare = buffer;
  }

  return {
    async sha256(text) {
      const { buffer, length } = utf8Shared(text);
      try {
        const w = hashWorker();
        const id = nextId++;
        return await new Promise<string>((resolve, reject) => {
          pending.set(id, { resolve, reject });
          // Kept alive while it hashes, not while it waits for work.
          w.ref();
          w.postMessage({ id, buffer, length });
        });
      } catch {
        // The worker could not hash it: here, from the bytes already made.
        return sha256Hex(new Uint8Array(buffer, 0, length));
      } finally {
        release(buffer);
      }
    },
    async close() {
      const w = worker;
      worker = null;
      spare = null;
      if (w) await w.terminate();
    },
  };
}
