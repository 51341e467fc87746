/**
 * Reconstruction (cycle-consistency) loss and the distances it uses.
 *
 * @module
 */

import { tf } from "../deps.ts";

/** Elementwise distance averaged over every element. */
export type Distance = "mse" | "mae";

/** Options of {@linkcode reconstructionLoss} and {@linkcode identityLoss}. */
export interface DistanceOptions {
  /**
   * `mse`: mean squared error (the seed's); `mae`: mean absolute error (CycleGAN-VC's L1).
   * @default {"mse"}
   */
  distance?: Distance;
}

/**
 * Mean distance between two tensors of the same shape.
 *
 * Formula: `mean((a − b)²)` (mse) or `mean(|a − b|)` (mae)
 *
 * @example
 * ```ts
 * import { meanDistance } from "./reconstruction.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * console.assert(meanDistance(tf.tensor1d([1, 2]), tf.tensor1d([1, 4])).dataSync()[0] === 2);
 * ```
 */
export function meanDistance(a: tf.Tensor, b: tf.Tensor, options: DistanceOptions = {}): tf.Scalar {
  if (a.shape.join() !== b.shape.join()) {
    throw new RangeError(`Cannot compare tensors: shapes [${a.shape}] and [${b.shape}] differ`);
  }
  const distance = options.distance ?? "mse";
  if (distance !== "mse" && distance !== "mae") {
    throw new RangeError(
      `Cannot compare tensors: distance must be 'mse' or 'mae', got '${distance}'`,
    );
  }
  return tf.tidy(() =>
    distance === "mse" ? tf.mean(tf.squaredDifference(a, b)) : tf.mean(tf.abs(tf.sub(a, b)))
  );
}

/**
 * Reconstruction loss between `G(G(x_A, c_B), c_A)` and `x_A`.
 *
 * Formula: `mean((G(G(x_A, c_B), c_A) − x_A)²)`
 *
 * @example
 * ```ts
 * import { reconstructionLoss } from "./reconstruction.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const loss = reconstructionLoss(tf.fill([1, 2, 2, 1], 0.5), tf.zeros([1, 2, 2, 1]));
 * console.assert(loss.dataSync()[0] === 0.25);
 * ```
 */
export function reconstructionLoss(
  reconstruction: tf.Tensor4D,
  original: tf.Tensor4D,
  options: DistanceOptions = {},
): tf.Scalar {
  return meanDistance(reconstruction, original, options);
}
