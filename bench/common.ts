// Shared by the bench sections: the row sink, timing helpers, the trace mix.
import type { KubeDump } from '../scripts/kube-dump.ts';
import type { PacketInput } from '../src/netfilter/index.ts';

/** Adds one row to the printed table (and echoes it on stderr). */
export type AddRow = (section: string, figure: string, value: string, target?: string) => void;

/** Thousands separators: 12345 → "12,345". */
export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** "met" / "NOT met" suffix for a value column. */
/** `f`'s answer and its fastest time over `n` runs, in ms. */
export function best<T>(n: number, f: () => T): [T, number] {
  let out: T | undefined;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    out = f();
    min = Math.min(min, performance.now() - t);
  }
  return [out!, min];
}

export const verdict = (ok: boolean): string => (ok ? 'met' : '**not met**');

/** The eth0 address of a generated node. */
export const nodeAddress = (g: KubeDump): string => g.host.interfaces.find((i) => i.name === 'eth0')!.addresses[0]!.split('/')[0]!;

/**
 * 200 packets: ClusterIP from a pod, NodePort from outside, an unallocated
 * ClusterIP (no match) and pod-to-internet, in turn.
 */
export function tracePackets(g: KubeDump): PacketInput[] {
  const node = nodeAddress(g);
  const withEp = g.services.filter((s) => s.endpoints.length > 0);
  const nodePorts = withEp.filter((s) => s.nodePort !== undefined);
  const out: PacketInput[] = [];
  for (let i = 0; i < 200; i++) {
    const s = withEp[(i * 7919) % withEp.length]!;
    const np = nodePorts[(i * 104729) % nodePorts.length]!;
    switch (i % 4) {
      case 0:
        out.push({ src: '10.244.0.77', dst: s.clusterIP, protocol: s.protocol, sport: 40000, dport: s.port, inInterface: 'cni0' });
        break;
      case 1:
        out.push({ src: '203.0.113.50', dst: node, protocol: np.protocol, sport: 40000, dport: np.nodePort!, inInterface: 'eth0' });
        break;
      case 2:
        out.push({ src: '10.244.0.77', dst: '10.96.0.250', protocol: 'tcp', sport: 40000, dport: 9, inInterface: 'cni0' });
        break;
      default:
        out.push({ src: '10.244.0.77', dst: '198.51.100.7', protocol: 'tcp', sport: 40000, dport: 443, inInterface: 'cni0' });
    }
  }
  return out;
}
