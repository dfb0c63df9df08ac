// Durations as people write them: `90s`, `5m`, `12h`, `30d`, `2w` (or a
// plain number of seconds; `500ms` too). Used by token expiry and the agent.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d|w)?$';

/** Milliseconds of a duration text, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}
