import { parseCommandArgs } from '../args.ts';
import { lintRuleset, parseDump } from '../../netfilter/index.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';
import { loadHost } from './trace.ts';

const USAGE = 'lint FILE [--host HOST.json] [--json]';

/** `lint FILE`: findings with severity, location and explanation. */
export async function runLint(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(io, 'lint', USAGE, { json: { type: 'boolean', help: 'findings as JSON' }, host: { type: 'string', help: 'host file (ip -j addr/route JSON) for the Kubernetes checks' } } as const, args, 'Findings: undefined chains, loops, dead and duplicate rules, Kubernetes trouble. Exits 1 when any finding is an error.');
  if (!parsed) return 0;
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
      io.stdout(`${file}${f.line !== undefined ? `:${f.line}` : ''}: ${f.severity} [${f.code}]${where ? ` ${where}:` : ''} ${f.message}\n    ${f.explanation}\n`);
    }
    io.stdout(`${findings.length} finding${findings.length === 1 ? '' : 's'}\n`);
  }
  // Like eslint: error findings fail the run, warnings do not.
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}
