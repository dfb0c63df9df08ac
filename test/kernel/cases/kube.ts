// kube-proxy (iptables mode) cases on a generated node: ClusterIP, NodePort,
// hairpin, node-local and external traffic, services without endpoints.
import { generateKubeDump, type GeneratedService } from '../../../scripts/kube-dump.ts';
import type { CasePacket, DiffCase } from '../differential.ts';

const CLIENT = '203.0.113.50';

export function kubeCases(): DiffCase[] {
  const cases: DiffCase[] = [];
  for (const seed of [7, 11]) {
    const g = generateKubeDump({ services: 40, seed, maxEndpoints: 4 });
    const node = g.host.interfaces.find((i) => i.name === 'eth0')!.addresses[0]!.split('/')[0]!;
    const withEp = g.services.filter((s) => s.endpoints.length > 0);
    const noEp = g.services.filter((s) => s.endpoints.length === 0);
    const multi = withEp.find((s) => s.endpoints.length >= 3) ?? withEp[0]!;
    const nodePorts = withEp.filter((s) => s.nodePort !== undefined);
    const ext = withEp.find((s) => s.externalIPs.length > 0);
    const localEp = withEp.flatMap((s) => s.endpoints.filter((e) => e.local).map((e) => ({ s, e })));
    const proto = (s: GeneratedService) => s.protocol;
    const packets: CasePacket[] = [];
    const podSrc = '10.244.0.77';
    for (const s of withEp.slice(0, 12)) {
      packets.push({ from: 'cni0', src: podSrc, dst: s.clusterIP, proto: proto(s), dport: s.port, note: `pod → ClusterIP ${s.servicePortName}` });
      packets.push({ from: 'eth0', src: CLIENT, dst: s.clusterIP, proto: proto(s), dport: s.port, note: `outside → ClusterIP ${s.servicePortName} (masquerade)` });
    }
    packets.push({ from: 'cni0', src: podSrc, dst: multi.clusterIP, proto: proto(multi), dport: multi.port, repeat: 40, note: 'statistic spread' });
    for (const s of nodePorts.slice(0, 6)) {
      packets.push({ from: 'eth0', src: CLIENT, dst: node, proto: proto(s), dport: s.nodePort, note: `NodePort ${s.nodePort}` });
      packets.push({ from: 'local', src: node, dst: node, proto: proto(s), dport: s.nodePort, note: `node-local NodePort ${s.nodePort}` });
    }
    for (const s of withEp.slice(0, 6)) packets.push({ from: 'local', src: node, dst: s.clusterIP, proto: proto(s), dport: s.port, note: `node process → ClusterIP ${s.servicePortName}` });
    for (const { s, e } of localEp.slice(0, 4)) packets.push({ from: 'cni0', src: e.ip, dst: s.clusterIP, proto: proto(s), dport: s.port, note: `hairpin ${e.ip} → its own service` });
    if (ext) packets.push({ from: 'eth0', src: CLIENT, dst: ext.externalIPs[0]!, proto: proto(ext), dport: ext.port, note: 'external IP' });
    for (const s of noEp.slice(0, 3)) {
      packets.push({ from: 'cni0', src: podSrc, dst: s.clusterIP, proto: proto(s), dport: s.port, note: `no endpoints ${s.servicePortName}` });
      if (s.nodePort !== undefined) packets.push({ from: 'eth0', src: CLIENT, dst: node, proto: proto(s), dport: s.nodePort, note: 'no-endpoint NodePort' });
    }
    packets.push({ from: 'cni0', src: podSrc, dst: '198.51.100.7', proto: 'tcp', dport: 443, note: 'pod → internet' });
    packets.push({ from: 'cni0', src: podSrc, dst: '10.244.2.9', proto: 'tcp', dport: 8080, note: 'pod → remote pod over flannel' });
    packets.push({ from: 'eth0', src: CLIENT, dst: node, proto: 'tcp', dport: 22, note: 'ssh to the node' });
    packets.push({ from: 'eth0', src: CLIENT, dst: '10.96.0.250', proto: 'tcp', dport: 80, note: 'unallocated ClusterIP' });
    cases.push({ name: `kube-proxy generated node (seed ${seed})`, dump: g.text, host: g.host, packets });
  }
  return cases;
}
