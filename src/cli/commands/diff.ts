import { parseCommandArgs } from '../args.ts';
import { diffNftRulesets, diffRulesets, drawNftRulesetDiff, drawRulesetDiff, formatNftUnifiedDiff, formatUnifiedDiff, isTableName, parseDump, type ChainGraph } from '../../netfilter/index.ts';
import { drawnOrThrow, expandOption, onlyNftTable, PICTURE_FLAGS, pictureFormat, printPicture } from './graph.ts';
import { looksLikeNft } from '../../store/nft-ingest.ts';
import { readNft } from './trace.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';

const USAGE = 'diff A B [--json | --format svg|dot|mermaid [--table T] [--expand X,Y]]   (two iptables dumps, or two nft rulesets)';
const FLAGS = {
  json: { type: 'boolean', help: 'the differences as JSON' },
  format: { type: 'string', help: 'draw one table as its chain graph with added, removed and changed chains marked: svg, dot or mermaid' },
  table: PICTURE_FLAGS.table,
  expand: { type: 'string', help: `${PICTURE_FLAGS.expand.help}; \`changed\`: every chain that differs` },
} as const;

/** `diff A B`: rule-by-rule comparison in canonical form. */
export async function runDiff(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(io, 'diff', USAGE, FLAGS, args, 'Compares two dumps rule by rule in canonical form (counters ignored), or draws one table of both (--format). Exits 0 when they are the same, 1 when they differ, 2 on trouble (like diff).');
  if (!parsed) return 0;
  const [a, b, ...extra] = parsed.positionals;
  if (!a || !b || extra.length) throw new UsageError(`usage: ${USAGE}`);
  const v = parsed.values;
  const drawing = v.format !== undefined;
  if (drawing && (v.json || v.format === 'json')) throw new UsageError(`--json is the differences as JSON; --format draws them (svg, dot or mermaid)\nusage: ${USAGE}`);
  if (!drawing && (v.table !== undefined || v.expand !== undefined)) throw new UsageError(`--table and --expand go with --format\nusage: ${USAGE}`);
  const format = pictureFormat(v.format, USAGE);
  const expand = expandOption(v.expand);
  /** The drawn diff, exiting like the diff: 0 same, 1 different. */
  const draw = async (g: ChainGraph | undefined, table: string, identical: boolean): Promise<number> => {
    if (!g) throw new InputError(`neither ${a} nor ${b} has table ${table}`, 2);
    io.stdout(await printPicture(drawnOrThrow(g, table, 2), format));
    return identical ? 0 : 1;
  };
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
    const [ra, rb] = [read(ta, a), read(tb, b)];
    const d = diffNftRulesets(ra, rb);
    if (drawing) {
      const table = v.table ?? onlyNftTable(ra, rb);
      return draw(drawNftRulesetDiff(ra, rb, table, { expand, leftName: a, rightName: b }, d), table, d.summary.identical);
    }
    io.stdout(parsed.values.json ? JSON.stringify(d, null, 2) + '\n' : d.summary.identical ? `${a} and ${b} are the same ruleset (live counters aside)\n` : formatNftUnifiedDiff(d, a, b));
    return d.summary.identical ? 0 : 1;
  }
  const [left, right] = [parseDump(ta), parseDump(tb)];
  for (const [name, r] of [[a, left], [b, right]] as const) {
    if (r!.ruleset.tables.length === 0) throw new InputError(`${name}: no tables could be read`, 2);
  }
  const d = diffRulesets(left!.ruleset, right!.ruleset);
  if (drawing) {
    const table = v.table ?? 'filter';
    if (!isTableName(table)) throw new UsageError(`--table: "${table}" is not an iptables table (raw, mangle, nat, filter, security)`);
    return draw(drawRulesetDiff(left!.ruleset, right!.ruleset, table, { expand, leftName: a, rightName: b }, d), table, d.summary.identical);
  }
  io.stdout(parsed.values.json ? JSON.stringify(d, null, 2) + '\n' : d.summary.identical ? `${a} and ${b} are the same ruleset (in canonical form)\n` : formatUnifiedDiff(d, a, b));
  // Like diff(1) and git diff --exit-code: 0 same, 1 different (2: usage or unreadable input, from main).
  return d.summary.identical ? 0 : 1;
}
