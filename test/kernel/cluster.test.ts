// Multi-node behaviour against the kernel: the seed 004 cluster (master and
// node02 joined by a veth pair named flannel.1 on both sides, standing in for
// the VXLAN overlay), each node loaded with its dump. The kernel's per-node
// events must equal the simulator's hops, including node02's drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { topologyAvailable, runTopology, eventKey, type NodeSpec, type PacketSpec } from './netns.ts';
import { buildHost, parseDump, renderRuleset, validatePacket, type HostFile } from '../../src/netfilter/index.ts';
import { traceCluster, type ClusterNode, type ClusterPath } from '../../src/netfilter/pipeline/cluster.ts';
import { FIXTURES } from '../support/paths.ts';
import { simKeys } from './differential.ts';

const avail = await topologyAvailable();
const D = join(FIXTURES, 'seed004');

function load(name: string): { node: ClusterNode; spec: NodeSpec } {
  const hostFile = JSON.parse(readFileSync(join(D, `${name}.host.json`), 'utf8')) as HostFile & NodeSpec;
  const rendered = renderRuleset(parseDump(readFileSync(join(D, `${name}.txt`), 'utf8')).ruleset, { counters: false });
  const host = buildHost(hostFile);
  if (!host.ok) throw new Error(host.errors.join());
  const connected = new Set(['10.224.0.0/24 cni0', '10.224.2.0/24 cni0', '192.0.2.0/24 eth0', '172.17.0.0/16 docker0']);
  return {
    node: { name, ruleset: parseDump(rendered).ruleset, host: host.host },
    spec: {
      name,
      dump: rendered,
      interfaces: hostFile.interfaces!.map((i) => ({ name: i.name, addresses: i.addresses ?? [] })),
      routes: (hostFile.routes ?? []).filter((r) => r.via || !connected.has(`${r.dst} ${r.dev}`)).map((r) => ({ dst: r.dst, ...(r.via ? { via: r.via } : {}), ...(r.dev ? { dev: r.dev } : {}), ...(r.onlink ? { onlink: true } : {}) })),
      forwarding: true,
    },
  };
}

const pathKeys = (p: ClusterPath): string[] => p.hops.flatMap((h) => simKeys(h.outcome).map((k) => `${h.node} ${k}`));

test('kernel vs simulator, two nodes: seed 004 master → node02 over flannel.1', async (t) => {
  if (!avail.ok) {
    console.warn(`\n!!! MULTI-NODE KERNEL TEST SKIPPED: ${avail.reason}\n`);
    t.skip(avail.reason);
    return;
  }
  const master = load('master');
  const node02 = load('node02');
  const packet: PacketSpec = { from: { node: 'master', iface: 'eth0' }, src: '192.0.2.100', dst: '10.108.94.160', proto: 'tcp', sport: 51000, dport: 80 };
  const runs = await runTopology(
    { nodes: [master.spec, node02.spec], links: [{ a: { node: 'master', iface: 'flannel.1' }, b: { node: 'node02', iface: 'flannel.1' } }] },
    Array.from({ length: 16 }, () => packet),
  );
  const v = validatePacket({ src: packet.src, dst: packet.dst, protocol: 'tcp', sport: 51000, dport: 80, inInterface: 'eth0' });
  assert.ok(v.ok);
  const sim = traceCluster([master.node, node02.node], 'master', v.packet);
  assert.equal(sim.paths.length, 2);
  const seen = new Set<number>();
  for (const run of runs) {
    const kernel = run.events.map((e) => eventKey(e, true));
    const i = sim.paths.findIndex((p) => {
      const k = pathKeys(p);
      return k.length === kernel.length && k.every((x, j) => x === kernel[j]);
    });
    assert.ok(i >= 0, `kernel path matches no simulated path:\n  ${kernel.join('\n  ')}\nsimulated:\n${sim.paths.map((p) => '  ' + pathKeys(p).join('\n  ')).join('\n--\n')}`);
    seen.add(i);
  }
  const drop = sim.paths.find((p) => p.end === 'DROPPED')!;
  assert.equal(drop.endNode, 'node02');
  assert.ok(seen.has(sim.paths.indexOf(drop)), 'the kernel also took the path that dies on node02');
  const last = drop.hops[1]!.outcome.events.at(-1)!;
  assert.deepEqual([last.table, last.chain, last.kind, last.verdict], ['filter', 'FORWARD', 'policy', 'DROP']);
  console.log(`multi-node: ${runs.length} packets, ${seen.size} distinct paths, all equal to simulated hops`);
});
