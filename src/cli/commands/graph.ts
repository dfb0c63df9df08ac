import { parseCommandArgs } from '../args.ts';
import { drawChainGraph, findTable, isTableName, parseDump, type ChainGraph, type NftRuleset } from '../../netfilter/index.ts';
import type { Drawing } from '../../netfilter/analysis/draw/drawing.ts';
import { printDot } from '../../netfilter/analysis/draw/dot.ts';
import { printMermaid } from '../../netfilter/analysis/draw/mermaid.ts';
import { dotToSvg, loadGraphviz } from '../../draw/svg.ts';
import { looksLikeNft } from '../../store/nft-ingest.ts';
import { readNft } from './trace.ts';
import { InputError, readInput, UsageError, type Io } from '../io.ts';

const USAGE = 'graph FILE [--table T] [--expand X,Y] [--format svg|dot|mermaid|json]';
const FORMATS = ['svg', 'dot', 'mermaid', 'json'] as const;
export type PictureFormat = (typeof FORMATS)[number];

export const PICTURE_FLAGS = {
  format: { type: 'string', help: 'svg (default; laid out by Graphviz), dot, mermaid, or json (the Drawing)' },
  table: { type: 'string', help: 'the table drawn: an iptables table (default filter), or an nft table as `ip kube-proxy` (default: the only one)' },
  expand: { type: 'string', help: 'comma-separated groups (KUBE-SEP-*) or chains (KUBE-SVC-…, with the endpoints they lead to) drawn as boxes of their own' },
} as const;

/** `--format`, checked (svg when absent). */
export function pictureFormat(value: string | undefined, usage: string): PictureFormat {
  if (value === undefined) return 'svg';
  if (!(FORMATS as readonly string[]).includes(value)) throw new UsageError(`--format: "${value}" is not one of ${FORMATS.join(', ')}\nusage: ${usage}`);
  return value as PictureFormat;
}

export const expandOption = (value: string | undefined): string[] => [...new Set((value ?? '').split(',').map((x) => x.trim()).filter(Boolean))];

/** A drawing printed in `format` (SVG laid out by Graphviz's WASM build). */
export async function printPicture(drawing: Drawing, format: PictureFormat): Promise<string> {
  if (format === 'json') return JSON.stringify(drawing, null, 2) + '\n';
  if (format === 'mermaid') return printMermaid(drawing);
  const dot = printDot(drawing);
  return format === 'dot' ? dot : dotToSvg(await loadGraphviz(), dot);
}

/** The graph's drawing, or an error (exiting `exitCode`) naming `expand` entries the table lacks. */
export function drawnOrThrow(g: ChainGraph, table: string, exitCode = 1): Drawing {
  if (g.unknownExpand.length) throw new InputError(`--expand: no chain or group named ${g.unknownExpand.map((x) => `"${x}"`).join(', ')} in table ${table}`, exitCode);
  return g.drawing;
}

/** The one nft table of the rulesets, or a usage error naming them. */
export function onlyNftTable(...rulesets: NftRuleset[]): string {
  const names = [...new Set(rulesets.flatMap((r) => r.tables.map((t) => `${t.family} ${t.name}`)))];
  if (names.length === 1) return names[0]!;
  throw new UsageError(`--table: say which nft table to draw (${names.length ? names.join(', ') : 'there are none'})`);
}

/** `graph FILE`: a table's chains and jumps drawn, kube-proxy's per-Service chains grouped. */
export async function runGraph(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(io, 'graph', USAGE, PICTURE_FLAGS, args, "Draws a table's chain graph: who jumps where, with rule counts and policies; kube-proxy's per-Service chains as one box per kind, expandable.");
  if (!parsed) return 0;
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length) throw new UsageError(`usage: ${USAGE}`);
  const v = parsed.values;
  const format = pictureFormat(v.format, USAGE);
  const expand = expandOption(v.expand);
  const text = await readInput(file, io);
  let g: ChainGraph;
  let table: string;
  if (looksLikeNft(text)) {
    const ruleset = readNft(text, file);
    table = v.table ?? onlyNftTable(ruleset);
    const t = ruleset.tables.find((x) => `${x.family} ${x.name}` === table);
    if (!t) throw new InputError(`${file}: no nft table ${table} (it has ${ruleset.tables.map((x) => `${x.family} ${x.name}`).join(', ') || 'none'})`);
    g = drawChainGraph(t, { expand, title: `${file}: nft table ${table}` });
  } else {
    table = v.table ?? 'filter';
    if (!isTableName(table)) throw new UsageError(`--table: "${table}" is not an iptables table (raw, mangle, nat, filter, security)`);
    const t = findTable(parseDump(text).ruleset, table);
    if (!t) throw new InputError(`${file}: no ${table} table`);
    g = drawChainGraph(t, { expand, title: `${file}: table ${table}` });
  }
  io.stdout(await printPicture(drawnOrThrow(g, table), format));
  return 0;
}
