// SVG from dot, laid out by Graphviz compiled to WebAssembly
// (@hpcc-js/wasm-graphviz: no native build, no browser; the WASM is inlined
// in the package, so no file is read). Outside the core, which imports only
// ipaddr.js. Loading compiles the WASM (tens of milliseconds), so callers load
// once and pass the instance; layout is synchronous CPU work, which is why
// the HTTP routes send big drawings to the analysis workers.
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { printDot } from '../netfilter/analysis/draw/dot.ts';
import type { Drawing } from '../netfilter/analysis/draw/drawing.ts';

export type { Graphviz };

export function loadGraphviz(): Promise<Graphviz> {
  return Graphviz.load();
}

/** Lays dot out with Graphviz's `dot` engine; throws on dot Graphviz cannot read. */
export function dotToSvg(graphviz: Graphviz, dot: string): string {
  return graphviz.layout(dot, 'svg', 'dot');
}

export function drawingToSvg(graphviz: Graphviz, drawing: Drawing): string {
  return dotToSvg(graphviz, printDot(drawing));
}
