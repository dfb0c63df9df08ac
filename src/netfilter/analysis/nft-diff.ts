// Compares two native nftables rulesets: tables by family and name, chains
// rule by rule (aligned like a text diff, as iptables chains are), base chain
// declarations (type, hook, priority, policy), and sets and maps by their
// members: a kube-proxy Service added to the `service-ips` map is one added
// element, not a changed 10,000-element line. Live values (counters, element
// expiry) never count as differences.
import type { NftChain, NftElement, NftRuleset, NftSet, NftTable } from '../nftables/model.ts';
import { printElement, printRule } from '../nftables/print-stmt.ts';
import { runSteps, type Steps } from '../steps.ts';
import { diffSequencesSteps, onlyIn, unifiedHeadLines, withContext, type DiffLine } from './diff.ts';

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

/** Two rules that print the same because they are made of the same statement objects (the model is readonly). */
const samePrint = (a: NftChain['rules'][number], b: NftChain['rules'][number]): boolean => a === b || (a.stmts === b.stmts && a.comment === b.comment);

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

/** Items (rules printed, elements printed, members looked up) between pauses of the steps below. */
const PAUSE_ITEMS = 1024;

/** `xs.map(f)`, pausing every PAUSE_ITEMS items. */
function* mapSteps<T>(xs: readonly T[], f: (x: T) => string): Steps<string[]> {
  const out = new Array<string>(xs.length);
  for (let i = 0; i < xs.length; i++) {
    if (i % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
    out[i] = f(xs[i]!);
  }
  return out;
}

/** Members of `right` not in `left`, in `right`'s order, pausing now and then. */
function* notInSteps(right: readonly string[], left: ReadonlySet<string>): Steps<string[]> {
  const out: string[] = [];
  for (let i = 0; i < right.length; i++) {
    if (i % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
    if (!left.has(right[i]!)) out.push(right[i]!);
  }
  return out;
}

function* setOfSteps(xs: readonly string[]): Steps<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < xs.length; i++) {
    if (i % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
    out.add(xs[i]!);
  }
  return out;
}

function* byNameSteps<T extends { readonly name: string }>(xs: readonly T[]): Steps<Map<string, T>> {
  const out = new Map<string, T>();
  for (let i = 0; i < xs.length; i++) {
    if (i % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
    out.set(xs[i]!.name, xs[i]!);
  }
  return out;
}

function* diffMembersSteps(left: readonly string[], right: readonly string[]): Steps<{ added: string[]; removed: string[] }> {
  const l = yield* setOfSteps(left);
  const r = yield* setOfSteps(right);
  return { added: yield* notInSteps(right, l), removed: yield* notInSteps(left, r) };
}

export function diffNftRulesets(left: NftRuleset, right: NftRuleset, options: { readonly context?: number } = {}): NftRulesetDiff {
  return runSteps(diffNftRulesetsSteps(left, right, options));
}

/**
 * diffNftRulesets in steps that pause (for a server's event loop: `runStepsYielding`) every chain
 * and every ~1,000 rules or members: a 44k-Service kube-proxy table has ~264k chains and maps of
 * ~100k elements. Pure: it reads the two models (cached parses may be shared) and copies nothing of them.
 */
export function* diffNftRulesetsSteps(left: NftRuleset, right: NftRuleset, options: { readonly context?: number } = {}): Steps<NftRulesetDiff> {
  const context = options.context ?? 3;
  const lt = new Map(left.tables.map((t) => [tableName(t), t]));
  const rt = new Map(right.tables.map((t) => [tableName(t), t]));
  const chains: NftChainDiff[] = [];
  const sets: NftSetDiff[] = [];
  for (const name of [...new Set([...lt.keys(), ...rt.keys()])]) {
    const l = lt.get(name);
    const r = rt.get(name);
    // By name (the last of a name wins, at the place of its first), and the names of both in
    // order: what `new Map(...)` and `new Set([...lc.keys(), ...rc.keys()])` give, built in steps.
    const lc = yield* byNameSteps(l?.chains ?? []);
    const rc = yield* byNameSteps(r?.chains ?? []);
    const names = [...lc.keys()];
    for (const [i, chain] of [...rc.keys()].entries()) {
      if (i % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
      if (!lc.has(chain)) names.push(chain);
    }
    yield;
    let printed = 0;
    for (const chain of names) {
      const [cl, cr] = [lc.get(chain), rc.get(chain)];
      const [nl, nr] = [cl?.rules.length ?? 0, cr?.rules.length ?? 0];
      // Rules that are the same statements (a parse shares them with its donor's: share.ts) print the
      // same: a chain of such rules with the same declaration is unchanged, and nothing is printed.
      if (cl && cr && nl === nr && baseText(cl) === baseText(cr) && cl.rules.every((x, i) => samePrint(x, cr.rules[i]!))) {
        printed += 1 + (nl >> 4);
        if (printed >= PAUSE_ITEMS) {
          printed = 0;
          yield;
        }
        continue;
      }
      const a = nl > PAUSE_ITEMS ? yield* mapSteps(cl!.rules, ruleText) : (cl?.rules ?? []).map(ruleText);
      const b = nr > PAUSE_ITEMS ? yield* mapSteps(cr!.rules, ruleText) : (cr?.rules ?? []).map(ruleText);
      printed += nl + nr + 1;
      if (printed >= PAUSE_ITEMS) {
        printed = 0;
        yield;
      }
      const [baseL, baseR] = [baseText(cl), baseText(cr)];
      const ops = yield* diffSequencesSteps(a, b);
      const onOneSide = !cl || !cr;
      if (!onOneSide && baseL === baseR && ops.every((o) => o === ' ')) continue;
      const { lines, added, removed } = withContext(a, b, ops, context);
      chains.push({
        table: name,
        chain,
        status: !cl ? 'onlyRight' : !cr ? 'onlyLeft' : 'changed',
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
      yield;
      // The same elements (shared with a donor's set) and declaration: unchanged, nothing printed.
      if (sl && sr && sl.elements === sr.elements && declarationText(sl) === declarationText(sr)) continue;
      const el = yield* mapSteps(sl?.elements ?? [], elementText);
      const er = yield* mapSteps(sr?.elements ?? [], elementText);
      const { added, removed } = yield* diffMembersSteps(el, er);
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
  yield;
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
  return [...nftUnifiedDiffLines(d, leftName, rightName)].join('\n') + '\n';
}

/** formatNftUnifiedDiff's lines (without their newlines), one by one. */
export function* nftUnifiedDiffLines(d: NftRulesetDiff, leftName: string, rightName: string): Generator<string, void, void> {
  yield* unifiedHeadLines(d, leftName, rightName);
  for (const c of d.chains) {
    yield `@@ ${c.table} chain ${c.chain}${onlyIn(c.status, leftName, rightName)} @@`;
    if (c.base?.left) yield `-${c.base.left}`;
    if (c.base?.right) yield `+${c.base.right}`;
    for (const l of c.lines) yield `${l.op}${l.text}`;
  }
  for (const s of d.sets) {
    yield `@@ ${s.table} ${s.kind} ${s.set}${onlyIn(s.status, leftName, rightName)} @@`;
    if (s.declaration?.left) yield `-${s.declaration.left}`;
    if (s.declaration?.right) yield `+${s.declaration.right}`;
    for (const e of s.removed) yield `-element ${e}`;
    for (const e of s.added) yield `+element ${e}`;
  }
}
