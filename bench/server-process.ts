// Parent side of bench/server.ts: starts the app in a child process on a fresh
// temporary SQLite file, and a small fetch helper with a timeout. Traffic only
// ever goes to 127.0.0.1.
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, MemoryReport, ParentMessage } from './server.ts';

export interface ServerProcess {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  /** The child's memory figures (`gc`: after two full collections). */
  memory(gc?: boolean): Promise<MemoryReport>;
  stop(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    }),
  ]);
}

/** Starts the app (bench/server.ts) in a child process on a new temp database. */
export async function startServer(config: Record<string, unknown> = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'packetpath-bench-'));
  // process.execArgv carries tsx's loader flags, so the child runs TypeScript too.
  const child = fork(SERVER, [join(dir, 'bench.db'), ...(Object.keys(config).length ? [JSON.stringify(config)] : [])], { execArgv: [...process.execArgv, '--expose-gc', ...(process.env.BENCH_SERVER_FLAGS ? process.env.BENCH_SERVER_FLAGS.split(' ') : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = (): void => {
    live.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const next = <T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: ChildMessage): void => {
        if (m.type === type) {
          off();
          resolve(m as Extract<ChildMessage, { type: T }>);
        } else if (m.type === 'error') {
          off();
          reject(new Error(`bench server: ${m.message}`));
        }
      };
      const onExit = (code: number | null): void => {
        off();
        reject(new Error(`bench server exited (code ${code}) before answering`));
      };
      const off = (): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.send({ type: 'exit' } satisfies ParentMessage);
      await withTimeout(exited, 10_000, 'bench server exit').catch(() => {
        child.kill('SIGKILL');
        return exited;
      });
    }
    cleanup();
  };
  try {
    const ready = await withTimeout(next('ready'), 90_000, 'bench server start');
    return {
      url: ready.url,
      pid: child.pid!,
      memory: (gc = false) => {
        const answer = next('memory');
        child.send({ type: 'memory', gc } satisfies ParentMessage);
        return withTimeout(answer, 30_000, 'bench server memory');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface Answer {
  status: number;
  ms: number;
  body: string;
}

/** One request; `ms` runs from just before sending to the last byte of the answer. */
export function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string }, timeoutMs = 180_000): Promise<Answer> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') return Promise.reject(new Error(`the bench only talks to 127.0.0.1, not ${u.hostname}`));
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const body = init.body;
    const req = request(u, { method: init.method ?? 'GET', headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...init.headers }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${init.method ?? 'GET'} ${u.pathname}: no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Like `call`, throwing unless the status is one of `ok`. */
export async function expectStatus(what: string, ok: number[], url: string, init: Parameters<typeof call>[1], timeoutMs?: number): Promise<Answer> {
  const a = await call(url, init, timeoutMs);
  if (!ok.includes(a.status)) throw new Error(`${what}: HTTP ${a.status}: ${a.body.slice(0, 300)}`);
  return a;
}
