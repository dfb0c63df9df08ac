// Registers the shared TypeBox schemas (those with an `$id`) once, so routes
// can `$ref` them and OpenAPI lists them under components/schemas.
import fp from 'fastify-plugin';
import { SHARED_SCHEMAS } from '../schemas/index.ts';

export default fp(
  async (app) => {
    for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  },
  { name: 'packetpath-schemas', fastify: '5.x' },
);
