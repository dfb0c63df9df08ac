// Child process of the HTTP bench sections (started by server-process.ts with
// `fork`): the shipped app (dist/, as the image runs it; `npm run bench`
// builds it first) on the SQLite file given as argv[2],
// listening on 127.0.0.1 on an ephemeral port. Talks to the parent over IPC:
// sends {type:'ready', url}; answers {type:'memory', gc?} with its memory
// figures. Exits when the parent says {type:'exit'} or goes away.
import { readFileSync } from 'node:fs';
import type { Config } from '../src/http/config.ts';

// dist/ has no type declarations: its modules are typed as the sources they are compiled from.
const shipped = (file: string): Promise<unknown> => import(new URL(`../dist/http/${file}`, import.meta.url).href);

export interface MemoryReport {
  type: 'memory';
  /** process.memoryUsage() */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** /proc/self/status VmRSS and VmHWM (peak RSS), bytes; 0 when unavailable. */
  vmRss: number;
  vmHwm: number;
}

export type ParentMessage = { type: 'memory'; gc?: boolean } | { type: 'exit' };
export type ChildMessage = { type: 'ready'; url: string } | MemoryReport | { type: 'error'; message: string };

function procStatus(): { vmRss: number; vmHwm: number } {
  try {
    const s = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { vmRss: kb('VmRSS'), vmHwm: kb('VmHWM') };
  } catch {
    return { vmRss: 0, vmHwm: 0 };
  }
}

const send = (m: ChildMessage): void => {
  process.send?.(m);
};

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file || !process.send) throw new Error('usage: fork bench/server.ts <sqlite file> (with an IPC channel)');
  // A loopback bind and a fresh database: the auth plugin (if any) serves everything without a token.
  const { buildApp } = (await shipped('app.js')) as typeof import('../src/http/app.ts');
  const { DEFAULT_CONFIG } = (await shipped('config.js')) as typeof import('../src/http/config.ts');
  // argv[3]: JSON of config settings the section needs (e.g. bigger upload limits for a 700k-line node)
  const overrides = process.argv[3] ? (JSON.parse(process.argv[3]) as Partial<Config>) : {};
  const config: Config = { ...DEFAULT_CONFIG, databaseUrl: `file:${file}`, logLevel: 'silent', host: '127.0.0.1', port: 0, ...overrides };
  // As startServer does (server.ts): process-wide V8 settings are the listening process's.
  const { applyHeapGrowing } = (await shipped('heap.js')) as typeof import('../src/http/heap.ts');
  applyHeapGrowing(config.heapGrowingPercent);
  const app = await buildApp({ config, logger: false });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'memory') {
      const g = (globalThis as { gc?: () => void }).gc;
      if (m.gc && g) {
        g();
        g();
      }
      const u = process.memoryUsage();
      send({ type: 'memory', rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers, ...procStatus() });
    } else if (m.type === 'exit') {
      void app.close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url });
  // BENCH_PEAK_LOG=1: a line on stderr at each new peak of RSS (what held it: V8 heap, external, array buffers), to find where a peak comes from.
  if (process.env['BENCH_PEAK_LOG']) {
    let top = 0;
    setInterval(() => {
      const u = process.memoryUsage();
      if (u.rss < top + 32 * 2 ** 20) return;
      top = u.rss;
      const m = (n: number) => `${(n / 2 ** 20).toFixed(0)}`;
      process.stderr.write(`[peak ${new Date().toISOString()}] rss ${m(u.rss)} heapTotal ${m(u.heapTotal)} heapUsed ${m(u.heapUsed)} external ${m(u.external)} arrayBuffers ${m(u.arrayBuffers)} MiB\n`);
    }, 20).unref();
  }
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  process.exit(1);
});
