/**
 * The WGAN-GP gradient penalty (Gulrajani et al. 2017).
 *
 * @module
 */

import { tf } from "../deps.ts";
import type { Rng } from "../random.ts";

/** Options of {@linkcode gradientPenalty}. */
export interface GradientPenaltyOptions {
  /**
   * Weight λ of the penalty.
   * @default {10}
   */
  lambda?: number;
  /**
   * Interpolation weights ε, one per sample, in [0, 1]. When absent they are
   * drawn uniformly from `rng`.
   * @default {undefined}
   */
  epsilon?: ArrayLike<number>;
  /**
   * Source of ε when `epsilon` is not given (one of the two is required).
   * @default {undefined}
   */
  rng?: Rng;
}

/**
 * Gradient penalty on samples interpolated between real and fake inputs.
 * `critic` must treat samples independently (no BatchNorm), so that the
 * gradient of `Σ_i D(x̂_i)` with respect to `x̂_i` is sample i's gradient.
 * The result is differentiable with respect to the critic's variables
 * (double back-propagation).
 *
 * Formula: `λ · mean_i (‖∇_x̂ D(x̂_i)‖₂ − 1)²`, `x̂_i = ε_i·real_i + (1 − ε_i)·fake_i`,
 * with `‖g‖₂ = sqrt(Σ g² + 1e-12)` (the 1e-12 keeps the gradient finite at g = 0)
 *
 * @example A linear critic D(x) = 2·Σx has gradient norm 2·sqrt(n)
 * ```ts
 * import { gradientPenalty } from "./gradient_penalty.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const critic = (x: tf.Tensor4D) => tf.mul(tf.sum(x, [1, 2, 3]), 2) as tf.Tensor1D;
 * const real = tf.ones([1, 2, 2, 1]) as tf.Tensor4D, fake = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
 * const gp = gradientPenalty(critic, real, fake, { epsilon: [0.5], lambda: 1 });
 * console.assert(Math.abs(gp.dataSync()[0]! - 9) < 1e-4); // (2·sqrt(4) − 1)²
 * ```
 */
export function gradientPenalty(
  critic: (x: tf.Tensor4D) => tf.Tensor1D,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  options: GradientPenaltyOptions = {},
): tf.Scalar {
  const lambda = options.lambda ?? 10;
  if (real.rank !== 4 || fake.rank !== 4 || real.shape.join() !== fake.shape.join()) {
    throw new RangeError(
      `Cannot compute gradient penalty: real [${real.shape}] and fake [${fake.shape}] differ`,
    );
  }
  const b = real.shape[0];
  let eps: ArrayLike<number>;
  if (options.epsilon !== undefined) {
    eps = options.epsilon;
    if (eps.length !== b) {
      throw new RangeError(
        `Cannot compute gradient penalty: ${eps.length} interpolation weights for a batch of ${b}`,
      );
    }
  } else if (options.rng !== undefined) {
    eps = options.rng.uniformArray(b);
  } else {
    throw new TypeError("Cannot compute gradient penalty: give either epsilon or rng");
  }
  return tf.tidy(() => {
    const e = tf.tensor4d(Float32Array.from(eps), [b, 1, 1, 1]);
    // x̂ = fake + ε·(real − fake); treated as a constant input (no gradient to G).
    const xHat = tf.add(fake, tf.mul(e, tf.sub(real, fake))) as tf.Tensor4D;
    const grad = tf.grad((x: tf.Tensor) => tf.sum(critic(x as tf.Tensor4D)))(xHat);
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(grad), [1, 2, 3]), 1e-12));
    return tf.mul(tf.mean(tf.square(tf.sub(norm, 1))), lambda);
  });
}
