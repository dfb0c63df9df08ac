import { parseCommandArgs } from '../args.ts';
import { diffRulesets, formatUnifiedDiff, parseDump } from '../../netfilter/index.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';

const USAGE = 'diff A B [--json]';

/** `diff A B`: rule-by-rule comparison in canonical form. */
export async function runDiff(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(io, 'diff', USAGE, { json: { type: 'boolean', help: 'the differences as JSON' } } as const, args, 'Compares two dumps rule by rule in canonical form (counters ignored). Exits 0 when they are the same, 1 when they differ, 2 on trouble (like diff).');
  if (!parsed) return 0;
  const [a, b, ...extra] = parsed.positionals;
  if (!a || !b || extra.length) throw new UsageError(`usage: ${USAGE}`);
  const [left, right] = await Promise.all([readInput(a, io), readInput(b, io)])
    .then(([x, y]) => [parseDump(x), parseDump(y)])
    .catch((err: unknown) => {
      throw err instanceof InputError ? new InputError(err.message, 2) : err;
    });
  for (const [name, r] of [[a, left], [b, right]] as const) {
    if (r!.ruleset.tables.length === 0) throw new InputError(`${name}: no tables could be read`, 2);
  }
  const d = diffRulesets(left!.ruleset, right!.ruleset);
  io.stdout(parsed.values.json ? JSON.stringify(d, null, 2) + '\n' : d.summary.identical ? `${a} and ${b} are the same ruleset (in canonical form)\n` : formatUnifiedDiff(d, a, b));
  // Like diff(1) and git diff --exit-code: 0 same, 1 different (2: usage or unreadable input, from main).
  return d.summary.identical ? 0 : 1;
}
