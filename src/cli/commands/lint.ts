import { parseArgs } from 'node:util';
import { lintRuleset, parseDump } from '../../netfilter/index.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';
import { loadHost } from './trace.ts';

const USAGE = 'lint FILE [--host HOST.json] [--json]';

/** `lint FILE`: findings with severity, location and explanation. */
export async function runLint(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { json: { type: 'boolean' }, host: { type: 'string' } }, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${USAGE}`);
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length) throw new UsageError(`usage: ${USAGE}`);
  const r = parseDump(await readInput(file, io));
  if (r.ruleset.tables.length === 0) throw new InputError(`${file}: no tables could be read`);
  const host = await loadHost(parsed.values.host, io);
  const findings = lintRuleset({ ruleset: r.ruleset, diagnostics: r.diagnostics, ...(host ? { host } : {}) });
  if (parsed.values.json) io.stdout(JSON.stringify({ findings }, null, 2) + '\n');
  else {
    for (const f of findings) {
      const where = [f.table, f.chain].filter(Boolean).join(' ') + (f.rule ? ` rule ${f.rule}` : '');
      io.stdout(`${file}:${f.line ?? 0}: ${f.severity} [${f.code}]${where ? ` ${where}:` : ''} ${f.message}\n    ${f.explanation}\n`);
    }
    io.stdout(`${findings.length} finding${findings.length === 1 ? '' : 's'}\n`);
  }
  return 0;
}
