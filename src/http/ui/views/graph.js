// @ts-check
// A table's chain graph on its page (#/node/{node}/{table}?expand=…): the
// picture (GET …/tables/{table}/graph?format=svg, an image) and, from the same
// graph as JSON (the Drawing), a button per group of chains (kube-proxy's
// KUBE-SVC-*, KUBE-SEP-*…) that draws it again with the group expanded, the
// way the group's box links in the SVG. What is expanded goes in the address.
import { get, nodePath, queryString } from '../api.js';
import { h, replace } from '../dom.js';
import { fetchPicture } from './picture.js';

/** @typedef {import('../types').Drawing} Drawing */
/** @typedef {import('../types').DrawNode} DrawNode */

/**
 * The graph section; draws at once and again on each expand or collapse.
 * @param {string} node
 * @param {string} tableName
 * @param {string | undefined} family
 * @param {URLSearchParams} query the page's, for `expand`
 */
export function chainGraphSection(node, tableName, family, query) {
  const section = h('section', { class: 'chain-graph', 'aria-label': 'Chain graph' });
  /** @type {string[]} */
  let expand = (query.get('expand') ?? '').split(',').filter(Boolean);
  const chainInput = h('input', { id: 'graph-expand', placeholder: 'KUBE-SVC-… or KUBE-SEP-*', spellcheck: 'false', autocomplete: 'off' });
  const controls = h('div', { class: 'graph-controls' });
  const figure = h('figure', { class: 'drawing graph' }, h('p', { class: 'muted' }, 'Drawing…'));
  const form = h(
    'form',
    { class: 'graph-expand-form' },
    h('label', { for: 'graph-expand' }, 'Expand a chain (with the chains it leads to) or a group: '),
    chainInput,
    ' ',
    h('button', { type: 'submit' }, 'Expand'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = chainInput.value.trim();
    if (name && !expand.includes(name)) void redraw([...expand, name]);
  });

  /** @param {string[]} next */
  const redraw = async (next) => {
    // A later redraw wins: an earlier answer arriving after it is dropped.
    const run = String(Number(section.dataset['run'] ?? 0) + 1);
    section.dataset['run'] = run;
    section.setAttribute('aria-busy', 'true');
    const path = `${nodePath(node)}/tables/${encodeURIComponent(tableName)}/graph`;
    const params = { family, expand: next.join(',') };
    try {
      /** @type {[Drawing, HTMLImageElement]} */
      const [drawing, img] = await Promise.all([
        get(path, { ...params, format: 'json' }),
        fetchPicture('GET', path + queryString({ ...params, format: 'svg' }), `The chain graph of ${tableName} on ${node}`),
      ]);
      if (section.dataset['run'] !== run) return;
      expand = next;
      chainInput.value = '';
      replace(figure, img, drawing.notes.length ? h('figcaption', {}, h('ul', { class: 'notes' }, drawing.notes.map((n) => h('li', {}, n)))) : null);
      replace(controls, groupButtons(drawing, expand, redraw));
      // The address keeps what is expanded (no new history entry, no re-render of the page), unless
      // the page is not (or no longer) shown.
      if (!section.isConnected) return;
      const page = new URLSearchParams(location.hash.split('?')[1] ?? '');
      if (expand.length) page.set('expand', expand.join(','));
      else page.delete('expand');
      const qs = page.toString();
      history.replaceState(null, '', `${location.hash.split('?')[0]}${qs ? `?${qs}` : ''}`);
    } catch (err) {
      if (section.dataset['run'] !== run) return;
      // The chain list below stays useful: the failure is said here, not instead of the page.
      replace(controls, h('p', { class: 'graph-error' }, h('strong', {}, 'No chain graph: '), err instanceof Error ? err.message : String(err)), expand.length ? h('button', { type: 'button', onclick: () => void redraw([]) }, 'Collapse all') : null);
      if (!figure.querySelector('img')) replace(figure);
    } finally {
      if (section.dataset['run'] === run) section.removeAttribute('aria-busy');
    }
  };
  replace(section, h('h2', {}, 'Chain graph'), controls, form, figure);
  void redraw(expand);
  return section;
}

/**
 * A button per group box (expands it, as its link in the SVG does) and per expanded name (collapses it).
 * @param {Drawing} drawing
 * @param {string[]} expand
 * @param {(next: string[]) => Promise<void>} redraw
 */
function groupButtons(drawing, expand, redraw) {
  const groups = drawing.nodes.filter((n) => n.tone === 'group');
  return [
    groups.length
      ? h(
          'div',
          { class: 'groups' },
          h('span', { class: 'muted' }, 'Grouped: '),
          groups.map((g) =>
            h(
              'button',
              { type: 'button', class: 'expand-group', 'data-group': g.label[0] ?? g.id, title: g.tooltip, onclick: () => void redraw(expandedBy(g, expand)) },
              `${g.label[0] ?? g.id} `,
              h('span', { class: 'muted' }, g.label.slice(1).join(' · ')),
              ' ⊕',
            ),
          ),
        )
      : null,
    expand.length
      ? h(
          'div',
          { class: 'expanded' },
          h('span', { class: 'muted' }, 'Expanded: '),
          expand.map((name) => h('button', { type: 'button', class: 'collapse-group', 'data-group': name, onclick: () => void redraw(expand.filter((e) => e !== name)) }, `${name} ⊖`)),
          expand.length > 1 ? h('button', { type: 'button', onclick: () => void redraw([]) }, 'Collapse all') : null,
        )
      : null,
  ];
}

/**
 * What a group's box links to: its `expand` (what is expanded already, and it); the group's name
 * added when the link says nothing.
 * @param {DrawNode} group
 * @param {string[]} expand
 */
function expandedBy(group, expand) {
  const linked = group.link ? new URL(group.link, 'http://picture/').searchParams.get('expand') : null;
  const names = linked ? linked.split(',').filter(Boolean) : [...expand, group.label[0] ?? ''];
  return [...new Set(names)].filter(Boolean);
}

