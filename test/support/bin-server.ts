// `packetpath serve` as an operator starts it: the installed bin, run from
// another directory, on a free port that is not the default one (8080).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { freePort } from './ports.ts';

export interface BinServer {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** What it has printed so far (stdout and stderr). */
  readonly log: () => string;
  /** Stops its whole process group and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts the server in `cwd` with `env` added to this process's, and waits until /readyz answers 200. */
export async function startBinServer(cwd: string, env: Record<string, string>): Promise<BinServer> {
  let port = await freePort();
  while (port === 8080) port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'packetpath.mjs'), 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stopped whole, whatever the bin starts
  });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGTERM');
    await exited;
  };
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
    if (i > 300 || child.exitCode !== null) {
      await stop();
      throw new Error(`the server did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, log: () => log, stop };
}
