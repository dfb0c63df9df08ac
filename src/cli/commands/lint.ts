import { parseCommandArgs } from '../args.ts';
import { lintNode, lintRuleset, parseDump, type Finding, type NodeFinding, type Ruleset } from '../../netfilter/index.ts';
import { looksLikeNft } from '../../store/nft-ingest.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';
import { loadHost, readNft } from './trace.ts';

const USAGE = 'lint [FILE] [--nft NFT] [--host HOST.json] [--json]';

/** `lint FILE`: findings with severity, location and explanation. */
export async function runLint(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(
    io,
    'lint',
    USAGE,
    {
      json: { type: 'boolean', help: 'findings as JSON' },
      host: { type: 'string', help: 'host file (ip -j addr/route JSON) for the Kubernetes checks' },
      nft: { type: 'string', help: "the node's nft ruleset (nft -j list ruleset or nft list ruleset): findings across owners too" },
    } as const,
    args,
    'Findings: undefined chains, loops, dead and duplicate rules, Kubernetes trouble; with --nft (or an nft ruleset as FILE) also across owners (overridden accepts, split brain, kube-proxy and CNI modes, queue verdicts), each naming the owner it blames. Exits 1 when any finding is an error.',
  );
  if (!parsed) return 0;
  const [file, ...extra] = parsed.positionals;
  if ((!file && !parsed.values.nft) || extra.length) throw new UsageError(`usage: ${USAGE}`);
  let text = file ? await readInput(file, io) : undefined;
  let nft = parsed.values.nft ? { text: await readInput(parsed.values.nft, io), file: parsed.values.nft } : undefined;
  if (text !== undefined && looksLikeNft(text)) {
    if (nft) throw new UsageError(`${file} is an nft ruleset and so is --nft ${parsed.values.nft}: give the iptables dump as FILE`);
    nft = { text, file: file! };
    text = undefined;
  }
  const r = text !== undefined ? parseDump(text) : undefined;
  if (r && r.ruleset.tables.length === 0) throw new InputError(`${file}: no tables could be read`);
  const host = await loadHost(parsed.values.host, io);
  const nftables = nft ? readNft(nft.text, nft.file) : undefined;
  const iptables: Ruleset | undefined = r?.ruleset;
  const findings: (Finding | NodeFinding)[] = r ? lintRuleset({ ruleset: r.ruleset, diagnostics: r.diagnostics, ...(host ? { host } : {}) }) : [];
  if (nftables) findings.push(...lintNode({ ...(iptables ? { iptables } : {}), nftables, ...(host ? { host } : {}) }));
  if (parsed.values.json) io.stdout(JSON.stringify({ findings }, null, 2) + '\n');
  else {
    for (const f of findings) {
      const where = [f.table, f.chain].filter(Boolean).join(' ') + (f.rule ? ` rule ${f.rule}` : '');
      const owner = 'owner' in f ? ` (${f.owner})` : '';
      const source = 'owner' in f ? (f.table?.includes(' ') ? nft!.file : (file ?? nft!.file)) : file;
      io.stdout(`${source}${f.line !== undefined ? `:${f.line}` : ''}: ${f.severity} [${f.code}]${owner}${where ? ` ${where}:` : ''} ${f.message}\n    ${f.explanation}\n`);
    }
    io.stdout(`${findings.length} finding${findings.length === 1 ? '' : 's'}\n`);
  }
  // Like eslint: error findings fail the run, warnings do not.
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}
