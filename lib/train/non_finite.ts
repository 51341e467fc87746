/**
 * Non-finite values, found before anything else reads them: the first
 * weight that is NaN or infinite, and the error with which any other
 * measure (a diagnostic) stops a run the same way as a non-finite loss.
 *
 * @module
 */
import { tf } from "../deps.ts";

/** A value that went NaN or infinite, and where. */
export interface NonFiniteValue {
  /** What it is, e.g. `G.adversarial`, `G/down1/conv/kernel` or `diagnostics.labelSensitivity`. */
  name: string;
  /** The value (NaN, Infinity or -Infinity). */
  value: number;
}

/**
 * A measure computed during training (a diagnostic, not a loss) came out NaN
 * or infinite. The training loop catches it from a hook and stops the run
 * exactly as for a non-finite loss: named, with the last good checkpoint kept.
 */
export class NonFiniteError extends Error {
  /** The error class name. */
  override name = "NonFiniteError";
  /** What went non-finite. */
  readonly bad: NonFiniteValue;

  /** Build the error for a value `name` that is `value`. */
  constructor(name: string, value: number) {
    super(`Cannot continue training: ${name} is ${value}`);
    this.bad = { name, value };
  }
}

/**
 * The first tensor (in key order) holding a NaN or an infinity, with that
 * value, or `null` when all are finite. One value is read back for the
 * whole set: the sum of `x · 0` over every tensor is 0 exactly when every
 * element is finite (`NaN · 0` and `±∞ · 0` are NaN), so a finite set costs
 * one small download, whatever its size.
 *
 * @example
 * ```ts
 * import { firstNonFinite } from "./non_finite.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const ok = { a: tf.tensor1d([1, 2]) }, bad = { a: tf.tensor1d([1, 2]), b: tf.tensor1d([0, NaN]) };
 * console.assert(firstNonFinite(ok) === null);
 * console.assert(firstNonFinite(bad)?.name === "b");
 * ```
 */
export function firstNonFinite(tensors: Record<string, tf.Tensor>): NonFiniteValue | null {
  const list = Object.entries(tensors);
  if (list.length === 0) return null;
  const probe = tf.tidy(() => tf.addN(list.map(([, t]) => tf.sum(tf.mul(t, 0)))).dataSync()[0]!);
  if (probe === 0) return null;
  for (const [name, t] of list) {
    const values = t.dataSync();
    const i = values.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) return { name, value: values[i]! };
  }
  return null;
}
