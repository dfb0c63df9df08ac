// @ts-check
// The API's pictures (SVG laid out by Graphviz) shown as <img> of a data: URL:
// labels hold rule comments from the cluster, and nothing in an image runs or
// links anywhere. What a picture links to (a group's expansion) the views build
// as buttons from the same picture's JSON Drawing.
import { call } from '../api.js';
import { h } from '../dom.js';

/**
 * Asks the API for an SVG picture and makes it an image; clicking it toggles between fitting the
 * page and its own size (the figure then scrolls).
 * @param {string} method
 * @param {string} path under /api/v1, with its query
 * @param {string} alt
 * @param {unknown} [body]
 * @returns {Promise<HTMLImageElement>}
 */
export async function fetchPicture(method, path, alt, body) {
  const svg = await call(method, path, body, 'image/svg+xml');
  if (typeof svg !== 'string' || !svg.includes('<svg')) throw new Error('the API answered something that is not an SVG picture');
  const img = h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, alt, title: 'Click to switch between fitting the page and full size' });
  img.addEventListener('click', () => img.classList.toggle('full-size'));
  return img;
}
