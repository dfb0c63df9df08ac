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
  let buf = '';
  let start = -1;
  let quoteOpen = false;
  let quoteColumn = 0;
  let escaped = false;
  let inToken = false;

  const flush = (): void => {
    if (inToken) tokens.push({ text: buf, column: start + 1 });
    buf = '';
    inToken = false;
    start = -1;
  };

  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoteOpen) {
      if (escaped) {
        buf += ch;
        escaped = false;
      } else if (ch === '\\') {
        escaped = true;
      } else if (ch === '"') {
        quoteOpen = false;
        flush();
      } else {
        buf += ch;
      }
      continue;
    }
    if (ch === '"') {
      quoteOpen = true;
      quoteColumn = i + 1;
      if (!inToken) {
        inToken = true;
        start = i;
      }
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      flush();
      continue;
    }
    if (!inToken) {
      inToken = true;
      start = i;
    }
    buf += ch;
  }
  if (quoteOpen) {
    return { ok: false, column: quoteColumn, message: 'unterminated quote', tokens };
  }
  flush();
  const long = tokens.find((t) => t.text.length >= MAX_PARAM_LENGTH);
  if (long) {
    return { ok: false, column: long.column, message: `parameter too long (${long.text.length} characters)`, tokens };
  }
  return { ok: true, tokens };
}

/** Quotes a string as iptables-save does (xtables_save_string). */
export function quoteArg(value: string): string {
  if (/^[_\-0-9A-Za-z]+$/.test(value)) return value;
  return '"' + value.replace(/["\\']/g, (c) => '\\' + c) + '"';
}
