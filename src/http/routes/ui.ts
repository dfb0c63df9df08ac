// The dashboard at /ui: plain ES modules, HTML and CSS from ../ui, served as
// they are (no bundler, no CDN). From dist/ the build has copied them beside
// the compiled routes (scripts/copy-ui.mjs), so the same relative path holds
// for `npm start` (tsx, src/) and the installed bin (dist/). The page calls
// the REST API with the user's token; the assets themselves are public.
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';

export const UI_ROOT = fileURLToPath(new URL('../ui/', import.meta.url));

/** No inline script or style, nothing from elsewhere; drawings come as data: images. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ui: FastifyPluginAsync = async (app) => {
  // @fastify/static's routes cannot declare a scope: they are public, like /docs.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, scope: 'public' };
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', UI_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  await app.register(fastifyStatic, {
    root: UI_ROOT,
    prefix: '/ui/',
    index: false,
    // The browser's files only (the folder also holds what type-checks them).
    allowedPath: (path) => /\.(html|js|css)$/.test(path),
  });
  // The page itself. The router ignores trailing slashes, so `/ui` and `/ui/` land here: `/ui` is
  // sent to `/ui/`, where the page's relative URLs (style.css, ../api/v1) resolve as meant. The
  // Location is relative too (`ui/` from `/ui`), so a proxy serving packetpath under a prefix keeps it.
  app.get('/ui', { schema: { hide: true } }, async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.endsWith('/')) return reply.redirect('ui/', 301);
    return reply.sendFile('index.html');
  });
};

export default ui;
