// Pictures (chain graphs, drawn diffs) in the format asked for, cached by
// what they show: the caller's key names the versions (by sha256) and the
// options, so a picture is built and laid out once per version. Printing dot
// or Mermaid is cheap; Graphviz layout is not: a small picture is laid out
// here (WASM compiled once per app), a big one in an analysis worker so the
// event loop keeps answering.
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { printDot } from '../../netfilter/analysis/draw/dot.ts';
import { printMermaid } from '../../netfilter/analysis/draw/mermaid.ts';
import type { Drawing } from '../../netfilter/analysis/draw/drawing.ts';
import { GraphFormat } from '../schemas/graph.ts';

export interface DrawingService {
  /** The picture `key` in `format`: from the cache, else `build`t (once, however many ask at once), printed and laid out. */
  render(key: string, format: GraphFormat, build: () => Promise<Drawing>): Promise<string>;
  /** Pictures built and answered from the cache so far (for tests). */
  stats(): { readonly built: number; readonly cached: number; readonly inWorker: number };
}

declare module 'fastify' {
  interface FastifyInstance {
    drawings: DrawingService;
  }
}

const CACHE_BYTES = 32 * 1024 * 1024;

export default fp(
  async (app) => {
    const pictures = new LRUCache<string, string>({ maxSize: CACHE_BYTES, sizeCalculation: (s) => Math.max(1, s.length) });
    const drawings = new LRUCache<string, Drawing>({ max: 64 });
    const running = new Map<string, Promise<string>>();
    let built = 0;
    let cached = 0;
    let inWorker = 0;

    const drawingOf = async (key: string, build: () => Promise<Drawing>): Promise<Drawing> => {
      const hit = drawings.get(key);
      if (hit) return hit;
      const d = await build();
      built++;
      drawings.set(key, d);
      return d;
    };
    const svgOf = async (d: Drawing): Promise<string> => {
      const size = d.nodes.length + d.edges.length;
      if (size > app.config.svgInlineMaxElements) inWorker++;
      return app.analysis.svg(printDot(d), size);
    };
    const print = async (d: Drawing, format: GraphFormat): Promise<string> =>
      format === GraphFormat.Svg ? svgOf(d) : format === GraphFormat.Dot ? printDot(d) : format === GraphFormat.Mermaid ? printMermaid(d) : JSON.stringify(d);

    const service: DrawingService = {
      render(key, format, build) {
        const full = `${format}\n${key}`;
        const hit = pictures.get(full);
        if (hit !== undefined) {
          cached++;
          return Promise.resolve(hit);
        }
        const pending = running.get(full);
        if (pending) return pending;
        const job = drawingOf(key, build)
          .then((d) => print(d, format))
          .then((text) => {
            pictures.set(full, text);
            return text;
          })
          .finally(() => running.delete(full));
        running.set(full, job);
        return job;
      },
      stats: () => ({ built, cached, inWorker }),
    };
    app.decorate('drawings', service);
  },
  { name: 'packetpath-drawings', fastify: '5.x', dependencies: ['packetpath-analysis'] },
);
