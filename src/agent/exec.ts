// Running the collection commands: an argument array (never a shell), a time
// limit (the process is killed with SIGKILL when it is over, and the result
// says so), and a cap on the output kept.
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly file: string;
  readonly args: readonly string[];
  /** Exit code; null when killed by a signal or never started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed because it ran longer than the time limit. */
  readonly timedOut: boolean;
  /** The program does not exist (ENOENT). */
  readonly missing: boolean;
  /** Killed because its output exceeded the cap. */
  readonly tooLarge: boolean;
  /** A spawn error other than ENOENT (EACCES, ...). */
  readonly error?: string;
  readonly durationMs: number;
}

export interface RunOptions {
  readonly timeoutMs: number;
  /** Largest stdout kept (default 512 MiB); past it the process is killed. */
  readonly maxBytes?: number;
}

export type Runner = (file: string, args: readonly string[], options: RunOptions) => Promise<CommandResult>;

/** True when the command ran to completion with exit code 0. */
export const succeeded = (r: CommandResult): boolean => r.code === 0 && !r.timedOut && !r.tooLarge && !r.missing && r.error === undefined;

/** One line saying why a command failed, for logs. */
export function describeFailure(r: CommandResult): string {
  const cmd = [r.file, ...r.args].join(' ');
  if (r.missing) return `${cmd}: not found`;
  if (r.timedOut) return `${cmd}: timed out after ${r.durationMs} ms and was killed`;
  if (r.tooLarge) return `${cmd}: output too large; killed`;
  if (r.error) return `${cmd}: ${r.error}`;
  const why = r.stderr.trim().split('\n').slice(-3).join(' / ');
  return `${cmd}: exit ${r.code ?? r.signal}${why ? `: ${why}` : ''}`;
}

export const runCommand: Runner = (file, args, options) =>
  new Promise((resolve) => {
    const started = Date.now();
    const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    let child;
    try {
      child = spawn(file, [...args], { shell: false, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      resolve({ file, args, code: null, signal: null, stdout: '', stderr: '', timedOut: false, missing: e.code === 'ENOENT', tooLarge: false, ...(e.code === 'ENOENT' ? {} : { error: e.message }), durationMs: 0 });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let tooLarge = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const kill = (): void => {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > maxBytes) {
        if (!tooLarge) {
          tooLarge = true;
          kill();
        }
        return;
      }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      // stderr is only for messages: keep the first 64 KiB.
      if (errBytes < 65_536) err.push(d);
      errBytes += d.length;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const missing = spawnError?.code === 'ENOENT';
      resolve({
        file,
        args,
        code: spawnError ? null : code,
        signal: spawnError ? null : signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        missing,
        tooLarge,
        ...(spawnError && !missing ? { error: spawnError.message } : {}),
        durationMs: Date.now() - started,
      });
    });
  });
