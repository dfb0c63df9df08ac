// Schemas of the query endpoints: tables, chains, rules, services, findings,
// diffs and traces.
import { Type, type Static } from '@sinclair/typebox';
import { DiffGraphQueryFields } from './graph.ts';
import { CLUSTER_ENDS, DISPOSITIONS, FINAL_VERDICTS } from '../../netfilter/index.ts';
import { DumpFamilySchema, FamilySchema, NodeNameSchema, ref, StringEnum } from './common.ts';
import { NextCursorSchema, RulePageQuerySchema } from '../rule-pages.ts';

export const TableNameSchema = StringEnum(['raw', 'mangle', 'nat', 'filter', 'security'], {
  $id: 'TableName',
  description: 'An iptables table.',
});

export const VersionQuerySchema = Type.Object({
  dump: Type.Optional(Type.Integer({ minimum: 1, description: 'A dump id of this node; default: its latest version' })),
  family: Type.Optional(ref(FamilySchema)),
});
export type VersionQuery = Static<typeof VersionQuerySchema>;

/** An nft table as nft names it: family and name, `inet firewalld`. */
export const NftTableNameSchema = Type.String({
  pattern: '^(ip|ip6|inet|arp|bridge|netdev) \\S{1,255}$',
  description: 'An nftables table as nft names it: family and name (`inet firewalld`, `ip kube-proxy`; URL-encoded `inet%20firewalld`), read from the node\'s nft version',
  examples: ['inet firewalld'],
});
/** An iptables table, or an nft table named the nft way. */
const AnyTableNameSchema = Type.Union([ref(TableNameSchema), NftTableNameSchema]);

/** The version routes that list tables, chains and rules read: iptables (`ipv4`, `ipv6`) or the nft ruleset (`nft`). */
export const TablesQuerySchema = Type.Object({
  dump: Type.Optional(Type.Integer({ minimum: 1, description: 'A dump id of this node; default: its latest version of `family`' })),
  family: Type.Optional({ ...ref(DumpFamilySchema), description: '`ipv4` (default), `ipv6`, or `nft` for the node\'s nftables ruleset' }),
});

export const CountersSchema = Type.Object(
  { packets: Type.Number({ minimum: 0 }), bytes: Type.Number({ minimum: 0 }) },
  { $id: 'Counters', description: 'Packet and byte counters (as numbers; beyond 2^53 they lose precision).' },
);

export const RuleRefSchema = Type.Object(
  { table: Type.String(), chain: Type.String(), position: Type.Integer({ minimum: 1 }) },
  { $id: 'RuleRef', description: 'A rule by table, chain and 1-based position.' },
);

export const TableSummarySchema = Type.Object(
  {
    name: AnyTableNameSchema,
    chains: Type.Integer({ minimum: 0 }),
    rules: Type.Integer({ minimum: 0 }),
    sets: Type.Optional(Type.Integer({ minimum: 0, description: 'nft tables: named sets and maps' })),
  },
  { $id: 'TableSummary' },
);
export const TableListSchema = Type.Object(
  { dump: Type.Integer(), family: ref(DumpFamilySchema), tables: Type.Array(ref(TableSummarySchema)) },
  { $id: 'TableList', examples: [{ dump: 3, family: 'ipv4', tables: [{ name: 'nat', chains: 12, rules: 30 }, { name: 'filter', chains: 9, rules: 20 }] }] },
);

export const ChainSummarySchema = Type.Object(
  {
    name: Type.String(),
    builtin: Type.Boolean(),
    policy: Type.Union([Type.String(), Type.Null()], { description: 'ACCEPT/DROP for built-in chains, UNKNOWN when not known, null for user chains' }),
    rules: Type.Integer({ minimum: 0 }),
    counters: Type.Union([ref(CountersSchema), Type.Null()]),
    referencedBy: Type.Array(ref(RuleRefSchema), { description: 'Rules that jump or go to this chain' }),
    jumpsTo: Type.Array(Type.String(), { description: 'Chains this chain jumps or goes to' }),
    type: Type.Optional(StringEnum(['filter', 'nat', 'route'], { description: 'nft base chains: the chain type' })),
    hook: Type.Optional(Type.String({ description: 'nft base chains: the hook (`prerouting`, `input`, `forward`, `output`, `postrouting`, `ingress`, `egress`)' })),
    priority: Type.Optional(Type.Integer({ description: 'nft base chains: the numeric priority the kernel orders by' })),
  },
  { $id: 'ChainSummary', description: 'A chain. For an nft table: `builtin` means a base chain (with `type`, `hook`, `priority` and its `policy` `accept`/`drop`), `counters` is null (nft chains have none).' },
);
export const ChainListSchema = Type.Object(
  {
    dump: Type.Integer(),
    table: AnyTableNameSchema,
    chains: Type.Array(ref(ChainSummarySchema)),
    total: Type.Integer({ minimum: 0, description: 'How many there are in all (this page holds at most `limit` of them)' }),
    nextCursor: NextCursorSchema,
  },
  { $id: 'ChainList' },
);

const LooseObject = (description: string) => Type.Object({ kind: Type.String() }, { additionalProperties: true, description });

export const RuleSchema = Type.Object(
  {
    position: Type.Integer({ minimum: 1 }),
    line: Type.Integer({ minimum: 0, description: 'Line in the text the ruleset was parsed from (the canonical text unless `source=original`)' }),
    text: Type.String({ description: 'The rule as canonical iptables-save prints it' }),
    raw: Type.String({ description: 'The rule as written in the parsed text' }),
    counters: Type.Union([ref(CountersSchema), Type.Null()]),
    matches: Type.Array(LooseObject('A typed match: `protocol`, `source`, `destination`, `inInterface`, `outInterface`, `fragment` or `module` (with `module`, `options`)')),
    target: Type.Union([LooseObject('`verdict`, `jump`, `goto` or `extension` (with `name`, `options`)'), Type.Null()]),
  },
  { $id: 'Rule' },
);

export const NftRuleSchema = Type.Object(
  {
    position: Type.Integer({ minimum: 1 }),
    line: Type.Integer({ minimum: 0, description: 'Line in the uploaded text (0 for `nft -j` JSON, which is one line)' }),
    handle: Type.Optional(Type.Integer({ description: 'The rule handle (`nft -a`, or JSON)' })),
    text: Type.String({ description: 'The rule as packetpath prints it (nft syntax)' }),
    raw: Type.String({ description: 'The rule as written in the uploaded text (JSON uploads: as packetpath prints it)' }),
    counters: Type.Union([ref(CountersSchema), Type.Null()], { description: 'Its `counter` statement\'s values, null without one' }),
    comment: Type.Optional(Type.String()),
    stmts: Type.Array(LooseObject('A statement of the nft model: `match`, `verdict`, `counter`, `nat`, `mangle`, `vmap`, ...')),
  },
  { $id: 'NftRule', description: 'A rule of an nft chain.' },
);

export const NftChainDetailSchema = Type.Object(
  {
    dump: Type.Integer(),
    table: NftTableNameSchema,
    name: Type.String(),
    builtin: Type.Boolean({ description: 'A base chain' }),
    policy: Type.Union([StringEnum(['accept', 'drop']), Type.Null()]),
    type: Type.Optional(StringEnum(['filter', 'nat', 'route'])),
    hook: Type.Optional(Type.String()),
    priority: Type.Optional(Type.Integer()),
    counters: Type.Null(),
    referencedBy: Type.Array(ref(RuleRefSchema)),
    jumpsTo: Type.Array(Type.String()),
    rules: Type.Array(ref(NftRuleSchema)),
    total: Type.Integer({ minimum: 0, description: 'How many there are in all (this page holds at most `limit` of them)' }),
    nextCursor: NextCursorSchema,
  },
  { $id: 'NftChainDetail', description: 'A chain of an nft table (`table` named the nft way) with its rules.' },
);

export const ChainDetailSchema = Type.Object(
  {
    dump: Type.Integer(),
    table: ref(TableNameSchema),
    name: Type.String(),
    builtin: Type.Boolean(),
    policy: Type.Union([Type.String(), Type.Null()]),
    counters: Type.Union([ref(CountersSchema), Type.Null()]),
    referencedBy: Type.Array(ref(RuleRefSchema)),
    jumpsTo: Type.Array(Type.String()),
    rules: Type.Array(ref(RuleSchema)),
    total: Type.Integer({ minimum: 0, description: 'How many there are in all (this page holds at most `limit` of them)' }),
    nextCursor: NextCursorSchema,
  },
  { $id: 'ChainDetail' },
);

export const ChainParamsSchema = Type.Object({ node: NodeNameSchema, table: AnyTableNameSchema, chain: Type.String({ minLength: 1, maxLength: 256 }) });
export const TableParamsSchema = Type.Object({ node: NodeNameSchema, table: AnyTableNameSchema });
export const ChainQuerySchema = Type.Composite([
  VersionQuerySchema,
  RulePageQuerySchema,
  Type.Object({
    format: Type.Optional(
      StringEnum(['json', 'save', 'listing'], { description: '`save`: iptables-save lines (nft: the rules in nft syntax); `listing`: exactly what iptables -L -n -v --line-numbers prints (nft: the chain in its table, as `nft list chain` prints it)' }),
    ),
  }),
]);

export const ChainListQuerySchema = Type.Composite([VersionQuerySchema, RulePageQuerySchema]);

export const RuleSearchQuerySchema = Type.Composite([
  TablesQuerySchema,
  RulePageQuerySchema,
  Type.Object({
    service: Type.Optional(Type.String({ description: 'kube-proxy Service port `namespace/name[:port]`', examples: ['nginx-test/nginx-service'] })),
    ip: Type.Optional(Type.String({ description: 'Rules whose addresses (or NAT targets) contain this IP', examples: ['10.224.2.16'] })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    proto: Type.Optional(Type.String({ examples: ['tcp'] })),
    target: Type.Optional(Type.String({ description: 'Target: ACCEPT, DNAT, a chain name ...', examples: ['DNAT'] })),
    chain: Type.Optional(Type.String({ description: 'Chain name; a trailing `*` matches a prefix', examples: ['KUBE-SEP-*'] })),
    comment: Type.Optional(Type.String({ description: 'Substring of a `-m comment`' })),
    table: Type.Optional(AnyTableNameSchema),
  }),
]);

export const RuleHitSchema = Type.Object(
  {
    table: Type.String(),
    chain: Type.String(),
    position: Type.Integer(),
    line: Type.Integer(),
    text: Type.String(),
    raw: Type.String(),
    counters: Type.Union([ref(CountersSchema), Type.Null()]),
  },
  { $id: 'RuleHit' },
);
export const RuleSearchResultSchema = Type.Object(
  {
    dump: Type.Integer(),
    rules: Type.Array(ref(RuleHitSchema)),
    nextCursor: NextCursorSchema,
  },
  { $id: 'RuleSearchResult', description: 'Matching rules in dump order, a page at a time (no total: counting every match of a big node would cost what paging saves)' },
);

export const ServiceEndpointSchema = Type.Object(
  {
    chain: Type.String(),
    ip: Type.Union([Type.String(), Type.Null()]),
    port: Type.Union([Type.Integer(), Type.Null()]),
    probability: Type.Number({ description: 'Chance a new connection picks this endpoint' }),
    ruleProbability: Type.Union([Type.String(), Type.Null()], { description: 'The `statistic --probability` of its KUBE-SVC rule' }),
    hairpinMasquerade: Type.Boolean(),
  },
  { $id: 'ServiceEndpoint' },
);
export const ServiceSchema = Type.Object(
  {
    name: Type.String({ description: '`namespace/name:port`' }),
    namespace: Type.String(),
    service: Type.String(),
    portName: Type.String(),
    protocol: Type.Union([Type.String(), Type.Null()]),
    clusterIP: Type.Union([Type.String(), Type.Null()]),
    port: Type.Union([Type.Integer(), Type.Null()]),
    nodePort: Type.Union([Type.Integer(), Type.Null()]),
    externalIPs: Type.Array(Type.String()),
    loadBalancerIPs: Type.Array(Type.String()),
    svcChain: Type.Union([Type.String(), Type.Null()]),
    extChain: Type.Union([Type.String(), Type.Null()]),
    endpoints: Type.Array(ref(ServiceEndpointSchema)),
    masqueradeRules: Type.Array(ref(RuleRefSchema)),
    noEndpointRules: Type.Array(ref(RuleRefSchema), { description: "kube-proxy's REJECT/DROP when there are no endpoints" }),
    mode: Type.Optional(StringEnum(['iptables', 'nftables'], { description: "The kube-proxy mode the Service was read from: `iptables` (KUBE-* chains; rule refs name iptables tables) or `nftables` (the `kube-proxy` nft table; rule refs name that table and its chains or maps)" })),
  },
  { $id: 'Service' },
);
export const ServiceListSchema = Type.Object(
  {
    dump: Type.Integer({ description: 'The iptables version read, or the nft ruleset when the node has no iptables dump of the family' }),
    nftDump: Type.Optional(Type.Integer({ description: 'The nft ruleset version read for kube-proxy\'s nftables mode' })),
    modes: Type.Array(StringEnum(['iptables', 'nftables']), { description: 'The kube-proxy modes whose Services were found (both on a node that is changing mode)' }),
    services: Type.Array(ref(ServiceSchema)),
  },
  { $id: 'ServiceList' },
);

export const FindingSchema = Type.Object(
  {
    code: Type.String(),
    severity: Type.String(),
    table: Type.Optional(Type.String()),
    chain: Type.Optional(Type.String()),
    rule: Type.Optional(Type.Integer()),
    line: Type.Optional(Type.Integer()),
    message: Type.String(),
    explanation: Type.String(),
    owner: Type.Optional(Type.String({ description: 'Findings across owners (a node with an nft ruleset): whose rules the finding blames, from table and chain names: `kube-proxy (nftables mode)`, `Calico ...`, `Docker ...`, `firewalld`, `flannel ...`, `netavark (Podman)`, `iptables (nft backend)`, `unknown`' })),
  },
  { $id: 'Finding' },
);
export const FindingListSchema = Type.Object(
  {
    dump: Type.Integer({ description: 'The iptables version linted, or the nft ruleset when the node has no iptables dump of the family' }),
    nftDump: Type.Optional(Type.Integer({ description: 'The nft ruleset linted with it, as one node' })),
    findings: Type.Array(ref(FindingSchema)),
  },
  { $id: 'FindingList' },
);

export const DiffQuerySchema = Type.Object({
  left: NodeNameSchema,
  right: NodeNameSchema,
  leftDump: Type.Optional(Type.Integer({ minimum: 1 })),
  rightDump: Type.Optional(Type.Integer({ minimum: 1 })),
  family: Type.Optional(ref(DumpFamilySchema)),
  format: Type.Optional(StringEnum(['json', 'unified', 'svg', 'dot', 'mermaid'], { description: '`json` (default), `unified` (a text diff), or one table drawn as its chain graph with added, removed and changed chains marked: `svg`, `dot`, `mermaid`' })),
  packets: Type.Optional(Type.Literal('auto', { description: '`auto`: also trace probe packets built from both rulesets and report those whose outcome differs' })),
  ...DiffGraphQueryFields,
});

export const DiffLineSchema = Type.Object({ op: Type.String({ description: '` ` kept, `-` only left, `+` only right' }), text: Type.String(), left: Type.Optional(Type.Integer()), right: Type.Optional(Type.Integer()) }, { $id: 'DiffLine' });
export const ChainDiffSchema = Type.Object(
  {
    table: Type.String(),
    chain: Type.String(),
    status: Type.String({ description: '`onlyLeft`, `onlyRight` or `changed`' }),
    policy: Type.Optional(
      Type.Object(
        { left: Type.Union([Type.String(), Type.Null()]), right: Type.Union([Type.String(), Type.Null()]) },
        { description: 'Built-in chains only: present when the policies differ, or when the chain exists on one side only (null on the other side)' },
      ),
    ),
    base: Type.Optional(
      Type.Object(
        { left: Type.Union([Type.String(), Type.Null()]), right: Type.Union([Type.String(), Type.Null()]) },
        { description: 'nft base chains (`family=nft`): the declaration (type, hook, priority, policy) when it differs or the chain exists on one side only; null where it is a regular chain or absent' },
      ),
    ),
    added: Type.Integer(),
    removed: Type.Integer(),
    lines: Type.Array(ref(DiffLineSchema)),
  },
  { $id: 'ChainDiff' },
);
export const ProbeDifferenceSchema = Type.Object(
  { probe: Type.Object({}, { additionalProperties: true }), left: Type.Array(Type.String()), right: Type.Array(Type.String()) },
  { $id: 'ProbeDifference' },
);
export const DiffResultSchema = Type.Object(
  {
    left: Type.Object({ node: Type.String(), dump: Type.Union([Type.Integer(), Type.Null()], { description: 'null: the node has no version of that family but has the other kind (compared as empty)' }) }),
    right: Type.Object({ node: Type.String(), dump: Type.Union([Type.Integer(), Type.Null()]) }),
    family: Type.Optional(Type.Literal('nft', { description: 'Set when nft rulesets were compared' })),
    summary: Type.Object({
      policiesDiffer: Type.Integer({ description: 'Built-in chain policies (nft: base chain declarations) that differ' }),
      chainsOnlyLeft: Type.Integer(),
      chainsOnlyRight: Type.Integer(),
      chainsChanged: Type.Integer(),
      rulesAdded: Type.Integer(),
      rulesRemoved: Type.Integer(),
      setsChanged: Type.Optional(Type.Integer({ description: 'nft: sets and maps whose members or declaration differ' })),
      elementsAdded: Type.Optional(Type.Integer()),
      elementsRemoved: Type.Optional(Type.Integer()),
      identical: Type.Boolean(),
    }),
    tablesOnlyLeft: Type.Array(Type.String({ description: 'iptables table names; nft tables as `family name`' })),
    tablesOnlyRight: Type.Array(Type.String()),
    chains: Type.Array(ref(ChainDiffSchema)),
    sets: Type.Optional(
      Type.Array(
        Type.Object({
          table: Type.String({ description: '`family name`' }),
          set: Type.String(),
          kind: StringEnum(['set', 'map']),
          status: StringEnum(['onlyLeft', 'onlyRight', 'changed']),
          declaration: Type.Optional(Type.Object({ left: Type.Union([Type.String(), Type.Null()]), right: Type.Union([Type.String(), Type.Null()]) })),
          added: Type.Array(Type.String(), { description: 'Members on the right only, as nft prints them' }),
          removed: Type.Array(Type.String(), { description: 'Members on the left only' }),
        }),
        { description: 'nft sets and maps compared by members (a Service more in kube-proxy\'s `service-ips` is one added element)' },
      ),
    ),
    probes: Type.Optional(Type.Object({ count: Type.Integer(), differences: Type.Array(ref(ProbeDifferenceSchema)) }, { description: 'With `packets=auto`' })),
  },
  { $id: 'DiffResult' },
);

export const PacketSchema = Type.Object(
  {
    src: Type.String({ examples: ['192.0.2.100'] }),
    dst: Type.String({ examples: ['10.108.94.160'] }),
    protocol: Type.String({ description: '`tcp`, `udp`, `sctp`, `icmp`, `icmpv6` or a number', examples: ['tcp'] }),
    sport: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    dport: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    icmpType: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    icmpCode: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    inInterface: Type.Optional(Type.String({ description: 'Interface the packet arrives on (PREROUTING path)' })),
    local: Type.Optional(Type.Boolean({ description: 'Sent by a local process (OUTPUT path)' })),
    state: Type.Optional(Type.String({ description: 'Conntrack state: NEW (default), ESTABLISHED, RELATED, INVALID, UNTRACKED' })),
    ctStatus: Type.Optional(Type.Array(Type.String())),
    mark: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String()])),
    connmark: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String()])),
    tcpFlags: Type.Optional(Type.String({ examples: ['SYN'] })),
    uid: Type.Optional(Type.Integer({ minimum: 0 })),
    gid: Type.Optional(Type.Integer({ minimum: 0 })),
    length: Type.Optional(Type.Integer({ minimum: 20 })),
    ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  },
  { $id: 'Packet', description: 'The packet to trace.' },
);

/** What-if bounds: far beyond any hand-written change, small enough that one request cannot hog the server. */
export const MAX_WHATIF_CHANGES = 1000;
export const MAX_WHATIF_COMMAND_LENGTH = 4096;
export const MAX_WHATIF_NODES = 256;
const WhatIfCommands = Type.Array(Type.String({ minLength: 1, maxLength: MAX_WHATIF_COMMAND_LENGTH }), { maxItems: MAX_WHATIF_CHANGES });

export const TraceRequestSchema = Type.Object(
  {
    node: Type.Optional(NodeNameSchema),
    dumpId: Type.Optional(Type.Integer({ minimum: 1 })),
    packet: ref(PacketSchema),
    host: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Host file (interfaces, routes, forwarding, ipsets, routeLocalnet, conntrack, backend) overriding the stored one' })),
    changes: Type.Optional(
      Type.Union([WhatIfCommands, Type.Record(NodeNameSchema, WhatIfCommands, { maxProperties: MAX_WHATIF_NODES })], {
        description: `What-if iptables commands (\`-I FORWARD 1 ...\`, \`-A\`, \`-D\`, \`-P FORWARD ACCEPT\`, \`-t nat ...\`) applied for this trace only; for cluster traces an object keyed by node name. At most ${MAX_WHATIF_CHANGES} commands of ${MAX_WHATIF_COMMAND_LENGTH} characters per node, ${MAX_WHATIF_NODES} nodes.`,
        examples: [['-A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT']],
      }),
    ),
    cluster: Type.Optional(Type.String({ description: 'Cluster name: trace across its nodes' })),
    from: Type.Optional(Type.Object({ node: NodeNameSchema, interface: Type.Optional(Type.String()), local: Type.Optional(Type.Boolean()) })),
    follow: Type.Optional(Type.Boolean({ description: 'Follow the packet across the cluster (default true with `cluster`)' })),
    counters: Type.Optional(
      Type.Boolean({
        description:
          'Mark the rules on the path that real traffic is hitting now: iptables events whose rule or policy counted packets in the node\'s latest counter window (its latest upload against the one before, `GET /nodes/{node}/counters`) get `hits` (default false)',
      }),
    ),
  },
  {
    $id: 'TraceRequest',
    examples: [
      { node: 'node02', packet: { src: '10.224.0.0', dst: '10.224.2.16', protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'flannel.1' } },
      { cluster: 'lab', from: { node: 'master', interface: 'eth0' }, packet: { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: 51000, dport: 80 }, follow: true },
    ],
  },
);
export type TraceRequest = Static<typeof TraceRequestSchema>;

export const TraceEventSchema = Type.Object(
  {
    table: Type.String({ description: 'The iptables table, or the nft table name for a native nftables event' }),
    chain: Type.String(),
    kind: Type.String({ description: '`rule` or `policy`' }),
    rule: Type.Union([Type.Integer(), Type.Null()], { description: '1-based position of the rule in its chain' }),
    text: Type.String(),
    verdict: Type.String({ description: 'iptables: JUMP:<chain>, GOTO:<chain>, ACCEPT, DROP, RETURN, CONTINUE, QUEUE; nftables, as `nft monitor trace` words: accept, drop, continue, return, queue, jump <chain>, goto <chain>' }),
    language: Type.Optional(Type.Literal('nftables', { description: 'Set on events of native nftables rules; iptables events have no `language`' })),
    family: Type.Optional(Type.String({ description: 'nft table family (ip, ip6, inet) of an nftables event' })),
    handle: Type.Optional(Type.Integer({ description: 'nft rule handle of an nftables rule event' })),
    backend: Type.Optional(StringEnum(['legacy'], { description: 'Set on events of iptables-legacy tables traced next to iptables-nft ones (a node using both backends; see the agent\'s `<node>.iptables-legacy` companion)' })),
    hook: Type.String(),
    line: Type.Optional(Type.Integer()),
    changes: Type.Optional(Type.Array(Type.String())),
    hits: Type.Optional(
      Type.Object(
        {
          packets: Type.Integer({ description: 'Packets the rule (or policy) counted between the node\'s two latest uploads' }),
          bytes: Type.Integer(),
          since: Type.String({ format: 'date-time', description: 'The upload before the latest: where the window starts (it ends at the latest upload)' }),
        },
        { description: 'With `counters: true` in the request: real traffic this rule counted lately; absent when it counted none' },
      ),
    ),
  },
  { $id: 'TraceEvent' },
);
export const BaseChainRunSchema = Type.Object(
  {
    hook: StringEnum(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']),
    language: StringEnum(['iptables', 'nftables'], { description: 'An iptables table (either backend) or a native nft base chain' }),
    backend: Type.Optional(StringEnum(['legacy'], { description: 'A table of iptables-legacy, in use next to iptables-nft on this node' })),
    family: Type.Optional(Type.String({ description: 'nft table family (ip, ip6, inet) of an nftables base chain' })),
    table: Type.String(),
    chain: Type.String({ description: 'The base chain (for iptables, the built-in chain named after the hook)' }),
    priority: Type.Integer({ description: 'Its priority at the hook (iptables tables at their standard ones: raw -300, mangle -150, dstnat -100, filter 0, security 50 or 150, srcnat 100)' }),
    owner: Type.String({ description: 'Who writes the table, from its name: `kube-proxy (nftables mode)`, `Docker (nftables backend)`, `firewalld`, `iptables (nft backend)`..., or `unknown`' }),
    verdict: Type.String({ description: 'What the base chain ended with: its last rule or policy verdict' }),
    byPolicy: Type.Boolean({ description: 'The verdict is the chain\'s policy (no rule decided)' }),
    decided: Type.Boolean({ description: 'This base chain ended the packet' }),
  },
  { $id: 'BaseChainRun' },
);
export const TraceOutcomeSchema = Type.Object(
  {
    probability: Type.Union([Type.Number(), Type.Null()]),
    verdict: StringEnum(FINAL_VERDICTS),
    disposition: StringEnum(DISPOSITIONS),
    packet: Type.Object({}, { additionalProperties: true, description: 'The packet where the path ends: src, dst, sport, dport, protocol, mark, connmark, state, inInterface, outInterface; `sportRandomized`/`sportRange` (and `dportRandomized`/`dportRange`) when NAT picks the port at random from a range, so the number shown is one of many' }),
    events: Type.Array(ref(TraceEventSchema)),
    assumptions: Type.Array(Type.String()),
    reason: Type.String(),
    nextHop: Type.Optional(Type.String()),
    nearMisses: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
    explanation: Type.Optional(Type.Object({}, { additionalProperties: true })),
    baseChains: Type.Optional(
      Type.Array(ref(BaseChainRunSchema), {
        description:
          'The base chains the path ran, hook by hook in the order the kernel runs them, iptables tables and native nft chains alike. In nftables an accept ends only its own base chain, so a packet one owner accepted can still be dropped by another: `decided` marks the one that ended it.',
      }),
    ),
  },
  { $id: 'TraceOutcome' },
);
export const ClusterPathSchema = Type.Object(
  {
    probability: Type.Union([Type.Number(), Type.Null()]),
    end: StringEnum(CLUSTER_ENDS, { description: 'How the path ends' }),
    endNode: Type.String(),
    summary: Type.String(),
    hops: Type.Array(Type.Object({ node: Type.String(), inInterface: Type.Union([Type.String(), Type.Null()]), outcome: ref(TraceOutcomeSchema) })),
  },
  { $id: 'ClusterPath' },
);
export const TraceResponseSchema = Type.Object(
  {
    outcomes: Type.Optional(Type.Array(ref(TraceOutcomeSchema), { description: 'Single-node trace (the contract of cli-and-trace.md)' })),
    paths: Type.Optional(Type.Array(ref(ClusterPathSchema), { description: 'Cluster trace: one entry per path through the nodes' })),
    warnings: Type.Array(Type.String()),
    node: Type.Optional(Type.String()),
    dump: Type.Optional(Type.Integer({ description: 'The version traced: the iptables dump of the packet\'s family, or the nft ruleset when the node has only that' })),
    nftDump: Type.Optional(Type.Integer({ description: 'The node\'s nft ruleset version traced with it (every base chain of every owner runs in one pipeline)' })),
    legacyDump: Type.Optional(Type.Integer({ description: 'The iptables-legacy version of the node\'s companion `<node>.iptables-legacy` traced with it (a node using both iptables backends)' })),
    whatIf: Type.Optional(
      Type.Object({
        changes: Type.Union([Type.Array(Type.String()), Type.Record(Type.String(), Type.Array(Type.String()))]),
        before: Type.Array(Type.String(), { description: 'The outcomes without the changes' }),
        after: Type.Array(Type.String(), { description: 'The outcomes with the changes' }),
        changed: Type.Boolean(),
      }),
    ),
  },
  { $id: 'TraceResponse' },
);

export const QUERY_SCHEMAS = [
  TableNameSchema,
  CountersSchema,
  RuleRefSchema,
  TableSummarySchema,
  TableListSchema,
  ChainSummarySchema,
  ChainListSchema,
  RuleSchema,
  ChainDetailSchema,
  NftRuleSchema,
  NftChainDetailSchema,
  RuleHitSchema,
  RuleSearchResultSchema,
  ServiceEndpointSchema,
  ServiceSchema,
  ServiceListSchema,
  FindingSchema,
  FindingListSchema,
  DiffLineSchema,
  ChainDiffSchema,
  ProbeDifferenceSchema,
  DiffResultSchema,
  PacketSchema,
  TraceRequestSchema,
  TraceEventSchema,
  BaseChainRunSchema,
  TraceOutcomeSchema,
  ClusterPathSchema,
  TraceResponseSchema,
] as const;
