// @ts-check
// The dashboard's shell: the token form, hash routing (#/nodes, #/node/…,
// #/trace/…, #/diff/…) and the messages of failed calls.
import { saveToken, savedToken } from './api.js';
import { h } from './dom.js';
import { clearStatus, showError } from './status.js';
import { showNodes } from './views/nodes.js';
import { showNode } from './views/node.js';
import { showTrace } from './views/trace.js';
import { showDiff } from './views/diff.js';

/**
 * A view renders into its own section (a newer navigation replaces it, so a slow answer for an old
 * view lands in a detached element) from the hash's path segments and query.
 * @typedef {(section: HTMLElement, args: string[], query: URLSearchParams) => Promise<void>} View
 */

/** @type {Record<string, View>} */
const VIEWS = { nodes: showNodes, node: showNode, trace: showTrace, diff: showDiff };

const main = /** @type {HTMLElement} */ (document.getElementById('view'));
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById('token'));

async function route() {
  clearStatus();
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = 'nodes', ...args] = path.split('/').filter(Boolean).map(decodeURIComponent);
  const view = VIEWS[name] ?? showNodes;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.getAttribute('href') === `#/${name}`);
  const section = h('section', { class: `view view-${name}` });
  main.replaceChildren(section);
  try {
    await view(section, args, new URLSearchParams(search));
  } catch (err) {
    if (section.isConnected) showError(err);
  }
}

document.getElementById('token-form')?.addEventListener('submit', (e) => {
  e.preventDefault();
  saveToken(tokenInput.value.trim());
  tokenInput.value = '';
  updateTokenHint();
  void route();
});
document.getElementById('forget-token')?.addEventListener('click', () => {
  saveToken('');
  updateTokenHint();
  void route();
});

function updateTokenHint() {
  tokenInput.placeholder = savedToken() ? 'token saved (paste another to replace)' : 'ppt_…';
}

window.addEventListener('hashchange', () => void route());
updateTokenHint();
void route();
