// Splits one rule line into arguments exactly as iptables-restore does
// (xshared.c add_param_to_argv): whitespace separates, double quotes group,
// a backslash escapes the next character only inside quotes, and a closing
// quote ends the argument. Single quotes are ordinary characters.

export interface Token {
  readonly text: string;
  /** 1-based column of the token's first character. */
  readonly column: number;
}

export type TokenizeResult =
  | { readonly ok: true; readonly tokens: readonly Token[] }
  | { readonly ok: false; readonly column: number; readonly message: string; readonly tokens: readonly Token[] };

/** iptables-restore refuses parameters of this length or longer. */
export const MAX_PARAM_LENGTH = 1024;

export function tokenizeLine(line: string): TokenizeResult {
  const list: TokenList = { texts: [], columns: [] };
  const error = tokenizeInto(line, list);
  const tokens: Token[] = list.texts.map((text, k) => ({ text, column: list.columns[k]! }));
  return error ? { ok: false, column: error.column, message: error.message, tokens } : { ok: true, tokens };
}

/** Tokens as two parallel arrays: no object per token on the hot path. */
export interface TokenList {
  readonly texts: string[];
  readonly columns: number[];
}

export function toTokenList(tokens: readonly Token[]): TokenList {
  return { texts: tokens.map((t) => t.text), columns: tokens.map((t) => t.column) };
}

/**
 * Words the parser looks up (options, module and target names). Tokens equal
 * to one are returned as the shared constant string instead of a new slice:
 * no allocation, and property/Map lookups on a constant are cheaper.
 */
export interface Vocabulary {
  /** Words by a small hash of length, first and last character; collisions share a slot. */
  readonly slots: readonly (readonly string[] | undefined)[];
}

const SLOTS = 4096;
const slotOf = (length: number, first: number, last: number): number => (length * 131 + first * 31 + last) & (SLOTS - 1);

export function vocabulary(words: Iterable<string>): Vocabulary {
  const slots: (string[] | undefined)[] = new Array(SLOTS).fill(undefined);
  for (const w of new Set(words)) {
    if (w === '' || /[\s"]/.test(w)) continue;
    (slots[slotOf(w.length, w.charCodeAt(0), w.charCodeAt(w.length - 1))] ??= []).push(w);
  }
  return { slots };
}

function plainToken(line: string, start: number, end: number, words: Vocabulary | undefined): string {
  const slot = words?.slots[slotOf(end - start, line.charCodeAt(start), line.charCodeAt(end - 1))];
  if (slot) for (const w of slot) if (w.length === end - start && line.startsWith(w, start)) return w;
  return line.slice(start, end);
}

/**
 * tokenizeLine into `out`, whose previous tokens are overwritten (the parser
 * reuses one list for every line). Returns the error, if any; `out` then holds
 * the tokens before it.
 */
export function tokenizeInto(line: string, out: TokenList, words?: Vocabulary): { column: number; message: string } | undefined {
  // Dumps separate arguments by single spaces: then native indexOf finds every
  // boundary, instead of a loop over each character.
  const error = line.indexOf('\t') < 0 && line.indexOf('\r') < 0 && line.indexOf('\n') < 0
    ? tokenizeSpaced(line, out, words)
    : tokenizeBlanks(line, out, words);
  if (error) return error;
  const { texts, columns } = out;
  for (let k = 0; k < texts.length; k++) {
    const length = texts[k]!.length;
    if (length >= MAX_PARAM_LENGTH) return { column: columns[k]!, message: `parameter too long (${length} characters)` };
  }
  return undefined;
}

/** tokenizeInto for a line whose only blanks are spaces. */
function tokenizeSpaced(line: string, out: TokenList, words: Vocabulary | undefined): { column: number; message: string } | undefined {
  const { texts, columns } = out;
  const n = line.length;
  let quote = line.indexOf('"');
  let i = 0;
  let k = 0;
  while (i < n) {
    if (line.charCodeAt(i) === 32) {
      i++;
      continue;
    }
    const start = i;
    let end = line.indexOf(' ', i);
    if (end < 0) end = n;
    if (quote < 0 || quote >= end) {
      texts[k] = plainToken(line, start, end, words);
      columns[k++] = start + 1;
      i = end;
      continue;
    }
    i = quotedPart(line, start, quote, texts, k);
    if (i < 0) return unterminated(out, k, quote + 1);
    columns[k++] = start + 1;
    quote = line.indexOf('"', i);
  }
  setCount(out, k);
  return undefined;
}

/** tokenizeInto for any blanks (space, tab, CR, LF). */
function tokenizeBlanks(line: string, out: TokenList, words: Vocabulary | undefined): { column: number; message: string } | undefined {
  const { texts, columns } = out;
  const n = line.length;
  let i = 0;
  let k = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (isBlank(c)) {
      i++;
      continue;
    }
    // One argument: unquoted runs and at most one quoted part, which ends it.
    const start = i;
    while (i < n && !isBlank(c) && c !== 34 /* " */) c = line.charCodeAt(++i);
    if (i >= n || c !== 34) {
      texts[k] = plainToken(line, start, i, words);
      columns[k++] = start + 1;
      continue;
    }
    const quoteColumn = i + 1;
    i = quotedPart(line, start, i, texts, k);
    if (i < 0) return unterminated(out, k, quoteColumn);
    columns[k++] = start + 1;
  }
  setCount(out, k);
  return undefined;
}

function unterminated(out: TokenList, count: number, column: number): { column: number; message: string } {
  setCount(out, count);
  return { column, message: 'unterminated quote' };
}

/**
 * Ends the lists at `count` tokens. They are overwritten in place, never
 * emptied: an emptied array drops its capacity, and regrowing two arrays for
 * every line was most of what the tokenizer allocated.
 */
function setCount(out: TokenList, count: number): void {
  if (out.texts.length !== count) {
    out.texts.length = count;
    out.columns.length = count;
  }
}

/**
 * Stores as texts[k] the argument that starts at `start` and whose quoted part opens at
 * `quote`; returns the index after the closing quote, or -1 when it is
 * missing. Plain runs are sliced, not built char by char, so each token is
 * one flat string (appending per character leaves long cons-string chains).
 */
function quotedPart(line: string, start: number, quote: number, texts: string[], k: number): number {
  const n = line.length;
  let text = line.slice(start, quote);
  let i = quote + 1;
  // Without a backslash before the closing quote, the quoted part is one slice.
  const close = line.indexOf('"', i);
  if (close >= 0) {
    const backslash = line.indexOf('\\', i);
    if (backslash < 0 || backslash > close) {
      texts[k] = text + line.slice(i, close);
      return close + 1;
    }
  }
  let from = i;
  for (;;) {
    if (i >= n) return -1;
    const c = line.charCodeAt(i);
    if (c === 34) break;
    if (c === 92 /* \ */) {
      // The backslash escapes the next character: keep that one, drop the backslash.
      text += line.slice(from, i);
      from = i + 1;
      if (i + 1 >= n) return -1;
      i += 2;
      continue;
    }
    i++;
  }
  text += line.slice(from, i);
  texts[k] = text;
  return i + 1;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Quotes a string as iptables-save does (xtables_save_string). */
export function quoteArg(value: string): string {
  if (/^[_\-0-9A-Za-z]+$/.test(value)) return value;
  return '"' + value.replace(/["\\']/g, (c) => '\\' + c) + '"';
}
