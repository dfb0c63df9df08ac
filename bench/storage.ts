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

/** Stored bytes of the blobs of each kind (blobs.ts encodings), and the dump/version counts. */
interface BlobKinds {
  /** Canonical texts stored whole (the bases the deltas point at). */
  canonicalWhole: number;
  /** Canonical texts stored as line deltas. */
  canonicalDelta: number;
  /** Uploaded texts stored as deltas of the counted canonical text. */
  originalDelta: number;
  /** Uploaded texts stored whole (listings, hand-edited pastes, ...). */
  originalWhole: number;
  /** Counters blobs (varints). */
  counters: number;
  /** Count of blobs of each encoding. */
  encodings: Record<string, number>;
  distinctCanonical: number;
  dumps: number;
}

async function blobKinds(db: Database): Promise<BlobKinds> {
  const q = <T,>(sql: string): Promise<T[]> => db.prisma.$queryRawUnsafe<T[]>(sql);
  const sum = async (where: string): Promise<number> => Number((await q<{ n: bigint | number | null }>(`SELECT SUM(LENGTH("data")) AS n FROM "Blob" WHERE ${where}`))[0]?.n ?? 0);
  const canonical = '"sha256" IN (SELECT "sha256" FROM "Dump") OR "sha256" IN (SELECT "baseSha256" FROM "Blob" WHERE "encoding" = \'delta\')';
  const original = '"sha256" IN (SELECT "originalSha256" FROM "Dump")';
  const counts = await q<{ d: bigint | number; n: bigint | number }>('SELECT COUNT(DISTINCT "sha256") AS d, COUNT(*) AS n FROM "Dump"');
  const encodings = await q<{ encoding: string; n: bigint | number }>('SELECT "encoding", COUNT(*) AS n FROM "Blob" GROUP BY "encoding" ORDER BY "encoding"');
  return {
    canonicalWhole: await sum(`(${canonical}) AND "encoding" IN ('gzip', 'identity')`),
    canonicalDelta: await sum(`(${canonical}) AND "encoding" = 'delta'`),
    originalDelta: await sum(`${original} AND "encoding" = 'counted-delta'`),
    originalWhole: await sum(`${original} AND "encoding" IN ('gzip', 'identity')`),
    counters: await sum('"sha256" IN (SELECT "countersSha256" FROM "Dump")'),
    encodings: Object.fromEntries(encodings.map((e) => [e.encoding, Number(e.n)])),
    distinctCanonical: Number(counts[0]?.d ?? 0),
    dumps: Number(counts[0]?.n ?? 0),
  };
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
  /** Wall-clock budget for the multi-node uploads, seconds (default 300). */
  budgetSeconds?: number;
}

export async function storage(add: AddRow, options: StorageOptions = {}): Promise<void> {
  const target = Math.max(2, options.nodes ?? 1000);
  const budgetMs = (options.budgetSeconds ?? 300) * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-bench-'));
  const file = join(dir, 'storage.db');
  const workers: Worker[] = [];
  try {
    const db = await openDatabase(`file:${file}`);
    try {
      const record = (u: NodeUpload): Promise<unknown> =>
        uploadDumps(db.prisma, { deltaBases: db.deltaBases, node: u.node, cluster: 'bench', dumps: [{ ...u.prepared, ruleset: { family: u.prepared.family, tables: [] } }], hostJson: u.hostJson });
      const empty = await dbBytes(db, file);

      // Node 0, on this thread.
      const first = prepareNode(0);
      await record(first);
      const one = await dbBytes(db, file);
      const oneBlobs = await blobStorageBytes(db.prisma);
      const oneKinds = await blobKinds(db);
      add(
        SECTION,
        '1 node: SQLite file after wal_checkpoint(TRUNCATE)',
        `${fmt(one)} bytes = ${mib(one)} (${oneBlobs.blobs} blobs, ${fmt(oneBlobs.storedBytes)} bytes: canonical text ${fmt(oneKinds.canonicalWhole + oneKinds.canonicalDelta)}, uploaded text ${fmt(oneKinds.originalDelta + oneKinds.originalWhole)}, counters ${fmt(oneKinds.counters)}; empty database ${fmt(empty)}); without counters ${fmt(one - oneKinds.counters)} bytes`,
      );

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
      // Counters are per node and random: they cannot be shared. The same figures without their bytes.
      const perNodeCounters = (kinds.counters - oneKinds.counters) / Math.max(1, uploaded - 1);
      const oneBare = one - oneKinds.counters;
      const totalBare = total - (oneKinds.counters + perNodeCounters * (target - 1));
      add(
        SECTION,
        `${fmt(target)} nodes / 1 node without counter bytes${real ? '' : ' (extrapolated)'}`,
        `${fmt(totalBare / oneBare, 1)}× (${mib(totalBare)} / ${mib(oneBare)}); counters cost ${fmt(perNodeCounters)} bytes per node (${fmt(oneKinds.counters)} for node 0)`,
        `< 3× — ${verdict(totalBare / oneBare < 3)}`,
      );
      const per = (a: number, b: number): string => fmt((a - b) / Math.max(1, uploaded - 1));
      const blobsMany = kinds.canonicalWhole + kinds.canonicalDelta + kinds.originalDelta + kinds.originalWhole + kinds.counters;
      const blobsOne = oneKinds.canonicalWhole + oneKinds.canonicalDelta + oneKinds.originalDelta + oneKinds.originalWhole + oneKinds.counters;
      add(
        SECTION,
        `what the bytes are (${fmt(uploaded)} nodes, real)`,
        `canonical texts ${mib(kinds.canonicalWhole)} whole + ${mib(kinds.canonicalDelta)} deltas (${fmt(kinds.distinctCanonical)} distinct of ${fmt(kinds.dumps)} versions), ` +
          `uploaded texts ${mib(kinds.originalDelta)} deltas + ${mib(kinds.originalWhole)} whole, counters ${mib(kinds.counters)}, rows/indexes/host files/free pages ${mib(many - manyBlobs.storedBytes)}; ` +
          `blobs by encoding ${Object.entries(kinds.encodings).map(([e, n]) => `${e} ${fmt(n)}`).join(', ')}`,
      );
      add(
        SECTION,
        'bytes per node after the first, by kind',
        `canonical ${per(kinds.canonicalWhole + kinds.canonicalDelta, oneKinds.canonicalWhole + oneKinds.canonicalDelta)}, uploaded text ${per(kinds.originalDelta + kinds.originalWhole, oneKinds.originalDelta + oneKinds.originalWhole)}, ` +
          `counters ${per(kinds.counters, oneKinds.counters)}, rows/indexes/host files/pages ${per(many - blobsMany, one - blobsOne)} (total ${per(many, one)})`,
      );
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
