// /api/v1/tokens: create, list and revoke API tokens (admin scope).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createToken, expiryAfter, InvalidInputError, listTokens, revokeToken, writeTransaction, type TokenInfo } from '../../store/index.ts';
import {
  CreateTokenSchema,
  CreatedTokenSchema,
  TokenListSchema,
  TokenParamsSchema,
  TokenSchema,
  jsonResponse,
  problemResponses,
  ref,
  type Token,
} from '../schemas/index.ts';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function tokenStatus(t: TokenInfo, now: Date = new Date()): Token['status'] {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && t.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export function toToken(t: TokenInfo, now: Date = new Date()): Token {
  return {
    id: t.id,
    name: t.name,
    scope: t.scope,
    cluster: t.cluster,
    prefix: t.prefix,
    status: tokenStatus(t, now),
    createdAt: t.createdAt.toISOString(),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  };
}

const tokens: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['tokens'],
        operationId: 'createToken',
        summary: 'Create an API token',
        description:
          'Creates a bearer token and returns it **once** (`token`); only its sha256 is stored. `cluster` limits an `upload` token to one cluster: ' +
          'its uploads must name that cluster (or none: the node is put in it) and cannot write to a node of another cluster. ' +
          'The CLI equivalent, working on the database directly, is `packetpath token create`.',
        body: ref(CreateTokenSchema),
        response: { 201: jsonResponse('The token, with its text', ref(CreatedTokenSchema)), ...problemResponses(400, 422, 503, 507) },
      },
    },
    async (request, reply) => {
      const { scope, cluster, name, expiresAt, expiresIn } = request.body;
      if (expiresAt !== undefined && expiresIn !== undefined) {
        throw new InvalidInputError('give expiresAt or expiresIn, not both', [{ path: '/body/expiresIn', message: 'conflicts with expiresAt' }]);
      }
      const now = new Date();
      let expires: Date | undefined = expiresAt !== undefined ? new Date(expiresAt) : undefined;
      if (expiresIn !== undefined) expires = expiryAfter(expiresIn, now);
      const created = await writeTransaction(app.db.prisma, (tx) => createToken(tx, { scope, cluster, name, expiresAt: expires, now }));
      const by = request.principal.kind === 'token' ? request.principal.token.id : request.principal.kind;
      request.log.info({ token: created.info.id, scope, cluster: created.info.cluster, by }, 'API token created');
      app.auth.hasTokens().catch(() => undefined);
      return reply
        .code(201)
        .header('location', `/api/v1/tokens/${created.info.id}`)
        .header('cache-control', 'no-store')
        .send({ ...toToken(created.info, now), token: created.token });
    },
  );

  app.get(
    '/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['tokens'],
        operationId: 'listTokens',
        summary: 'List API tokens',
        description: 'Every token with its id, name, scope, cluster and state; never the token text or its hash.',
        response: { 200: jsonResponse('The tokens', ref(TokenListSchema)) },
      },
    },
    async () => {
      const now = new Date();
      return { items: (await listTokens(app.db.prisma)).map((t) => toToken(t, now)) };
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['tokens'],
        operationId: 'revokeToken',
        summary: 'Revoke an API token',
        description: 'The token stops working at once and stays listed as `revoked`. Revoking a revoked token changes nothing.',
        params: TokenParamsSchema,
        response: { 200: jsonResponse('The revoked token', ref(TokenSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const revoked = await writeTransaction(app.db.prisma, (tx) => revokeToken(tx, request.params.id));
      request.log.info({ token: revoked.id }, 'API token revoked');
      return toToken(revoked);
    },
  );
};

export default tokens;
