// Parser for `iptables -L` / `ip6tables -L` listings, with or without `-n`,
// `-v`, `-x` and `--line-numbers`.
//
// Every listing row is translated back into the iptables arguments that
// created it (`-p tcp -s X -m comment --comment "..." -m tcp --dport 80 -j
// DNAT --to-destination ...`) and handed to parseRuleSpec, so values are
// normalized exactly like the iptables-save parser normalizes them. The
// option text of a row (what the match and target extensions print) is read
// back by a small grammar per extension, written after the extensions'
// print functions (libxt_*.c `*_print`). Text that no grammar recognizes is
// never dropped: it is kept verbatim as a `?listing` match and reported.
//
// The format is lossy: without `-v` interfaces are not shown, without `-n`
// addresses, ports and users are names, counters with K/M/G suffixes are
// rounded, and the table of a chain is only known from the command line the
// author pasted (or inferred from the chains' content).
import type { Diagnostic, Family, Policy, TableName } from '../model.ts';
import { type ChainDraft, type TableDraft } from './build.ts';
import { isShellPrompt, tableHintFromCommand } from './parse-save.ts';
import { CHAIN_HEADER, CHAIN_HEADER_LIKE, TITLE, FENCE, SEPARATOR, ELISION, IPTABLES_COMMAND, TABLE_DECORATION, type Layout, type Segment, type ChainInstance, type Diag } from './listing/shared.ts';
import { parseCount, parseRow } from './listing/rows.ts';
import { assignTables } from './listing/tables.ts';
import { stripPrompt, shorten } from './listing/util.ts';

export interface ListingParseContext {
  readonly family: Family;
  readonly table?: TableName;
}

export function parseListingLines(lines: readonly string[], ctx: ListingParseContext): { tables: TableDraft[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const diag: Diag = (line, severity, code, message, column) => {
    diagnostics.push({ line, severity, code, message, ...(column !== undefined ? { column } : {}) });
  };
  const family = ctx.family;
  const instances: ChainInstance[] = [];
  let segmentId = 0;
  const newSegment = (hint: TableName | undefined, hintSource: Segment['hintSource']): Segment => ({ id: segmentId++, hint, hintSource, names: new Set() });
  let segment = newSegment(ctx.table, ctx.table ? 'context' : 'none');
  let current: ChainInstance | undefined;
  const once = new Set<string>();
  const onceDiag: Diag = (line, severity, code, message, column) => {
    if (once.has(code)) return;
    once.add(code);
    diag(line, severity, code, message, column);
  };
  const flags = { names: false, approximate: false };

  /** A decoration such as `=== nat table ===` or `# filter`: the table of the chains below. */
  const tableDecoration = (text: string, lineNo: number): boolean => {
    const deco = TABLE_DECORATION.exec(text);
    if (!deco) return false;
    const t = deco[1]!.toLowerCase() as TableName;
    diag(lineNo, 'info', 'table-hint', `"${text}" read as the table (${t}) of the chains below`);
    segment = newSegment(t, 'decoration');
    current = undefined;
    return true;
  };

  /** A shell prompt or command line: the table of the chains below comes from its `-t`. */
  const commandLine = (what: string, command: string, lineNo: number): void => {
    const m = IPTABLES_COMMAND.exec(command.trim());
    current = undefined;
    if (!m) {
      // Some other command: what follows is not this listing's output.
      diag(lineNo, 'warning', 'shell-prompt', `${what} ignored`);
      segment = newSegment(ctx.table, ctx.table ? 'context' : 'none');
      return;
    }
    const [, tool, args = ''] = m;
    if (tool === 'ip6tables' && family === 'ipv4') {
      diag(lineNo, 'warning', 'family-mismatch', 'ip6tables command in a listing that is parsed as IPv4');
    } else if (tool === 'iptables' && family === 'ipv6') {
      diag(lineNo, 'warning', 'family-mismatch', 'iptables command in a listing that is parsed as IPv6');
    }
    const explicit = tableHintFromCommand(' ' + args);
    const listing = /(?:^|\s)(?:--list(?:\s|=|$)|-[a-zA-Z]*L)/.test(args);
    if (explicit) segment = newSegment(explicit, 'command');
    else if (listing) segment = newSegment('filter', 'implicit');
    else segment = newSegment(ctx.table, ctx.table ? 'context' : 'none');
    const table = segment.hint
      ? `; the chains below are in table ${segment.hint}${explicit ? '' : listing ? ' (no -t: iptables lists filter)' : ' (from the caller)'}`
      : '';
    diag(lineNo, 'warning', 'shell-prompt', `${what} ignored${table}`);
  };

  for (let idx = 0; idx < lines.length; idx++) {
    const lineNo = idx + 1;
    const original = lines[idx]!.replace(/\r$/, '');
    const trimmed = original.trim();
    if (trimmed === '') continue;

    if (FENCE.test(trimmed)) {
      diag(lineNo, 'info', 'markdown-fence', 'markdown code fence ignored');
      continue;
    }

    const header = CHAIN_HEADER.exec(trimmed);
    if (header) {
      const [, name, policyText, pk, by, , rest = ''] = header;
      if (rest.trim() !== '') {
        const note = rest.trim();
        diag(lineNo, 'warning', 'trailing-note', `text after the chain header ignored: "${note}"`, original.indexOf(note) + 1);
      }
      if (segment.names.has(name!)) {
        // The same chain again: a second listing (another table, or a later snapshot).
        segment = newSegment(segment.hint, segment.hintSource);
      }
      segment.names.add(name!);
      const draft: ChainDraft = { name: name!, policy: null, declared: true, rules: [], line: lineNo };
      if (policyText !== undefined) {
        if (policyText === 'ACCEPT' || policyText === 'DROP') draft.policy = policyText as Policy;
        else {
          draft.policy = 'UNKNOWN';
          diag(lineNo, 'error', 'bad-policy', `bad policy "${policyText}" for chain ${name}`);
        }
        if (pk !== undefined && by !== undefined) {
          const packets = parseCount(pk);
          const bytes = parseCount(by);
          if (packets && bytes) {
            draft.counters = { packets: packets.value, bytes: bytes.value };
            if (packets.approximate || bytes.approximate) flags.approximate = true;
          } else diag(lineNo, 'warning', 'bad-counters', `policy counters "${pk} packets, ${by} bytes" are not numbers; ignored`);
        }
      }
      current = { draft, segment, builtin: policyText !== undefined, line: lineNo, layout: undefined, titleWarned: false, lastNum: 0 };
      instances.push(current);
      continue;
    }
    if (CHAIN_HEADER_LIKE.test(trimmed)) {
      diag(lineNo, 'error', 'bad-chain-header', `malformed chain header "${trimmed}"`, 1);
      current = undefined;
      continue;
    }

    const title = TITLE.exec(trimmed);
    if (title) {
      const layout: Layout = { num: title[1] !== undefined, counters: title[2] !== undefined, iface: title[3] !== undefined };
      if (!layout.iface) {
        onceDiag(lineNo, 'warning', 'listing-lossy',
          'listing without -v: interfaces (-i/-o) are not shown, so every rule looks interface-agnostic; rules that match on an interface are read as if they matched all interfaces');
      }
      if (current) {
        if (current.layout) diag(lineNo, 'warning', 'duplicate-title', 'second column-title line in one chain');
        current.layout = layout;
      } else diag(lineNo, 'warning', 'not-a-rule', 'column titles outside a chain ignored', 1);
      continue;
    }

    if (trimmed.startsWith('#')) {
      const body = trimmed.replace(/^#+\s*/, '');
      if (IPTABLES_COMMAND.test(body)) {
        commandLine('shell prompt line', body, lineNo);
        continue;
      }
      if (tableDecoration(trimmed, lineNo)) continue;
      if (/^#\s*Warning: iptables-legacy tables present/.test(trimmed)) {
        diag(lineNo, 'info', 'legacy-tables-present', 'iptables-nft reports that iptables-legacy tables also exist on this node; they are not in this listing');
        continue;
      }
      if (/^#\s*\.{3,}\s*$/.test(trimmed)) {
        diag(lineNo, 'warning', 'elided', 'elision marker: the paste leaves rules out here');
        continue;
      }
      diag(lineNo, 'info', 'comment-line', `comment ignored: "${shorten(trimmed)}"`);
      continue;
    }
    if (isShellPrompt(original)) {
      commandLine('shell prompt line', stripPrompt(trimmed), lineNo);
      continue;
    }
    if (IPTABLES_COMMAND.test(trimmed)) {
      commandLine('command line', trimmed, lineNo);
      continue;
    }
    if (SEPARATOR.test(trimmed)) {
      diag(lineNo, 'info', 'separator', 'separator line ignored');
      continue;
    }
    if (ELISION.test(trimmed)) {
      diag(lineNo, 'warning', 'elided', 'elision marker: the paste leaves rules out here');
      continue;
    }
    if (tableDecoration(trimmed, lineNo)) continue;

    if (!current) {
      diag(lineNo, 'warning', 'not-a-rule', `line is not part of a listing: "${shorten(trimmed)}"`, 1);
      continue;
    }
    const row = parseRow(original, lineNo, current, family, diag, onceDiag, flags);
    if (!row) continue;
    current.draft.rules.push(row);
  }

  if (flags.approximate) {
    const first = instances.find((c) => c.draft.counters || c.draft.rules.some((r) => r.counters));
    diag(first?.line ?? 1, 'info', 'approximate-counters',
      'counters printed with K/M/G/T suffixes (iptables -v without -x) are rounded; they were multiplied out (K = 1000) and are approximate');
  }
  if (flags.names) {
    onceDiag(instances[0]?.line ?? 1, 'info', 'listing-names',
      'listing without -n: addresses, ports, protocols and users are shown as names; they were translated back with built-in tables (/etc/services, /etc/hosts subsets)');
  }

  return { tables: assignTables(instances, diag), diagnostics };
}

