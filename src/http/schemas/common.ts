// Shared TypeBox schemas. Each `XxxSchema` with an `$id` is registered once
// with `app.addSchema` (plugins/schemas.ts) and referenced with `ref()`, so it
// appears once in the OpenAPI document under components/schemas/Xxx.
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A `$ref` to a shared schema, typed as the schema itself. */
export function ref<T extends TSchema & { $id?: string }>(schema: T): TUnsafe<Static<T>> {
  if (!schema.$id) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>({ $ref: `${schema.$id}#` });
}

/**
 * A string with a fixed set of values, written as JSON Schema `enum` (TypeBox's
 * unions of literals become `anyOf` of single constants, which Swagger UI
 * shows as a dropdown holding only the first value).
 */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

export const FamilySchema = StringEnum(['ipv4', 'ipv6'], {
  $id: 'Family',
  description: 'Address family of a ruleset (iptables-save vs ip6tables-save).',
});
export type Family = Static<typeof FamilySchema>;

/** The family of a stored version: the iptables families, or the node's nftables ruleset. */
export const DumpFamilySchema = StringEnum(['ipv4', 'ipv6', 'nft'], {
  $id: 'DumpFamily',
  description: 'What a stored version holds: the iptables (`ipv4`) or ip6tables (`ipv6`) ruleset, or the node\'s whole nftables ruleset (`nft`: every table of every nft family, `nft list ruleset`).',
});
export type DumpFamily = Static<typeof DumpFamilySchema>;

export const DumpFormatSchema = StringEnum(['iptables-save', 'iptables-S', 'iptables-L', 'nft-json', 'nft-text'], {
  $id: 'DumpFormat',
  description: 'Text format of an uploaded dump: `iptables-save`, `iptables -S` or `iptables -L -n [-v] [-x]`; for nftables `nft-json` (`nft -j list ruleset`) or `nft-text` (`nft list ruleset`, with or without `-a`, or `nft -f` input).',
});
export type DumpFormat = Static<typeof DumpFormatSchema>;

export const SeveritySchema = StringEnum(['error', 'warning', 'info'], { $id: 'Severity' });

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

const REQUEST_ID = '5f0c6a43-7a44-4d7b-a3a4-3c0b1e0b8f4e';
/** One example problem per status, so Swagger UI shows what each error really looks like. */
const PROBLEM_EXAMPLES: Record<number, Record<string, unknown>> = {
  400: { type: '/problems/bad-request', title: 'Bad Request', status: 400, detail: 'querystring/limit must be <= 500', errors: [{ path: '/limit', message: 'must be <= 500' }] },
  401: { type: '/problems/unauthorized', title: 'Unauthorized', status: 401, detail: 'a bearer token is required (Authorization: Bearer <token>)' },
  403: { type: '/problems/forbidden', title: 'Forbidden', status: 403, detail: 'this token has scope read; this operation needs upload' },
  404: { type: '/problems/not-found', title: 'Not Found', status: 404, detail: 'node "node-a" not found' },
  409: { type: '/problems/conflict', title: 'Conflict', status: 409, detail: 'the token is already revoked' },
  413: { type: '/problems/payload-too-large', title: 'Payload Too Large', status: 413, detail: 'the body is larger than MAX_UPLOAD_BYTES (33554432 bytes)' },
  415: { type: '/problems/unsupported-media-type', title: 'Unsupported Media Type', status: 415, detail: 'Content-Encoding br is not supported (gzip, deflate or identity)' },
  422: {
    type: '/problems/unprocessable-dump',
    title: 'Unprocessable Content',
    status: 422,
    detail: 'nothing usable could be read from dump: no table or rule could be read from the dump',
    problems: [{ line: 1, column: 1, severity: 'error', code: 'no-tables', message: 'no table or rule could be read from the dump' }],
    field: 'dump',
  },
  429: { type: '/problems/too-many-requests', title: 'Too Many Requests', status: 429, detail: 'too many failed authentications; retry after 60 seconds' },
  503: { type: '/problems/service-unavailable', title: 'Service Unavailable', status: 503, detail: 'the database is not ready' },
  507: { type: '/problems/store-full', title: 'Insufficient Storage', status: 507, detail: 'the disk holding the database is full; nothing was stored (free space and retry)' },
};

type ProblemResponse = { description: string; content: { 'application/problem+json': { schema: TSchema; example?: Record<string, unknown> } } };

/** One `application/problem+json` response entry, with the example of its status. */
export function problemResponse(status: number, description: string, headers?: Record<string, unknown>): ProblemResponse & { headers?: Record<string, unknown> } {
  const example = PROBLEM_EXAMPLES[status];
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/problem+json': { schema: ref(ProblemSchema), ...(example ? { example: { ...example, instance: '/api/v1/nodes/node-a/dumps', requestId: REQUEST_ID } } : {}) } },
  };
}

/** Response entries for `application/problem+json` errors of a route, each with an example of its own status. */
export function problemResponses(...statuses: readonly number[]): Record<number, ProblemResponse> {
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
    503: 'Service not ready or store unavailable (database busy, its file deleted, replaced or read-only, analysis queue full); `Retry-After` when retrying helps',
    507: 'The disk holding the database is full: nothing was stored; the next write works once space is freed',
  };
  const out: Record<number, ProblemResponse> = {};
  for (const s of statuses) out[s] = problemResponse(s, descriptions[s] ?? 'Error');
  return out;
}

/** A JSON response entry with a description (for OpenAPI). */
export function jsonResponse<T extends TSchema>(description: string, schema: T): { description: string; content: { 'application/json': { schema: T } } } {
  return { description, content: { 'application/json': { schema } } };
}
