/**
 * Named weights of a model: creation from a seeded {@linkcode Rng}, export
 * and import as plain `Float32Array`s for checkpoints.
 *
 * Initialisation follows Chainer's defaults, because the seed experiment was a
 * Chainer model: convolution kernels are LeCun normal, `N(0, 1/fan_in)`, with
 * `fan_in = k·k·C_in` for a convolution and `k·k·C_out` for a deconvolution
 * (Chainer computes the fan from its deconvolution weight of shape
 * `(C_in, C_out, k, k)`, whose second axis is `C_out`); biases and BatchNorm
 * shifts start at 0, BatchNorm scales at 1.
 *
 * @module
 */

import { tf } from "../deps.ts";
import type { Rng } from "../random.ts";

/** Weights by name, e.g. `down1/conv/kernel`, as flat float32 arrays. */
export type NamedWeights = Record<string, Float32Array>;

/** One entry of a {@linkcode ParamStore}. */
export interface ParamEntry {
  /** The tfjs variable holding the values. */
  variable: tf.Variable;
  /** Whether an optimizer updates it (false for BatchNorm running statistics). */
  trainable: boolean;
}

/**
 * LeCun normal initial values: `N(0, 1/fanIn)` (Chainer's default for
 * convolutions and linear layers).
 *
 * @example Kernel of a 3×3 convolution from 8 to 16 channels
 * ```ts
 * import { lecunNormal } from "./params.ts";
 * import { Rng } from "../random.ts";
 * const w = lecunNormal(new Rng(1), 3 * 3 * 8 * 16, 3 * 3 * 8);
 * console.assert(w.length === 1152);
 * ```
 */
export function lecunNormal(rng: Rng, size: number, fanIn: number): Float32Array {
  if (!(fanIn > 0)) {
    throw new RangeError(`Cannot initialise weights: fan-in must be positive, got ${fanIn}`);
  }
  return rng.normalArray(size, Math.sqrt(1 / fanIn));
}

/**
 * The weights of one model, by hierarchical name.
 *
 * Variables are created without a tfjs name (tfjs names are global and two
 * models would collide); the store keeps voxlab's names.
 *
 * @example
 * ```ts
 * import { ParamStore } from "./params.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const store = new ParamStore();
 * store.add("dense/bias", [3], new Float32Array(3));
 * console.assert(store.getWeights()["dense/bias"]!.length === 3);
 * store.dispose();
 * ```
 */
export class ParamStore {
  #entries = new Map<string, ParamEntry>();

  /** Create a variable `name` of `shape` holding `values`. */
  add(name: string, shape: number[], values: Float32Array, trainable = true): tf.Variable {
    if (this.#entries.has(name)) {
      throw new Error(`Cannot add weight '${name}': a weight of that name exists`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new RangeError(
        `Cannot add weight '${name}': ${values.length} values for shape [${shape}] (${size})`,
      );
    }
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), trainable));
    this.#entries.set(name, { variable, trainable });
    return variable;
  }

  /** The trainable variables by name, in creation order. */
  trainableVariables(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const [name, e] of this.#entries) if (e.trainable) out[name] = e.variable;
    return out;
  }

  /** Every variable (trainable or not) by name, in creation order. */
  entries(): [string, ParamEntry][] {
    return [...this.#entries];
  }

  /** Shapes of every weight by name. */
  shapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, e] of this.#entries) out[name] = [...e.variable.shape];
    return out;
  }

  /** Number of trainable scalars. */
  countTrainable(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.trainable) n += e.variable.size;
    return n;
  }

  /** Copy every weight, trainable or not, into named `Float32Array`s. */
  getWeights(): NamedWeights {
    const out: NamedWeights = {};
    for (const [name, e] of this.#entries) {
      out[name] = new Float32Array(e.variable.dataSync() as Float32Array);
    }
    return out;
  }

  /**
   * Load weights saved by {@linkcode ParamStore.getWeights}. Every weight of
   * the store must be present with the right size; unknown names are refused.
   */
  setWeights(weights: NamedWeights): void {
    for (const name of Object.keys(weights)) {
      if (!this.#entries.has(name)) {
        throw new Error(`Cannot load weights: unknown weight '${name}'`);
      }
    }
    for (const [name, e] of this.#entries) {
      const values = weights[name];
      if (values === undefined) throw new Error(`Cannot load weights: missing weight '${name}'`);
      if (!(values instanceof Float32Array) || values.length !== e.variable.size) {
        throw new RangeError(
          `Cannot load weights: '${name}' has ${values.length} values, expected ${e.variable.size} for shape [${e.variable.shape}]`,
        );
      }
    }
    for (const [name, e] of this.#entries) {
      tf.tidy(() => e.variable.assign(tf.tensor(weights[name]!, e.variable.shape, "float32")));
    }
  }

  /** Dispose every variable. */
  dispose(): void {
    for (const e of this.#entries.values()) e.variable.dispose();
    this.#entries.clear();
  }
}

/**
 * A model whose weights all live in one {@linkcode ParamStore}: the weight
 * access and clean-up that {@linkcode Generator} and {@linkcode Discriminator}
 * share.
 *
 * @example A model with one weight
 * ```ts
 * import { ParamModel } from "./params.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * class Bias extends ParamModel {
 *   constructor() {
 *     super();
 *     this.params.add("bias", [2], new Float32Array(2));
 *   }
 * }
 * const m = new Bias();
 * console.assert(m.weightShapes()["bias"]!.join() === "2");
 * m.dispose();
 * ```
 */
export abstract class ParamModel {
  /** The weights, by name. */
  readonly params: ParamStore = new ParamStore();

  /** Trainable variables by name (BatchNorm running statistics excluded). */
  get trainableVariables(): Record<string, tf.Variable> {
    return this.params.trainableVariables();
  }

  /** Every weight, including BatchNorm running statistics, by name. */
  getWeights(): NamedWeights {
    return this.params.getWeights();
  }

  /** Load weights from {@linkcode ParamModel.getWeights}. */
  setWeights(weights: NamedWeights): void {
    this.params.setWeights(weights);
  }

  /** Shapes of every weight by name. */
  weightShapes(): Record<string, number[]> {
    return this.params.shapes();
  }

  /** Release the weights. */
  dispose(): void {
    this.params.dispose();
  }
}
