// Liveness (`/healthz`) and readiness (`/readyz`: the database answers).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HealthSchema, ReadySchema, jsonResponse, problemResponses, ref } from '../schemas/index.ts';
import { HttpProblem } from '../plugins/errors.ts';

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      config: { scope: 'public' },
      schema: {
        tags: ['health'],
        operationId: 'healthz',
        summary: 'Liveness probe',
        description: 'Answers 200 while the process runs; does not touch the database.',
        response: { 200: jsonResponse('The process is up', ref(HealthSchema)) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      config: { scope: 'public' },
      schema: {
        tags: ['health'],
        operationId: 'readyz',
        summary: 'Readiness probe',
        description: 'Runs a trivial query and checks that the database file is still the one opened and writable; 503 (problem+json, saying why) otherwise.',
        response: { 200: jsonResponse('Ready to serve', ref(ReadySchema)), ...problemResponses(503) },
      },
    },
    async (request) => {
      try {
        await app.db.ping();
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        throw new HttpProblem(503, 'not-ready', `the database is not available: ${(err as Error).message}`, {}, { 'retry-after': '5' });
      }
      return { status: 'ready' as const, checks: { database: 'ok' as const } };
    },
  );
};

export default health;
