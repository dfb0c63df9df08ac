// End to end, on a real kernel: the agent CLI (`packetpath agent`) runs as a
// subprocess inside a private network namespace holding a kube-proxy-like
// ruleset, an interface with addresses and routes, an ipset and forwarding on;
// the server runs in this process on a temporary database, listening on a
// unix socket (a filesystem socket is reachable from another network
// namespace, 127.0.0.1 of this one is not).
//
// The namespace is held by `unshare --net --mount sleep infinity`; every
// command (iptables-restore, ip, sysctl, the agent) runs in it through
// `nsenter --target PID --net --mount`, after checking that PID's network
// namespace is not ours. Nothing here touches the machine's own namespace.
// Only documentation addresses are used (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { DEFAULT_CONFIG, type Config } from '../../src/http/config.ts';
import { buildHost } from '../../src/netfilter/index.ts';
import { createToken, openDatabase, prepareDump, prepareNftDump, type Database } from '../../src/store/index.ts';
import { kernelAvailable, stripSaveComments } from '../kernel/netns.ts';
import { REPO_ROOT } from '../support/paths.ts';

const NODE = 'agent-node';
const LEGACY_NODE = `${NODE}.iptables-legacy`;

// A small kube-proxy (iptables mode) ruleset: a ClusterIP service with two
// endpoints, masquerade marking, a service without endpoints, an ipset match.
const KUBE_DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A INPUT -m set --match-set KUBE-TEST src -j ACCEPT
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-SERVICES -d 198.51.100.99/32 -p tcp -m comment --comment "default/nosvc has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-AAAAAAAAAAAAAAAA - [0:0]
:KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-WEBWEBWEBWEBWEBW - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-SEP-AAAAAAAAAAAAAAAA -s 203.0.113.5/32 -m comment --comment "default/web" -j KUBE-MARK-MASQ
-A KUBE-SEP-AAAAAAAAAAAAAAAA -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination 203.0.113.5:8080
-A KUBE-SEP-BBBBBBBBBBBBBBBB -s 203.0.113.6/32 -m comment --comment "default/web" -j KUBE-MARK-MASQ
-A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination 203.0.113.6:8080
-A KUBE-SERVICES -d 198.51.100.10/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEBWEBWEBWEBWEBW
-A KUBE-SVC-WEBWEBWEBWEBWEBW ! -s 203.0.113.0/24 -d 198.51.100.10/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEBWEBWEBWEBWEBW -m comment --comment "default/web -> 203.0.113.5:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-AAAAAAAAAAAAAAAA
-A KUBE-SVC-WEBWEBWEBWEBWEBW -m comment --comment "default/web -> 203.0.113.6:8080" -j KUBE-SEP-BBBBBBBBBBBBBBBB
COMMIT
`;

const KUBE_DUMP6 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 2001:db8:bad::/48 -j DROP
-A FORWARD -d 2001:db8:2::/64 -j ACCEPT
COMMIT
`;

const SETUP = `
ip link set lo up
ip link add eth0 address 02:00:5e:00:53:01 type veth peer name peer0 address 02:00:5e:00:53:02
ip link set peer0 up
ip addr add 192.0.2.10/24 dev eth0
ip addr add 2001:db8:1::10/64 dev eth0 nodad
ip link set eth0 up
ip route add 198.51.100.0/24 via 192.0.2.1 dev eth0
ip route add default via 192.0.2.254 dev eth0
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.ipv4.conf.eth0.route_localnet=1
ipset create KUBE-TEST hash:ip
ipset add KUBE-TEST 203.0.113.77
iptables-restore < "$1"
ip6tables-restore < "$2"
`;

/** Counters zeroed, Generated/Completed lines removed: what must match between two saves of one ruleset. */
const normalize = (text: string): string => stripSaveComments(text).replace(/\[\d+:\d+\]/g, '[0:0]');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A network namespace held by a sleeping process; commands enter it with nsenter. */
class HeldNamespace {
  private constructor(
    private readonly holder: ChildProcess,
    readonly pid: number,
  ) {}

  static async create(): Promise<HeldNamespace> {
    const holder = spawn('unshare', ['--net', '--mount', '--', 'sleep', 'infinity'], { stdio: 'ignore' });
    const pid = holder.pid;
    if (pid === undefined) throw new Error('unshare did not start');
    const ours = readlinkSync('/proc/self/ns/net');
    for (let i = 0; i < 200; i++) {
      try {
        const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
        if (comm === 'sleep' && readlinkSync(`/proc/${pid}/ns/net`) !== ours) return new HeldNamespace(holder, pid);
      } catch {
        /* not there yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    holder.kill('SIGKILL');
    throw new Error('the namespace holder did not get its own network namespace');
  }

  private argv(cmd: readonly string[]): string[] {
    // Refuse to run anything if the holder is gone or shares our namespace.
    if (readlinkSync(`/proc/${this.pid}/ns/net`) === readlinkSync('/proc/self/ns/net')) throw new Error('refusing: same network namespace as the test');
    return ['--target', String(this.pid), '--net', '--mount', `--wd=${REPO_ROOT}`, '--', ...cmd];
  }

  exec(cmd: readonly string[], timeoutMs = 60_000): Promise<Result> {
    return new Promise((resolve) => {
      execFile('nsenter', this.argv(cmd), { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** `sh -ec SCRIPT ARGS…` in the namespace; throws on failure. */
  async sh(script: string, ...args: string[]): Promise<string> {
    const r = await this.exec(['sh', '-ec', script, 'sh', ...args]);
    if (r.code !== 0) throw new Error(`in the namespace: ${script.trim().split('\n')[0]}…: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  spawn(cmd: readonly string[]): ChildProcess {
    return spawn('nsenter', this.argv(cmd), { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  close(): void {
    this.holder.kill('SIGKILL');
  }
}

const availability = await (async (): Promise<{ ok: true } | { ok: false; reason: string }> => {
  const k = await kernelAvailable();
  if (!k.ok) return k;
  for (const tool of ['nsenter', 'ip', 'ipset', 'iptables-legacy']) {
    const found = await new Promise<boolean>((res) => execFile('sh', ['-c', `command -v ${tool}`], (err) => res(!err)));
    if (!found) return { ok: false, reason: `${tool} is not installed` };
  }
  return { ok: true };
})();
if (!availability.ok) {
  console.warn(`\n*** SKIPPING the agent's network-namespace tests: ${availability.reason} ***\n`);
}

describe('agent in a network namespace (real iptables-save, real server)', { skip: availability.ok ? false : availability.reason }, () => {
  let dir: string;
  let ns: HeldNamespace;
  let db: Database;
  let app: FastifyInstance | null = null;
  let config: Config;
  const serverLog: string[] = [];
  const agentOutput: string[] = [];
  const counts = { uploads: 0, shaChecks: 0 };
  const tokens: Record<'upload' | 'admin' | 'read', string> = { upload: '', admin: '', read: '' };
  let sock: string;
  let stateDir: string;

  async function startServer(): Promise<void> {
    await rm(sock, { force: true });
    const a = await buildApp({ config, db, logger: { level: 'info', stream: { write: (l: string) => void serverLog.push(l) } } });
    a.addHook('onResponse', async (request) => {
      if (request.method === 'POST' && /\/dumps$/.test(request.url)) counts.uploads++;
      if (request.method === 'GET' && /\/dumps\/latest\/sha/.test(request.url)) counts.shaChecks++;
    });
    await a.listen({ path: sock });
    app = a;
  }

  async function stopServer(): Promise<void> {
    await app?.close();
    app = null;
  }

  /** A GET as admin, through the app (the server may be stopped: a throwaway app on the same database then). */
  async function get(url: string): Promise<{ status: number; body: string; json: () => any }> {
    const a = app ?? (await buildApp({ config, db, logger: false }));
    try {
      const res = await a.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens.admin}` } });
      return { status: res.statusCode, body: res.body, json: () => JSON.parse(res.body) };
    } finally {
      if (a !== app) await a.close();
    }
  }

  const agentArgs = (extra: string[] = [], tokenFile = join(dir, 'token')): string[] => [
    process.execPath,
    '--import',
    'tsx',
    join(REPO_ROOT, 'src', 'cli', 'main.ts'),
    'agent',
    '--server',
    `unix:${sock}`,
    '--token-file',
    tokenFile,
    '--node',
    NODE,
    '--cluster',
    'lab',
    '--label',
    'zone=a',
    '--state-dir',
    stateDir,
    '--timeout',
    '20s',
    ...extra,
  ];

  async function agentOnce(extra: string[] = [], tokenFile?: string): Promise<Result> {
    const r = await ns.exec(agentArgs(['--once', ...extra], tokenFile), 120_000);
    agentOutput.push(r.stdout, r.stderr);
    return r;
  }

  const logLines = (r: Result): { level: string; msg: string; [k: string]: unknown }[] =>
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; msg: string });

  async function versions(node: string): Promise<{ id: number; family: string; sha256: string; collectedAt: string }[]> {
    return (await get(`/api/v1/nodes/${node}/dumps?limit=500`)).json().items;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'packetpath-agent-e2e-'));
    sock = join(dir, 'api.sock');
    stateDir = join(dir, 'state');
    config = { ...DEFAULT_CONFIG, databaseUrl: `file:${join(dir, 'api.db')}`, logLevel: 'info', port: 0 };
    db = await openDatabase(config.databaseUrl);
    tokens.upload = (await createToken(db.prisma, { scope: 'upload', cluster: 'lab', name: 'agents' })).token;
    tokens.admin = (await createToken(db.prisma, { scope: 'admin' })).token;
    tokens.read = (await createToken(db.prisma, { scope: 'read' })).token;
    await writeFile(join(dir, 'token'), `${tokens.upload}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'kube.save'), KUBE_DUMP);
    await writeFile(join(dir, 'kube6.save'), KUBE_DUMP6);
    ns = await HeldNamespace.create();
    await ns.sh(SETUP, join(dir, 'kube.save'), join(dir, 'kube6.save'));
    await startServer();
  });

  after(async () => {
    ns?.close();
    await stopServer();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uploads the namespace\'s ruleset (= its iptables-save) and host model (= its interfaces and routes)', async () => {
    const r = await agentOnce();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(counts.uploads, 1);

    const save4 = await ns.sh('iptables-save -c');
    const save6 = await ns.sh('ip6tables-save -c');
    assert.match(save4, /KUBE-SVC-WEBWEBWEBWEBWEBW/);
    const latest = (await get(`/api/v1/nodes/${NODE}/dumps/latest`)).json();
    const latest6 = (await get(`/api/v1/nodes/${NODE}/dumps/latest?family=ipv6`)).json();
    // The version identity is the canonical text without counters: equal to this namespace's.
    assert.equal(latest.sha256, prepareDump(save4).sha256);
    assert.equal(latest6.sha256, prepareDump(save6, { family: 'ipv6' }).sha256);
    assert.equal((await get(`/api/v1/nodes/${NODE}/dumps/${latest.id}/canonical`)).body, prepareDump(save4).canonicalText);
    // The raw upload is iptables-save's own text (counters aside).
    assert.equal(normalize((await get(`/api/v1/nodes/${NODE}/dumps/${latest.id}/raw`)).body), normalize(save4));
    assert.equal(normalize((await get(`/api/v1/nodes/${NODE}/dumps/${latest6.id}/raw`)).body), normalize(save6));
    assert.equal(latest.hasCounters, true);
    assert.equal(latest.hasHost, true);

    // Host: the same interfaces/addresses and routes as `ip -j` in the namespace.
    const host = latest.host as { addr: { ifname: string; address: string; addr_info: { local: string; prefixlen: number }[] }[]; route: { dst: string; gateway?: string; dev?: string }[]; forwarding: unknown; ipsets: string; backend: string };
    const nsAddr = JSON.parse(await ns.sh('ip -j addr show')) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
    const addrs = (a: { ifname: string; addr_info: { local: string; prefixlen: number }[] }[]) => a.flatMap((l) => l.addr_info.map((i) => `${l.ifname} ${i.local}/${i.prefixlen}`)).sort();
    assert.deepEqual(addrs(host.addr), addrs(nsAddr));
    assert.equal(host.addr.find((l) => l.ifname === 'eth0')?.address, '02:00:5e:00:53:01');
    const nsRoutes = JSON.parse(await ns.sh('ip -j -4 route show')) as { dst: string; gateway?: string; dev?: string }[];
    const routes = (rs: { dst: string; gateway?: string; dev?: string }[]) => rs.map((x) => `${x.dst} ${x.gateway ?? '-'} ${x.dev ?? '-'}`).sort();
    assert.deepEqual(routes(host.route.filter((x) => !x.dst.includes(':'))), routes(nsRoutes));
    assert.ok(host.route.some((x) => x.dst === '2001:db8:1::/64'), 'IPv6 routes too');
    assert.deepEqual(host.forwarding, { ipv4: true, ipv6: false });
    // route_localnet as the kernel has it: off for all, on for eth0 (set above).
    assert.deepEqual((host as { routeLocalnet?: unknown }).routeLocalnet, { all: false, interfaces: ['eth0'] });
    assert.match(host.ipsets, /^add KUBE-TEST 203\.0\.113\.77$/m);
    assert.equal(host.backend, 'nft');
    const built = buildHost(host);
    assert.ok(built.ok);
    assert.ok(built.host.routes.some((x) => x.dstText === '198.51.100.0/24' && x.dev === 'eth0'));
    assert.ok(built.host.ipsets.has('KUBE-TEST'));

    const node = (await get(`/api/v1/nodes/${NODE}`)).json();
    assert.equal(node.cluster, 'lab');
    assert.deepEqual(node.labels, { zone: 'a', 'packetpath.io/iptables-backend': 'nft' });
    const lines = logLines(r);
    assert.ok(lines.every((l) => typeof l['time'] === 'string' && typeof l.level === 'string' && typeof l.msg === 'string'));
    assert.ok(lines.some((l) => l.msg === 'uploaded: new version'));
  });

  it('nothing but counters changed: no upload, no new version', async () => {
    // Traffic in the namespace moves counters (OUTPUT/INPUT on lo).
    await ns.sh('ping -c 2 -i 0.2 -W 1 127.0.0.1 >/dev/null 2>&1 || true');
    const before4 = await versions(NODE);
    counts.uploads = 0;
    counts.shaChecks = 0;
    const r = await agentOnce();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(counts.uploads, 0, 'no upload POST');
    assert.ok(counts.shaChecks >= 2, 'the server was asked for its sha256 (ipv4 and ipv6)');
    assert.deepEqual(await versions(NODE), before4);
    assert.ok(logLines(r).some((l) => /upload skipped/.test(l.msg)));
    assert.ok(!existsSync(join(stateDir, 'pending.json')));
  });

  it('a changed route uploads (same ruleset version, new host model)', async () => {
    await ns.sh('ip route add 203.0.113.0/24 via 192.0.2.1 dev eth0');
    const before4 = await versions(NODE);
    counts.uploads = 0;
    const r = await agentOnce();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(counts.uploads, 1);
    assert.deepEqual((await versions(NODE)).map((v) => v.id), before4.map((v) => v.id), 'no new version');
    const host = (await get(`/api/v1/nodes/${NODE}/dumps/latest`)).json().host as { route: { dst: string }[] };
    assert.ok(host.route.some((x) => x.dst === '203.0.113.0/24'));
  });

  it('a changed rule creates a new version', async () => {
    await ns.sh('iptables -t filter -A INPUT -s 198.51.100.0/24 -p tcp --dport 22 -j ACCEPT');
    const r = await agentOnce();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const v4 = (await versions(NODE)).filter((v) => v.family === 'ipv4');
    assert.equal(v4.length, 2);
    assert.equal(v4[0]?.sha256, prepareDump(await ns.sh('iptables-save')).sha256);
  });

  it('iptables-legacy tables besides nft ones: both collected; the legacy ruleset is a labelled companion node', async () => {
    await ns.sh('iptables-legacy -t filter -A INPUT -s 198.51.100.7/32 -j DROP');
    const warning = await ns.exec(['iptables-nft-save']);
    assert.match(warning.stdout + warning.stderr, /iptables-legacy tables present/);
    const r = await agentOnce();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const node = (await get(`/api/v1/nodes/${NODE}`)).json();
    assert.equal(node.labels['packetpath.io/iptables-backend'], 'nft');
    assert.equal(node.labels['packetpath.io/iptables-legacy-node'], LEGACY_NODE);
    const companion = (await get(`/api/v1/nodes/${LEGACY_NODE}`)).json();
    assert.equal(companion.cluster, 'lab');
    assert.deepEqual(companion.labels, { zone: 'a', 'packetpath.io/iptables-backend': 'legacy', 'packetpath.io/legacy-of': NODE });
    const legacySave = await ns.sh('iptables-legacy-save -c');
    assert.equal(companion.latest.ipv4.sha256, prepareDump(legacySave).sha256);
    const legacyRaw = (await get(`/api/v1/nodes/${LEGACY_NODE}/dumps/${companion.latest.ipv4.id}/raw`)).body;
    assert.equal(normalize(legacyRaw), normalize(legacySave));
    assert.match(legacyRaw, /-A INPUT -s 198\.51\.100\.7\/32 -j DROP/);
    // The node's own dump is still the nft ruleset.
    assert.equal(node.latest.ipv4.sha256, prepareDump(await ns.sh('iptables-nft-save')).sha256);
    assert.equal((await get(`/api/v1/nodes/${LEGACY_NODE}/dumps/latest`)).json().host.backend, 'legacy');
  });

  it('iptables-legacy, iptables-nft and native nft rules at once: the nft ruleset is a version of family nft, listed by nft table names', async () => {
    await ns.sh(`nft -f - <<'EOF'
table inet natives {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ip saddr 203.0.113.0/24 counter drop
	}
}
EOF`);
    const r = await agentOnce();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const listing = await ns.sh('nft -j list ruleset');
    const node = (await get(`/api/v1/nodes/${NODE}`)).json();
    assert.equal(node.latest.nft.sha256, prepareNftDump(listing).sha256);
    assert.equal(node.latest.nft.format, 'nft-json');
    const tables = (await get(`/api/v1/nodes/${NODE}/tables?family=nft`)).json().tables.map((t: { name: string }) => t.name);
    assert.ok(tables.includes('inet natives'), tables.join(', '));
    assert.ok(tables.includes('ip filter'), `iptables-nft's own table is in the nft ruleset too: ${tables.join(', ')}`);
    const chain = (await get(`/api/v1/nodes/${NODE}/tables/inet%20natives/chains/forward`)).json();
    assert.equal(chain.hook, 'forward');
    // From `nft -j`: the JSON's explicit `==` is printed as written.
    assert.match(chain.rules[0].text, /^ip saddr (== )?203\.0\.113\.0\/24 counter packets 0 bytes 0 drop$/);
    const host = (await get(`/api/v1/nodes/${NODE}/dumps/latest`)).json().host as { nft: { status: string; version?: string }; kernel: string; kubeProxy: { mode: string; source: string } };
    assert.equal(host.nft.status, 'ok');
    assert.match(host.nft.version ?? '', /^\d+\.\d+/);
    assert.equal(host.kernel, (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim());
    assert.deepEqual([host.kubeProxy.mode, host.kubeProxy.source], ['iptables', 'inferred']);
    // The nft listing's counters alone change nothing.
    counts.uploads = 0;
    const again = await agentOnce();
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(counts.uploads, 0);
  });

  it('server down: the snapshot is kept on disk (exit 4); when the server is back, it arrives first', async () => {
    await stopServer();
    await ns.sh('iptables -t filter -A INPUT -s 203.0.113.0/24 -p udp --dport 53 -j ACCEPT');
    const whileDown = prepareDump(await ns.sh('iptables-save')).sha256;
    const r = await agentOnce(['--retries', '1']);
    assert.equal(r.code, 4, r.stdout + r.stderr);
    const lines = logLines(r);
    assert.ok(lines.some((l) => l.msg === 'delivery failed; retrying'), 'retried');
    assert.ok(lines.some((l) => /kept for the next run/.test(l.msg)));
    const kept = JSON.parse(await readFile(join(stateDir, 'pending.json'), 'utf8')) as { parts: { node: string; sha256: string }[] };
    assert.equal(kept.parts.find((p) => p.node === NODE)?.sha256, whileDown);

    // The rules change again before the server is back: both states arrive, in order.
    await ns.sh('iptables -t filter -A INPUT -s 203.0.113.0/24 -p udp --dport 123 -j ACCEPT');
    const afterwards = prepareDump(await ns.sh('iptables-save')).sha256;
    await startServer();
    const r2 = await agentOnce();
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.ok(logLines(r2).some((l) => /snapshot kept from an earlier run/.test(l.msg)));
    const v4 = (await versions(NODE)).filter((v) => v.family === 'ipv4');
    assert.deepEqual(v4.slice(0, 2).map((v) => v.sha256), [afterwards, whileDown]);
    assert.ok(!existsSync(join(stateDir, 'pending.json')));
  });

  it('as a daemon: retries with backoff while the server is down, delivers when it is back, stops on SIGTERM', async () => {
    await stopServer();
    await ns.sh('iptables -t filter -A INPUT -s 203.0.113.0/24 -p tcp --dport 443 -j ACCEPT');
    const want = prepareDump(await ns.sh('iptables-save')).sha256;
    const child = ns.spawn(agentArgs(['--interval', '1h', '--max-backoff', '1s']));
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
        const end = Date.now() + ms;
        while (!(await ok())) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}; agent said:\n${out}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await until('two failed deliveries', () => (out.match(/delivery failed; the snapshot is kept and retried/g) ?? []).length >= 2);
      assert.ok(existsSync(join(stateDir, 'pending.json')));
      await startServer();
      await until('the upload', async () => (await versions(NODE)).some((v) => v.sha256 === want));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      assert.match(out, /"msg":"stopping"/);
    } finally {
      child.kill('SIGKILL');
      agentOutput.push(out);
    }
  });

  it('a bad token: a clear error and exit 3, no retries; a read-only token cannot upload (403, exit 3)', async () => {
    const bad = join(dir, 'bad-token');
    await writeFile(bad, 'ppt_0123456789ab_' + 'Q'.repeat(43) + '\n');
    const r = await agentOnce(['--state-dir', join(dir, 'state-bad')], bad);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /rejected the token/);
    assert.ok(logLines(r).some((l) => l.level === 'error' && /rejected the token \(401\)/.test(l.msg)));
    assert.ok(!/retrying/.test(r.stdout));

    const readOnly = join(dir, 'read-token');
    await writeFile(readOnly, tokens.read);
    const r2 = await agentOnce(['--state-dir', join(dir, 'state-read')], readOnly);
    assert.equal(r2.code, 3, r2.stdout + r2.stderr);
    assert.ok(logLines(r2).some((l) => l.level === 'error' && /refused this token \(403\)/.test(l.msg)));
  });

  it('tokens never appear in the agent\'s or the server\'s logs', () => {
    assert.ok(agentOutput.join('').length > 1000 && serverLog.length > 10);
    for (const token of Object.values(tokens)) {
      const secret = token.slice(17);
      assert.ok(!agentOutput.some((o) => o.includes(secret)), 'a token is in the agent output');
      assert.ok(!serverLog.some((l) => l.includes(secret)), 'a token is in the server log');
    }
    assert.ok(!agentOutput.some((o) => o.includes('Q'.repeat(43))));
  });
});
