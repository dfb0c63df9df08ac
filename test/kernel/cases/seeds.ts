// The seed articles' scenarios, on their own dumps.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiffCase } from '../differential.ts';

const EXT = '203.0.113.50';

export function seedCases(fixtures: string): DiffCase[] {
  const read = (f: string): string | undefined => (existsSync(join(fixtures, f)) ? readFileSync(join(fixtures, f), 'utf8') : undefined);
  const cases: DiffCase[] = [];
  const s000 = read('seeds/seed000.save.txt');
  if (s000) {
    const node = '192.0.2.2';
    cases.push({
      name: 'seed 000: kube-proxy nginx NodePort 30180 / ClusterIP 10.105.178.199:8080 over docker0',
      dump: s000,
      host: {
        interfaces: [
          { name: 'eth0', addresses: [`${node}/24`] },
          { name: 'docker0', addresses: ['172.17.0.1/16'] },
        ],
        routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }],
        forwarding: true,
      },
      packets: [
        { from: 'eth0', src: EXT, dst: '10.105.178.199', proto: 'tcp', dport: 8080, repeat: 30, note: 'ClusterIP from outside, 50/50' },
        { from: 'eth0', src: EXT, dst: node, proto: 'tcp', dport: 30180, repeat: 10, note: 'NodePort' },
        { from: 'docker0', src: '172.17.0.9', dst: '10.105.178.199', proto: 'tcp', dport: 8080, note: 'container → ClusterIP' },
        { from: 'docker0', src: '172.17.0.4', dst: '10.105.178.199', proto: 'tcp', dport: 8080, repeat: 6, note: 'hairpin' },
        { from: 'local', src: node, dst: '10.105.178.199', proto: 'tcp', dport: 8080, note: 'node → ClusterIP' },
        { from: 'local', src: node, dst: node, proto: 'tcp', dport: 30180, note: 'node → own NodePort' },
        { from: 'eth0', src: EXT, dst: '10.105.178.199', proto: 'tcp', dport: 80, note: 'wrong port' },
        { from: 'eth0', src: EXT, dst: node, proto: 'udp', dport: 30180, note: 'NodePort, wrong protocol' },
        { from: 'eth0', src: EXT, dst: '172.17.0.5', proto: 'tcp', dport: 80, note: 'straight to the pod' },
      ],
    });
  }
  const s001 = read('seeds/seed001.paste.txt');
  if (s001) {
    const node = '192.0.2.21';
    cases.push({
      name: 'seed 001: Rancher node01, NodePort 31967 and ClusterIP 10.43.250.103 → pod 10.42.1.24',
      dump: s001,
      host: {
        interfaces: [
          { name: 'eth0', addresses: [`${node}/24`] },
          { name: 'cni0', addresses: ['10.42.1.1/24'] },
          { name: 'flannel.1', addresses: ['10.42.1.0/32'] },
        ],
        routes: [
          { dst: 'default', via: '192.0.2.254', dev: 'eth0' },
          { dst: '10.42.0.0/24', via: '10.42.0.0', dev: 'flannel.1', onlink: true },
        ],
        forwarding: true,
      },
      packets: [
        { from: 'eth0', src: EXT, dst: node, proto: 'tcp', dport: 31967, note: 'NodePort from the host network' },
        { from: 'eth0', src: EXT, dst: '10.43.250.103', proto: 'tcp', dport: 80, note: 'ClusterIP from outside the pod network (masquerade)' },
        { from: 'cni0', src: '10.42.1.30', dst: '10.43.250.103', proto: 'tcp', dport: 80, note: 'pod → ClusterIP' },
        { from: 'flannel.1', src: '10.42.0.12', dst: '10.43.250.103', proto: 'tcp', dport: 80, note: 'remote pod → ClusterIP' },
        { from: 'cni0', src: '10.42.1.24', dst: '10.43.250.103', proto: 'tcp', dport: 80, note: 'hairpin' },
        { from: 'local', src: node, dst: node, proto: 'tcp', dport: 31967, note: 'node → own NodePort' },
        { from: 'local', src: node, dst: '10.43.250.103', proto: 'tcp', dport: 80, note: 'node → ClusterIP' },
        { from: 'eth0', src: EXT, dst: node, proto: 'tcp', dport: 22, note: 'not a service' },
      ],
    });
  }
  const s003 = read('listing/seed003-nat.txt');
  if (s003) {
    const node = '192.0.2.30';
    cases.push({
      name: 'seed 003: hand-built KUBE-SVC-NGINX nat listing (iptables -L -n -t nat)',
      dump: s003,
      host: {
        interfaces: [
          { name: 'eth0', addresses: [`${node}/24`] },
          { name: 'cni0', addresses: ['192.168.236.129/26'] },
        ],
        routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }],
        forwarding: true,
      },
      packets: [
        { from: 'eth0', src: EXT, dst: '10.107.122.198', proto: 'tcp', dport: 80, repeat: 10, note: 'ClusterIP from outside 192.168/16' },
        { from: 'cni0', src: '192.168.236.140', dst: '10.107.122.198', proto: 'tcp', dport: 80, note: 'pod inside 192.168/16' },
        { from: 'cni0', src: '192.168.236.133', dst: '10.107.122.198', proto: 'tcp', dport: 80, repeat: 4, note: 'endpoint to its own service' },
        { from: 'local', src: node, dst: '10.107.122.198', proto: 'tcp', dport: 80, note: 'node → ClusterIP' },
        { from: 'eth0', src: EXT, dst: '10.107.122.198', proto: 'udp', dport: 80, note: 'wrong protocol' },
      ],
    });
  }
  const m004 = read('seed004/master.txt');
  const n004 = read('seed004/node02.txt');
  const host = (f: string) => JSON.parse(read(f) ?? '{}') as DiffCase['host'];
  if (m004) {
    cases.push({
      name: 'seed 004: master (nginx-service 10.108.94.160 → pods on node01/node02 over flannel)',
      dump: m004,
      host: host('seed004/master.host.json'),
      packets: [
        { from: 'eth0', src: '192.0.2.100', dst: '10.108.94.160', proto: 'tcp', dport: 80, repeat: 12, note: 'the browser via the proxy' },
        { from: 'cni0', src: '10.224.0.5', dst: '10.108.94.160', proto: 'tcp', dport: 80, note: 'master pod → service (no masquerade mark)' },
        { from: 'eth0', src: '192.0.2.100', dst: '10.96.0.10', proto: 'udp', dport: 53, note: 'kube-dns (no endpoints listed)' },
        { from: 'eth0', src: '192.0.2.100', dst: '10.224.2.16', proto: 'tcp', dport: 80, note: 'straight to the pod' },
        { from: 'local', src: '192.0.2.10', dst: '10.108.94.160', proto: 'tcp', dport: 80, note: 'the proxy on the master' },
        { from: 'docker0', src: '172.17.0.2', dst: '192.0.2.99', proto: 'tcp', dport: 443, note: 'docker container out' },
      ],
    });
  }
  if (n004) {
    cases.push({
      name: "seed 004: node02 drops the master's masqueraded packet at FORWARD policy DROP",
      dump: n004,
      host: host('seed004/node02.host.json'),
      packets: [
        { from: 'flannel.1', src: '10.224.0.0', dst: '10.224.2.16', proto: 'tcp', dport: 80, note: 'the failing packet' },
        { from: 'flannel.1', src: '10.224.0.0', dst: '10.224.2.16', proto: 'tcp', dport: 80, mark: 0x4000, note: 'had the mark survived' },
        { from: 'flannel.1', src: '10.244.0.7', dst: '10.224.2.16', proto: 'tcp', dport: 80, note: 'source in 10.244/16' },
        { from: 'docker0', src: '172.17.0.2', dst: '192.0.2.99', proto: 'tcp', dport: 443, note: 'docker container out' },
      ],
    });
  }
  return cases;
}
