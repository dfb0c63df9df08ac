// Rules and their statements: matches, verdicts, counters, log, limit,
// quota, NAT, reject, set updates... Anything else is kept verbatim as an
// `unknown` statement with a warning, never dropped.
import type { NftChain, NftExpr, NftMatchOp, NftRule, NftStmt } from '../model.ts';
import { type Cursor, NftSyntaxError, describe, error, expectPunct, fail, failBroken, isPunct, isWord, next, peek, skipNewlines, skipSeparators, sourceOf, tokAt, warn } from './cursor.ts';
import { type ExprCtx, literalWord, parseElementOptions, parseExpr, parsePrimary, parseVerdict } from './expr.ts';
import type { Token } from './lexer.ts';
import { STMT_WORDS, byteUnit } from './vocab.ts';

const OPS: Readonly<Record<string, NftMatchOp>> = {
  '==': '==', '!=': '!=', '<': '<', '>': '>', '<=': '<=', '>=': '>=', eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=',
};
const NAT_FLAGS = new Set(['random', 'fully-random', 'persistent', 'netmap']);
const LOG_KEYS = new Set(['prefix', 'level', 'group', 'snaplen', 'queue-threshold', 'flags']);
const UNSUPPORTED = new Set(['meter', 'tproxy', 'last']);

/** Token index just past a rule that starts at the cursor: the end of its line, a `;` or the chain's `}`. */
function ruleEnd(c: Cursor): { end: number; handle?: number } {
  const open: Token[] = [];
  for (let k = 0; ; k++) {
    const t = peek(c, k);
    if (t.t === 'eof') return { end: c.i + k };
    const depth = open.length;
    if (depth === 0 && (t.t === 'nl' || isPunct(t, ';', '}'))) return { end: c.i + k };
    if (depth === 0 && t.t === 'handle') return { end: c.i + k, handle: Number(t.v) };
    // a brace left open in a rule would swallow the file: a `chain`/`table` line ends it
    if (depth > 0 && t.t === 'nl' && isWord(peek(c, k + 1), 'chain', 'table')) {
      const o = open[open.length - 1]!;
      error(c, o, 'unclosed-bracket', `'${o.v}' opened here is never closed`);
      return { end: c.i + k };
    }
    if (isPunct(t, '{', '(', '[')) open.push(t);
    else if (isPunct(t, '}', ')', ']') && depth > 0) open.pop();
  }
}

/**
 * `... counter packets 0 bytes 0 # CHECKSUM fill`: nft lists an iptables-nft
 * action it cannot show as a comment, so the rule as read lacks it. Say so.
 */
function warnTrailingComment(c: Cursor, last: Token): void {
  const eol = c.src.indexOf('\n', last.end);
  const rest = c.src.slice(last.end, eol < 0 ? c.src.length : eol);
  const m = /^(\s*)#(.*)$/.exec(rest);
  if (!m || /^\s*handle\s+\d+\s*$/.test(m[2]!)) return;
  const col = last.col + (last.end - last.start) + m[1]!.length;
  c.diags.push({
    line: last.line, column: col, severity: 'warning', code: 'trailing-comment',
    message: `comment after a rule: "#${m[2]}" (nft prints iptables-nft actions it cannot show this way; the rule as read lacks that action)`,
  });
}

/** One rule from the cursor; the cursor ends after it (and its `# handle N`). */
export function parseRule(ctx: ExprCtx, position: number): NftRule {
  const c = ctx.c;
  const start = c.i;
  const first = peek(c);
  const { end, handle } = ruleEnd(c);
  const outer = c.limit;
  c.limit = end;
  const stmts: NftStmt[] = [];
  let comment: string | undefined;
  while (peek(c).t !== 'eof') {
    const at = c.i;
    try {
      const s = parseStmt(ctx);
      if (s === 'comment') {
        comment = next(c).v;
      } else stmts.push(s);
    } catch (e) {
      if (!(e instanceof NftSyntaxError)) throw e;
      const text = sourceOf(c, at, end);
      if (e.broken) error(c, e.tok, 'syntax', `${e.message}; kept verbatim as an unknown statement: ${text}`);
      else warn(c, e.tok, 'unknown-syntax', `${e.message}; kept verbatim as an unknown statement: ${text}`);
      stmts.push({ kind: 'unknown', text });
      c.i = end;
    }
  }
  c.limit = outer;
  const raw = sourceOf(c, start, end);
  if (handle === undefined && end > start) warnTrailingComment(c, tokAt(c, end - 1));
  if (handle !== undefined) c.i = end + 1;
  return { position, line: first.line, ...(handle !== undefined ? { handle } : {}), stmts, ...(comment !== undefined ? { comment } : {}), raw };
}

/** The rules of `jump { ... }` up to its `}` (the `{` is consumed). */
export function parseAnonChain(ctx: ExprCtx, open: Token): NftChain {
  const c = ctx.c;
  const rules: NftRule[] = [];
  for (;;) {
    skipSeparators(c);
    const t = peek(c);
    if (isPunct(t, '}')) {
      next(c);
      return { name: '', line: open.line, rules };
    }
    if (t.t === 'handle') {
      next(c);
      continue;
    }
    if (t.t === 'eof') failBroken(t, "unterminated anonymous chain: expected '}'");
    rules.push(parseRule(ctx, rules.length + 1));
  }
}

function num(c: Cursor, what: string): number {
  const t = next(c);
  if (t.t !== 'word' || !/^(?:\d+|0x[0-9a-f]+)$/i.test(t.v)) fail(t, `expected a number for ${what}, found ${describe(t)}`);
  return Number(t.v);
}

/** A statement, or 'comment' when a rule comment follows (its string is the next token). */
function parseStmt(ctx: ExprCtx): NftStmt | 'comment' {
  const c = ctx.c;
  const t = peek(c);
  const w = t.t === 'word' ? t.v : '';
  const v = parseVerdict(ctx);
  if (v) return v;
  if (UNSUPPORTED.has(w)) fail(t, `'${w}' statements are not supported by packetpath`);
  switch (w) {
    case 'comment': {
      next(c);
      const s = peek(c);
      if (s.t !== 'str' && s.t !== 'word') fail(s, `expected a comment string, found ${describe(s)}`);
      return 'comment';
    }
    case 'counter':
      return parseCounter(c);
    case 'notrack':
      next(c);
      return { kind: 'notrack' };
    case 'log':
      return parseLog(c);
    case 'limit':
      return parseLimit(c);
    case 'quota':
      return parseQuota(c);
    case 'reject':
      return parseReject(c);
    case 'queue':
      return parseQueue(ctx);
    case 'snat':
    case 'dnat':
    case 'masquerade':
    case 'redirect':
      return parseNat(ctx);
    case 'add':
    case 'update':
    case 'delete':
      if (isPunct(peek(c, 1), '@')) return parseSetUpdate(ctx);
      break;
    case 'set':
      return parseOldSetUpdate(ctx);
    case 'flow': {
      next(c);
      const k = next(c);
      if (k.v !== 'offload' && k.v !== 'add') fail(k, `flow: expected 'add' or 'offload', found ${describe(k)}`);
      expectPunct(c, '@');
      return { kind: 'flowOffload', flowtable: next(c).v };
    }
    case 'synproxy':
      return parseSynproxy(ctx);
    case 'dup':
    case 'fwd':
      return parseDupFwd(ctx);
    case 'xt': {
      next(c);
      const k = next(c);
      if (k.v !== 'match' && k.v !== 'target' && k.v !== 'watcher') fail(k, `xt: expected match or target, found ${describe(k)}`);
      const name = next(c);
      return { kind: 'xt', type: k.v, name: name.v };
    }
    default:
      break;
  }
  return parseExprStmt(ctx);
}

/** What may stand left of a comparison or `set`: something read from the packet or its metadata. */
function isSelector(e: NftExpr): boolean {
  switch (e.kind) {
    case 'concat':
      return e.items.every(isSelector);
    case 'binop':
      return isSelector(e.left);
    case 'map':
      return isSelector(e.key);
    case 'literal':
    case 'set':
    case 'setRef':
    case 'prefix':
    case 'range':
    case 'flags':
    case 'elem':
    case 'unknown':
      return false;
    default:
      return true;
  }
}

function parseExprStmt(ctx: ExprCtx): NftStmt {
  const c = ctx.c;
  const first = peek(c);
  const left = parseExpr(ctx);
  // `ip option ra exists`: a word packetpath does not know would otherwise read as a constant
  if (!isSelector(left)) fail(first, `unknown statement or selector starting at ${describe(first)}`);
  const t = peek(c);
  if (isWord(t, 'vmap')) {
    next(c);
    return { kind: 'vmap', key: left, data: parsePrimary(ctx, {}) };
  }
  if (isWord(t, 'set')) {
    next(c);
    const value = parseExpr(ctx);
    if (left.kind === 'ct' && left.key === 'helper' && !left.dir) return { kind: 'ctHelper', helper: value };
    if (left.kind === 'ct' && left.key === 'timeout' && !left.dir) return { kind: 'ctTimeout', value };
    if (left.kind === 'ct' && left.key === 'expectation' && !left.dir) return { kind: 'ctExpectation', value };
    return { kind: 'mangle', key: left, value };
  }
  let op: NftMatchOp = 'implicit';
  if ((t.t === 'punct' || t.t === 'word') && Object.hasOwn(OPS, t.v)) {
    op = OPS[t.v]!;
    next(c);
  } else if (t.t === 'eof' || (t.t === 'word' && ['accept', 'drop', 'counter', 'jump', 'goto', 'return', 'log', 'comment'].includes(t.v))) {
    fail(t, `expected a value to compare with, found ${describe(t)}`);
  }
  const right = parseExpr(ctx);
  // `tcp flags syn / syn,fin,rst`: the mask form of `tcp flags & (syn | fin | rst) == syn`
  if ((op === 'implicit' || op === '==' || op === '!=') && isWord(peek(c), '/')) {
    next(c);
    const mask = parseExpr(ctx);
    return { kind: 'match', op: op === '!=' ? '!=' : '==', left: { kind: 'binop', op: '&', left, right: mask }, right };
  }
  return { kind: 'match', op, left, right };
}

function parseCounter(c: Cursor): NftStmt {
  next(c);
  return parseCounterArgs(c);
}

export function parseCounterArgs(c: Cursor): Extract<NftStmt, { kind: 'counter' }> {
  if (isWord(peek(c), 'name')) {
    next(c);
    return { kind: 'counter', name: objectName(c, 'counter') };
  }
  if (isWord(peek(c), 'packets')) {
    next(c);
    const packets = num(c, 'packets');
    if (!isWord(next(c), 'bytes')) fail(tokAt(c, c.i - 1), "counter: expected 'bytes'");
    return { kind: 'counter', packets, bytes: num(c, 'bytes') };
  }
  return { kind: 'counter' };
}

function parseLog(c: Cursor): NftStmt {
  next(c);
  const props: Record<string, unknown> = {};
  while (isWord(peek(c)) && LOG_KEYS.has(peek(c).v)) {
    const k = next(c).v;
    if (k === 'flags') {
      let f = '';
      for (let t = peek(c); (t.t === 'word' && !LOG_KEYS.has(t.v) && !STMT_WORDS.has(t.v)) || isPunct(t, ','); t = peek(c)) {
        next(c);
        f += t.t === 'punct' ? ',' : `${f && !f.endsWith(',') ? ' ' : ''}${t.v}`;
      }
      props['flags'] = [...((props['flags'] as string[] | undefined) ?? []), f];
    } else {
      const v = next(c);
      if (v.t !== 'word' && v.t !== 'str') fail(v, `log ${k}: expected a value, found ${describe(v)}`);
      props[k] = /^\d+$/.test(v.v) && v.t === 'word' ? Number(v.v) : v.v;
    }
  }
  return { kind: 'log', props };
}

function parseLimit(c: Cursor): NftStmt {
  next(c);
  return parseLimitArgs(c);
}

/** What follows `limit` (also the body of a named limit object). */
export function parseLimitArgs(c: Cursor): Extract<NftStmt, { kind: 'limit' }> {
  if (isWord(peek(c), 'name')) {
    next(c);
    return { kind: 'limit', rate: 0, per: 'second', over: false, name: objectName(c, 'limit') };
  }
  if (!isWord(next(c), 'rate')) fail(tokAt(c, c.i - 1), "limit: expected 'rate'");
  let over = false;
  if (isWord(peek(c), 'over', 'until')) over = next(c).v === 'over';
  const r = next(c);
  let rate: number;
  let unit: string | undefined;
  let per: string;
  const m = /^(\d+)\/(\w+)$/.exec(r.v);
  if (m) {
    rate = Number(m[1]);
    per = m[2]!;
  } else {
    if (!/^\d+$/.test(r.v)) fail(r, `limit: expected a rate (10/second, 1 mbytes/second), found ${describe(r)}`);
    rate = Number(r.v);
    const u = next(c);
    const um = /^(\w+)\/(\w+)$/.exec(u.v);
    if (!um || byteUnit(um[1]!) === undefined) fail(u, `limit: expected a unit like kbytes/second, found ${describe(u)}`);
    unit = um[1]!;
    per = um[2]!;
  }
  let burst: number | undefined;
  if (isWord(peek(c), 'burst')) {
    next(c);
    burst = num(c, 'burst');
    const bu = peek(c);
    if (isWord(bu, 'packets')) next(c);
    else if (bu.t === 'word' && byteUnit(bu.v) !== undefined) burst *= byteUnit(next(c).v)!;
  }
  return { kind: 'limit', rate, per, ...(unit ? { unit } : {}), ...(burst !== undefined ? { burst } : {}), over };
}

function bytesOf(c: Cursor, what: string): number {
  const n = num(c, what);
  const u = next(c);
  const f = byteUnit(u.v);
  if (f === undefined) fail(u, `${what}: expected bytes, kbytes, mbytes or gbytes, found ${describe(u)}`);
  return n * f;
}

function parseQuota(c: Cursor): NftStmt {
  next(c);
  return parseQuotaArgs(c);
}

/** What follows `quota` (also the body of a named quota object). */
export function parseQuotaArgs(c: Cursor): Extract<NftStmt, { kind: 'quota' }> {
  if (isWord(peek(c), 'name')) {
    next(c);
    return { kind: 'quota', bytes: 0, over: false, name: objectName(c, 'quota') };
  }
  let over = false;
  if (isWord(peek(c), 'over', 'until')) over = next(c).v === 'over';
  const bytes = bytesOf(c, 'quota');
  let used: number | undefined;
  if (isWord(peek(c), 'used')) {
    next(c);
    used = bytesOf(c, 'quota used');
  }
  return { kind: 'quota', bytes, over, ...(used !== undefined ? { used } : {}) };
}

function parseReject(c: Cursor): NftStmt {
  next(c);
  if (!isWord(peek(c), 'with')) return { kind: 'reject' };
  next(c);
  const k = next(c);
  if (k.v === 'tcp') {
    if (!isWord(next(c), 'reset')) fail(tokAt(c, c.i - 1), "reject with tcp: expected 'reset'");
    return { kind: 'reject', type: 'tcp reset' };
  }
  if (k.v !== 'icmp' && k.v !== 'icmpv6' && k.v !== 'icmpx') fail(k, `reject with: expected tcp, icmp, icmpv6 or icmpx, found ${describe(k)}`);
  if (isWord(peek(c), 'type')) next(c);
  const code = next(c);
  if (code.t !== 'word') fail(code, `reject with ${k.v}: expected a code, found ${describe(code)}`);
  return { kind: 'reject', type: k.v, code: code.v };
}

function parseQueue(ctx: ExprCtx): NftStmt {
  const c = ctx.c;
  next(c);
  const flags: string[] = [];
  let numExpr: NftExpr | undefined;
  for (;;) {
    const t = peek(c);
    if (isWord(t, 'num', 'to')) {
      next(c);
      numExpr = parsePrimary(ctx, {});
    } else if (isWord(t, 'flags')) {
      next(c);
    } else if (isWord(t, 'bypass', 'fanout')) {
      flags.push(next(c).v);
    } else if (isPunct(t, ',') && flags.length > 0) {
      next(c);
    } else break;
  }
  return { kind: 'queue', ...(numExpr ? { num: numExpr } : {}), flags };
}

function parseNatTarget(ctx: ExprCtx, portOnly: boolean): { addr?: NftExpr; port?: NftExpr } {
  const c = ctx.c;
  const t = peek(c);
  if (isPunct(t, ':')) {
    next(c);
    return { port: parseExpr(ctx) };
  }
  if (portOnly) return { port: parseExpr(ctx) };
  let addr: NftExpr;
  if (isPunct(t, '[')) {
    next(c);
    const a = next(c);
    if (a.t !== 'word') fail(a, `expected an IPv6 address after '[', found ${describe(a)}`);
    expectPunct(c, ']');
    addr = literalWord(a.v);
    if (isWord(peek(c), '-') && isPunct(peek(c, 1), '[')) {
      c.i += 2;
      const b = next(c);
      if (b.t !== 'word') fail(b, `expected an IPv6 address after '[', found ${describe(b)}`);
      expectPunct(c, ']');
      addr = { kind: 'range', from: addr, to: literalWord(b.v) };
    }
  } else {
    const m = t.t === 'word' ? /^(\d[\d.]*(?:-\d[\d.]*)?):([^:]+)$/.exec(t.v) : null;
    if (m) {
      next(c);
      return { addr: literalWord(m[1]!), port: literalWord(m[2]!) };
    }
    addr = parseExpr(ctx);
  }
  if (isPunct(peek(c), ':')) {
    next(c);
    return { addr, port: parseExpr(ctx) };
  }
  return { addr };
}

function parseNat(ctx: ExprCtx): NftStmt {
  const c = ctx.c;
  const type = next(c).v as 'snat' | 'dnat' | 'masquerade' | 'redirect';
  let family: 'ip' | 'ip6' | undefined;
  let typeAddrPort = false;
  let typePrefix = false;
  const n0 = peek(c);
  if (isWord(n0, 'ip', 'ip6') && isWord(peek(c, 1), 'to', 'addr', 'prefix')) {
    family = n0.v as 'ip' | 'ip6';
    next(c);
  }
  if (isWord(peek(c), 'addr') && isPunct(peek(c, 1), '.') && isWord(peek(c, 2), 'port')) {
    c.i += 3;
    typeAddrPort = true;
  } else if (isWord(peek(c), 'prefix')) {
    next(c);
    typePrefix = true;
  }
  let target: { addr?: NftExpr; port?: NftExpr } = {};
  const t = peek(c);
  const portOnly = type === 'redirect' || type === 'masquerade';
  if (isWord(t, 'to')) {
    next(c);
    target = parseNatTarget(ctx, portOnly);
  } else if ((type === 'snat' || type === 'dnat') && t.t !== 'eof' && !(t.t === 'word' && (NAT_FLAGS.has(t.v) || ['counter', 'comment', 'accept', 'log'].includes(t.v)))) {
    target = parseNatTarget(ctx, false); // fw4 shorthand: `dnat 192.0.2.1:22`
  }
  const flags: string[] = [];
  for (;;) {
    const f = peek(c);
    if (f.t === 'word' && NAT_FLAGS.has(f.v)) flags.push(next(c).v);
    else if (isPunct(f, ',') && flags.length > 0) next(c);
    else break;
  }
  return {
    kind: 'nat', type, ...(family ? { family } : {}), ...target,
    ...(typeAddrPort ? { typeAddrPort } : {}), ...(typePrefix ? { typePrefix } : {}), flags,
  };
}

function parseSetUpdate(ctx: ExprCtx): NftStmt {
  const c = ctx.c;
  const op = next(c).v as 'add' | 'update' | 'delete';
  expectPunct(c, '@');
  const set = next(c).v;
  expectPunct(c, '{');
  skipNewlines(c);
  const value = parseExpr(ctx, { noMap: true });
  const el: { timeout?: number; expires?: number; comment?: string; counter?: { packets: number; bytes: number } } = {};
  parseElementOptions(ctx, el, false);
  const stmts: NftStmt[] = [];
  for (skipNewlines(c); !isPunct(peek(c), '}'); skipNewlines(c)) {
    if (peek(c).t === 'eof') fail(peek(c), `${op} @${set}: expected '}'`);
    const s = parseStmt(ctx);
    if (s === 'comment') fail(peek(c), 'comment inside a set statement');
    stmts.push(s);
  }
  next(c);
  const hasOpts = el.timeout !== undefined || el.expires !== undefined || el.comment !== undefined;
  const elem: NftExpr = hasOpts ? { kind: 'elem', value, ...(el.timeout !== undefined ? { timeout: el.timeout } : {}), ...(el.expires !== undefined ? { expires: el.expires } : {}), ...(el.comment !== undefined ? { comment: el.comment } : {}) } : value;
  return { kind: 'setUpdate', op, set, elem, ...(stmts.length ? { stmts } : {}) };
}

/** The old form `set add ip saddr timeout 10s @s`. */
function parseOldSetUpdate(ctx: ExprCtx): NftStmt {
  const c = ctx.c;
  next(c);
  const op = next(c);
  if (op.v !== 'add' && op.v !== 'update' && op.v !== 'delete') fail(op, `set: expected add, update or delete, found ${describe(op)}`);
  const value = parseExpr(ctx, { noMap: true });
  const el: { timeout?: number; expires?: number; comment?: string } = {};
  parseElementOptions(ctx, el);
  expectPunct(c, '@');
  const set = next(c).v;
  const elem: NftExpr = el.timeout !== undefined ? { kind: 'elem', value, timeout: el.timeout } : value;
  return { kind: 'setUpdate', op: op.v, set, elem };
}

function parseSynproxy(ctx: ExprCtx): NftStmt {
  const c = ctx.c;
  next(c);
  if (isWord(peek(c), 'name')) {
    next(c);
    return { kind: 'synproxy', value: parseExpr(ctx) };
  }
  const words: string[] = [];
  for (let t = peek(c); isWord(t, 'mss', 'wscale', 'timestamp', 'sack-perm'); t = peek(c)) {
    next(c);
    words.push(t.v);
    if (t.v === 'mss' || t.v === 'wscale') words.push(String(num(c, t.v)));
  }
  return { kind: 'synproxy', value: words.join(' ') };
}

/** `counter name "x"`: the model holds a fixed name; one chosen per packet by a map is not modelled. */
function objectName(c: Cursor, what: string): string {
  const n = next(c);
  if (n.t !== 'str' && n.t !== 'word') fail(n, `${what} name: expected a name, found ${describe(n)}`);
  const after = peek(c);
  if (isPunct(after, '.') || isWord(after, 'map')) fail(after, `${what} name chosen by a map is not supported by packetpath`);
  if (n.t === 'word' && /^(meta|ip|ip6|tcp|udp|th|ct|iifname|oifname)$/.test(n.v) && peek(c).t === 'word') fail(n, `${what} name chosen by a map is not supported by packetpath`);
  return n.v;
}

function parseDupFwd(ctx: ExprCtx): NftStmt {
  const c = ctx.c;
  const kind = next(c).v as 'dup' | 'fwd';
  if (isWord(peek(c), 'ip', 'ip6')) fail(peek(c), `${kind} with an address family is not supported by packetpath`);
  if (!isWord(next(c), 'to')) fail(tokAt(c, c.i - 1), `${kind}: expected 'to'`);
  const first = parsePrimary(ctx, {});
  if (isWord(peek(c), 'device')) {
    next(c);
    return { kind, addr: first, dev: parsePrimary(ctx, {}) };
  }
  return { kind, dev: first };
}
