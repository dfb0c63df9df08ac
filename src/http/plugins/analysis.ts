// Heavy analyses off the event loop: a piscina worker pool (created on first
// use) with a bounded queue (past it: 503 + Retry-After), and an LRU of
// results keyed by what determines them (kind, the version's text sha256,
// family, format, host file), so a version is analysed once; concurrent
// requests for the same key share one run.
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { Piscina } from 'piscina';
import { sha256Hex } from '../../store/index.ts';
import type { AnalysisResult, AnalysisTask, ClusterWhatIfAnswer, ClusterWhatIfTask, DiffAnswer, DiffTask, LayoutTask, WhatIfAnswer, WhatIfTask } from '../analysis/task.ts';
import { dotToSvg, loadGraphviz, type Graphviz } from '../../draw/svg.ts';
import { HttpProblem } from './errors.ts';

export interface AnalysisService {
  /** The result of `task`, from the cache or a worker. */
  run(task: AnalysisTask, textSha256: string): Promise<AnalysisResult>;
  /**
   * A diff in a worker (not cached: its answer is as big as its inputs); `load` runs once the diff
   * is admitted, so diffs waiting their turn hold no texts.
   */
  diff(load: () => Promise<DiffTask>): Promise<DiffAnswer>;
  /**
   * A plain diff on the event loop (http/diff-here.ts), admitted like a worker's (one diff at a
   * time, at most ANALYSIS_QUEUE waiting, past that a 503 with Retry-After) and counted in `ran`;
   * it holds its turn until `run` settles (the diff computed, not yet written).
   */
  admitDiff<T>(run: () => Promise<T>): Promise<T>;
  /**
   * A big upload's preparation (its parse, on the event loop in slices), run when its turn comes:
   * at most ANALYSIS_WORKERS at once (each holds its parse, ~2 KB per line), at most ANALYSIS_QUEUE
   * waiting (past that a 503 with Retry-After).
   */
  admitUpload<T>(prepare: () => Promise<T>): Promise<T>;
  /** A what-if trace in a worker (not cached). */
  whatIf(task: WhatIfTask): Promise<WhatIfAnswer>;
  /** A what-if trace across a cluster in a worker (not cached); `load` runs once admitted. */
  clusterWhatIf(load: () => Promise<ClusterWhatIfTask>): Promise<ClusterWhatIfAnswer>;
  /**
   * A drawing's dot laid out as SVG: on the event loop up to SVG_INLINE_MAX_ELEMENTS boxes and
   * arrows (`size`), in a worker past that (Graphviz's layout grows faster than linearly).
   */
  svg(dot: string, size: number): Promise<string>;
  /** Analyses run (in workers, and plain diffs on the event loop) and answered from the cache so far (for tests and metrics). */
  stats(): { readonly ran: number; readonly cached: number };
}

declare module 'fastify' {
  interface FastifyInstance {
    analysis: AnalysisService;
  }
}

// Under tsx the sources are .ts; compiled, .js: the worker is the sibling of this module's own kind.
const WORKER = new URL(`../analysis/worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

export default fp(
  async (app) => {
    const { analysisWorkers, analysisQueue, analysisCacheSize, analysisWorkerMemoryMb, svgInlineMaxElements } = app.config;
    let pool: Piscina | undefined;
    const results = analysisCacheSize > 0 ? new LRUCache<string, AnalysisResult>({ max: analysisCacheSize }) : undefined;
    const running = new Map<string, Promise<AnalysisResult>>();
    let ran = 0;
    let cached = 0;

    // A worker's heap is capped: an analysis too big for it fails alone (503) instead of the server running
    // out of memory; an idle worker exits at once, giving its heap back before the main thread's own
    // work (a 700k-line node's diff: their peaks do not add up). A new worker starts in well under the
    // time of any analysis worth a worker.
    const WORKER_IDLE_MS = 100;
    const poolNow = (): Piscina =>
      (pool ??= new Piscina({ filename: WORKER, minThreads: 0, maxThreads: analysisWorkers, maxQueue: analysisQueue, idleTimeout: WORKER_IDLE_MS, resourceLimits: { maxOldGenerationSizeMb: analysisWorkerMemoryMb } }));
    const tooLarge = (err: unknown): never => {
      if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new HttpProblem(503, 'analysis-too-large', `the analysis needed more than the ${analysisWorkerMemoryMb} MiB a worker may use (ANALYSIS_WORKER_MEMORY_MB)`, { limit: analysisWorkerMemoryMb });
      }
      throw err;
    };
    // Per kind of work, how many may run at once: the memory-heavy ones (a diff its two outlines and
    // its answer, a what-if two parsed rulesets) one at a time whatever ANALYSIS_WORKERS says, big uploads' parses (on
    // the event loop) as many as there are workers; the rest wait their turn in a queue of at most
    // ANALYSIS_QUEUE, past which a 503 with Retry-After.
    const KIND_LIMITS: Readonly<Record<'diff' | 'whatif' | 'prepare', number>> = { diff: 1, whatif: 1, prepare: Math.max(1, analysisWorkers) };
    const active = { diff: 0, whatif: 0, prepare: 0 };
    const waiting: Record<'diff' | 'whatif' | 'prepare', (() => void)[]> = { diff: [], whatif: [], prepare: [] };
    const admit = async <T>(kind: 'diff' | 'whatif' | 'prepare', f: () => Promise<T>): Promise<T> => {
      if (active[kind] >= KIND_LIMITS[kind]) {
        if (waiting[kind].length >= analysisQueue) {
          throw new HttpProblem(503, 'analysis-busy', `${waiting[kind].length} ${kind === 'whatif' ? 'what-if traces' : kind === 'prepare' ? 'uploads' : 'diffs'} are waiting (at most ${KIND_LIMITS[kind]} at once, ANALYSIS_QUEUE=${analysisQueue}); retry shortly`, {}, { 'retry-after': '5' });
        }
        await new Promise<void>((resolve) => waiting[kind].push(resolve));
      }
      active[kind]++;
      try {
        return await f();
      } finally {
        active[kind]--;
        waiting[kind].shift()?.();
      }
    };
    const refuseWhenFull = (p: Piscina): void => {
      if (p.queueSize >= analysisQueue) {
        throw new HttpProblem(503, 'analysis-busy', `${p.queueSize} analyses are waiting for a worker (ANALYSIS_QUEUE=${analysisQueue}); retry shortly`, {}, { 'retry-after': '5' });
      }
    };

    /** One uncached task in the pool: refused past the queue, a worker out of memory reported as such. */
    const runInPool = async <T>(task: DiffTask | WhatIfTask | ClusterWhatIfTask | LayoutTask): Promise<T> => {
      const p = poolNow();
      refuseWhenFull(p);
      const answer = (await p.run(task).catch(tooLarge)) as T;
      ran++;
      return answer;
    };

    // This app's Graphviz for small layouts, loaded on first use (the WASM compiles off the event loop).
    let graphviz: Promise<Graphviz> | undefined;
    const layoutHere = async (dot: string): Promise<string> => dotToSvg(await (graphviz ??= loadGraphviz()), dot);

    const service: AnalysisService = {
      svg: (dot, size) => (size <= svgInlineMaxElements ? layoutHere(dot) : runInPool<string>({ kind: 'layout', dot })),
      diff: (load) => admit('diff', async () => runInPool<DiffAnswer>(await load())),
      whatIf: (task) => admit('whatif', () => runInPool<WhatIfAnswer>(task)),
      clusterWhatIf: (load) => admit('whatif', async () => runInPool<ClusterWhatIfAnswer>(await load())),
      admitDiff: (run) =>
        admit('diff', () => {
          ran++;
          return run();
        }),
      admitUpload: (prepare) => admit('prepare', prepare),
      run(task, textSha256) {
        const key = [task.kind, textSha256, task.family, task.format, task.hostJson === null ? '-' : sha256Hex(task.hostJson), task.nftText === undefined ? '-' : sha256Hex(task.nftText)].join(':');
        const hit = results?.get(key);
        if (hit) {
          cached++;
          return Promise.resolve(hit);
        }
        const pending = running.get(key);
        if (pending) return pending;
        const p = poolNow();
        try {
          refuseWhenFull(p);
        } catch (err) {
          return Promise.reject(err);
        }
        const job = (p.run(task).catch(tooLarge) as Promise<AnalysisResult>)
          .then((result) => {
            ran++;
            results?.set(key, result);
            return result;
          })
          .finally(() => running.delete(key));
        running.set(key, job);
        return job;
      },
      stats: () => ({ ran, cached }),
    };
    app.decorate('analysis', service);
    app.addHook('onClose', async () => {
      await pool?.destroy();
    });
  },
  { name: 'packetpath-analysis', fastify: '5.x', dependencies: ['packetpath-db'] },
);
