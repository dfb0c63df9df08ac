// packetpath_node_policy_drop_packets / _bytes{node,family,table,chain}: what
// each built-in chain's DROP policy counted between a node's last two uploads,
// so a dashboard can alert on "node02's FORWARD policy is dropping packets".
// The counts come from the counter history of the store (the counters work of
// issue 16); this collector only turns its answer into samples. Wire it with
// `app.metrics.addNodeCollector(policyDropCollector(latestPolicyDrops))`.
import type { Client } from '../../store/index.ts';
import type { NodeCollector } from './node-collector.ts';

export const NODE_POLICY_DROP_PACKETS = 'packetpath_node_policy_drop_packets';
export const NODE_POLICY_DROP_BYTES = 'packetpath_node_policy_drop_bytes';

/**
 * A node family's latest counter window (its previous upload to its latest): what each built-in
 * chain with policy DROP counted by its policy. The shape of the counter history's
 * `latestPolicyDrops(tx)` answer (branch counters), so it is passed as is.
 */
export interface PolicyDropWindow {
  readonly node: string;
  /** `ipv4`, `ipv6` (iptables; nft base chains too if the history gives them, as `nft`). */
  readonly family: string;
  readonly chains: readonly {
    /** iptables: `filter`; nft: `<family> <table>`, e.g. `inet filter`. */
    readonly table: string;
    readonly chain: string;
    readonly packets: number;
    readonly bytes: number;
  }[];
}

export type LoadPolicyDrops = (db: Client) => Promise<readonly PolicyDropWindow[]>;

const LABELS = ['node', 'family', 'table', 'chain'] as const;

export function policyDropCollector(load: LoadPolicyDrops): NodeCollector {
  return {
    name: 'policy-drops',
    gauges: [
      { name: NODE_POLICY_DROP_PACKETS, help: "Packets counted by the built-in chain's DROP policy between the node's previous upload and its latest (0: none dropped by policy)", labelNames: LABELS },
      { name: NODE_POLICY_DROP_BYTES, help: "Bytes counted by the built-in chain's DROP policy between the node's previous upload and its latest", labelNames: LABELS },
    ],
    async collect({ db }) {
      const drops = (await load(db)).flatMap((w) => w.chains.map((c) => ({ labels: { node: w.node, family: w.family, table: c.table, chain: c.chain }, packets: c.packets, bytes: c.bytes })));
      return {
        [NODE_POLICY_DROP_PACKETS]: drops.map((d) => ({ labels: d.labels, value: d.packets })),
        [NODE_POLICY_DROP_BYTES]: drops.map((d) => ({ labels: d.labels, value: d.bytes })),
      };
    },
  };
}
