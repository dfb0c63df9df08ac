// Drawn traces (issue 16): one packet to the 10k-Service dump's Service with
// the most endpoints (a statistic fork per endpoint), drawn, printed as dot
// and Mermaid, and laid out as SVG by Graphviz (WASM), as the API and the CLI do.
import type { KubeDump } from '../scripts/kube-dump.ts';
import { buildHost, parseDump, tracePacket, validatePacket } from '../src/netfilter/index.ts';
import { drawTrace } from '../src/netfilter/analysis/draw/trace.ts';
import { printDot } from '../src/netfilter/analysis/draw/dot.ts';
import { printMermaid } from '../src/netfilter/analysis/draw/mermaid.ts';
import { dotToSvg, loadGraphviz } from '../src/draw/svg.ts';
import { drawingSize } from '../src/draw/render.ts';
import { best, fmt, type AddRow } from './common.ts';


export async function drawTraceBench(add: AddRow, g10k: KubeDump): Promise<void> {
  const section = 'drawn trace (10k Services)';
  const ruleset = parseDump(g10k.text).ruleset;
  const host = buildHost(g10k.host);
  if (!host.ok) throw new Error(host.errors.join());
  const service = g10k.services.reduce((a, b) => (b.endpoints.length > a.endpoints.length ? b : a));
  const input = { src: '10.244.0.77', dst: service.clusterIP, protocol: service.protocol, sport: 40000, dport: service.port, inInterface: 'cni0' };
  const v = validatePacket(input);
  if (!v.ok) throw new Error(v.errors.join());
  const trace = tracePacket(ruleset, v.packet, { host: host.host, explain: true, node: 'node-0' });
  const [drawing, drawMs] = best(20, () => drawTrace(trace, { node: 'node-0', packet: input }));
  add(section, `Drawing of a trace with ${trace.outcomes.length} outcomes (statistic forks)`, `${drawMs.toFixed(2)} ms: ${drawing.nodes.length} boxes, ${drawing.edges.length} arrows, ${drawing.frames.length} frames (size ${drawingSize(drawing)})`);
  const [dot, dotMs] = best(20, () => printDot(drawing));
  add(section, 'dot printing', `${dotMs.toFixed(2)} ms, ${fmt(Buffer.byteLength(dot))} bytes`);
  const [mermaid, mermaidMs] = best(20, () => printMermaid(drawing));
  add(section, 'Mermaid printing', `${mermaidMs.toFixed(2)} ms, ${fmt(Buffer.byteLength(mermaid))} bytes`);
  const t = performance.now();
  const graphviz = await loadGraphviz();
  add(section, 'Graphviz WASM load (once per process or worker thread)', `${(performance.now() - t).toFixed(0)} ms`);
  const [svg, svgMs] = best(3, () => dotToSvg(graphviz, dot));
  add(section, 'SVG layout (Graphviz dot engine)', `${svgMs.toFixed(0)} ms, ${fmt(Buffer.byteLength(svg))} bytes`);
  // Where the inline/worker line sits (SVG_INLINE_MAX_ELEMENTS): layout time per box and arrow.
  add(section, 'SVG layout per box and arrow', `${(svgMs / drawingSize(drawing)).toFixed(2)} ms`);
}
