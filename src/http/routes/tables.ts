// /api/v1/nodes/{node}/...: tables, chains, rules, services and findings of a
// stored version (the latest unless `?dump=`).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  findChain,
  findTable,
  referencesTo,
  renderChainListing,
  renderRule,
  parseIp,
  searchNftRules,
  searchRulesPage,
  jumpsFrom,
  summarizeChains,
  type Counters,
  type NftRuleFilter,
  type Rule,
  type TableName,
} from '../../netfilter/index.ts';
import { NotFoundError } from '../../store/index.ts';
import { loadNodeRuleset } from '../ruleset.ts';
import { listNodeServices, nodeFindings } from '../services.ts';
import { findNftTable, isNftTableName, loadNftVersion, nftRuleJson, nftTableName, printNftChain, summarizeNftChains } from '../nft-reads.ts';
import { HttpProblem } from '../plugins/errors.ts';
import { tableGraph } from '../chain-graphs.ts';
import { nextCursor, pageOf, pagePosition, type PagePosition } from '../rule-pages.ts';
import {
  ChainDetailSchema,
  ChainListQuerySchema,
  ChainListSchema,
  ChainParamsSchema,
  ChainQuerySchema,
  DrawingSchema,
  FindingListSchema,
  GraphQuerySchema,
  NftChainDetailSchema,
  NodeParamsSchema,
  RuleSearchQuerySchema,
  RuleSearchResultSchema,
  ServiceListSchema,
  TableListSchema,
  TableParamsSchema,
  TablesQuerySchema,
  VersionQuerySchema,
  jsonResponse,
  problemResponses,
  ref,
} from '../schemas/index.ts';

const counters = (c: Counters | undefined) => (c ? { packets: Number(c.packets), bytes: Number(c.bytes) } : null);

function ruleJson(chain: string, r: Rule) {
  const plain = JSON.parse(JSON.stringify({ matches: r.matches, target: r.target }, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))) as { matches: { kind: string }[]; target: { kind: string } | null };
  return { position: r.position, line: r.line, text: renderRule(chain, r), raw: r.raw, counters: counters(r.counters), ...plain };
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const READ = { scope: 'read' } as const;

const tables: FastifyPluginAsyncTypebox = async (app) => {
  /** Rule search in the node's nft version: by table (`inet firewalld`), chain (trailing `*`: a prefix), comment, target (a verdict or the chain a rule jumps to). */
  const findNftRules = async (node: string, q: NftRuleFilter & { dump?: number; limit?: number; cursor?: string; family?: string }, at: PagePosition) => {
    const { ruleset, dump } = await loadNftVersion(app, node, q.dump ?? 'latest');
    const { dump: _dump, limit: _limit, cursor: _cursor, family: _family, ...filter } = q;
    const { page, nextCursor } = pageOf(searchNftRules(ruleset, filter), at, dump.id);
    const rules = page.map(({ table, chain, rule }) => {
      const j = nftRuleJson(rule);
      return { table: nftTableName(table), chain: chain.name, position: rule.position, line: j.line, text: j.text, raw: j.raw, counters: j.counters };
    });
    return { dump: dump.id, rules, nextCursor };
  };

  // The latest uploaded text of the version: its raw lines and counters (the canonical text has neither).
  const load = (node: string, q: { dump?: number; family?: 'ipv4' | 'ipv6' }) =>
    loadNodeRuleset(app, node, q.dump ?? 'latest', { source: 'original', ...(q.family ? { family: q.family } : {}) });

  app.get(
    '/nodes/:node/tables',
    {
      config: READ,
      schema: {
        tags: ['query'],
        operationId: 'listTables',
        summary: 'Tables of a version',
        description: '`?family=nft` (or `?dump=` an nft version): the tables of the node\'s nftables ruleset, named the way nft names them (`inet firewalld`), with their sets and maps.',
        params: NodeParamsSchema,
        querystring: TablesQuerySchema,
        response: { 200: jsonResponse('The tables with their sizes', ref(TableListSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.family === 'nft') {
        const { ruleset, dump } = await loadNftVersion(app, request.params.node, q.dump ?? 'latest');
        return {
          dump: dump.id,
          family: 'nft' as const,
          tables: ruleset.tables.map((t) => ({ name: nftTableName(t), chains: t.chains.length, rules: t.chains.reduce((n, c) => n + c.rules.length, 0), sets: t.sets.length })),
        };
      }
      const { ruleset, dump } = await load(request.params.node, { ...(q.dump !== undefined ? { dump: q.dump } : {}), ...(q.family ? { family: q.family } : {}) });
      return {
        dump: dump.id,
        family: ruleset.family,
        tables: ruleset.tables.map((t) => ({ name: t.name, chains: t.chains.length, rules: t.chains.reduce((n, c) => n + c.rules.length, 0) })),
      };
    },
  );

  app.get(
    '/nodes/:node/tables/:table/chains',
    {
      config: READ,
      schema: {
        tags: ['query'],
        operationId: 'listChains',
        summary: 'Chains of a table',
        description:
          "Each chain's policy, rule count, counters, the rules that jump to it and the chains it jumps to. An nft table named the nft way (`inet firewalld`, URL-encoded) reads the node's nft version (the latest, or `?dump=`); its base chains have `type`, `hook` and `priority`.",
        params: TableParamsSchema,
        querystring: ChainListQuerySchema,
        response: { 200: jsonResponse('The chains, a page at a time', ref(ChainListSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const at = pagePosition(request.query);
      const q = { ...request.query, ...(at.dump !== undefined ? { dump: at.dump } : {}) };
      if (isNftTableName(request.params.table)) {
        const { ruleset, dump } = await loadNftVersion(app, request.params.node, q.dump ?? 'latest');
        const table = findNftTable(ruleset, request.params.table);
        if (!table) throw new NotFoundError(`dump ${dump.id} has no nft table ${request.params.table}`);
        const { page, nextCursor } = pageOf(table.chains, at, dump.id);
        return { dump: dump.id, table: nftTableName(table), chains: summarizeNftChains(table, page), total: table.chains.length, nextCursor };
      }
      const { ruleset, dump } = await load(request.params.node, q);
      const table = findTable(ruleset, request.params.table as TableName);
      if (!table) throw new NotFoundError(`dump ${dump.id} has no ${request.params.table} table`);
      const all = summarizeChains(table);
      const { page, nextCursor } = pageOf(all, at, dump.id);
      return { dump: dump.id, table: table.name, chains: page.map((c) => ({ ...c, referencedBy: [...c.referencedBy], jumpsTo: [...c.jumpsTo], counters: counters(c.counters ?? undefined) })), total: all.length, nextCursor };
    },
  );

  app.get(
    '/nodes/:node/tables/:table/chains/:chain',
    {
      config: READ,
      schema: {
        tags: ['query'],
        operationId: 'getChain',
        summary: 'One chain with its rules',
        description: 'Rules typed and raw with counters, who references the chain and where it jumps. `?format=save` gives the iptables-save lines, `?format=listing` exactly what `iptables -L CHAIN -n -v --line-numbers` prints (byte for byte, checked against the real command: `num` column, hosts without /32, counters abbreviated as iptables does, each extension as its own print function writes it).',
        params: ChainParamsSchema,
        querystring: ChainQuerySchema,
        response: {
          200: {
            description: 'The chain (JSON, or text with `format=save|listing`)',
            content: { 'application/json': { schema: Type.Union([ref(ChainDetailSchema), ref(NftChainDetailSchema)]) }, 'text/plain': { schema: Type.String() } },
          },
          ...problemResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const at = pagePosition(request.query);
      const q = { ...request.query, ...(at.dump !== undefined ? { dump: at.dump } : {}) };
      if (isNftTableName(request.params.table)) {
        const { ruleset, dump } = await loadNftVersion(app, request.params.node, q.dump ?? 'latest');
        const table = findNftTable(ruleset, request.params.table);
        const chain = table?.chains.find((c) => c.name === request.params.chain);
        if (!table || !chain) throw new NotFoundError(`dump ${dump.id} has no chain ${request.params.table}/${request.params.chain}`);
        const format = request.query.format ?? 'json';
        if (format === 'save') return reply.type(TEXT).send(chain.rules.map((r) => nftRuleJson(r).text).join('\n') + (chain.rules.length ? '\n' : ''));
        if (format === 'listing') return reply.type(TEXT).send(printNftChain(table, chain));
        const summary = summarizeNftChains(table, [chain])[0]!;
        // Sent as serialized JSON (the NftChainDetail schema): the route's serializer is the iptables ChainDetail's.
        const { page, nextCursor } = pageOf(chain.rules, at, dump.id);
        return reply.type(JSON_TYPE).send(JSON.stringify({ dump: dump.id, table: nftTableName(table), ...summary, rules: page.map(nftRuleJson), total: chain.rules.length, nextCursor }));
      }
      const { ruleset, dump } = await load(request.params.node, q);
      const table = findTable(ruleset, request.params.table as TableName);
      const chain = findChain(table, request.params.chain);
      if (!table || !chain) throw new NotFoundError(`dump ${dump.id} has no chain ${request.params.table}/${request.params.chain}`);
      const format = request.query.format ?? 'json';
      if (format === 'save') return reply.type(TEXT).send(chain.rules.map((r) => renderRule(chain.name, r)).join('\n') + (chain.rules.length ? '\n' : ''));
      if (format === 'listing') return reply.type(TEXT).send(renderChainListing(table, chain));
      const { page, nextCursor } = pageOf(chain.rules, at, dump.id);
      return {
        dump: dump.id,
        table: table.name,
        name: chain.name,
        builtin: chain.builtin,
        policy: chain.policy,
        counters: counters(chain.counters),
        referencedBy: referencesTo(table, chain.name),
        jumpsTo: jumpsFrom(chain),
        rules: page.map((r) => ruleJson(chain.name, r)),
        total: chain.rules.length,
        nextCursor,
      };
    },
  );

  app.get(
    '/nodes/:node/tables/:table/graph',
    {
      config: READ,
      schema: {
        tags: ['query'],
        operationId: 'drawChainGraph',
        summary: "A table's chain graph, drawn",
        description:
          "Who jumps where: a box per chain with its rule count (built-in and nft base chains with their policy, nft's with type, hook and priority), an arrow per chain jumped to labelled with how many rules jump there (dashed: goto). kube-proxy's per-Service chains are drawn as one box per kind with their counts (iptables `KUBE-SVC-*`, `KUBE-SVL-*`, `KUBE-EXT-*`, `KUBE-FW-*`, `KUBE-SEP-*`; nftables mode `service-*`, `endpoint-*`, `external-*`, `firewall-*`), so a 10k-Service node is tens of boxes; other chains too when 20 or more share a prefix (a CNI's per-interface chains). `expand` draws chosen ones as boxes of their own. `format=svg` (default; laid out by Graphviz, a big picture in a worker), `dot`, `mermaid`, or `json` (the Drawing). An nft table named the nft way (`ip kube-proxy`, URL-encoded) reads the node's nft version. Cached per version and options.",
        params: TableParamsSchema,
        querystring: GraphQuerySchema,
        response: {
          200: {
            description: 'The picture',
            content: {
              'image/svg+xml': { schema: Type.String() },
              'text/vnd.graphviz': { schema: Type.String() },
              'text/vnd.mermaid': { schema: Type.String({ description: 'Mermaid flowchart' }) },
              'application/json': { schema: ref(DrawingSchema) },
            },
          },
          ...problemResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const picture = await tableGraph(app, request.params.node, request.params.table, request.query);
      // Sent as printed (the JSON too: the Drawing schema describes it); the type provider types send() after the 200 schemas.
      return reply.type(picture.type).send(picture.body as never);
    },
  );

  app.get(
    '/nodes/:node/rules',
    {
      config: READ,
      schema: {
        tags: ['query'],
        operationId: 'searchRules',
        summary: 'Search rules',
        description: 'Filters combine with AND. `ip` matches rules whose source/destination CIDRs, ranges or NAT targets contain the address; `service` matches the kube-proxy rules of a Service port (`ns/name` or `ns/name:port`). `?family=nft` searches the node\'s nft ruleset the same way: `table` as nft names it (`inet firewalld`), `target` a verdict such as `drop` or the chain a rule jumps or goes to (through verdict maps too); `ip`, `port` and `proto` match what a rule compares (directly, in an anonymous set, or in a named set or map of its table: kube-proxy\'s `service-ips` map mentions every Service address) and what its NAT rewrites to; `service` the chains kube-proxy\'s nftables mode made for the Service and the rules that lead there. A value that is not an address is a 400.',
        params: NodeParamsSchema,
        querystring: RuleSearchQuerySchema,
        response: { 200: jsonResponse('Matching rules in dump order', ref(RuleSearchResultSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.ip !== undefined && !parseIp(q.ip)) throw new HttpProblem(400, 'bad-request', `ip: "${q.ip}" is not an IPv4 or IPv6 address`, { errors: [{ path: '/ip', message: 'not an IP address' }] });
      const at = pagePosition(q);
      const pinned = at.dump ?? q.dump;
      if (q.family === 'nft') return findNftRules(request.params.node, { ...q, ...(pinned !== undefined ? { dump: pinned } : {}) }, at);
      const { ruleset, dump } = await load(request.params.node, { ...(pinned !== undefined ? { dump: pinned } : {}), ...(q.family ? { family: q.family } : {}) });
      const { hits, more } = searchRulesPage(ruleset, {
        ...(q.service ? { service: q.service } : {}),
        ...(q.ip ? { ip: q.ip } : {}),
        ...(q.port !== undefined ? { port: q.port } : {}),
        ...(q.proto ? { proto: q.proto } : {}),
        ...(q.target ? { target: q.target } : {}),
        ...(q.chain ? { chain: q.chain } : {}),
        ...(q.comment ? { comment: q.comment } : {}),
        ...(q.table ? { table: q.table as TableName } : {}),
      }, at.at, at.limit);
      return { dump: dump.id, rules: hits.map((h) => ({ ...h, counters: counters(h.counters ?? undefined) })), nextCursor: nextCursor(dump.id, at.at + hits.length, more) };
    },
  );

  app.get(
    '/nodes/:node/services',
    {
      config: READ,
      schema: {
        tags: ['query'],
        operationId: 'listServices',
        summary: "kube-proxy's Services, rebuilt from the chains",
        description:
          "For each Service port: cluster IP, protocol, NodePort, external IPs, endpoints with their load-balancing probability, masquerade rules and no-endpoint REJECTs. Read from kube-proxy's iptables mode (the KUBE-* chains of the node's iptables dump) and from its nftables mode (the `ip`/`ip6 kube-proxy` table of the node's nft ruleset); each Service says its `mode`, and `modes` which modes were found. A node in the middle of a mode change can show both. With `dump`, that version only (an iptables dump or an nft ruleset).",
        params: NodeParamsSchema,
        querystring: VersionQuerySchema,
        response: { 200: jsonResponse('The Services', ref(ServiceListSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      return listNodeServices(app, request.params.node, request.query.dump, request.query.family ?? 'ipv4') as Promise<never>;
    },
  );

  app.get(
    '/nodes/:node/findings',
    {
      config: READ,
      schema: {
        tags: ['query'],
        operationId: 'listFindings',
        summary: 'Lint findings',
        description:
          "Undefined chains, loops, unreferenced chains, shadowed and duplicate rules, FORWARD DROP without a pod path, KUBE-MARK-MASQ without MASQUERADE, Services without endpoints, legacy and nft tables both present, uneven statistic shares. With an nft ruleset, findings across owners too, each naming the `owner` it blames: `accept-overridden` (a drop in one owner's base chain overrides another's accept for pod or Service traffic), `forward-policy-drop-pod-traffic`, `split-brain` (iptables-legacy and iptables-nft both with rules), `kube-proxy-both-modes`, `modes-disagree` (kube-proxy's and the CNI's modes), `queue-verdict`, `nft-too-old` / `kernel-too-old` (under kube-proxy's nftables mode, from the versions the agent reports).",
        params: NodeParamsSchema,
        querystring: VersionQuerySchema,
        response: { 200: jsonResponse('Findings, errors first', ref(FindingListSchema)), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      return nodeFindings(app, request.params.node, request.query.dump, request.query.family ?? 'ipv4') as Promise<never>;
    },
  );
};

export default tables;
