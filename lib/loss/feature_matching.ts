/**
 * Feature-matching losses on discriminator feature maps (Salimans et al. 2016).
 *
 * @module
 */

import { tf } from "../deps.ts";

function checkPair(fake: tf.Tensor, real: tf.Tensor): void {
  if (fake.rank < 2 || fake.shape.join() !== real.shape.join()) {
    throw new RangeError(
      `Cannot compute feature matching: fake features [${fake.shape}] and real [${real.shape}] differ`,
    );
  }
}

/**
 * Per-sample feature matching: the fake's features should equal the real
 * sample's at every position (the seed's loss, with x_B as the real sample).
 *
 * Formula: `mean((D_f(fake) − D_f(real))²)`
 *
 * @example
 * ```ts
 * import { featureMatchingLoss } from "./feature_matching.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const loss = featureMatchingLoss(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 0], [3, 4]]));
 * console.assert(loss.dataSync()[0] === 1);
 * ```
 */
export function featureMatchingLoss(fakeFeatures: tf.Tensor, realFeatures: tf.Tensor): tf.Scalar {
  checkPair(fakeFeatures, realFeatures);
  return tf.tidy(() => tf.mean(tf.squaredDifference(fakeFeatures, realFeatures)));
}

/**
 * Mean-feature matching: the batch mean of the fake's features should equal
 * the batch mean of the real ones (Salimans et al.'s original form).
 *
 * Formula: `mean_(h,w,c) (mean_b D_f(fake) − mean_b D_f(real))²`
 *
 * @example
 * ```ts
 * import { meanFeatureMatchingLoss } from "./feature_matching.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * // batch means: fake [2, 3], real [2, 2] → ((0)² + (1)²)/2
 * const loss = meanFeatureMatchingLoss(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 0], [3, 4]]));
 * console.assert(loss.dataSync()[0] === 0.5);
 * ```
 */
export function meanFeatureMatchingLoss(
  fakeFeatures: tf.Tensor,
  realFeatures: tf.Tensor,
): tf.Scalar {
  checkPair(fakeFeatures, realFeatures);
  return tf.tidy(() =>
    tf.mean(tf.squaredDifference(tf.mean(fakeFeatures, 0), tf.mean(realFeatures, 0)))
  );
}
