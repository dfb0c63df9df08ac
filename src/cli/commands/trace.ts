import { parseCommandArgs } from '../args.ts';
import { readInput, InputError, UsageError, type Io } from '../io.ts';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseForFamily } from '../dump-family.ts';
import { looksLikeNft, parseNftDump } from '../../store/nft-ingest.ts';
import { drawClusterTrace, drawTrace, whatIfNotes, type PacketLike } from '../../netfilter/analysis/draw/trace.ts';
import type { Drawing } from '../../netfilter/analysis/draw/drawing.ts';
import { DRAWING_FORMATS, renderDrawing, type DrawingFormat } from '../../draw/render.ts';
import { dotToSvg, loadGraphviz } from '../../draw/svg.ts';
import { applyRuleChanges, assumedHost, buildHost, CLUSTER_ENDS, DISPOSITIONS, FINAL_VERDICTS, formatTraceText, parseDump, summarizeOutcomes, summarizePaths, traceCluster, tracePacket, traceToJson, validatePacket, type ClusterNode, type CtState, type Host, type NftRuleset, type Packet } from '../../netfilter/index.ts';

const USAGE = 'trace [FILE] [--nft NFT] [--legacy LEGACY] [--host HOST.json] (--in IFACE | --local) --src IP --dst IP --proto tcp|udp|sctp|icmp [--sport N] [--dport N] [--state NEW|ESTABLISHED|RELATED|INVALID] [--mark 0xN] [--change CMD ...] [--expect VERDICT] [--json | --format svg|dot|mermaid]\n       trace --cluster DIR --from NODE (--in IFACE | --local) --src IP --dst IP --proto P ... [--change NODE:CMD ...] [--expect VERDICT] [--json | --format svg|dot|mermaid]';

const FLAGS = {
  host: { type: 'string' },
  nft: { type: 'string' },
  legacy: { type: 'string' },
  in: { type: 'string' },
  local: { type: 'boolean' },
  src: { type: 'string' },
  dst: { type: 'string' },
  proto: { type: 'string' },
  sport: { type: 'string' },
  dport: { type: 'string' },
  state: { type: 'string' },
  mark: { type: 'string' },
  connmark: { type: 'string' },
  'icmp-type': { type: 'string' },
  'icmp-code': { type: 'string' },
  uid: { type: 'string' },
  json: { type: 'boolean' },
  family: { type: 'string' },
  cluster: { type: 'string' },
  from: { type: 'string' },
  change: { type: 'string', multiple: true },
  expect: { type: 'string' },
  format: { type: 'string' },
} as const;

const EXPECTABLE = [...FINAL_VERDICTS, ...DISPOSITIONS, ...CLUSTER_ENDS].filter((x, i, all) => all.indexOf(x) === i);

/**
 * `--expect X`: exit 1 unless every outcome (every path of a cluster trace) ends as X. X is a verdict
 * (ACCEPT, DROP, QUEUE, UNKNOWN; a cluster path's is its last hop's) or an ending (DELIVERED_LOCAL,
 * FORWARDED, SENT, DROPPED, REJECTED, NO_ROUTE; for clusters also LEFT_CLUSTER, LOOP).
 */
function unmetExpectation(expect: string | undefined, endings: readonly { verdict: string; ending: string }[], io: Io): number {
  if (expect === undefined) return 0;
  const isVerdict = (FINAL_VERDICTS as readonly string[]).includes(expect);
  const missed = endings.filter((e) => (isVerdict ? e.verdict : e.ending) !== expect);
  if (missed.length === 0) return 0;
  io.stderr(`packetpath trace: expected ${expect}, but ${missed.length} of ${endings.length} ${endings.length === 1 ? 'outcome ends' : 'outcomes end'} otherwise (${[...new Set(missed.map((e) => (isVerdict ? e.verdict : e.ending)))].join(', ')})\n`);
  return 1;
}

const printWarnings = (warnings: readonly string[], io: Io): void => {
  for (const w of warnings) io.stderr(`packetpath trace: warning: ${w}\n`);
};

/** The what-if block of the text output: it says the change is hypothetical and shows both sides. */
function whatIfText(subject: 'dump' | 'cluster', changes: readonly string[], before: readonly string[], after: readonly string[]): string {
  const same = before.join('\n') === after.join('\n');
  return [
    `What-if (hypothetical: ${subject === 'dump' ? 'the dump on disk and the node are' : 'the dumps on disk and the nodes are'} unchanged), with:`,
    ...changes.map((c) => `  ${c}`),
    'Before:',
    ...before.map((l) => `  ${l}`),
    `After${same ? ' (the same)' : ''}:`,
    ...after.map((l) => `  ${l}`),
    '',
    'The trace with the changes:',
    '',
  ].join('\n');
}

const num = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${what} must be a number, not "${v}"`);
  return Number(v);
};

/** `--mark 0xN`: hex, as iptables-save prints marks; a bare `4000` would silently mean 0xfa0. */
const hexValue = (v: string, what: string): string => {
  if (!/^0x[0-9a-f]{1,8}$/i.test(v)) throw new UsageError(`${what} must be a hex number as iptables-save prints it (e.g. 0x4000), not "${v}"`);
  return v;
};

export async function loadHost(file: string | undefined, io: Io): Promise<Host | undefined> {
  if (!file) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readInput(file, io));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`host file ${file} is not JSON: ${(err as Error).message}`);
  }
  const h = buildHost(json);
  if (!h.ok) throw new InputError(`host file ${file}: ${h.errors.join('; ')}`);
  return h.host;
}

/**
 * A node's nft ruleset (`nft -j list ruleset` JSON or `nft list ruleset` text), or an InputError
 * naming the file, line and column of its first error.
 */
export function readNft(text: string, file: string): NftRuleset {
  const r = parseNftDump(text);
  const bad = r.diagnostics.find((d) => d.severity === 'error');
  if (bad) throw new InputError(`${file}:${bad.line}:${bad.column}: ${bad.message}`);
  return r.ruleset;
}

/** `trace FILE ...`: one packet through one node (its iptables dump, its nft ruleset, or both). */
export async function runTrace(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(io, 'trace', USAGE, FLAGS, args, 'Walks a packet through a dump (or a cluster directory of dumps) as the kernel would.');
  if (!parsed) return 0;
  const v = parsed.values;
  const [file, ...extra] = parsed.positionals;
  if ((!file && !v.nft && !v.cluster) || ((file || v.nft) && v.cluster) || extra.length) throw new UsageError(`usage: ${USAGE}`);
  if (!v.src || !v.dst || !v.proto) throw new UsageError(`--src, --dst and --proto are required\nusage: ${USAGE}`);
  if (!!v.in === !!v.local) throw new UsageError(`give exactly one of --in IFACE or --local\nusage: ${USAGE}`);
  if (v.expect !== undefined && !EXPECTABLE.includes(v.expect as never)) throw new UsageError(`--expect takes one of ${EXPECTABLE.join(', ')}, not "${v.expect}"`);
  if (v.format !== undefined && !(DRAWING_FORMATS as readonly string[]).includes(v.format)) throw new UsageError(`--format takes one of ${DRAWING_FORMATS.join(', ')}, not "${v.format}"`);
  if (v.format !== undefined && v.json) throw new UsageError('give --json or --format, not both');
  const packetInput = {
    src: v.src,
    dst: v.dst,
    protocol: v.proto,
    ...(v.sport !== undefined ? { sport: num(v.sport, '--sport') } : {}),
    ...(v.dport !== undefined ? { dport: num(v.dport, '--dport') } : {}),
    ...(v['icmp-type'] !== undefined ? { icmpType: num(v['icmp-type'], '--icmp-type') } : {}),
    ...(v['icmp-code'] !== undefined ? { icmpCode: num(v['icmp-code'], '--icmp-code') } : {}),
    ...(v.uid !== undefined ? { uid: num(v.uid, '--uid') } : {}),
    ...(v.in ? { inInterface: v.in } : { local: true }),
    ...(v.state ? { state: v.state.toUpperCase() as CtState } : {}),
    ...(v.mark !== undefined ? { mark: hexValue(v.mark, '--mark') } : {}),
    ...(v.connmark !== undefined ? { connmark: hexValue(v.connmark, '--connmark') } : {}),
  };
  const packet = validatePacket(packetInput);
  if (!packet.ok) throw new UsageError(`bad packet: ${packet.errors.join('; ')}`);
  const draw: DrawAs | undefined = v.format === undefined ? undefined : { format: v.format as DrawingFormat, packet: packetInput };
  if (v.cluster) return traceClusterDir(v.cluster, v.from, v.change ?? [], packet.packet, !!v.json, v.expect, io, draw);
  let text = file ? await readInput(file, io) : undefined;
  // FILE may itself be the nft ruleset (a node in nftables mode only).
  let nft = v.nft ? { text: await readInput(v.nft, io), file: v.nft } : undefined;
  if (text !== undefined && looksLikeNft(text)) {
    if (nft) throw new UsageError(`${file} is an nft ruleset and so is --nft ${v.nft}: give the iptables dump as FILE`);
    nft = { text, file: file! };
    text = undefined;
  }
  const nftables = nft ? readNft(nft.text, nft.file) : undefined;
  // --legacy: the node's iptables-legacy tables, in use next to the iptables-nft ones in FILE.
  const legacy = v.legacy ? (await readLegacy(v.legacy, packet.packet.family, io)).ruleset : undefined;
  const host = await loadHost(v.host, io);
  if (host && v.in && !host.interfaces.some((i) => i.name === v.in)) {
    throw new InputError(`--in ${v.in}: the host file ${v.host} has no such interface (it has ${host.interfaces.map((i) => i.name).join(', ')})`);
  }
  const { parsed: parsedDump, notes } = text !== undefined ? parseForFamily(text, packet.packet.family, file!) : { parsed: { ruleset: { family: packet.packet.family, tables: [] }, diagnostics: [] }, notes: [] };
  if (text !== undefined) requireTables(parsedDump, file!);
  const changes = v.change ?? [];
  let ruleset = parsedDump.ruleset;
  if (changes.length) {
    const r = applyRuleChanges(ruleset, changes);
    if (!r.ok) throw new InputError(`--change: ${r.errors.map((e) => e.message).join('; ')}`);
    ruleset = r.ruleset;
  }
  const options = { explain: true, ...(host ? { host } : {}), ...(nftables ? { nftables } : {}), ...(legacy ? { legacy } : {}) };
  const result = tracePacket(ruleset, packet.packet, options);
  const warnings = [...result.warnings, ...notes, ...packet.notes, ...parsedDump.diagnostics.filter((d) => d.severity === 'error').map((d) => `dump line ${d.line}: ${d.message}`)];
  const before = changes.length ? summarizeOutcomes(tracePacket(parsedDump.ruleset, packet.packet, options).outcomes) : undefined;
  const after = summarizeOutcomes(result.outcomes);
  if (draw) {
    const notes = before ? whatIfNotes(changes, before, after) : [];
    await printDrawing(drawTrace({ outcomes: result.outcomes, warnings }, { node: nodeName(file ?? nft?.file ?? 'node'), packet: draw.packet, notes }), draw.format, io);
  } else if (v.json) {
    const whatIf = before ? { whatIf: { changes, before, after, changed: before.join('\n') !== after.join('\n') } } : {};
    io.stdout(JSON.stringify({ ...traceToJson({ ...result, warnings }), ...whatIf }, null, 2) + '\n');
  } else {
    io.stdout((before ? whatIfText('dump', changes, before, after) : '') + formatTraceText({ ...result, warnings: [] }));
    printWarnings(warnings, io);
  }
  return unmetExpectation(v.expect, result.outcomes.map((o) => ({ verdict: o.verdict, ending: o.disposition })), io);
}

/** `--format`: the trace drawn instead of written. */
interface DrawAs {
  readonly format: DrawingFormat;
  readonly packet: PacketLike;
}

/** A node's name from its dump file's name (`node02.txt` → node02). */
const nodeName = (file: string): string => basename(file).replace(/\.[^.]*$/, '') || 'node';

/** The drawing on stdout; SVG laid out here (a command line has no event loop to keep free). */
async function printDrawing(drawing: Drawing, format: DrawingFormat, io: Io): Promise<void> {
  io.stdout(await renderDrawing(drawing, format, async (dot) => dotToSvg(await loadGraphviz(), dot)));
}

/** An InputError naming the file and its first error when a dump gave no table. */
function requireTables(parsed: Pick<ReturnType<typeof parseDump>, 'ruleset' | 'diagnostics'>, file: string): void {
  if (parsed.ruleset.tables.length === 0) throw new InputError(`${file}: no tables could be read (${parsed.diagnostics.find((d) => d.severity === 'error')?.message ?? 'empty input'})`);
}

/** An iptables-legacy dump (`--legacy`, `<node>.iptables-legacy.txt`), of the packet's family; an InputError when no table can be read. */
async function readLegacy(file: string, family: Packet['family'], io: Io): Promise<ReturnType<typeof parseDump>> {
  const parsed = parseDump(await readInput(file, io), { family });
  requireTables(parsed, file);
  return parsed;
}

/**
 * `trace --cluster DIR`: DIR holds `<node>.txt` (any dump format) and `<node>.host.json` per node;
 * `<node>.nft` / `<node>.nft.json` its nft ruleset, `<node>.iptables-legacy.txt` its iptables-legacy tables.
 */
async function traceClusterDir(dir: string, from: string | undefined, changes: string[], packet: Packet, json: boolean, expect: string | undefined, io: Io, draw?: DrawAs): Promise<number> {
  if (!from) throw new UsageError('--cluster needs --from NODE');
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (err) {
    throw new InputError(`cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const nodes: ClusterNode[] = [];
  // `<node>.nft` or `<node>.nft.json`: the node's nft ruleset (text or JSON), next to or instead of its iptables dump.
  const NFT = /\.nft(\.json)?$/;
  const nftOf = async (name: string): Promise<NftRuleset | undefined> => {
    const f = files.find((x) => x === `${name}.nft` || x === `${name}.nft.json`);
    return f ? readNft(await readInput(join(dir, f), io), join(dir, f)) : undefined;
  };
  const dumpFiles = files.filter((x) => !x.endsWith('.json') && !x.startsWith('.') && !x.endsWith('.md') && !NFT.test(x));
  const LEGACY = /\.iptables-legacy$/;
  const stems = [...new Set([...dumpFiles.map((f) => f.replace(/\.[^.]*$/, '')), ...files.filter((x) => NFT.test(x)).map((f) => f.replace(NFT, ''))])];
  const names = stems.filter((n) => !LEGACY.test(n)).sort();
  const legacyOf = async (name: string) => {
    const f = dumpFiles.find((x) => x.replace(/\.[^.]*$/, '') === `${name}.iptables-legacy`);
    return f ? (await readLegacy(join(dir, f), packet.family, io)).ruleset : undefined;
  };
  for (const name of names) {
    const f = dumpFiles.find((x) => x.replace(/\.[^.]*$/, '') === name);
    const parsed = f ? parseDump(await readInput(join(dir, f), io), { family: packet.family }) : undefined;
    const nftables = await nftOf(name);
    if (!nftables && (!parsed || parsed.ruleset.tables.length === 0)) continue;
    const hostFile = files.includes(`${name}.host.json`) ? join(dir, `${name}.host.json`) : undefined;
    const host = (await loadHost(hostFile, io)) ?? assumedHost();
    const legacy = await legacyOf(name);
    nodes.push({ name, ruleset: parsed?.ruleset ?? { family: packet.family, tables: [] }, host, ...(nftables ? { nftables } : {}), ...(legacy ? { legacy } : {}) });
  }
  if (!nodes.some((n) => n.name === from)) throw new InputError(`no dump for node "${from}" in ${dir} (found: ${nodes.map((n) => n.name).join(', ') || 'none'})`);
  const byNode = new Map<string, string[]>();
  for (const c of changes) {
    const i = c.indexOf(':');
    if (i <= 0) throw new UsageError(`--change takes NODE:COMMAND, not "${c}"`);
    byNode.set(c.slice(0, i), [...(byNode.get(c.slice(0, i)) ?? []), c.slice(i + 1)]);
  }
  const unknown = [...byNode.keys()].filter((name) => !nodes.some((n) => n.name === name));
  if (unknown.length) throw new InputError(`--change names ${unknown.map((n) => `"${n}"`).join(', ')}, not a node in ${dir} (nodes: ${nodes.map((n) => n.name).join(', ')})`);
  const applied = nodes.map((n) => {
    const cs = byNode.get(n.name);
    if (!cs) return n;
    const r = applyRuleChanges(n.ruleset, cs);
    if (!r.ok) throw new UsageError(`--change for ${n.name}: ${r.errors.map((e) => e.message).join('; ')}`);
    return { ...n, ruleset: r.ruleset };
  });
  const result = traceCluster(applied, from, packet, { explain: true });
  const before = changes.length ? summarizePaths(traceCluster(nodes, from, packet, { explain: true }).paths) : undefined;
  const after = summarizePaths(result.paths);
  if (draw) {
    const notes = before ? whatIfNotes(changes, before, after) : [];
    await printDrawing(drawClusterTrace(result, { packet: draw.packet, notes }), draw.format, io);
  } else if (json) {
    const whatIf = before ? { whatIf: { changes, before, after, changed: before.join('\n') !== after.join('\n') } } : {};
    io.stdout(JSON.stringify({ paths: result.paths.map((p) => ({ probability: p.probability, end: p.end, endNode: p.endNode, summary: p.summary, hops: p.hops.map((h) => ({ node: h.node, inInterface: h.inInterface, outcome: traceToJson({ outcomes: [h.outcome], warnings: [] }).outcomes[0] })) })), warnings: result.warnings, ...whatIf }, null, 2) + '\n');
  } else {
    if (before) io.stdout(whatIfText('cluster', changes, before, after));
    result.paths.forEach((p, i) => {
      io.stdout(`Path ${i + 1} of ${result.paths.length} (${p.probability === null ? 'unknown probability' : `${+(p.probability * 100).toFixed(2)}%`}): ${p.end} on ${p.endNode}\n  ${p.summary}\n`);
      for (const h of p.hops) io.stdout(`== ${h.node} (in ${h.inInterface ?? 'local'})\n` + formatTraceText({ outcomes: [h.outcome], warnings: [] }));
    });
    printWarnings(result.warnings, io);
  }
  return unmetExpectation(expect, result.paths.map((p) => ({ verdict: p.hops.at(-1)?.outcome.verdict ?? 'UNKNOWN', ending: p.end })), io);
}
