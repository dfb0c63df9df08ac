// The pictures of a table's chains and of a table's diff between two
// versions, for the routes: the versions resolved, the cached parses read,
// the Drawing built in slices on the event loop (60k chains of a 10k-Service
// node), printed and laid out by the drawings plugin, cached by the versions'
// sha256 and the options.
import type { FastifyInstance } from 'fastify';
import {
  drawChainGraphSteps,
  drawNftRulesetDiffSteps,
  drawRulesetDiffSteps,
  findTable,
  isTableName,
  type ChainGraph,
  type Family,
  type NftRuleset,
  type Ruleset,
} from '../netfilter/index.ts';
import type { Drawing } from '../netfilter/analysis/draw/drawing.ts';
import { loadNftRuleset, NotFoundError, runStepsYielding, type DumpInfo } from '../store/index.ts';
import { HttpProblem } from './plugins/errors.ts';
import { diffHere } from './diff-here.ts';
import { diffNftHere } from './nft-diff-here.ts';
import { isNftTableName, loadNftVersion, nftTableName } from './nft-reads.ts';
import { loadRuleset, nodeVersion, nodeVersionOf } from './ruleset.ts';
import { GRAPH_MEDIA_TYPES, GraphFormat } from './schemas/graph.ts';
import type { Steps } from '../netfilter/steps.ts';

export interface Picture {
  readonly body: string;
  readonly type: string;
}

/** `a,b , c` → the distinct names, in order. */
export const expandList = (expand: string | undefined): string[] => [...new Set((expand ?? '').split(',').map((x) => x.trim()).filter(Boolean))];

const badExpand = (unknown: readonly string[], table: string): HttpProblem =>
  new HttpProblem(400, 'bad-request', `expand: no chain or group named ${unknown.map((x) => `"${x}"`).join(', ')} in table ${table}`, {
    errors: unknown.map((x) => ({ path: '/expand', message: `"${x}" is neither a chain nor a group of the table` })),
  });

/** A graph built in slices; a 400 when `expand` names what the table does not have. */
async function drawn(app: FastifyInstance, steps: Steps<ChainGraph | undefined>, table: string, missing?: () => Error): Promise<Drawing> {
  const g = await runStepsYielding(steps, app.rulesetCache.yielding);
  if (!g) throw missing?.() ?? new NotFoundError(`no table ${table}`);
  if (g.unknownExpand.length) throw badExpand(g.unknownExpand, table);
  return g.drawing;
}

/** A node's table (`nat`, or an nft table `ip kube-proxy`) drawn as its chain graph. */
export async function tableGraph(app: FastifyInstance, node: string, table: string, q: { dump?: number; family?: Family | 'nft'; format?: GraphFormat; expand?: string }): Promise<Picture> {
  const format = q.format ?? GraphFormat.Svg;
  const expand = expandList(q.expand);
  // Links keep the version drawn (a newer upload must not change what a click on this picture shows) and the format.
  const options = (dump: DumpInfo) => ({ expand, title: `${node}: ${isNftTableName(table) ? 'nft table' : 'table'} ${table} (dump ${dump.id})`, linkQuery: `dump=${dump.id}` });
  if (isNftTableName(table)) {
    const dump = await nodeVersionOf(app, node, q.dump ?? 'latest', 'nft');
    const key = ['graph', dump.sha256, table, ...expand].join('\n');
    const body = await app.drawings.render(key, format, async () => {
      const { ruleset } = await loadNftVersion(app, node, dump.id);
      const t = ruleset.tables.find((x) => nftTableName(x) === table);
      if (!t) throw new NotFoundError(`dump ${dump.id} has no nft table ${table}`);
      return drawn(app, drawChainGraphSteps(t, options(dump)), table);
    });
    return { body, type: GRAPH_MEDIA_TYPES[format] };
  }
  if (q.family === 'nft') throw new HttpProblem(400, 'bad-request', `family=nft reads the node's nft ruleset: name its table the nft way (\`ip kube-proxy\`), not "${table}"`, { errors: [{ path: '/table', message: 'not an nft table name' }] });
  const family = q.family ?? 'ipv4';
  const dump = await nodeVersion(app, node, q.dump ?? 'latest', family);
  const key = ['graph', dump.sha256, dump.family, table, ...expand].join('\n');
  const body = await app.drawings.render(key, format, async () => {
    const t = isTableName(table) ? findTable((await loadRuleset(app, dump.id)).ruleset, table) : undefined;
    if (!t) throw new NotFoundError(`dump ${dump.id} has no ${table} table`);
    return drawn(app, drawChainGraphSteps(t, options(dump)), table);
  });
  return { body, type: GRAPH_MEDIA_TYPES[format] };
}

export interface DiffSidePicture {
  readonly label: string;
  /** null: the node has no version of the compared kind (it compares as empty). */
  readonly version: DumpInfo | null;
}

/** One table of two versions drawn as a diff: iptables (`filter` by default) or nft (the only table of both sides by default). */
export async function diffGraph(app: FastifyInstance, family: Family | 'nft', left: DiffSidePicture, right: DiffSidePicture, q: { table?: string; expand?: string; format: GraphFormat }): Promise<Picture> {
  const expand = expandList(q.expand);
  const options = { expand, leftName: left.label, rightName: right.label };
  const neither = (table: string) => () => new NotFoundError(`neither ${left.label} nor ${right.label} has table ${table}`);
  if (family === 'nft') {
    const load = async (s: DiffSidePicture): Promise<NftRuleset> => (s.version ? loadNftRuleset(app.db.prisma, app.rulesetCache, s.version) : { tables: [] });
    const [l, r] = await Promise.all([load(left), load(right)]);
    const table = q.table ?? onlyTable(l, r);
    if (!isNftTableName(table)) throw new HttpProblem(400, 'bad-request', `table: "${table}" is not an nft table name (\`family name\`, e.g. \`ip kube-proxy\`)`, { errors: [{ path: '/table', message: 'not an nft table name' }] });
    const key = ['diff', family, left.version?.sha256 ?? '-', right.version?.sha256 ?? '-', left.label, right.label, table, ...expand].join('\n');
    const body = await app.drawings.render(key, q.format, async () => drawn(app, drawNftRulesetDiffSteps(l, r, table, options, await diffNftHere(app, left.version, right.version)), table, neither(table)));
    return { body, type: GRAPH_MEDIA_TYPES[q.format] };
  }
  const table = q.table ?? 'filter';
  if (!isTableName(table)) throw new HttpProblem(400, 'bad-request', `table: "${table}" is not an iptables table (raw, mangle, nat, filter, security)`, { errors: [{ path: '/table', message: 'not an iptables table' }] });
  const key = ['diff', family, left.version?.sha256 ?? '-', right.version?.sha256 ?? '-', left.label, right.label, table, ...expand].join('\n');
  const body = await app.drawings.render(key, q.format, async () => {
    const load = async (s: DiffSidePicture): Promise<Ruleset> => (s.version ? (await loadRuleset(app, s.version.id)).ruleset : { family, tables: [] });
    const [l, r] = await Promise.all([load(left), load(right)]);
    // The rules compared over the outlines the JSON diff uses (a cached parse's rule texts are canonical: nothing rendered).
    const d = await diffHere(app, left, right);
    return drawn(app, drawRulesetDiffSteps(l, r, table, options, d), table, neither(table));
  });
  return { body, type: GRAPH_MEDIA_TYPES[q.format] };
}

/** The one nft table of both sides, or a 400 naming the tables to choose from. */
function onlyTable(l: NftRuleset, r: NftRuleset): string {
  const names = [...new Set([...l.tables, ...r.tables].map(nftTableName))];
  if (names.length === 1) return names[0]!;
  throw new HttpProblem(400, 'bad-request', `table: the nft rulesets have ${names.length ? `tables ${names.join(', ')}` : 'no tables'}; say which to draw (\`table=ip kube-proxy\`)`, { errors: [{ path: '/table', message: 'required with family=nft' }] });
}
