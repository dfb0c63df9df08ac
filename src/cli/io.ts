// Shared plumbing for CLI commands: reading inputs, usage errors, exit codes.
import { readFile } from 'node:fs/promises';
import { decodeText } from '../store/charset.ts';

export class UsageError extends Error {}
export class InputError extends Error {
  /** 1 by default; `diff` uses 2, since its 1 means "the rulesets differ". */
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

export async function readInput(file: string, io: Io): Promise<string> {
  if (file === '-') return io.readStdin();
  try {
    // A Latin-1 comment reads as itself, not as U+FFFD.
    return decodeText(await readFile(file)).text;
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function formatDiagnostic(file: string, d: { line: number; column?: number; severity: string; code: string; message: string }): string {
  return `${file}:${d.line}${d.column !== undefined ? ':' + d.column : ''}: ${d.severity} [${d.code}] ${d.message}`;
}
