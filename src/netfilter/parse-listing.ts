// Parser for `iptables -L` listings (placeholder until implemented).
import type { Diagnostic, Family, TableName } from './model.ts';
import type { TableDraft } from './build.ts';

export interface ListingParseContext {
  readonly family: Family;
  readonly table?: TableName;
}

export function parseListingLines(_lines: readonly string[], _ctx: ListingParseContext): { tables: TableDraft[]; diagnostics: Diagnostic[] } {
  return { tables: [], diagnostics: [{ line: 1, severity: 'error', code: 'unsupported-format', message: 'listing parser not implemented' }] };
}
