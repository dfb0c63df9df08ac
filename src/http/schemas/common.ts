// Shared TypeBox schemas. Each `XxxSchema` with an `$id` is registered once
// with `app.addSchema` (plugins/schemas.ts) and referenced with `ref()`, so it
// appears once in the OpenAPI document under components/schemas/Xxx.
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A `$ref` to a shared schema, typed as the schema itself. */
export function ref<T extends TSchema & { $id?: string }>(schema: T): TUnsafe<Static<T>> {
  if (!schema.$id) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>({ $ref: `${schema.$id}#` });
}

export const FamilySchema = Type.Union([Type.Literal('ipv4'), Type.Literal('ipv6')], {
  $id: 'Family',
  description: 'Address family of a ruleset (iptables-save vs ip6tables-save).',
});
export type Family = Static<typeof FamilySchema>;

export const DumpFormatSchema = Type.Union([Type.Literal('iptables-save'), Type.Literal('iptables-S'), Type.Literal('iptables-L')], {
  $id: 'DumpFormat',
  description: 'Text format of an uploaded dump: `iptables-save`, `iptables -S` or `iptables -L -n [-v] [-x]`.',
});
export type DumpFormat = Static<typeof DumpFormatSchema>;

export const SeveritySchema = Type.Union([Type.Literal('error'), Type.Literal('warning'), Type.Literal('info')], { $id: 'Severity' });

export const DiagnosticSchema = Type.Object(
  {
    line: Type.Integer({ minimum: 0, description: '1-based line of the dump text' }),
    column: Type.Optional(Type.Integer({ minimum: 0 })),
    severity: ref(SeveritySchema),
    code: Type.String({ description: 'Stable machine-readable code, e.g. `missing-commit`' }),
    message: Type.String(),
  },
  {
    $id: 'Diagnostic',
    description: 'A parser finding about one line of a dump.',
    examples: [{ line: 28, severity: 'warning', code: 'missing-commit', message: 'table filter has no COMMIT' }],
  },
);
export type Diagnostic = Static<typeof DiagnosticSchema>;

export const StatsSchema = Type.Object(
  {
    tables: Type.Integer({ minimum: 0 }),
    chains: Type.Integer({ minimum: 0 }),
    rules: Type.Integer({ minimum: 0 }),
  },
  { $id: 'Stats', description: 'Size of a ruleset.', examples: [{ tables: 2, chains: 19, rules: 25 }] },
);
export type Stats = Static<typeof StatsSchema>;

export const FieldErrorSchema = Type.Object(
  {
    path: Type.String({ description: 'Where in the request, e.g. `/body/host/routes/0/dst`' }),
    message: Type.String(),
  },
  { $id: 'FieldError' },
);

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI reference naming the kind of problem, e.g. `/problems/not-found`' }),
    title: Type.String({ description: 'Short summary of the kind of problem' }),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String({ description: 'What went wrong this time' }),
    instance: Type.String({ description: 'The request path' }),
    requestId: Type.String({ description: 'Same as the `x-request-id` response header' }),
    problems: Type.Optional(Type.Array(ref(DiagnosticSchema), { description: 'Line-numbered problems of a rejected dump (422)' })),
    field: Type.Optional(Type.String({ description: 'Which part of the request the problems are about (`dump` or `ip6Dump`)' })),
    errors: Type.Optional(Type.Array(ref(FieldErrorSchema), { description: 'Request validation errors (400) or invalid input (422)' })),
  },
  {
    $id: 'Problem',
    additionalProperties: true,
    description: 'RFC 9457 problem details, served as `application/problem+json` for every error.',
    examples: [
      {
        type: '/problems/unprocessable-dump',
        title: 'Unprocessable Content',
        status: 422,
        detail: 'nothing usable could be read from dump: no table or rule could be read from the dump',
        instance: '/api/v1/nodes/node-a/dumps',
        requestId: '5f0c6a43-7a44-4d7b-a3a4-3c0b1e0b8f4e',
        problems: [{ line: 1, severity: 'error', code: 'no-tables', message: 'no table or rule could be read from the dump' }],
        field: 'dump',
      },
    ],
  },
);
export type Problem = Static<typeof ProblemSchema>;

export const NodeNameSchema = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: '^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$',
  description: 'Node name (a Kubernetes node name: letters, digits, `.`, `_`, `-`).',
  examples: ['node-a'],
});

export const NodeParamsSchema = Type.Object({ node: NodeNameSchema });
export type NodeParams = Static<typeof NodeParamsSchema>;

export const LabelsSchema = Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 1024 }), {
  $id: 'Labels',
  description: 'String labels, e.g. Kubernetes node labels.',
  examples: [{ 'kubernetes.io/os': 'linux', zone: 'a' }],
});

export const PageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size (1–500, default 50)' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: '`nextCursor` of the previous page' })),
});

export const DateTimeSchema = Type.String({ format: 'date-time', examples: ['2026-11-22T04:00:00.000Z'] });
export const NullableDateTimeSchema = Type.Union([DateTimeSchema, Type.Null()]);

/** Response entries for `application/problem+json` errors of a route. */
export function problemResponses(...statuses: readonly number[]): Record<number, { description: string; content: { 'application/problem+json': { schema: TSchema } } }> {
  const descriptions: Record<number, string> = {
    304: 'Not modified',
    400: 'Malformed request (validation errors listed in `errors`)',
    401: 'No valid bearer token (missing, unknown, expired or revoked); `WWW-Authenticate: Bearer` says which',
    403: 'The token\'s scope (or cluster) does not allow this',
    404: 'No such node, dump or route',
    409: 'Conflicts with the current state (e.g. the node exists)',
    413: 'Request body too large (as sent, or after decompression)',
    415: 'Unsupported Content-Type or Content-Encoding',
    422: 'Well-formed but unusable input (line-numbered `problems`, or `errors`)',
    429: 'Too many failed authentications from this address; retry after `Retry-After` seconds',
    503: 'Service not ready (database unavailable or busy)',
  };
  const out: Record<number, { description: string; content: { 'application/problem+json': { schema: TSchema } } }> = {};
  for (const s of statuses) out[s] = { description: descriptions[s] ?? 'Error', content: { 'application/problem+json': { schema: ref(ProblemSchema) } } };
  return out;
}

/** A JSON response entry with a description (for OpenAPI). */
export function jsonResponse<T extends TSchema>(description: string, schema: T): { description: string; content: { 'application/json': { schema: T } } } {
  return { description, content: { 'application/json': { schema } } };
}
