/**
 * Per-term loss-weight schedules, as pure functions of the iteration.
 *
 * @module
 */

import { checkCounter, type Schedule } from "./schedule.ts";

function checkWeight(weight: number): void {
  if (!Number.isFinite(weight)) {
    throw new RangeError(`Cannot build weight schedule: weight must be finite, got ${weight}`);
  }
}

function checkBoundary(n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `Cannot build weight schedule: iteration must be an integer >= 0, got ${n}`,
    );
  }
}

/**
 * `weight` for iterations `0 … n − 1`, then 0: e.g. MaskCycleGAN-VC's
 * identity loss, used only for the first 10⁴ iterations. A term whose weight
 * is 0 is not computed by the GAN step.
 *
 * @example Identity loss weight 5 for the first 10 000 iterations
 * ```ts
 * import { weightUntil } from "./term_weight.ts";
 * const w = weightUntil(10_000, 5);
 * console.assert(w(9_999) === 5 && w(10_000) === 0);
 * ```
 */
export function weightUntil(n: number, weight: number): Schedule {
  checkBoundary(n);
  checkWeight(weight);
  return (t) => {
    checkCounter("weight schedule", t);
    return t < n ? weight : 0;
  };
}

/**
 * 0 for iterations `0 … n − 1`, then `weight` (a term switched on late).
 *
 * @example
 * ```ts
 * import { weightFrom } from "./term_weight.ts";
 * const w = weightFrom(100, 10);
 * console.assert(w(99) === 0 && w(100) === 10);
 * ```
 */
export function weightFrom(n: number, weight: number): Schedule {
  checkBoundary(n);
  checkWeight(weight);
  return (t) => {
    checkCounter("weight schedule", t);
    return t < n ? 0 : weight;
  };
}

/** Options of {@linkcode piecewiseConstant}. */
export interface PiecewiseConstantOptions {
  /** Increasing counters where the value changes. */
  boundaries: number[];
  /** One more value than boundaries: `values[i]` holds before `boundaries[i]`. */
  values: number[];
}

/**
 * Piecewise-constant schedule: `values[i]` for `boundaries[i − 1] ≤ t < boundaries[i]`.
 *
 * @example
 * ```ts
 * import { piecewiseConstant } from "./term_weight.ts";
 * const w = piecewiseConstant({ boundaries: [10, 20], values: [1, 0.5, 0] });
 * console.assert(w(0) === 1 && w(10) === 0.5 && w(25) === 0);
 * ```
 */
export function piecewiseConstant(options: PiecewiseConstantOptions): Schedule {
  const { boundaries, values } = options;
  if (values.length !== boundaries.length + 1) {
    throw new RangeError(
      `Cannot build piecewise schedule: ${boundaries.length} boundaries need ${
        boundaries.length + 1
      } values, got ${values.length}`,
    );
  }
  for (let i = 1; i < boundaries.length; i++) {
    if (!(boundaries[i]! > boundaries[i - 1]!)) {
      throw new RangeError(
        `Cannot build piecewise schedule: boundaries must increase, got [${boundaries}]`,
      );
    }
  }
  values.forEach(checkWeight);
  return (t) => {
    checkCounter("piecewise schedule", t);
    let i = 0;
    while (i < boundaries.length && t >= boundaries[i]!) i++;
    return values[i]!;
  };
}
