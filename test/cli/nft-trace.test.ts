// Issue 14.3/14.4: `packetpath trace` runs a node's iptables dump and nft
// ruleset in one pipeline (`--nft`, or an nft ruleset as FILE), and a cluster
// directory takes `<node>.nft` files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/cli.ts';
import { FIXTURES } from '../support/paths.ts';

let dir: string;
const DOCKER29 = `table ip docker-bridges {
\tchain filter-FORWARD {
\t\ttype filter hook forward priority filter; policy accept;
\t\toifname "docker0" ip daddr 172.17.0.2 tcp dport 80 accept
\t\toifname "docker0" drop
\t}
\tchain nat-PREROUTING {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tfib daddr type local tcp dport 8080 dnat to 172.17.0.2:80
\t}
}
`;
const HOST = { interfaces: [{ name: 'eth0', addresses: ['203.0.113.10/24'] }, { name: 'docker0', addresses: ['172.17.0.1/16'] }], routes: [{ dst: 'default', via: '203.0.113.1', dev: 'eth0' }], forwarding: true };
const PACKET = ['--in', 'eth0', '--src', '198.51.100.7', '--dst', '203.0.113.10', '--proto', 'tcp', '--sport', '40000', '--dport', '8080'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'packetpath-nft-cli-'));
  await writeFile(join(dir, 'docker.nft'), DOCKER29);
  await writeFile(join(dir, 'iptables.txt'), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  await writeFile(join(dir, 'host.json'), JSON.stringify(HOST));
  await writeFile(join(dir, 'broken.nft'), 'table ip t {\n\tchain c {\n\t\taccept\n\t}\n');
});
after(() => rm(dir, { recursive: true, force: true }));

test('trace DUMP --nft NFT: Docker accepts, the iptables FORWARD policy DROP decides', async () => {
  const r = await cli('trace', join(dir, 'iptables.txt'), '--nft', join(dir, 'docker.nft'), '--host', join(dir, 'host.json'), ...PACKET, '--expect', 'DROPPED');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /nft ip docker-bridges filter-FORWARD \(Docker \(nftables backend\)\) → accept\n {4}FORWARD {8}0 {2}iptables filter FORWARD \(iptables \(nft backend\)\) → DROP {2}← decided/);
  const json = await cli('trace', join(dir, 'iptables.txt'), '--nft', join(dir, 'docker.nft'), '--host', join(dir, 'host.json'), ...PACKET, '--json');
  const o = JSON.parse(json.out).outcomes[0];
  assert.equal(o.baseChains.find((b: { decided: boolean }) => b.decided).table, 'filter');
});

test('trace NFT alone (a node in nftables mode only): the packet is forwarded to the container', async () => {
  const r = await cli('trace', join(dir, 'docker.nft'), '--host', join(dir, 'host.json'), ...PACKET, '--expect', 'FORWARDED');
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /nft ip docker-bridges nat-PREROUTING/);
});

test('a broken nft ruleset: exit 1 (input it cannot process) naming file, line and column; two nft rulesets: exit 2 (usage)', async () => {
  const r = await cli('trace', '--nft', join(dir, 'broken.nft'), ...PACKET);
  assert.equal(r.code, 1);
  assert.match(r.err, /broken\.nft:5:1: table ip t \(line 1\): expected '\}' before the end of input/);
  const twice = await cli('trace', join(dir, 'docker.nft'), '--nft', join(dir, 'docker.nft'), ...PACKET);
  assert.equal(twice.code, 2);
  assert.match(twice.err, /is an nft ruleset and so is --nft/);
});

test('trace --cluster DIR with node02.nft: master in iptables mode, node02 in nftables mode', async () => {
  const cluster = join(dir, 'cluster');
  await cp(join(FIXTURES, 'seed004'), cluster, { recursive: true });
  await rm(join(cluster, 'node02.txt'));
  await writeFile(join(cluster, 'node02.nft'), 'table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n');
  const args = ['trace', '--cluster', cluster, '--from', 'master', '--in', 'eth0', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--dport', '80', '--json'];
  const r = await cli(...args);
  assert.equal(r.code, 0, r.err);
  const drop = JSON.parse(r.out).paths.find((p: { endNode: string }) => p.endNode === 'node02');
  assert.equal(drop.end, 'DROPPED');
  assert.deepEqual(drop.hops[1].outcome.baseChains.filter((b: { decided: boolean }) => b.decided).map((b: { language: string; table: string; chain: string }) => [b.language, b.table, b.chain]), [['nftables', 'filter', 'forward']]);
  // The same ruleset as `nft -j list ruleset` JSON in node02.nft.json.
  await rm(join(cluster, 'node02.nft'));
  await writeFile(join(cluster, 'node02.nft.json'), JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'filter', handle: 1 } }, { chain: { family: 'inet', table: 'filter', name: 'forward', handle: 1, type: 'filter', hook: 'forward', prio: 0, policy: 'drop' } }] }));
  const fromJson = await cli(...args);
  assert.equal(fromJson.code, 0, fromJson.err);
  assert.equal(JSON.parse(fromJson.out).paths.find((p: { endNode: string }) => p.endNode === 'node02').end, 'DROPPED');
});

test('trace DUMP --legacy LEGACY, and <node>.iptables-legacy.txt in a cluster directory: both iptables backends run', async () => {
  await writeFile(join(dir, 'open.txt'), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  await writeFile(join(dir, 'legacy.txt'), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -d 172.17.0.2/32 -j DROP\nCOMMIT\n');
  const r = await cli('trace', join(dir, 'open.txt'), '--nft', join(dir, 'docker.nft'), '--legacy', join(dir, 'legacy.txt'), '--host', join(dir, 'host.json'), ...PACKET, '--expect', 'DROPPED');
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /iptables-legacy filter FORWARD \(iptables \(legacy backend\)\) → DROP {2}← decided/);
  const without = await cli('trace', join(dir, 'open.txt'), '--nft', join(dir, 'docker.nft'), '--host', join(dir, 'host.json'), ...PACKET, '--expect', 'FORWARDED');
  assert.equal(without.code, 0, without.err + without.out);
  const bad = await cli('trace', join(dir, 'open.txt'), '--legacy', join(dir, 'host.json'), ...PACKET);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /host\.json: no tables could be read/);

  const cluster = join(dir, 'mixed-cluster');
  await cp(join(FIXTURES, 'seed004'), cluster, { recursive: true });
  const args = ['trace', '--cluster', cluster, '--from', 'master', '--in', 'eth0', '--src', '192.0.2.100', '--dst', '10.108.94.160', '--proto', 'tcp', '--dport', '80', '--json'];
  const before = JSON.parse((await cli(...args)).out).paths as { endNode: string; end: string }[];
  // master's legacy tables drop what its iptables-nft rules let through; no node is named "master.iptables-legacy".
  await writeFile(join(cluster, 'master.iptables-legacy.txt'), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  const r2 = await cli(...args);
  assert.equal(r2.code, 0, r2.err);
  const paths = JSON.parse(r2.out).paths as { endNode: string; end: string; hops: { node: string; outcome: { events: { backend?: string }[] } }[] }[];
  assert.ok(before.some((p) => p.endNode !== 'master'), 'without them the packet leaves master');
  assert.ok(paths.every((p) => p.endNode === 'master' && p.end === 'DROPPED'), JSON.stringify(paths.map((p) => [p.endNode, p.end])));
  assert.equal(paths[0]!.hops[0]!.outcome.events.at(-1)!.backend, 'legacy');
  assert.ok(paths.every((p) => p.hops.every((h) => h.node !== 'master.iptables-legacy')));
});

test('lint --nft: findings across owners name the owner; diff of two nft rulesets by rules and set members', async () => {
  await writeFile(join(dir, 'fw.nft'), 'table inet firewalld {\n\tchain filter_FORWARD {\n\t\ttype filter hook forward priority filter + 10; policy drop;\n\t}\n}\n');
  await writeFile(join(dir, 'kube.txt'), '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES ! -s 10.244.0.0/16 -d 10.96.0.80/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 10.244.0.0/16 -j ACCEPT\nCOMMIT\n');
  const lint = await cli('lint', join(dir, 'kube.txt'), '--nft', join(dir, 'fw.nft'));
  assert.equal(lint.code, 1, 'an error finding');
  assert.match(lint.out, /fw\.nft: error \[accept-overridden\] \(firewalld\) inet firewalld filter_FORWARD: nft inet firewalld filter_FORWARD \(firewalld\) drops pod traffic/);
  await writeFile(join(dir, 'a.nft'), 'table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.1 }\n\t}\n\tchain c {\n\t\tip saddr @s counter packets 1 bytes 60 accept\n\t}\n}\n');
  await writeFile(join(dir, 'b.nft'), 'table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.1, 192.0.2.2 }\n\t}\n\tchain c {\n\t\tip saddr @s counter packets 9 bytes 900 accept\n\t}\n}\n');
  const diff = await cli('diff', join(dir, 'a.nft'), join(dir, 'b.nft'));
  assert.equal(diff.code, 1);
  assert.match(diff.out, /@@ ip t set s @@\n\+element 192\.0\.2\.2\n/);
  assert.doesNotMatch(diff.out, /chain c/, 'counters are no difference');
  const same = await cli('diff', join(dir, 'a.nft'), join(dir, 'a.nft'));
  assert.equal(same.code, 0);
  const mixed = await cli('diff', join(dir, 'a.nft'), join(dir, 'kube.txt'));
  assert.equal(mixed.code, 2);
  assert.match(mixed.err, /compares like with like/);
});
