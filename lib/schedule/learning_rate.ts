/**
 * Learning-rate schedules, as pure functions of the epoch.
 *
 * @module
 */

import { checkCounter, type Schedule } from "./schedule.ts";

/** Options of {@linkcode stepDecay}. */
export interface StepDecayOptions {
  /**
   * Value at epoch 0 (the seed's RMSprop learning rate).
   * @default {1e-5}
   */
  initial?: number;
  /**
   * Multiplier applied every `every` epochs (the seed's ×10^−0.5).
   * @default {10 ** -0.5}
   */
  factor?: number;
  /**
   * Epochs between decays.
   * @default {100}
   */
  every?: number;
}

function positive(what: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`Cannot build schedule: ${what} must be a finite number > 0, got ${v}`);
  }
  return v;
}

function nonNegative(what: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`Cannot build schedule: ${what} must be a finite number >= 0, got ${v}`);
  }
  return v;
}

/**
 * Step decay: `initial · factor^floor(epoch / every)`.
 *
 * @example The seed's schedule
 * ```ts
 * import { stepDecay } from "./learning_rate.ts";
 * const lr = stepDecay();
 * console.assert(lr(99) === 1e-5 && Math.abs(lr(100) - 1e-5 / Math.sqrt(10)) < 1e-20);
 * ```
 */
export function stepDecay(options: StepDecayOptions = {}): Schedule {
  const initial = nonNegative("initial", options.initial ?? 1e-5);
  const factor = positive("factor", options.factor ?? 10 ** -0.5);
  const every = positive("every", options.every ?? 100);
  return (epoch) => {
    checkCounter("step decay", epoch);
    return initial * factor ** Math.floor(epoch / every);
  };
}

/**
 * A constant schedule.
 *
 * @example
 * ```ts
 * import { constantSchedule } from "./learning_rate.ts";
 * console.assert(constantSchedule(2e-4)(500) === 2e-4);
 * ```
 */
export function constantSchedule(value: number): Schedule {
  nonNegative("value", value);
  return (t) => {
    checkCounter("constant schedule", t);
    return value;
  };
}

/** Options of {@linkcode linearDecay}. */
export interface LinearDecayOptions {
  /**
   * Value up to `start`.
   * @default {1e-5}
   */
  initial?: number;
  /**
   * Value from `end` on.
   * @default {0}
   */
  final?: number;
  /**
   * Counter where the decay begins (CycleGAN-VC: halfway through training).
   * @default {0}
   */
  start?: number;
  /**
   * Counter where the decay reaches `final`; must exceed `start`.
   * @default {1000}
   */
  end?: number;
}

/**
 * Linear decay: `initial` until `start`, then linearly to `final` at `end`, then `final`.
 *
 * @example Constant for 500 epochs, then linearly to 0 at 1000
 * ```ts
 * import { linearDecay } from "./learning_rate.ts";
 * const lr = linearDecay({ initial: 2e-4, start: 500, end: 1000 });
 * console.assert(lr(250) === 2e-4 && lr(750) === 1e-4 && lr(1200) === 0);
 * ```
 */
export function linearDecay(options: LinearDecayOptions = {}): Schedule {
  const initial = nonNegative("initial", options.initial ?? 1e-5);
  const final = nonNegative("final", options.final ?? 0);
  const start = nonNegative("start", options.start ?? 0);
  const end = nonNegative("end", options.end ?? 1000);
  if (!(end > start)) {
    throw new RangeError(`Cannot build schedule: end (${end}) must exceed start (${start})`);
  }
  return (t) => {
    checkCounter("linear decay", t);
    if (t <= start) return initial;
    if (t >= end) return final;
    return initial + (final - initial) * (t - start) / (end - start);
  };
}
