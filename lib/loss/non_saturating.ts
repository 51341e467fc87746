/**
 * The original GAN's binary cross-entropy losses on logits, with the
 * non-saturating generator loss (Goodfellow et al. 2014).
 *
 * @module
 */

import { tf } from "../deps.ts";

/**
 * The discriminator's binary cross-entropy on logits (real → 1, fake → 0).
 *
 * Formula: `mean(softplus(−D(real))) + mean(softplus(D(fake)))`
 *
 * @example
 * ```ts
 * import { bceCriticLoss } from "./non_saturating.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const loss = bceCriticLoss(tf.tensor1d([0]), tf.tensor1d([0])).dataSync()[0]!;
 * console.assert(Math.abs(loss - 2 * Math.log(2)) < 1e-6);
 * ```
 */
export function bceCriticLoss(realLogits: tf.Tensor1D, fakeLogits: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() =>
    tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits)))
  );
}

/**
 * The non-saturating generator loss: `−log σ(D(fake))`.
 *
 * Formula: `mean(softplus(−D(fake)))`
 *
 * @example
 * ```ts
 * import { nonSaturatingGeneratorLoss } from "./non_saturating.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const loss = nonSaturatingGeneratorLoss(tf.tensor1d([0])).dataSync()[0]!;
 * console.assert(Math.abs(loss - Math.log(2)) < 1e-6);
 * ```
 */
export function nonSaturatingGeneratorLoss(fakeLogits: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(fakeLogits))));
}
