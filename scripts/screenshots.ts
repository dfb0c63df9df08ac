// The README's pictures of the /ui dashboard (docs/ui-nodes.png,
// docs/ui-trace.png, docs/ui-graph.png, docs/ui-diff.png), taken as its browser test drives it: the built bin
// started from a temporary directory on a free port, the seed 004 cluster
// uploaded (and a small generated kube-proxy node for the chain graph), Debian's Chromium with a read token. Run by hand after changing
// the page (or the trace drawing): `npm run screenshots`.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBinServer } from '../test/support/bin-server.ts';
import { CHROMIUM, chromiumAvailable, launchChromium, traceSeed004, useToken } from '../test/support/dashboard.ts';
import { REPO_ROOT } from '../test/support/paths.ts';
import { createTokenWithApi, createTokenWithCli, uploadSeed004, uploadText } from '../test/support/seed004-server.ts';
import { generateKubeDump } from './kube-dump.ts';

if (!chromiumAvailable()) {
  console.error(`screenshots: ${CHROMIUM} is missing (apt-get install chromium)`);
  process.exit(1);
}
const out = join(REPO_ROOT, 'docs');
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'pp-shots-'));
const databaseUrl = `file:${join(dir, 'shots.db')}`;
const server = await startBinServer(dir, { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
const browser = await launchChromium();
try {
  // The admin token after the start, as on a fresh install; the server reads tokens from its database.
  const admin = await createTokenWithCli(dir, databaseUrl, 'admin', 'screenshots');
  await uploadSeed004(server.base, admin);
  const read = await createTokenWithApi(server.base, admin, 'read', 'screenshots-read');
  // Short: a full-page shot is never smaller than the viewport, and the node list is short.
  const page = await browser.newPage({ viewport: { width: 1360, height: 360 }, deviceScaleFactor: 1 });
  await page.goto(`${server.base}/ui/`);
  await useToken(page, read);
  // Findings are asked for as rows scroll into view; the last row may sit just under this short viewport.
  await page.locator('table.nodes tr[data-node="node02"]').scrollIntoViewIfNeeded();
  await page.locator('table.nodes tr[data-node="node02"] .findings').waitFor();
  await page.screenshot({ path: join(out, 'ui-nodes.png'), fullPage: true });

  // The pictures below are taller than the node list.
  await page.setViewportSize({ width: 1360, height: 1200 });
  await traceSeed004(page);
  // The path that leaves the cluster folded: the picture is about node02's drop.
  for (const summary of await page.locator('article.path[data-end="LEFT_CLUSTER"] details.path-rules[open] > summary').all()) await summary.click();
  await page.locator('figure.drawing img').waitFor();
  await page.screenshot({ path: join(out, 'ui-trace.png'), fullPage: true });

  // (Uploaded after the node list's picture, which is of seed 004.)
  await uploadText(server.base, admin, 'kube-node', generateKubeDump({ services: 6, seed: 16, maxEndpoints: 3, nodeName: 'kube-node' }).text);
  // A kube-proxy node's nat table: the per-Service chains grouped, one Service's chain expanded.
  await page.goto(`${server.base}/ui/#/node/kube-node/nat`);
  await page.locator('button.expand-group[data-group="KUBE-SEP-*"]').click();
  await page.locator('button.collapse-group[data-group="KUBE-SEP-*"]').waitFor();
  await page.locator('.chain-graph[aria-busy]').waitFor({ state: 'detached' });
  await page.locator('table.chains').waitFor();
  await page.locator('.chain-graph').screenshot({ path: join(out, 'ui-graph.png') });

  await page.goto(`${server.base}/ui/#/diff/master/node02`);
  await page.locator('figure.diff-drawing img').waitFor();
  await page.screenshot({ path: join(out, 'ui-diff.png'), fullPage: true });
  console.log(`wrote ${['ui-nodes', 'ui-trace', 'ui-graph', 'ui-diff'].map((n) => join(out, `${n}.png`)).join(', ')}`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
