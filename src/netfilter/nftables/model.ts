// The nftables ruleset model: what `nft -j list ruleset` (libnftables JSON,
// libnftables-json(5)) and `nft list ruleset` describe, as readonly data.
// nft's vocabulary verbatim (families, hooks, payload fields, meta keys,
// statement names); unions by `kind`. Both parsers produce it; the printer
// writes it back as nft text; the evaluator compiles it.

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
export const NFT_FAMILIES: readonly NftFamily[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];
/** Families whose base chains see routed IP packets: the ones packetpath simulates. */
export const SIMULATED_FAMILIES: readonly NftFamily[] = ['ip', 'ip6', 'inet'];

export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
export type NftChainType = 'filter' | 'nat' | 'route';
export type NftPolicy = 'accept' | 'drop';

/** Where a model object came from in the source: 1-based line, and the `# handle N` / JSON handle. */
export interface NftSource {
  readonly line?: number;
  readonly handle?: number;
}

export interface NftRuleset {
  readonly tables: readonly NftTable[];
}

export interface NftTable extends NftSource {
  readonly family: NftFamily;
  readonly name: string;
  readonly flags?: readonly string[];
  readonly comment?: string;
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
  readonly objects: readonly NftObject[];
  readonly flowtables: readonly NftFlowtable[];
}

export interface NftBaseChain {
  readonly type: NftChainType;
  readonly hook: NftHook;
  /** The numeric priority the kernel orders by. */
  readonly priority: number;
  /** How it was written when symbolic (`dstnat - 10`), for printing. */
  readonly priorityText?: string;
  readonly policy: NftPolicy;
  readonly devices?: readonly string[];
}

export interface NftChain extends NftSource {
  readonly name: string;
  /** Absent for a regular chain (reached only by jump/goto). */
  readonly base?: NftBaseChain;
  readonly comment?: string;
  readonly rules: readonly NftRule[];
}

export interface NftRule extends NftSource {
  /** 1-based position in its chain (what `nft monitor trace` does not print, but a reader counts). */
  readonly position: number;
  readonly stmts: readonly NftStmt[];
  readonly comment?: string;
  /** The source text of the rule as written (JSON: as packetpath prints it). */
  readonly raw: string;
}

export interface NftSet extends NftSource {
  readonly kind: 'set' | 'map';
  readonly name: string;
  /** Key type, one entry per concatenated component (`ipv4_addr`, `inet_proto`, `inet_service`, `ifname`...). */
  readonly keyType: readonly string[];
  /** `typeof` form of the key when declared so (printed back as such). */
  readonly keyTypeof?: readonly NftExpr[];
  /** Maps: the data type (`verdict`, `ipv4_addr`, `ipv4_addr . inet_service`, `mark`, `counter`...). */
  readonly dataType?: readonly string[];
  readonly dataTypeof?: readonly NftExpr[];
  /** Map data declared `: interval ...` (each element's data is a range or prefix). */
  readonly dataInterval?: boolean;
  readonly flags: readonly string[];
  readonly timeout?: number;
  readonly gcInterval?: number;
  readonly size?: number;
  readonly policy?: string;
  readonly autoMerge?: boolean;
  /** Declared with `counter`: every element carries a counter. */
  readonly counter?: boolean;
  readonly comment?: string;
  readonly elements: readonly NftElement[];
}

export interface NftElement {
  readonly key: NftExpr;
  /** Map data (a verdict for verdict maps). */
  readonly data?: NftExpr | NftVerdict;
  readonly timeout?: number;
  readonly expires?: number;
  readonly comment?: string;
  readonly counter?: { readonly packets: number; readonly bytes: number };
}

/** Stateful objects: counters, quotas, limits, ct helpers/timeouts/expectations, synproxy, secmark. */
export interface NftObject extends NftSource {
  readonly type: 'counter' | 'quota' | 'limit' | 'ct helper' | 'ct timeout' | 'ct expectation' | 'synproxy' | 'secmark' | string;
  readonly name: string;
  /** Its settings as given (nft's own words). */
  readonly props: Readonly<Record<string, unknown>>;
  readonly comment?: string;
}

export interface NftFlowtable extends NftSource {
  readonly name: string;
  readonly hook: string;
  readonly priority: number;
  readonly devices: readonly string[];
}

// ---------------------------------------------------------------- expressions

export type PayloadProtocol = 'ether' | 'vlan' | 'arp' | 'ip' | 'ip6' | 'tcp' | 'udp' | 'udplite' | 'sctp' | 'dccp' | 'icmp' | 'icmpv6' | 'igmp' | 'ah' | 'esp' | 'comp' | 'th' | 'gre';

export type NftExpr =
  /** A number, or nft's symbolic constant as written (`tcp`, `established`, `"eth0"`, `192.0.2.1`). */
  | { readonly kind: 'literal'; readonly value: string | number | boolean }
  /** `ip saddr`, `tcp dport`, `th dport`. */
  | { readonly kind: 'payload'; readonly protocol: PayloadProtocol | string; readonly field: string }
  /** `@nh,16,8`: raw bits at a header base. */
  | { readonly kind: 'rawPayload'; readonly base: 'll' | 'nh' | 'th' | 'ih'; readonly offset: number; readonly len: number }
  | { readonly kind: 'meta'; readonly key: string }
  /** `ct state`, `ct original ip saddr` (dir, family). */
  | { readonly kind: 'ct'; readonly key: string; readonly dir?: 'original' | 'reply'; readonly family?: 'ip' | 'ip6' }
  /** `fib saddr . iif oif`: flags are the inputs, result `oif`/`oifname`/`type`. */
  | { readonly kind: 'fib'; readonly result: string; readonly flags: readonly string[] }
  | { readonly kind: 'numgen'; readonly mode: 'random' | 'inc'; readonly mod: number; readonly offset: number }
  | { readonly kind: 'hash'; readonly fn: 'jhash' | 'symhash'; readonly expr?: NftExpr; readonly mod: number; readonly seed?: number; readonly offset: number }
  | { readonly kind: 'rt'; readonly key: string; readonly family?: string }
  | { readonly kind: 'exthdr'; readonly name: string; readonly field?: string; readonly offset?: number }
  | { readonly kind: 'tcpOption'; readonly name: string; readonly field?: string }
  | { readonly kind: 'socket'; readonly key: string }
  | { readonly kind: 'osf'; readonly key: string; readonly ttl?: string }
  | { readonly kind: 'ipsec'; readonly key: string; readonly dir: string; readonly family?: string; readonly spnum?: number }
  | { readonly kind: 'concat'; readonly items: readonly NftExpr[] }
  /** An anonymous set `{ 80, 443 }` (elements may carry data when used as a map). */
  | { readonly kind: 'set'; readonly elements: readonly NftElement[] }
  /** A named set or map, `@name`. */
  | { readonly kind: 'setRef'; readonly name: string }
  | { readonly kind: 'prefix'; readonly addr: NftExpr; readonly len: number }
  | { readonly kind: 'range'; readonly from: NftExpr; readonly to: NftExpr }
  /** `a & b`, `a | b`, `a ^ b`, `a << n`, `a >> n`. */
  | { readonly kind: 'binop'; readonly op: '&' | '|' | '^' | '<<' | '>>'; readonly left: NftExpr; readonly right: NftExpr }
  /** `key map @m` / `key map { ... }`: looks the key up, yields the data. */
  | { readonly kind: 'map'; readonly key: NftExpr; readonly data: NftExpr }
  /** A flag list `syn,ack` / `{ fin | syn }` as in `tcp flags`. */
  | { readonly kind: 'flags'; readonly values: readonly string[] }
  /** An element with per-element options inside a set statement (`ip saddr timeout 10s`). */
  | { readonly kind: 'elem'; readonly value: NftExpr; readonly timeout?: number; readonly expires?: number; readonly comment?: string }
  /** Syntax packetpath reads but does not know: kept verbatim; evaluation states an assumption. */
  | { readonly kind: 'unknown'; readonly text: string };

export type NftVerdict =
  | { readonly kind: 'verdict'; readonly verdict: 'accept' | 'drop' | 'continue' | 'return' | 'queue' }
  | { readonly kind: 'verdict'; readonly verdict: 'jump' | 'goto'; readonly target: string }
  /** Anonymous chain binding: `jump { ... }`. */
  | { readonly kind: 'verdict'; readonly verdict: 'jump' | 'goto'; readonly target: string; readonly chain: NftChain };

export type NftMatchOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in' | 'implicit';

export type NftStmt =
  /** `left op right`; `implicit` is nft's bare form (`tcp dport 22`, `ip saddr @set`, flags `syn`). */
  | { readonly kind: 'match'; readonly op: NftMatchOp; readonly left: NftExpr; readonly right: NftExpr }
  | NftVerdict
  | { readonly kind: 'vmap'; readonly key: NftExpr; readonly data: NftExpr }
  | { readonly kind: 'counter'; readonly packets?: number; readonly bytes?: number; readonly name?: string }
  /** `meta mark set`, `ct mark set`, `ip dscp set`, `tcp option maxseg size set`. */
  | { readonly kind: 'mangle'; readonly key: NftExpr; readonly value: NftExpr }
  | {
      readonly kind: 'nat';
      readonly type: 'snat' | 'dnat' | 'masquerade' | 'redirect';
      /** `dnat ip to` / `dnat ip6 to` in inet tables. */
      readonly family?: 'ip' | 'ip6';
      readonly addr?: NftExpr;
      readonly port?: NftExpr;
      /** `dnat ip addr . port to ...` (map data is address . port). */
      readonly typeAddrPort?: boolean;
      /** `prefix`: NAT to a prefix (netmap). */
      readonly typePrefix?: boolean;
      readonly flags: readonly string[];
    }
  | { readonly kind: 'reject'; readonly type?: 'tcp reset' | 'icmp' | 'icmpv6' | 'icmpx'; readonly code?: string }
  | { readonly kind: 'log'; readonly props: Readonly<Record<string, unknown>> }
  | { readonly kind: 'limit'; readonly rate: number; readonly per: string; readonly unit?: string; readonly burst?: number; readonly over: boolean; readonly name?: string }
  | { readonly kind: 'quota'; readonly bytes: number; readonly used?: number; readonly over: boolean; readonly name?: string }
  | { readonly kind: 'notrack' }
  | { readonly kind: 'queue'; readonly num?: NftExpr; readonly flags: readonly string[] }
  /** `add @s { ip saddr }`, `update @s { ... }`, `delete @s { ... }`. */
  | { readonly kind: 'setUpdate'; readonly op: 'add' | 'update' | 'delete'; readonly set: string; readonly elem: NftExpr; readonly stmts?: readonly NftStmt[] }
  | { readonly kind: 'ctHelper'; readonly helper: NftExpr }
  | { readonly kind: 'ctTimeout' | 'ctExpectation' | 'synproxy' | 'secmark'; readonly value: NftExpr | string }
  | { readonly kind: 'flowOffload'; readonly flowtable: string }
  | { readonly kind: 'dup' | 'fwd'; readonly addr?: NftExpr; readonly dev?: NftExpr }
  /** iptables-nft's compat expressions (`xt match`/`xt target` in nft listings). */
  | { readonly kind: 'xt'; readonly type: 'match' | 'target' | 'watcher'; readonly name: string }
  /** A statement packetpath does not know, verbatim. */
  | { readonly kind: 'unknown'; readonly text: string };

/** A diagnostic of an nft input, with line and column. */
export interface NftDiagnostic {
  readonly line: number;
  readonly column: number;
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
}

export interface NftParseResult {
  readonly ruleset: NftRuleset;
  readonly diagnostics: readonly NftDiagnostic[];
}

/**
 * The sets a table's rules add to or update from the packet path (`add @s { ... }`,
 * `update @s { ... }`): dynamic whether or not their flags say so. nft gives
 * them the `dynamic` flag, but `nft -j` 1.0.6 leaves it out of the JSON.
 */
export function packetUpdatedSets(table: NftTable): ReadonlySet<string> {
  const out = new Set<string>();
  const visit = (stmts: readonly NftStmt[]): void => {
    for (const s of stmts) {
      if (s.kind === 'setUpdate') out.add(s.set.replace(/^@/, ''));
      else if (s.kind === 'verdict' && 'chain' in s && s.chain) for (const r of s.chain.rules) visit(r.stmts);
    }
  };
  for (const c of table.chains) for (const r of c.rules) visit(r.stmts);
  return out;
}

/** Whether a set's members come from packets (declared `dynamic`, or updated from the packet path). */
export const isDynamicSet = (set: NftSet, updated: ReadonlySet<string>): boolean => set.flags.includes('dynamic') || updated.has(set.name);
