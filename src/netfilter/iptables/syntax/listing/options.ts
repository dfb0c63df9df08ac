// The option text of a row: comments, then match and target grammars in turn (split from parse-listing.ts).
import type { Family } from '../../model.ts';
import { type OptionResult, Scanner, tok, firstOf } from './scanner.ts';
import { MATCH_PARSERS } from './match-text.ts';
import { parseTarget } from './target-text.ts';
// Positions just after each " */" that could close the comment opened at `pos`.
export function commentEnds(text: string, pos: number): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(' */', pos + 2); i >= 0; i = text.indexOf(' */', i + 1)) {
    if (i < pos + 2) continue;
    const end = i + 3;
    if (end === text.length || /\s/.test(text[end]!)) out.push(end);
  }
  return out;
}

export function parseOptionText(text: string, base: number, target: string | undefined, family: Family): OptionResult {
  const s = new Scanner(text, base);
  const res: OptionResult = { matches: [], target: [], goto: false, unparsed: [], names: false };
  if (s.re(/\[goto\]/y)) res.goto = true;
  parseSequence(s, res, target, family, 0);
  res.names = res.names || s.names;
  return res;
}

export function parseSequence(s: Scanner, res: OptionResult, target: string | undefined, family: Family, depth: number): void {
  let pending: { start: number; end: number } | undefined;
  let targetDone = false;
  const flush = (): void => {
    if (!pending) return;
    res.unparsed.push({ text: s.text.slice(pending.start, pending.end), column: s.base + pending.start + 1 });
    pending = undefined;
  };
  while (!s.atEnd()) {
    const col = s.column();
    // /* comment */ -- may contain spaces and even " */"; pick the reading after which the rest parses.
    if (s.text.startsWith('/* ', s.pos)) {
      const start = s.pos;
      const ends = commentEnds(s.text, start);
      if (ends.length > 0) {
        flush();
        const candidates = depth < 3 ? ends.slice(0, 6) : ends.slice(0, 1);
        let chosen: { end: number; sub: OptionResult; names: boolean } | undefined;
        for (const end of candidates) {
          const sub: OptionResult = { matches: [], target: [], goto: false, unparsed: [], names: false };
          const ss = new Scanner(s.text, s.base, end);
          parseSequence(ss, sub, target, family, depth + 1);
          const c = { end, sub, names: ss.names };
          if (!chosen) chosen = c;
          if (sub.unparsed.length === 0) {
            chosen = c;
            break;
          }
        }
        const comment = s.text.slice(start + 3, chosen!.end - 3);
        res.matches.push(tok(col, '-m', 'comment', '--comment', comment));
        res.matches.push(...chosen!.sub.matches);
        res.target.push(...chosen!.sub.target);
        if (chosen!.sub.targetName) res.targetName = chosen!.sub.targetName;
        res.unparsed.push(...chosen!.sub.unparsed);
        if (chosen!.names) s.names = true;
        s.pos = s.text.length;
        return;
      }
    }
    // Matches print first, the target's own text last; nothing known follows the target's text.
    if (!targetDone) {
      const out = firstOf(MATCH_PARSERS, (parser) => s.attempt(() => parser(s, family)));
      if (out) {
        flush();
        res.matches.push(tok(col, ...out));
        continue;
      }
      const t = target !== undefined ? s.attempt(() => parseTarget(s, target, family)) : undefined;
      if (t) {
        flush();
        res.target.push(...tok(col, ...t.options));
        if (t.name) res.targetName = t.name;
        targetDone = true;
        continue;
      }
    }
    // Not understood: collect words until a known print resumes.
    s.ws();
    const start = s.pos;
    while (s.pos < s.text.length && !/\s/.test(s.text[s.pos]!)) s.pos++;
    // Quoted strings belong together.
    const word = s.text.slice(start, s.pos);
    if ((word.match(/"/g)?.length ?? 0) % 2 === 1) {
      const close = s.text.indexOf('"', s.pos);
      if (close >= 0) {
        s.pos = close + 1;
        while (s.pos < s.text.length && !/\s/.test(s.text[s.pos]!)) s.pos++;
      }
    }
    if (pending) pending.end = s.pos;
    else pending = { start, end: s.pos };
  }
  flush();
}
