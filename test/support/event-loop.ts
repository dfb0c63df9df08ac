// What the event-loop tests (diff-here, nft-diff-here, cold-parse) compare against and
// how they watch the slices: the analysis worker's own answer, and a yielding
// that pauses at every step and counts the pauses.
import analyze from '../../src/http/analysis/worker.ts';
import type { DiffTask } from '../../src/http/analysis/task.ts';
import { EVENT_LOOP_TURNS, type ParseYielding } from '../../src/store/rulesets.ts';

/** The bytes the analysis worker answers `task` with, as text (the code before diffs ran on the event loop). */
export function workerDiffText(task: DiffTask): string {
  // The worker moves its bytes to the main thread (piscina's move(): the view is under this symbol).
  const moved = analyze(task) as unknown as Record<symbol, Uint8Array>;
  const bytes = moved[Symbol.for('Piscina.valueOf')]!;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Pauses counted, and `onPause` (if set) told of each before its turn of the event loop. */
export interface CountedPauses {
  count: number;
  onPause?: () => void;
}

/** A ParseYielding that pauses at every step (slice 0 ms), each pause a turn of the event loop, counted in `pauses`. */
export function pauseEveryStep(pauses: CountedPauses): ParseYielding {
  return {
    sliceMs: 0,
    pause: () => {
      pauses.count++;
      pauses.onPause?.();
      return EVENT_LOOP_TURNS.pause();
    },
  };
}
