// Parser for `iptables-save` / `ip6tables-save` output and for `iptables -S`
// style fragments (`-P`/`-N`/`-A` lines without `*table` headers).
import type { Counters, Diagnostic, Family, Policy, TableName } from '../model.ts';
import { memoGet, memoKeyOf, memoSet, ownCopy, type RuleLineMemo } from './line-memo.ts';
import { isBuiltinChain, isTableName, isValidChainName } from '../model.ts';
import { tokenizeInto, vocabulary, type TokenList } from './lexer.ts';
import { newSpecMemo, parseRuleSpec, RULE_SPEC_WORDS } from './rule-spec.ts';
import { draftChain, mutableRules, newTableDraft, NO_RULES, type ChainDraft, type RuleDraft, type TableDraft } from './build.ts';
import { inferTables } from './infer-table.ts';
import { newFastRuleState, readFastRule } from './fast-rule.ts';
import { renderMatches, renderOptions } from '../printer/render.ts';
import { runSteps, type Steps } from '../../steps.ts';

/** A pause every 1,024 lines (a mask): a few milliseconds of parsing. */
const PAUSE_LINES = 1023;

export interface SaveParseContext {
  readonly family: Family;
  /** Table for lines outside `*table` sections (`-t` hint). */
  readonly table?: TableName;
  /** Rule lines read before (see RuleLineMemo): read again from it, and added to it. */
  readonly lineMemo?: RuleLineMemo;
  /** Read every rule with the general path (tests compare the fast path with it). */
  readonly generalOnly?: boolean;
  /** No line holds white space other than spaces once a final CR is dropped (the caller checked the whole text): the fast path does not look for it. */
  readonly noBlanks?: boolean;
}

export interface SaveParseOutput {
  readonly tables: TableDraft[];
  readonly diagnostics: Diagnostic[];
  readonly sawTableHeader: boolean;
}

const PROMPT = /^\s*(\[[^\]]*\]\s?[#$]|[\w.-]+@[\w.-]+(:\S*)?\s?[#$]|\/\s?#|~\s?[#$]|\$\s)/;

/** `[packets:bytes]` (two digit strings) before a rule. The many `[0:0]` of one parse share one readonly object. */
function countersPrefix(text: string, memo: Map<string, Counters>): Counters | undefined {
  if (text === '[0:0]') {
    let zero = memo.get(text);
    if (!zero) memo.set(text, (zero = { packets: 0n, bytes: 0n }));
    return zero;
  }
  const colon = text.indexOf(':');
  const end = text.length - 1;
  if (text.charCodeAt(0) !== 91 /* [ */ || text.charCodeAt(end) !== 93 /* ] */ || !allDigits(text, 1, colon) || !allDigits(text, colon + 1, end)) return undefined;
  return { packets: bigIntOf(text, 1, colon), bytes: bigIntOf(text, colon + 1, end) };
}

/** True when text[from, to) is one or more ASCII digits. */
function allDigits(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** BigInt of the digits text[from, to), without a substring when the value fits a double exactly. */
function bigIntOf(text: string, from: number, to: number): bigint {
  if (to - from > 15) return BigInt(text.slice(from, to));
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return BigInt(n);
}

/** What the declaration regex gives for the `:NAME - [0:0]` lines of user chains. */
const PLAIN_DECLARATION: readonly [string, string | undefined, string, string, string] = ['', undefined, '-', '0', '0'];

/**
 * The name of a `:NAME - [0:0]` line (tens of thousands of user chains in a
 * kube-proxy dump), read without the declaration regex; undefined for any
 * other line, which the regex then reads.
 */
function plainDeclarationName(line: string): string | undefined {
  const end = line.length - 8;
  if (end < 2 || !line.endsWith(' - [0:0]')) return undefined;
  // One regex search over the name, not a loop of charCodeAt (~5 ns a character on a slice of the dump).
  const name = line.slice(1, end);
  return NOT_PRINTABLE.test(name) ? undefined : name;
}

/** A character other than printable ASCII (no space): a declaration with one goes to the regex. */
const NOT_PRINTABLE = /[^!-~]/;

function zeroCounters(memo: Map<string, Counters>): Counters {
  return countersPrefix('[0:0]', memo)!;
}

function ruleDraft(line: number, raw: string, counters: Counters | undefined, matches: RuleDraft['matches'], target: RuleDraft['target']): RuleDraft {
  return counters ? { position: 0, line, raw, counters, matches, target } : { position: 0, line, raw, matches, target };
}

/**
 * Appends a rule to its chain. Most chains of a kube-proxy dump hold one to
 * five rules: a push would give each list 16 spare slots, copied by every
 * garbage collection until the model is built, so short lists are copied at
 * their exact size instead (concat; a spread `[...rules, draft]` makes 19
 * slots), and become the chains' lists in the model (buildTable).
 */
function appendRule(chain: ChainDraft, draft: RuleDraft): void {
  const rules = chain.rules;
  if (rules.length >= 8) rules.push(draft);
  else chain.rules = rules.length === 0 ? [draft] : rules.concat([draft]);
}

/** Rules read in a row for one chain, not yet in its list: rules[0, count). */
interface RuleRun {
  chain: ChainDraft | undefined;
  /** Reused for every run, never emptied: an emptied array drops its room and grows again (17 slots) for the next run. */
  readonly rules: RuleDraft[];
  count: number;
}

/**
 * Adds a run's rules to its chain's list, at its exact size: iptables-save lists a chain's rules
 * in a row, so each list is made once (appendRule copies a short list per rule).
 */
function flushRun(run: RuleRun): void {
  const { chain, rules, count } = run;
  if (!chain) return;
  const added = rules.slice(0, count);
  chain.rules = chain.rules.length === 0 ? added : chain.rules.concat(added);
  run.count = 0;
  run.chain = undefined;
}

const NO_NOTE: { text: string; note?: string; kind?: '//' | '#' } = { text: '' };

/** Strips a trailing `// note` or ` # note` outside quotes; returns the note, if any. */
export function splitTrailingNote(line: string): { text: string; note?: string; kind?: '//' | '#' } {
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && inQuote) {
      i++;
      continue;
    }
    if (ch === '"') inQuote = !inQuote;
    if (inQuote) continue;
    if (ch === '/' && line[i + 1] === '/' && (i === 0 || /\s/.test(line[i - 1]!))) {
      return { text: line.slice(0, i).trimEnd(), note: line.slice(i + 2).trim(), kind: '//' };
    }
    if (ch === '#' && i > 0 && /\s/.test(line[i - 1]!)) {
      return { text: line.slice(0, i).trimEnd(), note: line.slice(i + 1).trim(), kind: '#' };
    }
  }
  return { text: line };
}

export function tableHintFromCommand(line: string): TableName | undefined {
  const m = /(?:^|\s)(?:-t\s*|--table[= ])(\w+)/.exec(line);
  return m && isTableName(m[1]!) ? m[1] : undefined;
}

export function isShellPrompt(line: string): boolean {
  return PROMPT.test(line);
}

export function parseSaveLines(lines: readonly string[], ctx: SaveParseContext): SaveParseOutput {
  return runSteps(parseSaveSteps(lines, ctx));
}

/** `parseSaveLines`, pausing every few thousand lines (see steps.ts). */
export function* parseSaveSteps(lines: readonly string[], ctx: SaveParseContext): Steps<SaveParseOutput> {
  const diagnostics: Diagnostic[] = [];
  const tables: TableDraft[] = [];
  const fragment = new Map<string, ChainDraft>();
  let fragmentHint = ctx.table;
  let current: TableDraft | undefined;
  let skipping = false;
  let sawTableHeader = false;
  const memo = newSpecMemo();
  const tokens: TokenList = { texts: [], columns: [] };
  const counterMemo = new Map<string, Counters>();
  const lineMemo = ctx.lineMemo?.family === ctx.family ? ctx.lineMemo : undefined;
  const fastState = ctx.generalOnly ? undefined : newFastRuleState(memo, ctx.family, !ctx.noBlanks);
  const diag = (line: number, severity: Diagnostic['severity'], code: string, message: string, column?: number): void => {
    diagnostics.push({ line, severity, code, message, ...(column !== undefined ? { column } : {}) });
  };

  // Chains in the order `:NAME` lines declared them; iptables-save lists their rules in the same
  // order, so the chain of a new block of rules is most likely the next one (no lookup by name).
  // (Deleting or renaming a chain stops this: nextChain goes past the end.)
  const declared: ChainDraft[] = [];
  const declaredIn: TableDraft[] = [];
  let nextChain = 0;
  const nextDeclared = (name: string): ChainDraft | undefined => {
    for (let k = nextChain; k < declared.length && k < nextChain + 4; k++) {
      const c = declared[k]!;
      if (declaredIn[k] !== current || c.name.length !== name.length || c.name !== name) continue;
      nextChain = k + 1;
      return c;
    }
    return undefined;
  };
  // The table and chain of the last rule the fast path read (two variables: no object per new chain).
  let lastFastTable: TableDraft | undefined;
  let lastFastChain: ChainDraft | undefined;
  // The fast path's rules of one chain in a row, added to it at once (see flushRun); any other
  // line that may read or change rules adds them first.
  const run: RuleRun = { chain: undefined, rules: [], count: 0 };
  // Dumps list a chain's rules together: remember the last chain looked up.
  let last: { table: TableDraft | undefined; name: string; chain: ChainDraft } | undefined;
  const chainFor = (name: string, line: number): ChainDraft => {
    if (last && last.table === current && last.name === name) return last.chain;
    const chain = current ? draftChain(current, name, line) : fragmentChain(name, line);
    last = { table: current, name, chain };
    return chain;
  };
  const fragmentChain = (name: string, line: number): ChainDraft => {
    let c = fragment.get(name);
    if (!c) {
      c = { name, policy: undefined, declared: false, rules: NO_RULES, line };
      fragment.set(name, c);
    }
    return c;
  };
  const knownChain = (name: string): ChainDraft | undefined => (current ? current.chains.get(name) : fragment.get(name));

  const closeTable = (lineNo: number, why: string): void => {
    if (current) {
      diag(lineNo, 'warning', 'missing-commit', `table ${current.name} (line ${current.line}) has no COMMIT before ${why}; committed implicitly`);
    }
    current = undefined;
  };

  for (let idx = 0; idx < lines.length; idx++) {
    if ((idx & PAUSE_LINES) === PAUSE_LINES) yield;
    const lineNo = idx + 1;
    const original = lines[idx]!;
    let line = original.charCodeAt(original.length - 1) === 13 ? original.slice(0, -1) : original;
    const trimmed = line.trim();
    if (trimmed === '') {
      if (line !== '') diag(lineNo, 'warning', 'whitespace-line', 'line holds only white space (iptables-restore rejects it)', 1);
      continue;
    }
    if (line.startsWith('#')) {
      if (/^#\s*Warning: iptables-legacy tables present/.test(line)) {
        diag(lineNo, 'info', 'legacy-tables-present', 'iptables-nft reports that iptables-legacy tables also exist on this node; they are not in this dump');
      } else if (/^#\s*\[?\d*:?\d*\]?\s*-[AI]\s/.test(line)) {
        diag(lineNo, 'info', 'commented-rule', 'commented-out rule ignored');
      } else if (/^#\s*(ip6?tables|iptables-save|ip6tables-save)\s/.test(line)) {
        fragmentHint = tableHintFromCommand(line) ?? fragmentHint;
      }
      continue;
    }
    if (skipping && !trimmed.startsWith('*') && trimmed !== 'COMMIT') continue;
    if (line.charCodeAt(0) !== 45 /* - */ && isShellPrompt(line)) {
      diag(lineNo, 'warning', 'shell-prompt', 'shell prompt line ignored');
      const hint = tableHintFromCommand(line);
      if (hint) fragmentHint = hint;
      continue;
    }
    if (trimmed.startsWith('*')) {
      const name = trimmed.slice(1).trim();
      closeTable(lineNo, `*${name}`);
      sawTableHeader = true;
      if (!isTableName(name)) {
        diag(lineNo, 'error', 'unknown-table', `unknown table "${name}" (expected raw, mangle, nat, filter or security); its lines are skipped`, 2);
        skipping = true;
        continue;
      }
      skipping = false;
      let t = tables.find((x) => x.name === name);
      if (t) diag(lineNo, 'warning', 'duplicate-table', `table ${name} appears twice; rules are merged`);
      else {
        t = newTableDraft(name, lineNo);
        tables.push(t);
      }
      current = t;
      continue;
    }
    if (trimmed === 'COMMIT') {
      if (!current && !skipping) diag(lineNo, 'warning', 'stray-commit', 'COMMIT without a table');
      current = undefined;
      skipping = false;
      continue;
    }
    if (trimmed.startsWith(':')) {
      // A plain line's parts are the shared PLAIN_DECLARATION's, but for the name (no array per line).
      const plainName = plainDeclarationName(trimmed);
      const m = plainName !== undefined ? PLAIN_DECLARATION : /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?\s*$/.exec(trimmed);
      if (!m) {
        diag(lineNo, 'error', 'bad-chain-declaration', `malformed chain declaration "${trimmed}"`, 1);
        continue;
      }
      if (!current) diag(lineNo, 'warning', 'declaration-outside-table', 'chain declaration outside a *table section');
      const name = plainName ?? m[1]!;
      const c = chainFor(name, lineNo);
      if (current && !c.declared) {
        declared.push(c);
        declaredIn.push(current);
      }
      c.declared = true;
      c.line = lineNo;
      const p = m[2]!;
      c.policy = p === '-' ? null : p === 'ACCEPT' || p === 'DROP' ? p : 'UNKNOWN';
      if (p !== '-' && p !== 'ACCEPT' && p !== 'DROP') diag(lineNo, 'error', 'bad-policy', `bad policy "${p}" for chain ${name}`);
      if (m[3] !== undefined) c.counters = m[3] === '0' && m[4] === '0' ? zeroCounters(counterMemo) : { packets: BigInt(m[3]), bytes: BigInt(m[4]!) };
      continue;
    }

    // A rule line read before: its parse from the memo (only lines that gave no diagnostic are there).
    let memoKey = lineMemo && current && !skipping ? memoKeyOf(line) : undefined;
    if (memoKey) {
      const hit = memoGet(lineMemo!, current!.name, memoKey.key);
      const prefixCounters = memoKey.prefix !== undefined ? countersPrefix(memoKey.prefix, counterMemo) : undefined;
      if (hit && (memoKey.prefix === undefined || prefixCounters)) {
        flushRun(run);
        appendRule(chainFor(hit.chain, lineNo), ruleDraft(lineNo, line, prefixCounters ?? hit.counters, hit.matches, hit.target));
        continue;
      }
      // Read from a copy: what the memo keeps of it must not keep the whole text alive.
      line = ownCopy(line);
      memoKey = memoKeyOf(line);
    }
    const diagnosticsBefore = diagnostics.length;

    // The fast path takes no line with a trailing note (see noteAt): the general path looks for one.
    if (fastState && current) {
      const from = line.charCodeAt(0) === 91 /* [ */ ? line.indexOf(' ') + 1 : 0;
      const counters = from > 0 ? countersPrefix(line.slice(0, from - 1), counterMemo) : undefined;
      const fast = from === 0 || counters ? readFastRule(line, from, fastState, current.name) : undefined;
      // The chain of the previous fast line: a slice compared with === (startsWith on a slice costs ~5 ns a character).
      const sliced = fast ? line.slice(fast.chainStart, fast.chainEnd) : '';
      const sameChain = fast !== undefined && lastFastTable === current && sliced === lastFastChain!.name;
      const chainName = sameChain ? lastFastChain!.name : sliced;
      const target = fast?.target;
      if (fast && (sameChain || isValidChainName(chainName))) {
        const chain = sameChain ? lastFastChain! : nextDeclared(chainName) ?? chainFor(chainName, lineNo);
        if (chain !== run.chain) flushRun(run);
        run.chain = chain;
        run.rules[run.count++] = ruleDraft(lineNo, line, counters, fast.matches, target ?? null);
        lastFastTable = current;
        lastFastChain = chain;
        if (memoKey && (memoKey.prefix === undefined || counters)) {
          memoSet(lineMemo!, current.name, memoKey.key, { chain: chainName, counters: undefined, matches: fast.matches, target: target ?? null });
        }
        continue;
      }
    }
    flushRun(run);
    let text = line;
    const note = line.includes('//') || line.includes('#') ? splitTrailingNote(line) : NO_NOTE;
    if (note.note !== undefined && /^\s*(\[\d+:\d+\]\s*)?-/.test(line)) {
      diag(lineNo, 'warning', note.kind === '//' ? 'trailing-note' : 'trailing-comment', `trailing note "${note.kind} ${note.note}" ignored`, note.text.length + 2);
      text = note.text;
    }
    const error = tokenizeInto(text, tokens, WORDS);
    if (error) {
      diag(lineNo, 'error', 'bad-quote', error.message, error.column);
      continue;
    }
    const { texts, columns } = tokens;
    let counters: Counters | undefined;
    if (texts[0]?.charCodeAt(0) === 91 /* [ */) {
      counters = countersPrefix(texts[0], counterMemo);
      if (counters) {
        texts.shift();
        columns.shift();
      }
    }
    const cmd = texts[0] ?? '';
    if (!cmd.startsWith('-')) {
      diag(lineNo, 'warning', 'not-a-rule', `line is not part of a dump: "${trimmed.length > 60 ? trimmed.slice(0, 57) + '...' : trimmed}"`, 1);
      continue;
    }
    const chainName = texts[1];
    const command = normalizeCommand(cmd);
    if (!command) {
      diag(lineNo, 'error', 'unknown-command', `unknown command "${cmd}"`, columns[0]!);
      continue;
    }
    if (!current) {
      if (sawTableHeader && command !== 'policy' && command !== 'new') {
        diag(lineNo, 'warning', 'outside-table', 'rule outside a *table ... COMMIT section; its table is inferred');
      }
    }
    if (!chainName && command !== 'flush' && command !== 'delete-chain' && command !== 'zero') {
      diag(lineNo, 'error', 'missing-chain', `"${cmd}" needs a chain name`, columns[0]!);
      continue;
    }
    if (chainName !== undefined && !isValidChainName(chainName)) {
      diag(lineNo, 'error', 'bad-chain-name', `invalid chain name "${chainName}" (iptables: Invalid chain name); the line is skipped`, columns[1]);
      continue;
    }
    switch (command) {
      case 'append':
      case 'insert': {
        let from = 2;
        let position: number | undefined;
        if (command === 'insert' && texts[2] !== undefined && /^\d+$/.test(texts[2])) {
          position = Number(texts[2]);
          from = 3;
        }
        const spec = parseRuleSpec(tokens, ctx.family, memo, from);
        for (const p of spec.problems) diag(lineNo, p.severity, p.code, p.message, p.column);
        if (spec.target && !isValidChainName(spec.target.name)) {
          diag(lineNo, 'error', 'bad-chain-name', `invalid target or chain name "${spec.target.name}" (iptables: Invalid chain name); the line is skipped`);
          break;
        }
        if (current && spec.target && isBuiltinChain(current.name, spec.target.name)) {
          diag(lineNo, 'error', 'jump-to-builtin', `cannot jump to the built-in chain ${spec.target.name} (iptables: RULE_APPEND failed (Operation not supported))`);
        }
        const chain = chainFor(chainName!, lineNo);
        const ruleCounters = counters ?? spec.counters;
        if (command === 'append' && spec.variants.length === 1) {
          appendRule(chain, ruleDraft(lineNo, line, ruleCounters, spec.variants[0]!, spec.target));
          if (memoKey && diagnostics.length === diagnosticsBefore && (memoKey.prefix === undefined || counters)) {
            memoSet(lineMemo!, current!.name, memoKey.key, { chain: chainName!, counters: spec.counters, matches: spec.variants[0]!, target: spec.target });
          }
          break;
        }
        const drafts: RuleDraft[] = [];
        for (const matches of spec.variants) drafts.push(ruleDraft(lineNo, line, ruleCounters, matches, spec.target));
        const rules = mutableRules(chain);
        if (command === 'append') rules.push(...drafts);
        else {
          const at = Math.max(0, (position ?? 1) - 1);
          if (at > rules.length) {
            diag(lineNo, 'error', 'bad-rule-position', `index of insertion too big (${position} > ${rules.length + 1})`);
          }
          rules.splice(Math.min(at, rules.length), 0, ...drafts);
        }
        break;
      }
      case 'delete': {
        const chain = knownChain(chainName!);
        if (!chain) {
          diag(lineNo, 'error', 'no-such-chain', `no chain named ${chainName}`);
          break;
        }
        const rest = texts.slice(2);
        if (rest.length === 1 && /^\d+$/.test(rest[0]!)) {
          const n = Number(rest[0]!);
          if (n < 1 || n > chain.rules.length) diag(lineNo, 'error', 'bad-rule-position', `chain ${chainName} has no rule ${n}`);
          else mutableRules(chain).splice(n - 1, 1);
          break;
        }
        const spec = parseRuleSpec(tokens, ctx.family, undefined, 2);
        for (const p of spec.problems) diag(lineNo, p.severity, p.code, p.message, p.column);
        const key = draftKey(spec.variants[0] ?? [], spec.target);
        const at = chain.rules.findIndex((r) => draftKey(r.matches, r.target) === key);
        if (at < 0) diag(lineNo, 'error', 'no-such-rule', `no rule in ${chainName} matches "${rest.join(' ')}"`);
        else mutableRules(chain).splice(at, 1);
        break;
      }
      case 'new': {
        const c = chainFor(chainName!, lineNo);
        if (c.declared) diag(lineNo, 'warning', 'chain-exists', `chain ${chainName} already exists`);
        c.declared = true;
        c.policy = null;
        break;
      }
      case 'policy': {
        const p = texts[2];
        if (p !== 'ACCEPT' && p !== 'DROP') {
          diag(lineNo, 'error', 'bad-policy', `bad policy "${p ?? ''}" for ${chainName}`, columns[2]);
          break;
        }
        const c = chainFor(chainName!, lineNo);
        c.policy = p as Policy;
        c.declared = true;
        const pc = texts[3] === '-c' ? texts.slice(4, 6) : [];
        if (pc.length === 2) c.counters = { packets: BigInt(pc[0]!), bytes: BigInt(pc[1]!) };
        break;
      }
      case 'flush': {
        const target = current ? [...current.chains.values()] : [...fragment.values()];
        for (const c of target) if (!chainName || c.name === chainName) c.rules = NO_RULES;
        break;
      }
      case 'delete-chain': {
        last = undefined;
        lastFastTable = undefined;
        nextChain = Infinity;
        const map = current ? current.chains : fragment;
        if (!chainName) {
          for (const [n, c] of map) if (c.policy === null) map.delete(n);
          break;
        }
        const doomed = map.get(chainName);
        const table = current?.name;
        if (!doomed) diag(lineNo, 'error', 'no-such-chain', `no chain named ${chainName}`);
        else if (table && isBuiltinChain(table, chainName)) diag(lineNo, 'error', 'builtin-chain', `cannot delete the built-in chain ${chainName}`);
        else if (doomed.rules.length > 0) diag(lineNo, 'error', 'chain-not-empty', `cannot delete chain ${chainName}: it has ${doomed.rules.length} rule(s); flush it with -F first (iptables: CHAIN_DEL failed (Device or resource busy))`);
        else if (anyJumpTo(map, chainName)) {
          diag(lineNo, 'error', 'chain-referenced', `cannot delete chain ${chainName}: a rule jumps to it (iptables: CHAIN_DEL failed (Device or resource busy))`);
        } else map.delete(chainName);
        break;
      }
      case 'rename': {
        last = undefined;
        lastFastTable = undefined;
        nextChain = Infinity;
        const map = current ? current.chains : fragment;
        const c = map.get(chainName!);
        const to = texts[2];
        if (!c || !to) {
          diag(lineNo, 'error', 'no-such-chain', `cannot rename ${chainName}`);
          break;
        }
        if (current && isBuiltinChain(current.name, chainName!)) {
          diag(lineNo, 'error', 'builtin-chain', `cannot rename the built-in chain ${chainName}`);
          break;
        }
        if (map.has(to) || (current && isBuiltinChain(current.name, to))) {
          diag(lineNo, 'error', 'chain-exists', `cannot rename ${chainName} to ${to}: chain ${to} already exists (iptables: File exists)`);
          break;
        }
        map.delete(chainName!);
        map.set(to, { ...c, name: to });
        for (const other of map.values()) other.rules = renamedTargets(other.rules, chainName!, to);
        break;
      }
      case 'zero':
        break;
    }
  }
  flushRun(run);
  if (current) {
    diag(lines.length, 'warning', 'missing-commit', `table ${current.name} (line ${current.line}) is not closed with COMMIT`);
  }
  // iptables-restore refuses `-A X` for a chain that no `:X` or `-N X` declared.
  for (const t of tables) {
    for (const c of t.chains.values()) {
      if (c.declared || isBuiltinChain(t.name, c.name)) continue;
      const line = c.rules[0]?.line ?? c.line ?? t.line;
      diag(line, 'warning', 'undeclared-chain', `chain ${t.name}/${c.name} has rules but is never declared (":${c.name} - [0:0]" or "-N ${c.name}"); declared implicitly`);
      c.declared = true;
    }
  }

  if (fragment.size > 0) {
    const assignment = inferTables([...fragment.values()], fragmentHint, diagnostics);
    for (const c of fragment.values()) {
      const tname = assignment.get(c.name)!;
      let t = tables.find((x) => x.name === tname);
      if (!t) {
        t = newTableDraft(tname, c.line ?? 1);
        tables.push(t);
      }
      const existing = t.chains.get(c.name);
      if (existing) {
        mutableRules(existing).push(...c.rules);
        if (c.policy !== undefined) existing.policy = c.policy;
      } else t.chains.set(c.name, c);
    }
  }
  return { tables, diagnostics, sawTableHeader };
}

// The loop's helpers below take their values as arguments: a closure in the loop body over one of
// its variables (the line, its number, the chain name) makes V8 allocate a context per line.

/** True when a rule of any chain in `map` jumps or goes to `name`. */
function anyJumpTo(map: ReadonlyMap<string, ChainDraft>, name: string): boolean {
  for (const c of map.values()) for (const r of c.rules) if (r.target?.name === name) return true;
  return false;
}

/** `rules` with the targets named `from` renamed to `to`. */
function renamedTargets(rules: readonly RuleDraft[], from: string, to: string): RuleDraft[] {
  return rules.map((r): RuleDraft => (r.target && r.target.name === from ? { ...r, target: { ...r.target, name: to } } : r));
}

const COMMANDS: Readonly<Record<string, string>> = {
  '-A': 'append', '--append': 'append', '-I': 'insert', '--insert': 'insert', '-D': 'delete', '--delete': 'delete',
  '-N': 'new', '--new-chain': 'new', '--new': 'new', '-P': 'policy', '--policy': 'policy', '-F': 'flush', '--flush': 'flush',
  '-X': 'delete-chain', '--delete-chain': 'delete-chain', '-E': 'rename', '--rename-chain': 'rename', '-Z': 'zero', '--zero': 'zero',
};

const WORDS = vocabulary([...Object.keys(COMMANDS), ...RULE_SPEC_WORDS]);

function normalizeCommand(cmd: string): string | undefined {
  return Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
}

function draftKey(matches: RuleDraft['matches'], target: RuleDraft['target']): string {
  return renderMatches(matches) + (target ? ` ${target.goto ? '-g' : '-j'} ${target.name}${renderOptions(target.options)}` : '');
}
