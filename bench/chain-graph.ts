// Issue 16: the collapsed chain graph of the 10k-Service dump's nat table
// (built, printed as dot, laid out as SVG by Graphviz's WASM build), one
// Service expanded, and the drawn diff of the table against a version with 1%
// of its endpoints changed.
import type { KubeDump } from '../scripts/kube-dump.ts';
import { diffRulesets, drawChainGraph, drawRulesetDiff, findTable, outlineRulesetSteps, parseDump, runSteps } from '../src/netfilter/index.ts';
import { printDot } from '../src/netfilter/analysis/draw/dot.ts';
import { dotToSvg, loadGraphviz } from '../src/draw/svg.ts';
import { best, type AddRow } from './common.ts';

export async function chainGraphBench(add: AddRow, { g10k, churned }: { g10k: KubeDump; churned: string }): Promise<void> {
  const S = 'chain graph (10k Services)';
  const ruleset = parseDump(g10k.text).ruleset;
  const nat = findTable(ruleset, 'nat')!;
  const [graph, buildMs] = best(3, () => drawChainGraph(nat));
  const d = graph.drawing;
  add(S, `nat, collapsed: build (${nat.chains.length.toLocaleString('en-US')} chains)`, `${buildMs.toFixed(0)} ms → ${d.nodes.length} boxes, ${d.edges.length} arrows`, 'tens of boxes');
  const [dot, dotMs] = best(3, () => printDot(d));
  add(S, 'nat, collapsed: dot', `${dotMs.toFixed(2)} ms (${dot.length.toLocaleString('en-US')} bytes)`);
  let t = performance.now();
  const graphviz = await loadGraphviz();
  add(S, 'Graphviz WASM load (once per thread)', `${(performance.now() - t).toFixed(0)} ms`);
  const [svg, svgMs] = best(3, () => dotToSvg(graphviz, dot));
  add(S, 'nat, collapsed: SVG layout', `${svgMs.toFixed(0)} ms (${svg.length.toLocaleString('en-US')} bytes)`);

  const svc = nat.chains.find((c) => c.name.startsWith('KUBE-SVC-') && c.rules.length > 3)!.name;
  const [one, oneMs] = best(3, () => drawChainGraph(nat, { expand: [svc] }));
  const oneDot = printDot(one.drawing);
  const [, oneSvgMs] = best(3, () => dotToSvg(graphviz, oneDot));
  add(S, 'nat, one Service expanded: build + SVG', `${oneMs.toFixed(0)} ms + ${oneSvgMs.toFixed(0)} ms → ${one.drawing.nodes.length} boxes, ${one.drawing.edges.length} arrows`);
  const [group, groupMs] = best(1, () => drawChainGraph(nat, { expand: ['KUBE-SEP-*'] }));
  const groupDot = printDot(group.drawing);
  t = performance.now();
  dotToSvg(graphviz, groupDot);
  add(S, 'nat, KUBE-SEP-* expanded (200 of them): build + SVG', `${groupMs.toFixed(0)} ms + ${(performance.now() - t).toFixed(0)} ms → ${group.drawing.nodes.length} boxes, ${group.drawing.edges.length} arrows`);

  // The server diffs the cached outlines (the JSON diff's path, timed in its own row); the drawing is built over that diff.
  const right = parseDump(churned).ruleset;
  const [rd, diffMs] = best(1, () => diffRulesets(runSteps(outlineRulesetSteps(ruleset, 'raw')), runSteps(outlineRulesetSteps(right, 'raw'))));
  const [diff, drawMs] = best(3, () => drawRulesetDiff(ruleset, right, 'nat', {}, rd)!);
  const diffDot = printDot(diff.drawing);
  t = performance.now();
  dotToSvg(graphviz, diffDot);
  add(S, 'nat drawn diff, 1% of endpoints changed: diff + drawing + SVG', `${diffMs.toFixed(0)} ms + ${drawMs.toFixed(0)} ms + ${(performance.now() - t).toFixed(0)} ms → ${diff.drawing.nodes.length} boxes`);
}
