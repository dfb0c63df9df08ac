// @ts-check
// #/diff[/{left}[/{right}]]: two nodes' rulesets compared (GET /api/v1/diff).
import { allNodes, get } from '../api.js';
import { h, hrefOf, replace } from '../dom.js';

/** @typedef {import('../types').DiffResult} DiffResult */
/** @typedef {import('../types').ChainDiff} ChainDiff */

const STATUS_TEXT = /** @type {Record<string, string>} */ ({ onlyLeft: 'only left', onlyRight: 'only right', changed: 'changed' });

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
        : `${s['chainsChanged'] ?? 0} chains changed, ${s['chainsOnlyLeft'] ?? 0} only in ${left}, ${s['chainsOnlyRight'] ?? 0} only in ${right}; ` +
            `${s['rulesAdded'] ?? 0} rules added, ${s['rulesRemoved'] ?? 0} removed; ${s['policiesDiffer'] ?? 0} policies differ.`,
    ),
    diff.tablesOnlyLeft?.length ? h('p', {}, `Tables only in ${left}: ${diff.tablesOnlyLeft.join(', ')}`) : null,
    diff.tablesOnlyRight?.length ? h('p', {}, `Tables only in ${right}: ${diff.tablesOnlyRight.join(', ')}`) : null,
    diff.chains.map((c) => chainDiffView(c, left, right)),
  );
}

/**
 * @param {ChainDiff} c
 * @param {string} left
 * @param {string} right
 */
function chainDiffView(c, left, right) {
  const policy = c.policy && c.policy.left !== c.policy.right ? ` · policy ${c.policy.left ?? '—'} → ${c.policy.right ?? '—'}` : '';
  return h(
    'details',
    { class: `chain-diff status-${c.status}`, 'data-chain': `${c.table} ${c.chain}`, open: c.status === 'changed' },
    h('summary', {}, h('strong', {}, `${c.table} ${c.chain}`), ` — ${STATUS_TEXT[c.status] ?? c.status} (+${c.added} −${c.removed})${policy}`),
    h(
      'pre',
      { class: 'diff-lines', 'aria-label': `${left} → ${right}` },
      (c.lines ?? []).map((l) => h('div', { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same' }, `${l.op} ${l.text}`)),
    ),
  );
}
