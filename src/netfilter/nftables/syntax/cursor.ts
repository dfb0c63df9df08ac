// A token cursor over lexed nft text: `$var` expansion of `define`d values,
// a bound (one rule's tokens), and the parse error that aborts a construct.
import type { NftDiagnostic } from '../model.ts';
import type { Token } from './lexer.ts';

export interface Cursor {
  readonly src: string;
  /** The tokens from index `base` on that are lexed so far (`lex` adds more as they are peeked at; `releaseConsumed` drops those before the current one). */
  readonly toks: Token[];
  base: number;
  readonly lex: (out: Token[], want: number) => boolean;
  /** Index of the current token (counting the dropped ones). */
  i: number;
  /** Exclusive upper bound of what may be consumed (a rule's extent); tokens past it read as eof. */
  limit: number;
  readonly defines: Map<string, Token[]>;
  readonly diags: NftDiagnostic[];
}

/**
 * A parse failure at a token; caught where the parser can resume (rule,
 * statement, block). Not an Error: it never leaves the parser, and capturing
 * a stack trace per failure was a fifth of the time on broken input.
 */
export class NftSyntaxError {
  constructor(
    readonly message: string,
    readonly tok: Token,
    /** Broken structure (a bracket or separator missing), not merely syntax packetpath does not know. */
    readonly broken = false,
  ) {}
}

export function makeCursor(src: string, lex: (out: Token[], want: number) => boolean, diags: NftDiagnostic[]): Cursor {
  return { src, toks: [], base: 0, lex, i: 0, limit: Number.MAX_SAFE_INTEGER, defines: new Map(), diags };
}

/** Drops the tokens before the current one: call where a construct starts that never looks back past itself (a table item, a top-level command). */
export function releaseConsumed(c: Cursor): void {
  if (c.i <= c.base) return;
  c.toks.splice(0, Math.min(c.i - c.base, c.toks.length));
  c.base = c.i;
}

/** The token at index `at` (lexed, not dropped). */
export const tokAt = (c: Cursor, at: number): Token => c.toks[at - c.base]!;

function eofAt(c: Cursor, at: number): Token {
  const last = c.toks[Math.min(at - c.base, c.toks.length - 1)]!;
  return { t: 'eof', v: '', line: last.line, col: last.col, start: last.start, end: last.start, sp: true };
}

/** Replaces a `$name` token by the tokens of its definition (positions of the use site). */
function expand(c: Cursor, at: number): void {
  for (let guard = 0; guard < 64 && c.toks[at - c.base]?.t === 'var'; guard++) {
    const v = c.toks[at - c.base]!;
    const def = c.defines.get(v.v);
    if (!def) {
      c.diags.push({ line: v.line, column: v.col, severity: 'error', code: 'undefined-variable', message: `$${v.v} is not defined` });
      c.toks[at - c.base] = { ...v, t: 'word', v: `$${v.v}` };
      return;
    }
    const repl = def.map((d, k) => ({ ...d, line: v.line, col: v.col, start: v.start, end: v.end, sp: k === 0 ? v.sp : d.sp }));
    c.toks.splice(at - c.base, 1, ...repl);
    if (c.limit !== Number.MAX_SAFE_INTEGER && at < c.limit) c.limit += repl.length - 1;
  }
}

export function peek(c: Cursor, k = 0): Token {
  const at = c.i + k;
  if (at - c.base >= c.toks.length) c.lex(c.toks, at - c.base);
  if (at >= c.limit || at - c.base >= c.toks.length) return eofAt(c, at);
  expand(c, at);
  if (at >= c.limit) return eofAt(c, at);
  return c.toks[at - c.base]!;
}

export function next(c: Cursor): Token {
  const t = peek(c);
  if (t.t !== 'eof') c.i++;
  return t;
}

export function isWord(t: Token, ...words: string[]): boolean {
  return t.t === 'word' && (words.length === 0 || words.includes(t.v));
}

export function isPunct(t: Token, ...p: string[]): boolean {
  return t.t === 'punct' && p.includes(t.v);
}

export function fail(t: Token, message: string): never {
  throw new NftSyntaxError(message, t);
}

/** A structural error: an error diagnostic even inside a rule. */
export function failBroken(t: Token, message: string): never {
  throw new NftSyntaxError(message, t, true);
}

export function describe(t: Token): string {
  if (t.t === 'eof') return 'end of input';
  if (t.t === 'nl') return 'end of line';
  if (t.t === 'str') return `"${t.v}"`;
  return `'${t.v}'`;
}

export function expectPunct(c: Cursor, p: string): Token {
  const t = peek(c);
  if (!isPunct(t, p)) failBroken(t, `expected '${p}', found ${describe(t)}`);
  return next(c);
}

export function expectWord(c: Cursor, what: string): Token {
  const t = peek(c);
  if (t.t !== 'word' && t.t !== 'str') fail(t, `expected ${what}, found ${describe(t)}`);
  return next(c);
}

/** Name-like token: a word or a quoted string (nft accepts both for names). */
export function expectName(c: Cursor, what: string): string {
  return expectWord(c, what).v;
}

export function skipNewlines(c: Cursor): void {
  while (peek(c).t === 'nl') c.i++;
}

/** Skips blank lines and `;` separators. */
export function skipSeparators(c: Cursor): void {
  for (;;) {
    const t = peek(c);
    if (t.t === 'nl' || isPunct(t, ';')) c.i++;
    else return;
  }
}

/** Source text of tokens [from, to). */
export function sourceOf(c: Cursor, from: number, to: number): string {
  if (to <= from) return '';
  return c.src.slice(tokAt(c, from).start, tokAt(c, to - 1).end);
}

export function warn(c: Cursor, t: Token, code: string, message: string): void {
  c.diags.push({ line: t.line, column: t.col, severity: 'warning', code, message });
}

export function error(c: Cursor, t: Token, code: string, message: string): void {
  c.diags.push({ line: t.line, column: t.col, severity: 'error', code, message });
}
