/**
 * Identity-mapping loss (CycleGAN, CycleGAN-VC): converting a sample to its
 * own labels should leave it unchanged.
 *
 * @module
 */

import type { tf } from "../deps.ts";
import { type DistanceOptions, meanDistance } from "./reconstruction.ts";

/**
 * Identity-mapping loss between `G(x_A, c_A)` and `x_A`.
 *
 * Formula: `mean((G(x_A, c_A) − x_A)²)`
 *
 * @example
 * ```ts
 * import { identityLoss } from "./identity.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const loss = identityLoss(tf.fill([1, 1, 2, 1], 0.25), tf.fill([1, 1, 2, 1], 0.75));
 * console.assert(loss.dataSync()[0] === 0.25);
 * ```
 */
export function identityLoss(
  identity: tf.Tensor4D,
  original: tf.Tensor4D,
  options: DistanceOptions = {},
): tf.Scalar {
  return meanDistance(identity, original, options);
}
