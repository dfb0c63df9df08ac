// The cross-site write attack on an open server, in real Chromium: a page on
// another origin (http://localhost:B) posts a text/plain dump to the open
// packetpath server (http://127.0.0.1:A) with a no-cors fetch, which needs no
// preflight. The server must refuse it (403) and store nothing, while a
// fetch from the server's own page (/docs, where Swagger UI's "Try it out"
// runs) still uploads.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { counterDump, startApi, type TestApi } from '../support/api.ts';

const CHROMIUM = '/usr/bin/chromium';
const V1 = '/api/v1';

describe('open mode in a real browser', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}` }, () => {
  let api: TestApi;
  let evil: Server;
  let evilUrl = '';
  let browser: Browser;
  before(async () => {
    api = await startApi();
    const attack = `<!doctype html><script>
      fetch(${JSON.stringify(`${api.url}${V1}/nodes/victim/dumps`)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(counterDump())} })
        .then(() => { document.title = 'sent'; }, () => { document.title = 'sent'; });
    </script>`;
    evil = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(attack));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // playwright gives every launch a fresh temporary profile (it refuses --user-data-dir).
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => evil?.close(r));
    await api?.close();
  });

  it('a page on another origin cannot upload a dump; the server answers its fetch with 403', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    const answered = page.waitForResponse((r) => r.url().includes('/nodes/victim/dumps'));
    await page.goto(evilUrl);
    assert.equal((await answered).status(), 403);
    await api.request.get(`${V1}/nodes/victim`).expect(404);
    await page.close();
  });

  it('the server\'s own page (Swagger UI at /docs) still uploads', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(`${api.url}/docs`);
    const status = await page.evaluate(
      async ([url, body]) => (await fetch(url!, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })).status,
      [`${V1}/nodes/own-page/dumps`, counterDump()],
    );
    assert.equal(status, 201);
    await page.close();
  });
});
