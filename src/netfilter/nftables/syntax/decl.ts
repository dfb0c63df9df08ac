// Set/map declarations and stateful object bodies (counter, quota, limit,
// ct helper/timeout/expectation, synproxy, secmark).
import type { NftElement, NftExpr, NftSet } from '../model.ts';
import { type Cursor, describe, expectName, expectPunct, fail, isPunct, isWord, next, peek, skipNewlines, skipSeparators, sourceOf, warn } from './cursor.ts';
import { type ExprCtx, parseConcat, parseSetElements } from './expr.ts';
import { parseCounterArgs, parseLimitArgs, parseQuotaArgs } from './stmt.ts';
import { OBJECT_TYPES, parseDuration } from './vocab.ts';

function isEnd(c: Cursor): boolean {
  const t = peek(c);
  return t.t === 'nl' || t.t === 'eof' || isPunct(t, ';', '}');
}

/** `ipv4_addr . inet_service` → components, up to the end of the clause or `:`. */
function typeWords(c: Cursor): string[] {
  const parts: string[] = [];
  let cur: string[] = [];
  for (;;) {
    const t = peek(c);
    if (isEnd(c) || isPunct(t, ':')) break;
    next(c);
    if (isPunct(t, '.')) {
      parts.push(cur.join(' '));
      cur = [];
    } else if (t.t === 'word') cur.push(t.v);
    else fail(t, `expected a data type, found ${describe(t)}`);
  }
  if (cur.length) parts.push(cur.join(' '));
  if (parts.length === 0 || parts.some((p) => !p)) fail(peek(c), 'expected a data type');
  return parts;
}

function concatItems(e: NftExpr): NftExpr[] {
  return e.kind === 'concat' ? [...e.items] : [e];
}

/** The body of `set NAME {` / `map NAME {` up to its `}` (the `{` consumed). */
export function parseSetBody(ctx: ExprCtx, kind: 'set' | 'map', name: string, line: number): NftSet {
  const c = ctx.c;
  const s: {
    kind: 'set' | 'map'; name: string; line: number; keyType: string[]; keyTypeof?: NftExpr[]; dataType?: string[]; dataTypeof?: NftExpr[];
    dataInterval?: boolean; flags: string[]; timeout?: number; gcInterval?: number; size?: number; policy?: string; autoMerge?: boolean; counter?: boolean;
    comment?: string; elements: NftElement[];
  } = { kind, name, line, keyType: [], flags: [], elements: [] };
  for (;;) {
    skipSeparators(c);
    const t = next(c);
    if (isPunct(t, '}')) break;
    if (t.t === 'eof') fail(t, `${kind} ${name}: expected '}' before the end of input`);
    if (t.t === 'handle') continue;
    switch (t.v) {
      case 'type':
      case 'typeof': {
        if (t.v === 'type') s.keyType = typeWords(c);
        else s.keyTypeof = concatItems(parseConcat(ctx, {}));
        if (isPunct(peek(c), ':')) {
          next(c);
          if (isWord(peek(c), 'interval')) {
            next(c);
            s.dataInterval = true;
          }
          const w = peek(c).v;
          const two = `${w} ${peek(c, 1).v}`;
          if (t.v === 'type' || OBJECT_TYPES.has(w) || OBJECT_TYPES.has(two)) s.dataType = typeWords(c);
          else s.dataTypeof = concatItems(parseConcat(ctx, {}));
        }
        break;
      }
      case 'flags':
        s.flags = [expectName(c, 'a set flag')];
        while (isPunct(peek(c), ',')) {
          next(c);
          s.flags.push(expectName(c, 'a set flag'));
        }
        break;
      case 'timeout':
      case 'gc-interval': {
        const v = next(c);
        const d = parseDuration(v.v);
        if (d === undefined) fail(v, `expected a duration after '${t.v}', found ${describe(v)}`);
        if (t.v === 'timeout') s.timeout = d;
        else s.gcInterval = d;
        break;
      }
      case 'size': {
        const v = next(c);
        if (!/^\d+$/.test(v.v)) fail(v, `expected a number after 'size', found ${describe(v)}`);
        s.size = Number(v.v);
        break;
      }
      case 'policy':
        s.policy = expectName(c, 'a set policy (performance, memory)');
        break;
      case 'auto-merge':
        s.autoMerge = true;
        break;
      case 'comment':
        s.comment = expectName(c, 'a comment string');
        break;
      case 'counter':
        s.counter = true;
        break;
      case 'elements':
        expectPunct(c, '=');
        s.elements.push(...parseSetElementsBlock(ctx));
        break;
      default:
        fail(t, `${kind} ${name}: expected type, typeof, flags, timeout, size, policy, comment or elements, found ${describe(t)}`);
    }
    if (!isEnd(c)) fail(peek(c), `${kind} ${name}: expected the end of the '${t.v}' clause, found ${describe(peek(c))}`);
  }
  if (s.keyType.length === 0 && !s.keyTypeof) warn(c, { ...peek(c), line, col: 1 }, 'set-without-type', `${kind} ${name} has no type`);
  return s;
}

/** `{ elem, elem : data, ... }` including both braces. */
export function parseSetElementsBlock(ctx: ExprCtx): NftElement[] {
  skipNewlines(ctx.c);
  expectPunct(ctx.c, '{');
  return parseSetElements(ctx);
}

const OBJECT_FLAGS = new Set(['timestamp', 'sack-perm']);

/** A named object's settings up to its `}` (the `{` consumed). */
export function parseObjectBody(ctx: ExprCtx, type: string): { props: Record<string, unknown>; comment?: string } {
  const c = ctx.c;
  const props: Record<string, unknown> = {};
  let comment: string | undefined;
  for (;;) {
    skipSeparators(c);
    const t = peek(c);
    if (isPunct(t, '}')) {
      next(c);
      break;
    }
    if (t.t === 'eof') fail(t, `${type}: expected '}' before the end of input`);
    if (isWord(t, 'comment')) {
      next(c);
      comment = expectName(c, 'a comment string');
      continue;
    }
    if (type === 'counter' || type === 'quota' || type === 'limit') {
      const { kind: _k, ...rest } = type === 'counter' ? parseCounterArgs(c) : type === 'quota' ? parseQuotaArgs(c) : parseLimitArgs(c);
      Object.assign(props, rest);
      continue;
    }
    if (type === 'secmark' && t.t === 'str') {
      next(c);
      props['context'] = `"${t.v}"`;
      continue;
    }
    const k = next(c);
    if (k.t !== 'word') fail(k, `${type}: expected a setting, found ${describe(k)}`);
    if (OBJECT_FLAGS.has(k.v)) {
      props[k.v] = true;
      continue;
    }
    if (isPunct(peek(c), '=')) {
      next(c);
      const from = c.i;
      skipGroup(c);
      props[k.v] = sourceOf(c, from, c.i);
      continue;
    }
    const v = next(c);
    if (v.t !== 'word' && v.t !== 'str') fail(v, `${type} ${k.v}: expected a value, found ${describe(v)}`);
    props[k.v] = v.t === 'str' ? `"${v.v}"` : /^\d+$/.test(v.v) ? Number(v.v) : v.v;
  }
  return { props, ...(comment !== undefined ? { comment } : {}) };
}

function skipGroup(c: Cursor): void {
  const t = next(c);
  if (!isPunct(t, '{')) return;
  let depth = 1;
  while (depth > 0) {
    const u = next(c);
    if (u.t === 'eof') fail(u, "expected '}'");
    if (isPunct(u, '{')) depth++;
    else if (isPunct(u, '}')) depth--;
  }
}
