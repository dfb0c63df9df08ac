// Deterministic edits of iptables-save dumps, for tests of delta uploads.

/** Deterministic pseudo-random numbers. */
function random(seedValue: number): () => number {
  let s = seedValue >>> 0 || 1;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const RULE = /^(\[\d+:\d+\] )?-A (\S+)/;

/**
 * Edits a collection makes that keep the dump's shape (the fast path's case): a rule changed,
 * deleted, duplicated or added to a chain (an empty one too), a chain emptied, counters moved, the
 * timestamp comments changed.
 */
export function shapedEdit(text: string, seedValue: number, edits = 3): string {
  const rnd = random(seedValue);
  const lines = text.split('\n');
  const pick = <T,>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
  const ruleLines = (): number[] => lines.flatMap((l, i) => (RULE.test(l) ? [i] : []));
  for (let e = 0; e < edits; e++) {
    const k = Math.floor(rnd() * 8);
    const rules = ruleLines();
    const at = pick(rules);
    if (at === undefined) break;
    const chain = RULE.exec(lines[at]!)![2]!;
    if (k === 0) lines[at] = lines[at]!.replace(/(-j \S+)/, `-s 198.51.100.${Math.floor(rnd() * 250)}/32 $1`);
    else if (k === 1) lines.splice(at, 1);
    else if (k === 2) lines.splice(at + 1, 0, lines[at]!);
    else if (k === 3) lines.splice(at + 1, 0, `${lines[at]!.startsWith('[') ? '[0:0] ' : ''}-A ${chain} -s 203.0.113.${Math.floor(rnd() * 250)}/32 -p tcp -m tcp --dport ${1 + Math.floor(rnd() * 9000)} -j RETURN`);
    else if (k === 4) {
      // Every rule of the chain goes.
      for (let i = lines.length - 1; i >= 0; i--) if (RULE.exec(lines[i]!)?.[2] === chain) lines.splice(i, 1);
    } else if (k === 5) {
      // A rule for a declared chain, before its table's COMMIT (an empty chain gets its first rule).
      const decl = pick(lines.flatMap((l, i) => (l.startsWith(':') ? [i] : [])));
      if (decl === undefined) continue;
      const name = lines[decl]!.slice(1, lines[decl]!.indexOf(' '));
      const commit = lines.indexOf('COMMIT', decl);
      const counted = lines.slice(decl, commit).some((l) => l.startsWith('['));
      // After the chain's last rule, or before COMMIT when it has none.
      let after = commit - 1;
      for (let i = decl; i < commit; i++) if (RULE.exec(lines[i]!)?.[2] === name) after = i;
      lines.splice(after + 1, 0, `${counted ? '[1:60] ' : ''}-A ${name} -m comment --comment "added ${e}" -j ACCEPT`);
    } else if (k === 6) {
      for (let n = 0; n < 1 + rules.length / 20; n++) {
        const i = pick(rules)!;
        if (lines[i]?.startsWith('[')) lines[i] = lines[i]!.replace(/^\[\d+:\d+\]/, `[${Math.floor(rnd() * 99)}:${Math.floor(rnd() * 9999)}]`);
      }
      const d = pick(lines.flatMap((l, i) => (/^:\S+ \S+ \[\d+:\d+\]$/.test(l) ? [i] : [])));
      if (d !== undefined) lines[d] = lines[d]!.replace(/\[\d+:\d+\]$/, `[${Math.floor(rnd() * 99)}:0${Math.floor(rnd() * 9)}]`);
    } else {
      for (let i = 0; i < lines.length; i++) if (lines[i]!.startsWith('# ')) lines[i] = `${lines[i]!} (${e})`;
    }
  }
  return lines.join('\n');
}

/** Edits of any kind (lines removed, inserted, moved, counters changed): mostly left to the full path. */
export function arbitraryEdit(text: string, seedValue: number): string {
  const rnd = random(seedValue);
  const lines = text.split('\n');
  const at = Math.floor(rnd() * lines.length);
  const k = rnd();
  if (k < 0.3) lines.splice(at, 1);
  else if (k < 0.6) lines.splice(at, 0, `-A INPUT -s 192.0.2.${Math.floor(rnd() * 250)}/32 -p tcp -m tcp --dport ${1 + Math.floor(rnd() * 9000)} -j DROP`);
  else lines.splice(at, 0, ...lines.splice(Math.floor(rnd() * lines.length), 2));
  return lines.join('\n');
}
