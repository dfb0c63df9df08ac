// Builds the Fastify application (does not listen: see server.ts).
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IncomingMessage } from 'node:http';
import type { HostResult } from './ruleset.ts';
import { openDatabase, createRulesetCache, ReadCache, changeWatchOf, writeActivityOf, type Database, type RulesetCache } from '../store/index.ts';
import type { Config } from './config.ts';
import authPlugin from './plugins/auth.ts';
import analysisPlugin from './plugins/analysis.ts';
import drawingsPlugin from './plugins/drawings.ts';
import dbPlugin from './plugins/db.ts';
import errorsPlugin from './plugins/errors.ts';
import requestGuardsPlugin from './plugins/request-guards.ts';
import { serializeRequest } from './credentials.ts';
import { limitConnections, transportOptions } from './transport.ts';
import schemasPlugin from './plugins/schemas.ts';
import swaggerPlugin from './plugins/swagger.ts';
import healthRoutes from './routes/health.ts';
import nodeRoutes from './routes/nodes.ts';
import dumpRoutes from './routes/dumps.ts';
import tokenRoutes from './routes/tokens.ts';
import tableRoutes from './routes/tables.ts';
import diffRoutes from './routes/diff.ts';
import traceRoutes from './routes/trace.ts';
import uiRoutes from './routes/ui.ts';
import metricsPlugin from './plugins/metrics.ts';
import metricsRoutes from './routes/metrics.ts';
import counterRoutes from './routes/counters.ts';

export const API_PREFIX = '/api/v1';

export interface BuildAppOptions {
  readonly config: Config;
  /** An open database; the caller closes it. Without it, buildApp opens `config.databaseUrl` and closes it with the app. */
  readonly db?: Database;
  /** Fastify logger options (default: pino at `config.logLevel`); `false` for none. */
  readonly logger?: FastifyServerOptions['logger'];
  /** A logger instance to use instead (e.g. a pino child). */
  readonly loggerInstance?: FastifyBaseLogger;
  /** The parsed-ruleset cache (default: a new LRU of `config.rulesetCacheSize`). */
  readonly rulesetCache?: RulesetCache;
  /**
   * Volatile read answers and built host files (default: a new one watching
   * the database file for commits; closed with the app).
   */
  readonly readCache?: ReadCache<HostResult>;
}


const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id: the client's `x-request-id` when it is sane, else a new UUID. */
export function genReqId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Logger options with the request serializer that redacts URL credentials (whatever logger options the caller gave). */
function withRequestSerializer(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return logger;
  const base = logger === true ? {} : logger;
  return { ...base, serializers: { ...base.serializers, req: serializeRequest } };
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance.child({}, { serializers: { req: serializeRequest } }) }
      : { logger: withRequestSerializer(options.logger ?? { level: config.logLevel, redact: { paths: ['req.headers.authorization'], censor: '[redacted]' } }) }),
    genReqId,
    ...transportOptions(config),
    bodyLimit: 1024 * 1024,
    // Route params such as node names are matched case-sensitively; no trailing-slash twins.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  limitConnections(app.server, config, app.log);

  const db = options.db ?? (await openDatabase(config.databaseUrl, { busyTimeoutMs: config.busyTimeoutMs, poolSize: config.dbPoolSize }));
  try {
    if (db.migrations?.applied.length) app.log.info({ applied: db.migrations.applied }, 'database migrated');
    if (db.migrations?.modified.length) app.log.warn({ modified: db.migrations.modified }, 'applied migrations were edited since');
    if (db.migrations?.unknown.length) app.log.warn({ unknown: db.migrations.unknown }, 'database has migrations this version does not know');

    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
    });

    await app.register(errorsPlugin);
    await app.register(requestGuardsPlugin);
    await app.register(dbPlugin, {
      db,
      rulesetCache: options.rulesetCache ?? createRulesetCache(config.rulesetCacheSize, config.rulesetCacheRules),
      readCache: options.readCache ?? new ReadCache<HostResult>(changeWatchOf(db), { writes: writeActivityOf(db.prisma) }),
      config,
      closeOnShutdown: options.db === undefined,
    });
    await app.register(analysisPlugin);
    // Before every route: its onResponse hook counts each request.
    await app.register(metricsPlugin);
    await app.register(drawingsPlugin);
    await app.register(schemasPlugin);
    // Before swagger and every route: its onRoute hook documents each route's security.
    await app.register(authPlugin);
    await app.register(swaggerPlugin);
    await app.register(healthRoutes);
    await app.register(metricsRoutes);
    await app.register(nodeRoutes, { prefix: API_PREFIX });
    await app.register(dumpRoutes, { prefix: API_PREFIX });
    await app.register(tokenRoutes, { prefix: API_PREFIX });
    await app.register(tableRoutes, { prefix: API_PREFIX });
    await app.register(diffRoutes, { prefix: API_PREFIX });
    await app.register(traceRoutes, { prefix: API_PREFIX });
    await app.register(counterRoutes, { prefix: API_PREFIX });
    await app.register(uiRoutes);
    return app;
  } catch (err) {
    if (options.db === undefined) await db.close();
    throw err;
  }
}
