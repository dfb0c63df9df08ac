// The part of a dump a packet of one address family traverses: an IPv4 packet
// never meets ip6tables rules, nor an IPv6 packet iptables rules.
import { parseDump, saveCommandOf, type Family, type ParseResult } from '../netfilter/index.ts';
import { InputError } from './io.ts';

/**
 * Parses the ruleset a packet of `family` traverses. The core reads only that
 * family's part of `iptables-save; ip6tables-save` output (`other-family`
 * diagnostics); a dump of the other family only cannot answer the question and
 * is an input error, whether its headers say so or it reads cleanly only as
 * the other family.
 */
export function parseForFamily(text: string, family: Family, file: string): { parsed: ParseResult; notes: string[] } {
  const other = family === 'ipv4' ? 'ipv6' : 'ipv4';
  const parsed = parseDump(text, { family });
  if (parsed.diagnostics.some((d) => d.code === 'family-mismatch' && d.severity === 'error')) {
    throw new InputError(`${file} holds ${saveCommandOf(other)} output only (${other}), but the packet is ${family}: give the ${saveCommandOf(family)} output`);
  }
  const skipped = parsed.diagnostics.filter((d) => d.code === 'other-family');
  if (skipped.length) {
    return { parsed, notes: [`${file} holds both iptables-save and ip6tables-save output; the ${family} part (${saveCommandOf(family)}) was traced (${skipped.map((d) => d.message).join('; ')})`] };
  }
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 0 && parseDump(text, { family: other }).ok) {
    throw new InputError(`${file} is an ${other} ruleset (${saveCommandOf(other)}): read as ${other} it has no errors, as ${family} ${errors}; the packet is ${family}, so give the ${saveCommandOf(family)} output`);
  }
  return { parsed, notes: [] };
}
