// /api/v1/nodes: list, create, read, delete nodes.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createNode, deleteNode, getNode, listNodes, writeTransaction } from '../../store/index.ts';
import { toNode } from '../mappers.ts';
import { writeCluster } from '../plugins/auth.ts';
import {
  CreateNodeSchema,
  NodeListQuerySchema,
  NodeListSchema,
  NodeParamsSchema,
  NodeSchema,
  jsonResponse,
  problemResponses,
  ref,
} from '../schemas/index.ts';

const nodes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/nodes',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['nodes'],
        operationId: 'listNodes',
        summary: 'List nodes',
        description: 'Nodes by name, each with cluster, labels, last upload time and a summary of its latest IPv4 and IPv6 versions. Paginated.',
        querystring: NodeListQuerySchema,
        response: { 200: jsonResponse('A page of nodes', ref(NodeListSchema)), ...problemResponses(400) },
      },
    },
    async (request) => {
      const page = await listNodes(app.db.prisma, request.query);
      return { items: page.items.map(toNode), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/nodes',
    {
      config: { scope: 'upload' },
      schema: {
        tags: ['nodes'],
        operationId: 'createNode',
        summary: 'Register a node',
        description: 'Creates a node before its first upload (uploading creates the node as well). 409 when the name is taken.',
        body: ref(CreateNodeSchema),
        response: { 201: jsonResponse('The node', ref(NodeSchema)), ...problemResponses(400, 409, 503, 507) },
      },
    },
    async (request, reply) => {
      const { name, labels } = request.body;
      const { cluster } = writeCluster(request, request.body.cluster);
      const node = await writeTransaction(app.db.prisma, (tx) => createNode(tx, name, { cluster, labels }));
      return reply.code(201).header('location', `/api/v1/nodes/${encodeURIComponent(name)}`).send(toNode(node));
    },
  );

  app.get(
    '/nodes/:node',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['nodes'],
        operationId: 'getNode',
        summary: 'Get a node',
        params: NodeParamsSchema,
        response: { 200: jsonResponse('The node', ref(NodeSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => toNode(await getNode(app.db.prisma, request.params.node)),
  );

  app.delete(
    '/nodes/:node',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['nodes'],
        operationId: 'deleteNode',
        summary: 'Delete a node and all its versions',
        params: NodeParamsSchema,
        response: { 204: { description: 'Deleted', type: 'null' }, ...problemResponses(400, 404, 503, 507) },
      },
    },
    async (request, reply) => {
      await writeTransaction(app.db.prisma, (tx) => deleteNode(tx, request.params.node));
      return reply.code(204).send();
    },
  );
};

export default nodes;
