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
//
// The worker also keeps the bytes of the texts it hashed lately (by the sha256
// it computed, up to `keepBytes`), so the next delta of such a text is sent
// to it as a line edit (copied line runs of the kept text, the other lines as
// they are: `LineEdit`, line-script.ts) instead of as 30 MB of new UTF-8: it
// makes the new text's bytes from the kept ones, hashes them and keeps them in
// turn, and the event loop neither joins the 235k lines nor copies the text.
import { Worker } from 'node:worker_threads';
import { sha256Hex } from './hash.ts';
import type { LineEdit } from './line-script.ts';

/** A scratch buffer at most this big is kept for the next text; bigger ones are made and dropped. */
const KEEP_SCRATCH_BYTES = 64 << 20;
/** The worker keeps the bytes of the texts it hashed lately, up to this many in all (two 10k-Service texts and more). */
const KEEP_TEXT_BYTES = 96 << 20;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
// Texts hashed lately, by their sha256: { bytes, starts }, starts[i] the byte offset of line i and
// starts[lines] = bytes.length + 1 (as if the text ended in a newline). Oldest first.
const kept = new Map();
let keptBytes = 0;
function keep(hex, bytes, starts) {
  if (bytes.length > workerData.keepBytes / 2) return;
  const had = kept.get(hex);
  if (had) keptBytes -= had.bytes.length;
  kept.delete(hex);
  kept.set(hex, { bytes, starts });
  keptBytes += bytes.length;
  for (const [k, v] of kept) {
    if (keptBytes <= workerData.keepBytes) break;
    kept.delete(k);
    keptBytes -= v.bytes.length;
  }
}
function startsOf(bytes) {
  let n = 1;
  for (let p = bytes.indexOf(10); p >= 0; p = bytes.indexOf(10, p + 1)) n++;
  const starts = new Float64Array(n + 1);
  let i = 1;
  for (let p = bytes.indexOf(10); p >= 0; p = bytes.indexOf(10, p + 1)) starts[i++] = p + 1;
  starts[n] = bytes.length + 1;
  return starts;
}
// The text an edit makes of a kept text: ops are pairs (from, count), from >= 0 copies count lines
// of the kept text, -1 takes the next count lines of the literal text.
// The text an edit makes of a kept text, as pieces of the kept text's bytes and of the literal
// lines' (nothing copied yet): ops are pairs (from, count), from >= 0 copies count lines of the
// kept text, -1 takes the next count lines of the literal text. A piece [buf, a, b, starts, from,
// count]: bytes a..b of buf, b one past its end when its last line is the buffer's last (then
// a newline follows). Every piece ends in a newline; the text has none after its last line.
function editPieces(base, ops, literal) {
  const lit = Buffer.from(literal, 'utf8');
  const litStarts = startsOf(lit);
  const pieces = [];
  let lines = 0;
  let size = 0;
  let next = 0;
  for (let k = 0; k < ops.length; k += 2) {
    const from = ops[k];
    const count = ops[k + 1];
    if (!(count > 0)) throw new Error('an empty edit op');
    lines += count;
    let piece;
    if (from >= 0) {
      if (from + count >= base.starts.length) throw new Error('edit copies past the kept text');
      piece = [base.bytes, base.starts[from], base.starts[from + count], base.starts, from, count];
    } else {
      if (next + count >= litStarts.length) throw new Error('edit takes more literal lines than sent');
      piece = [lit, litStarts[next], litStarts[next + count], litStarts, next, count];
      next += count;
    }
    size += piece[2] - piece[1];
    pieces.push(piece);
  }
  if (!lines) throw new Error('an edit of no lines');
  return { pieces, lines, size: size - 1 };
}
const NEWLINE = Buffer.from([10]);
// The sha256 of the text of edit pieces, hashed from them in place.
function hashPieces({ pieces }) {
  const hash = createHash('sha256');
  for (let k = 0; k < pieces.length; k++) {
    const [buf, a, b] = pieces[k];
    const end = k === pieces.length - 1 ? b - 1 : b;
    if (end > buf.length) {
      hash.update(buf.subarray(a, buf.length));
      hash.update(NEWLINE);
    } else hash.update(buf.subarray(a, end));
  }
  return hash.digest('hex');
}
// The bytes of the text of edit pieces and its line starts.
function joinPieces({ pieces, lines, size }) {
  const out = Buffer.allocUnsafe(size + 1);
  const starts = new Float64Array(lines + 1);
  let o = 0;
  let l = 0;
  for (const [src, a, b, srcStarts, from, count] of pieces) {
    for (let j = 0; j < count; j++) starts[l++] = o + srcStarts[from + j] - a;
    if (b > src.length) {
      src.copy(out, o, a, src.length);
      out[o + src.length - a] = 10;
    } else src.copy(out, o, a, b);
    o += b - a;
  }
  starts[lines] = size + 1;
  return { bytes: out.subarray(0, size), starts };
}
parentPort.on('message', (m) => {
  try {
    let bytes;
    let starts;
    let hex;
    let edit;
    if (m.edit) {
      const base = kept.get(m.base);
      if (!base) return parentPort.postMessage({ id: m.id, missing: true });
      kept.delete(m.base);
      kept.set(m.base, base);
      // Hashed from the kept bytes in place; the new text's own bytes are made after the answer.
      edit = editPieces(base, m.edit.ops, m.edit.literal);
      hex = hashPieces(edit);
      parentPort.postMessage({ id: m.id, hex, size: edit.size });
      if (m.keep) ({ bytes, starts } = joinPieces(edit));
    } else {
      bytes = new Uint8Array(m.buffer, 0, m.length);
      hex = createHash('sha256').update(bytes).digest('hex');
      // A shared scratch buffer is the event loop's again once answered: the kept bytes are a copy.
      if (m.keep) bytes = Buffer.from(bytes);
      parentPort.postMessage({ id: m.id, hex, size: m.length });
    }
    // Kept after the answer: finding its lines is not on the request's path.
    if (m.keep) keep(hex, bytes, starts || startsOf(bytes));
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err) });
  }
});
`;

interface Reply {
  readonly id: number;
  readonly hex?: string;
  /** The text's length in UTF-8 bytes. */
  readonly size?: number;
  /** The edit's base text is not kept (any more). */
  readonly missing?: true;
  readonly error?: string;
}

/** A text's sha256 and its length in UTF-8 bytes. */
export interface TextDigest {
  readonly sha256: string;
  readonly size: number;
}

export interface TextHasher {
  /**
   * `sha256Hex(text)`, hashed by the worker thread: the event loop only copies
   * the text's bytes (a few ms for 30 MB).
   */
  sha256(text: string): Promise<string>;
  /** The same, with the text's UTF-8 length; `keep`: the worker keeps its bytes as the base of `digestEdit`s. */
  digest(text: string, keep?: boolean): Promise<TextDigest>;
  /**
   * The digest of the text `edit` makes of the text whose sha256 is `base`, when the worker kept
   * that text's bytes (then it keeps the new text's); null when it did not: hash the text itself.
   */
  digestEdit(base: string, edit: LineEdit): Promise<TextDigest | null>;
  /** Ends the worker (a later `sha256` starts another). */
  close(): Promise<void>;
}

/** A hasher with its own worker thread (started at its first text) and its own scratch buffer. */
export function createTextHasher(options: { keepBytes?: number } = {}): TextHasher {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (err: Error) => void }>();
  /** One free scratch buffer (shared with the worker), reused by the next text that fits. */
  let spare: SharedArrayBuffer | null = null;

  function hashWorker(): Worker {
    if (worker) return worker;
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { keepBytes: options.keepBytes ?? KEEP_TEXT_BYTES } });
    w.on('message', (m: Reply) => {
      const job = pending.get(m.id);
      if (!job) return;
      pending.delete(m.id);
      if (!pending.size) w.unref();
      if (m.error === undefined) job.resolve(m);
      else job.reject(new Error(m.error));
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

  /** Sends one job to the worker; its reply. */
  function ask(message: object, transfer?: ArrayBuffer[]): Promise<Reply> {
    const w = hashWorker();
    const id = nextId++;
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // Kept alive while it hashes, not while it waits for work.
      w.ref();
      w.postMessage({ id, ...message }, transfer);
    });
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

  async function digest(text: string, keep = false): Promise<TextDigest> {
    const { buffer, length } = utf8Shared(text);
    try {
      const reply = await ask({ buffer, length, keep });
      return { sha256: reply.hex!, size: length };
    } catch {
      // The worker could not hash it: here, from the bytes already made.
      return { sha256: sha256Hex(new Uint8Array(buffer, 0, length)), size: length };
    } finally {
      release(buffer);
    }
  }

  return {
    sha256: async (text) => (await digest(text)).sha256,
    digest,
    async digestEdit(base, edit) {
      const ops = Int32Array.from(edit.ops);
      try {
        const reply = await ask({ base, keep: true, edit: { ops, literal: edit.literal.join('\n') } }, [ops.buffer as ArrayBuffer]);
        return reply.missing ? null : { sha256: reply.hex!, size: reply.size! };
      } catch {
        // The worker failed (or ended): the caller hashes the text itself.
        return null;
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
