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
  const tokens: Token[] = [];
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
      tokens.push({ text: line.slice(start, i), column: start + 1 });
      continue;
    }
    const quoteColumn = i + 1;
    let text = line.slice(start, i);
    let from = ++i;
    for (;;) {
      if (i >= n) return { ok: false, column: quoteColumn, message: 'unterminated quote', tokens };
      c = line.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 /* \ */) {
        // The backslash escapes the next character: keep that one, drop the backslash.
        text += line.slice(from, i);
        from = i + 1;
        if (i + 1 >= n) return { ok: false, column: quoteColumn, message: 'unterminated quote', tokens };
        i += 2;
        continue;
      }
      i++;
    }
    text += line.slice(from, i);
    i++;
    tokens.push({ text, column: start + 1 });
  }
  for (const t of tokens) {
    if (t.text.length >= MAX_PARAM_LENGTH) {
      return { ok: false, column: t.column, message: `parameter too long (${t.text.length} characters)`, tokens };
    }
  }
  return { ok: true, tokens };
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Quotes a string as iptables-save does (xtables_save_string). */
export function quoteArg(value: string): string {
  if (/^[_\-0-9A-Za-z]+$/.test(value)) return value;
  return '"' + value.replace(/["\\']/g, (c) => '\\' + c) + '"';
}
