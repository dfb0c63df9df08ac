// `nft list ruleset` (with or without -a) and `nft -f` input (table blocks,
// knftables-style `add ...` commands, flush, define/$var) → NftRuleset.
// Never throws: broken syntax becomes error diagnostics with line and
// column, unknown statements are kept verbatim with a warning.
import {
  NFT_FAMILIES, type NftBaseChain, type NftChain, type NftDiagnostic, type NftElement, type NftFamily, type NftFlowtable,
  type NftHook, type NftObject, type NftParseResult, type NftRule, type NftSet, type NftTable,
} from '../model.ts';
import { resolvePriority } from '../priority.ts';
import {
  type Cursor, NftSyntaxError, describe, error, expectName, expectPunct, fail, isPunct, isWord, makeCursor, next, peek, releaseConsumed,
  skipNewlines, skipSeparators, tokAt, warn,
} from './cursor.ts';
import { type ExprCtx } from './expr.ts';
import { nftTokenizer, type Token } from './lexer.ts';
import { parseObjectBody, parseSetBody, parseSetElementsBlock } from './decl.ts';
import { parseAnonChain, parseRule } from './stmt.ts';
import { runSteps, type Steps } from '../../steps.ts';
import { checkAddressLiterals } from '../checks.ts';
import { leafInterner, shareRuleWith, shareSetElements, type NftDonor } from '../share.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
interface ChainB extends Mutable<Omit<NftChain, 'rules'>> {
  rules: NftRule[];
}
interface TableB extends Mutable<Omit<NftTable, 'chains' | 'sets' | 'objects' | 'flowtables'>> {
  chains: Map<string, ChainB>;
  sets: Map<string, Mutable<NftSet> & { elements: NftElement[] }>;
  objects: NftObject[];
  flowtables: NftFlowtable[];
}
interface State {
  readonly ctx: ExprCtx;
  readonly tables: Map<string, TableB>;
  /** The same ruleset's other parse, whose equal objects this one keeps (share.ts). */
  readonly donor: NftDonor | undefined;
  /** This parse's equal leaves (literals, header fields, meta keys, verdicts) as one object each. */
  readonly intern: <T>(value: T) => T;
}

/** A rule just parsed into `ch` of `tb`: its leaves interned, its parts equal to the donor's rule there the donor's. */
function keep(st: State, tb: TableB, ch: ChainB, rule: NftRule): NftRule {
  // With a donor (interned by its own parse) sharing does the interning's work, and more, where
  // the donor has this rule: where it has not (another ruleset's parse: an upload's donor is
  // whichever was used last), the rule is interned as without one.
  const d = st.donor?.rule(tableKey(tb), ch.name, ch.rules.length);
  if (!d) return st.intern(rule);
  const shared = shareRuleWith(rule, d);
  return shared.stmts === d.stmts ? shared : st.intern(shared);
}

const VERBS = new Set(['add', 'create', 'insert', 'replace', 'delete', 'destroy', 'flush', 'list', 'reset']);
const OBJECT_KINDS = new Set(['counter', 'quota', 'limit', 'synproxy', 'secmark']);
const HOOKS = new Set(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);

export function parseNftText(text: string, options: NftParseOptions = {}): NftParseResult {
  return runSteps(parseNftTextSteps(text, options));
}

export interface NftParseOptions {
  /** Another parse of the same ruleset (e.g. of its other text): objects equal to its are its (share.ts). */
  readonly donor?: NftDonor | undefined;
}

/** `parseNftText`, pausing every so many characters lexed and table items parsed (see steps.ts). */
export function* parseNftTextSteps(text: string, options: NftParseOptions = {}): Steps<NftParseResult> {
  const diags: NftDiagnostic[] = [];
  const lexDiags: NftDiagnostic[] = [];
  const tables = new Map<string, TableB>();
  const intern = leafInterner();
  try {
    // Tokens are lexed as the parse reaches them (and dropped once read): a 60 MB ruleset's are never all held at once.
    // The lexer's own diagnostics come first, as when it lexed the whole text before the parse.
    const c = makeCursor(text, nftTokenizer(text, lexDiags), diags);
    const st: State = { ctx: { c, anonChain: parseAnonChain }, tables, donor: options.donor, intern };
    yield* parseTop(st);
  } catch (e) {
    // a bug, not the input's fault: report it instead of throwing
    diags.push({ line: 1, column: 1, severity: 'error', code: 'internal', message: `parser failure: ${(e as Error).message}` });
  }
  const ruleset = { tables: [...tables.values()].map((t) => freezeTable(t, options.donor, intern)) };
  return { ruleset, diagnostics: [...lexDiags, ...diags, ...checkAddressLiterals(ruleset)] };
}

function freezeTable(t: TableB, donor: NftDonor | undefined, intern: State['intern']): NftTable {
  const key = tableKey(t);
  return {
    ...t,
    // Rules parsed in place already have their position (a copy of each would double them for a moment).
    chains: [...t.chains.values()].map((ch) => ({
      ...ch,
      // The donor's name string: a name sliced from the text would keep the whole text alive.
      name: donor?.chain(key, ch.name)?.name ?? ch.name,
      rules: ch.rules.map((r, i) => (r.position === i + 1 ? r : { ...r, position: i + 1 })),
    })),
    sets: [...t.sets.values()].map((s) => (donor?.set(key, s.name) ? shareSetElements(s, donor, key) : intern(s))),
    objects: t.objects,
    flowtables: t.flowtables,
  };
}

/** After an error: skip to the end of the line, over balanced braces, never past the enclosing `}`. */
function resync(c: Cursor): void {
  let depth = 0;
  for (;;) {
    const t = peek(c);
    if (t.t === 'eof') return;
    if (depth === 0 && (t.t === 'nl' || isPunct(t, ';'))) return;
    if (isPunct(t, '{', '(', '[')) depth++;
    else if (isPunct(t, '}') && depth === 0) return;
    else if (isPunct(t, '}', ')', ']') && depth > 0) depth--;
    next(c);
  }
}

/** Error recovery that always moves on (a stray `)` must not stop the parser in one place). */
function recover(c: Cursor, e: unknown, before: number): void {
  report(c, e);
  resync(c);
  if (c.i === before && peek(c).t !== 'eof' && !isPunct(peek(c), '}')) next(c);
}

function report(c: Cursor, e: unknown): void {
  if (!(e instanceof NftSyntaxError)) throw e;
  error(c, e.tok, 'syntax', e.message);
}

function* parseTop(st: State): Steps<void> {
  const c = st.ctx.c;
  // `nft -f` command files (knftables' `add rule ...`) are one top-level item per rule.
  for (let items = 1; ; items++) {
    if (items % PAUSE_ITEMS === 0) yield;
    skipSeparators(c);
    releaseConsumed(c);
    const t = peek(c);
    if (t.t === 'eof') return;
    const before = c.i;
    try {
      if (t.t === 'handle') next(c);
      else if (isWord(t, 'table')) yield* parseTableBlock(st);
      else if (isWord(t, 'define', 'redefine', 'undefine', 'include')) parseDirective(c);
      else if (t.t === 'word' && VERBS.has(t.v)) parseCommand(st);
      else if (isPunct(t, '}')) fail(t, "unexpected '}': no block is open");
      else fail(t, `expected 'table', a command (add, flush, ...) or 'define', found ${describe(t)}`);
    } catch (e) {
      recover(c, e, before);
      if (isPunct(peek(c), '}')) next(c);
    }
  }
}

function parseDirective(c: Cursor): void {
  const t = next(c);
  if (t.v === 'include') {
    const f = next(c);
    warn(c, t, 'include-unsupported', `include ${f.t === 'str' ? `"${f.v}"` : f.v}: included files are not read; their contents are missing from this ruleset`);
    return;
  }
  const name = next(c);
  if (name.t !== 'word') fail(name, `expected a variable name, found ${describe(name)}`);
  if (t.v === 'undefine') {
    c.defines.delete(name.v);
    return;
  }
  expectPunct(c, '=');
  const value: Token[] = [];
  let depth = 0;
  for (;;) {
    const v = peek(c);
    if (v.t === 'eof') break;
    if (depth === 0 && (v.t === 'nl' || isPunct(v, ';', '}'))) break;
    if (isPunct(v, '{', '(', '[')) depth++;
    else if (isPunct(v, '}', ')', ']')) depth--;
    if (v.t !== 'nl') value.push(v);
    next(c);
  }
  if (value.length === 0) fail(peek(c), `define ${name.v}: expected a value`);
  if (value.length > 100_000) fail(name, `define ${name.v}: value too large (${value.length} tokens)`);
  c.defines.set(name.v, value);
}

function readFamily(c: Cursor): NftFamily {
  const t = peek(c);
  const n = peek(c, 1);
  if (t.t === 'word' && (NFT_FAMILIES as readonly string[]).includes(t.v) && (n.t === 'word' || n.t === 'str')) {
    next(c);
    return t.v as NftFamily;
  }
  return 'ip';
}

const tableKey = (t: Pick<TableB, 'family' | 'name'>): string => `${t.family} ${t.name}`;

function getTable(st: State, family: NftFamily, name: string, tok: Token, create: boolean): TableB {
  const key = `${family} ${name}`;
  let tb = st.tables.get(key);
  if (!tb) {
    if (!create) fail(tok, `table ${family} ${name} does not exist`);
    tb = { family, name, line: tok.line, chains: new Map(), sets: new Map(), objects: [], flowtables: [] };
    st.tables.set(key, tb);
  }
  return tb;
}

function getChain(tb: TableB, name: string, tok: Token, create: boolean): ChainB {
  let ch = tb.chains.get(name);
  if (!ch) {
    if (!create) fail(tok, `chain ${name} does not exist in table ${tb.family} ${tb.name}`);
    ch = { name, line: tok.line, rules: [] };
    tb.chains.set(name, ch);
  }
  return ch;
}

/** Consumes `{` and an optional `# handle N` after it; returns the handle. */
function openBlock(c: Cursor): number | undefined {
  expectPunct(c, '{');
  const h = peek(c);
  if (h.t === 'handle') {
    next(c);
    return Number(h.v);
  }
  return undefined;
}

function* parseTableBlock(st: State): Steps<void> {
  const c = st.ctx.c;
  const kw = next(c);
  const family = readFamily(c);
  const nameTok = peek(c);
  const tb = getTable(st, family, expectName(c, 'a table name'), kw, true);
  const after = peek(c);
  if (after.t === 'nl' || after.t === 'eof' || isPunct(after, ';')) return; // `table inet fw4`: declares it
  const h = openBlock(c);
  if (h !== undefined) tb.handle = h;
  yield* parseTableBody(st, tb, nameTok);
}

/** A pause every this many table items (chains, sets, maps...) lexed and parsed. */
const PAUSE_ITEMS = 64;

/** Declarations up to and including the table's `}`. */
function* parseTableBody(st: State, tb: TableB, open: Token): Steps<void> {
  const c = st.ctx.c;
  for (let items = 1; ; items++) {
    if (items % PAUSE_ITEMS === 0) yield;
    skipSeparators(c);
    const t = peek(c);
    if (t.t === 'eof') {
      error(c, t, 'unterminated-block', `table ${tb.family} ${tb.name} (line ${open.line}): expected '}' before the end of input`);
      return;
    }
    if (isPunct(t, '}')) {
      next(c);
      return;
    }
    releaseConsumed(c);
    const before = c.i;
    try {
      parseTableItem(st, tb, t);
    } catch (e) {
      recover(c, e, before);
    }
  }
}

function parseTableItem(st: State, tb: TableB, t: Token): void {
  const c = st.ctx.c;
  if (t.t === 'handle') {
    next(c);
    return;
  }
  if (t.t !== 'word') fail(t, `expected a declaration (chain, set, map, ...), found ${describe(t)}`);
  switch (t.v) {
    case 'flags': {
      next(c);
      const flags = [expectName(c, 'a table flag')];
      while (isPunct(peek(c), ',')) {
        next(c);
        flags.push(expectName(c, 'a table flag'));
      }
      tb.flags = flags;
      return;
    }
    case 'comment':
      next(c);
      tb.comment = expectName(c, 'a comment string');
      return;
    case 'define':
    case 'redefine':
    case 'undefine':
    case 'include':
      parseDirective(c);
      return;
    case 'chain': {
      next(c);
      const nt = peek(c);
      const ch = getChain(tb, expectName(c, 'a chain name'), nt, true);
      ch.line = t.line;
      if (isPunct(peek(c), '{')) {
        const h = openBlock(c);
        if (h !== undefined) ch.handle = h;
        parseChainBody(st, tb, ch, true);
      }
      return;
    }
    case 'set':
    case 'map': {
      next(c);
      const name = expectName(c, `a ${t.v} name`);
      const h = openBlock(c);
      const set = parseSetBody(st.ctx, t.v, name, t.line);
      tb.sets.set(name, { ...set, ...(h !== undefined ? { handle: h } : {}), elements: [...set.elements] });
      return;
    }
    case 'flowtable':
      next(c);
      tb.flowtables.push(parseFlowtable(c, tb.family, expectName(c, 'a flowtable name'), t));
      return;
    case 'ct': {
      next(c);
      const k = next(c);
      if (!['helper', 'timeout', 'expectation'].includes(k.v)) fail(k, `expected ct helper, ct timeout or ct expectation, found ${describe(k)}`);
      tb.objects.push(parseObjectDecl(st, `ct ${k.v}`, t));
      return;
    }
    default:
      if (OBJECT_KINDS.has(t.v)) {
        next(c);
        tb.objects.push(parseObjectDecl(st, t.v, t));
        return;
      }
      fail(t, `expected a declaration (chain, set, map, flowtable, counter, quota, limit, ct ...), found ${describe(t)}`);
  }
}

function parseObjectDecl(st: State, type: string, kw: Token): NftObject {
  const c = st.ctx.c;
  const name = expectName(c, `a ${type} name`);
  if (!isPunct(peek(c), '{')) return { type, name, line: kw.line, props: {} };
  const handle = openBlock(c);
  const { props, comment } = parseObjectBody(st.ctx, type);
  return { type, name, line: kw.line, ...(handle !== undefined ? { handle } : {}), props, ...(comment !== undefined ? { comment } : {}) };
}

function parseFlowtable(c: Cursor, family: NftFamily, name: string, kw: Token): NftFlowtable {
  const handle = openBlock(c);
  let hook = 'ingress';
  let priority = 0;
  const devices: string[] = [];
  for (;;) {
    skipSeparators(c);
    const t = next(c);
    if (isPunct(t, '}') || t.t === 'eof') break;
    if (isWord(t, 'hook')) hook = next(c).v;
    else if (isWord(t, 'priority')) {
      const text = priorityTokens(c);
      const r = resolvePriority(family, text);
      if ('error' in r) fail(t, r.error);
      priority = r.value;
    } else if (isWord(t, 'devices')) {
      expectPunct(c, '=');
      devices.push(...deviceList(c));
    } else if (t.t === 'handle') continue;
    else resync(c);
  }
  return { name, line: kw.line, ...(handle !== undefined ? { handle } : {}), hook, priority, devices };
}

function deviceList(c: Cursor): string[] {
  if (!isPunct(peek(c), '{')) return [expectName(c, 'a device name')];
  next(c);
  const out: string[] = [];
  for (;;) {
    skipNewlines(c);
    const t = next(c);
    if (isPunct(t, '}')) return out;
    if (isPunct(t, ',')) continue;
    if (t.t !== 'word' && t.t !== 'str') fail(t, `expected a device name, found ${describe(t)}`);
    out.push(t.v);
  }
}

function priorityTokens(c: Cursor): string {
  const parts: string[] = [];
  for (let t = peek(c); t.t === 'word' && !['policy', 'device', 'devices'].includes(t.v); t = peek(c)) parts.push(next(c).v);
  if (parts.length === 0) fail(peek(c), `expected a priority, found ${describe(peek(c))}`);
  return parts.join(' ');
}

/** `type filter hook input [device X] priority filter + 10; policy drop;`, comments, rules; up to `}`. */
function parseChainBody(st: State, tb: TableB, ch: ChainB, rules: boolean): void {
  const c = st.ctx.c;
  for (;;) {
    skipSeparators(c);
    const t = peek(c);
    if (t.t === 'eof') {
      error(c, t, 'unterminated-block', `chain ${ch.name} (line ${ch.line}): expected '}' before the end of input`);
      return;
    }
    if (isPunct(t, '}')) {
      next(c);
      return;
    }
    if (t.t === 'handle') {
      next(c);
      continue;
    }
    if (rules && isWord(t, 'chain', 'set', 'map', 'flowtable') && isPunct(peek(c, 2), '{')) {
      // the chain's `}` went missing (swallowed by a brace left open in a rule): let the table go on
      error(c, t, 'unterminated-block', `chain ${ch.name} (line ${ch.line}): expected '}' before '${t.v} ${peek(c, 1).v}'`);
      return;
    }
    const before = c.i;
    try {
      if (isWord(t, 'type') && (peek(c, 2).v === 'hook' || isWord(peek(c, 1), 'filter', 'nat', 'route'))) parseBaseSpec(c, tb, ch);
      else if (isWord(t, 'policy') && isWord(peek(c, 1), 'accept', 'drop')) {
        next(c);
        const p = next(c).v as 'accept' | 'drop';
        if (!ch.base) fail(t, `chain ${ch.name}: a policy needs a base chain (type ... hook ...)`);
        ch.base = { ...ch.base, policy: p };
      } else if (isWord(t, 'comment') && isChainLevelComment(c)) {
        next(c);
        ch.comment = next(c).v;
      } else if (isWord(t, 'devices', 'device')) {
        next(c);
        if (isPunct(peek(c), '=')) next(c);
        if (!ch.base) fail(t, `chain ${ch.name}: devices need a base chain`);
        ch.base = { ...ch.base, devices: deviceList(c) };
      } else if (isWord(t, 'flags') && isWord(peek(c, 1), 'offload')) {
        warn(c, t, 'chain-flags', 'chain flags are not modelled (hardware offload does not change evaluation)');
        resync(c);
      } else if (!rules) fail(t, `expected a chain option, found ${describe(t)}`);
      else ch.rules.push(keep(st, tb, ch, parseRule(st.ctx, ch.rules.length + 1)));
    } catch (e) {
      recover(c, e, before);
    }
  }
}

/** `comment "x"` alone on its line/clause is the chain's comment; otherwise it is a rule (an error nft would report). */
function isChainLevelComment(c: Cursor): boolean {
  const s = peek(c, 1);
  const e = peek(c, 2);
  return (s.t === 'str' || s.t === 'word') && (e.t === 'nl' || e.t === 'eof' || e.t === 'handle' || isPunct(e, ';', '}'));
}

function parseBaseSpec(c: Cursor, tb: TableB, ch: ChainB): void {
  next(c);
  const type = next(c);
  if (!['filter', 'nat', 'route'].includes(type.v)) fail(type, `expected a chain type (filter, nat, route), found ${describe(type)}`);
  if (!isWord(next(c), 'hook')) fail(tokAt(c, c.i - 1), "expected 'hook'");
  const hook = next(c);
  if (!HOOKS.has(hook.v)) fail(hook, `expected a hook (prerouting, input, forward, output, postrouting, ingress, egress), found ${describe(hook)}`);
  let devices: string[] | undefined;
  let priority: number | undefined;
  let priorityText: string | undefined;
  for (;;) {
    const t = peek(c);
    if (isWord(t, 'device', 'devices')) {
      next(c);
      if (isPunct(peek(c), '=')) next(c);
      devices = deviceList(c);
    } else if (isWord(t, 'priority')) {
      next(c);
      const pt = peek(c);
      const text = priorityTokens(c);
      const r = resolvePriority(tb.family, text);
      if ('error' in r) fail(pt, r.error);
      priority = r.value;
      if (!/^[-+]?\d+$/.test(text)) priorityText = text;
    } else break;
  }
  if (priority === undefined) fail(peek(c), `chain ${ch.name}: expected 'priority', found ${describe(peek(c))}`);
  const base: NftBaseChain = {
    type: type.v as NftBaseChain['type'], hook: hook.v as NftHook, priority, ...(priorityText ? { priorityText } : {}),
    policy: ch.base?.policy ?? 'accept', ...(devices ? { devices } : {}),
  };
  ch.base = base;
}

/** knftables / `nft -f` commands: add|create|insert|replace|delete|flush|list ... */
function parseCommand(st: State): void {
  const c = st.ctx.c;
  const verb = next(c);
  const what = next(c);
  if (what.t !== 'word') fail(what, `expected what to ${verb.v} (table, chain, rule, set, map, element, ...), found ${describe(what)}`);
  if (verb.v === 'list' || verb.v === 'reset') {
    warn(c, verb, 'command-ignored', `'${verb.v} ${what.v}' changes nothing in a ruleset; ignored`);
    resync(c);
    return;
  }
  if (what.v === 'ruleset') {
    if (verb.v === 'flush') st.tables.clear();
    else fail(what, `'${verb.v} ruleset' is not a ruleset change`);
    return;
  }
  const family = readFamily(c);
  const tname = peek(c);
  const create = verb.v === 'add' || verb.v === 'create';
  if (what.v === 'table') {
    const tb = getTable(st, family, expectName(c, 'a table name'), tname, create);
    if (verb.v === 'delete' || verb.v === 'destroy') st.tables.delete(`${family} ${tb.name}`);
    else if (verb.v === 'flush') for (const ch of tb.chains.values()) ch.rules = [];
    else if (isPunct(peek(c), '{')) {
      openBlock(c);
      runSteps(parseTableBody(st, tb, tname));
    }
    return;
  }
  const tb = getTable(st, family, expectName(c, 'a table name'), tname, false);
  const nt = peek(c);
  if (what.v === 'ct') {
    const k = next(c);
    if (create) tb.objects.push(parseObjectDecl(st, `ct ${k.v}`, what));
    else resync(c);
    return;
  }
  if (OBJECT_KINDS.has(what.v)) {
    if (create) tb.objects.push(parseObjectDecl(st, what.v, what));
    else resync(c);
    return;
  }
  const name = expectName(c, `a ${what.v} name`);
  switch (what.v) {
    case 'chain': {
      if (verb.v === 'delete' || verb.v === 'destroy') {
        tb.chains.delete(name);
        return;
      }
      const ch = getChain(tb, name, nt, create);
      if (verb.v === 'flush') ch.rules = [];
      else if (isPunct(peek(c), '{')) {
        openBlock(c);
        parseChainBody(st, tb, ch, false);
      }
      return;
    }
    case 'rule':
      parseRuleCommand(st, tb, getChain(tb, name, nt, false), verb);
      return;
    case 'set':
    case 'map': {
      if (verb.v === 'delete' || verb.v === 'destroy') {
        tb.sets.delete(name);
        return;
      }
      if (verb.v === 'flush') {
        const s = tb.sets.get(name);
        if (!s) fail(nt, `${what.v} ${name} does not exist`);
        s.elements = [];
        return;
      }
      openBlock(c);
      const set = parseSetBody(st.ctx, what.v, name, what.line);
      tb.sets.set(name, { ...set, elements: [...set.elements] });
      return;
    }
    case 'element': {
      const s = tb.sets.get(name);
      if (!s) fail(nt, `set ${name} does not exist in table ${tb.family} ${tb.name}`);
      const elems = parseSetElementsBlock(st.ctx);
      if (verb.v === 'delete' || verb.v === 'destroy') {
        warn(c, verb, 'delete-element', `delete element: the elements are not removed from set ${name} in this model`);
        return;
      }
      s.elements.push(...elems);
      return;
    }
    case 'flowtable':
      if (create) tb.flowtables.push(parseFlowtable(c, tb.family, name, what));
      else resync(c);
      return;
    default:
      fail(what, `expected table, chain, rule, set, map, element, flowtable or an object after '${verb.v}', found ${describe(what)}`);
  }
}

function parseRuleCommand(st: State, tb: TableB, ch: ChainB, verb: Token): void {
  const c = st.ctx.c;
  let anchor: number | undefined;
  if (isWord(peek(c), 'position', 'handle', 'index')) {
    const k = next(c);
    const n = next(c);
    if (!/^\d+$/.test(n.v)) fail(n, `expected a number after '${k.v}'`);
    anchor = Number(n.v);
    if (k.v === 'index') anchor = ch.rules[anchor]?.handle ?? -1;
  }
  if (verb.v === 'delete' || verb.v === 'destroy') {
    ch.rules = ch.rules.filter((r) => r.handle !== anchor);
    return;
  }
  const rule = keep(st, tb, ch, parseRule(st.ctx, ch.rules.length + 1));
  const at = anchor === undefined ? -1 : ch.rules.findIndex((r) => r.handle === anchor);
  if (verb.v === 'insert') ch.rules.splice(at < 0 ? 0 : at, 0, rule);
  else if (verb.v === 'replace' && at >= 0) ch.rules[at] = rule;
  else if (at >= 0) ch.rules.splice(at + 1, 0, rule);
  else ch.rules.push(rule);
}
