// Small helpers of the listing parser (split from parse-listing.ts).

// ---------------------------------------------------------------------------
// Small helpers

export function stripPrompt(line: string): string {
  const m = /^\s*(?:\[[^\]]*\]\s?[#$]|[\w.-]+@[\w.-]+(?::\S*)?\s?[#$]|\/\s?#|~\s?[#$]|\$)\s*(.*)$/.exec(line);
  return m ? m[1]! : line;
}

/** Own properties only: names from the input must not reach Object.prototype. */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

export function shorten(text: string): string {
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
