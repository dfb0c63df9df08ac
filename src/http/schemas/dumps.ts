// Schemas of the dump endpoints (`/api/v1/nodes/{node}/dumps...`).
import { Type, type Static } from '@sinclair/typebox';
import {
  DateTimeSchema,
  DiagnosticSchema,
  DumpFamilySchema,
  DumpFormatSchema,
  FamilySchema,
  LabelsSchema,
  NodeNameSchema,
  NullableDateTimeSchema,
  PageQuerySchema,
  StatsSchema,
  ref,
} from './common.ts';

const SHA = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256, hex', examples: ['1b609bf6c1f22272bb81e237235579d6b4587592b2b666070b48810d1af93a18'] });
const EXAMPLE_SHA = '1b609bf6c1f22272bb81e237235579d6b4587592b2b666070b48810d1af93a18';

export const DumpParamsSchema = Type.Object({
  node: NodeNameSchema,
  id: Type.Integer({ minimum: 1, description: 'Dump (version) id', examples: [1] }),
});
export type DumpParams = Static<typeof DumpParamsSchema>;

/** A version by id, or `latest` (of `?family`, default ipv4; `nft` for the nftables ruleset): for the text routes. */
export const DumpRefParamsSchema = Type.Object({
  node: NodeNameSchema,
  id: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('latest')], { description: 'Dump (version) id, or `latest` for the latest version of `family`', examples: [1, 'latest'] }),
});
export type DumpRefParams = Static<typeof DumpRefParamsSchema>;

export const DiagnosticCountsSchema = Type.Object(
  { error: Type.Integer({ minimum: 0 }), warning: Type.Integer({ minimum: 0 }), info: Type.Integer({ minimum: 0 }) },
  { $id: 'DiagnosticCounts' },
);

export const DumpSummarySchema = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    node: Type.String(),
    family: ref(DumpFamilySchema),
    format: ref(DumpFormatSchema),
    sha256: { ...SHA, description: 'sha256 of the canonical text without counters (iptables-save, or for `nft` the ruleset as packetpath prints it in `nft list ruleset` syntax): the identity of a version' },
    stats: ref(StatsSchema),
    collectedAt: { ...NullableDateTimeSchema, description: 'When the agent collected the dump (its clock), if it said' },
    receivedAt: { ...DateTimeSchema, description: 'When this version was first received' },
    lastSeenAt: { ...DateTimeSchema, description: 'When this version was last uploaded' },
    uploads: Type.Integer({ minimum: 1, description: 'Uploads this version absorbed (identical re-uploads count here)' }),
    hasCounters: Type.Boolean(),
    hasHost: Type.Boolean({ description: 'Whether a host file (interfaces, routes) came with the latest upload' }),
    diagnosticCounts: ref(DiagnosticCountsSchema),
  },
  {
    $id: 'DumpSummary',
    description: 'One stored version of a node ruleset: its iptables ruleset of one address family, or its nftables ruleset (`family: nft`).',
    examples: [
      {
        id: 1,
        node: 'node-a',
        family: 'ipv4',
        format: 'iptables-save',
        sha256: EXAMPLE_SHA,
        stats: { tables: 2, chains: 19, rules: 25 },
        collectedAt: null,
        receivedAt: '2026-11-22T04:00:00.000Z',
        lastSeenAt: '2026-11-22T04:05:00.000Z',
        uploads: 2,
        hasCounters: true,
        hasHost: false,
        diagnosticCounts: { error: 0, warning: 1, info: 0 },
      },
    ],
  },
);
export type DumpSummary = Static<typeof DumpSummarySchema>;

export const DumpSchema = Type.Object(
  {
    ...DumpSummarySchema.properties,
    originalSha256: { ...SHA, description: 'sha256 of the latest upload\'s bytes as sent (`/raw`)' },
    diagnostics: Type.Array(ref(DiagnosticSchema)),
    host: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], { description: 'The host file sent with the latest upload' }),
    counters: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], {
      description: 'Latest counters: `{table: {chain: {policy: "packets:bytes"|null, rules: ["packets:bytes"|null, ...]}}}`',
    }),
  },
  { $id: 'Dump', description: 'A stored version with its diagnostics, host file and latest counters.' },
);
export type Dump = Static<typeof DumpSchema>;

export const DumpListSchema = Type.Object(
  {
    items: Type.Array(ref(DumpSummarySchema)),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
  },
  { $id: 'DumpList', description: 'A page of versions, newest first.' },
);
export type DumpList = Static<typeof DumpListSchema>;

export const DumpListQuerySchema = Type.Object({
  ...PageQuerySchema.properties,
  family: Type.Optional(ref(DumpFamilySchema)),
});
export type DumpListQuery = Static<typeof DumpListQuerySchema>;

export const FamilyQuerySchema = Type.Object({
  family: Type.Optional({ ...ref(DumpFamilySchema), description: 'Address family (default ipv4), or `nft` for the nftables ruleset; for a version given by id it is not needed' }),
});
export type FamilyQuery = Static<typeof FamilyQuerySchema>;

export const CanonicalQuerySchema = Type.Object({
  counters: Type.Optional(Type.Boolean({ default: false, description: 'Print the latest counters (`[packets:bytes]`) too' })),
  family: Type.Optional({ ...ref(DumpFamilySchema), description: 'With `latest`: the address family (default ipv4), or `nft`' }),
});
export type CanonicalQuery = Static<typeof CanonicalQuerySchema>;

export const UploadQuerySchema = Type.Object({
  strict: Type.Optional(Type.Boolean({ default: false, description: 'Reject (422) a dump with any error diagnostic, as iptables-restore would (an nft ruleset: also with any warning, i.e. syntax packetpath does not know)' })),
  family: Type.Optional({ ...ref(DumpFamilySchema), description: 'Address family of `dump` (default: detected); `nft`: a text/plain body is an nftables ruleset (`nft -j` JSON is detected without it)' }),
  format: Type.Optional({ ...ref(DumpFormatSchema), description: 'Format of the dump(s) (default: detected; `nft-json`/`nft-text` read a text/plain body as an nftables ruleset)' }),
  cluster: Type.Optional(Type.String({ maxLength: 253, description: 'Cluster of the node (text/plain uploads; JSON has `cluster`)' })),
});
export type UploadQuery = Static<typeof UploadQuerySchema>;

const EXAMPLE_DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`;

export const UploadTextSchema = Type.String({
  description: 'A dump in any format packetpath reads (iptables-save, ip6tables-save, iptables -S, iptables -L -n -v), or an nftables ruleset (`nft -j list ruleset` JSON or `nft list ruleset` text, detected).',
  examples: [EXAMPLE_DUMP],
});

export const UploadDeltaSchema = Type.Object(
  {
    base: { ...SHA, description: "sha256 of the base text: the text last uploaded for this node and family (the latest version's `originalSha256`)" },
    sha256: { ...SHA, description: 'sha256 of the text the script makes (UTF-8); checked by the server' },
    script: Type.Array(
      Type.Union([
        Type.String({ description: 'an inserted line (without its newline)' }),
        Type.Array(Type.Integer({ minimum: 1 }), { minItems: 2, maxItems: 2, description: '[from, count]: copy `count` base lines starting at line `from` (1-based)' }),
      ]),
      { description: 'The new text, line by line: copies of base line runs and inserted lines. Base lines no copy names are left out.' },
    ),
    counters: Type.Optional(
      Type.Array(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]+:[0-9]+$' })]), {
        description: 'Counters changed in copied lines, flat pairs `[step, "packets:bytes", ...]`: the first step is a result line number (1-based), each next one the distance from the previous line. The line\'s `[p:b]` (a rule\'s prefix or a chain declaration\'s suffix) is replaced.',
      }),
    ),
  },
  {
    $id: 'UploadDelta',
    additionalProperties: false,
    description:
      "A dump as a line edit script against the text this node last uploaded for the family (incremental upload). The server rebuilds the text, checks `sha256`, and stores it exactly as a full upload of that text. A `base` that is not the node's latest upload is a 409 `stale-delta-base` (with `currentBase`): send the full text then.",
    examples: [{ base: EXAMPLE_SHA, sha256: EXAMPLE_SHA, script: [[1, 6], '-A INPUT -s 192.0.2.0/24 -j ACCEPT', [8, 3]], counters: [4, '12:720'] }],
  },
);
export type UploadDelta = Static<typeof UploadDeltaSchema>;

export const UploadJsonSchema = Type.Object(
  {
    dump: Type.Optional(Type.String({ description: 'The (IPv4) dump text; may be left out when `nft` is given' })),
    ip6Dump: Type.Optional(Type.String({ description: 'The ip6tables dump text, stored as a second (ipv6) version' })),
    delta: Type.Optional({ ...ref(UploadDeltaSchema), description: 'Instead of `dump`: the dump as a delta of the text last uploaded for this node and `family` (default ipv4)' }),
    ip6Delta: Type.Optional({ ...ref(UploadDeltaSchema), description: 'Instead of `ip6Dump`: the ip6tables dump as a delta of the text last uploaded for this node\'s ipv6 version' }),
    nft: Type.Optional(
      Type.Union([Type.String(), Type.Object({ nftables: Type.Array(Type.Unknown()) }, { additionalProperties: true })], {
        description:
          "The node's nftables ruleset, stored as a version of family `nft`: `nft -j list ruleset` output as a string (kept byte for byte) or as a JSON object, or `nft list ruleset` text (format detected).",
      }),
    ),
    host: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: 'Host file: `{interfaces, routes, forwarding}` or `{addr, route}` from `ip -j`; optional `ipsets` (ipset save text), `routeLocalnet` (true/false or {all, interfaces}), `conntrack`, `backend`' }),
    ),
    collectedAt: Type.Optional({ ...DateTimeSchema, description: 'When the agent collected the dump' }),
    cluster: Type.Optional(Type.String({ maxLength: 253 })),
    labels: Type.Optional(ref(LabelsSchema)),
    format: Type.Optional(ref(DumpFormatSchema)),
    family: Type.Optional({ ...ref(FamilySchema), description: 'Address family of `dump` (default: detected)' }),
  },
  {
    $id: 'UploadRequest',
    additionalProperties: false,
    description: 'JSON form of an upload.',
    examples: [
      {
        dump: EXAMPLE_DUMP,
        host: { interfaces: [{ name: 'eth0', addresses: ['192.168.0.2/24'] }], routes: [{ dst: 'default', via: '192.168.0.1', dev: 'eth0' }], forwarding: true },
        collectedAt: '2026-11-22T04:00:00.000Z',
        cluster: 'prod',
        labels: { zone: 'a' },
      },
    ],
  },
);
export type UploadJson = Static<typeof UploadJsonSchema>;

const UPLOADED_PROPS = {
  id: Type.Integer({ minimum: 1 }),
  node: Type.String(),
  sha256: { ...SHA, description: 'sha256 of the canonical text without counters' },
  format: ref(DumpFormatSchema),
  family: ref(DumpFamilySchema),
  stats: ref(StatsSchema),
  diagnostics: Type.Array(ref(DiagnosticSchema)),
  created: Type.Boolean({ description: 'False when the latest version already had this canonical text (counters updated, same id)' }),
};

export const UploadedDumpSchema = Type.Object(UPLOADED_PROPS, { $id: 'UploadedDump', description: 'Result for one stored dump.' });
export type UploadedDump = Static<typeof UploadedDumpSchema>;

export const UploadResultSchema = Type.Object(
  { ...UPLOADED_PROPS, ip6: Type.Optional(ref(UploadedDumpSchema)), nft: Type.Optional(ref(UploadedDumpSchema)) },
  {
    $id: 'UploadResult',
    description: 'Result of an upload: of `dump` (of `nft` when only that was sent); `ip6` is present when `ip6Dump` was sent, `nft` when an nftables ruleset was.',
    examples: [
      {
        id: 1,
        node: 'node-a',
        sha256: EXAMPLE_SHA,
        format: 'iptables-save',
        family: 'ipv4',
        stats: { tables: 1, chains: 3, rules: 1 },
        diagnostics: [],
        created: true,
      },
    ],
  },
);
export type UploadResult = Static<typeof UploadResultSchema>;

export const LatestShaSchema = Type.Object(
  {
    node: Type.String(),
    family: ref(DumpFamilySchema),
    id: Type.Integer({ minimum: 1 }),
    sha256: SHA,
  },
  {
    $id: 'LatestSha',
    description: 'The identity of a node’s latest version: an agent compares it with the sha256 of its own canonical dump to skip uploads.',
    examples: [{ node: 'node-a', family: 'ipv4', id: 3, sha256: EXAMPLE_SHA }],
  },
);
export type LatestSha = Static<typeof LatestShaSchema>;

export const DUMP_SCHEMAS = [
  DiagnosticCountsSchema,
  DumpSummarySchema,
  DumpSchema,
  DumpListSchema,
  UploadDeltaSchema,
  UploadJsonSchema,
  UploadedDumpSchema,
  UploadResultSchema,
  LatestShaSchema,
] as const;
