// @ts-check
// #/diff[/{left}[/{right}]][?family=&table=&expand=changed]: two nodes' rulesets
// compared (GET /api/v1/diff): the drawn diff of one table (format=svg, an
// image) beside the changed chains' rules.
import { allNodes, get, nodePath, queryString } from '../api.js';
import { h, hrefOf, replace } from '../dom.js';
import { fetchPicture } from './picture.js';

/** @typedef {import('../types').DiffResult} DiffResult */
/** @typedef {import('../types').ChainDiff} ChainDiff */

/** The `family` choices ('' is the API's default, ipv4). */
const FAMILIES = [['', 'ipv4 (default)'], ['ipv6', 'ipv6'], ['nft', 'nft']];
const DEFAULT_TABLE = '(default: filter, or the only nft table)';

/** Changed chains first: they are what a reader looks for. */
const STATUS_ORDER = /** @type {Record<string, number>} */ ({ changed: 0, onlyRight: 1, onlyLeft: 2 });

/** @type {import('../app.js').View} */
export async function showDiff(section, [left = '', right = ''], query) {
  replace(section, h('h1', {}, 'Diff two nodes'), h('p', { class: 'muted' }, 'Loading nodes…'));
  const names = (await allNodes()).map((n) => n.name);
  const pick = (/** @type {string} */ id, /** @type {string} */ chosen) =>
    h('select', { id, name: id }, names.map((n) => h('option', { value: n, selected: n === chosen }, n)));
  const leftSel = pick('diff-left', left || names[0] || '');
  const rightSel = pick('diff-right', right || names.find((n) => n !== (left || names[0])) || '');
  const family = query.get('family') ?? '';
  const tableName = query.get('table') ?? '';
  const familySel = h('select', { id: 'diff-family', name: 'diff-family' }, FAMILIES.map(([v, label]) => h('option', { value: v, selected: v === family }, label)));
  const tableSel = h('select', { id: 'diff-table', name: 'diff-table' }, h('option', { value: tableName }, tableName || DEFAULT_TABLE));
  const changedOnly = h('input', { id: 'diff-expand-changed', type: 'checkbox', checked: query.get('expand') === 'changed' });
  /** The drawn table's choices: the left node's tables in the chosen family. */
  const fillTables = async () => {
    const keep = tableSel.value;
    /** @type {string[]} */
    let tables = [];
    try {
      /** @type {import('../types').TableList} */
      const list = await get(`${nodePath(leftSel.value)}/tables`, { family: familySel.value || undefined });
      tables = list.tables.map((t) => t.name);
    } catch {
      // No such version on the left node: the default is all there is to offer (the diff says why).
    }
    if (keep && !tables.includes(keep)) tables.unshift(keep);
    replace(tableSel, h('option', { value: '' }, DEFAULT_TABLE), tables.map((t) => h('option', { value: t, selected: t === keep }, t)));
  };
  leftSel.addEventListener('change', () => void fillTables());
  familySel.addEventListener('change', () => {
    tableSel.value = '';
    void fillTables();
  });
  void fillTables();
  const field = (/** @type {string} */ label, /** @type {HTMLElement} */ control) => h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  const form = h(
    'form',
    { class: 'diff-form' },
    h(
      'div',
      { class: 'fields' },
      field('Left', leftSel),
      field('Right', rightSel),
      field('Family', familySel),
      field('Drawn table', tableSel),
      h('div', { class: 'field check' }, changedOnly, h('label', { for: 'diff-expand-changed' }, 'draw the changed chains as boxes of their own')),
    ),
    h('button', { type: 'submit' }, 'Compare'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = hrefOf(['diff', leftSel.value, rightSel.value]) + queryString({ family: familySel.value, table: tableSel.value, expand: changedOnly.checked ? 'changed' : '' });
  });
  const result = h('div', { class: 'diff-result' });
  replace(section, h('h1', {}, 'Diff two nodes'), form, result);
  if (!left || !right) return;

  replace(result, h('p', { class: 'muted' }, 'Comparing…'));
  const sides = { left, right, family: family || undefined };
  const drawing = h('figure', { class: 'drawing diff-drawing' }, h('p', { class: 'muted' }, 'Drawing…'));
  // Asked at the same time as the rules; shown when it comes (its failure said in its place).
  void fetchPicture('GET', '/diff' + queryString({ ...sides, format: 'svg', table: tableName, expand: query.get('expand') === 'changed' ? 'changed' : '' }), `The ${tableName || 'default'} table of ${left} and ${right}, drawn`).then(
    (img) => replace(drawing, img, h('figcaption', { class: 'muted' }, 'Chains added, removed and changed marked (the table is named at the top). Click the picture for its full size.')),
    (err) => replace(drawing, h('p', { class: 'graph-error' }, h('strong', {}, 'No drawn diff: '), err instanceof Error ? err.message : String(err))),
  );
  /** @type {DiffResult} */
  const diff = await get('/diff', sides);
  const s = diff.summary;
  replace(
    result,
    h('h2', {}, `${diff.left.node} → ${diff.right.node}`),
    h(
      'p',
      { class: 'diff-summary' },
      s['identical']
        ? h('strong', {}, 'Identical rulesets.')
        : `Chains: ${s['chainsChanged'] ?? 0} changed, ${s['chainsOnlyLeft'] ?? 0} only in ${left}, ${s['chainsOnlyRight'] ?? 0} only in ${right}. ` +
            `Rules: ${s['rulesAdded'] ?? 0} added, ${s['rulesRemoved'] ?? 0} removed. Policies that differ: ${s['policiesDiffer'] ?? 0}.`,
    ),
    diff.tablesOnlyLeft?.length ? h('p', {}, `Tables only in ${left}: ${diff.tablesOnlyLeft.join(', ')}`) : null,
    diff.tablesOnlyRight?.length ? h('p', {}, `Tables only in ${right}: ${diff.tablesOnlyRight.join(', ')}`) : null,
    h(
      'div',
      { class: 'diff-answer' },
      drawing,
      h('div', { class: 'diff-chains' }, [...diff.chains].sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3)).map((c) => chainDiffView(c, left, right))),
    ),
  );
}

/**
 * @param {ChainDiff} c
 * @param {string} left
 * @param {string} right
 */
function chainDiffView(c, left, right) {
  const policy = c.policy?.left && c.policy.right && c.policy.left !== c.policy.right ? ` · policy ${c.policy.left} → ${c.policy.right}` : '';
  const status = c.status === 'onlyLeft' ? `only in ${left}` : c.status === 'onlyRight' ? `only in ${right}` : c.status;
  return h(
    'details',
    { class: `chain-diff status-${c.status}`, 'data-chain': `${c.table} ${c.chain}`, open: c.status === 'changed' },
    h('summary', {}, h('strong', {}, `${c.table} ${c.chain}`), ` — ${status} (+${c.added} −${c.removed})${policy}`),
    h(
      'pre',
      { class: 'diff-lines', 'aria-label': `${left} → ${right}` },
      (c.lines ?? []).map((l) => h('div', { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same' }, `${l.op} ${l.text}`)),
    ),
  );
}
