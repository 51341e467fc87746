/**
 * Wasserstein GAN losses over critic scores.
 *
 * @module
 */

import { tf } from "../deps.ts";

function checkScores(what: string, scores: tf.Tensor): void {
  if (scores.rank !== 1) {
    throw new RangeError(`Cannot compute ${what}: expected scores [B], got [${scores.shape}]`);
  }
}

/**
 * The WGAN critic loss, minimised by the critic.
 *
 * Formula: `mean(D(fake)) − mean(D(real))`
 *
 * @example
 * ```ts
 * import { wganCriticLoss } from "./wgan.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const loss = wganCriticLoss(tf.tensor1d([2, 4]), tf.tensor1d([1, 0]));
 * console.assert(loss.dataSync()[0] === -2.5);
 * ```
 */
export function wganCriticLoss(realScores: tf.Tensor1D, fakeScores: tf.Tensor1D): tf.Scalar {
  checkScores("WGAN critic loss", realScores);
  checkScores("WGAN critic loss", fakeScores);
  return tf.tidy(() => tf.sub(tf.mean(fakeScores), tf.mean(realScores)));
}

/**
 * The WGAN generator (adversarial) loss, minimised by the generator.
 *
 * Formula: `−mean(D(fake))`
 *
 * @example
 * ```ts
 * import { wganGeneratorLoss } from "./wgan.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * console.assert(wganGeneratorLoss(tf.tensor1d([1, 2])).dataSync()[0] === -1.5);
 * ```
 */
export function wganGeneratorLoss(fakeScores: tf.Tensor1D): tf.Scalar {
  checkScores("WGAN generator loss", fakeScores);
  return tf.tidy(() => tf.neg(tf.mean(fakeScores)));
}
