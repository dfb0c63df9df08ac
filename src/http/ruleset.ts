// For query routes (trace, diff, ...): the parsed ruleset of a stored dump,
// through the app's sha256-keyed cache, so a ruleset is parsed once.
import type { FastifyInstance } from 'fastify';
import type { Family } from '../netfilter/index.ts';
import { latestDump, loadRuleset as loadStoredRuleset, NotFoundError, type LoadedRuleset, type RulesetSource } from '../store/index.ts';

/** The ruleset of dump `dumpId` (any node). NotFoundError (→ 404) when absent. */
export function loadRuleset(app: FastifyInstance, dumpId: number, source: RulesetSource = 'canonical'): Promise<LoadedRuleset> {
  return loadStoredRuleset(app.db.prisma, app.rulesetCache, dumpId, source);
}

/**
 * The ruleset of a node's version: `id` a dump id of that node, or 'latest'
 * for its newest version of `family`. NotFoundError (→ 404) when absent.
 */
export async function loadNodeRuleset(
  app: FastifyInstance,
  node: string,
  id: number | 'latest',
  options: { family?: Family; source?: RulesetSource } = {},
): Promise<LoadedRuleset> {
  const family = options.family ?? 'ipv4';
  if (id === 'latest') {
    const latest = await latestDump(app.db.prisma, node, family);
    if (!latest) throw new NotFoundError(`node "${node}" has no ${family} dump`);
    return loadRuleset(app, latest.id, options.source);
  }
  const loaded = await loadRuleset(app, id, options.source);
  if (loaded.dump.node !== node) throw new NotFoundError(`node "${node}" has no dump ${id}`);
  return loaded;
}
