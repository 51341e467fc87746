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
 * value, or `null` when all are finite. One value is read back for a finite
 * set, whatever its size: the sum of all elements, which is finite only if
 * every element is (a NaN or an infinity makes any sum NaN or infinite).
 * Only when that sum is not finite (or overflowed) are the tensors read and
 * searched.
 *
 * @example
 * ```ts
 * import { firstNonFinite } from "./non_finite.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const ok = { a: tf.tensor1d([1, 2]) }, bad = { a: tf.tensor1d([1, 2]), b: tf.tensor1d([0, NaN]) };
 * console.assert(firstNonFinite(ok) === null);
 * console.assert(firstNonFinite(bad)?.name === "b");
 * console.assert(firstNonFinite({ big: tf.tensor1d([3e38, 3e38]) }) === null); // the sum overflows
 * ```
 */
export function firstNonFinite(tensors: Record<string, tf.Tensor>): NonFiniteValue | null {
  const list = Object.entries(tensors);
  if (list.length === 0) return null;
  const sum = tf.tidy(() => tf.addN(list.map(([, t]) => tf.sum(t.toFloat()))).dataSync()[0]!);
  if (Number.isFinite(sum)) return null;
  for (const [name, t] of list) {
    const i = indexOfNonFinite(t.dataSync());
    if (i >= 0) return { name, value: t.dataSync()[i]! };
  }
  return null;
}

/**
 * The index of the first NaN or infinity in `values`, or -1. (`v - v` is 0
 * for every finite `v` and NaN otherwise; a plain loop, several times faster
 * than `findIndex` with `Number.isFinite` on large arrays.)
 *
 * @example
 * ```ts
 * import { indexOfNonFinite } from "./non_finite.ts";
 * console.assert(indexOfNonFinite(new Float32Array([1, Infinity])) === 1);
 * console.assert(indexOfNonFinite(new Float32Array([1, 2])) === -1);
 * ```
 */
export function indexOfNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}
