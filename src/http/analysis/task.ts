// What the analysis worker is sent and answers (plain data: it crosses threads by structured clone).
import type { ClusterPath, DumpFormat, Family, Finding, Host, KubeService, Packet, TraceOutcome } from '../../netfilter/index.ts';

export type AnalysisKind = 'findings' | 'services';

/** One side of a diff: the compared version's canonical text ('' when the node has none of that kind). */
export interface DiffSide {
  readonly label: string;
  readonly text: string;
  /** For probe packets (`packets=auto`): the node's host file, and its whole netfilter (iptables of the probes' family, nft). */
  readonly hostJson: string | null;
  readonly probeIptables?: string;
  readonly probeNft?: string;
}

/** Two versions compared rule by rule (`unified`: as text), optionally by probe packets. */
export interface DiffTask {
  readonly kind: 'diff';
  /** What is compared: the iptables dumps of a family, or the nft rulesets (`nft`). */
  readonly family: Family | 'nft';
  readonly left: DiffSide;
  readonly right: DiffSide;
  readonly unified: boolean;
  readonly probes: boolean;
  /** The answer's `left` and `right` members, so the worker writes the whole JSON answer. */
  readonly sides: { readonly left: { node: string; dump: number | null }; readonly right: { node: string; dump: number | null } };
}

export interface AnalysisTask {
  readonly kind: AnalysisKind;
  /** The version's uploaded text (rule lines and diagnostics refer to it). */
  readonly text: string;
  readonly family: Family;
  /** The version's format; `nft-text`/`nft-json` (Services only): a node's nft ruleset, read for kube-proxy's nftables mode. */
  readonly format: DumpFormat | 'nft-text' | 'nft-json';
  /** Findings: the node's nft canonical text, linted with the iptables dump as one node (lintNode). */
  readonly nftText?: string;
  /** The host file stored with the version (findings only), as JSON. */
  readonly hostJson: string | null;
}

/**
 * A diff's answer as bytes: the unified text (`unified`), else the DiffResult JSON, written in the
 * worker: a diff of two unrelated 10k-Service nodes is ~70 MB of JSON, and bytes moved across
 * threads cost nothing, where its object graph (or even a string) would be copied.
 */
export type DiffAnswer = Uint8Array;

/** A what-if trace of one node: its canonical text with the changes applied, traced before and after. */
export interface WhatIfTask {
  readonly kind: 'whatif';
  /** The node's iptables canonical text ('' when it has none). */
  readonly text: string;
  /** Its nft canonical text, when it has an nft ruleset. */
  readonly nftText?: string;
  /** The canonical text of its iptables-legacy companion, when it uses both backends. */
  readonly legacyText?: string;
  readonly family: Family;
  readonly node: string;
  readonly changes: readonly string[];
  readonly packet: Packet;
  readonly host: Host | undefined;
}

/** A what-if trace across a cluster's nodes: each node's canonical text and host, the changes by node. */
export interface ClusterWhatIfTask {
  readonly kind: 'cluster-whatif';
  readonly family: Family;
  readonly nodes: readonly { readonly name: string; readonly text: string; readonly nftText?: string; readonly legacyText?: string; readonly host: Host }[];
  readonly start: string;
  readonly changes: Readonly<Record<string, readonly string[]>>;
  readonly packet: Packet;
}

export type ClusterWhatIfAnswer =
  | { readonly kind: 'cluster-whatif'; readonly paths: ClusterPath[]; readonly before: ClusterPath[]; readonly warnings: string[] }
  | { readonly kind: 'refused'; readonly node: string; readonly errors: { readonly change: number; readonly message: string }[] };

export type WhatIfAnswer =
  | { readonly kind: 'whatif'; readonly outcomes: TraceOutcome[]; readonly before: TraceOutcome[]; readonly warnings: string[] }
  | { readonly kind: 'refused'; readonly errors: { readonly change: number; readonly message: string }[] };

export type AnalysisResult =
  | { readonly kind: 'findings'; readonly findings: Finding[]; readonly threadId: number }
  | { readonly kind: 'services'; readonly services: (Omit<KubeService, 'externalIPs' | 'loadBalancerIPs' | 'endpoints' | 'masqueradeRules' | 'noEndpointRules'> & Record<string, unknown>)[]; readonly threadId: number };

/** A drawing's dot laid out as SVG by Graphviz (big drawings: layout is seconds of CPU). */
export interface LayoutTask {
  readonly kind: 'layout';
  readonly dot: string;
}
