// Worker thread of the storage section: prepares node dumps (generate + parse
// + canonicalize) and posts back what uploadDumps needs.
import { parentPort } from 'node:worker_threads';
import { prepareNode } from './storage-node.ts';

const port = parentPort;
if (!port) throw new Error('bench/storage-worker.ts runs as a worker thread');
port.on('message', (i: number) => {
  try {
    port.postMessage({ ok: true, upload: prepareNode(i) });
  } catch (err) {
    port.postMessage({ ok: false, message: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
