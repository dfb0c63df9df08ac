// Schemas of the liveness and readiness probes.
import { Type, type Static } from '@sinclair/typebox';

export const HealthSchema = Type.Object(
  { status: Type.Literal('ok') },
  { $id: 'Health', description: 'The process is up.', examples: [{ status: 'ok' }] },
);
export type Health = Static<typeof HealthSchema>;

export const ReadySchema = Type.Object(
  {
    status: Type.Literal('ready'),
    checks: Type.Object({ database: Type.Literal('ok') }),
  },
  { $id: 'Ready', description: 'The service can serve requests (the database answers).', examples: [{ status: 'ready', checks: { database: 'ok' } }] },
);
export type Ready = Static<typeof ReadySchema>;

export const HEALTH_SCHEMAS = [HealthSchema, ReadySchema] as const;
