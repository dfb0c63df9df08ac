// The scanner over the option text of a row, and the value readers the grammars share (split from parse-listing.ts).
import type { Family } from '../../model.ts';
import { type Token } from '../lexer.ts';
import { portNumber } from '../../../pipeline/names.ts';
import { EXTRA_SERVICES } from './shared.ts';
import { lookup } from './util.ts';
// ---------------------------------------------------------------------------
// Option text: what the match and target extensions print

export interface Unparsed {
  readonly text: string;
  readonly column: number;
}

export interface OptionResult {
  matches: Token[][];
  target: Token[];
  /** Replaces the target column (CT + "NOTRACK" is the NOTRACK target). */
  targetName?: string;
  goto: boolean;
  unparsed: Unparsed[];
  names: boolean;
}

export class Scanner {
  pos: number;
  names = false;
  constructor(
    readonly text: string,
    /** 0-based index of text[0] in the line. */
    readonly base: number,
    pos = 0,
  ) {
    this.pos = pos;
  }
  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  atEnd(): boolean {
    this.ws();
    return this.pos >= this.text.length;
  }
  column(): number {
    return this.base + this.pos + 1;
  }
  /** Matches a sticky regex at the cursor (after whitespace); it must end at a word boundary. */
  re(re: RegExp): RegExpExecArray | undefined {
    this.ws();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m || m.index !== this.pos) return undefined;
    const end = this.pos + m[0].length;
    if (end < this.text.length && !/\s/.test(this.text[end]!)) return undefined;
    this.pos = end;
    return m;
  }
  /** Runs a parser; restores the cursor when it fails. */
  attempt<T>(f: () => T | undefined): T | undefined {
    const save = this.pos;
    const names = this.names;
    const r = f();
    if (r === undefined) {
      this.pos = save;
      this.names = names;
    }
    return r;
  }
}


export const tok = (column: number, ...texts: string[]): Token[] => texts.map((text) => ({ text, column }));

export function firstOf<T, R>(items: readonly T[], f: (item: T) => R | undefined): R | undefined {
  for (const item of items) {
    const r = f(item);
    if (r !== undefined) return r;
  }
  return undefined;
}

export type MatchParser = (s: Scanner, family: Family) => string[] | undefined;

export const neg = (bang: string | undefined): string[] => (bang ? ['!'] : []);

/** A port or port name as printed by tcp/udp/multiport; undefined when the name is unknown. */
export function portValue(s: Scanner, v: string): string | undefined {
  if (/^\d+$/.test(v)) return v;
  const known = portNumber(v); // names.ts does not guard against Object.prototype keys
  const n = typeof known === 'number' ? known : lookup(EXTRA_SERVICES, v);
  if (n === undefined) return undefined;
  s.names = true;
  return String(n);
}

export function portRangeValue(s: Scanner, v: string): string | undefined {
  const parts = v.split(':');
  if (parts.length > 2) return undefined;
  const out: string[] = [];
  for (const p of parts) {
    const n = portValue(s, p);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out.join(':');
}

export function icmpValue(type: string, code: string | undefined, lo: string | undefined, hi: string | undefined): string | undefined {
  if (code !== undefined) return `${type}/${code}`;
  if (lo !== undefined) {
    if (lo === hi) return `${type}/${lo}`;
    return lo === '0' && hi === '255' ? type : undefined;
  }
  return type;
}
