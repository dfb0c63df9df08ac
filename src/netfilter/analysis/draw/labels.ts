// Short texts for boxes: a rule as its matches with the comment on its own
// line (as `iptables -L` shows it, `/* ... */`), cut with an ellipsis; the full
// text goes to the tooltip.

/** At most `max` characters, an ellipsis marking the cut. */
export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

const IPT_COMMENT = /\s*-m comment --comment ("(?:[^"\\]|\\.)*"|\S+)/;
const NFT_COMMENT = /\s*comment ("(?:[^"\\]|\\.)*")\s*$/;

/** A rule's text without its `-A CHAIN`, as lines: the matches and target, then the comment. */
export function ruleLines(text: string, chain: string, max: number): string[] {
  let body = text.startsWith(`-A ${chain} `) ? text.slice(chain.length + 4) : text;
  const comment = IPT_COMMENT.exec(body) ?? NFT_COMMENT.exec(body);
  if (comment) body = (body.slice(0, comment.index) + body.slice(comment.index + comment[0].length)).trim();
  const lines = [shorten(body, max)];
  if (comment) lines.push(shorten(`/* ${comment[1]!.replace(/^"|"$/g, '')} */`, max));
  return lines;
}
