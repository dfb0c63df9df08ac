// `nft -j list ruleset` (libnftables JSON, libnftables-json(5)) into the
// model. What the agent collects. Never throws: bad input becomes
// diagnostics with the line and column of the JSON text where possible.
import type {
  NftBaseChain,
  NftChain,
  NftDiagnostic,
  NftElement,
  NftExpr,
  NftFamily,
  NftFlowtable,
  NftHook,
  NftMatchOp,
  NftObject,
  NftParseResult,
  NftRule,
  NftSet,
  NftStmt,
  NftTable,
  NftVerdict,
} from './model.ts';
import { NFT_FAMILIES } from './model.ts';
import { printRule } from './print-stmt.ts';
import { parseNftText } from './syntax/parse.ts';
import { runSteps, type Steps } from '../steps.ts';
import { BITMASK_TYPES, typeOf } from './eval/types.ts';
import { isSpan, notJson, objectLines, parsesAlone, splitItems, type ItemSpan } from './json-text.ts';
import { checkAddressLiterals } from './checks.ts';
import { leafInterner, shareRule, shareSetElements } from './share.ts';
import type { NftParseOptions } from './syntax/parse.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: Json | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The single key of `{"name": value}`, the shape of every libnftables object, expression and statement. */
function single(o: Obj): [string, Json] | undefined {
  const keys = Object.keys(o);
  return keys.length === 1 ? [keys[0]!, o[keys[0]!]!] : undefined;
}

const OBJECT_TYPES = new Set(['counter', 'quota', 'limit', 'ct helper', 'ct timeout', 'ct expectation', 'synproxy', 'secmark']);
const HOOKS = new Set<NftHook>(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);
const PLAIN_VERDICTS = new Set(['accept', 'drop', 'continue', 'return']);

interface MutableTable {
  family: NftFamily;
  name: string;
  handle?: number;
  flags?: string[];
  comment?: string;
  chains: Map<string, { chain: Omit<NftChain, 'rules'>; rules: NftRule[] }>;
  sets: NftSet[];
  objects: NftObject[];
  flowtables: NftFlowtable[];
}

/** Parses libnftables JSON text. */
export function parseNftJson(text: string, options: NftParseOptions = {}): NftParseResult {
  return runSteps(parseNftJsonSteps(text, options));
}

/**
 * `{ ...o, [key]: value }` built key by key: objects built alike share one hidden class, where V8
 * gives each such spread its own (~400 bytes apiece: a 44k-Service ruleset's chains and map
 * elements held over 100 MB of them).
 */
function withKey<T extends object, K extends string, V>(o: T, key: K, value: V): T & { readonly [k in K]: V } {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = o[k as keyof T];
  out[key] = value;
  return out as T & { readonly [k in K]: V };
}

/** Items read between two pauses. */
const PAUSE_ITEMS = 256;

/** `parseNftJson`, pausing every so many items read and characters scanned (see steps.ts). */
export function* parseNftJsonSteps(text: string, options: NftParseOptions = {}): Steps<NftParseResult> {
  const diagnostics: NftDiagnostic[] = [];
  // `nft -j` prints {"nftables": [item, ...]}: split it into items and JSON.parse one item at a
  // time, so that a 30 MB ruleset is never one 0.3 s step; any other layout, or an error, is
  // parsed whole (the error's line and column come from that).
  const split = yield* splitItems(text);
  let items: readonly Json[] | readonly ItemSpan[];
  let lines: readonly number[];
  if (split) {
    items = split;
    lines = split.map((span) => span.line);
  } else {
    let doc: Json;
    try {
      doc = JSON.parse(text) as Json;
    } catch (err) {
      return notJson(text, err as Error);
    }
    const whole = isObj(doc) && Array.isArray(doc['nftables']) ? (doc['nftables'] as Json[]) : undefined;
    if (!whole) {
      diagnostics.push({ line: 1, column: 1, severity: 'error', code: 'not-nftables-json', message: 'expected {"nftables": [...]} as `nft -j list ruleset` prints it' });
      return { ruleset: { tables: [] }, diagnostics };
    }
    items = whole;
    lines = objectLines(text);
  }
  const tables = new Map<string, MutableTable>();
  // Every chain's name once: jumps and gotos to it hold that string, not one parsed copy each.
  const chainNames = new Map<string, string>();
  const intern = leafInterner();
  const tableOf = (o: Obj, at: number): MutableTable | undefined => {
    const family = str(o['family']) as NftFamily | undefined;
    const name = str(o['table']) ?? (o === undefined ? undefined : undefined);
    if (!family || !NFT_FAMILIES.includes(family) || !name) {
      diagnostics.push({ line: lines[at] ?? 1, column: 1, severity: 'error', code: 'bad-table-ref', message: `item ${at + 1}: needs a known "family" and a "table"` });
      return undefined;
    }
    let t = tables.get(`${family} ${name}`);
    if (!t) {
      // Objects listed before their table (or without one): the table exists in the kernel anyway.
      t = { family, name, chains: new Map(), sets: [], objects: [], flowtables: [] };
      tables.set(`${family} ${name}`, t);
    }
    return t;
  };
  const readItem = (item: Json, at: number): void => {
    const line = lines[at] ?? 1;
    const warn = (code: string, message: string): void => void diagnostics.push({ line, column: 1, severity: 'warning', code, message });
    if (!isObj(item)) return warn('bad-item', `item ${at + 1} is not an object`);
    const kv = single(item);
    if (!kv || !isObj(kv[1])) return warn('bad-item', `item ${at + 1} is not {"kind": {...}}`);
    const [kind, o] = kv as [string, Obj];
    switch (kind) {
      case 'metainfo':
        return;
      case 'table': {
        const family = str(o['family']) as NftFamily | undefined;
        const name = str(o['name']);
        if (!family || !NFT_FAMILIES.includes(family) || !name) return warn('bad-table', `table needs a known family and a name`);
        const key = `${family} ${name}`;
        const existing = tables.get(key);
        const t: MutableTable = existing ?? { family, name, chains: new Map(), sets: [], objects: [], flowtables: [] };
        if (num(o['handle']) !== undefined) t.handle = num(o['handle'])!;
        const flags = strings(o['flags']);
        if (flags.length) t.flags = flags;
        if (str(o['comment'])) t.comment = str(o['comment'])!;
        tables.set(key, t);
        return;
      }
      case 'chain': {
        const t = tableOf(o, at);
        const name = str(o['name']);
        if (!t || !name) return;
        const base = baseChainOf(o, t.family, warn);
        // Key by key, not from spreads (see withKey).
        const chain: Mutable<Omit<NftChain, 'rules'>> = { name, line };
        if (num(o['handle']) !== undefined) chain.handle = num(o['handle'])!;
        if (base) chain.base = base;
        if (str(o['comment'])) chain.comment = str(o['comment'])!;
        const existing = t.chains.get(name);
        t.chains.set(name, { chain, rules: existing?.rules ?? [] });
        chainNames.set(name, name);
        return;
      }
      case 'rule': {
        const t = tableOf(o, at);
        const chainName = str(o['chain']);
        if (!t || !chainName) return;
        let entry = t.chains.get(chainName);
        if (!entry) {
          warn('rule-before-chain', `rule for chain ${chainName} of table ${t.family} ${t.name} before (or without) the chain`);
          entry = { chain: { name: chainName }, rules: [] };
          t.chains.set(chainName, entry);
        }
        const exprs = Array.isArray(o['expr']) ? (o['expr'] as Json[]) : [];
        const stmts = exprs.map((s) => readStmt(s, warn));
        internTargets(stmts, chainNames);
        intern(stmts);
        const comment = str(o['comment']);
        entry.rules.push(shareRule({
          position: entry.rules.length + 1,
          stmts,
          line,
          // As `nft list ruleset` prints the rule, so traces read the same whichever form was uploaded.
          raw: printRule({ position: 0, stmts, raw: '', ...(comment !== undefined ? { comment } : {}) }),
          ...(num(o['handle']) !== undefined ? { handle: num(o['handle'])! } : {}),
          ...(str(o['comment']) ? { comment: str(o['comment'])! } : {}),
        }, options.donor, `${t.family} ${t.name}`, chainName, entry.rules.length));
        return;
      }
      case 'set':
      case 'map': {
        const t = tableOf(o, at);
        if (!t) return;
        const s = readSet(kind, o, line, warn);
        if (s) t.sets.push(s);
        return;
      }
      case 'flowtable': {
        const t = tableOf(o, at);
        if (!t || !str(o['name'])) return;
        t.flowtables.push({ name: str(o['name'])!, hook: str(o['hook']) ?? 'ingress', priority: num(o['prio']) ?? 0, devices: strings(o['dev']), line, ...(num(o['handle']) !== undefined ? { handle: num(o['handle'])! } : {}) });
        return;
      }
      case 'element': {
        // `add element` commands: elements of an existing set.
        const t = tableOf(o, at);
        const set = t?.sets.find((s) => s.name === str(o['name']));
        if (!t || !set) return warn('element-without-set', `elements for unknown set ${str(o['name'])}`);
        const extra = readElements(o['elem'], set.kind === 'map', warn);
        t.sets[t.sets.indexOf(set)] = { ...set, elements: [...set.elements, ...extra] };
        return;
      }
      default: {
        if (OBJECT_TYPES.has(kind)) {
          const t = tableOf(o, at);
          if (!t || !str(o['name'])) return;
          const { family: _f, table: _t, name, handle, comment, ...props } = o;
          t.objects.push({ type: kind, name: String(name), props, line, ...(num(handle) !== undefined ? { handle: num(handle)! } : {}), ...(str(comment) ? { comment: str(comment)! } : {}) });
          return;
        }
        return warn('unknown-object', `"${kind}" objects are not known to packetpath; ignored`);
      }
    }
  };
  for (let at = 0; at < items.length; at++) {
    if (at % PAUSE_ITEMS === PAUSE_ITEMS - 1) yield;
    const item = items[at]!;
    if (!isSpan(item)) readItem(item, at);
    else if (parsesAlone(text, item)) {
      readItem(item.value as Json, at);
      // Read into the model: the item's JSON tree is garbage now, not held until the last item (a 200 MB ruleset's trees take about as much heap as its model).
      item.value = undefined;
    } else return notJson(text);
  }
  yield;
  const out: NftTable[] = [...tables.values()].map((t) => ({
    family: t.family,
    name: t.name,
    ...(t.handle !== undefined ? { handle: t.handle } : {}),
    ...(t.flags ? { flags: t.flags } : {}),
    ...(t.comment !== undefined ? { comment: t.comment } : {}),
    chains: [...t.chains.values()].map((c): NftChain => withKey(c.chain, 'rules', c.rules.slice())),
    sets: t.sets.map((set) => shareSetElements(intern(set), options.donor, `${t.family} ${t.name}`)),
    objects: t.objects,
    flowtables: t.flowtables,
  }));
  const ruleset = { tables: out };
  return { ruleset, diagnostics: [...diagnostics, ...checkAddressLiterals(ruleset)] };
}

/** Jump and goto targets (of rules and of verdict maps' elements) as the chain names' own strings. */
function internTargets(stmts: readonly NftStmt[], names: ReadonlyMap<string, string>): void {
  const intern = (v: NftStmt | NftExpr | NftVerdict | undefined): void => {
    if (v?.kind === 'verdict' && 'target' in v) (v as { target: string }).target = names.get(v.target) ?? v.target;
  };
  for (const s of stmts) {
    intern(s);
    if (s.kind === 'vmap' && s.data.kind === 'set') for (const e of s.data.elements) intern(e.data);
  }
}

function strings(v: Json | undefined): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function baseChainOf(o: Obj, family: NftFamily, warn: (code: string, message: string) => void): NftBaseChain | undefined {
  const hook = str(o['hook']) as NftHook | undefined;
  if (!hook) return undefined;
  if (!HOOKS.has(hook)) warn('unknown-hook', `hook "${hook}" is not known`);
  const type = (str(o['type']) ?? 'filter') as NftBaseChain['type'];
  const priority = num(o['prio']) ?? 0;
  const policy = str(o['policy']) === 'drop' ? 'drop' : 'accept';
  const devices = strings(o['dev'] ?? o['devs'] ?? null);
  return { type, hook, priority, policy, ...(devices.length ? { devices } : {}) };
}

function readSet(kind: 'set' | 'map', o: Obj, line: number, warn: (code: string, message: string) => void): NftSet | undefined {
  const name = str(o['name']);
  if (!name) {
    warn('bad-set', `${kind} without a name`);
    return undefined;
  }
  const key = readType(o['type'], warn);
  const data = kind === 'map' ? readType(o['map'], warn) : undefined;
  return {
    kind,
    name,
    line,
    keyType: key.names,
    ...(key.typeof ? { keyTypeof: key.typeof } : {}),
    ...(data ? { dataType: data.names } : {}),
    ...(data?.typeof ? { dataTypeof: data.typeof } : {}),
    flags: strings(o['flags']),
    ...(num(o['handle']) !== undefined ? { handle: num(o['handle'])! } : {}),
    ...(num(o['timeout']) !== undefined ? { timeout: num(o['timeout'])! } : {}),
    ...(num(o['gc-interval']) !== undefined ? { gcInterval: num(o['gc-interval'])! } : {}),
    ...(num(o['size']) !== undefined ? { size: num(o['size'])! } : {}),
    ...(str(o['policy']) ? { policy: str(o['policy'])! } : {}),
    ...(typeof o['auto-merge'] === 'boolean' ? { autoMerge: o['auto-merge'] } : {}),
    ...(str(o['comment']) ? { comment: str(o['comment'])! } : {}),
    elements: readElements(o['elem'], kind === 'map', warn),
  };
}

/** A set's `type`: a name, a list of names (concatenation), or `{"typeof": expr}`. */
function readType(v: Json | undefined, warn: (code: string, message: string) => void): { names: string[]; typeof?: NftExpr[] } {
  if (typeof v === 'string') return { names: [v] };
  if (Array.isArray(v)) return { names: strings(v) };
  if (isObj(v) && v['typeof'] !== undefined) {
    const e = readExpr(v['typeof'], warn);
    return { names: [], typeof: e.kind === 'concat' ? [...e.items] : [e] };
  }
  return { names: [] };
}

function readElements(v: Json | undefined, isMap: boolean, warn: (code: string, message: string) => void): NftElement[] {
  if (!Array.isArray(v)) return [];
  return v.map((e) => readElement(e, isMap, warn));
}

function readElement(e: Json, isMap: boolean, warn: (code: string, message: string) => void): NftElement {
  // Map elements are [key, data]; set elements are the key (perhaps wrapped in {"elem": {...}}).
  if (isMap && Array.isArray(e) && e.length === 2) {
    const key = readElement(e[0]!, false, warn);
    return withKey(key, 'data', readData(e[1]!, warn));
  }
  if (isObj(e) && isObj(e['elem'])) {
    const el = e['elem'];
    return {
      key: readExpr(el['val'] ?? null, warn),
      ...(num(el['timeout']) !== undefined ? { timeout: num(el['timeout'])! } : {}),
      ...(num(el['expires']) !== undefined ? { expires: num(el['expires'])! } : {}),
      ...(str(el['comment']) ? { comment: str(el['comment'])! } : {}),
      ...(isObj(el['counter']) ? { counter: { packets: num(el['counter']['packets']) ?? 0, bytes: num(el['counter']['bytes']) ?? 0 } } : {}),
    };
  }
  return { key: readExpr(e, warn) };
}

/** Map data: a verdict (verdict maps) or a value. */
function readData(v: Json, warn: (code: string, message: string) => void): NftExpr | NftVerdict {
  const verdict = readVerdict(v, warn);
  return verdict ?? readExpr(v, warn);
}

function readVerdict(v: Json, warn: (code: string, message: string) => void): NftVerdict | undefined {
  if (!isObj(v)) return undefined;
  const kv = single(v);
  if (!kv) return undefined;
  const [k, body] = kv;
  if (PLAIN_VERDICTS.has(k)) return { kind: 'verdict', verdict: k as 'accept' };
  if (k === 'jump' || k === 'goto') {
    const target = isObj(body) ? str(body['target']) : undefined;
    if (!target) {
      warn('bad-verdict', `${k} without a target`);
      return { kind: 'verdict', verdict: k, target: '' };
    }
    return { kind: 'verdict', verdict: k, target };
  }
  return undefined;
}

const BINOPS = new Set(['&', '|', '^', '<<', '>>']);

/** One libnftables expression. */
export function readExpr(v: Json, warn: (code: string, message: string) => void): NftExpr {
  if (typeof v === 'string') return v.startsWith('@') ? { kind: 'setRef', name: v.slice(1) } : { kind: 'literal', value: v };
  if (typeof v === 'number' || typeof v === 'boolean') return { kind: 'literal', value: v };
  if (Array.isArray(v)) return { kind: 'set', elements: v.map((e) => readElement(e, false, warn)) };
  if (!isObj(v)) return unknown(v, warn);
  const kv = single(v);
  if (!kv) return unknown(v, warn);
  const [k, b] = kv;
  const o = isObj(b) ? b : ({} as Obj);
  switch (k) {
    case 'payload':
      if (str(o['protocol'])) return { kind: 'payload', protocol: str(o['protocol'])!, field: str(o['field']) ?? '' };
      return { kind: 'rawPayload', base: (str(o['base']) ?? 'nh') as 'nh', offset: num(o['offset']) ?? 0, len: num(o['len']) ?? 0 };
    case 'meta':
      return { kind: 'meta', key: str(o['key']) ?? '' };
    case 'ct':
      return {
        kind: 'ct',
        key: str(o['key']) ?? '',
        ...(str(o['dir']) ? { dir: str(o['dir']) as 'original' } : {}),
        ...(str(o['family']) ? { family: str(o['family']) as 'ip' } : {}),
      };
    case 'fib':
      return { kind: 'fib', result: str(o['result']) ?? '', flags: strings(o['flags']) };
    case 'numgen':
      return { kind: 'numgen', mode: str(o['mode']) === 'inc' ? 'inc' : 'random', mod: num(o['mod']) ?? 1, offset: num(o['offset']) ?? 0 };
    case 'jhash':
    case 'symhash':
      return {
        kind: 'hash',
        fn: k,
        mod: num(o['mod']) ?? 1,
        offset: num(o['offset']) ?? 0,
        ...(o['expr'] !== undefined ? { expr: readExpr(o['expr']!, warn) } : {}),
        ...(num(o['seed']) !== undefined ? { seed: num(o['seed'])! } : {}),
      };
    case 'rt':
      return { kind: 'rt', key: str(o['key']) ?? '', ...(str(o['family']) ? { family: str(o['family'])! } : {}) };
    case 'exthdr':
      return { kind: 'exthdr', name: str(o['name']) ?? '', ...(str(o['field']) ? { field: str(o['field'])! } : {}), ...(num(o['offset']) !== undefined ? { offset: num(o['offset'])! } : {}) };
    case 'tcp option':
      return { kind: 'tcpOption', name: str(o['name']) ?? '', ...(str(o['field']) ? { field: str(o['field'])! } : {}) };
    case 'socket':
      return { kind: 'socket', key: str(o['key']) ?? '' };
    case 'osf':
      return { kind: 'osf', key: str(o['key']) ?? 'name', ...(str(o['ttl']) ? { ttl: str(o['ttl'])! } : {}) };
    case 'ipsec':
      return { kind: 'ipsec', key: str(o['key']) ?? '', dir: str(o['dir']) ?? 'in', ...(str(o['family']) ? { family: str(o['family'])! } : {}), ...(num(o['spnum']) !== undefined ? { spnum: num(o['spnum'])! } : {}) };
    case 'concat':
      return { kind: 'concat', items: Array.isArray(b) ? b.map((x) => readExpr(x, warn)) : [] };
    case 'set':
      return { kind: 'set', elements: Array.isArray(b) ? b.map((e) => readElement(e, Array.isArray(e) && e.length === 2, warn)) : b === null ? [] : [readElement(b, false, warn)] };
    case 'prefix':
      return { kind: 'prefix', addr: readExpr(o['addr'] ?? null, warn), len: num(o['len']) ?? 0 };
    case 'range':
      return Array.isArray(b) && b.length === 2 ? { kind: 'range', from: readExpr(b[0]!, warn), to: readExpr(b[1]!, warn) } : unknown(v, warn);
    case 'map':
      return { kind: 'map', key: readExpr(o['key'] ?? null, warn), data: readExpr(o['data'] ?? null, warn) };
    case 'elem':
      return {
        kind: 'elem',
        value: readExpr(o['val'] ?? null, warn),
        ...(num(o['timeout']) !== undefined ? { timeout: num(o['timeout'])! } : {}),
        ...(num(o['expires']) !== undefined ? { expires: num(o['expires'])! } : {}),
        ...(str(o['comment']) ? { comment: str(o['comment'])! } : {}),
      };
    default:
      if (BINOPS.has(k) && Array.isArray(b) && b.length === 2) return { kind: 'binop', op: k as '&', left: readExpr(b[0]!, warn), right: readExpr(b[1]!, warn) };
      // Flag lists in matches: {"|": ["syn", "ack"]} with more than two operands.
      if (k === '|' && Array.isArray(b)) return { kind: 'flags', values: strings(b) };
      return unknown(v, warn);
  }
}

function unknown(v: Json, warn: (code: string, message: string) => void): NftExpr {
  const text = JSON.stringify(v);
  warn('unknown-expression', `expression ${text.length > 80 ? text.slice(0, 77) + '...' : text} is not known to packetpath`);
  return { kind: 'unknown', text };
}

const NAT_TYPES = new Set(['snat', 'dnat', 'masquerade', 'redirect']);

/** One libnftables statement. */
export function readStmt(v: Json, warn: (code: string, message: string) => void): NftStmt {
  // nft 1.0.x writes an anonymous chain binding (`jump { ... }`) into JSON as its text.
  if (typeof v === 'string' && /^(jump|goto)\s*\{/.test(v)) {
    // Read it with the text parser, inside a scratch chain.
    const parsed = parseNftText(`table inet scratch {\n\tchain c {\n\t\t${v}\n\t}\n}\n`);
    const st = parsed.ruleset.tables[0]?.chains[0]?.rules[0]?.stmts[0];
    if (st && st.kind === 'verdict' && 'chain' in st && !parsed.diagnostics.some((d) => d.severity === 'error')) return st;
    warn('anonymous-chain-text', 'an anonymous chain (`jump { ... }`) is in the JSON only as text, and that text could not be read; its rules are not simulated');
    return { kind: 'unknown', text: v };
  }
  const verdict = readVerdict(v, warn);
  if (verdict) return verdict;
  if (!isObj(v)) return unknownStmt(v, warn);
  const kv = single(v);
  if (!kv) return unknownStmt(v, warn);
  const [k, b] = kv;
  const o = isObj(b) ? b : ({} as Obj);
  switch (k) {
    case 'match': {
      const op = (str(o['op']) ?? '==') as NftMatchOp;
      return bitSetMatch({ kind: 'match', op, left: readExpr(o['left'] ?? null, warn), right: readExpr(o['right'] ?? null, warn) }, o);
    }
    case 'counter':
      if (typeof b === 'string') return { kind: 'counter', name: b };
      return { kind: 'counter', ...(num(o['packets']) !== undefined ? { packets: num(o['packets'])! } : {}), ...(num(o['bytes']) !== undefined ? { bytes: num(o['bytes'])! } : {}) };
    case 'vmap':
      return { kind: 'vmap', key: readExpr(o['key'] ?? null, warn), data: readVmapData(o['data'] ?? null, warn) };
    case 'mangle':
      return { kind: 'mangle', key: readExpr(o['key'] ?? null, warn), value: readExpr(o['value'] ?? null, warn) };
    case 'queue':
      return { kind: 'queue', ...(o['num'] !== undefined ? { num: readExpr(o['num']!, warn) } : {}), flags: strings(o['flags']) };
    case 'notrack':
      return { kind: 'notrack' };
    case 'reject':
      return { kind: 'reject', ...(str(o['type']) ? { type: str(o['type']) as 'icmp' } : {}), ...(str(o['expr']) ? { code: str(o['expr'])! } : {}) };
    case 'log':
      return { kind: 'log', props: o };
    case 'limit':
      if (typeof b === 'string') return { kind: 'limit', rate: 0, per: '', over: false, name: b };
      return {
        kind: 'limit',
        rate: num(o['rate']) ?? 0,
        per: str(o['per']) ?? 'second',
        ...(str(o['rate_unit']) ? { unit: str(o['rate_unit'])! } : {}),
        // nft -j spells out a packet rate's default burst (5), which `nft list` leaves out
        ...(num(o['burst']) !== undefined && !(num(o['burst']) === 5 && str(o['rate_unit']) === undefined) ? { burst: num(o['burst'])! } : {}),
        over: o['inv'] === true,
      };
    case 'quota':
      if (typeof b === 'string') return { kind: 'quota', bytes: 0, over: false, name: b };
      return { kind: 'quota', bytes: quotaBytes(num(o['val']) ?? 0, str(o['val_unit'])), ...(num(o['used']) !== undefined ? { used: quotaBytes(num(o['used'])!, str(o['used_unit'])) } : {}), over: o['inv'] === true };
    case 'set':
    case 'map': {
      const op = str(o['op']);
      const set = (str(o['set']) ?? str(o['map']) ?? '').replace(/^@/, '');
      const stmts = Array.isArray(o['stmt']) ? (o['stmt'] as Json[]).map((s) => readStmt(s, warn)) : undefined;
      if (op === 'add' || op === 'update' || op === 'delete') return { kind: 'setUpdate', op, set, elem: readExpr(o['elem'] ?? null, warn), ...(stmts ? { stmts } : {}) };
      return unknownStmt(v, warn);
    }
    case 'ct helper':
      return { kind: 'ctHelper', helper: readExpr(b, warn) };
    case 'ct timeout':
      return { kind: 'ctTimeout', value: readExpr(b, warn) };
    case 'ct expectation':
      return { kind: 'ctExpectation', value: readExpr(b, warn) };
    case 'synproxy':
      return { kind: 'synproxy', value: typeof b === 'string' ? b : JSON.stringify(b) };
    case 'secmark':
      return { kind: 'secmark', value: typeof b === 'string' ? b : JSON.stringify(b) };
    case 'flow':
      return { kind: 'flowOffload', flowtable: (str(o['flowtable']) ?? '').replace(/^@/, '') };
    case 'dup':
    case 'fwd':
      return { kind: k, ...(o['addr'] !== undefined ? { addr: readExpr(o['addr']!, warn) } : {}), ...(o['dev'] !== undefined ? { dev: readExpr(o['dev']!, warn) } : {}) };
    case 'xt':
      return { kind: 'xt', type: (str(o['type']) ?? 'match') as 'match', name: str(o['name']) ?? '' };
    default:
      if (NAT_TYPES.has(k)) {
        const family = str(o['family']);
        const typeFlags = strings(o['type_flags']);
        return {
          kind: 'nat',
          type: k as 'dnat',
          ...(family === 'ip' || family === 'ip6' ? { family } : {}),
          ...(o['addr'] !== undefined ? { addr: readExpr(o['addr']!, warn) } : {}),
          ...(o['port'] !== undefined ? { port: readExpr(o['port']!, warn) } : {}),
          ...(typeFlags.includes('addr') && typeFlags.includes('port') ? { typeAddrPort: true } : {}),
          ...(typeFlags.includes('prefix') ? { typePrefix: true } : {}),
          flags: strings(o['flags']),
        };
      }
      return unknownStmt(v, warn);
  }
}

/** A vmap's data: `@map` or an anonymous map of verdicts. */
function readVmapData(v: Json, warn: (code: string, message: string) => void): NftExpr {
  if (typeof v === 'string') return { kind: 'setRef', name: v.replace(/^@/, '') };
  if (isObj(v) && Array.isArray(v['set'])) {
    return { kind: 'set', elements: (v['set'] as Json[]).map((e) => readElement(e, true, warn)) };
  }
  return readExpr(v, warn);
}

const QUOTA_UNITS: Readonly<Record<string, number>> = { bytes: 1, kbytes: 1024, mbytes: 1024 ** 2, gbytes: 1024 ** 3 };
const quotaBytes = (n: number, unit: string | undefined): number => n * (QUOTA_UNITS[unit ?? 'bytes'] ?? 1);

function unknownStmt(v: Json, warn: (code: string, message: string) => void): NftStmt {
  const text = JSON.stringify(v);
  warn('unknown-statement', `statement ${text.length > 80 ? text.slice(0, 77) + '...' : text} is not known to packetpath`);
  return { kind: 'unknown', text };
}

/** A bare JSON array of names (not a `{"set": ...}`) as nft's text writes a bit set's names (`syn,ack`), or null. */
function flagsOf(e: NftExpr, raw: Json | undefined): NftExpr | null {
  if (!Array.isArray(raw) || e.kind !== 'set' || !e.elements.length || !e.elements.every((el) => el.key.kind === 'literal' && typeof el.key.value === 'string' && el.data === undefined)) return null;
  return { kind: 'flags', values: e.elements.map((el) => String((el.key as { value: string }).value)) };
}

const isBitSet = (e: NftExpr): boolean => BITMASK_TYPES.has(typeOf(e));

/**
 * JSON writes a bit set's names as an array (`"right": ["established", "related"]`
 * with `in` or `==`; `{"&": [{"payload": "tcp flags"}, ["fin", "syn"]]}`) where
 * `nft list` prints, and the text parser reads, a flag list (`ct state
 * established,related`, `tcp flags fin,syn / fin,syn`): the same kernel
 * expression, read into the same model.
 */
function bitSetMatch(m: Extract<NftStmt, { kind: 'match' }>, raw: Obj): NftStmt {
  const { left, right } = m;
  if (left.kind === 'binop' && left.op === '&' && isBitSet(left.left)) {
    const rawLeft = isObj(raw['left']) ? raw['left']['&'] : undefined;
    const mask = flagsOf(left.right, Array.isArray(rawLeft) ? rawLeft[1] : undefined);
    const value = flagsOf(right, raw['right']);
    return { ...m, left: mask ? { ...left, right: mask } : left, right: value ?? right };
  }
  if (!isBitSet(left)) return m;
  const flags = flagsOf(right, raw['right']);
  return flags && (m.op === 'in' || m.op === '==') ? { kind: 'match', op: 'implicit', left, right: flags } : m;
}
