// More match print functions for listings (see render-listing.ts): what
// libxt_hashlimit.c and libip6t_rt.c print with numeric output.
import type { ExtOption, Family } from '../model.ts';

type Opts = readonly ExtOption[];
const opt = (o: Opts, name: string): ExtOption | undefined => o.find((x) => x.name === name);
const arg = (o: Opts, name: string): string | undefined => opt(o, name)?.args[0];
const has = (o: Opts, name: string): boolean => o.some((x) => x.name === name);

export const LISTING_MATCHES_MORE: Readonly<Record<string, (o: Opts, family: Family) => string | undefined>> = {
  // libxt_hashlimit.c hashlimit_mt_print: defaults (burst 5, masks 32/128) are not printed.
  hashlimit: (o, family) => {
    const above = arg(o, 'hashlimit-above');
    let s = above !== undefined ? ` limit: above ${above}` : ` limit: up to ${arg(o, 'hashlimit-upto') ?? arg(o, 'hashlimit') ?? ''}`;
    const burst = arg(o, 'hashlimit-burst');
    if (burst !== undefined && burst !== '5') s += ` burst ${burst}`;
    const mode = arg(o, 'hashlimit-mode');
    if (mode) s += ` mode ${mode.split(',').join('-')}`;
    for (const [name, word] of [['hashlimit-htable-size', 'htable-size'], ['hashlimit-htable-max', 'htable-max'], ['hashlimit-htable-gcinterval', 'htable-gcinterval'], ['hashlimit-htable-expire', 'htable-expire']] as const) {
      const v = arg(o, name);
      if (v !== undefined) s += ` ${word} ${v}`;
    }
    const full = family === 'ipv6' ? '128' : '32';
    for (const [name, word] of [['hashlimit-srcmask', 'srcmask'], ['hashlimit-dstmask', 'dstmask']] as const) {
      const v = arg(o, name);
      if (v !== undefined && v !== full) s += ` ${word} ${v}`;
    }
    return s;
  },
  // libip6t_rt.c rt_print.
  rt: (o) => {
    let s = ' rt';
    const t = opt(o, 'rt-type');
    if (t) s += ` type:${t.negated ? '!' : ''}${t.args[0]}`;
    const left = opt(o, 'rt-segsleft');
    if (left) {
      const [lo, hi] = left.args[0]!.split(':');
      s += hi === undefined || hi === lo ? ` segsleft:${left.negated ? '!' : ''}${lo}` : ` segslefts:${left.negated ? '!' : ''}${lo}:${hi}`;
    }
    const len = opt(o, 'rt-len');
    if (len) s += ` length:${len.negated ? '!' : ''}${len.args[0]}`;
    if (has(o, 'rt-0-res')) s += ' reserved';
    return s;
  },
};
