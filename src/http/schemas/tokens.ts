// Schemas of the token admin endpoints (`/api/v1/tokens...`).
import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../../store/duration.ts';
import { DateTimeSchema, NullableDateTimeSchema, ref, StringEnum } from './common.ts';

export const TokenScopeSchema = StringEnum(['read', 'upload', 'admin', 'scrape'], {
  $id: 'TokenScope',
  description: '`read`: queries, traces, diffs; `upload`: uploads (and the latest-sha check agents make); `admin`: deletes and token management, and everything `read` and `upload` may do; `scrape`: `GET /metrics` and nothing else (for a Prometheus server).',
});

const TOKEN_ID = Type.String({ pattern: '^[0-9a-f]{12}$', description: 'Public token id (12 hex digits)', examples: ['3f9a0c1b2d4e'] });

const TOKEN_PROPS = {
  id: TOKEN_ID,
  name: Type.Union([Type.String(), Type.Null()]),
  scope: ref(TokenScopeSchema),
  cluster: Type.Union([Type.String(), Type.Null()], { description: 'Upload tokens: the only cluster they may write to; null: any' }),
  prefix: Type.String({ description: 'The first characters of the token (`ppt_<id>_`), to recognise it; the rest is never shown again' }),
  status: StringEnum(['active', 'expired', 'revoked']),
  createdAt: DateTimeSchema,
  expiresAt: { ...NullableDateTimeSchema, description: 'Null: never expires' },
  revokedAt: NullableDateTimeSchema,
  lastUsedAt: { ...NullableDateTimeSchema, description: 'Last successful authentication (recorded at most once a minute)' },
};

const EXAMPLE_TOKEN = {
  id: '3f9a0c1b2d4e',
  name: 'agents-prod',
  scope: 'upload',
  cluster: 'prod',
  prefix: 'ppt_3f9a0c1b2d4e_',
  status: 'active',
  createdAt: '2026-11-22T04:00:00.000Z',
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: '2026-11-22T04:05:00.000Z',
};

export const TokenSchema = Type.Object(TOKEN_PROPS, {
  $id: 'Token',
  description: 'An API token as listed: never the token text or its hash.',
  examples: [EXAMPLE_TOKEN],
});
export type Token = Static<typeof TokenSchema>;

export const CreatedTokenSchema = Type.Object(
  { ...TOKEN_PROPS, token: Type.String({ description: 'The bearer token. Shown in this response only: store it now.' }) },
  {
    $id: 'CreatedToken',
    description: 'A new token, with its text (the only time it is shown).',
    examples: [{ ...EXAMPLE_TOKEN, lastUsedAt: null, token: 'ppt_3f9a0c1b2d4e_q8Hk0m3N8x1bJ0cT9yF2vW6rZ4sD7aL5eG1uI3oP0nM' }],
  },
);
export type CreatedToken = Static<typeof CreatedTokenSchema>;

export const TokenListSchema = Type.Object({ items: Type.Array(ref(TokenSchema)) }, { $id: 'TokenList', description: 'Every token, oldest first (revoked and expired ones too).' });
export type TokenList = Static<typeof TokenListSchema>;

export const CreateTokenSchema = Type.Object(
  {
    scope: ref(TokenScopeSchema),
    cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Only with scope `upload`: the one cluster the token may write to' })),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Free-form name, e.g. `agents-prod`' })),
    expiresAt: Type.Optional({ ...DateTimeSchema, description: 'When the token stops working' }),
    expiresIn: Type.Optional(Type.String({ pattern: DURATION_PATTERN, description: 'Lifetime instead of `expiresAt`: `3600` (seconds), `90m`, `12h`, `30d`, `2w`', examples: ['30d'] })),
  },
  {
    $id: 'CreateToken',
    additionalProperties: false,
    description: 'A token to create. Without `expiresAt`/`expiresIn` it never expires.',
    examples: [{ scope: 'upload', cluster: 'prod', name: 'agents-prod', expiresIn: '90d' }],
  },
);
export type CreateToken = Static<typeof CreateTokenSchema>;

export const TokenParamsSchema = Type.Object({ id: TOKEN_ID });

export const TOKEN_SCHEMAS = [TokenScopeSchema, TokenSchema, CreatedTokenSchema, TokenListSchema, CreateTokenSchema] as const;
