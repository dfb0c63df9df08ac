// @ts-check
// #/nodes: the clusters and nodes, each node with its last upload and its
// findings by severity (fetched per node, a few at a time).
import { allNodes, get, nodePath } from '../api.js';
import { h, hrefOf, link, replace, table, when } from '../dom.js';

/** @typedef {import('../types').NodeInfo} NodeInfo */
/** @typedef {import('../types').Finding} Finding */

const SEVERITIES = /** @type {const} */ (['error', 'warning', 'info']);

/**
 * The newest upload of any family (an unchanged re-upload counts: it is when the node last reported).
 * @param {NodeInfo} node
 */
export function lastUpload(node) {
  const times = [node.latest.ipv4, node.latest.ipv6, node.latest.nft].flatMap((d) => (d ? [d.lastSeenAt] : []));
  return times.sort().at(-1) ?? null;
}

/** @param {NodeInfo} node */
function rulesOf(node) {
  return [node.latest.ipv4, node.latest.ipv6, node.latest.nft].reduce((n, d) => n + (d?.stats.rules ?? 0), 0);
}

/**
 * Runs `work` over `items`, at most `width` at a time.
 * @template T
 * @param {readonly T[]} items
 * @param {number} width
 * @param {(item: T) => Promise<void>} work
 */
async function eachLimited(items, width, work) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(/** @type {T} */ (items[next++]));
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/**
 * The badges of a node's findings, counted by severity.
 * @param {readonly Finding[]} findings
 */
export function severityBadges(findings) {
  return SEVERITIES.map((s, i) => {
    const n = findings.filter((f) => f.severity === s).length;
    return [i ? ' ' : '', h('span', { class: `badge sev-${s}${n ? '' : ' zero'}`, title: `${n} ${s}` }, `${n} ${s}`)];
  });
}

/** @type {import('../app.js').View} */
export async function showNodes(section) {
  replace(section, h('h1', {}, 'Nodes'), h('p', { class: 'muted' }, 'Loading nodes…'));
  const nodes = await allNodes();
  if (nodes.length === 0) {
    replace(section, h('h1', {}, 'Nodes'), h('p', {}, 'No node has uploaded a ruleset yet (see the README: “Node agent”, or POST /api/v1/nodes/{node}/dumps).'));
    return;
  }
  /** @type {Map<string, NodeInfo[]>} */
  const clusters = new Map();
  for (const n of nodes) if (n.cluster) clusters.set(n.cluster, [...(clusters.get(n.cluster) ?? []), n]);

  /** @type {Map<string, HTMLElement>} */
  const findingCells = new Map();
  const nodeTable = table(
    ['Node', 'Cluster', 'Last upload', 'Versions', 'Rules', 'Findings', ''],
    nodes,
    (n) => {
      const cell = h('span', { class: 'muted' }, '…');
      findingCells.set(n.name, cell);
      return [
        link(['node', n.name], n.name),
        n.cluster ? link(['trace', 'cluster', n.cluster], n.cluster) : h('span', { class: 'muted' }, '—'),
        when(lastUpload(n)),
        n.dumpCount,
        rulesOf(n),
        cell,
        h('a', { href: hrefOf(['trace', 'node', n.name]) }, 'trace'),
      ];
    },
    (n) => ({ 'data-node': n.name }),
  );
  nodeTable.classList.add('nodes');

  replace(
    section,
    h('h1', {}, 'Nodes'),
    clusters.size
      ? [
          h('h2', {}, 'Clusters'),
          table(['Cluster', 'Nodes', ''], [...clusters], ([name, members]) => [
            name,
            members.map((m, i) => [i ? ', ' : '', link(['node', m.name], m.name)]),
            h('a', { href: hrefOf(['trace', 'cluster', name]) }, 'trace across it'),
          ], ([name]) => ({ 'data-cluster': name })),
        ]
      : null,
    h('h2', {}, `Nodes (${nodes.length})`),
    nodeTable,
  );

  await eachLimited(nodes, 4, async (n) => {
    const cell = /** @type {HTMLElement} */ (findingCells.get(n.name));
    try {
      /** @type {{ findings: Finding[] }} */
      const answer = await get(`${nodePath(n.name)}/findings`);
      replace(cell, severityBadges(answer.findings));
      cell.className = 'findings';
    } catch (err) {
      replace(cell, h('span', { class: 'muted', title: err instanceof Error ? err.message : '' }, 'unavailable'));
    }
  });
}
