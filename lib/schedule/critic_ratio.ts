/**
 * How many critic (discriminator) updates precede each generator update.
 *
 * @module
 */

import { checkCounter, type Schedule } from "./schedule.ts";

/** The seed's ratio: 5 critic updates per generator update. */
export const DEFAULT_CRITIC_STEPS = 5;

/** Options of {@linkcode criticSteps}. */
export interface CriticStepsOptions {
  /**
   * Critic updates per iteration.
   * @default {5}
   */
  steps?: number;
  /**
   * Iterations at the start that use `warmupSteps` instead (WGAN's
   * "100 critic steps for the first 25 iterations"); 0 disables the warm-up.
   * @default {0}
   */
  warmupIterations?: number;
  /**
   * Critic updates per iteration during the warm-up.
   * @default {100}
   */
  warmupSteps?: number;
}

function positiveInt(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`Cannot build critic schedule: ${what} must be an integer >= 1, got ${v}`);
  }
  return v;
}

/**
 * Critic updates for iteration `t`: the critic:generator ratio.
 *
 * @example The seed's 5:1
 * ```ts
 * import { criticSteps } from "./critic_ratio.ts";
 * console.assert(criticSteps()(0) === 5);
 * const warm = criticSteps({ warmupIterations: 25 });
 * console.assert(warm(24) === 100 && warm(25) === 5);
 * ```
 */
export function criticSteps(options: CriticStepsOptions = {}): Schedule {
  const steps = positiveInt("steps", options.steps ?? DEFAULT_CRITIC_STEPS);
  const warmupIterations = options.warmupIterations ?? 0;
  if (!Number.isInteger(warmupIterations) || warmupIterations < 0) {
    throw new RangeError(
      `Cannot build critic schedule: warmupIterations must be an integer >= 0, got ${warmupIterations}`,
    );
  }
  const warmupSteps = positiveInt("warmupSteps", options.warmupSteps ?? 100);
  return (t) => {
    checkCounter("critic steps", t);
    return t < warmupIterations ? warmupSteps : steps;
  };
}
