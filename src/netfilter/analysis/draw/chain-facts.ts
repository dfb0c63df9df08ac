// What a chain graph needs of one table, whichever language wrote it: each
// chain's name, rule count, policy (built-in and base chains), base chain
// declaration (nft), and every jump and goto with the rule that makes it.
// The graph and diff builders read only this, so iptables and nft tables
// draw alike.
import type { Table } from '../../iptables/model.ts';
import { BUILTIN_CHAINS } from '../../iptables/model.ts';
import type { NftRule, NftSet, NftTable } from '../../nftables/model.ts';
import type { Steps } from '../../steps.ts';

export interface ChainCall {
  readonly to: string;
  readonly goto: boolean;
  /** 1-based position of the rule in its chain. */
  readonly position: number;
}

export interface ChainFacts {
  readonly name: string;
  readonly rules: number;
  /** A built-in (iptables) or base (nft) chain: packets enter it from a hook. */
  readonly entry: boolean;
  /** The policy of a built-in or base chain, as the language writes it (`ACCEPT`, `drop`). */
  readonly policy?: string;
  /** An nft base chain's declaration: `type nat hook prerouting priority dstnat`. */
  readonly base?: string;
  readonly calls: readonly ChainCall[];
  /** Jumped to but never declared (the iptables parser adds it empty, with a warning). */
  readonly undeclared?: boolean;
}

export interface TableFacts {
  /** `nat`, or nft's `ip kube-proxy`. */
  readonly name: string;
  readonly language: 'iptables' | 'nft';
  /** Built-in chains first in hook order, then the others in the table's order. */
  readonly chains: readonly ChainFacts[];
}

/** Chains between pauses of the builders' steps. */
export const CHAINS_PER_STEP = 2048;

/** An iptables table's chains and jumps (`-j CHAIN` and `-g CHAIN`). */
export function* iptablesTableFactsSteps(table: Table): Steps<TableFacts> {
  const order = BUILTIN_CHAINS[table.name];
  const builtins: ChainFacts[] = [];
  const others: ChainFacts[] = [];
  for (let i = 0; i < table.chains.length; i++) {
    if (i % CHAINS_PER_STEP === CHAINS_PER_STEP - 1) yield;
    const c = table.chains[i]!;
    const calls: ChainCall[] = [];
    for (const r of c.rules) {
      const t = r.target;
      if (t && (t.kind === 'jump' || t.kind === 'goto')) calls.push({ to: t.chain, goto: t.kind === 'goto', position: r.position });
    }
    if (c.builtin) builtins.push(c.policy ? { name: c.name, rules: c.rules.length, entry: true, policy: c.policy, calls } : { name: c.name, rules: c.rules.length, entry: true, calls });
    else if (c.line === undefined && c.rules.length === 0) others.push({ name: c.name, rules: 0, entry: false, calls, undeclared: true });
    else others.push({ name: c.name, rules: c.rules.length, entry: false, calls });
  }
  builtins.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return { name: table.name, language: 'iptables', chains: [...builtins, ...others] };
}

const HOOK_ORDER = ['ingress', 'prerouting', 'input', 'forward', 'output', 'postrouting', 'egress'];

/** An nft table's chains and jumps: verdicts, anonymous verdict maps, and the named verdict maps a rule looks up (kube-proxy's `service-ips`). */
export function* nftTableFactsSteps(table: NftTable): Steps<TableFacts> {
  const sets = new Map<string, NftSet>(table.sets.map((s) => [s.name, s]));
  const bases: { facts: ChainFacts; hook: number; priority: number }[] = [];
  const others: ChainFacts[] = [];
  for (let i = 0; i < table.chains.length; i++) {
    if (i % CHAINS_PER_STEP === CHAINS_PER_STEP - 1) yield;
    const c = table.chains[i]!;
    const calls: ChainCall[] = [];
    for (const r of c.rules) for (const [to, goto] of ruleCalls(r, sets)) calls.push({ to, goto, position: r.position });
    const b = c.base;
    if (!b) {
      others.push({ name: c.name, rules: c.rules.length, entry: false, calls });
      continue;
    }
    const facts = { name: c.name, rules: c.rules.length, entry: true, policy: b.policy, base: `type ${b.type} hook ${b.hook} priority ${b.priorityText ?? b.priority}`, calls };
    bases.push({ facts, hook: HOOK_ORDER.indexOf(b.hook), priority: b.priority });
  }
  // Base chains in the order packets meet them (hook, then priority; sort is stable); the others as listed.
  bases.sort((a, b) => a.hook - b.hook || a.priority - b.priority);
  return { name: `${table.family} ${table.name}`, language: 'nft', chains: [...bases.map((x) => x.facts), ...others] };
}

/** The chains a rule jumps or goes to, each once, with whether by goto (goto wins when both). */
function ruleCalls(rule: Pick<NftRule, 'stmts'>, sets: ReadonlyMap<string, NftSet>): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const add = (to: string, goto: boolean): void => void out.set(to, (out.get(to) ?? false) || goto);
  // A walk over the statements finds verdicts wherever they sit: plain, in anonymous verdict maps,
  // and in the rules of an anonymous chain (`jump { ... }`), whose own binding is not a call.
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o['kind'] === 'verdict' && (o['verdict'] === 'jump' || o['verdict'] === 'goto') && typeof o['target'] === 'string' && o['chain'] === undefined) add(o['target'], o['verdict'] === 'goto');
    if (o['kind'] === 'vmap') {
      const data = o['data'] as { kind?: string; name?: string } | undefined;
      if (data?.kind === 'setRef' && data.name !== undefined) walk(sets.get(data.name.replace(/^@/, ''))?.elements.map((e) => e.data));
    }
    for (const k of Object.keys(o)) walk(o[k]);
  };
  walk(rule.stmts);
  return out;
}
