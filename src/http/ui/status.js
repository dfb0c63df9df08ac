// @ts-check
// The message line under the header: why a call failed (a 401 asks for a token).
import { ApiError, savedToken } from './api.js';
import { h, replace } from './dom.js';

function statusLine() {
  return /** @type {HTMLElement} */ (document.getElementById('status'));
}

/** @param {unknown} err */
export function showError(err) {
  const status = statusLine();
  status.className = 'error';
  if (err instanceof ApiError && err.status === 401) {
    replace(
      status,
      h('strong', {}, savedToken() ? 'The API refused this token. ' : 'This server needs an API token. '),
      'Paste a token with the read scope into "API token" above (create one with ',
      h('code', {}, 'packetpath token create --scope read'),
      '). ',
      h('span', { class: 'detail' }, err.message),
    );
  } else if (err instanceof ApiError && err.status === 403) {
    replace(status, h('strong', {}, 'Not allowed with this token. '), err.message);
  } else {
    replace(status, h('strong', {}, 'Error: '), err instanceof Error ? err.message : String(err));
  }
}

export function clearStatus() {
  const status = statusLine();
  status.className = '';
  status.replaceChildren();
}
