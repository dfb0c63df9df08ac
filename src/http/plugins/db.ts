// Gives routes the database and the caches: `app.db` (`app.prisma` for
// short), `app.rulesetCache`, `app.readCache`, `app.config` (decorators,
// shared with every route plugin).
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import type { HostResult } from '../ruleset.ts';
import type { Database, ReadCache, RulesetCache } from '../../store/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
    /** Shorthand for `db.prisma`. */
    prisma: Database['prisma'];
    rulesetCache: RulesetCache;
    /** Volatile read answers (latest versions, version metadata, token existence) and built host files. */
    readCache: ReadCache<HostResult>;
    config: Config;
  }
}

export interface DbPluginOptions {
  readonly db: Database;
  readonly rulesetCache: RulesetCache;
  readonly readCache: ReadCache<HostResult>;
  readonly config: Config;
  /** Close the database when the app closes (true when buildApp opened it). */
  readonly closeOnShutdown: boolean;
}

export default fp<DbPluginOptions>(
  async (app, opts) => {
    app.decorate('db', opts.db);
    app.decorate('prisma', opts.db.prisma);
    app.decorate('rulesetCache', opts.rulesetCache);
    app.decorate('readCache', opts.readCache);
    app.decorate('config', opts.config);
    app.addHook('onClose', async () => opts.readCache.close());
    // Writes (uploads, nodes, tokens: unsafe methods of routes that need more than read) first check
    // that the database file is still the one opened and writable: a clear 503, nothing lost.
    app.addHook('preHandler', async (request) => {
      if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
      const scope = request.routeOptions.config?.scope;
      if (scope === undefined || scope === 'read' || scope === 'public') return;
      opts.db.assertWritable();
    });
    if (opts.closeOnShutdown) app.addHook('onClose', async () => opts.db.close());
  },
  { name: 'packetpath-db', fastify: '5.x' },
);
