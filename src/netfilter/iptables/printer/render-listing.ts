// A chain in the column layout of `iptables -L -n -v`. Match options are
// written in iptables-save syntax (the listing's own per-module wording is
// not reproduced).
import type { Chain, ExtOption, Match, Table } from '../model.ts';
import { renderOptions, renderTarget } from './render.ts';
import { referencesTo } from '../../analysis/query.ts';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

function human(n: bigint | undefined): string {
  if (n === undefined) return '0';
  const units = ['', 'K', 'M', 'G', 'T'];
  let v = Number(n);
  let i = 0;
  while (v >= 100000 && i < units.length - 1) {
    v = Math.round(v / 1000);
    i++;
  }
  return `${v}${units[i]}`;
}

export function renderChainListing(table: Table, chain: Chain): string {
  const head = chain.builtin
    ? `Chain ${chain.name} (policy ${chain.policy ?? 'ACCEPT'} ${human(chain.counters?.packets)} packets, ${human(chain.counters?.bytes)} bytes)`
    : `Chain ${chain.name} (${referencesTo(table, chain.name).length} references)`;
  const lines = [head, ' pkts bytes target     prot opt in     out     source               destination'];
  for (const r of chain.rules) {
    const neg = (m: { negated: boolean } | undefined) => (m?.negated ? '!' : '');
    let proto: { negated: boolean; protocol: string } | undefined;
    let src: { negated: boolean; cidr: string } | undefined;
    let dst: { negated: boolean; cidr: string } | undefined;
    let inIf: { negated: boolean; name: string } | undefined;
    let outIf: { negated: boolean; name: string } | undefined;
    let frag: { negated: boolean } | undefined;
    for (const m of r.matches) {
      if (m.kind === 'protocol') proto = m;
      else if (m.kind === 'source') src = m;
      else if (m.kind === 'destination') dst = m;
      else if (m.kind === 'inInterface') inIf = m;
      else if (m.kind === 'outInterface') outIf = m;
      else if (m.kind === 'fragment') frag = m;
    }
    const target = r.target ? renderTarget(r.target).replace(/^ -[jg] /, '').split(' ')[0]! : '';
    const targetOpts = r.target?.kind === 'extension' ? renderOptions(r.target.options as ExtOption[]).trim() : r.target?.kind === 'goto' ? '[goto]' : '';
    const modules = r.matches.filter((m): m is Extract<Match, { kind: 'module' }> => m.kind === 'module').map((m) => `-m ${m.module}${renderOptions(m.options)}`).join(' ');
    lines.push(
      `${lpad(human(r.counters?.packets), 5)} ${lpad(human(r.counters?.bytes), 5)} ${pad(target, 10)} ${pad(neg(proto) + (proto?.protocol ?? 'all'), 4)} ${frag ? (frag.negated ? '!f' : '-f') : '--'}  ${pad(neg(inIf) + (inIf?.name ?? '*'), 6)} ${pad(neg(outIf) + (outIf?.name ?? '*'), 6)}  ${pad(neg(src) + (src?.cidr ?? '0.0.0.0/0'), 20)} ${pad(neg(dst) + (dst?.cidr ?? '0.0.0.0/0'), 20)} ${[modules, targetOpts].filter(Boolean).join(' ')}`.trimEnd(),
    );
  }
  return lines.join('\n') + '\n';
}
