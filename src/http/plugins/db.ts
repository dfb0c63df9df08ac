// Gives routes the database and the parsed-ruleset cache: `app.db`
// (`app.prisma` for short), `app.rulesetCache`, `app.config` (decorators, shared with every route plugin).
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import type { Database, RulesetCache } from '../../store/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
    /** Shorthand for `db.prisma`. */
    prisma: Database['prisma'];
    rulesetCache: RulesetCache;
    config: Config;
  }
}

export interface DbPluginOptions {
  readonly db: Database;
  readonly rulesetCache: RulesetCache;
  readonly config: Config;
  /** Close the database when the app closes (true when buildApp opened it). */
  readonly closeOnShutdown: boolean;
}

export default fp<DbPluginOptions>(
  async (app, opts) => {
    app.decorate('db', opts.db);
    app.decorate('prisma', opts.db.prisma);
    app.decorate('rulesetCache', opts.rulesetCache);
    app.decorate('config', opts.config);
    if (opts.closeOnShutdown) app.addHook('onClose', async () => opts.db.close());
  },
  { name: 'packetpath-db', fastify: '5.x' },
);
