// Starts the HTTP service: builds the app, listens, and shuts down cleanly on
// SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the database).
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { applyHeapGrowing, heapGrowingFlag } from './heap.ts';
import type { Config } from './config.ts';
import { redactedUrl } from '../store/index.ts';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** The address it listens on, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Resolves when the server has been shut down (by a signal or `stop()`). */
  readonly closed: Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Install SIGTERM/SIGINT handlers (default true). */
  readonly handleSignals?: boolean;
  /** Force exit when graceful shutdown takes longer than this (ms, default 10000). */
  readonly shutdownTimeoutMs?: number;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  // Process-wide, so set by the process that listens, not by every app built (tests build many).
  applyHeapGrowing(config.heapGrowingPercent);
  const app = await buildApp({ config });
  // V8 has no reader for the flag: the log says it was set (operators of big nodes look for it).
  const heapFlag = heapGrowingFlag(config.heapGrowingPercent);
  if (heapFlag) app.log.info({ heapGrowingPercent: config.heapGrowingPercent }, `V8 ${heapFlag} set (HEAP_GROWING_PERCENT)`);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const s of signals) process.removeListener(s, onSignal);
      const timer = setTimeout(() => {
        app.log.error('graceful shutdown timed out; exiting');
        process.exit(1);
      }, options.shutdownTimeoutMs ?? 10_000);
      timer.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
        resolveClosed();
      }
    })();
    return stopping;
  };

  function onSignal(signal: NodeJS.Signals): void {
    app.log.info({ signal }, 'shutting down');
    stop().catch((err: unknown) => {
      app.log.error({ err }, 'shutdown failed');
      process.exitCode = 1;
    });
  }

  if (options.handleSignals !== false) for (const s of signals) process.once(s, onSignal);

  try {
    const url = await app.listen({ port: config.port, host: config.host });
    app.log.info({ url, docs: `${url}/docs`, database: redactedUrl(config.databaseUrl) }, 'packetpath API listening');
    return { app, url, closed, stop };
  } catch (err) {
    for (const s of signals) process.removeListener(s, onSignal);
    await app.close();
    throw err;
  }
}
