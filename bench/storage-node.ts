// The dumps of the storage section: node i of one simulated cluster. Every node
// gets the SAME cluster (seed 1, 1k Services) with its own node IP, pod /24 and
// node name, and its own counters.
//
// What differs between two nodes' texts: the generator makes the node's IP the
// `default/kubernetes` endpoint, so 4 lines change (that endpoint's KUBE-SEP
// chain, whose name hashes the IP, and the 3 rules naming it); podCidr and
// nodeName change nothing in the text (only the host file). The generator's
// counters come from its `seed`, which also draws the Services, so the counters
// are redrawn here per node with the generator's distribution instead of by
// changing the seed (that would make every node a different cluster).
import { generateKubeDump, mulberry32, type KubeDump } from '../scripts/kube-dump.ts';
import { prepareDump, type PreparedDump } from '../src/store/index.ts';

export const STORAGE_SERVICES = 1000;
/** 10.244.0.0/14: room for 1,024 node pod /24s. */
const CLUSTER_CIDR = '10.244.0.0/14';

const ip = (n: number): string => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** Replaces every rule and built-in policy counter with a fresh draw from `seed`. */
export function recount(text: string, seed: number): string {
  const rng = mulberry32(seed);
  const counter = (): string => {
    const r = rng();
    const packets = r < 0.25 ? 0 : Math.floor(rng() ** 3 * 200000);
    return `[${packets}:${packets * (52 + Math.floor(rng() * 1400))}]`;
  };
  return text.replace(/^(\[\d+:\d+\])|^(:[A-Z]+ (?:ACCEPT|DROP) )\[\d+:\d+\]/gm, (_m, _rule: string | undefined, policy: string | undefined) => (policy ? policy + counter() : counter()));
}

export function nodeDump(i: number): KubeDump {
  const g = generateKubeDump({
    services: STORAGE_SERVICES,
    seed: 1,
    counters: true,
    clusterCidr: CLUSTER_CIDR,
    nodeIp: ip((10 << 24) + (10 << 16) + ((Math.floor(i / 250) & 255) << 8) + 2 + (i % 250)),
    podCidr: `${ip((10 << 24) + (244 << 16) + i * 256)}/24`,
    nodeName: `node-${i}`,
  });
  return { ...g, text: recount(g.text, 0x9e3779b9 ^ (i + 1)) };
}

/** What uploadDumps reads of a PreparedDump (the parsed ruleset stays in the worker). */
export type PortablePrepared = Omit<PreparedDump, 'ruleset'>;

export interface NodeUpload {
  index: number;
  node: string;
  hostJson: string;
  prepared: PortablePrepared;
  /** Time to generate and to prepareDump, ms. */
  genMs: number;
  prepareMs: number;
}

export function prepareNode(i: number): NodeUpload {
  let t = performance.now();
  const g = nodeDump(i);
  const genMs = performance.now() - t;
  t = performance.now();
  const { ruleset: _ruleset, ...prepared } = prepareDump(g.text);
  return { index: i, node: `node-${i}`, hostJson: JSON.stringify(g.host), prepared, genMs, prepareMs: performance.now() - t };
}
