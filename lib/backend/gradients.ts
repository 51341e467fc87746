/**
 * Gradients tfjs 4.22 lacks, registered for every backend.
 *
 * tfjs's LeakyRelu gradient is `where(x > 0, dy, alpha · dy)`. Differentiating
 * it again, as the WGAN gradient penalty does (the gradient of ‖∂D/∂x‖ with
 * respect to D's weights), reaches `Greater`, which has no registered
 * gradient, so the second-order backward pass fails on every backend. A
 * comparison is piecewise constant: its gradient is zero almost everywhere,
 * which is what tfjs already registers for `GreaterEqual`. voxlab registers
 * the same for the other comparisons.
 *
 * Like tfjs's own gradients, these are registered when the module is
 * imported (importing `mod.ts` does it).
 *
 * @module
 */

import { tf } from "../deps.ts";

/** Comparisons whose gradient tfjs 4.22 does not register. */
const COMPARISONS = ["Greater", "Less", "LessEqual", "Equal", "NotEqual"] as const;

/** Zero gradients for the comparison kernels tfjs leaves without one. */
export const COMPARISON_GRADIENTS: readonly tf.GradConfig[] = COMPARISONS.map((kernelName) => ({
  kernelName,
  inputsToSave: ["a", "b"],
  gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => ({
    a: () => tf.zerosLike(saved[0]!),
    b: () => tf.zerosLike(saved[1]!),
  }),
}));

/**
 * Register {@linkcode COMPARISON_GRADIENTS} where tfjs has none. Idempotent.
 *
 * @example Second-order gradients through leakyRelu
 * ```ts
 * import { registerGradients } from "./gradients.ts";
 * import { tf } from "../deps.ts";
 * import { ok } from "node:assert/strict";
 * await tf.setBackend("cpu");
 * registerGradients();
 * const x = tf.tensor1d([3, 0.5]);
 * // Σ (∂/∂x Σ leakyRelu(w·x))² = Σ (w · slope(w·x))², differentiated with respect to w.
 * const penalty = (w: tf.Tensor) =>
 *   tf.sum(tf.square(tf.grad((xx: tf.Tensor) => tf.sum(tf.leakyRelu(tf.mul(w, xx), 0.2)))(x)));
 * const [a, b] = tf.grad(penalty)(tf.tensor1d([1, -2])).dataSync(); // 2·w·slope²
 * ok(Math.abs(a! - 2) < 1e-6 && Math.abs(b! + 0.16) < 1e-6);
 * ```
 */
export function registerGradients(): void {
  for (const config of COMPARISON_GRADIENTS) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
}

registerGradients();
