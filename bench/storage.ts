// Storage section of `npm run bench`: bytes in SQLite for 1 node and for 1,000
// nodes of one cluster whose dumps are nearly identical (bench/storage-node.ts).
// Uploads go straight through the store functions (prepareDump + uploadDumps,
// what the upload route calls), not HTTP: dumps are prepared in worker threads,
// recorded one at a time on the main thread. Bounded by a time budget: when
// 1,000 uploads do not fit, the 1,000-node figure is extrapolated linearly from
// the real ones and labelled so.
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { blobStorageBytes, openDatabase, uploadDumps, type Database } from '../src/store/index.ts';
import { fmt, mib, verdict, type AddRow } from './common.ts';
import { prepareNode, STORAGE_SERVICES, type NodeUpload } from './storage-node.ts';

const SECTION = `storage (${STORAGE_SERVICES / 1000}k Services/node)`;

const fileBytes = (f: string): number => {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
};

async function dbBytes(db: Database, file: string): Promise<number> {
  await db.prisma.$queryRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');
  return fileBytes(file) + fileBytes(`${file}-wal`);
}

/** Stored (compressed) bytes per kind of blob; undefined if the schema moved under us. */
async function blobKinds(db: Database): Promise<{ canonical: number; original: number; counters: number; distinctCanonical: number; dumps: number } | undefined> {
  try {
    const sum = async (col: string): Promise<number> => {
      const r = await db.prisma.$queryRawUnsafe<{ n: bigint | number | null }[]>(`SELECT SUM(LENGTH("data")) AS n FROM "Blob" WHERE "sha256" IN (SELECT "${col}" FROM "Dump")`);
      return Number(r[0]?.n ?? 0);
    };
    const counts = await db.prisma.$queryRawUnsafe<{ d: bigint | number; n: bigint | number }[]>('SELECT COUNT(DISTINCT "sha256") AS d, COUNT(*) AS n FROM "Dump"');
    return { canonical: await sum('sha256'), original: await sum('originalSha256'), counters: await sum('countersSha256'), distinctCanonical: Number(counts[0]?.d ?? 0), dumps: Number(counts[0]?.n ?? 0) };
  } catch {
    return undefined;
  }
}

function startWorker(): Worker {
  // Workers do not inherit tsx's loader: register it, then load the TypeScript worker.
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(new URL('./storage-worker.ts', import.meta.url).href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
}

type WorkerAnswer = { ok: true; upload: NodeUpload } | { ok: false; message: string };

export interface StorageOptions {
  /** Nodes to upload (default 1000). */
  nodes?: number;
  /** Wall-clock budget for the multi-node uploads, seconds (default 150). */
  budgetSeconds?: number;
}

export async function storage(add: AddRow, options: StorageOptions = {}): Promise<void> {
  const target = Math.max(2, options.nodes ?? 1000);
  const budgetMs = (options.budgetSeconds ?? 150) * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-bench-'));
  const file = join(dir, 'storage.db');
  const workers: Worker[] = [];
  try {
    const db = await openDatabase(`file:${file}`);
    try {
      const record = (u: NodeUpload): Promise<unknown> =>
        uploadDumps(db.prisma, { node: u.node, cluster: 'bench', dumps: [{ ...u.prepared, ruleset: { family: u.prepared.family, tables: [] } }], hostJson: u.hostJson });
      const empty = await dbBytes(db, file);

      // Node 0, on this thread.
      const first = prepareNode(0);
      await record(first);
      const one = await dbBytes(db, file);
      const oneBlobs = await blobStorageBytes(db.prisma);
      add(SECTION, '1 node: SQLite file after wal_checkpoint(TRUNCATE)', `${fmt(one)} bytes = ${mib(one)} (blobs: ${fmt(oneBlobs.storedBytes)} bytes gzip for ${fmt(oneBlobs.textBytes)} of text in ${oneBlobs.blobs}; empty database ${fmt(empty)})`);

      // Nodes 1.., prepared by worker threads, recorded here in arrival order.
      const start = performance.now();
      const deadline = start + budgetMs;
      let next = 1;
      let uploaded = 1;
      let pending = 0;
      let prepareMs = 0;
      let recordMs = 0;
      let chain: Promise<void> = Promise.resolve();
      const nWorkers = Math.max(1, Math.min(2, cpus().length));
      for (let k = 0; k < nWorkers; k++) workers.push(startWorker());
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              const give = (): void => {
                if (next >= target || performance.now() > deadline) return resolve();
                w.postMessage(next++);
              };
              w.on('message', (m: WorkerAnswer) => {
                if (!m.ok) return reject(new Error(`storage worker: ${m.message}`));
                prepareMs += m.upload.genMs + m.upload.prepareMs;
                pending++;
                chain = chain.then(async () => {
                  const t = performance.now();
                  await record(m.upload);
                  recordMs += performance.now() - t;
                  uploaded++;
                  pending--;
                });
                chain.catch(reject);
                // Back-pressure: at most a few prepared dumps wait for the database.
                if (pending > 4) chain.then(give, reject);
                else give();
              });
              w.on('error', reject);
              give();
            }),
        ),
      );
      await chain;
      const wallMs = performance.now() - start;
      const many = await dbBytes(db, file);
      const manyBlobs = await blobStorageBytes(db.prisma);
      const kinds = await blobKinds(db);

      const real = uploaded >= target;
      const perNode = (many - one) / Math.max(1, uploaded - 1);
      const total = real ? many : one + perNode * (target - 1);
      const figure = real ? `${fmt(target)} nodes: SQLite file after wal_checkpoint(TRUNCATE)` : `${fmt(target)} nodes: EXTRAPOLATED linearly from ${fmt(uploaded)} real uploads (time budget ${budgetMs / 1000} s)`;
      add(SECTION, figure, `${fmt(total)} bytes = ${mib(total)}${real ? '' : ` (measured: ${fmt(uploaded)} nodes = ${mib(many)})`}; +${fmt(perNode / 1024)} KiB per node`);
      const ratio = total / one;
      add(SECTION, `${fmt(target)} nodes / 1 node${real ? '' : ' (extrapolated)'}`, `${fmt(ratio, 1)}×`, `< 3× — ${verdict(ratio < 3)}`);
      if (kinds) {
        const rest = many - manyBlobs.storedBytes;
        add(
          SECTION,
          `what the bytes are (${fmt(uploaded)} nodes, real)`,
          `canonical texts ${mib(kinds.canonical)} (${fmt(kinds.distinctCanonical)} distinct of ${fmt(kinds.dumps)} versions), uploaded originals with counters ${mib(kinds.original)}, counters JSON ${mib(kinds.counters)}, rows/indexes/host files/free pages ${mib(rest)}`,
        );
      }
      add(
        SECTION,
        'upload time (store functions, no HTTP)',
        `${fmt(uploaded - 1)} uploads after the first in ${fmt(wallMs / 1000, 1)} s with ${nWorkers} worker threads preparing: generate + prepareDump ${fmt(prepareMs / Math.max(1, uploaded - 1))} ms/node, uploadDumps ${fmt(recordMs / Math.max(1, uploaded - 1))} ms/node`,
      );
    } finally {
      await db.close();
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    rmSync(dir, { recursive: true, force: true });
  }
}
