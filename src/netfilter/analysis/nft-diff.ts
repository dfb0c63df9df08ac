// Compares two native nftables rulesets: tables by family and name, chains
// rule by rule (aligned like a text diff, as iptables chains are), base chain
// declarations (type, hook, priority, policy), and sets and maps by their
// members: a kube-proxy Service added to the `service-ips` map is one added
// element, not a changed 10,000-element line. Live values (counters, element
// expiry) never count as differences.
import type { NftChain, NftElement, NftRuleset, NftSet, NftTable } from '../nftables/model.ts';
import { printElement, printRule } from '../nftables/print-stmt.ts';
import { diffSequences, withContext, type DiffLine } from './diff.ts';

export interface NftChainDiff {
  /** `family name`, as nft names a table (`inet filter`). */
  readonly table: string;
  readonly chain: string;
  readonly status: 'onlyLeft' | 'onlyRight' | 'changed';
  /** A base chain's declaration when it differs or exists on one side only (null: a regular chain there). */
  readonly base?: { readonly left: string | null; readonly right: string | null };
  readonly added: number;
  readonly removed: number;
  /** Changed rules with up to `context` unchanged rules around them. */
  readonly lines: readonly DiffLine[];
}

export interface NftSetDiff {
  readonly table: string;
  readonly set: string;
  readonly kind: 'set' | 'map';
  readonly status: 'onlyLeft' | 'onlyRight' | 'changed';
  /** The declaration (type, flags, timeout...) when it differs. */
  readonly declaration?: { readonly left: string | null; readonly right: string | null };
  /** Members on the right only / left only, as nft prints them (`10.96.0.10 . tcp . 53 : goto service-...`). */
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export interface NftRulesetDiff {
  readonly tablesOnlyLeft: readonly string[];
  readonly tablesOnlyRight: readonly string[];
  readonly chains: readonly NftChainDiff[];
  readonly sets: readonly NftSetDiff[];
  readonly summary: {
    readonly chainsOnlyLeft: number;
    readonly chainsOnlyRight: number;
    readonly chainsChanged: number;
    readonly rulesAdded: number;
    readonly rulesRemoved: number;
    readonly setsChanged: number;
    readonly elementsAdded: number;
    readonly elementsRemoved: number;
    readonly identical: boolean;
  };
}

const tableName = (t: NftTable): string => `${t.family} ${t.name}`;

/** A rule as nft prints it, without live counter values. */
const ruleText = (r: NftChain['rules'][number]): string => printRule(r).replace(/\bcounter packets \d+ bytes \d+/g, 'counter');

/** An element as nft prints it, without its counter and expiry (they move on their own). */
const elementText = (e: NftElement): string => printElement({ ...e, counter: undefined, expires: undefined } as NftElement);

function baseText(c: NftChain | undefined): string | null {
  const b = c?.base;
  if (!b) return null;
  return `type ${b.type} hook ${b.hook}${b.devices?.length ? ` devices ${b.devices.join(',')}` : ''} priority ${b.priority}; policy ${b.policy};`;
}

function declarationText(s: NftSet | undefined): string | null {
  if (!s) return null;
  const data = s.dataType ? ` : ${s.dataInterval ? 'interval ' : ''}${s.dataType.join(' . ')}` : '';
  const parts = [`type ${s.keyType.join(' . ')}${data}`];
  if (s.flags.length) parts.push(`flags ${[...s.flags].sort().join(',')}`);
  if (s.timeout !== undefined) parts.push(`timeout ${s.timeout}`);
  if (s.size !== undefined) parts.push(`size ${s.size}`);
  if (s.policy !== undefined) parts.push(`policy ${s.policy}`);
  return parts.join('; ');
}

function diffMembers(left: readonly string[], right: readonly string[]): { added: string[]; removed: string[] } {
  const l = new Set(left);
  const r = new Set(right);
  return { added: right.filter((x) => !l.has(x)), removed: left.filter((x) => !r.has(x)) };
}

export function diffNftRulesets(left: NftRuleset, right: NftRuleset, options: { readonly context?: number } = {}): NftRulesetDiff {
  const context = options.context ?? 3;
  const lt = new Map(left.tables.map((t) => [tableName(t), t]));
  const rt = new Map(right.tables.map((t) => [tableName(t), t]));
  const chains: NftChainDiff[] = [];
  const sets: NftSetDiff[] = [];
  for (const name of [...new Set([...lt.keys(), ...rt.keys()])]) {
    const l = lt.get(name);
    const r = rt.get(name);
    const lc = new Map((l?.chains ?? []).map((c) => [c.name, c]));
    const rc = new Map((r?.chains ?? []).map((c) => [c.name, c]));
    for (const chain of [...new Set([...lc.keys(), ...rc.keys()])]) {
      const a = (lc.get(chain)?.rules ?? []).map(ruleText);
      const b = (rc.get(chain)?.rules ?? []).map(ruleText);
      const [baseL, baseR] = [baseText(lc.get(chain)), baseText(rc.get(chain))];
      const ops = diffSequences(a, b);
      const onOneSide = !lc.has(chain) || !rc.has(chain);
      if (!onOneSide && baseL === baseR && ops.every((o) => o === ' ')) continue;
      const { lines, added, removed } = withContext(a, b, ops, context);
      chains.push({
        table: name,
        chain,
        status: !lc.has(chain) ? 'onlyRight' : !rc.has(chain) ? 'onlyLeft' : 'changed',
        ...(baseL !== baseR || (onOneSide && (baseL ?? baseR) !== null) ? { base: { left: baseL, right: baseR } } : {}),
        added,
        removed,
        lines,
      });
    }
    const ls = new Map((l?.sets ?? []).map((s) => [s.name, s]));
    const rs = new Map((r?.sets ?? []).map((s) => [s.name, s]));
    for (const set of [...new Set([...ls.keys(), ...rs.keys()])]) {
      const [sl, sr] = [ls.get(set), rs.get(set)];
      const { added, removed } = diffMembers((sl?.elements ?? []).map(elementText), (sr?.elements ?? []).map(elementText));
      const [dl, dr] = [declarationText(sl), declarationText(sr)];
      if (sl && sr && dl === dr && added.length === 0 && removed.length === 0) continue;
      sets.push({
        table: name,
        set,
        kind: (sl ?? sr)!.kind,
        status: !sl ? 'onlyRight' : !sr ? 'onlyLeft' : 'changed',
        ...(dl !== dr ? { declaration: { left: dl, right: dr } } : {}),
        added,
        removed,
      });
    }
  }
  const tablesOnlyLeft = [...lt.keys()].filter((t) => !rt.has(t));
  const tablesOnlyRight = [...rt.keys()].filter((t) => !lt.has(t));
  const sum = (xs: readonly { added: number | readonly string[] }[]) => xs.reduce((n, x) => n + (typeof x.added === 'number' ? x.added : x.added.length), 0);
  const sumRemoved = (xs: readonly { removed: number | readonly string[] }[]) => xs.reduce((n, x) => n + (typeof x.removed === 'number' ? x.removed : x.removed.length), 0);
  return {
    tablesOnlyLeft,
    tablesOnlyRight,
    chains,
    sets,
    summary: {
      chainsOnlyLeft: chains.filter((c) => c.status === 'onlyLeft').length,
      chainsOnlyRight: chains.filter((c) => c.status === 'onlyRight').length,
      chainsChanged: chains.filter((c) => c.status === 'changed').length,
      rulesAdded: sum(chains),
      rulesRemoved: sumRemoved(chains),
      setsChanged: sets.length,
      elementsAdded: sum(sets),
      elementsRemoved: sumRemoved(sets),
      identical: chains.length === 0 && sets.length === 0 && tablesOnlyLeft.length === 0 && tablesOnlyRight.length === 0,
    },
  };
}

/** A unified-diff rendering: one hunk per chain, then each set's members. */
export function formatNftUnifiedDiff(d: NftRulesetDiff, leftName: string, rightName: string): string {
  const out = [`--- ${leftName}`, `+++ ${rightName}`];
  for (const t of d.tablesOnlyLeft) out.push(`# table ${t} only in ${leftName}`);
  for (const t of d.tablesOnlyRight) out.push(`# table ${t} only in ${rightName}`);
  for (const c of d.chains) {
    const where = c.status === 'onlyLeft' ? ` (only in ${leftName})` : c.status === 'onlyRight' ? ` (only in ${rightName})` : '';
    out.push(`@@ ${c.table} chain ${c.chain}${where} @@`);
    if (c.base?.left) out.push(`-${c.base.left}`);
    if (c.base?.right) out.push(`+${c.base.right}`);
    for (const l of c.lines) out.push(`${l.op}${l.text}`);
  }
  for (const s of d.sets) {
    out.push(`@@ ${s.table} ${s.kind} ${s.set}${s.status === 'onlyLeft' ? ` (only in ${leftName})` : s.status === 'onlyRight' ? ` (only in ${rightName})` : ''} @@`);
    if (s.declaration?.left) out.push(`-${s.declaration.left}`);
    if (s.declaration?.right) out.push(`+${s.declaration.right}`);
    for (const e of s.removed) out.push(`-element ${e}`);
    for (const e of s.added) out.push(`+element ${e}`);
  }
  return out.join('\n') + '\n';
}
