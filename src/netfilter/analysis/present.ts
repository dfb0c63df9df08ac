// The trace as the contract's JSON and as readable text.
import type { ClusterPath } from '../pipeline/cluster.ts';
import type { TraceEvent, TraceOutcome, TraceResult } from '../pipeline/trace.ts';
import type { BaseChainRun } from './base-chains.ts';

/** An outcome as the contract's JSON has it: everything but the internal final packet. */
export type TraceOutcomeJson = Omit<TraceOutcome, 'finalPacket'>;

export interface TraceJson {
  readonly outcomes: readonly TraceOutcomeJson[];
  readonly warnings: readonly string[];
}

export function outcomeToJson(o: TraceOutcome): TraceOutcomeJson {
  const { finalPacket: _internal, ...rest } = o;
  return rest;
}

export function traceToJson(r: TraceResult): TraceJson {
  return { outcomes: r.outcomes.map(outcomeToJson), warnings: r.warnings };
}

const pct = (p: number | null): string => (p === null ? 'unknown probability' : `${(p * 100).toFixed(p * 100 % 1 === 0 ? 0 : 2)}%`);

export function formatEvent(e: TraceEvent): string {
  const where = e.language === 'nftables' ? `nft ${e.family} ${e.table} ${e.chain}` : e.backend === 'legacy' ? `iptables-legacy ${e.table} ${e.chain}` : `${e.table.padEnd(6)} ${e.chain}`;
  const head = e.kind === 'policy' ? `${where} (policy)` : `${where} #${e.rule}${e.handle !== undefined ? ` (handle ${e.handle})` : ''}`;
  const lines = [`  ${head.padEnd(44)} → ${e.verdict}`];
  if (e.kind === 'rule') lines.push(`      ${e.text}`);
  for (const c of e.changes ?? []) lines.push(`      ⇒ ${c}`);
  return lines.join('\n');
}

/** Readable trace: one block per outcome, one line per event and what it changed. */
export function formatTraceText(r: TraceResult | TraceJson): string {
  const out: string[] = [];
  r.outcomes.forEach((o, i) => {
    out.push(`Outcome ${i + 1} of ${r.outcomes.length} (${pct(o.probability)}): ${o.verdict}, ${o.disposition}`);
    out.push(`  ${o.reason}`);
    const p = o.packet as Record<string, unknown>;
    const port = (x: unknown) => (x === undefined ? '' : `:${x}`);
    out.push(`  packet: ${p.protocol} ${p.src}${port(p.sport)} → ${p.dst}${port(p.dport)}  mark ${p.mark}  in ${p.inInterface ?? '-'} out ${p.outInterface ?? '-'}`);
    let hook = '';
    for (const e of o.events) {
      if (e.hook !== hook) {
        hook = e.hook;
        out.push(` ${hook}`);
      }
      out.push(formatEvent(e));
    }
    if (o.events.length === 0) out.push('  (no rule or policy was reached)');
    // With native nft tables, the order of the base chains is the story: say it (iptables-only text is unchanged).
    const runs = (o as { baseChains?: readonly BaseChainRun[] }).baseChains ?? [];
    if (runs.some((b) => b.language === 'nftables' || b.backend === 'legacy')) {
      out.push('  base chains:');
      for (const b of runs) {
        const name = b.language === 'nftables' ? `nft ${b.family} ${b.table} ${b.chain}` : `${b.backend === 'legacy' ? 'iptables-legacy' : 'iptables'} ${b.table} ${b.chain}`;
        out.push(`    ${b.hook.padEnd(11)} ${String(b.priority).padStart(4)}  ${name} (${b.owner}) → ${b.verdict}${b.decided ? '  ← decided' : ''}`);
      }
    }
    const ex = (o as { explanation?: { summary: string; nearMisses: readonly string[]; changes: readonly string[]; origin?: string; fix?: readonly string[] } }).explanation;
    if (ex) {
      out.push(`  why: ${ex.summary}`);
      for (const c of ex.changes) out.push(`    set: ${c}`);
      for (const n of ex.nearMisses) out.push(`    near miss: ${n}`);
      if (ex.origin) out.push(`    likely origin: ${ex.origin}`);
      for (const f of ex.fix ?? []) out.push(`    fix: ${f}`);
    }
    for (const a of o.assumptions) out.push(`  assumption: ${a}`);
    out.push('');
  });
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}

/** Short percentages for one-line summaries ('?' when unknown). */
export const shortPct = (p: number | null): string => (p === null ? '?' : `${+(p * 100).toFixed(2)}%`);

/** One line per outcome: probability, verdict, disposition and reason (what-if before/after). */
export function summarizeOutcomes(outcomes: readonly TraceOutcome[]): string[] {
  return outcomes.map((o) => `${shortPct(o.probability)}: ${o.verdict} ${o.disposition} — ${o.reason}`);
}

/** One line per cluster path: probability, end, node and summary. */
export function summarizePaths(paths: readonly ClusterPath[]): string[] {
  return paths.map((p) => `${shortPct(p.probability)}: ${p.end} on ${p.endNode} — ${p.summary}`);
}
