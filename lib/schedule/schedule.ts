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
