// Every shared schema (those with an `$id`), registered once by plugins/schemas.ts.
import {
  DiagnosticSchema,
  DumpFamilySchema,
  DumpFormatSchema,
  FamilySchema,
  FieldErrorSchema,
  LabelsSchema,
  ProblemSchema,
  SeveritySchema,
  StatsSchema,
} from './common.ts';
import { COUNTER_SCHEMAS } from './counters.ts';
import { DUMP_SCHEMAS } from './dumps.ts';
import { HEALTH_SCHEMAS } from './health.ts';
import { NODE_SCHEMAS } from './nodes.ts';
import { QUERY_SCHEMAS } from './query.ts';
import { TOKEN_SCHEMAS } from './tokens.ts';
import { GRAPH_SCHEMAS } from './graph.ts';

export const SHARED_SCHEMAS = [
  FamilySchema,
  DumpFamilySchema,
  DumpFormatSchema,
  SeveritySchema,
  DiagnosticSchema,
  StatsSchema,
  FieldErrorSchema,
  ProblemSchema,
  LabelsSchema,
  ...DUMP_SCHEMAS,
  ...NODE_SCHEMAS,
  ...HEALTH_SCHEMAS,
  ...QUERY_SCHEMAS,
  ...TOKEN_SCHEMAS,
  ...COUNTER_SCHEMAS,
  ...GRAPH_SCHEMAS,
] as const;

export * from './common.ts';
export * from './dumps.ts';
export * from './nodes.ts';
export * from './health.ts';
export * from './query.ts';
export * from './tokens.ts';
export * from './counters.ts';
export * from './graph.ts';
