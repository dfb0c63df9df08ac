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
 * Calls `load` for each element once it scrolls into view, at most `width` at a time, until `alive()`
 * is false (the view was left): a fleet of thousands of nodes costs only the findings someone looks at.
 * @param {Iterable<HTMLElement>} elements
 * @param {number} width
 * @param {() => boolean} alive
 * @param {(el: HTMLElement) => Promise<void>} load
 */
function loadWhenSeen(elements, width, alive, load) {
  /** @type {HTMLElement[]} */
  const queue = [];
  let running = 0;
  const pump = () => {
    if (!alive()) {
      observer.disconnect();
      queue.length = 0;
      return;
    }
    while (running < width && queue.length) {
      running++;
      void load(/** @type {HTMLElement} */ (queue.shift())).finally(() => {
        running--;
        pump();
      });
    }
  };
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      observer.unobserve(e.target);
      queue.push(/** @type {HTMLElement} */ (e.target));
    }
    pump();
  });
  for (const el of elements) observer.observe(el);
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

  /** Each node's findings cell, filled once it is seen. @type {Map<HTMLElement, string>} */
  const findingCells = new Map();
  const nodeTable = table(
    ['Node', 'Cluster', 'Last upload', 'Versions', 'Rules', 'Findings', ''],
    nodes,
    (n) => {
      const cell = h('span', { class: 'muted' }, '…');
      findingCells.set(cell, n.name);
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
    (n) => ({ 'data-node': n.name, 'data-search': `${n.name} ${n.cluster ?? ''}`.toLowerCase() }),
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
            // A big cluster: its size and the first names (the filter below finds the rest).
            [members.length > 12 ? `${members.length} nodes: ` : '', members.slice(0, 12).map((m, i) => [i ? ', ' : '', link(['node', m.name], m.name)]), members.length > 12 ? ', …' : ''],
            h('a', { href: hrefOf(['trace', 'cluster', name]) }, 'trace across it'),
          ], ([name]) => ({ 'data-cluster': name })),
        ]
      : null,
    h('h2', {}, `Nodes (${nodes.length})`),
    h('div', { class: 'filter' }, h('label', { for: 'nodes-filter' }, 'Filter '), h('input', { id: 'nodes-filter', type: 'search', placeholder: 'node or cluster name', autocomplete: 'off' })),
    nodeTable,
  );

  const filter = /** @type {HTMLInputElement} */ (section.querySelector('#nodes-filter'));
  filter.addEventListener('input', () => {
    const words = filter.value.trim().toLowerCase();
    for (const row of nodeTable.querySelectorAll('tbody tr')) {
      /** @type {HTMLElement} */ (row).hidden = !!words && !(row.getAttribute('data-search') ?? '').includes(words);
    }
  });

  loadWhenSeen(findingCells.keys(), 4, () => section.isConnected, async (cell) => {
    try {
      /** @type {{ findings: Finding[] }} */
      const answer = await get(`${nodePath(findingCells.get(cell) ?? '')}/findings`);
      replace(cell, severityBadges(answer.findings));
      cell.className = 'findings';
    } catch (err) {
      replace(cell, h('span', { class: 'muted', title: err instanceof Error ? err.message : '' }, 'unavailable'));
    }
  });
}
