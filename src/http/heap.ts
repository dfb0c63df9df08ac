// How far V8 grows the heap past what survived its last full collection. By default V8 picks
// 1.1-4× by itself, more the faster the process allocates: a 44k-Service nft node (~1 GB of live
// parses) then peaked at 2.6 GiB RSS while it parsed its twin, with ~1 GB of garbage not yet
// collected (issue 15, item 4). HEAP_GROWING_PERCENT sets the factor: more frequent full GCs,
// no heap limit (nothing can run out of memory because of it).
import { setFlagsFromString } from 'node:v8';

/** The V8 flag HEAP_GROWING_PERCENT stands for, or null (0: V8's own growth, nothing set). */
export const heapGrowingFlag = (percent: number): string | null => (percent > 0 ? `--heap-growing-percent=${percent}` : null);

/** Sets it for this process (V8 reads it at every full GC). */
export function applyHeapGrowing(percent: number): void {
  const flag = heapGrowingFlag(percent);
  if (flag) setFlagsFromString(flag);
}
