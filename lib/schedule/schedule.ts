/**
 * The schedule type: a pure function of a step or epoch counter.
 *
 * @module
 */

/**
 * A value as a pure function of a counter `t` (an epoch for learning rates,
 * an iteration for loss weights and critic steps), counted from 0.
 */
export type Schedule = (t: number) => number;

/** Throw unless `t` is a non-negative finite number. */
export function checkCounter(what: string, t: number): void {
  if (!(t >= 0) || !Number.isFinite(t)) {
    throw new RangeError(`Cannot evaluate ${what}: counter must be a finite number >= 0, got ${t}`);
  }
}

/** What a schedule's counter counts: iterations, or epochs (passes over the training data). */
export type ScheduleUnit = "iterations" | "epochs";

/**
 * A schedule of `unit`s as a function of the iteration: with `"epochs"`, the
 * counter is the epoch the iteration is in, `floor(iteration / itersPerEpoch)`.
 *
 * @example A decay every 100 epochs of 10 iterations hits at iteration 1000
 * ```ts
 * import { perIteration } from "./schedule.ts";
 * const lr = perIteration((epoch) => 0.1 ** Math.floor(epoch / 100), "epochs", 10);
 * console.assert(lr(999) === 1 && lr(1000) === 0.1);
 * ```
 */
export function perIteration(
  schedule: Schedule,
  unit: ScheduleUnit,
  itersPerEpoch: number,
): Schedule {
  if (unit === "iterations") return schedule;
  if (!(Number.isInteger(itersPerEpoch) && itersPerEpoch >= 1)) {
    throw new RangeError(
      `Cannot count epochs: iterations per epoch must be an integer >= 1, got ${itersPerEpoch}`,
    );
  }
  return (iteration) => {
    checkCounter("schedule", iteration);
    return schedule(Math.floor(iteration / itersPerEpoch));
  };
}
