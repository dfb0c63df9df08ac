// NftRuleset → nft text in `nft list ruleset` style (tabs), loadable with
// `nft -f`: sets, objects and flowtables before chains, so a rule never names
// something declared further down.
import type { NftChain, NftExpr, NftObject, NftRuleset, NftSet, NftTable } from './model.ts';
import { chainName, limitArgs, printElement, printExpr, printRule, quote, quotaArgs } from './print-stmt.ts';
import { formatDuration } from './syntax/vocab.ts';
import { priorityText } from './priority.ts';
import { keyTypes } from './eval/types.ts';
import { runSteps, type Steps } from '../steps.ts';

export interface PrintOptions {
  /** Append `# handle N` like `nft -a list ruleset` (where handles are known). */
  readonly handles?: boolean;
}

export function printNftRuleset(ruleset: NftRuleset, opts: PrintOptions = {}): string {
  return runSteps(printNftRulesetSteps(ruleset, opts));
}

/** Chains, sets' elements (and such) printed between two pauses. */
const PAUSE_EVERY = 256;

/** `printNftRuleset`, pausing every few hundred chains and set elements (a 44k-Service kube-proxy table prints in over a second). */
export function* printNftRulesetSteps(ruleset: NftRuleset, opts: PrintOptions = {}): Steps<string> {
  const tables: string[] = [];
  for (const t of ruleset.tables) tables.push(yield* printTableSteps(t, opts));
  return tables.join('');
}

function handle(h: number | undefined, opts: PrintOptions): string {
  return opts.handles && h !== undefined ? ` # handle ${h}` : '';
}

function name(n: string): string {
  return chainName(n);
}

function* printTableSteps(t: NftTable, opts: PrintOptions): Steps<string> {
  const blocks: string[] = [];
  const head: string[] = [];
  if (t.comment !== undefined) head.push(`\tcomment ${quote(t.comment)}\n`);
  if (t.flags?.length) head.push(`\tflags ${t.flags.join(',')}\n`);
  if (head.length) blocks.push(head.join(''));
  for (const s of t.sets) blocks.push(yield* printSetSteps(s, opts));
  for (const o of t.objects) blocks.push(printObject(o, opts));
  for (const f of t.flowtables) {
    const devs = f.devices.length ? `\t\tdevices = { ${f.devices.map(quote).join(', ')} }\n` : '';
    blocks.push(`\tflowtable ${name(f.name)} {${handle(f.handle, opts)}\n\t\thook ${f.hook} priority ${f.priority}\n${devs}\t}\n`);
  }
  for (let i = 0; i < t.chains.length; i++) {
    if (i % PAUSE_EVERY === PAUSE_EVERY - 1) yield;
    blocks.push(printChain(t, t.chains[i]!, opts));
  }
  return `table ${t.family} ${name(t.name)} {${handle(t.handle, opts)}\n${blocks.join('\n')}}\n`;
}

function typeofText(exprs: readonly NftExpr[]): string {
  return exprs.map(printExpr).join(' . ');
}

function* printSetSteps(s: NftSet, opts: PrintOptions): Steps<string> {
  const lines: string[] = [];
  const key = s.keyTypeof ? `typeof ${typeofText(s.keyTypeof)}` : `type ${s.keyType.join(' . ')}`;
  const data = s.dataTypeof ? typeofText(s.dataTypeof) : s.dataType ? s.dataType.join(' . ') : undefined;
  lines.push(`${key}${data !== undefined ? ` : ${s.dataInterval ? 'interval ' : ''}${data}` : ''}`);
  if (s.policy !== undefined) lines.push(`policy ${s.policy}`);
  if (s.size !== undefined) lines.push(`size ${s.size}`);
  if (s.flags.length) lines.push(`flags ${s.flags.join(',')}`);
  if (s.counter) lines.push('counter');
  if (s.timeout !== undefined) lines.push(`timeout ${formatDuration(s.timeout)}`);
  if (s.gcInterval !== undefined) lines.push(`gc-interval ${formatDuration(s.gcInterval)}`);
  if (s.autoMerge) lines.push('auto-merge');
  if (s.comment !== undefined) lines.push(`comment ${quote(s.comment)}`);
  if (s.elements.length) {
    const types = s.keyTypeof ? s.keyTypeof.map((x) => keyTypes(x)[0] ?? 'unknown') : s.keyType;
    const els: string[] = [];
    for (let i = 0; i < s.elements.length; i++) {
      if (i % PAUSE_EVERY === PAUSE_EVERY - 1) yield;
      els.push(printElement(s.elements[i]!, '\t\t\t\t     ', types));
    }
    lines.push(`elements = { ${els.join(',\n\t\t\t     ')} }`);
  }
  return `\t${s.kind} ${name(s.name)} {${handle(s.handle, opts)}\n${lines.map((l) => `\t\t${l}\n`).join('')}\t}\n`;
}

function prop(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v);
}

function printObject(o: NftObject, opts: PrintOptions): string {
  const p = o.props;
  const lines: string[] = [];
  switch (o.type) {
    case 'counter':
      lines.push(`packets ${prop(p['packets'] ?? 0)} bytes ${prop(p['bytes'] ?? 0)}`);
      break;
    case 'quota':
      lines.push(quotaArgs({ bytes: Number(p['bytes'] ?? 0), over: p['over'] === true, ...(p['used'] !== undefined ? { used: Number(p['used']) } : {}) }));
      break;
    case 'limit':
      lines.push(`rate ${limitArgs({
        rate: Number(p['rate'] ?? 0), per: String(p['per'] ?? 'second'), over: p['over'] === true,
        ...(p['unit'] !== undefined ? { unit: String(p['unit']) } : {}), ...(p['burst'] !== undefined ? { burst: Number(p['burst']) } : {}),
      })}`);
      break;
    case 'ct helper':
      // the helper's name is a string: nft lists it quoted (JSON gives it bare)
      lines.push(`type ${quote(String(p['type'] ?? '').replace(/^"|"$/g, ''))} protocol ${prop(p['protocol'])}`);
      if (p['l3proto'] !== undefined) lines.push(`l3proto ${prop(p['l3proto'])}`);
      break;
    case 'synproxy':
      lines.push(Object.entries(p).map(([k, v]) => (v === true ? k : `${k} ${prop(v)}`)).join(' '));
      break;
    case 'secmark':
      lines.push(prop(p['context'] ?? '""'));
      break;
    default:
      for (const [k, v] of Object.entries(p)) {
        if (k === 'timeout' && typeof v === 'number') lines.push(`timeout ${formatDuration(v)}`);
        else lines.push(v === true ? k : `${k}${k === 'policy' ? ' =' : ''} ${prop(v)}`);
      }
  }
  if (o.comment !== undefined) lines.push(`comment ${quote(o.comment)}`);
  return `\t${o.type} ${name(o.name)} {${handle(o.handle, opts)}\n${lines.map((l) => `\t\t${l}\n`).join('')}\t}\n`;
}

function printChain(t: NftTable, c: NftChain, opts: PrintOptions): string {
  const lines: string[] = [];
  if (c.comment !== undefined) lines.push(`\t\tcomment ${quote(c.comment)}\n`);
  const b = c.base;
  if (b) {
    const dev = b.devices?.length ? (b.devices.length === 1 ? ` device ${quote(b.devices[0]!)}` : ` devices = { ${b.devices.map(quote).join(', ')} }`) : '';
    // Spelled as nft lists it, however it was written: one ruleset, one text.
    const prio = priorityText(t.family, b.hook, b.priority);
    lines.push(`\t\ttype ${b.type} hook ${b.hook}${dev} priority ${prio}; policy ${b.policy};\n`);
  }
  for (const r of c.rules) lines.push(`\t\t${printRule(r, '\t\t', t.family)}${handle(r.handle, opts)}\n`);
  return `\tchain ${name(c.name)} {${handle(c.handle, opts)}\n${lines.join('')}\t}\n`;
}
