// Issue 14, done when: the agent, run inside a namespace whose netfilter has
// rules in iptables-legacy, iptables-nft and native nft tables at once,
// collects and uploads the node; the server then traces packets through what
// it stored, and every trace must be what the kernel did with the same packet
// in that namespace (`nft monitor trace`, and what the peers received).
//
// `nft monitor trace` does not see iptables-legacy tables: their rules are
// compared by their effect (a packet the legacy tables drop is not received
// and the nft-visible events stop there), so the server's legacy events are
// left out of the comparison and every other event must match one by one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { DEFAULT_CONFIG } from '../../src/http/config.ts';
import { createToken, openDatabase, type Database } from '../../src/store/index.ts';
import { topologyAvailable } from './netns.ts';
import { compareNftRun, runNftCase, type NftDiffCase, type NftKernelResult, type SimEventLike } from './nft-differential.ts';
import { packetInputOf, type CaseHost } from './differential.ts';
import { REPO_ROOT } from '../support/paths.ts';

const avail = await (async (): Promise<{ ok: true } | { ok: false; reason: string }> => {
  const t = await topologyAvailable();
  if (!t.ok) return t;
  const found = await new Promise<boolean>((res) => execFile('sh', ['-c', 'command -v iptables-legacy-restore && command -v iptables-legacy-save'], (err) => res(!err)));
  return found ? { ok: true } : { ok: false, reason: 'iptables-legacy is not installed' };
})();
if (!avail.ok) console.warn(`\n*** SKIPPING the mixed-node (legacy + iptables-nft + nft) agent-to-kernel test: ${avail.reason} ***\n`);

const HOST: CaseHost = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'docker0', addresses: ['198.51.100.1/24'] },
  ],
  routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }],
  forwarding: true,
};

/** Docker 29 writes native nft; an old kube-proxy writes iptables-nft; something older still writes iptables-legacy. */
const NFT = `table ip docker-bridges {
\tchain filter-FORWARD {
\t\ttype filter hook forward priority filter; policy accept;
\t\toifname "docker0" tcp dport 80 accept
\t\toifname "docker0" drop
\t}
}
`;
const IPTABLES_NFT = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -d 198.51.100.20/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -d 198.51.100.21/32 -j DROP
COMMIT
`;
const IPTABLES_LEGACY = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 192.0.2.66/32 -j DROP
-A OUTPUT -d 192.0.2.99/32 -j DROP
COMMIT
`;

const tcp = (src: string, dst: string, dport: number, from = 'eth0') => ({ from, src, dst, proto: 'tcp' as const, dport });
const CASE: NftDiffCase = {
  name: 'mixed node: iptables-legacy, iptables-nft and Docker 29 nft',
  nft: NFT,
  iptables: IPTABLES_NFT,
  host: HOST,
  packets: [
    tcp('192.0.2.10', '198.51.100.20', 80), // every owner accepts: forwarded
    tcp('192.0.2.66', '198.51.100.20', 80), // nft and iptables-nft accept, the legacy FORWARD rule drops it
    tcp('192.0.2.10', '198.51.100.21', 80), // nft accepts, iptables-nft drops: the legacy tables never see it
    tcp('192.0.2.10', '198.51.100.20', 443), // the nft chain drops it first
    tcp('192.0.2.66', '198.51.100.30', 22), // nft drops it before the legacy rule would
    tcp('192.0.2.1', '192.0.2.10', 8080, 'local'), // sent
    tcp('192.0.2.1', '192.0.2.99', 8080, 'local'), // the legacy OUTPUT rule drops it (EPERM)
  ],
};

const NODE = 'mixed';
let dir: string;
let db: Database;
let app: FastifyInstance;
let admin: string;
let kernel: NftKernelResult;

before(async () => {
  if (!avail.ok) return;
  dir = await mkdtemp(join(tmpdir(), 'packetpath-mixed-'));
  const sock = join(dir, 'api.sock');
  const config = { ...DEFAULT_CONFIG, databaseUrl: `file:${join(dir, 'api.db')}`, logLevel: 'silent' as const, port: 0 };
  db = await openDatabase(config.databaseUrl);
  const upload = (await createToken(db.prisma, { scope: 'upload', name: 'agent' })).token;
  admin = (await createToken(db.prisma, { scope: 'admin' })).token;
  await writeFile(join(dir, 'token'), `${upload}\n`, { mode: 0o600 });
  app = await buildApp({ config, db, logger: false });
  // A filesystem socket: reachable from the node's network namespace, where 127.0.0.1 is not ours.
  await app.listen({ path: sock });
  const agent = [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'agent', '--once', '--server', `unix:${sock}`, '--token-file', join(dir, 'token'), '--node', NODE, '--state-dir', join(dir, 'state'), '--kube-proxy-url', 'none', '--timeout', '30s'];
  kernel = await runNftCase(CASE, { legacyDump: IPTABLES_LEGACY, afterSetup: { argv: agent, cwd: REPO_ROOT } });
});

after(async () => {
  await app?.close();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const asAdmin = { authorization: () => `Bearer ${admin}` };

async function call(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; json: any }> {
  const r = await app.inject({ method, url, headers: { authorization: asAdmin.authorization() }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : undefined };
}

test('the agent collects all three owners of the node: iptables-nft with nft as the node, iptables-legacy as its companion', { skip: avail.ok ? false : avail.reason }, async () => {
  const ran = kernel.setup.afterSetup!;
  assert.equal(ran.code, 0, `agent: ${ran.stdout}\n${ran.stderr}`);
  const node = await call('GET', `/api/v1/nodes/${NODE}`);
  assert.equal(node.status, 200);
  assert.equal(node.json.labels['packetpath.io/iptables-backend'], 'nft');
  assert.equal(node.json.labels['packetpath.io/iptables-legacy-node'], `${NODE}.iptables-legacy`);
  const legacy = await call('GET', `/api/v1/nodes/${NODE}.iptables-legacy/dumps/latest`);
  assert.equal(legacy.status, 200);
  const nft = await call('GET', `/api/v1/nodes/${NODE}/tables?family=nft`);
  assert.ok(nft.json.tables.some((t: { name: string }) => t.name === 'ip docker-bridges'), JSON.stringify(nft.json));
  const ipt = await call('GET', `/api/v1/nodes/${NODE}/tables/filter/chains/FORWARD`);
  assert.equal(ipt.status, 200, JSON.stringify(ipt.json));
  assert.equal(ipt.json.rules.length, 2, 'the iptables-nft FORWARD rules');
  const old = await call('GET', `/api/v1/nodes/${NODE}.iptables-legacy/tables/filter/chains/FORWARD`);
  assert.deepEqual(old.json.rules.map((r: { text: string }) => r.text), ['-A FORWARD -s 192.0.2.66/32 -j DROP']);
});

test('the server traces the uploaded node the way the kernel does (every owner, both iptables backends)', { skip: avail.ok ? false : avail.reason }, async () => {
  assert.equal(kernel.packets.length, CASE.packets.length);
  const bad: string[] = [];
  const seen = { legacyDecided: 0, nftBackendBeforeLegacy: 0 };
  for (const p of kernel.packets) {
    const r = await call('POST', '/api/v1/trace', { node: NODE, packet: packetInputOf(p.spec) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(typeof r.json.legacyDump, 'number', 'the companion\'s legacy tables were traced');
    assert.equal(typeof r.json.nftDump, 'number');
    const outcomes = r.json.outcomes as { events: (SimEventLike & { backend?: string })[]; disposition: string; packet: Record<string, unknown>; baseChains: { backend?: string; decided: boolean }[] }[];
    // The kernel's monitor cannot see the legacy tables: compare every other event, and the effect.
    const visible = outcomes.map((o) => ({ ...o, events: o.events.filter((e) => e.backend !== 'legacy') }));
    const v = compareNftRun(p, visible);
    if (!v.ok) bad.push(`${JSON.stringify(p.packet)}\n${v.detail}`);
    const o = outcomes[v.outcomeIndex] ?? outcomes[0]!;
    if (o.baseChains.some((b) => b.backend === 'legacy' && b.decided)) {
      seen.legacyDecided++;
      if (p.events.some((e) => e.kind === 'rule' && e.table === 'filter')) seen.nftBackendBeforeLegacy++;
    }
    if (p.sendError) assert.match(p.sendError, /^EPERM/, `${JSON.stringify(p.packet)}: ${p.sendError}`);
  }
  assert.equal(bad.length, 0, `${bad.length} of ${kernel.packets.length} packets differ from the kernel:\n${bad.join('\n\n')}`);
  assert.equal(seen.legacyDecided, 2, 'the legacy FORWARD and OUTPUT rules each decided a packet');
  assert.equal(seen.nftBackendBeforeLegacy, 1, 'the kernel ran the iptables-nft FORWARD rule before the legacy table dropped the packet, as the server says');
});
