/**
 * The one line that says why a run stopped on a non-finite value, and which
 * checkpoint is kept. Every non-finite value (a loss term, a weight, a
 * diagnostic, a checkpoint tensor) stops the run the same way, and the word
 * "good" is kept for checkpoints that passed every check: written by this
 * process after its own finite check, or loaded with a matching checksum.
 *
 * @module
 */
import type { LoopResult } from "../train/loop.ts";

/** What {@linkcode nonFiniteMessage} needs besides the loop's result. */
export interface NonFiniteContext {
  /** The checkpoint file. */
  checkpointPath: string;
  /** The iteration the run resumed from (0 for a new run). */
  startIteration: number;
  /** Whether the checkpoint resumed from had a checksum that matched (false for format 1). */
  startVerified: boolean;
}

/**
 * `Training stopped: <what> is NaN at iteration 12; the last good checkpoint (iteration 10) is kept in <path>`.
 *
 * @example
 * ```ts
 * import { nonFiniteMessage } from "./outcome.ts";
 * const line = nonFiniteMessage(
 *   { reason: "non-finite", iteration: 4, epoch: 0, elapsed: 1, lastCheckpoint: null, lastTerms: {},
 *     badWeight: { name: "G/up4/kernel", value: NaN } },
 *   { checkpointPath: "c.vxck", startIteration: 2, startVerified: true },
 * );
 * console.assert(line === "Training stopped: weight 'G/up4/kernel' is NaN after iteration 5; " +
 *   "the last good checkpoint (iteration 2) is kept in c.vxck");
 * ```
 */
export function nonFiniteMessage(loop: LoopResult, context: NonFiniteContext): string {
  let what: string;
  if (loop.badTerm) {
    what = `loss term '${loop.badTerm.name}' is ${loop.badTerm.value} at iteration ${
      loop.iteration + 1
    }`;
  } else if (loop.badWeight) {
    what = `weight '${loop.badWeight.name}' is ${loop.badWeight.value} after iteration ${
      loop.iteration + 1
    }`;
  } else if (loop.badMeasure) {
    what = `${loop.badMeasure.name} is ${loop.badMeasure.value} at iteration ${loop.iteration}`;
  } else {
    what = `checkpoint tensor '${loop.badTensor?.name}' is ${loop.badTensor?.value} after ` +
      `iteration ${loop.iteration}`;
  }
  let kept: string;
  if (loop.lastCheckpoint !== null) {
    kept =
      `the last good checkpoint (iteration ${loop.lastCheckpoint}) is kept in ${context.checkpointPath}`;
  } else if (context.startIteration > 0) {
    kept = context.startVerified
      ? `the last good checkpoint (iteration ${context.startIteration}) is kept in ${context.checkpointPath}`
      : `the last checkpoint (iteration ${context.startIteration}, an old one without a checksum) ` +
        `is kept in ${context.checkpointPath}`;
  } else {
    kept = "no checkpoint had been written yet";
  }
  return `Training stopped: ${what}; ${kept}`;
}
