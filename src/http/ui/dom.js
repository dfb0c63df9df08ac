// @ts-check
// DOM building without innerHTML: every string becomes a text node, so rule
// comments and node names from the cluster can never become markup.

/** @typedef {import('./types').Child} Child */
/** @typedef {import('./types').Children} Children */

/**
 * An element with attributes (`class`, `for`, data-*, aria-*…; a function value is an event listener
 * for `on…` names) and children (strings are text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | EventListener | undefined>} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/**
 * Appends children (text for strings and numbers; nothing for null, undefined and false).
 * @param {Element} el
 * @param {readonly Children[]} children
 */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    // (Array.isArray does not narrow a readonly array.)
    if (typeof child === 'object' && !(child instanceof Node)) append(el, child);
    else el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces an element's content.
 * @param {Element} el
 * @param {...Children} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A table with a header row and one row per item.
 * @template T
 * @param {string[]} headers
 * @param {readonly T[]} items
 * @param {(item: T) => Children[]} cells
 * @param {(item: T) => Record<string, string | undefined>} [rowAttrs]
 */
export function table(headers, items, cells, rowAttrs) {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      {},
      items.map((item) => h('tr', rowAttrs?.(item) ?? {}, cells(item).map((c) => h('td', {}, c)))),
    ),
  );
}

/**
 * A `#/…` link; path segments are URI-encoded.
 * @param {string[]} segments
 * @param {Child} label
 */
export function link(segments, label) {
  return h('a', { href: hrefOf(segments) }, label);
}

/** @param {string[]} segments */
export function hrefOf(segments) {
  return '#/' + segments.map(encodeURIComponent).join('/');
}

/**
 * A date as the user's locale shows it, with how long ago.
 * @param {string | null | undefined} iso
 * @param {number} [now]
 */
export function when(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = new Date(iso);
  const s = Math.round((now - t.getTime()) / 1000);
  const ago = s < 60 ? `${Math.max(s, 0)} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : s < 86400 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} d ago`;
  return `${t.toLocaleString()} (${ago})`;
}
