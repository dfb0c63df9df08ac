// /metrics as an operator meets it: `packetpath serve` (the installed bin,
// started from another directory, on a non-default port), a scrape token made
// with `packetpath token create --scope scrape`, and a scrape as Prometheus
// makes it (Authorization: Bearer) after an agent's upload.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBinServer, type BinServer } from '../support/bin-server.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { parseExposition, samplesOf, valueOf } from '../support/prometheus.ts';
import { iptablesForward } from '../support/stories.ts';

const run = promisify(execFile);

describe('packetpath serve: GET /metrics with a scrape token', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-metrics-'));
  const env = { DATABASE_URL: `file:${join(dir, 'metrics.db')}`, LOG_LEVEL: 'warn' };
  const token = async (scope: string): Promise<string> =>
    (await run(process.execPath, [join(REPO_ROOT, 'bin', 'packetpath.mjs'), 'token', 'create', '--scope', scope, '--name', `test-${scope}`], { cwd: dir, env: { ...process.env, ...env } })).stdout.trim();
  let server: BinServer | undefined;
  let scrape = '';
  let upload = '';
  before(async () => {
    scrape = await token('scrape');
    upload = await token('upload');
    server = await startBinServer(dir, env);
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the scrape token with the upload counted and the node\'s age; the upload token and no token are refused', async () => {
    const base = server!.base;
    const up = await fetch(`${base}/api/v1/nodes/node02/dumps`, { method: 'POST', headers: { authorization: `Bearer ${upload}`, 'content-type': 'text/plain' }, body: iptablesForward('DROP') });
    assert.equal(up.status, 201);
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${scrape}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const m = parseExposition(await res.text());
    assert.equal(valueOf(m, 'packetpath_uploads_total', { kind: 'whole', result: 'stored' }), 1);
    assert.equal(samplesOf(m, 'packetpath_node_last_upload_age_seconds', { node: 'node02', family: 'ipv4' }).length, 1);
    assert.ok(samplesOf(m, 'process_resident_memory_bytes').length === 1);
    assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${upload}` } })).status, 403);
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    assert.equal((await fetch(`${base}/api/v1/nodes`, { headers: { authorization: `Bearer ${scrape}` } })).status, 403);
  });
});
