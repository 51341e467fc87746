/**
 * The contract between `tasks/bench.ts` and its suites.
 *
 * A suite is a module in `tasks/bench/` that exports
 * `export const suite: BenchSuite`; `tasks/bench.ts` lists the suites it runs.
 *
 * @module
 */

/** One measured line of the bench table. */
export interface BenchRow {
  /** What was measured, e.g. `conv2d forward`. */
  name: string;
  /** The shapes, e.g. `2x32x32x256 k3 -> 256`. */
  shape: string;
  /** The tfjs backend it ran on. */
  backend: string;
  /** Threads the backend used. */
  threads: number;
  /** The measured figure. */
  value: number;
  /** Its unit, e.g. `GFLOP/s`, `ms`, `x realtime`. */
  unit: string;
  /** Peak memory during the measurement, in MiB, where measured. */
  peakMiB?: number;
  /** Anything a reader needs to interpret the figure. */
  note?: string;
}

/** A group of measurements; `run` is called once the backend is initialised. */
export interface BenchSuite {
  /** Short name, used by `deno task bench --only NAME`. */
  name: string;
  /** Whether the suite should be measured at 1 thread as well as at all threads. */
  perThreadCount: boolean;
  /** Run the measurements and return the rows. */
  run(): Promise<BenchRow[]>;
}
