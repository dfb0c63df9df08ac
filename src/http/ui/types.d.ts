// The parts of the API's answers the page reads (openapi/openapi.json has
// them all), for type-checking the browser modules (tsconfig.json here); not served.

export type Child = string | number | Node | null | undefined | false;
/** Children nested as deep as the views build them. */
export type Children = Child | readonly Children[];

export interface Counters { packets: number; bytes: number }
export interface DumpSummary { id: number; family: string; receivedAt: string; lastSeenAt: string; stats: { tables: number; chains: number; rules: number } }
export interface NodeInfo {
  name: string;
  cluster: string | null;
  lastSeenAt: string;
  dumpCount: number;
  latest: { ipv4: DumpSummary | null; ipv6: DumpSummary | null; nft?: DumpSummary | null };
}
export type Severity = 'error' | 'warning' | 'info';
export interface Finding { code: string; severity: Severity; message: string; explanation?: string; line?: number }
export interface TableList { dump: number; family: string; tables: { name: string; chains: number; rules: number }[] }
export interface ChainSummary {
  name: string;
  builtin: boolean;
  policy: string | null;
  rules: number;
  counters: Counters | null;
  referencedBy: { table: string; chain: string; position: number }[];
  jumpsTo: string[];
}
export interface Rule { position: number; line?: number; text: string; counters?: Counters | null }
export interface ChainDetail extends Omit<ChainSummary, 'rules'> { rules: Rule[]; total?: number; nextCursor?: string | null }

export interface TraceEvent { table?: string; chain?: string; language?: string; family?: string; backend?: string; kind: string; rule?: number | null; text?: string; verdict?: string; hook?: string; line?: number }
export interface NearMiss { table?: string; chain?: string; rule?: number; text?: string; target?: string; failed?: string }
export interface Explanation { summary: string; decidedBy?: string; changes?: string[]; nearMisses?: string[]; origin?: string; fix?: string[] }
export interface TraceOutcome {
  probability: number;
  verdict: string;
  disposition: string;
  reason?: string;
  packet?: Record<string, unknown>;
  assumptions?: string[];
  events?: TraceEvent[];
  nearMisses?: NearMiss[];
  explanation?: Explanation;
}
export interface Hop { node: string; inInterface?: string; outcome: TraceOutcome }
export interface ClusterPath { probability: number; end: string; endNode?: string; summary: string; hops: Hop[] }
export interface WhatIf { changes: unknown; before: string[]; after: string[]; changed: boolean }
export interface TraceResponse { warnings: string[]; node?: string; outcomes?: TraceOutcome[]; paths?: ClusterPath[]; whatIf?: WhatIf }

export interface DiffLine { op: string; text: string; left?: number; right?: number }
export interface ChainDiff { table: string; chain: string; status: string; policy?: { left: string | null; right: string | null }; added: number; removed: number; lines?: DiffLine[] }
export interface DiffResult {
  left: { node: string; dump: number | null };
  right: { node: string; dump: number | null };
  summary: Record<string, number | boolean>;
  tablesOnlyLeft?: string[];
  tablesOnlyRight?: string[];
  chains: ChainDiff[];
}

export interface DrawNode { id: string; label: string[]; tone: string; shape: string; link?: string; tooltip?: string; frame?: string }
export interface Drawing { title: string; direction: string; nodes: DrawNode[]; edges: { from: string; to: string; tone: string; label?: string }[]; notes: string[] }
