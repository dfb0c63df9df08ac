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
 * tokenizeLine into `out`, which is emptied first (the parser reuses one list
 * for every line). Returns the error, if any; `out` then holds the tokens
 * before it.
 */
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

export function tokenizeInto(line: string, out: TokenList, words?: Vocabulary): { column: number; message: string } | undefined {
  const { texts, columns } = out;
  texts.length = 0;
  columns.length = 0;
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (isBlank(c)) {
      i++;
      continue;
    }
    // One argument: unquoted runs and at most one quoted part, which ends it.
    // Plain runs are sliced, not built char by char, so each token is one
    // flat string (appending per character leaves long cons-string chains).
    const start = i;
    while (i < n && !isBlank(c) && c !== 34 /* " */) c = line.charCodeAt(++i);
    if (i >= n || c !== 34) {
      texts.push(plainToken(line, start, i, words));
      columns.push(start + 1);
      continue;
    }
    const quoteColumn = i + 1;
    let text = line.slice(start, i);
    let from = ++i;
    for (;;) {
      if (i >= n) return { column: quoteColumn, message: 'unterminated quote' };
      c = line.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 /* \ */) {
        // The backslash escapes the next character: keep that one, drop the backslash.
        text += line.slice(from, i);
        from = i + 1;
        if (i + 1 >= n) return { column: quoteColumn, message: 'unterminated quote' };
        i += 2;
        continue;
      }
      i++;
    }
    text += line.slice(from, i);
    i++;
    texts.push(text);
    columns.push(start + 1);
  }
  for (let k = 0; k < texts.length; k++) {
    const length = texts[k]!.length;
    if (length >= MAX_PARAM_LENGTH) return { column: columns[k]!, message: `parameter too long (${length} characters)` };
  }
  return undefined;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Quotes a string as iptables-save does (xtables_save_string). */
export function quoteArg(value: string): string {
  if (/^[_\-0-9A-Za-z]+$/.test(value)) return value;
  return '"' + value.replace(/["\\']/g, (c) => '\\' + c) + '"';
}
