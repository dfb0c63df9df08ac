// OpenAPI 3.1 document (from the route schemas) at /openapi.json and
// Swagger UI at /docs.
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export const API_VERSION = '1.0.0';

export const TAGS = [
  { name: 'nodes', description: 'Nodes (hosts) whose rulesets are stored' },
  { name: 'dumps', description: 'Uploading and reading ruleset versions' },
  { name: 'health', description: 'Liveness and readiness probes' },
  { name: 'tokens', description: 'API tokens (admin scope)' },
  { name: 'metrics', description: 'Prometheus metrics (`scrape` scope)' },
] as const;

export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'packetpath API',
          version: API_VERSION,
          description:
            'Stores the netfilter (iptables) rulesets of Kubernetes nodes, as uploaded by an agent, and answers questions about them. ' +
            'Every error is an RFC 9457 `application/problem+json` document. Every response carries `x-request-id` ' +
            '(the request\'s own `x-request-id` when it sent a valid one).',
          license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
        },
        // Relative: "Try it out" goes to whatever host, port and prefix served the page.
        servers: [{ url: '/', description: 'This server' }],
        tags: [...TAGS],
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'ppt_<id>_<secret>',
              description:
                'An API token (`packetpath token create` or `POST /api/v1/tokens`) sent as `Authorization: Bearer <token>`. ' +
                'Each operation lists the scope it needs (`read`, `upload`, `admin` or `scrape`; `admin` implies the others; `scrape` is for `GET /metrics` only); an `upload` token may be limited to one cluster. ' +
                'Without any token the server is open only while it is bound to a loopback address and no token was ever created; ' +
                'with `PACKETPATH_OPEN_READS=true` read operations need no token. ' +
                'Repeated failed authentications from one address are answered with 429 and `Retry-After`.',
            },
          },
        },
        security: [{ bearerAuth: [] }],
      },
      refResolver: {
        // Shared schemas appear as components/schemas/<$id>.
        buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`),
      },
    });
    // Swagger UI's own routes cannot declare a scope: they are public (as is the document).
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route) => {
        route.config = { ...route.config, scope: route.config?.scope ?? 'public' };
      });
      await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, docExpansion: 'list' } });
    });
    app.get('/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'packetpath-swagger', fastify: '5.x' },
);
