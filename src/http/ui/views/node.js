// @ts-check
// #/node/{node}: its versions, tables and findings;
// #/node/{node}/{table}: the table's chain graph (views/graph.js) and chains (policy, rules, counters);
// #/node/{node}/{table}/{chain}: the chain's rules. `?family=ipv6` picks the family.
import { get, nodePath } from '../api.js';
import { h, hrefOf, link, replace, table, when } from '../dom.js';
import { chainGraphSection } from './graph.js';
import { severityBadges } from './nodes.js';

/** @typedef {import('../types').NodeInfo} NodeInfo */
/** @typedef {import('../types').ChainSummary} ChainSummary */
/** @typedef {import('../types').ChainDetail} ChainDetail */

/**
 * @param {import('../types').Counters | null | undefined} c
 * @returns {[string | number, string | number]}
 */
function counterCells(c) {
  return c ? [c.packets, c.bytes] : ['', ''];
}

/**
 * Nodes › node › table › chain, each a link but the last.
 * @param {string[]} trail
 * @param {string} query
 */
function breadcrumb(trail, query) {
  /** @type {HTMLElement[]} */
  const items = [link(['nodes'], 'Nodes')];
  trail.forEach((label, i) => {
    const href = hrefOf(['node', ...trail.slice(0, i + 1)]) + (i ? query : '');
    items.push(i === trail.length - 1 ? h('span', { 'aria-current': 'page' }, label) : h('a', { href }, label));
  });
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, items.map((el, i) => [i ? ' › ' : '', el]));
}

/** @type {import('../app.js').View} */
export async function showNode(section, [name = '', tableName, chainName], query) {
  const family = query.get('family') ?? undefined;
  const suffix = family ? `?family=${encodeURIComponent(family)}` : '';
  if (chainName && tableName) return showChain(section, name, tableName, chainName, family, suffix);
  if (tableName) return showTable(section, name, tableName, family, suffix, query);
  return showNodeSummary(section, name);
}

/**
 * @param {HTMLElement} section
 * @param {string} name
 */
async function showNodeSummary(section, name) {
  replace(section, breadcrumb([name], ''), h('h1', {}, name), h('p', { class: 'muted' }, 'Loading…'));
  /** @type {NodeInfo} */
  const node = await get(nodePath(name));
  // Each family's tables; nft tables are named with their family (`ip kube-proxy`), so their links need no ?family.
  const families = /** @type {const} */ (['ipv4', 'ipv6', 'nft']).filter((f) => node.latest[f]);
  /** @type {[string, import('../types').TableList][]} */
  const tableLists = await Promise.all(families.map(async (f) => /** @type {[string, any]} */ ([f, await get(`${nodePath(name)}/tables`, { family: f })])));
  /** @type {{ findings: import('../types').Finding[] }} */
  const findings = await get(`${nodePath(name)}/findings`);
  const versions = /** @type {const} */ (['ipv4', 'ipv6', 'nft']).flatMap((f) => {
    const d = node.latest[f];
    return d ? [{ ...d, family: f }] : [];
  });

  replace(
    section,
    breadcrumb([name], ''),
    h('h1', {}, name),
    h(
      'p',
      {},
      node.cluster ? ['Cluster ', link(['trace', 'cluster', node.cluster], node.cluster), ' · '] : null,
      h('a', { href: hrefOf(['trace', 'node', name]) }, 'Trace a packet on this node'),
      ' · ',
      h('a', { href: hrefOf(['diff', name]) }, 'Diff with another node'),
    ),
    h('h2', {}, 'Latest versions'),
    table(['Family', 'Version', 'Received', 'Last upload', 'Tables', 'Chains', 'Rules'], versions, (d) => [
      d.family,
      d.id,
      when(d.receivedAt),
      when(d.lastSeenAt),
      d.stats.tables,
      d.stats.chains,
      d.stats.rules,
    ]),
    tableLists.map(([f, list]) => [
      h('h2', {}, `Tables (${f})`),
      table(['Table', 'Chains', 'Rules'], list.tables, (t) => [
        h('a', { href: hrefOf(['node', name, t.name]) + (f === 'ipv6' ? `?family=${f}` : '') }, t.name),
        t.chains,
        t.rules,
      ]),
    ]),
    h('h2', {}, 'Findings ', severityBadges(findings.findings)),
    findings.findings.length
      ? table(['Severity', 'Code', 'Line', 'Finding'], findings.findings, (f) => [
          h('span', { class: `badge sev-${f.severity}` }, f.severity),
          h('code', {}, f.code),
          f.line ?? '',
          [f.message, f.explanation ? h('div', { class: 'muted' }, f.explanation) : null],
        ])
      : h('p', {}, 'None.'),
  );
}

/**
 * @param {HTMLElement} section
 * @param {string} name
 * @param {string} tableName
 * @param {string | undefined} family
 * @param {string} suffix
 * @param {URLSearchParams} query
 */
async function showTable(section, name, tableName, family, suffix, query) {
  replace(section, breadcrumb([name, tableName], suffix), h('h1', {}, `${name}: ${tableName}`), h('p', { class: 'muted' }, 'Loading…'));
  // Drawn while the chains are listed (a 10k-Service nat table is many pages of chains, its graph a dozen boxes).
  const graph = chainGraphSection(name, tableName, family, query);
  /** @type {ChainSummary[]} */
  const chains = [];
  /** @type {string | undefined} */
  let cursor;
  do {
    /** @type {{ chains: ChainSummary[], nextCursor: string | null }} */
    const page = await get(`${nodePath(name)}/tables/${encodeURIComponent(tableName)}/chains`, { family, cursor, limit: 500 });
    chains.push(...page.chains);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const chainTable = table(
    ['Chain', 'Policy', 'Rules', 'Packets', 'Bytes', 'Jumped to from'],
    chains,
    (c) => [
      h('a', { href: hrefOf(['node', name, tableName, c.name]) + suffix }, c.name),
      c.policy ? h('span', { class: `policy policy-${c.policy}` }, c.policy) : h('span', { class: 'muted' }, c.builtin ? '' : 'user chain'),
      c.rules,
      ...counterCells(c.counters),
      c.referencedBy.map((r, i) => [i ? ', ' : '', `${r.chain} #${r.position}`]),
    ],
    (c) => ({ 'data-chain': c.name }),
  );
  chainTable.classList.add('chains');
  replace(
    section,
    breadcrumb([name, tableName], suffix),
    h('h1', {}, `${name}: ${tableName}`),
    graph,
    h('h2', {}, `Chains (${chains.length})`),
    chainTable,
  );
}

/**
 * @param {HTMLElement} section
 * @param {string} name
 * @param {string} tableName
 * @param {string} chainName
 * @param {string | undefined} family
 * @param {string} suffix
 */
async function showChain(section, name, tableName, chainName, family, suffix) {
  const trail = [name, tableName, chainName];
  replace(section, breadcrumb(trail, suffix), h('h1', {}, chainName), h('p', { class: 'muted' }, 'Loading…'));
  /** @type {ChainDetail} */
  const chain = await get(`${nodePath(name)}/tables/${encodeURIComponent(tableName)}/chains/${encodeURIComponent(chainName)}`, { family, limit: 10000 });
  const rules = table(
    ['#', 'Packets', 'Bytes', 'Rule'],
    chain.rules,
    (r) => [r.position, ...counterCells(r.counters), h('code', { class: 'rule' }, r.text)],
    (r) => ({ 'data-position': String(r.position) }),
  );
  rules.classList.add('rules');
  replace(
    section,
    breadcrumb(trail, suffix),
    h('h1', {}, `${tableName} ${chainName}`),
    h(
      'p',
      {},
      chain.policy ? ['Policy ', h('span', { class: `policy policy-${chain.policy}` }, chain.policy), chain.counters ? ` (${chain.counters.packets} packets, ${chain.counters.bytes} bytes)` : '', ' · '] : null,
      `${chain.rules.length} rules`,
      chain.jumpsTo.length ? [' · jumps to ', chain.jumpsTo.map((j, i) => [i ? ', ' : '', h('a', { href: hrefOf(['node', name, tableName, j]) + suffix }, j)])] : null,
      chain.nextCursor ? h('strong', {}, ` (first ${chain.rules.length} of ${chain.total ?? 'more'} shown)`) : null,
    ),
    rules,
  );
}
