// The text of `nft -j list ruleset` itself, before its items mean anything:
// split into items (one paused scan, each item parsed alone), the line of
// each item, and where a JSON error is.
import type { NftParseResult } from './model.ts';
import type { Steps } from '../steps.ts';

/** Characters scanned between two pauses when the text is split into its items. */
const SCAN_SLICE = 1 << 20;

/** Line of each top-level item of the `nftables` array (for diagnostics): a cheap scan of depth-2 object starts. */
export function objectLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let line = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      // {"nftables": [ {item} ]}: items open at depth 3.
      if (depth === 3 && c === 123) out.push(line);
    } else if (c === 125 || c === 93) depth--;
  }
  return out;
}

/** Line and column of a JSON.parse error ("... at position N" in V8's message). */
function jsonErrorPosition(text: string, err: Error): { line: number; column: number } {
  const m = /position (\d+)/.exec(err.message);
  let pos = m ? Number(m[1]) : text.length;
  // Node 20's V8 says `Unexpected token 'o', ..."<20 characters around it>"... is not valid JSON` without a position:
  // the excerpt starts 10 characters before the token when it starts with "...".
  const excerpt = m ? undefined : /^Unexpected token '(.)', (\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON/.exec(err.message);
  if (excerpt) {
    const body = excerpt[3]!;
    const at = text.indexOf(body);
    if (at >= 0) pos = excerpt[2] ? at + 10 : at + Math.max(0, body.indexOf(excerpt[1]!));
  }
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return { line, column: pos - before.lastIndexOf('\n') };
}

/** The answer for text that is not JSON: one error at the place JSON.parse of the whole text names. */
export function notJson(text: string, error?: Error): NftParseResult {
  let err = error;
  if (!err) {
    try {
      JSON.parse(text);
      err = new Error('an item of "nftables" is not valid JSON');
    } catch (e) {
      err = e as Error;
    }
  }
  const { line, column } = jsonErrorPosition(text, err);
  return { ruleset: { tables: [] }, diagnostics: [{ line, column, severity: 'error', code: 'invalid-json', message: `not JSON: ${err.message}` }] };
}

/** One item of {"nftables": [...]}: where it is in the text, and its value once parsed. */
export interface ItemSpan {
  readonly span: true;
  readonly start: number;
  readonly end: number;
  readonly line: number;
  value?: unknown;
}

export const isSpan = (x: unknown): x is ItemSpan => typeof x === 'object' && x !== null && (x as ItemSpan).span === true;

/** JSON.parse of one item (kept on the span); false when it is not valid JSON on its own. */
export function parsesAlone(text: string, span: ItemSpan): boolean {
  try {
    span.value = JSON.parse(text.slice(span.start, span.end));
    return true;
  } catch {
    return false;
  }
}

/**
 * The items of `{"nftables": [{...}, {...}]}`, found by one scan of the text
 * (strings and nesting followed), pausing every SCAN_SLICE characters; null
 * when the text is laid out otherwise (the caller then parses it whole).
 * Hand-written: a streaming JSON library would build the same objects more
 * slowly, and only this one shape needs splitting.
 */
export function* splitItems(text: string): Steps<ItemSpan[] | null> {
  const head = /^\s*\{\s*"nftables"\s*:\s*\[/.exec(text.slice(0, 256));
  const tail = /\]\s*\}\s*$/.exec(text.slice(-256));
  if (!head || !tail) return null;
  const stop = text.length - tail[0].length;
  const items: ItemSpan[] = [];
  let line = 1 + (head[0].match(/\n/g)?.length ?? 0);
  let depth = 0;
  let inString = false;
  let start = 0;
  let startLine = 1;
  let comma = false;
  let pause = SCAN_SLICE;
  for (let i = head[0].length; i < stop; i++) {
    if (i >= pause) {
      pause += SCAN_SLICE;
      yield;
    }
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (depth === 0) {
      // between items: whitespace, and exactly one comma between two of them
      if (c === 123 && (comma || items.length === 0)) {
        depth = 1;
        start = i;
        startLine = line;
        comma = false;
      } else if (c === 44 && !comma && items.length > 0) {
        comma = true;
      } else if (c !== 32 && c !== 10 && c !== 13 && c !== 9) {
        return null;
      }
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) items.push({ span: true, start, end: i + 1, line: startLine });
    }
  }
  return depth === 0 && !inString && !comma ? items : null;
}
