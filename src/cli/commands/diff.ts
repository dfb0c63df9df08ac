import { parseArgs } from 'node:util';
import { diffRulesets, formatUnifiedDiff, parseDump } from '../../netfilter/index.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';

const USAGE = 'diff A B [--json]';

/** `diff A B`: rule-by-rule comparison in canonical form (exit 1 only for unreadable input). */
export async function runDiff(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${USAGE}`);
  }
  const [a, b, ...extra] = parsed.positionals;
  if (!a || !b || extra.length) throw new UsageError(`usage: ${USAGE}`);
  const [left, right] = await Promise.all([readInput(a, io), readInput(b, io)]).then(([x, y]) => [parseDump(x), parseDump(y)]);
  for (const [name, r] of [[a, left], [b, right]] as const) {
    if (r!.ruleset.tables.length === 0) throw new InputError(`${name}: no tables could be read`);
  }
  const d = diffRulesets(left!.ruleset, right!.ruleset);
  io.stdout(parsed.values.json ? JSON.stringify(d, null, 2) + '\n' : d.summary.identical ? `${a} and ${b} are the same ruleset (in canonical form)\n` : formatUnifiedDiff(d, a, b));
  return 0;
}
