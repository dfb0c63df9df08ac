import { parseCommandArgs } from '../args.ts';
import { parseDump, renderRuleset, rulesetStats, type ParseOptions, type ParseResult } from '../../netfilter/index.ts';
import { diagnosticToJson, rulesetToJson } from '../../netfilter/iptables/json.ts';
import { formatDiagnostic, readInput, UsageError, type Io } from '../io.ts';
import { isTableName, type DumpFormat, type Family } from '../../netfilter/iptables/model.ts';

const PARSE_FLAGS = {
  json: { type: 'boolean', help: 'the model and diagnostics as JSON (parse only)' },
  strict: { type: 'boolean', help: 'fail on anything iptables-restore would refuse' },
  family: { type: 'string', help: 'ipv4 or ipv6 (default: detected)' },
  table: { type: 'string', help: 'the table of an iptables -S / -L listing (default: inferred)' },
  format: { type: 'string', help: 'iptables-save, iptables-S or iptables-L (default: detected)' },
} as const;

export function parseOptionsFrom(values: { strict?: boolean; family?: string; table?: string; format?: string }): ParseOptions {
  const { family, table, format } = values;
  if (family !== undefined && family !== 'ipv4' && family !== 'ipv6') throw new UsageError(`--family must be ipv4 or ipv6, not "${family}"`);
  if (table !== undefined && !isTableName(table)) throw new UsageError(`--table must be raw, mangle, nat, filter or security, not "${table}"`);
  if (format !== undefined && !['iptables-save', 'iptables-S', 'iptables-L'].includes(format)) {
    throw new UsageError(`--format must be iptables-save, iptables-S or iptables-L, not "${format}"`);
  }
  return {
    ...(values.strict ? { strict: true } : {}),
    ...(family ? { family: family as Family } : {}),
    ...(table && isTableName(table) ? { table } : {}),
    ...(format ? { format: format as DumpFormat } : {}),
  };
}

export async function parseFileArg(args: string[], io: Io, usage: string): Promise<{ file: string; result: ParseResult; values: Record<string, unknown> } | null> {
  const parsed = parseCommandArgs(io, usage.split(' ')[0]!, usage, PARSE_FLAGS, args);
  if (!parsed) return null;
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length) throw new UsageError(`usage: ${usage}`);
  const text = await readInput(file, io);
  const result = parseDump(text, parseOptionsFrom(parsed.values));
  return { file, result, values: parsed.values };
}

/** `parse FILE [--json]`: the model and its diagnostics. */
export async function runParse(args: string[], io: Io): Promise<number> {
  const parsed = await parseFileArg(args, io, 'parse FILE [--json] [--strict] [--family ipv4|ipv6] [--table T] [--format F]');
  if (!parsed) return 0;
  const { file, result, values } = parsed;
  if (values.json) {
    io.stdout(JSON.stringify({
      format: result.format,
      family: result.ruleset.family,
      ok: result.ok,
      stats: rulesetStats(result.ruleset),
      tables: (rulesetToJson(result.ruleset) as { tables: unknown }).tables,
      diagnostics: result.diagnostics.map(diagnosticToJson),
    }, null, 2) + '\n');
  } else {
    const s = rulesetStats(result.ruleset);
    io.stdout(`${file}: ${result.format}, ${result.ruleset.family}, ${s.tables} tables, ${s.chains} chains, ${s.rules} rules\n`);
    for (const t of result.ruleset.tables) {
      for (const c of t.chains) {
        io.stdout(`  ${t.name}/${c.name}${c.builtin ? ` (policy ${c.policy})` : ''}: ${c.rules.length} rules\n`);
      }
    }
    for (const d of result.diagnostics) io.stdout(formatDiagnostic(file, d) + '\n');
  }
  const problem = parseProblem(result);
  if (problem) io.stderr(`packetpath parse: ${file}: ${problem}\n`);
  return problem ? 1 : 0;
}

/** Why a parse is not a success (exit 1), in words for stderr; undefined when it is. */
function parseProblem(result: ParseResult): string | undefined {
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  const at = (d: { line: number; column?: number }) => `line ${d.line}${d.column !== undefined ? `, column ${d.column}` : ''}`;
  if (result.ruleset.tables.length === 0) {
    // Always a place: the first error, else the first warning, else where reading gave up.
    const first = errors[0] ?? result.diagnostics.find((d) => d.severity === 'warning');
    return `no table or rule could be read (${first ? `${at(first)}: ${first.message}` : 'line 1: the input is empty or holds no *table header and no rule line'})`;
  }
  if (errors.length) return `${errors.length} error${errors.length > 1 ? 's' : ''}, the first on ${at(errors[0]!)}: ${errors[0]!.message}`;
  return undefined;
}

/** `render FILE`: canonical iptables-save text. */
export async function runRender(args: string[], io: Io): Promise<number> {
  const parsed = await parseFileArg(args, io, 'render FILE [--strict] [--family ipv4|ipv6] [--table T] [--format F]');
  if (!parsed) return 0;
  const { file, result } = parsed;
  if (result.ruleset.tables.length === 0) {
    io.stderr(`packetpath render: ${file}: ${parseProblem(result)}\n`);
    for (const d of result.diagnostics) if (d.severity !== 'info') io.stderr(formatDiagnostic(file, d) + '\n');
    return 1;
  }
  io.stdout(renderRuleset(result.ruleset));
  for (const d of result.diagnostics) if (d.severity !== 'info') io.stderr(formatDiagnostic(file, d) + '\n');
  return result.ok ? 0 : 1;
}
