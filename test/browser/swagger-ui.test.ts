// Swagger UI as a person uses it: the server started by the CLI on a
// non-default port, Debian's Chromium, "Try it out" on the upload (plain text,
// the UI's defaults otherwise) and on listing the nat table's chains, picked
// from the table dropdown. Tests passed while this was broken: the document
// pinned its server to 127.0.0.1:8080 (CORS on any other port), enums were
// anyOf lists (the dropdown offered only `raw`) and the upload example
// pre-filled `Content-Encoding: gzip` (a 400 for a text body).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBinServer, type BinServer } from '../support/bin-server.ts';
import { FIXTURES } from '../support/paths.ts';

const CHROMIUM = '/usr/bin/chromium';
// Under CI a missing browser is a failure (.ci/run installs it), not a skip.
const skip = existsSync(CHROMIUM) || process.env['CI'] ? false : `no ${CHROMIUM} (apt-get install chromium)`;

/** Expands an operation and presses "Try it out". */
async function tryItOut(page: Page, operation: string): Promise<ReturnType<Page['locator']>> {
  const op = page.locator(`#operations-${operation}`);
  await op.locator('.opblock-summary').first().click();
  await op.locator('button.try-out__btn').click();
  return op;
}

async function execute(op: ReturnType<Page['locator']>): Promise<{ status: string; body: string }> {
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table tr.response .response-col_status').first();
  await status.waitFor({ timeout: 30_000 });
  return { status: (await status.innerText()).trim(), body: await op.locator('.live-responses-table tr.response .response-col_description').first().innerText() };
}

describe('Swagger UI "Try it out" in Chromium, server on a non-default port', { skip, timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-swagger-'));
  let server: BinServer | undefined;
  let base = '';
  let browser: Browser;

  before(async () => {
    server = await startBinServer(dir, { DATABASE_URL: `file:${join(dir, 'ui.db')}`, LOG_LEVEL: 'warn' });
    base = server.base;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a dump as text with the UI defaults, then lists the nat chains chosen from the dropdown', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/docs`);

    const upload = await tryItOut(page, 'dumps-uploadDump');
    await upload.locator('tr[data-param-name="node"] input').fill('master');
    // The UI's own default body type, and no Content-Encoding pre-filled: nothing is chosen by hand.
    assert.equal(await upload.locator('.opblock-section-request-body select').inputValue(), 'text/plain');
    const encoding = upload.locator('tr[data-param-name="content-encoding"] input');
    if (await encoding.count()) assert.equal(await encoding.inputValue(), '');
    await upload.locator('textarea.body-param__text').fill(readFileSync(join(FIXTURES, 'seed004', 'master.txt'), 'utf8'));
    const uploaded = await execute(upload);
    assert.equal(uploaded.status, '201', `upload answered ${uploaded.status}: ${uploaded.body}`);

    const chains = await tryItOut(page, 'query-listChains');
    await chains.locator('tr[data-param-name="node"] input').fill('master');
    const table = chains.locator('tr[data-param-name="table"] select');
    assert.deepEqual((await table.locator('option').allInnerTexts()).filter((t) => t !== '--'), ['raw', 'mangle', 'nat', 'filter', 'security']);
    await table.selectOption('nat');
    const listed = await execute(chains);
    assert.equal(listed.status, '200', listed.body);
    assert.match(listed.body, /KUBE-SERVICES/);
    assert.match(listed.body, /POSTROUTING/);
    await page.close();
  });
});
