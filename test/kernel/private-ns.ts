/**
 * Processes in throw-away namespaces for the kernel tests: every command starts
 * through `unshare --net --mount`, never in the namespace the tests run in.
 * Also the availability checks (cached) and iptables-restore / -save round trips.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------
// process helpers

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: string;
}

export function exec(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; onStdoutLine?: (line: string) => void } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // own process group -> a timeout can kill the whole group by its id
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    let lineBuf = '';
    let timedOut = false;
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, opts.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (opts.onStdoutLine) {
        lineBuf += d;
        let nl: number;
        while ((nl = lineBuf.indexOf('\n')) >= 0) {
          opts.onStdoutLine(lineBuf.slice(0, nl));
          lineBuf = lineBuf.slice(nl + 1);
        }
      }
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.on('error', () => {
      /* EPIPE when the child exits early; reported via exit code */
    });
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (opts.onStdoutLine && lineBuf) opts.onStdoutLine(lineBuf);
      resolve({ code, signal, stdout, stderr: spawnError ? `${stderr}${spawnError}` : stderr, timedOut, spawnError });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export const UNSHARE = ['--net', '--mount', '--'];

/** Run argv inside a brand-new private network + mount namespace. */
export function inPrivateNs(argv: string[], input?: string, timeoutMs?: number): Promise<ExecResult> {
  return exec('unshare', [...UNSHARE, ...argv], { input, timeoutMs });
}

export function describeFailure(r: ExecResult): string {
  if (r.timedOut) return 'timed out';
  const why = r.stderr.trim() || r.stdout.trim();
  return `exit ${r.code ?? r.signal}${why ? `: ${why}` : ''}`;
}

// ---------------------------------------------------------------------------------
// availability

export type Availability = { ok: true } | { ok: false; reason: string };

let kernelAvail: Promise<Availability> | undefined;

/**
 * Can we `unshare --net --mount` and run `iptables-restore --version` inside? (cached)
 * Set PPTRACE_DISABLE=<reason> to force "unavailable".
 */
export function kernelAvailable(): Promise<Availability> {
  kernelAvail ??= (async (): Promise<Availability> => {
    const disabled = process.env['PPTRACE_DISABLE'];
    if (disabled) return { ok: false, reason: `kernel tests disabled by PPTRACE_DISABLE=${disabled}` };
    if (process.platform !== 'linux') return { ok: false, reason: `platform is ${process.platform}, not linux` };
    const r = await inPrivateNs(['iptables-restore', '--version'], undefined, 15_000);
    if (r.spawnError) return { ok: false, reason: `cannot run unshare: ${r.spawnError}` };
    if (r.code !== 0) return { ok: false, reason: `unshare --net --mount iptables-restore --version failed (${describeFailure(r)})` };
    if (!/iptables-restore v\d/.test(r.stdout + r.stderr)) {
      return { ok: false, reason: `unexpected iptables-restore --version output: ${(r.stdout + r.stderr).trim()}` };
    }
    return { ok: true };
  })();
  return kernelAvail;
}

export function pythonPath(): string {
  const env = process.env['PPTRACE_PYTHON'];
  if (env) return env;
  // the pyenv shim costs ~200 ms per start; the system interpreter is enough (stdlib only)
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

export const DRIVER_PATH = fileURLToPath(new URL('./driver.py', import.meta.url));

let topoAvail: Promise<Availability> | undefined;

/** kernelAvailable() plus the tools runTopology needs (python3, ip, nft, xtables-monitor, conntrack). Cached. */
export function topologyAvailable(): Promise<Availability> {
  topoAvail ??= (async (): Promise<Availability> => {
    const k = await kernelAvailable();
    if (!k.ok) return k;
    const tools = ['ip', 'nft', 'xtables-monitor', 'conntrack', 'iptables-save', 'mount'];
    const script = `for t in ${tools.join(' ')}; do command -v "$t" >/dev/null 2>&1 || echo "missing: $t"; done; "$0" -c 'import socket, ctypes; socket.AF_PACKET' || echo "python3 unusable: $0"`;
    const r = await inPrivateNs(['sh', '-c', script, pythonPath()], undefined, 15_000);
    const problems = (r.stdout + r.stderr).trim();
    if (r.code !== 0 || problems) return { ok: false, reason: problems || describeFailure(r) };
    return { ok: true };
  })();
  return topoAvail;
}

// ---------------------------------------------------------------------------------
// restore / save

export type Family = 'ipv4' | 'ipv6';

function tools(family: Family = 'ipv4'): { restore: string; save: string } {
  return family === 'ipv6'
    ? { restore: 'ip6tables-restore', save: 'ip6tables-save' }
    : { restore: 'iptables-restore', save: 'iptables-save' };
}

/** Remove the `# Generated by ...` / `# Completed on ...` lines of iptables-save output. */
export function stripSaveComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^# (Generated by|Completed on) /.test(l))
    .join('\n');
}

export type RestoreAndSaveResult = { ok: true; saved: string } | { ok: false; stderr: string };

/** `ipset create` commands for the sets a dump's `-m set`/`-j SET` rules reference (the kernel refuses unknown sets). */
export function ipsetCreateScript(dump: string, family: Family = 'ipv4'): string {
  const sets = new Map<string, number>();
  for (const m of dump.matchAll(/--(?:match-set|add-set|del-set|map-set)\s+(\S+)\s+(\S+)/g)) {
    sets.set(m[1]!, Math.max(sets.get(m[1]!) ?? 1, m[2]!.split(',').length));
  }
  const types = ['hash:net', 'hash:ip,port', 'hash:ip,port,net'];
  const fam = family === 'ipv6' ? ' family inet6' : '';
  return [...sets].map(([name, dims]) => `ipset create '${name.replace(/'/g, '')}' ${types[Math.min(dims, 3) - 1]}${fam} || exit 112; `).join('');
}

/**
 * In a fresh private namespace: `iptables-restore [-c]` the dump (stdin), then
 * `iptables-save [-c]`. Returns the save output without the Generated/Completed lines.
 */
export async function restoreAndSave(
  dump: string,
  opts: { family?: Family; counters?: boolean } = {},
): Promise<RestoreAndSaveResult> {
  const { restore, save } = tools(opts.family);
  const flags = opts.counters ? ['-c'] : [];
  // exit 111 marks a restore failure (vs. a save failure)
  const script = ipsetCreateScript(dump, opts.family) + 'r="$1"; s="$2"; shift 2; "$r" "$@" || exit 111; exec "$s" "$@"';
  const r = await inPrivateNs(['sh', '-c', script, 'sh', restore, save, ...flags], dump, 30_000);
  if (r.code !== 0) return { ok: false, stderr: r.stderr.trim() || describeFailure(r) };
  return { ok: true, saved: stripSaveComments(r.stdout) };
}

/** `iptables-restore --test` in a private namespace (parse/validate only; misses kernel-level rejections). */
export async function restoreTest(dump: string, family: Family = 'ipv4'): Promise<{ ok: boolean; stderr: string }> {
  const r = await inPrivateNs(['sh', '-c', ipsetCreateScript(dump, family) + 'exec "$0" --test', tools(family).restore], dump, 30_000);
  return { ok: r.code === 0, stderr: r.code === 0 ? r.stderr : r.stderr.trim() || describeFailure(r) };
}

/** Real `iptables-restore` into a throw-away namespace: also catches what only the kernel rejects. */
export async function restoreAccepts(dump: string, family: Family = 'ipv4'): Promise<{ ok: boolean; stderr: string }> {
  const r = await inPrivateNs([tools(family).restore], dump, 30_000);
  return { ok: r.code === 0, stderr: r.code === 0 ? r.stderr : r.stderr.trim() || describeFailure(r) };
}
