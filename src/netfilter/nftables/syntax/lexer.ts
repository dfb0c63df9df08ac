// Tokens of nft's text syntax (`nft list ruleset`, `nft -f` input).
// Hand-written: nft words mix punctuation that is also an operator elsewhere
// (`192.0.2.0/24`, `fe80::1`, `1-1024`, chain names with `/` and `.`), so the
// split depends on spacing the way nft's own flex scanner decides it.
import type { NftDiagnostic } from '../model.ts';

export type TokenType = 'word' | 'str' | 'punct' | 'nl' | 'handle' | 'var' | 'rawp' | 'eof';

export interface Token {
  readonly t: TokenType;
  /** Word text, string contents (without quotes), punctuation, handle number, variable name. */
  readonly v: string;
  readonly line: number;
  readonly col: number;
  /** Offsets into the source text. */
  readonly start: number;
  readonly end: number;
  /** Whitespace (or a line start) precedes the token. */
  readonly sp: boolean;
}

const PUNCT2 = new Set(['==', '!=', '<=', '>=', '<<', '>>']);
const PUNCT1 = new Set(['{', '}', '(', ')', '[', ']', ';', ',', '=', '&', '|', '^', '<', '>', '!', ':', '.', '@', '$']);
/** Characters that end a word, by char code (a table: the lexer is the parser's hot loop). */
const WORD_STOP = new Uint8Array(128);
for (const ch of ' \t\r\n{}()[];,"@$=&|^<>!#\\') WORD_STOP[ch.charCodeAt(0)] = 1;

/**
 * Lexes on demand: `lex(out, want)` appends tokens to `out` until it has a token at index `want`
 * or the text is done (the last token is `eof`); returns whether there is more to lex. A parser
 * that pulls tokens as it goes (and drops those it is done with) holds a few of them at a time,
 * not all of a 60 MB ruleset's at once (their objects take many times the text's size).
 */
export function nftTokenizer(text: string, diagnostics: NftDiagnostic[]): (out: Token[], want: number) => boolean {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let sp = true;
  let done = false;
  const n = text.length;
  let out: Token[] = [];
  const push = (t: TokenType, v: string, start: number, end: number): void => {
    out.push({ t, v, line, col: start - lineStart + 1, start, end, sp });
    sp = false;
  };
  return (into, want) => {
    if (done) return false;
    out = into;
    while (i < n && out.length <= want) {
      const c = text[i]!;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        i++;
        sp = true;
        continue;
      }
      if (c === '\n') {
        push('nl', '\n', i, i + 1);
        i++;
        line++;
        lineStart = i;
        sp = true;
        continue;
      }
      if (c === '\\') {
        // line continuation: backslash, optional blanks, newline
        let j = i + 1;
        while (j < n && (text[j] === ' ' || text[j] === '\t' || text[j] === '\r')) j++;
        if (j >= n || text[j] === '\n') {
          i = j + 1;
          if (j < n) {
            line++;
            lineStart = i;
          }
          sp = true;
          continue;
        }
        push('punct', '\\', i, i + 1);
        i++;
        continue;
      }
      if (c === '#') {
        let j = text.indexOf('\n', i);
        if (j < 0) j = n;
        const m = /^#\s*handle\s+(\d+)\s*$/.exec(text.slice(i, j));
        if (m) push('handle', m[1]!, i, j);
        i = j;
        sp = true;
        continue;
      }
      if (c === '"') {
        const j = text.indexOf('"', i + 1);
        const nl = text.indexOf('\n', i + 1);
        if (j < 0 || (nl >= 0 && nl < j)) {
          const end = nl < 0 ? n : nl;
          diagnostics.push({ line, column: i - lineStart + 1, severity: 'error', code: 'unterminated-string', message: 'unterminated string (no closing ")' });
          push('str', text.slice(i + 1, end), i, end);
          i = end;
          continue;
        }
        push('str', text.slice(i + 1, j), i, j + 1);
        i = j + 1;
        continue;
      }
      const two = PUNCT1.has(c) ? text.slice(i, i + 2) : '';
      if (two && PUNCT2.has(two)) {
        push('punct', two, i, i + 2);
        i += 2;
        continue;
      }
      if (c === '@') {
        const m = /^@(ll|nh|th|ih),(\d+),(\d+)/.exec(text.slice(i, i + 40));
        if (m) {
          push('rawp', m[0].slice(1), i, i + m[0].length);
          i += m[0].length;
          continue;
        }
      }
      if (c === '$') {
        const m = /^\$([A-Za-z_][A-Za-z0-9_-]*)/.exec(text.slice(i, i + 300));
        if (m) {
          push('var', m[1]!, i, i + m[0].length);
          i += m[0].length;
          continue;
        }
      }
      // `::1` starts a word; a lone `:` or `.` is punctuation (map / concatenation)
      const startsWord = !PUNCT1.has(c) || (c === ':' && text[i + 1] === ':');
      if (!startsWord) {
        push('punct', c, i, i + 1);
        i++;
        continue;
      }
      let j = i;
      while (j < n) {
        const code = text.charCodeAt(j);
        if (code < 128 && WORD_STOP[code] === 1) break;
        // a trailing `:` before a blank is a map separator (`established: accept`)
        if (code === 58 && text[j + 1] !== ':' && (j + 1 >= n || /[\s,{}]/.test(text[j + 1]!)) && text[j - 1] !== ':') break;
        j++;
      }
      push('word', text.slice(i, j), i, j);
      i = j;
    }
    if (i < n) return true;
    out.push({ t: 'eof', v: '', line, col: n - lineStart + 1, start: n, end: n, sp: true });
    done = true;
    return false;
  };
}
