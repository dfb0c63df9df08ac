// The ruleset model. Readonly data, iptables vocabulary verbatim.

export type { Family } from '../pipeline/family.ts';
import type { Family } from '../pipeline/family.ts';
export type TableName = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';
export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter', 'security'];

/** Built-in chains of each table, in the order iptables-save prints them. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export type Verdict = 'ACCEPT' | 'DROP' | 'RETURN' | 'QUEUE';
export type Policy = 'ACCEPT' | 'DROP';

export interface Counters {
  readonly packets: bigint;
  readonly bytes: bigint;
}

/** One option of a match module or target extension, e.g. `! --dport 80`. */
export interface ExtOption {
  /** Long option name without leading dashes, canonical spelling (`dport`, not `destination-port`). */
  readonly name: string;
  readonly negated: boolean;
  /** Arguments, normalized to what iptables-save prints. */
  readonly args: readonly string[];
  /** False when the parser does not know this option; it is then kept verbatim. */
  readonly known: boolean;
}

export type Match =
  | { readonly kind: 'protocol'; readonly negated: boolean; readonly protocol: string }
  | { readonly kind: 'source' | 'destination'; readonly negated: boolean; readonly cidr: string }
  | { readonly kind: 'inInterface' | 'outInterface'; readonly negated: boolean; readonly name: string }
  | { readonly kind: 'fragment'; readonly negated: boolean }
  | {
      readonly kind: 'module';
      readonly module: string;
      readonly options: readonly ExtOption[];
      /** False when the module itself is unknown to packetpath. */
      readonly known: boolean;
    };

export type Target =
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'goto'; readonly chain: string }
  | {
      readonly kind: 'extension';
      readonly name: string;
      readonly options: readonly ExtOption[];
      readonly known: boolean;
    };

export interface Rule {
  /** 1-based position in its chain. */
  readonly position: number;
  /** 1-based line in the source text. */
  readonly line: number;
  /** The source text of the rule, as written. */
  readonly raw: string;
  readonly counters?: Counters;
  readonly matches: readonly Match[];
  /** null for a rule without `-j`/`-g` (it only counts packets). */
  readonly target: Target | null;
}

export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  /** ACCEPT/DROP for built-in chains; null for user chains; 'UNKNOWN' when a built-in's policy is not known. */
  readonly policy: Policy | 'UNKNOWN' | null;
  readonly counters?: Counters;
  readonly line?: number;
  readonly rules: readonly Rule[];
}

export interface Table {
  readonly name: TableName;
  readonly chains: readonly Chain[];
}

export interface Ruleset {
  readonly family: Family;
  readonly tables: readonly Table[];
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  readonly line: number;
  readonly column?: number;
  readonly severity: Severity;
  /** Stable machine-readable code, e.g. `missing-commit`. */
  readonly code: string;
  readonly message: string;
}

export type DumpFormat = 'iptables-save' | 'iptables-S' | 'iptables-L';

export function findTable(ruleset: Ruleset, name: TableName): Table | undefined {
  return ruleset.tables.find((t) => t.name === name);
}

/**
 * Chains by name, built once per table: the model is immutable, and analyses
 * of kube-proxy nodes look chains up tens of thousands of times (a linear
 * search made findings on 5,000 Services take 17 s).
 */
const chainIndexes = new WeakMap<Table, ReadonlyMap<string, Chain>>();

export function findChain(table: Table | undefined, name: string): Chain | undefined {
  if (!table) return undefined;
  let index = chainIndexes.get(table);
  if (!index) {
    const byName = new Map<string, Chain>();
    for (const c of table.chains) if (!byName.has(c.name)) byName.set(c.name, c);
    chainIndexes.set(table, byName);
    index = byName;
  }
  return index.get(name);
}

/** What iptables accepts as a chain or target name: not empty, no blanks or quotes, not starting with `-` or `!`. */
export const isValidChainName = (name: string): boolean => name !== '' && name[0] !== '-' && name[0] !== '!' && (plainAscii(name) || !/[\s"']/.test(name));

/** A character other than printable ASCII without quotes (what chain names are made of). */
const NOT_PLAIN = /[^!#-&(-~]/;

/**
 * Only printable ASCII without quotes: no need for the general regex. Parsers check every
 * rule's target; one search is half the cost of a loop of charCodeAt on a slice of the dump.
 */
function plainAscii(name: string): boolean {
  return !NOT_PLAIN.test(name);
}

export function isBuiltinChain(table: TableName, chain: string): boolean {
  return BUILTIN_CHAINS[table].includes(chain);
}

export function isTableName(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

export function rulesetStats(ruleset: Ruleset): { tables: number; chains: number; rules: number } {
  let chains = 0;
  let rules = 0;
  for (const t of ruleset.tables) {
    chains += t.chains.length;
    for (const c of t.chains) rules += c.rules.length;
  }
  return { tables: ruleset.tables.length, chains, rules };
}
