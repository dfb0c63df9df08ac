// Per-node metrics are read from the store at scrape time (every replica on one
// database reports the same), by collectors: each names the gauges it fills
// and answers their samples for one scrape. The metrics plugin creates the
// gauges on the app's registry, gives every collector the same snapshot of the
// nodes' latest versions (one query per scrape, not one per collector or node)
// and writes what they answer; a collector that fails leaves its gauges empty
// for that scrape (and is counted), the others still report.
import type { Client, LatestVersion } from '../../store/index.ts';

export interface NodeGauge {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
}

export interface NodeSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What every collector of one scrape reads. */
export interface NodeScrape {
  readonly now: Date;
  /** Every node's latest version of each family (store: latestVersionsOfAllNodes). */
  readonly versions: readonly LatestVersion[];
  /** The store, for what a collector reads beyond the latest versions. */
  readonly db: Client;
}

export interface NodeCollector {
  /** For logs and `packetpath_scrape_collector_errors_total{collector}`. */
  readonly name: string;
  readonly gauges: readonly NodeGauge[];
  /** The samples of each of its gauges (by gauge name) at this scrape; a gauge left out has none. */
  collect(scrape: NodeScrape): Promise<Readonly<Record<string, readonly NodeSample[]>>>;
}

export const NODE_LAST_UPLOAD_AGE = 'packetpath_node_last_upload_age_seconds';

/** Seconds since each node's last upload of each family (`ipv4`, `ipv6`, `nft`). */
export const uploadAgeCollector: NodeCollector = {
  name: 'upload-age',
  gauges: [{ name: NODE_LAST_UPLOAD_AGE, help: "Seconds since the node's last upload of this family (ipv4, ipv6: iptables; nft: its nftables ruleset)", labelNames: ['node', 'family'] }],
  collect: async ({ now, versions }) => ({
    [NODE_LAST_UPLOAD_AGE]: versions.map((v) => ({ labels: { node: v.node, family: v.family }, value: Math.max(0, (now.getTime() - v.lastSeenAt.getTime()) / 1000) })),
  }),
};
