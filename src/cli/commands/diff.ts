import { parseCommandArgs } from '../args.ts';
import { diffNftRulesets, diffRulesets, formatNftUnifiedDiff, formatUnifiedDiff, parseDump } from '../../netfilter/index.ts';
import { looksLikeNft } from '../../store/nft-ingest.ts';
import { readNft } from './trace.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';

const USAGE = 'diff A B [--json]   (two iptables dumps, or two nft rulesets)';

/** `diff A B`: rule-by-rule comparison in canonical form. */
export async function runDiff(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(io, 'diff', USAGE, { json: { type: 'boolean', help: 'the differences as JSON' } } as const, args, 'Compares two dumps rule by rule in canonical form (counters ignored). Exits 0 when they are the same, 1 when they differ, 2 on trouble (like diff).');
  if (!parsed) return 0;
  const [a, b, ...extra] = parsed.positionals;
  if (!a || !b || extra.length) throw new UsageError(`usage: ${USAGE}`);
  const [ta, tb] = await Promise.all([readInput(a, io), readInput(b, io)]).catch((err: unknown) => {
    throw err instanceof InputError ? new InputError(err.message, 2) : err;
  });
  const [na, nb] = [looksLikeNft(ta), looksLikeNft(tb)];
  if (na !== nb) throw new UsageError(`${na ? a : b} is an nft ruleset and ${na ? b : a} an iptables dump: diff compares like with like (to compare nodes in different modes by outcome, use the API's /diff?packets=auto)`);
  if (na) {
    // nft rulesets: chains rule by rule, sets and maps by members.
    const read = (text: string, file: string) => {
      try {
        return readNft(text, file);
      } catch (err) {
        throw err instanceof InputError ? new InputError(err.message, 2) : err;
      }
    };
    const d = diffNftRulesets(read(ta, a), read(tb, b));
    io.stdout(parsed.values.json ? JSON.stringify(d, null, 2) + '\n' : d.summary.identical ? `${a} and ${b} are the same ruleset (live counters aside)\n` : formatNftUnifiedDiff(d, a, b));
    return d.summary.identical ? 0 : 1;
  }
  const [left, right] = [parseDump(ta), parseDump(tb)];
  for (const [name, r] of [[a, left], [b, right]] as const) {
    if (r!.ruleset.tables.length === 0) throw new InputError(`${name}: no tables could be read`, 2);
  }
  const d = diffRulesets(left!.ruleset, right!.ruleset);
  io.stdout(parsed.values.json ? JSON.stringify(d, null, 2) + '\n' : d.summary.identical ? `${a} and ${b} are the same ruleset (in canonical form)\n` : formatUnifiedDiff(d, a, b));
  // Like diff(1) and git diff --exit-code: 0 same, 1 different (2: usage or unreadable input, from main).
  return d.summary.identical ? 0 : 1;
}
