// nft text of expressions and statements, as `nft list ruleset` writes them
// (and as nft 1.0.6's `nft -f` accepts them).
import type { NftElement, NftExpr, NftFamily, NftRule, NftStmt, NftVerdict } from './model.ts';
import { formatDuration } from './syntax/vocab.ts';
import { BITMASK_TYPES, keyTypes, type NftType } from './eval/types.ts';

export function quote(s: string): string {
  return `"${s}"`;
}

function literal(v: string | number | boolean): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'exists' : 'missing';
  if (v.startsWith('"')) return v;
  // JSON gives strings bare (`cali*`, `my chain`); nft's scanner needs those quoted
  return v === '' || /[\s{}()[\];,"#*$@\\'!=&|^<>]/.test(v) ? quote(v) : v;
}

function operand(e: NftExpr, parentOp: string, right: boolean): string {
  if (e.kind === 'flags') return e.values.length === 1 ? e.values[0]! : `(${e.values.join(' | ')})`;
  if (e.kind === 'binop' && (right || e.op !== parentOp)) return `(${printExpr(e)})`;
  return printExpr(e);
}

export function printExpr(e: NftExpr): string {
  switch (e.kind) {
    case 'literal':
      return literal(e.value);
    case 'payload':
      return `${e.protocol} ${e.field}`;
    case 'rawPayload':
      return `@${e.base},${e.offset},${e.len}`;
    case 'meta':
      return `meta ${e.key}`;
    case 'ct':
      return ['ct', e.dir, e.family, e.key].filter(Boolean).join(' ');
    case 'fib':
      return `fib ${e.flags.join(' . ')} ${e.result}`;
    case 'numgen':
      return `numgen ${e.mode} mod ${e.mod}${e.offset ? ` offset ${e.offset}` : ''}`;
    case 'hash':
      return `${e.fn}${e.expr ? ` ${printExpr(e.expr)}` : ''} mod ${e.mod}${e.seed !== undefined ? ` seed 0x${e.seed.toString(16)}` : ''}${e.offset ? ` offset ${e.offset}` : ''}`;
    case 'rt':
      return ['rt', e.family, e.key].filter(Boolean).join(' ');
    case 'exthdr':
      return e.field ? `${e.name} ${e.field}` : `exthdr ${e.name}`;
    case 'tcpOption':
      return `tcp option ${e.name}${e.field ? ` ${e.field}` : ''}`;
    case 'socket':
      return `socket ${e.key}`;
    case 'osf':
      return `osf ${e.ttl ? `ttl ${e.ttl} ` : ''}${e.key}`;
    case 'ipsec':
      // spnum 0 is the default, which nft lists as nothing (and nft -j spells out)
      return ['ipsec', e.dir, e.spnum ? `spnum ${e.spnum}` : '', e.family, e.key].filter(Boolean).join(' ');
    case 'concat':
      return e.items.map((i) => (i.kind === 'binop' || i.kind === 'map' ? `(${printExpr(i)})` : printExpr(i))).join(' . ');
    case 'set':
      return e.elements.length ? `{ ${e.elements.map((x) => printElement(x)).join(', ')} }` : '{ }';
    case 'setRef':
      return `@${e.name}`;
    case 'prefix':
      return `${printExpr(e.addr)}/${e.len}`;
    case 'range':
      return `${printExpr(e.from)}-${printExpr(e.to)}`;
    case 'binop':
      return `${operand(e.left, e.op, false)} ${e.op} ${operand(e.right, e.op, true)}`;
    case 'map':
      return `${printExpr(e.key)} map ${printExpr(e.data)}`;
    case 'flags':
      return e.values.join(',');
    case 'elem':
      return `${printExpr(e.value)}${elemOptions(e)}`;
    case 'unknown':
      return e.text;
  }
}

function elemOptions(e: { timeout?: number; expires?: number; comment?: string; counter?: { packets: number; bytes: number } }): string {
  // nft 1.0.6 reads an element's counter before its timeout/expires/comment
  let s = '';
  if (e.counter) s += ` counter packets ${e.counter.packets} bytes ${e.counter.bytes}`;
  if (e.timeout !== undefined) s += ` timeout ${formatDuration(e.timeout)}`;
  if (e.expires !== undefined) s += ` expires ${formatDuration(e.expires)}`;
  if (e.comment !== undefined) s += ` comment ${quote(e.comment)}`;
  return s;
}

/**
 * A value compared with a key of these types, spelled as nft lists it: interface
 * names quoted (JSON gives them bare), set members and concatenations component
 * by component. One ruleset then prints the same from `nft -j` and from `nft list`.
 */
/** Types whose names nft lists in quotes (`iifname "eth0"`, `meta iif "lo"`, `meta day "Monday"`, `ct helper "ftp"`). */
const QUOTED_TYPES: ReadonlySet<string> = new Set(['ifname', 'iface_index', 'string', 'day', 'hour']);

export function printValue(e: NftExpr, types: readonly (NftType | string)[] | undefined): string {
  if (!types) return printExpr(e);
  switch (e.kind) {
    case 'literal':
      return types.length === 1 && QUOTED_TYPES.has(types[0]!) && typeof e.value === 'string' && !e.value.startsWith('"') && !/^(\d+|exists|missing)$/.test(e.value) ? quote(e.value) : printExpr(e);
    case 'concat':
      return types.length === e.items.length ? e.items.map((i, n) => (i.kind === 'binop' || i.kind === 'map' ? `(${printExpr(i)})` : printValue(i, [types[n]!]))).join(' . ') : printExpr(e);
    case 'set':
      return e.elements.length ? `{ ${e.elements.map((x) => printElement(x, '', types)).join(', ')} }` : '{ }';
    case 'elem':
      return `${printValue(e.value, types)}${elemOptions(e)}`;
    default:
      return printExpr(e);
  }
}

export function printElement(el: NftElement, indent = '', types?: readonly (NftType | string)[]): string {
  const key = `${printValue(el.key, types)}${elemOptions(el)}`;
  if (el.data === undefined) return key;
  return `${key} : ${isVerdict(el.data) ? printVerdict(el.data, indent) : printExpr(el.data)}`;
}

function isVerdict(x: NftExpr | NftVerdict): x is NftVerdict {
  return x.kind === 'verdict';
}

function printVerdict(v: NftVerdict, indent: string): string {
  if (v.verdict !== 'jump' && v.verdict !== 'goto') return v.verdict;
  if ('chain' in v && v.chain) {
    const inner = v.chain.rules.map((r) => `${indent}\t${printRule(r, `${indent}\t`)}\n`).join('');
    return `${v.verdict} {\n${inner}${indent}}`;
  }
  return `${v.verdict} ${chainName(v.target)}`;
}

/** Chain names are words unless they hold characters nft's scanner splits on. */
export function chainName(n: string): string {
  return /^[A-Za-z_.][A-Za-z0-9_./\-]*$/.test(n) && !['accept', 'drop', 'return', 'continue', 'jump', 'goto', 'map', 'vmap', 'set'].includes(n) ? n : quote(n);
}

function byteText(n: number): string {
  return `${n} bytes`;
}

function natTarget(s: Extract<NftStmt, { kind: 'nat' }>): string {
  const a = s.addr;
  const p = s.port ? printExpr(s.port) : undefined;
  if (!a) return p !== undefined ? ` to :${p}` : '';
  const addr = printExpr(a);
  if (p === undefined) return ` to ${addr}`;
  const simple = a.kind === 'literal' || a.kind === 'range';
  if (simple && addr.includes(':')) return ` to [${a.kind === 'range' ? `${printExpr(a.from)}]-[${printExpr(a.to)}` : addr}]:${p}`;
  return simple ? ` to ${addr}:${p}` : ` to ${addr} : ${p}`;
}

/** The types nft prints a key's values by: the evaluator's, and the string-valued keys it does not type. */
function displayTypes(e: NftExpr): readonly (NftType | string)[] {
  if (e.kind === 'ct' && e.key === 'helper') return ['string'];
  if (e.kind === 'meta' && (e.key === 'hour' || e.key === 'day')) return [e.key];
  return keyTypes(e);
}

/** nft's default reject of a family (what a bare `reject` sends): listed as `reject`. */
const DEFAULT_REJECT: Partial<Record<NftFamily, string>> = { ip: 'icmp', ip6: 'icmpv6', inet: 'icmpx', bridge: 'icmpx', netdev: 'icmpx' };

function printMatch(s: Extract<NftStmt, { kind: 'match' }>): string {
  // `tcp flags syn / syn,fin,rst`: nft's own spelling of (flags & mask) == value
  if ((s.op === '==' || s.op === '!=') && s.left.kind === 'binop' && s.left.op === '&' && s.left.right.kind === 'flags' && (s.right.kind === 'flags' || s.right.kind === 'literal')) {
    return `${printExpr(s.left.left)} ${s.op === '!=' ? '!= ' : ''}${printExpr(s.right)} / ${printExpr(s.left.right)}`;
  }
  const types = displayTypes(s.left);
  const bitmask = types.length === 1 && BITMASK_TYPES.has(types[0] as NftType);
  // `==` is nft's bare form, except after `&` and on a bit set compared with a value (the
  // bare form tests for any bit); a set lookup is bare either way: `ct state { established, related }`.
  const bare = s.op === 'implicit' || s.op === 'in' || (s.op === '==' && s.left.kind !== 'binop' && (!bitmask || s.right.kind === 'set' || s.right.kind === 'setRef'));
  return bare ? `${printExpr(s.left)} ${printValue(s.right, types)}` : `${printExpr(s.left)} ${s.op} ${printValue(s.right, types)}`;
}

export function printStmt(s: NftStmt, indent = '', family?: NftFamily): string {
  switch (s.kind) {
    case 'match':
      return printMatch(s);
    case 'verdict':
      return printVerdict(s, indent);
    case 'vmap': {
      const types = keyTypes(s.key);
      return `${printExpr(s.key)} vmap ${s.data.kind === 'set' ? `{ ${s.data.elements.map((e) => printElement(e, indent, types)).join(', ')} }` : printExpr(s.data)}`;
    }
    case 'counter':
      if (s.name !== undefined) return `counter name ${literal(s.name)}`;
      return s.packets !== undefined ? `counter packets ${s.packets} bytes ${s.bytes ?? 0}` : 'counter';
    case 'mangle':
      return `${printExpr(s.key)} set ${printExpr(s.value)}`;
    case 'nat': {
      const kind = s.typeAddrPort ? ' addr . port' : s.typePrefix ? ' prefix' : '';
      const head = `${s.type}${s.family ? ` ${s.family}` : ''}${kind}`;
      const redirectish = s.type === 'masquerade' || s.type === 'redirect';
      const target = redirectish ? (s.port ? ` to :${printExpr(s.port)}` : '') : natTarget(s);
      return `${head}${target}${s.flags.length ? ` ${s.flags.join(',')}` : ''}`;
    }
    case 'reject':
      if (!s.type || (family !== undefined && s.type === DEFAULT_REJECT[family] && (s.code === undefined || s.code === 'port-unreachable'))) return 'reject';
      if (s.type === 'tcp reset') return 'reject with tcp reset';
      return `reject with ${s.type} type ${s.code ?? 'port-unreachable'}`;
    case 'log': {
      const parts = ['log'];
      for (const [k, v] of Object.entries(s.props)) {
        for (const one of Array.isArray(v) ? v : [v]) parts.push(k, k === 'prefix' ? quote(String(one)) : String(one));
      }
      return parts.join(' ');
    }
    case 'limit': {
      if (s.name !== undefined) return `limit name ${literal(s.name)}`;
      return `limit rate ${limitArgs(s)}`;
    }
    case 'quota':
      if (s.name !== undefined) return `quota name ${literal(s.name)}`;
      return `quota ${quotaArgs(s)}`;
    case 'notrack':
      return 'notrack';
    case 'queue':
      return `queue${s.num ? ` num ${printExpr(s.num)}` : ''}${s.flags.length ? ` ${s.flags.join(',')}` : ''}`;
    case 'setUpdate':
      return `${s.op} @${s.set} { ${printExpr(s.elem)}${s.stmts?.length ? ` ${s.stmts.map((x) => printStmt(x, indent)).join(' ')}` : ''} }`;
    case 'ctHelper': {
      // helper names are strings, listed quoted; `ct helper set udp dport map { 69 : "tftp-69" }`
      const h = s.helper;
      if (h.kind === 'map' && h.data.kind === 'set') return `ct helper set ${printExpr(h.key)} map { ${h.data.elements.map((e) => `${printExpr(e.key)} : ${e.data && !isVerdict(e.data) ? printValue(e.data, ['string']) : ''}`).join(', ')} }`;
      return `ct helper set ${printValue(h, ['string'])}`;
    }
    case 'ctTimeout':
    case 'ctExpectation':
      return `ct ${s.kind === 'ctTimeout' ? 'timeout' : 'expectation'} set ${typeof s.value === 'string' ? s.value : printExpr(s.value)}`;
    case 'synproxy':
      return typeof s.value === 'string' ? `synproxy${s.value ? ` ${s.value}` : ''}` : `synproxy name ${printExpr(s.value)}`;
    case 'secmark':
      return `meta secmark set ${typeof s.value === 'string' ? s.value : printExpr(s.value)}`;
    case 'flowOffload':
      return `flow add @${s.flowtable}`;
    case 'dup':
    case 'fwd':
      return `${s.kind} to ${[s.addr ? printExpr(s.addr) : '', s.addr && s.dev ? 'device' : '', s.dev ? printExpr(s.dev) : ''].filter(Boolean).join(' ')}`;
    case 'xt':
      return `xt ${s.type} ${s.name}`;
    case 'unknown':
      return s.text;
  }
}

export function limitArgs(s: { rate: number; per: string; unit?: string; burst?: number; over: boolean }): string {
  const rate = s.unit ? `${s.rate} ${s.unit}/${s.per}` : `${s.rate}/${s.per}`;
  const burst = s.burst !== undefined ? ` burst ${s.burst} ${s.unit ? 'bytes' : 'packets'}` : '';
  return `${s.over ? 'over ' : ''}${rate}${burst}`;
}

export function quotaArgs(s: { bytes: number; used?: number; over: boolean }): string {
  return `${s.over ? 'over ' : ''}${byteText(s.bytes)}${s.used !== undefined ? ` used ${byteText(s.used)}` : ''}`;
}

/** A rule's statements (and comment) on one line; anonymous chains span lines at `indent`. */
export function printRule(r: NftRule, indent = '', family?: NftFamily): string {
  const parts = r.stmts.map((s) => printStmt(s, indent, family));
  if (r.comment !== undefined) parts.push(`comment ${quote(r.comment)}`);
  return parts.join(' ');
}
