// The /ui dashboard as a person uses it: the installed bin started from
// another directory on a non-default port, tokens created as an operator
// does (admin from the CLI, a read token through the API), the seed 004
// cluster uploaded, and Debian's Chromium driven by fills and clicks with the
// read token: both nodes listed with findings, node02's filter FORWARD policy
// DROP, the cluster trace from master dying there with its fix, the what-if
// fix changing the outcome, a diff, a 401 asking for a token, and a rule
// comment with markup shown as text.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { startBinServer, type BinServer } from '../support/bin-server.ts';
import { CHROMIUM, chromiumAvailable, launchChromium, submitTrace, traceSeed004, useToken } from '../support/dashboard.ts';
import { SEED004_FIX, createTokenWithApi, createTokenWithCli, uploadSeed004, uploadText } from '../support/seed004-server.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';

// Under CI a missing browser is a failure (.ci/run installs it), not a skip.
const skip = chromiumAvailable() || process.env['CI'] ? false : `no ${CHROMIUM} (apt-get install chromium)`;

const MARKUP = '<img id=injected src=x onerror=alert(1)>';
const EVIL_DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m comment --comment "${MARKUP}" -j ACCEPT
COMMIT
`;

// A small kube-proxy node: its nat table's per-Service and per-endpoint chains drawn as groups.
const KUBE = generateKubeDump({ services: 4, seed: 16, maxEndpoints: 2, nodeName: 'kp' });
const KUBE_SEP = KUBE.services.flatMap((s) => s.endpoints.map((e) => e.sepChain));

/** The SVG a picture's <img> shows (a data: URL, as the page makes it). */
async function pictureOf(img: Locator): Promise<string> {
  const src = (await img.getAttribute('src')) ?? '';
  assert.match(src, /^data:image\/svg\+xml;charset=utf-8,/);
  // Drawn, not a broken image.
  assert.ok(await img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0), 'the picture renders');
  // Graphviz writes a label's hyphens as &#45;.
  return decodeURIComponent(src.slice(src.indexOf(',') + 1)).replaceAll('&#45;', '-');
}

describe('the /ui dashboard in Chromium with a read token, seed 004 uploaded', { skip, timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-ui-'));
  const databaseUrl = `file:${join(dir, 'ui.db')}`;
  let server: BinServer | undefined;
  let base = '';
  let readToken = '';
  let browser: Browser;
  const pageErrors: string[] = [];

  before(async () => {
    const admin = await createTokenWithCli(dir, databaseUrl, 'admin', 'ui-test-admin');
    server = await startBinServer(dir, { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
    base = server.base;
    await uploadSeed004(base, admin);
    await uploadText(base, admin, 'evil', EVIL_DUMP);
    await uploadText(base, admin, 'kp', KUBE.text);
    readToken = await createTokenWithApi(base, admin, 'read', 'ui-test-read');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh page (its own storage: no token saved) whose script errors and CSP refusals are collected. */
  async function openPage(): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
    });
    return page;
  }

  /** A fresh page on /ui/ with the read token pasted in. */
  async function signedIn(): Promise<Page> {
    const page = await openPage();
    await page.goto(`${base}/ui/`);
    await useToken(page, readToken);
    return page;
  }

  /** Signed in, then the node list's link to the node and the node's link to the table clicked. */
  async function tablePage(node: string, table: string): Promise<Page> {
    const page = await signedIn();
    await page.locator('table.nodes').getByRole('link', { name: node, exact: true }).click();
    await page.getByRole('link', { name: table, exact: true }).click();
    return page;
  }

  it('serves /ui as /ui/ with a strict Content-Security-Policy and no inline script', async () => {
    const res = await fetch(`${base}/ui`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), 'ui/');
    const page = await fetch(`${base}/ui/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file');
    // What type-checks the page is not served.
    assert.equal((await fetch(`${base}/ui/tsconfig.json`)).status, 404);
  });

  it('without a token, the page says a token is needed', async () => {
    const page = await openPage();
    await page.goto(`${base}/ui`);
    const status = page.locator('#status');
    await status.getByText('This server needs an API token').waitFor();
    assert.match(await status.innerText(), /read scope/);
    assert.match(await status.innerText(), /packetpath token create --scope read/);

    await useToken(page, 'ppt_000000000000_wrong');
    await status.getByText('The API refused this token').waitFor();
    await page.context().close();
  });

  it('lists both nodes of cluster lab with their last upload and findings by severity', async () => {
    const page = await signedIn();
    for (const node of ['master', 'node02']) {
      const row = page.locator(`table.nodes tr[data-node="${node}"]`);
      await row.locator('.findings').waitFor();
      const text = await row.innerText();
      assert.match(text, /\blab\b/);
      assert.match(text, /ago\)/, `${node} shows when it last uploaded`);
      assert.match(text, /\d+ error\s+\d+ warning\s+\d+ info/);
    }
    assert.match(await page.locator('tr[data-cluster="lab"]').innerText(), /master, node02/);
    // The filter narrows the list by node or cluster name.
    await page.getByLabel('Filter').fill('NODE0');
    assert.equal(await page.locator('table.nodes tr[data-node="master"]').isVisible(), false);
    assert.equal(await page.locator('table.nodes tr[data-node="node02"]').isVisible(), true);
    await page.getByLabel('Filter').fill('lab');
    assert.equal(await page.locator('table.nodes tr[data-node="master"]').isVisible(), true);
    // The token is kept: a reload lists the nodes again.
    await page.reload();
    await page.locator('table.nodes tr[data-node="node02"]').waitFor();
    assert.equal(await page.locator('#status').innerText(), '');
    await page.context().close();
  });

  it("shows node02's filter chains with FORWARD's policy DROP, and its rules", async () => {
    const page = await tablePage('node02', 'filter');
    const forward = page.locator('table.chains tr[data-chain="FORWARD"]');
    await forward.waitFor();
    assert.match(await forward.innerText(), /^FORWARD\s+DROP\s+14\b/);
    await forward.getByRole('link', { name: 'FORWARD' }).click();
    await page.locator('table.rules').waitFor();
    assert.match(await page.locator('h1').innerText(), /filter FORWARD/);
    assert.equal(await page.locator('table.rules tbody tr').count(), 14);
    assert.match(await page.locator('table.rules tr[data-position="12"]').innerText(), /-A FORWARD -s 10\.244\.0\.0\/16 -j ACCEPT/);
    await page.context().close();
  });

  it('traces the seed 004 packet across lab from master: dropped by node02 filter FORWARD policy DROP, with the fix', async () => {
    const page = await signedIn();
    await traceSeed004(page);

    const dropped = page.locator('article.path[data-end="DROPPED"][data-end-node="node02"]');
    assert.equal(await dropped.count(), 1);
    assert.match(await dropped.locator('h3').innerText(), /DROPPED on node02/);
    const hop = dropped.locator('.hop[data-node="node02"]');
    assert.match(await hop.locator('.explanation .summary').innerText(), /dropped on node02 by the filter FORWARD policy DROP/);
    assert.match(await hop.locator('.decided-by').innerText(), /the filter FORWARD policy DROP/);
    // The deciding step highlighted in the rules on the path: the FORWARD chain's policy.
    const decided = hop.locator('table.events tr.decided');
    assert.equal(await decided.count(), 1);
    assert.match(await decided.innerText(), /FORWARD\s+filter\s+FORWARD\s+policy\s+policy DROP\s+DROP\s+◀ decides/);
    assert.match(await hop.locator('.origin').innerText(), /Docker sets the filter FORWARD policy to DROP/);
    assert.match(await hop.locator('.fix').innerText(), new RegExp(`iptables ${SEED004_FIX.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.match(await hop.locator('.near-misses').innerText(), /filter FORWARD rule 12 would ACCEPT, but the source 10\.224\.0\.0 is not in 10\.244\.0\.0\/16/);
    // The other path leaves the cluster from master.
    assert.equal(await page.locator('article.path[data-end="LEFT_CLUSTER"][data-end-node="master"]').count(), 1);
    // The drawn path beside the list (POST /trace/drawing, an image): both nodes, the drop at node02's FORWARD policy.
    const drawn = page.locator('figure.drawing img');
    await drawn.waitFor();
    const svg = await pictureOf(drawn);
    assert.match(svg, /<svg/);
    for (const text of ['master', 'node02', 'FORWARD', 'policy DROP']) assert.ok(svg.includes(text), `the drawing shows ${text}`);

    // The address now holds the form: reloading it (a bookmark) runs the same trace.
    assert.match(page.url(), /\/ui\/#\/trace\/cluster\/lab\?from=master&in=eth0&src=192\.0\.2\.100&dst=10\.108\.94\.160&proto=tcp&sport=51000&dport=80$/);
    await page.reload();
    await page.locator('article.path[data-end="DROPPED"][data-end-node="node02"] .hop[data-node="node02"] .fix').waitFor();
    assert.equal(await page.getByLabel('Source', { exact: true }).inputValue(), '192.0.2.100');
    await page.context().close();
  });

  it("shows node02's filter chain graph, drawn, above its chains", async () => {
    const page = await tablePage('node02', 'filter');
    const img = page.locator('.chain-graph figure img');
    await img.waitFor();
    const svg = await pictureOf(img);
    for (const chain of ['FORWARD', 'DOCKER-USER', 'KUBE-FORWARD']) assert.ok(svg.includes(`>${chain}<`), `the graph has a box for ${chain}`);
    assert.match(svg, /policy DROP/);
    // No kube-proxy groups on node02's filter table: nothing to expand.
    assert.equal(await page.locator('button.expand-group').count(), 0);
    await page.locator('table.chains tr[data-chain="FORWARD"]').waitFor();
    await page.context().close();
  });

  it("expands a kube-proxy node's grouped chains by clicking their group, and collapses them again", async () => {
    const page = await tablePage('kp', 'nat');
    const sepGroup = page.locator('button.expand-group[data-group="KUBE-SEP-*"]');
    await sepGroup.waitFor();
    assert.match(await sepGroup.innerText(), new RegExp(`×${KUBE_SEP.length} chains`));
    const img = page.locator('.chain-graph figure img');
    const grouped = await pictureOf(img);
    // (A box's title is a text element of its own; the group's tooltip may name its chains.)
    assert.ok(grouped.includes('>KUBE-SEP-*<'));
    for (const chain of KUBE_SEP) assert.ok(!grouped.includes(`>${chain}<`), `${chain} is in its group, not a box`);

    await sepGroup.click();
    await page.locator('button.collapse-group[data-group="KUBE-SEP-*"]').waitFor();
    assert.equal(await sepGroup.count(), 0, 'the expanded group has no box of its own any more');
    const expanded = await pictureOf(img);
    for (const chain of KUBE_SEP) assert.ok(expanded.includes(`>${chain}<`), `${chain} drawn once expanded`);
    assert.match(decodeURIComponent(page.url()), /#\/node\/kp\/nat\?expand=KUBE-SEP-\*$/);
    // The address holds it: a reload draws it expanded again.
    await page.reload();
    await page.locator('button.collapse-group[data-group="KUBE-SEP-*"]').waitFor();
    assert.ok((await pictureOf(page.locator('.chain-graph figure img'))).includes(`>${KUBE_SEP[0]}<`));

    await page.locator('button.collapse-group[data-group="KUBE-SEP-*"]').click();
    await sepGroup.waitFor();
    assert.ok(!(await pictureOf(img)).includes(`>${KUBE_SEP[0]}<`));
    // A name that is neither a chain nor a group: the API's 400 said in the graph's place, the chains still listed.
    await page.getByLabel('Expand a chain').fill('NO-SUCH-CHAIN');
    await page.getByRole('button', { name: 'Expand', exact: true }).click();
    await page.locator('.chain-graph .graph-error').waitFor();
    assert.match(await page.locator('.chain-graph .graph-error').innerText(), /NO-SUCH-CHAIN/);
    assert.equal(await page.locator('table.chains tr[data-chain="KUBE-SERVICES"]').count(), 1);
    await page.context().close();
  });

  it('traces on one node: node02 drops the forwarded packet at its FORWARD policy', async () => {
    const page = await signedIn();
    await submitTrace(page, { node: 'node02', in: 'flannel.1', src: '10.224.0.0', dst: '10.224.2.16', sport: '51000', dport: '80' });
    const outcome = page.locator('article.path[data-end="DROPPED"]');
    await outcome.waitFor();
    assert.equal(await page.locator('article.path').count(), 1);
    assert.match(await outcome.locator('table.events tr.decided').innerText(), /FORWARD\s+filter\s+FORWARD\s+policy/);
    // The deciding chain links to its rules on the node.
    await outcome.locator('table.events tr.decided').getByRole('link', { name: 'FORWARD' }).click();
    await page.locator('table.rules').waitFor();
    assert.match(page.url(), /#\/node\/node02\/filter\/FORWARD$/);
    await page.context().close();
  });

  it("the conntrack state and mark are sent: node02's FORWARD accepts an ESTABLISHED or 0x4000-marked packet it drops when NEW", async () => {
    const page = await signedIn();
    const packet = { node: 'node02', in: 'flannel.1', src: '10.224.0.0', dst: '10.224.2.16', sport: '51000', dport: '80' };
    const decided = page.locator('article.path table.events tr.decided');
    await submitTrace(page, { ...packet, state: 'ESTABLISHED' });
    await page.locator('article.path[data-end="FORWARDED"]').waitFor();
    assert.equal(await page.locator('article.path[data-end="DROPPED"]').count(), 0);
    assert.match(await decided.innerText(), /kubernetes forwarding conntrack rule/);
    assert.match(page.url(), /&state=ESTABLISHED$/);

    await page.getByLabel('Conntrack state').selectOption('NEW');
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    await page.locator('article.path[data-end="DROPPED"]').waitFor();
    assert.match(await decided.innerText(), /FORWARD\s+policy/);

    await page.getByLabel('Mark', { exact: true }).fill('0x4000');
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    await page.locator('article.path[data-end="FORWARDED"]').waitFor();
    assert.match(await decided.innerText(), /kubernetes forwarding rules/);

    await page.getByLabel('Conntrack state').selectOption('INVALID');
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    await page.locator('article.path[data-end="DROPPED"]').waitFor();
    assert.match(await decided.innerText(), /ctstate INVALID/);
    await page.context().close();
  });

  it('asks for the ICMP type (not ports) when the protocol is icmp', async () => {
    const page = await signedIn();
    await submitTrace(page, { node: 'node02', in: 'flannel.1', src: '10.224.0.0', dst: '10.224.2.16', protocol: 'icmp', icmpType: '8' });
    await page.locator('article.path').first().waitFor();
    assert.equal(await page.getByLabel('Destination port', { exact: true }).isVisible(), false);
    assert.match(page.url(), /proto=icmp&icmpType=8$/);
    // The packet as traced (the outcome's packet line) is an echo request.
    await page.getByLabel('ICMP type').fill('x');
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    await page.locator('#status').getByText('the ICMP type must be a number').waitFor();
    await page.getByLabel('Protocol').selectOption('tcp');
    assert.equal(await page.getByLabel('ICMP type').isVisible(), false);
    assert.equal(await page.getByLabel('Destination port', { exact: true }).isVisible(), true);
    await page.context().close();
  });

  it("what-if: the fix on node02 sent as changes turns the drop around, before and after shown", async () => {
    const page = await signedIn();
    await traceSeed004(page, { node: 'node02', commands: SEED004_FIX });
    const whatIf = page.locator('.whatif-result');
    assert.match(await whatIf.locator('h3').innerText(), /the changes alter the outcome/);
    assert.match(await whatIf.locator('.before').innerText(), /DROPPED on node02/);
    assert.doesNotMatch(await whatIf.locator('.after').innerText(), /DROPPED/);
    assert.equal(await page.locator('article.path[data-end="DROPPED"]').count(), 0);
    await page.context().close();
  });

  it('a refused trace shows the API’s reason', async () => {
    const page = await signedIn();
    await submitTrace(page, { cluster: 'lab', src: '192.0.2.100', dst: 'not-an-address' });
    await page.locator('#status').getByText('is not an IP address').waitFor();
    await page.context().close();
  });

  it('diffs master and node02: the rules only node02 has in filter FORWARD', async () => {
    const page = await signedIn();
    await page.getByRole('link', { name: 'Diff', exact: true }).click();
    await page.getByLabel('Left').selectOption('master');
    await page.getByLabel('Right').selectOption('node02');
    await page.getByRole('button', { name: 'Compare' }).click();
    const forward = page.locator('details.chain-diff[data-chain="filter FORWARD"]');
    await forward.waitFor();
    assert.match(await forward.locator('summary').innerText(), /changed \(\+3 −0\)/);
    assert.match(await forward.locator('.add').first().innerText(), /^\+ -A FORWARD -d 10\.224\.2\.16\/32 -j LOG/);
    assert.doesNotMatch(await page.locator('.diff-summary').innerText(), /Identical/);
    // The drawn diff beside it: the filter table (the default), FORWARD marked as changed.
    const img = page.locator('figure.diff-drawing img');
    await img.waitFor();
    const filter = await pictureOf(img);
    assert.ok(filter.includes('>FORWARD<'));
    assert.match(filter, /changed/);

    // Another table, just the changed chains, the family said: all in the address, drawn again.
    await page.getByLabel('Family').selectOption('');
    await page.getByLabel('Drawn table').locator('option[value="nat"]').waitFor({ state: 'attached' });
    await page.getByLabel('Drawn table').selectOption('nat');
    await page.getByLabel('draw the changed chains').check();
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(/#\/diff\/master\/node02\?table=nat&expand=changed$/);
    await page.locator('details.chain-diff[data-chain="filter FORWARD"]').waitFor();
    const nat = await pictureOf(page.locator('figure.diff-drawing img'));
    assert.ok(!nat.includes('>FORWARD<'), 'the nat table has no FORWARD chain');
    assert.match(nat, /nat/);
    assert.notEqual(nat, filter);
    await page.getByLabel('Family').selectOption('ipv6');
    await page.getByRole('button', { name: 'Compare' }).click();
    // Seed 004 has no ipv6 rulesets: the API's answer says so.
    await page.locator('#status.error').waitFor();
    await page.context().close();
  });

  it('shows a rule comment holding markup as text, never as markup', async () => {
    const page = await signedIn();
    await page.goto(`${base}/ui/#/node/evil/filter/INPUT`);
    const rule = page.locator('table.rules tr[data-position="1"] code.rule');
    await rule.waitFor();
    assert.ok((await rule.innerText()).includes(MARKUP));
    assert.equal(await page.locator('#injected').count(), 0);
    await page.context().close();
  });

  it('ran without script errors or CSP refusals', () => {
    assert.deepEqual(pageErrors, []);
  });
});
