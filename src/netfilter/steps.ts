// Long pure computations (parsing a 10k-Service dump: about a second) written
// as generators that pause now and then. Run to the end at once (`runSteps`),
// or by a caller that gives the event loop a turn at each pause, so a cold
// parse never stalls a server (issue 17). The core itself never waits.

/** A computation that yields (nothing) at points where it may be paused, and returns its result. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end without pausing. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
