// @ts-check
// One outcome of a trace as a person reads it: the disposition and verdict,
// the explanation and suggested fix, the near misses, and every rule the
// packet met in order with the deciding one (the last event, as the API's
// `explanation.decidedBy` says) highlighted.
import { h, hrefOf, table } from '../dom.js';

/** @typedef {import('../types').TraceOutcome} TraceOutcome */
/** @typedef {import('../types').TraceEvent} TraceEvent */

/** @param {number} p */
export function percent(p) {
  return `${Math.round(p * 1000) / 10}%`;
}

/** @param {string} disposition */
export function dispositionBadge(disposition) {
  return h('span', { class: `badge disp disp-${disposition}` }, disposition);
}

/** @param {TraceEvent} e */
function eventRule(e) {
  if (e.kind === 'policy') return h('span', { class: 'policy-event' }, `policy ${e.verdict ?? ''}`);
  return h('code', { class: 'rule' }, e.text ?? '');
}

/**
 * A table as its tool names it: nft's with their family (`ip kube-proxy`), iptables-legacy's marked.
 * @param {TraceEvent} e
 */
function tableName(e) {
  if (e.language === 'nftables') return `${e.family ?? ''} ${e.table ?? ''}`.trim();
  return e.backend === 'legacy' ? `${e.table ?? ''} (legacy)` : (e.table ?? '');
}

/**
 * The chain, linked to its page on the node (not for iptables-legacy: those tables live on the node's companion).
 * @param {TraceEvent} e
 * @param {string | undefined} node
 */
function chainCell(e, node) {
  if (!node || !e.chain || !e.table || e.backend === 'legacy') return e.chain ?? '';
  return h('a', { href: hrefOf(['node', node, tableName(e), e.chain]) }, e.chain);
}

/**
 * @param {TraceOutcome} o
 * @param {string | undefined} node whose rules these are (links to its chains)
 * @param {boolean} [final] the path's last hop (its rules are shown open; earlier hops' folded)
 */
export function outcomeView(o, node, final = true) {
  const x = o.explanation;
  const events = o.events ?? [];
  const decided = events.length - 1;
  const eventTable = table(
    ['Hook', 'Table', 'Chain', 'Rule', 'Text', 'Verdict'],
    events.map((e, i) => ({ e, i })),
    ({ e, i }) => [
      e.hook ?? '',
      tableName(e),
      chainCell(e, node),
      e.kind === 'policy' ? 'policy' : (e.rule ?? ''),
      eventRule(e),
      [h('span', { class: 'verdict' }, e.verdict ?? ''), i === decided ? h('strong', { class: 'decides' }, ' ◀ decides') : null],
    ],
    ({ i }) => ({ class: i === decided ? 'decided' : undefined }),
  );
  eventTable.classList.add('events');
  const misses = o.nearMisses ?? [];
  return h(
    'div',
    { class: `outcome outcome-${o.disposition}` },
    h('p', { class: 'headline' }, dispositionBadge(o.disposition), ' verdict ', h('strong', {}, o.verdict), o.reason ? ` — ${o.reason}` : ''),
    x
      ? h(
          'div',
          { class: 'explanation' },
          h('p', { class: 'summary' }, x.summary),
          x.decidedBy ? h('p', {}, 'Decided by ', h('strong', { class: 'decided-by' }, x.decidedBy)) : null,
          x.changes?.length ? [h('h4', {}, 'What the rules changed'), h('ul', {}, x.changes.map((c) => h('li', {}, c)))] : null,
          x.origin ? h('p', { class: 'origin' }, h('strong', {}, 'Likely origin: '), x.origin) : null,
          x.fix?.length
            ? h('div', { class: 'fix' }, h('h4', {}, 'Suggested fix'), h('ul', {}, x.fix.map((f) => h('li', {}, h('code', {}, f)))))
            : null,
        )
      : null,
    misses.length
      ? [
          h('h4', {}, `Near misses (${misses.length})`),
          h(
            'ul',
            { class: 'near-misses' },
            misses.map((m) => h('li', {}, `${m.table} ${m.chain} rule ${m.rule} would ${m.target}, but ${m.failed}: `, h('code', { class: 'rule' }, m.text ?? ''))),
          ),
        ]
      : null,
    o.assumptions?.length ? [h('h4', {}, 'Assumptions'), h('ul', {}, o.assumptions.map((a) => h('li', {}, a)))] : null,
    o.packet ? h('p', { class: 'packet' }, 'Packet after: ', h('code', {}, packetText(o.packet))) : null,
    h('details', { class: 'path-rules', open: final }, h('summary', {}, `Rules on the path (${events.length})`), eventTable),
  );
}

/** @param {Record<string, unknown>} p */
function packetText(p) {
  return Object.entries(p)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}
