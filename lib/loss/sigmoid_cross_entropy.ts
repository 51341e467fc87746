/**
 * Sigmoid cross-entropy for multi-label classification with an ignore label,
 * as Chainer's `F.sigmoid_cross_entropy`.
 *
 * @module
 */

import { tf } from "../deps.ts";

/** Options of {@linkcode sigmoidCrossEntropy}. */
export interface SigmoidCrossEntropyOptions {
  /**
   * Target value meaning "unknown": such entries add nothing to the loss.
   * @default {-1}
   */
  ignoreLabel?: number;
  /**
   * `valid` divides by the number of entries that are not ignored (Chainer's
   * `normalize=True`, at least 1 so an all-ignored batch gives 0); `batch`
   * divides by the batch size (`normalize=False`).
   * @default {"valid"}
   */
  normalize?: "valid" | "batch";
}

/**
 * Sigmoid cross-entropy between logits `[B, n]` and targets `[B, n]` in
 * {0, 1}, entries equal to `ignoreLabel` left out.
 *
 * Formula: `Σ_(t≠−1) [max(x, 0) − x·t + log(1 + exp(−|x|))] / max(#(t≠−1), 1)`
 *
 * @example One known label, one ignored
 * ```ts
 * import { sigmoidCrossEntropy } from "./sigmoid_cross_entropy.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const loss = sigmoidCrossEntropy(tf.tensor2d([[0, 5]]), tf.tensor2d([[1, -1]]));
 * console.assert(Math.abs(loss.dataSync()[0]! - Math.log(2)) < 1e-6);
 * ```
 */
export function sigmoidCrossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor2D,
  options: SigmoidCrossEntropyOptions = {},
): tf.Scalar {
  if (logits.rank !== 2 || logits.shape.join() !== targets.shape.join()) {
    throw new RangeError(
      `Cannot compute sigmoid cross-entropy: logits [${logits.shape}] and targets [${targets.shape}] differ`,
    );
  }
  const ignore = options.ignoreLabel ?? -1;
  const normalize = options.normalize ?? "valid";
  if (normalize !== "valid" && normalize !== "batch") {
    throw new RangeError(
      `Cannot compute sigmoid cross-entropy: normalize must be 'valid' or 'batch', got '${normalize}'`,
    );
  }
  return tf.tidy(() => {
    const t = tf.cast(targets, "float32");
    const mask = tf.cast(tf.notEqual(t, ignore), "float32");
    const x = logits;
    const perEntry = tf.add(
      tf.sub(tf.relu(x), tf.mul(x, t)),
      tf.log1p(tf.exp(tf.neg(tf.abs(x)))),
    );
    const total = tf.sum(tf.mul(perEntry, mask));
    const count = normalize === "valid" ? tf.maximum(tf.sum(mask), 1) : tf.scalar(x.shape[0]);
    return tf.div(total, count) as tf.Scalar;
  });
}
