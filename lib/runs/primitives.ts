/**
 * An experiment's specs turned into the primitives that train with them:
 * learning-rate schedules, loss-term weights and optimizers.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import type { OptimizerSpec, TermSpec } from "../experiment/types.ts";
import { constantSchedule, linearDecay, stepDecay } from "../schedule/learning_rate.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { piecewiseConstant, weightFrom, weightUntil } from "../schedule/term_weight.ts";
import { createOptimizer, type Optimizer } from "../train/optimizers.ts";

/** The learning-rate schedule of an optimizer spec, as a function of the epoch. */
export function learningRateSchedule(spec: OptimizerSpec): Schedule {
  const s = spec.schedule;
  switch (s.kind) {
    case "constant":
      return constantSchedule(spec.lr);
    case "step":
      return stepDecay({ initial: spec.lr, factor: s.factor, every: s.every });
    case "linear":
      return linearDecay({
        initial: spec.lr,
        final: spec.lr * s.final,
        start: s.start,
        end: s.end,
      });
  }
}

/**
 * The weight of one term: a number, or a schedule of the iteration when the
 * term has `from` / `until` (0 outside, so the term is not computed).
 */
export function termWeight(t: TermSpec): number | Schedule {
  if (t.from === undefined) {
    return t.until === undefined ? t.weight : weightUntil(t.until, t.weight);
  }
  if (t.until === undefined) return weightFrom(t.from, t.weight);
  return piecewiseConstant({ boundaries: [t.from, t.until], values: [0, t.weight, 0] });
}

/**
 * Term weights for the GAN step (see {@linkcode termWeight}).
 *
 * @example Identity mapping for the first 10,000 iterations only
 * ```ts
 * import { termWeights } from "./primitives.ts";
 * const w = termWeights({ identity: { weight: 5, until: 10000 } }).identity as (t: number) => number;
 * console.assert(w(9999) === 5 && w(10000) === 0);
 * ```
 */
export function termWeights(terms: Record<string, TermSpec>): Record<string, number | Schedule> {
  return Object.fromEntries(Object.entries(terms).map(([name, t]) => [name, termWeight(t)]));
}

/** The optimizer an optimizer spec names, over some variables. */
export function optimizerFor(
  variables: Record<string, tf.Variable>,
  spec: OptimizerSpec,
): Optimizer {
  return createOptimizer(variables, {
    kind: spec.kind,
    learningRate: spec.lr,
    alpha: spec.alpha,
    beta1: spec.beta1,
    eps: spec.eps,
  });
}
