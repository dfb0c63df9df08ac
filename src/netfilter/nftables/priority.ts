// Chain priorities: nft's symbolic names resolve per family and hook
// (nftables src/rule.c std_prio_table), e.g. `dstnat - 10` is -110 in ip.
import type { NftFamily } from './model.ts';

const IP_PRIOS: Readonly<Record<string, number>> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const BRIDGE_PRIOS: Readonly<Record<string, number>> = { dstnat: -300, filter: -200, out: 100, srcnat: 300 };
const OTHER_PRIOS: Readonly<Record<string, number>> = { filter: 0 };

/** The numeric value of a standard priority name in a family, or undefined when the name is not one there. */
export function standardPriority(family: NftFamily, name: string): number | undefined {
  const table = family === 'bridge' ? BRIDGE_PRIOS : family === 'arp' || family === 'netdev' ? OTHER_PRIOS : IP_PRIOS;
  return table[name];
}

/**
 * `-150`, `mangle`, `dstnat - 10`, `filter + 10` → the number, or an error
 * message. nft itself also refuses some names on some hooks (dstnat only on
 * prerouting/output, srcnat on postrouting/input); the kernel orders by the
 * number, so that is what matters here.
 */
export function resolvePriority(family: NftFamily, text: string): { value: number } | { error: string } {
  const t = text.trim();
  if (/^[-+]?\d+$/.test(t)) return { value: Number(t) };
  const m = /^([a-z]+)\s*(?:([-+])\s*(\d+))?$/.exec(t);
  if (!m) return { error: `"${t}" is not a chain priority` };
  const base = standardPriority(family, m[1]!);
  if (base === undefined) return { error: `"${m[1]}" is not a standard priority in the ${family} family` };
  const delta = m[3] ? Number(m[3]) * (m[2] === '-' ? -1 : 1) : 0;
  return { value: base + delta };
}

/** Standard names nft prints only at one hook (nftables src/rule.c std_prio_family_hook_compat). */
const ONLY_AT: Readonly<Record<string, string>> = { dstnat: 'prerouting', srcnat: 'postrouting', out: 'output' };

/**
 * The priority as `nft list ruleset` prints it: the standard name within 10 of
 * the value (`dstnat - 10`), if nft uses that name at this hook, else the
 * number (checked against nft 1.0.6 for every family and hook).
 */
export function priorityText(family: NftFamily, hook: string, value: number): string {
  const table = family === 'bridge' ? BRIDGE_PRIOS : family === 'arp' || family === 'netdev' ? OTHER_PRIOS : IP_PRIOS;
  for (const [name, base] of Object.entries(table)) {
    const d = value - base;
    if (Math.abs(d) > 10) continue;
    if (ONLY_AT[name] !== undefined && ONLY_AT[name] !== hook) break;
    return d === 0 ? name : `${name} ${d < 0 ? '-' : '+'} ${Math.abs(d)}`;
  }
  return String(value);
}
