// @ts-check
// #/trace[/node/{node} | /cluster/{cluster}]: a packet through one node or
// across a cluster (POST /api/v1/trace), with what-if `changes`; the packet's
// ports or ICMP type, conntrack state and mark. The answer: the drawn path
// (POST /api/v1/trace/drawing, shown as an image so nothing in it runs; left
// out if the drawing fails), each path and hop as a list beside it, and the
// before/after of the changes.
import { allNodes, call } from '../api.js';
import { h, hrefOf, replace } from '../dom.js';
import { clearStatus, showError } from '../status.js';
import { dispositionBadge, outcomeView, percent } from './outcome.js';
import { fetchPicture } from './picture.js';

/** @typedef {import('../types').NodeInfo} NodeInfo */
/** @typedef {import('../types').TraceResponse} TraceResponse */

/** Conntrack states as the API takes them (NEW is its default). */
const CT_STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];

/**
 * A labelled form control.
 * @param {string} label
 * @param {HTMLElement} control with an id
 */
function field(label, control) {
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

/**
 * @param {string} id
 * @param {string} placeholder
 * @param {string | null} value
 */
function input(id, placeholder, value) {
  return h('input', { id, name: id, placeholder, spellcheck: 'false', autocomplete: 'off', value: value ?? undefined });
}

/**
 * @param {string} id
 * @param {readonly string[]} values
 * @param {string} [selected]
 */
function select(id, values, selected) {
  return h('select', { id, name: id }, values.map((v) => h('option', { value: v, selected: v === selected }, v)));
}

/**
 * The form's request body for POST /trace; throws on a field that is not a number.
 * @param {{ mode: string, node: string, cluster: string, from: string, iface: string, local: boolean,
 *   packet: Record<string, string>, changes: string[], changesNode: string }} f
 */
export function traceBody(f) {
  /** @type {Record<string, unknown>} */
  const packet = {};
  for (const [k, v] of Object.entries(f.packet)) {
    if (v === '') continue;
    if (k === 'sport' || k === 'dport') {
      if (!/^\d+$/.test(v)) throw new Error(`${k} must be a port number, not "${v}"`);
      packet[k] = Number(v);
    } else if (k === 'icmpType') {
      if (!/^\d+$/.test(v)) throw new Error(`the ICMP type must be a number (8 echo request, 0 echo reply), not "${v}"`);
      packet[k] = Number(v);
    } else if (k === 'mark') {
      // Decimal as a number; hex (`0x4000`) as the string the API parses.
      packet[k] = /^\d+$/.test(v) ? Number(v) : v;
    } else packet[k] = v;
  }
  /** @type {Record<string, unknown>} */
  const body = { packet };
  if (f.mode === 'cluster') {
    body['cluster'] = f.cluster;
    body['from'] = { node: f.from, ...(f.iface ? { interface: f.iface } : {}), ...(f.local ? { local: true } : {}) };
    if (f.changes.length) body['changes'] = { [f.changesNode]: f.changes };
  } else {
    body['node'] = f.node;
    if (f.iface) packet['inInterface'] = f.iface;
    if (f.local) packet['local'] = true;
    if (f.changes.length) body['changes'] = f.changes;
  }
  return body;
}

/** @type {import('../app.js').View} */
export async function showTrace(section, [mode = 'cluster', target = ''], query) {
  replace(section, h('h1', {}, 'Trace a packet'), h('p', { class: 'muted' }, 'Loading nodes…'));
  const nodes = await allNodes();
  const names = nodes.map((n) => n.name);
  const clusters = [...new Set(nodes.flatMap((n) => (n.cluster ? [n.cluster] : [])))].sort();
  if (!clusters.length) mode = 'node';

  const modeSel = select('trace-mode', ['cluster', 'node'], mode);
  const nodeSel = select('trace-node', names, mode === 'node' ? target : query.get('node') ?? undefined);
  const clusterSel = select('trace-cluster', clusters, mode === 'cluster' ? target : undefined);
  const fromSel = select('trace-from', [], undefined);
  const changesNode = select('trace-changes-node', [], undefined);
  const iface = input('trace-in', 'eth0', query.get('in'));
  const local = h('input', { id: 'trace-local', type: 'checkbox', checked: query.get('local') === '1' });
  const src = input('trace-src', '192.0.2.100', query.get('src'));
  const dst = input('trace-dst', '10.96.0.10', query.get('dst'));
  const proto = select('trace-proto', ['tcp', 'udp', 'icmp', 'sctp', 'icmpv6'], query.get('proto') ?? 'tcp');
  const sport = input('trace-sport', 'any', query.get('sport'));
  const dport = input('trace-dport', '80', query.get('dport'));
  const state = select('trace-state', CT_STATES, query.get('state') ?? 'NEW');
  const mark = input('trace-mark', '0x4000', query.get('mark'));
  const icmpType = input('trace-icmp-type', '8', query.get('icmpType'));
  const icmpField = field('ICMP type', icmpType);
  // The ICMP type only for ICMP; ports only for the protocols that have them.
  const portFields = [field('Source port', sport), field('Destination port', dport)];
  const showProtocol = () => {
    const icmp = proto.value === 'icmp' || proto.value === 'icmpv6';
    icmpField.hidden = !icmp;
    for (const f of portFields) f.hidden = icmp;
  };
  proto.addEventListener('change', showProtocol);
  showProtocol();
  const changes = h('textarea', { id: 'trace-changes', rows: 3, spellcheck: 'false', placeholder: '-I FORWARD 1 -i flannel.1 -j ACCEPT' });
  changes.value = query.get('changes') ?? '';
  const result = h('div', { class: 'trace-result', 'aria-live': 'polite' });

  /** The cluster's nodes as choices for "from" and for where the changes apply. */
  const fillClusterNodes = () => {
    const members = nodes.filter((n) => n.cluster === clusterSel.value).map((n) => n.name);
    const keep = fromSel.value || (mode === 'cluster' ? query.get('from') ?? '' : '');
    replace(fromSel, members.map((m) => h('option', { value: m, selected: m === keep }, m)));
    const keepChanges = changesNode.value || (query.get('on') ?? '');
    replace(changesNode, members.map((m) => h('option', { value: m, selected: m === keepChanges }, m)));
  };
  const clusterFields = h('div', { class: 'fields' }, field('Cluster', clusterSel), field('From node', fromSel));
  const nodeFields = h('div', { class: 'fields' }, field('Node', nodeSel));
  const changesOn = field('Apply on node', changesNode);
  const showMode = () => {
    const cluster = modeSel.value === 'cluster';
    clusterFields.hidden = !cluster;
    nodeFields.hidden = cluster;
    changesOn.hidden = !cluster;
  };
  clusterSel.addEventListener('change', fillClusterNodes);
  modeSel.addEventListener('change', showMode);
  fillClusterNodes();
  showMode();

  const form = h(
    'form',
    { class: 'trace-form', novalidate: true },
    h(
      'div',
      { class: 'fields' },
      field('Trace', modeSel),
      clusterFields,
      nodeFields,
      field('In interface', iface),
      h('div', { class: 'field check' }, local, h('label', { for: 'trace-local' }, 'sent by the node itself')),
    ),
    h('div', { class: 'fields' }, field('Source', src), field('Destination', dst), field('Protocol', proto), portFields, icmpField),
    h('div', { class: 'fields' }, field('Conntrack state', state), field('Mark', mark)),
    h(
      'details',
      { class: 'whatif' },
      h('summary', {}, 'What if… (iptables commands applied for this trace only)'),
      changesOn,
      field('Changes, one command per line', changes),
    ),
    h('button', { type: 'submit' }, 'Trace'),
  );
  /** What the packet fields say; the fields hidden for the protocol are left out. */
  const packetFields = () => {
    const icmp = proto.value === 'icmp' || proto.value === 'icmpv6';
    return {
      src: src.value.trim(),
      dst: dst.value.trim(),
      protocol: proto.value,
      sport: icmp ? '' : sport.value.trim(),
      dport: icmp ? '' : dport.value.trim(),
      icmpType: icmp ? icmpType.value.trim() : '',
      // NEW is the API's default: left out, the request stays as short as before.
      state: state.value === 'NEW' ? '' : state.value,
      mark: mark.value.trim(),
    };
  };
  const submit = () => {
    const cluster = modeSel.value === 'cluster';
    const lines = changes.value.split('\n').map((l) => l.trim()).filter(Boolean);
    /** @type {Record<string, unknown>} */
    let body;
    const packet = packetFields();
    try {
      body = traceBody({
        mode: modeSel.value,
        node: nodeSel.value,
        cluster: clusterSel.value,
        from: fromSel.value,
        iface: iface.value.trim(),
        local: local.checked,
        packet,
        changes: lines,
        changesNode: changesNode.value,
      });
    } catch (err) {
      showError(err);
      return;
    }
    // The form in the address (without a new history entry or a re-render): a trace can be bookmarked and shared.
    const shown = new URLSearchParams();
    for (const [k, v] of /** @type {[string, string][]} */ ([
      ['from', cluster ? fromSel.value : ''],
      ['in', iface.value.trim()],
      ['local', local.checked ? '1' : ''],
      ['src', src.value.trim()],
      ['dst', dst.value.trim()],
      ['proto', proto.value],
      ['sport', packet.sport],
      ['dport', packet.dport],
      ['icmpType', packet.icmpType],
      ['state', packet.state],
      ['mark', packet.mark],
      ['on', cluster && lines.length ? changesNode.value : ''],
      ['changes', lines.join('\n')],
    ]))
      if (v) shown.set(k, v);
    history.replaceState(null, '', `${hrefOf(['trace', modeSel.value, cluster ? clusterSel.value : nodeSel.value])}?${shown}`);
    void runTrace(body, result);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });

  replace(section, h('h1', {}, 'Trace a packet'), form, result);
  if (query.get('changes')) /** @type {HTMLDetailsElement} */ (form.querySelector('details.whatif')).open = true;
  // A bookmarked trace runs at once.
  if (query.get('dst')) submit();
}

/**
 * @param {Record<string, unknown>} body
 * @param {HTMLElement} result
 */
async function runTrace(body, result) {
  // A later submit wins: an earlier answer arriving after it is dropped.
  const run = String(Number(result.dataset['run'] ?? 0) + 1);
  result.dataset['run'] = run;
  replace(result, h('p', { class: 'muted' }, 'Tracing…'));
  const drawing = h('figure', { class: 'drawing', hidden: true });
  // Asked at the same time; the list does not wait for it.
  void showDrawing(body, drawing);
  /** @type {TraceResponse} */
  let answer;
  try {
    answer = await call('POST', '/trace', body);
  } catch (err) {
    if (result.dataset['run'] !== run) return;
    replace(result);
    showError(err);
    return;
  }
  if (result.dataset['run'] !== run) return;
  clearStatus();
  replace(
    result,
    h('h2', {}, 'Answer'),
    answer.warnings.length ? h('ul', { class: 'warnings' }, answer.warnings.map((w) => h('li', {}, w))) : null,
    answer.whatIf ? whatIfView(answer.whatIf) : null,
    h('div', { class: 'answer' }, drawing, h('div', { class: 'paths' }, answer.paths ? answer.paths.map(pathView) : (answer.outcomes ?? []).map((o, i, all) => nodeOutcomeView(answer.node, o, i, all)))),
  );
}

/**
 * The drawn path, when the API draws traces (shown only if that call succeeds). An <img> with a
 * data: URL: scripts or links in an SVG never run there.
 * @param {Record<string, unknown>} body
 * @param {HTMLElement} figure
 */
async function showDrawing(body, figure) {
  try {
    replace(figure, await fetchPicture('POST', '/trace/drawing?format=svg', 'The traced path, drawn', body));
    figure.hidden = false;
  } catch {
    // No drawing (an API without it, or it failed): the list says it all.
  }
}

/**
 * @param {import('../types').ClusterPath} p
 * @param {number} i
 * @param {readonly unknown[]} all
 */
function pathView(p, i, all) {
  return h(
    'article',
    { class: 'path', 'data-end': p.end, 'data-end-node': p.endNode ?? '' },
    h('h3', {}, `Path ${i + 1} of ${all.length} (${percent(p.probability)}): `, dispositionBadge(p.end), p.endNode ? ` on ${p.endNode}` : ''),
    h('p', { class: 'summary' }, p.summary),
    p.hops.map((hop, j) =>
      h(
        'section',
        { class: 'hop', 'data-node': hop.node },
        h('h4', { class: 'hop-title' }, hop.node, hop.inInterface ? ` (in on ${hop.inInterface})` : ''),
        outcomeView(hop.outcome, hop.node, j === p.hops.length - 1),
      ),
    ),
  );
}

/**
 * @param {string | undefined} node
 * @param {import('../types').TraceOutcome} o
 * @param {number} i
 * @param {readonly unknown[]} all
 */
function nodeOutcomeView(node, o, i, all) {
  return h('article', { class: 'path', 'data-end': o.disposition }, h('h3', {}, `Outcome ${i + 1} of ${all.length} (${percent(o.probability)})`), outcomeView(o, node));
}

/** @param {import('../types').WhatIf} w */
function whatIfView(w) {
  return h(
    'section',
    { class: 'whatif-result' },
    h('h3', {}, 'What if: ', w.changed ? h('strong', { class: 'changed' }, 'the changes alter the outcome') : h('strong', {}, 'no outcome changes')),
    h(
      'div',
      { class: 'before-after' },
      h('div', { class: 'before' }, h('h4', {}, 'Before'), h('ul', {}, w.before.map((b) => h('li', {}, b)))),
      h('div', { class: 'after' }, h('h4', {}, 'After'), h('ul', {}, w.after.map((a) => h('li', {}, a)))),
    ),
    h('p', { class: 'muted' }, 'The paths below are the trace with the changes applied.'),
  );
}
