// One listing row: its columns, read back into iptables arguments (split from parse-listing.ts).
import type { Counters, Family, Match } from '../../model.ts';
import { toTokenList, type Token } from '../lexer.ts';
import { parseRuleSpec } from '../rule-spec.ts';
import { type RuleDraft } from '../build.ts';
import { canonicalProtocol } from '../../../pipeline/names.ts';
import { cidr } from '../values.ts';
import { COUNT, OPT, EXTRA_PROTOCOLS, HOST_NAMES, type Layout, type ChainInstance, type Field, type Diag } from './shared.ts';
import { parseOptionText } from './options.ts';
import { lookup, shorten } from './util.ts';
// ---------------------------------------------------------------------------
// Rows

export function parseCount(text: string): { value: bigint; approximate: boolean } | undefined {
  const m = COUNT.exec(text);
  if (!m) return undefined;
  const scale = { '': 1n, K: 1000n, M: 1000_000n, G: 1000_000_000n, T: 1000_000_000_000n }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return { value: BigInt(m[1]!) * scale, approximate: m[2] !== '' };
}

export function splitFields(line: string, from = 0): Field[] {
  const out: Field[] = [];
  const re = /\S+/g;
  re.lastIndex = from;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], start: m.index });
  return out;
}

export function isProt(f: string): boolean {
  const p = f.startsWith('!') ? f.slice(1) : f;
  if (p === '' || p.toLowerCase() in Object.prototype) return false; // names.ts looks names up with `in`
  return canonicalProtocol(p) !== undefined || lookup(EXTRA_PROTOCOLS, p.toLowerCase()) !== undefined;
}

export function isAddressLike(f: string): boolean {
  const a = f.startsWith('!') ? f.slice(1) : f;
  if (a === 'anywhere') return true;
  if (/^[0-9a-fA-F:.]+(\/[0-9.]+)?$/.test(a) && (a.includes('.') || a.includes(':'))) return true;
  return /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[0-9.]+)?$/.test(a);
}

export interface RowShape {
  readonly target: Field | undefined;
  readonly prot: Field;
  readonly opt: Field | undefined;
  readonly inIf: Field | undefined;
  readonly outIf: Field | undefined;
  readonly src: Field;
  readonly dst: Field;
  /** Index in the line where the option text starts (after the destination). */
  readonly rest: number;
}

/** Reads [target] prot [opt] [in out] source destination from the fields after num/pkts/bytes. */
export function shapeRow(line: string, fields: readonly Field[], iface: boolean): RowShape | undefined {
  // Protocol names of 5+ characters run into the opt column in some versions ("udplite--").
  const fs: Field[] = [];
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    const m = k < 3 ? /^(.+?)(--|-f|!f)$/.exec(f.text) : null;
    if (m && isProt(m[1]!)) {
      fs.push({ text: m[1]!, start: f.start }, { text: m[2]!, start: f.start + m[1]!.length });
    } else fs.push(f);
  }
  const tries: readonly [boolean, boolean][] = [[true, true], [false, true], [true, false], [false, false]];
  for (const [hasTarget, hasOpt] of tries) {
    let k = 0;
    const target = hasTarget ? fs[k++] : undefined;
    const prot = fs[k++];
    const opt = hasOpt ? fs[k++] : undefined;
    const inIf = iface ? fs[k++] : undefined;
    const outIf = iface ? fs[k++] : undefined;
    const src = fs[k++];
    const dst = fs[k++];
    if (!prot || !src || !dst || (hasTarget && !target) || (hasOpt && !opt) || (iface && (!inIf || !outIf))) continue;
    if (!isProt(prot.text)) continue;
    if (opt && !OPT.test(opt.text)) continue;
    if (!hasOpt && fs.some((f, i) => i < k && OPT.test(f.text))) continue;
    if (target && (OPT.test(target.text) || target.text.startsWith('!'))) continue;
    if (inIf && (OPT.test(inIf.text) || inIf.text.includes('/'))) continue;
    if (outIf && (OPT.test(outIf.text) || outIf.text.includes('/'))) continue;
    if (!isAddressLike(src.text) || !isAddressLike(dst.text)) continue;
    const next = fs[k];
    return { target, prot, opt, inIf, outIf, src, dst, rest: next ? next.start : line.length };
  }
  return undefined;
}

export const LAYOUT_GUESSES: readonly Layout[] = [
  { num: false, counters: true, iface: true },
  { num: false, counters: false, iface: false },
  { num: true, counters: false, iface: false },
  { num: true, counters: true, iface: true },
];

export function parseRow(
  line: string,
  lineNo: number,
  chain: ChainInstance,
  family: Family,
  diag: Diag,
  onceDiag: Diag,
  flags: { names: boolean; approximate: boolean },
): RuleDraft | undefined {
  const fields = splitFields(line);
  const attempt = (layout: Layout): { shape: RowShape; num?: number; counters?: { value: Counters; approximate: boolean } } | undefined => {
    let k = 0;
    let num: number | undefined;
    if (layout.num) {
      const f = fields[k++];
      if (!f || !/^\d+$/.test(f.text)) return undefined;
      num = Number(f.text);
    }
    let counters: { value: Counters; approximate: boolean } | undefined;
    if (layout.counters) {
      const p = fields[k] ? parseCount(fields[k]!.text) : undefined;
      const b = fields[k + 1] ? parseCount(fields[k + 1]!.text) : undefined;
      if (!p || !b) return undefined;
      counters = { value: { packets: p.value, bytes: b.value }, approximate: p.approximate || b.approximate };
      k += 2;
    }
    const shape = shapeRow(line, fields.slice(k), layout.iface);
    if (!shape) return undefined;
    return { shape, ...(num !== undefined ? { num } : {}), ...(counters ? { counters } : {}) };
  };

  let parsed: ReturnType<typeof attempt>;
  if (chain.layout) parsed = attempt(chain.layout);
  else {
    for (const guess of LAYOUT_GUESSES) {
      parsed = attempt(guess);
      if (parsed) {
        chain.layout = guess;
        if (!chain.titleWarned) {
          chain.titleWarned = true;
          diag(lineNo, 'info', 'missing-title', `chain ${chain.draft.name} has no column-title line; columns guessed from its first row`);
          if (!guess.iface) {
            onceDiag(lineNo, 'warning', 'listing-lossy',
              'listing without -v: interfaces (-i/-o) are not shown, so every rule looks interface-agnostic; rules that match on an interface are read as if they matched all interfaces');
          }
        }
        break;
      }
    }
  }
  if (!parsed) {
    diag(lineNo, 'warning', 'not-a-rule', `line is not a rule of chain ${chain.draft.name}: "${shorten(line.trim())}"`, 1);
    return undefined;
  }
  const { shape } = parsed;
  if (parsed.num !== undefined) {
    if (parsed.num !== chain.lastNum + 1) {
      diag(lineNo, 'warning', 'elided', `rule number ${parsed.num} follows ${chain.lastNum || 'the chain header'}: the paste leaves rules out`);
    }
    chain.lastNum = parsed.num;
  }
  if (parsed.counters?.approximate) flags.approximate = true;

  // Option text, without a trailing note the author added.
  let optionText = line.slice(shape.rest);
  const note = findTrailingNote(optionText);
  if (note) {
    diag(lineNo, 'warning', note.kind === '//' ? 'trailing-note' : 'trailing-comment', `trailing note "${note.kind} ${note.note}" ignored`, shape.rest + note.index + 1);
    optionText = optionText.slice(0, note.index);
  }
  optionText = optionText.replace(/\s+$/, '');

  const tokens: Token[] = [];
  const push = (column: number, ...texts: string[]): void => {
    for (const text of texts) tokens.push({ text, column });
  };
  const nameColumns = new Set<number>();

  // prot
  const protCol = shape.prot.start + 1;
  let prot = shape.prot.text;
  const protNeg = prot.startsWith('!');
  if (protNeg) prot = prot.slice(1);
  const extra = lookup(EXTRA_PROTOCOLS, prot.toLowerCase());
  if (extra) {
    prot = extra;
    flags.names = true;
  }
  if (protNeg) push(protCol, '!');
  push(protCol, '-p', prot);
  // opt
  if (shape.opt && shape.opt.text !== '--') {
    const col = shape.opt.start + 1;
    if (shape.opt.text === '-f') push(col, '-f');
    else if (shape.opt.text === '!f') push(col, '!', '-f');
  }
  // addresses
  const address = (f: Field, option: '-s' | '-d'): void => {
    const col = f.start + 1;
    let a = f.text;
    const neg = a.startsWith('!');
    if (neg) a = a.slice(1);
    if (a === 'anywhere') {
      flags.names = true;
      if (!neg) return;
      a = family === 'ipv4' ? '0.0.0.0/0' : '::/0';
    } else if (!cidr(a, family).ok) {
      const [host, mask] = a.split('/');
      const known = lookup(HOST_NAMES[family], host!.toLowerCase());
      flags.names = true;
      if (known) a = known + (mask !== undefined ? '/' + mask : '');
      else {
        diag(lineNo, 'warning', 'unresolved-name',
          `"${f.text}" is a host or network name (listing without -n); packetpath cannot resolve it and keeps it as written (iptables-restore would look it up in DNS)`, col);
        nameColumns.add(col);
      }
    }
    if (neg) push(col, '!');
    push(col, option, a);
  };
  address(shape.src, '-s');
  address(shape.dst, '-d');
  // interfaces
  const iface = (f: Field | undefined, option: '-i' | '-o'): void => {
    if (!f) return;
    let n = f.text;
    if (n === '*' || n === 'any') {
      if (n === 'any') flags.names = true;
      return;
    }
    const neg = n.startsWith('!');
    if (neg) n = n.slice(1);
    if (neg) push(f.start + 1, '!');
    push(f.start + 1, option, n);
  };
  iface(shape.inIf, '-i');
  iface(shape.outIf, '-o');

  // matches and target options from the option text
  const targetName = shape.target?.text;
  const opts = parseOptionText(optionText, shape.rest, targetName, family);
  if (opts.names) flags.names = true;
  for (const group of opts.matches) tokens.push(...group);
  let pendingName = targetName;
  if (opts.targetName) pendingName = opts.targetName;
  if (pendingName !== undefined) {
    const col = shape.target!.start + 1;
    push(col, opts.goto ? '-g' : '-j', pendingName);
    tokens.push(...opts.target);
  } else if (opts.goto) {
    diag(lineNo, 'warning', 'listing-unparsed', '"[goto]" on a rule without a target ignored', shape.rest + 1);
  }

  const spec = parseRuleSpec(toTokenList(tokens), family);
  for (const p of spec.problems) {
    if (p.code === 'bad-address' && nameColumns.has(p.column)) continue;
    diag(lineNo, p.severity, p.code, p.message, p.column);
  }
  const unknown: Match[] = opts.unparsed.map((u) => ({
    kind: 'module',
    module: '?listing',
    options: [{ name: 'text', negated: false, args: [u.text], known: false }],
    known: false,
  }));
  for (const u of opts.unparsed) {
    diag(lineNo, 'warning', 'listing-unparsed', `option text "${u.text}" is not understood; kept verbatim as an unknown match (the rule's meaning is uncertain)`, u.column);
  }
  const variants = spec.variants.length ? spec.variants : [[]];
  if (variants.length > 1) diag(lineNo, 'warning', 'listing-variants', 'one listing row produced several rules');
  const matches = [...variants[0]!, ...unknown];
  return {
    position: 0,
    line: lineNo,
    raw: line,
    ...(parsed.counters ? { counters: parsed.counters.value } : {}),
    matches,
    target: spec.target,
  };
}

/** A trailing `// note` or ` # note` outside comments and quotes. `#conn` is connlimit's output, not a note. */
export function findTrailingNote(text: string): { index: number; note: string; kind: '//' | '#' } | undefined {
  let inQuote = false;
  let inComment = false;
  for (let i = 0; i < text.length; i++) {
    if (inComment) {
      if (text.startsWith('*/', i)) {
        inComment = false;
        i++;
      }
      continue;
    }
    const ch = text[i];
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (ch === '"') {
      inQuote = true;
      continue;
    }
    if (text.startsWith('/*', i)) {
      inComment = true;
      i++;
      continue;
    }
    const ws = i === 0 || /\s/.test(text[i - 1]!);
    if (ch === '/' && text[i + 1] === '/' && ws) return { index: i, note: text.slice(i + 2).trim(), kind: '//' };
    if (ch === '#' && ws && !/^#conn[\s/]/.test(text.slice(i))) return { index: i, note: text.slice(i + 1).trim(), kind: '#' };
  }
  return undefined;
}
