// One binary search for the sorted offset tables the store keeps (chain,
// table and piece starts, copies by base line).

/**
 * The last index `i` in `[0, count)` whose `at(i)` is at or before `x`, for `at` non-decreasing;
 * 0 when none is (callers that must tell that case apart check `at(0)` first).
 */
export function lastAtOrBefore(count: number, at: (i: number) => number, x: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (at(mid) <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
