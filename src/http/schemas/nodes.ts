// Schemas of the node endpoints (`/api/v1/nodes...`).
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, LabelsSchema, NodeNameSchema, PageQuerySchema, ref } from './common.ts';
import { DumpSummarySchema } from './dumps.ts';

export const NodeSchema = Type.Object(
  {
    name: Type.String(),
    cluster: Type.Union([Type.String(), Type.Null()]),
    labels: ref(LabelsSchema),
    createdAt: DateTimeSchema,
    lastSeenAt: { ...DateTimeSchema, description: 'Time of the latest upload' },
    dumpCount: Type.Integer({ minimum: 0, description: 'Stored versions, all families' }),
    latest: Type.Object(
      {
        ipv4: Type.Union([ref(DumpSummarySchema), Type.Null()]),
        ipv6: Type.Union([ref(DumpSummarySchema), Type.Null()]),
        nft: Type.Optional(Type.Union([ref(DumpSummarySchema), Type.Null()], { description: 'The nftables ruleset (absent or null when none was uploaded)' })),
      },
      { description: 'Latest version of each family' },
    ),
  },
  {
    $id: 'Node',
    description: 'A node and the summary of its latest rulesets.',
    examples: [
      {
        name: 'node-a',
        cluster: 'prod',
        labels: { zone: 'a' },
        createdAt: '2026-11-22T04:00:00.000Z',
        lastSeenAt: '2026-11-22T04:05:00.000Z',
        dumpCount: 1,
        latest: { ipv4: null, ipv6: null },
      },
    ],
  },
);
export type Node = Static<typeof NodeSchema>;

export const NodeListSchema = Type.Object(
  {
    items: Type.Array(ref(NodeSchema)),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
  },
  { $id: 'NodeList', description: 'A page of nodes, by name.' },
);
export type NodeList = Static<typeof NodeListSchema>;

export const NodeListQuerySchema = Type.Object({
  ...PageQuerySchema.properties,
  cluster: Type.Optional(Type.String({ maxLength: 253, description: 'Only nodes of this cluster' })),
});
export type NodeListQuery = Static<typeof NodeListQuerySchema>;

export const CreateNodeSchema = Type.Object(
  {
    name: NodeNameSchema,
    cluster: Type.Optional(Type.String({ maxLength: 253 })),
    labels: Type.Optional(ref(LabelsSchema)),
  },
  {
    $id: 'CreateNode',
    additionalProperties: false,
    description: 'Registers a node before its first upload (uploads create nodes too).',
    examples: [{ name: 'node-a', cluster: 'prod', labels: { zone: 'a' } }],
  },
);
export type CreateNode = Static<typeof CreateNodeSchema>;

export const NODE_SCHEMAS = [NodeSchema, NodeListSchema, CreateNodeSchema] as const;
