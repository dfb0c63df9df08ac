// Follows a packet across the nodes of a cluster: when it leaves one node
// towards a next hop, the trace continues on the node that owns that
// address, arriving on the interface that holds it. Overlays (flannel's
// `via 10.244.1.0 dev flannel.1 onlink`) are treated as transparent.
import type { Ruleset } from '../iptables/model.ts';
import type { NftRuleset } from '../nftables/model.ts';
import type { Host } from './host.ts';
import { formatIp, parseIp } from './addr.ts';
import type { Packet } from './packet.ts';
import { tracePacket, type TraceOutcome } from './trace.ts';

export interface ClusterNode {
  readonly name: string;
  /** The node's iptables dump of the packet's family (empty tables for a node without one). */
  readonly ruleset: Ruleset;
  readonly host: Host;
  /** The node's native nftables ruleset (kube-proxy in nftables mode, Docker 29, firewalld...), if any. */
  readonly nftables?: NftRuleset;
  /** iptables-legacy tables in use besides `ruleset` (an iptables-nft dump), if any. */
  readonly legacy?: Ruleset;
}

export interface ClusterHop {
  readonly node: string;
  readonly inInterface: string | null;
  readonly outcome: TraceOutcome;
}

export const CLUSTER_ENDS = ['DELIVERED_LOCAL', 'DROPPED', 'REJECTED', 'NO_ROUTE', 'LEFT_CLUSTER', 'LOOP', 'UNKNOWN'] as const;
export type ClusterEnd = (typeof CLUSTER_ENDS)[number];

export interface ClusterPath {
  /** Product of the hops' probabilities; null where any hop's is unknown. */
  readonly probability: number | null;
  readonly hops: readonly ClusterHop[];
  readonly end: ClusterEnd;
  readonly endNode: string;
  /** One sentence on where the packet ended and why. */
  readonly summary: string;
}

export interface ClusterTraceResult {
  readonly paths: readonly ClusterPath[];
  readonly warnings: readonly string[];
}

export interface ClusterTraceOptions {
  readonly maxHops?: number;
  readonly maxPaths?: number;
  readonly explain?: boolean;
}

interface Owner {
  readonly node: string;
  readonly iface: string;
}

/** Which node owns each address (loopback addresses excluded). */
export function addressOwners(nodes: readonly ClusterNode[]): Map<string, Owner> {
  const owners = new Map<string, Owner>();
  for (const n of nodes) {
    for (const i of n.host.interfaces) {
      if (i.name === 'lo') continue;
      for (const a of i.addresses) {
        const key = formatIp(a.ip);
        if (!owners.has(key)) owners.set(key, { node: n.name, iface: i.name });
      }
    }
  }
  return owners;
}

/** The packet as the next node receives it: the same headers, a fresh skb (no mark) and its own conntrack. */
/**
 * The packet as the next node receives it. Conntrack is per node: the next
 * node starts again from the state asked for, not the one this node's
 * conntrack gave it (INVALID, UNTRACKED).
 */
function arriving(p: Packet, iface: string, asked: Packet['state']): Packet {
  return { ...p, inInterface: iface, outInterface: null, mark: 0, connmark: 0, sportRandomized: false, state: asked };
}

export function traceCluster(nodes: readonly ClusterNode[], start: string, packet: Packet, options: ClusterTraceOptions = {}): ClusterTraceResult {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const owners = addressOwners(nodes);
  const maxHops = options.maxHops ?? 16;
  const maxPaths = options.maxPaths ?? 256;
  const warnings = new Set<string>();
  const paths: ClusterPath[] = [];

  const walk = (nodeName: string, p: Packet, hops: ClusterHop[], probability: number | null, seen: Set<string>): void => {
    if (paths.length >= maxPaths) {
      warnings.add(`stopped after ${maxPaths} paths`);
      return;
    }
    const node = byName.get(nodeName)!;
    const result = tracePacket(node.ruleset, p, { host: node.host, explain: options.explain ?? true, node: node.name, ...(node.nftables ? { nftables: node.nftables } : {}), ...(node.legacy ? { legacy: node.legacy } : {}) });
    for (const w of result.warnings) warnings.add(`${node.name}: ${w}`);
    for (const outcome of result.outcomes) {
      const pathHops = [...hops, { node: node.name, inInterface: p.inInterface, outcome }];
      const prob = probability === null || outcome.probability === null ? null : probability * outcome.probability;
      const done = (end: ClusterEnd, summary: string): void => {
        // The cap holds exactly: one node's outcomes may end several paths at once.
        if (paths.length >= maxPaths) warnings.add(`stopped after ${maxPaths} paths`);
        else paths.push({ probability: prob, hops: pathHops, end, endNode: node.name, summary });
      };
      if (outcome.disposition !== 'FORWARDED' && outcome.disposition !== 'SENT') {
        const end: ClusterEnd = outcome.disposition === 'DELIVERED_LOCAL' || outcome.disposition === 'DROPPED' || outcome.disposition === 'REJECTED' || outcome.disposition === 'NO_ROUTE' ? outcome.disposition : 'UNKNOWN';
        done(end, outcome.explanation?.summary ?? `${end} on ${node.name}: ${outcome.reason}`);
        continue;
      }
      const next = outcome.nextHop ? owners.get(outcome.nextHop) : undefined;
      const dst = formatIp(outcome.finalPacket.dst);
      if (!next) {
        const dstOwner = owners.get(dst);
        const out = outcome.finalPacket.outInterface ?? '?';
        const direct = !outcome.nextHop || outcome.nextHop === dst;
        const summary = dstOwner
          ? `The packet leaves ${node.name} on ${out} for ${dst} (node ${dstOwner.node}) via ${outcome.nextHop}, which no known node owns; the trace stops there.`
          : direct
            ? `The packet reaches ${dst} on ${node.name}'s ${out} link: an address no known node owns (a pod, container or host on that link).`
            : `The packet leaves ${node.name} on ${out} via ${outcome.nextHop} towards ${dst}: no known node owns either (an external network).`;
        done('LEFT_CLUSTER', summary);
        continue;
      }
      if (next.node === node.name) {
        done('LOOP', `The packet would be sent from ${node.name} to its own address ${outcome.nextHop}.`);
        continue;
      }
      const f = outcome.finalPacket;
      const key = `${next.node}|${formatIp(f.src)}|${dst}|${f.sport ?? ''}|${f.dport ?? ''}|${next.iface}`;
      if (seen.has(key) || pathHops.length >= maxHops) {
        done('LOOP', `The packet loops: it reaches ${next.node} on ${next.iface} again (${formatIp(f.src)} → ${dst}).`);
        continue;
      }
      walk(next.node, arriving(f, next.iface, packet.state), pathHops, prob, new Set([...seen, key]));
    }
  };

  const first = byName.get(start);
  if (!first) return { paths: [], warnings: [`no node named ${start}`] };
  const startKey = `${start}|${formatIp(packet.src)}|${formatIp(packet.dst)}|${packet.sport ?? ''}|${packet.dport ?? ''}|${packet.inInterface ?? 'local'}`;
  walk(start, packet, [], 1, new Set([startKey]));
  return { paths, warnings: [...warnings] };
}

/** The node owning an address, for callers that start a trace "from" an address. */
export function ownerOf(nodes: readonly ClusterNode[], address: string): Owner | undefined {
  const ip = parseIp(address);
  return ip ? addressOwners(nodes).get(formatIp(ip)) : undefined;
}
