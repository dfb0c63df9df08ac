// Expressions of nft's rule language: selectors (payload, meta, ct, fib,
// numgen, hashes...), constants, prefixes, ranges, binops, concatenations,
// anonymous sets and maps.
import type { NftChain, NftElement, NftExpr, NftVerdict } from '../model.ts';
import { type Cursor, describe, expectPunct, fail, failBroken, isPunct, isWord, next, peek, skipNewlines, tokAt } from './cursor.ts';
import type { Token } from './lexer.ts';
import { BARE_META, CT_DIRS, CT_KEYS, EXTHDR_FIELDS, PAYLOAD_FIELDS, STMT_WORDS, parseDuration } from './vocab.ts';

export interface ExprCtx {
  readonly c: Cursor;
  /** Parses the body of an anonymous chain `jump { ... }` (the `{` already consumed). */
  readonly anonChain: (ctx: ExprCtx, open: Token) => NftChain;
}

export interface ExprOpts {
  /** Inside `{ ... }`: commas separate elements, newlines are blanks. */
  readonly inSet?: boolean;
  /** Do not take `map` (set-statement keys, typeof). */
  readonly noMap?: boolean;
}

const BINOPS: Readonly<Record<string, '&' | '|' | '^' | '<<' | '>>'>> = {
  '&': '&', '|': '|', '^': '^', '<<': '<<', '>>': '>>', and: '&', or: '|', xor: '^', lshift: '<<', rshift: '>>',
};

export function parseExpr(ctx: ExprCtx, opts: ExprOpts = {}): NftExpr {
  const key = parseConcat(ctx, opts);
  const t = peek(ctx.c);
  if (!opts.noMap && isWord(t, 'map')) {
    next(ctx.c);
    return { kind: 'map', key, data: parseMapData(ctx) };
  }
  return key;
}

function parseMapData(ctx: ExprCtx): NftExpr {
  const t = peek(ctx.c);
  if (isPunct(t, '@')) return parsePrimary(ctx, {});
  if (isPunct(t, '{')) return parsePrimary(ctx, {});
  return fail(t, `expected @map or { ... } after 'map', found ${describe(t)}`);
}

export function parseConcat(ctx: ExprCtx, opts: ExprOpts): NftExpr {
  const items = [parseBinop(ctx, opts)];
  while (isPunct(peekIn(ctx, opts), '.')) {
    skipIn(ctx, opts);
    next(ctx.c);
    skipIn(ctx, opts);
    items.push(parseBinop(ctx, opts));
  }
  return items.length === 1 ? items[0]! : { kind: 'concat', items };
}

function peekIn(ctx: ExprCtx, opts: ExprOpts): Token {
  if (!opts.inSet) return peek(ctx.c);
  let k = 0;
  while (peek(ctx.c, k).t === 'nl') k++;
  return peek(ctx.c, k);
}

function skipIn(ctx: ExprCtx, opts: ExprOpts): void {
  if (opts.inSet) skipNewlines(ctx.c);
}

function parseBinop(ctx: ExprCtx, opts: ExprOpts): NftExpr {
  let left = parseList(ctx, opts);
  for (;;) {
    const t = peek(ctx.c);
    const op = (t.t === 'punct' || t.t === 'word') && Object.hasOwn(BINOPS, t.v) ? BINOPS[t.v] : undefined;
    if (!op) return left;
    next(ctx.c);
    left = { kind: 'binop', op, left, right: parseList(ctx, opts) };
  }
}

/** `new,untracked` / `syn,ack`: a comma list outside braces is a flag list. */
function parseList(ctx: ExprCtx, opts: ExprOpts): NftExpr {
  const first = parsePrimary(ctx, opts);
  if (opts.inSet || !isPunct(peek(ctx.c), ',') || first.kind !== 'literal') return first;
  const values = [String(first.value)];
  while (isPunct(peek(ctx.c), ',')) {
    next(ctx.c);
    const t = next(ctx.c);
    if (t.t !== 'word') fail(t, `expected a flag name after ',', found ${describe(t)}`);
    values.push(t.v);
  }
  return { kind: 'flags', values };
}

const NUM = /^(?:\d+|0x[0-9a-fA-F]+)$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/;

/** A constant word: numbers become numbers; prefixes and ranges of addresses/numbers become structure. */
export function literalWord(w: string): NftExpr {
  if (/^\d+$/.test(w) && w.length < 16) return { kind: 'literal', value: Number(w) };
  if (/^0x[0-9a-fA-F]+$/.test(w) && w.length < 15) return { kind: 'literal', value: Number.parseInt(w, 16) };
  const slash = w.lastIndexOf('/');
  if (slash > 0 && /^\d{1,3}$/.test(w.slice(slash + 1))) {
    const addr = w.slice(0, slash);
    if (IPV4.test(addr) || IPV6.test(addr)) return { kind: 'prefix', addr: { kind: 'literal', value: addr }, len: Number(w.slice(slash + 1)) };
  }
  const dash = w.indexOf('-', 1);
  if (dash > 0) {
    const a = w.slice(0, dash);
    const b = w.slice(dash + 1);
    const same = (re: RegExp): boolean => re.test(a) && re.test(b);
    if (same(NUM) || same(IPV4) || (same(IPV6) && a.includes(':') && b.includes(':'))) {
      return { kind: 'range', from: literalWord(a), to: literalWord(b) };
    }
  }
  return { kind: 'literal', value: w };
}

function isField(proto: string, t: Token): boolean {
  return t.t === 'word' && (PAYLOAD_FIELDS[proto]?.includes(t.v) ?? false);
}

function numberAfter(ctx: ExprCtx, word: string): number {
  const t = next(ctx.c);
  if (t.t !== 'word' || !NUM.test(t.v)) fail(t, `expected a number after '${word}', found ${describe(t)}`);
  return Number(t.v);
}

export function parsePrimary(ctx: ExprCtx, opts: ExprOpts): NftExpr {
  const c = ctx.c;
  const t = peek(c);
  let e: NftExpr;
  if (isPunct(t, '(')) {
    next(c);
    skipNewlines(c);
    e = parseExpr(ctx, { ...opts, inSet: false });
    skipNewlines(c);
    expectPunct(c, ')');
  } else if (isPunct(t, '{')) {
    next(c);
    e = { kind: 'set', elements: parseSetElements(ctx) };
  } else if (isPunct(t, '@')) {
    next(c);
    const n = next(c);
    if (n.t !== 'word' && n.t !== 'str') fail(n, `expected a set name after '@', found ${describe(n)}`);
    e = { kind: 'setRef', name: n.v };
  } else if (t.t === 'rawp') {
    next(c);
    const [base, off, len] = t.v.split(',');
    e = { kind: 'rawPayload', base: base as 'll' | 'nh' | 'th' | 'ih', offset: Number(off), len: Number(len) };
  } else if (t.t === 'str') {
    next(c);
    e = { kind: 'literal', value: `"${t.v}"` };
  } else if (t.t === 'word') {
    e = parseWordExpr(ctx, t);
  } else {
    return fail(t, `expected an expression, found ${describe(t)}`);
  }
  // `"21:51:23"-"23:51:23"`: a range written as two adjacent constants
  const d = peek(c);
  if (isWord(d, '-') && !d.sp && (e.kind === 'literal' || e.kind === 'prefix')) {
    next(c);
    const to = parsePrimary(ctx, opts);
    return { kind: 'range', from: e, to };
  }
  return e;
}

function parseWordExpr(ctx: ExprCtx, t: Token): NftExpr {
  const c = ctx.c;
  const w = t.v;
  const n1 = peek(c, 1);
  if (PAYLOAD_FIELDS[w] && isField(w, n1)) {
    next(c);
    next(c);
    return { kind: 'payload', protocol: w, field: n1.v };
  }
  if (w === 'tcp' && isWord(n1, 'option')) {
    next(c);
    next(c);
    const name = next(c);
    if (name.t !== 'word') fail(name, `expected a TCP option name, found ${describe(name)}`);
    const f = peek(c);
    if (f.t === 'word' && !STMT_WORDS.has(f.v) && ['size', 'kind', 'length', 'count', 'left', 'right', 'tsval', 'tsecr', 'value'].includes(f.v)) {
      next(c);
      return { kind: 'tcpOption', name: name.v, field: f.v };
    }
    return { kind: 'tcpOption', name: name.v };
  }
  if (EXTHDR_FIELDS[w]?.includes(n1.v) && n1.t === 'word') {
    next(c);
    next(c);
    return { kind: 'exthdr', name: w, field: n1.v };
  }
  if (w === 'exthdr' && n1.t === 'word' && EXTHDR_FIELDS[n1.v]) {
    next(c);
    next(c);
    return { kind: 'exthdr', name: n1.v };
  }
  if (w === 'meta' && n1.t === 'word') {
    next(c);
    next(c);
    return { kind: 'meta', key: n1.v };
  }
  if (BARE_META.has(w)) {
    next(c);
    return { kind: 'meta', key: w };
  }
  if (w === 'ct' && n1.t === 'word') {
    next(c);
    let dir: 'original' | 'reply' | undefined;
    let family: 'ip' | 'ip6' | undefined;
    let k = next(c);
    if (CT_DIRS.has(k.v)) {
      dir = k.v as 'original' | 'reply';
      k = next(c);
    }
    if (k.v === 'ip' || k.v === 'ip6') {
      family = k.v;
      k = next(c);
    }
    if (k.t !== 'word' || !CT_KEYS.has(k.v)) fail(k, `expected a ct key, found ${describe(k)}`);
    return { kind: 'ct', key: k.v, ...(dir ? { dir } : {}), ...(family ? { family } : {}) };
  }
  if (w === 'fib') {
    next(c);
    const flags: string[] = [];
    for (;;) {
      const f = next(c);
      if (f.t !== 'word') fail(f, `expected fib flags (saddr, daddr, mark, iif, oif), found ${describe(f)}`);
      flags.push(f.v);
      if (!isPunct(peek(c), '.')) break;
      next(c);
    }
    const r = next(c);
    if (!['oif', 'oifname', 'type'].includes(r.v)) fail(r, `fib: expected a result (oif, oifname, type), found ${describe(r)}`);
    return { kind: 'fib', result: r.v, flags };
  }
  if (w === 'numgen') {
    next(c);
    const mode = next(c);
    if (mode.v !== 'random' && mode.v !== 'inc') fail(mode, `numgen: expected random or inc, found ${describe(mode)}`);
    if (!isWord(next(c), 'mod')) fail(tokAt(c, c.i - 1), "numgen: expected 'mod'");
    const mod = numberAfter(ctx, 'mod');
    let offset = 0;
    if (isWord(peek(c), 'offset')) {
      next(c);
      offset = numberAfter(ctx, 'offset');
    }
    return { kind: 'numgen', mode: mode.v, mod, offset };
  }
  if (w === 'jhash' || w === 'symhash') {
    next(c);
    const expr = w === 'jhash' ? parseConcat(ctx, {}) : undefined;
    if (!isWord(next(c), 'mod')) fail(tokAt(c, c.i - 1), `${w}: expected 'mod'`);
    const mod = numberAfter(ctx, 'mod');
    let seed: number | undefined;
    let offset = 0;
    for (;;) {
      if (isWord(peek(c), 'seed')) {
        next(c);
        seed = numberAfter(ctx, 'seed');
      } else if (isWord(peek(c), 'offset')) {
        next(c);
        offset = numberAfter(ctx, 'offset');
      } else break;
    }
    return { kind: 'hash', fn: w, ...(expr ? { expr } : {}), mod, ...(seed !== undefined ? { seed } : {}), offset };
  }
  if (w === 'rt' && n1.t === 'word') {
    next(c);
    let k = next(c);
    let family: string | undefined;
    if (k.v === 'ip' || k.v === 'ip6') {
      family = k.v;
      k = next(c);
    }
    return { kind: 'rt', key: k.v, ...(family ? { family } : {}) };
  }
  if (w === 'socket' && n1.t === 'word') {
    next(c);
    next(c);
    if (n1.v === 'cgroupv2') {
      if (!isWord(next(c), 'level')) fail(tokAt(c, c.i - 1), "socket cgroupv2: expected 'level'");
      return { kind: 'socket', key: `cgroupv2 level ${numberAfter(ctx, 'level')}` };
    }
    return { kind: 'socket', key: n1.v };
  }
  if (w === 'osf') {
    next(c);
    let ttl: string | undefined;
    if (isWord(peek(c), 'ttl')) {
      next(c);
      ttl = next(c).v;
    }
    const k = next(c);
    if (k.v !== 'name' && k.v !== 'version') fail(k, `osf: expected name or version, found ${describe(k)}`);
    return { kind: 'osf', key: k.v, ...(ttl ? { ttl } : {}) };
  }
  if (w === 'ipsec' && (n1.v === 'in' || n1.v === 'out')) {
    next(c);
    next(c);
    let spnum: number | undefined;
    let family: string | undefined;
    if (isWord(peek(c), 'spnum')) {
      next(c);
      spnum = numberAfter(ctx, 'spnum');
    }
    let k = next(c);
    if (k.v === 'ip' || k.v === 'ip6') {
      family = k.v;
      k = next(c);
    }
    return { kind: 'ipsec', key: k.v, dir: n1.v, ...(family ? { family } : {}), ...(spnum !== undefined ? { spnum } : {}) };
  }
  // `ct status dnat` is a constant; a verdict or counter where a value belongs is not
  if (['accept', 'drop', 'jump', 'goto', 'return', 'continue', 'counter', 'log', 'comment', 'vmap', 'map'].includes(w)) {
    fail(t, `expected an expression, found statement keyword '${w}'`);
  }
  next(c);
  return literalWord(w);
}

/** Elements of `{ ... }` up to and including `}`; map data after `:`, per-element options. */
export function parseSetElements(ctx: ExprCtx): NftElement[] {
  const c = ctx.c;
  const out: NftElement[] = [];
  for (;;) {
    skipNewlines(c);
    const t = peek(c);
    if (isPunct(t, '}')) {
      next(c);
      return out;
    }
    if (t.t === 'eof') failBroken(t, "unterminated set: expected '}'");
    out.push(parseElement(ctx));
    skipNewlines(c);
    const sep = peek(c);
    if (isPunct(sep, ',')) next(c);
    else if (!isPunct(sep, '}')) failBroken(sep, `expected ',' or '}' in a set, found ${describe(sep)}`);
  }
}

function parseElement(ctx: ExprCtx): NftElement {
  const c = ctx.c;
  const key = parseExpr(ctx, { inSet: true });
  const el: { key: NftExpr; data?: NftExpr | NftVerdict; timeout?: number; expires?: number; comment?: string; counter?: { packets: number; bytes: number } } = { key };
  parseElementOptions(ctx, el);
  if (isPunct(peekNl(c), ':')) {
    skipNewlines(c);
    next(c);
    skipNewlines(c);
    el.data = parseData(ctx);
    parseElementOptions(ctx, el);
  }
  return el;
}

function peekNl(c: Cursor): Token {
  let k = 0;
  while (peek(c, k).t === 'nl') k++;
  return peek(c, k);
}

export function parseElementOptions(
  ctx: ExprCtx,
  el: { timeout?: number; expires?: number; comment?: string; counter?: { packets: number; bytes: number } },
  /** false in set statements, where `counter` is a statement of its own */
  counters = true,
): void {
  const c = ctx.c;
  for (;;) {
    const t = peek(c);
    if (isWord(t, 'timeout', 'expires')) {
      next(c);
      const v = next(c);
      const s = parseDuration(v.v);
      if (s === undefined) fail(v, `expected a duration (10s, 1h, 1d2h) after '${t.v}', found ${describe(v)}`);
      el[t.v as 'timeout' | 'expires'] = s;
    } else if (isWord(t, 'comment')) {
      next(c);
      const v = next(c);
      if (v.t !== 'str' && v.t !== 'word') fail(v, `expected a comment string, found ${describe(v)}`);
      el.comment = v.v;
    } else if (counters && isWord(t, 'counter')) {
      next(c);
      let packets = 0;
      let bytes = 0;
      if (isWord(peek(c), 'packets')) {
        next(c);
        packets = numberAfter(ctx, 'packets');
        if (!isWord(next(c), 'bytes')) fail(tokAt(c, c.i - 1), "counter: expected 'bytes'");
        bytes = numberAfter(ctx, 'bytes');
      }
      el.counter = { packets, bytes };
    } else return;
  }
}

/** Map data: a verdict (`accept`, `goto chain`, `jump { ... }`) or an expression. */
export function parseData(ctx: ExprCtx): NftExpr | NftVerdict {
  const v = parseVerdict(ctx);
  return v ?? parseExpr(ctx, { inSet: true });
}

export function parseVerdict(ctx: ExprCtx): NftVerdict | undefined {
  const c = ctx.c;
  const t = peek(c);
  if (t.t !== 'word') return undefined;
  if (['accept', 'drop', 'continue', 'return'].includes(t.v)) {
    next(c);
    return { kind: 'verdict', verdict: t.v as 'accept' | 'drop' | 'continue' | 'return' };
  }
  if (t.v === 'jump' || t.v === 'goto') {
    next(c);
    const target = next(c);
    if (isPunct(target, '{')) {
      const chain = ctx.anonChain(ctx, target);
      return { kind: 'verdict', verdict: t.v, target: chain.name, chain };
    }
    if (target.t !== 'word' && target.t !== 'str') fail(target, `expected a chain name after '${t.v}', found ${describe(target)}`);
    return { kind: 'verdict', verdict: t.v, target: target.v };
  }
  return undefined;
}
