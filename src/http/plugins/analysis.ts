// Heavy analyses off the event loop: a piscina worker pool (created on first
// use) with a bounded queue (past it: 503 + Retry-After), and an LRU of
// results keyed by what determines them (kind, the version's text sha256,
// family, format, host file), so a version is analysed once; concurrent
// requests for the same key share one run.
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { Piscina } from 'piscina';
import { sha256Hex } from '../../store/index.ts';
import type { AnalysisResult, AnalysisTask, DiffAnswer, DiffTask } from '../analysis/task.ts';
import { HttpProblem } from './errors.ts';

export interface AnalysisService {
  /** The result of `task`, from the cache or a worker. */
  run(task: AnalysisTask, textSha256: string): Promise<AnalysisResult>;
  /** A diff in a worker (not cached: its answer is as big as its inputs); same queue bound. */
  diff(task: DiffTask): Promise<DiffAnswer>;
  /** Runs in workers and answers from the cache so far (for tests and metrics). */
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
    const { analysisWorkers, analysisQueue, analysisCacheSize } = app.config;
    let pool: Piscina | undefined;
    const results = analysisCacheSize > 0 ? new LRUCache<string, AnalysisResult>({ max: analysisCacheSize }) : undefined;
    const running = new Map<string, Promise<AnalysisResult>>();
    let ran = 0;
    let cached = 0;

    const poolNow = (): Piscina => (pool ??= new Piscina({ filename: WORKER, minThreads: 0, maxThreads: analysisWorkers, maxQueue: analysisQueue, idleTimeout: 60_000 }));
    const refuseWhenFull = (p: Piscina): void => {
      if (p.queueSize >= analysisQueue) {
        throw new HttpProblem(503, 'analysis-busy', `${p.queueSize} analyses are waiting for a worker (ANALYSIS_QUEUE=${analysisQueue}); retry shortly`, {}, { 'retry-after': '5' });
      }
    };

    const service: AnalysisService = {
      async diff(task) {
        const p = poolNow();
        refuseWhenFull(p);
        const answer = (await p.run(task)) as DiffAnswer;
        ran++;
        return answer;
      },
      run(task, textSha256) {
        const key = [task.kind, textSha256, task.family, task.format, task.hostJson === null ? '-' : sha256Hex(task.hostJson)].join(':');
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
        const job = (p.run(task) as Promise<AnalysisResult>)
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
