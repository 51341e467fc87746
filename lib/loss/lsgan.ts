/**
 * Least-squares GAN losses (Mao et al. 2017, targets a = 0, b = c = 1).
 *
 * @module
 */

import { tf } from "../deps.ts";

/**
 * The LSGAN discriminator loss.
 *
 * Formula: `½·mean((D(real) − 1)²) + ½·mean(D(fake)²)`
 *
 * @example
 * ```ts
 * import { lsganCriticLoss } from "./lsgan.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * // ½·((0² + 2²)/2) + ½·((1² + 1²)/2) = 1 + 0.5
 * console.assert(lsganCriticLoss(tf.tensor1d([1, 3]), tf.tensor1d([1, -1])).dataSync()[0] === 1.5);
 * ```
 */
export function lsganCriticLoss(realScores: tf.Tensor1D, fakeScores: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() =>
    tf.mul(tf.add(tf.mean(tf.square(tf.sub(realScores, 1))), tf.mean(tf.square(fakeScores))), 0.5)
  );
}

/**
 * The LSGAN generator loss.
 *
 * Formula: `½·mean((D(fake) − 1)²)`
 *
 * @example
 * ```ts
 * import { lsganGeneratorLoss } from "./lsgan.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * console.assert(lsganGeneratorLoss(tf.tensor1d([1, 3])).dataSync()[0] === 1);
 * ```
 */
export function lsganGeneratorLoss(fakeScores: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.mean(tf.square(tf.sub(fakeScores, 1))), 0.5));
}
