// Plain-JSON views of the model (counters as numbers) for the CLI and HTTP API.
import type { Counters, Diagnostic, Ruleset } from './model.ts';

export interface CountersJson {
  readonly packets: number;
  readonly bytes: number;
}

export const countersToJson = (c: Counters | undefined): CountersJson | null =>
  c ? { packets: Number(c.packets), bytes: Number(c.bytes) } : null;

/** The model as JSON-safe data: bigint counters become numbers. */
export function rulesetToJson(ruleset: Ruleset): unknown {
  return JSON.parse(JSON.stringify(ruleset, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
}

export function diagnosticToJson(d: Diagnostic): Diagnostic {
  return { line: d.line, ...(d.column !== undefined ? { column: d.column } : {}), severity: d.severity, code: d.code, message: d.message };
}
