// @ts-check
// #/diff[/{left}[/{right}]]: two nodes' rulesets compared (GET /api/v1/diff).
import { allNodes, get } from '../api.js';
import { h, hrefOf, replace } from '../dom.js';

/** @typedef {import('../types').DiffResult} DiffResult */
/** @typedef {import('../types').ChainDiff} ChainDiff */

/** Changed chains first: they are what a reader looks for. */
const STATUS_ORDER = /** @type {Record<string, number>} */ ({ changed: 0, onlyRight: 1, onlyLeft: 2 });

/** @type {import('../app.js').View} */
export async function showDiff(section, [left = '', right = '']) {
  replace(section, h('h1', {}, 'Diff two nodes'), h('p', { class: 'muted' }, 'Loading nodes…'));
  const names = (await allNodes()).map((n) => n.name);
  const pick = (/** @type {string} */ id, /** @type {string} */ chosen) =>
    h('select', { id, name: id }, names.map((n) => h('option', { value: n, selected: n === chosen }, n)));
  const leftSel = pick('diff-left', left || names[0] || '');
  const rightSel = pick('diff-right', right || names.find((n) => n !== (left || names[0])) || '');
  const form = h(
    'form',
    { class: 'diff-form' },
    h('div', { class: 'fields' }, h('div', { class: 'field' }, h('label', { for: 'diff-left' }, 'Left'), leftSel), h('div', { class: 'field' }, h('label', { for: 'diff-right' }, 'Right'), rightSel)),
    h('button', { type: 'submit' }, 'Compare'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = hrefOf(['diff', leftSel.value, rightSel.value]);
  });
  const result = h('div', { class: 'diff-result' });
  replace(section, h('h1', {}, 'Diff two nodes'), form, result);
  if (!left || !right) return;

  replace(result, h('p', { class: 'muted' }, 'Comparing…'));
  /** @type {DiffResult} */
  const diff = await get('/diff', { left, right });
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
    [...diff.chains].sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3)).map((c) => chainDiffView(c, left, right)),
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
