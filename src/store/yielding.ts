// Long computations of the store (a cold parse, resolving a big stored text) run as
// `Steps` generators by a runner that gives the event loop a turn every few ms.
import type { Steps } from '../netfilter/index.ts';

export interface ParseYielding {
  readonly sliceMs: number;
  readonly pause: () => Promise<void>;
}

/** A turn of the event loop after each 10 ms of work. */
export const EVENT_LOOP_TURNS: ParseYielding = { sliceMs: 10, pause: () => new Promise<void>((resolve) => setImmediate(resolve)) };

/**
 * Runs `steps`, pausing whenever ~`sliceMs` of work went by: a cold parse of a 10k-Service node
 * (a second or more) then delays other requests by a slice, not by the whole parse.
 */
export async function runStepsYielding<T>(steps: Steps<T>, { sliceMs, pause }: ParseYielding): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await pause();
      since = performance.now();
    }
  }
}
