// Checks of a parsed nft ruleset that neither parser can make while it reads
// (they need the statement's key type): values nft would read otherwise than
// they look.
import type { NftDiagnostic, NftExpr, NftRuleset, NftStmt } from './model.ts';
import { literalValue, typeOf } from './eval/types.ts';

const ADDRESS_TYPES = new Set(['ipv4_addr', 'ipv6_addr']);

/**
 * An address compared with something that is not an address (`ip saddr
 * 10.0.0.300`, `ip daddr myhost.example`): nft resolves it as a host name
 * when it loads the ruleset, to addresses the dump does not show, or refuses
 * the ruleset. A trace explores such a match both ways (an assumption each).
 */
export function checkAddressLiterals(ruleset: NftRuleset): NftDiagnostic[] {
  const out: NftDiagnostic[] = [];
  const visit = (stmts: readonly NftStmt[], line: number): void => {
    for (const s of stmts) {
      if (s.kind === 'verdict' && 'chain' in s && s.chain) for (const r of s.chain.rules) visit(r.stmts, r.line ?? line);
      if (s.kind !== 'match' || s.right.kind !== 'literal') continue;
      const type = typeOf(s.left);
      if (!ADDRESS_TYPES.has(type) || literalValue(type, s.right.value) !== undefined) continue;
      out.push({ line, column: 1, severity: 'warning', code: 'address-not-literal', message: `${describe(s.left)} is compared with "${String(s.right.value).replace(/^"|"$/g, '')}", which is not an ${type === 'ipv4_addr' ? 'IPv4' : 'IPv6'} address: nft resolves it as a host name when it loads the ruleset (or refuses it); traces explore the match both ways` });
    }
  };
  for (const t of ruleset.tables) for (const c of t.chains) for (const r of c.rules) visit(r.stmts, r.line ?? 1);
  return out;
}

const describe = (e: NftExpr): string => (e.kind === 'payload' ? `${e.protocol} ${e.field}` : e.kind === 'ct' ? `ct ${e.key}` : 'an address');
