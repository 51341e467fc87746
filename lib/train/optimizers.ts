/**
 * Optimizers with Chainer/PyTorch semantics and exportable state.
 *
 * tfjs's own `RMSPropOptimizer` is not Chainer's or PyTorch's RMSprop (decay
 * 0.9, epsilon 1e-7 inside the square root, and `centered` gives NaN on a
 * zero gradient), so both optimizers are written here:
 *
 * - RMSprop (Chainer `optimizers.RMSprop`, PyTorch `optim.RMSprop`,
 *   non-centred): `v ← α·v + (1 − α)·g²`, `p ← p − lr·g / (sqrt(v) + ε)`,
 *   `v₀ = 0`, α = 0.99, ε = 1e-8 outside the square root.
 * - Adam (PyTorch `optim.Adam`): `m ← β₁·m + (1 − β₁)·g`,
 *   `v ← β₂·v + (1 − β₂)·g²`, `p ← p − lr·m̂ / (sqrt(v̂) + ε)` with
 *   `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`. (Chainer's Adam adds ε to
 *   `sqrt(v)` before the bias correction; the difference is of order ε.)
 *
 * Updates dispose their temporaries as they go, so a large variable (the
 * discriminator's 48M-weight classification kernel at full size) costs about
 * two temporaries of its size at a time.
 *
 * @module
 */

import { tf } from "../deps.ts";

/** Optimizer kinds. */
export type OptimizerKind = "rmsprop" | "adam";

/** An optimizer's exported state, for checkpoints: JSON-able `config` plus named slot arrays. */
export interface OptimizerState {
  /** Kind, hyper-parameters, learning rate and update count (plain JSON). */
  config: {
    kind: OptimizerKind;
    learningRate: number;
    iterations: number;
    hyper: Record<string, number>;
  };
  /** Slot values by `<variable name>/<slot>`, e.g. `down1/conv/kernel/v`. */
  slots: Record<string, Float32Array>;
}

/** What the GAN step needs from an optimizer. */
export interface Optimizer {
  /** Kind. */
  readonly kind: OptimizerKind;
  /** The variables it updates, by name. */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /** Learning rate of the next update; set it between epochs from a schedule. */
  learningRate: number;
  /** Updates applied so far. */
  readonly iterations: number;
  /**
   * Apply one update from gradients keyed by variable name (missing names are
   * left unchanged). The caller keeps ownership of `grads`.
   */
  applyGradients(grads: Record<string, tf.Tensor>): void;
  /** Export the state (slots copied). */
  getState(): OptimizerState;
  /** Restore a state from {@linkcode Optimizer.getState}. */
  setState(state: OptimizerState): void;
  /** Release the slots. */
  dispose(): void;
}

/** Options of {@linkcode RMSprop}. */
export interface RMSpropOptions {
  /**
   * Learning rate (the seed's).
   * @default {1e-5}
   */
  learningRate?: number;
  /**
   * Decay of the squared-gradient average.
   * @default {0.99}
   */
  alpha?: number;
  /**
   * Added to `sqrt(v)` (outside the square root).
   * @default {1e-8}
   */
  eps?: number;
}

/** Options of {@linkcode Adam}. */
export interface AdamOptions {
  /**
   * Learning rate.
   * @default {1e-3}
   */
  learningRate?: number;
  /**
   * Decay of the gradient average.
   * @default {0.9}
   */
  beta1?: number;
  /**
   * Decay of the squared-gradient average.
   * @default {0.999}
   */
  beta2?: number;
  /**
   * Added to `sqrt(v̂)`.
   * @default {1e-8}
   */
  eps?: number;
}

function checkRate(what: string, v: number, open = false): number {
  const ok = open ? v >= 0 && v < 1 : v >= 0;
  if (!ok || !Number.isFinite(v)) {
    throw new RangeError(
      `Cannot configure optimizer: ${what} must be ${open ? "in [0, 1)" : ">= 0"}, got ${v}`,
    );
  }
  return v;
}

/** Run `f`, then dispose every tensor in `dispose`. */
function consume<T>(f: () => T, ...dispose: tf.Tensor[]): T {
  const out = f();
  for (const t of dispose) t.dispose();
  return out;
}

/**
 * What {@linkcode RMSprop} and {@linkcode Adam} share: per-variable slot
 * variables (moment estimates), the step count, the learning rate, gradient
 * checks and saving and restoring the state. A subclass names its slots and
 * writes the update of one variable.
 */
export abstract class SlotOptimizer implements Optimizer {
  /** Which optimizer this is. */
  abstract readonly kind: OptimizerKind;
  /** The variables it updates, by name. */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  #lr = 0;
  /** Updates applied so far. */
  protected step: number = 0;
  /** Slot variables by `variable name/slot name`, e.g. `down1/conv/kernel/m`. */
  protected slots: Map<string, tf.Variable> = new Map();

  /** Create zeroed slots `slotNames` for every variable. */
  constructor(variables: Record<string, tf.Variable>, learningRate: number, slotNames: string[]) {
    this.variables = { ...variables };
    this.learningRate = learningRate;
    for (const [name, v] of Object.entries(variables)) {
      for (const slot of slotNames) {
        this.slots.set(`${name}/${slot}`, tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
      }
    }
  }

  /** The learning rate the next update uses; schedules set it. */
  get learningRate(): number {
    return this.#lr;
  }

  set learningRate(lr: number) {
    this.#lr = checkRate("learning rate", lr);
  }

  /** Updates applied so far. */
  get iterations(): number {
    return this.step;
  }

  /** The hyperparameters besides the learning rate, for {@linkcode SlotOptimizer.getState}. */
  protected abstract hyper(): Record<string, number>;
  /** Restore hyperparameters saved by {@linkcode SlotOptimizer.hyper}. */
  protected abstract setHyper(hyper: Record<string, number>): void;
  /** Update variable `p` named `name` with gradient `g`, and its slots. */
  protected abstract update(name: string, p: tf.Variable, g: tf.Tensor): void;

  /** Apply one update; `grads` may leave out variables, never add unknown ones. */
  applyGradients(grads: Record<string, tf.Tensor>): void {
    // Every gradient is checked before anything changes: a bad one leaves no half-done step.
    for (const [name, g] of Object.entries(grads)) {
      const p = this.variables[name];
      if (p === undefined) {
        throw new Error(`Cannot apply gradients: unknown variable '${name}'`);
      }
      if (g.shape.join() !== p.shape.join()) {
        throw new RangeError(
          `Cannot apply gradients: '${name}' has gradient [${g.shape}] for variable [${p.shape}]`,
        );
      }
    }
    this.step++;
    for (const [name, p] of Object.entries(this.variables)) {
      const g = grads[name];
      if (g !== undefined) this.update(name, p, g);
    }
  }

  /** The state to save in a checkpoint: config, step count and slot values. */
  getState(): OptimizerState {
    const slots: Record<string, Float32Array> = {};
    for (const [key, v] of this.slots) slots[key] = new Float32Array(v.dataSync() as Float32Array);
    return {
      config: {
        kind: this.kind,
        learningRate: this.learningRate,
        iterations: this.step,
        hyper: this.hyper(),
      },
      slots,
    };
  }

  /** Restore a state from {@linkcode SlotOptimizer.getState}. */
  setState(state: OptimizerState): void {
    if (state.config.kind !== this.kind) {
      throw new TypeError(
        `Cannot restore optimizer state: expected kind '${this.kind}', got '${state.config.kind}'`,
      );
    }
    for (const [key, v] of this.slots) {
      const values = state.slots[key];
      if (values === undefined) {
        throw new Error(`Cannot restore optimizer state: missing slot '${key}'`);
      }
      if (values.length !== v.size) {
        throw new RangeError(
          `Cannot restore optimizer state: slot '${key}' has ${values.length} values, expected ${v.size}`,
        );
      }
    }
    for (const key of Object.keys(state.slots)) {
      if (!this.slots.has(key)) {
        throw new Error(`Cannot restore optimizer state: unknown slot '${key}'`);
      }
    }
    for (const [key, v] of this.slots) {
      tf.tidy(() => v.assign(tf.tensor(state.slots[key]!, v.shape, "float32")));
    }
    this.setHyper(state.config.hyper);
    this.learningRate = state.config.learningRate;
    this.step = state.config.iterations;
  }

  /** Release the slot variables (not the variables it updates). */
  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

/**
 * RMSprop as Chainer and PyTorch define it (see the module doc).
 *
 * @example One step by hand: g = 2, v = 0.01·4, p ← 1 − 0.1·2/(0.2 + 1e-8)
 * ```ts
 * import { RMSprop } from "./optimizers.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const p = tf.variable(tf.scalar(1));
 * const opt = new RMSprop({ p }, { learningRate: 0.1 });
 * opt.applyGradients({ p: tf.scalar(2) });
 * console.assert(Math.abs(p.dataSync()[0]! - 0) < 1e-6);
 * ```
 */
export class RMSprop extends SlotOptimizer {
  /** Kind. */
  readonly kind = "rmsprop" as const;
  #alpha: number;
  #eps: number;

  /** Create zeroed slots `v` for `variables`. */
  constructor(variables: Record<string, tf.Variable>, options: RMSpropOptions = {}) {
    super(variables, options.learningRate ?? 1e-5, ["v"]);
    this.#alpha = checkRate("alpha", options.alpha ?? 0.99, true);
    this.#eps = checkRate("eps", options.eps ?? 1e-8);
  }

  /** The hyperparameters besides the learning rate. */
  protected override hyper(): Record<string, number> {
    return { alpha: this.#alpha, eps: this.#eps };
  }

  /** Restore saved hyperparameters; a missing one keeps its value. */
  protected override setHyper(h: Record<string, number>): void {
    this.#alpha = checkRate("alpha", h.alpha ?? this.#alpha, true);
    this.#eps = checkRate("eps", h.eps ?? this.#eps);
  }

  /** One update of `p` and its slots (see the module doc for the formula). */
  protected override update(name: string, p: tf.Variable, g: tf.Tensor): void {
    const v = this.slots.get(`${name}/v`)!;
    const a = this.#alpha, lr = this.learningRate, eps = this.#eps;
    // v ← α·v + (1 − α)·g²
    const g2 = tf.square(g);
    const scaledG2 = consume(() => tf.mul(g2, 1 - a), g2);
    const decayed = tf.mul(v, a);
    v.assign(consume(() => tf.add(decayed, scaledG2), decayed, scaledG2));
    // p ← p − lr·g / (sqrt(v) + ε)
    const root = tf.sqrt(v);
    const denom = consume(() => tf.add(root, eps), root);
    const ratio = consume(() => tf.div(g, denom), denom);
    const delta = consume(() => tf.mul(ratio, lr), ratio);
    const next = consume(() => tf.sub(p, delta), delta);
    p.assign(next);
    next.dispose();
  }
}

/**
 * Adam as PyTorch defines it (see the module doc).
 *
 * @example The first step moves each weight by about lr against its gradient's sign
 * ```ts
 * import { Adam } from "./optimizers.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const p = tf.variable(tf.tensor1d([1, 1]));
 * const opt = new Adam({ p }, { learningRate: 0.01 });
 * opt.applyGradients({ p: tf.tensor1d([3, -0.5]) });
 * const [a, b] = p.dataSync();
 * console.assert(Math.abs(a! - 0.99) < 1e-6 && Math.abs(b! - 1.01) < 1e-6);
 * ```
 */
export class Adam extends SlotOptimizer {
  /** Kind. */
  readonly kind = "adam" as const;
  #beta1: number;
  #beta2: number;
  #eps: number;

  /** Create zeroed slots `m` and `v` for `variables`. */
  constructor(variables: Record<string, tf.Variable>, options: AdamOptions = {}) {
    super(variables, options.learningRate ?? 1e-3, ["m", "v"]);
    this.#beta1 = checkRate("beta1", options.beta1 ?? 0.9, true);
    this.#beta2 = checkRate("beta2", options.beta2 ?? 0.999, true);
    this.#eps = checkRate("eps", options.eps ?? 1e-8);
  }

  /** The hyperparameters besides the learning rate. */
  protected override hyper(): Record<string, number> {
    return { beta1: this.#beta1, beta2: this.#beta2, eps: this.#eps };
  }

  /** Restore saved hyperparameters; a missing one keeps its value. */
  protected override setHyper(h: Record<string, number>): void {
    this.#beta1 = checkRate("beta1", h.beta1 ?? this.#beta1, true);
    this.#beta2 = checkRate("beta2", h.beta2 ?? this.#beta2, true);
    this.#eps = checkRate("eps", h.eps ?? this.#eps);
  }

  /** One update of `p` and its slots (see the module doc for the formula). */
  protected override update(name: string, p: tf.Variable, g: tf.Tensor): void {
    const m = this.slots.get(`${name}/m`)!;
    const v = this.slots.get(`${name}/v`)!;
    const b1 = this.#beta1, b2 = this.#beta2, t = this.step;
    const mHatScale = 1 / (1 - b1 ** t);
    const vHatScale = 1 / (1 - b2 ** t);
    const lr = this.learningRate, eps = this.#eps;
    tf.tidy(() => m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1))));
    tf.tidy(() => v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2))));
    const root = tf.tidy(() => tf.add(tf.sqrt(tf.mul(v, vHatScale)), eps));
    const delta = consume(() => tf.tidy(() => tf.div(tf.mul(m, lr * mHatScale), root)), root);
    const next = consume(() => tf.sub(p, delta), delta);
    p.assign(next);
    next.dispose();
  }
}

/** Options of {@linkcode createOptimizer}: the union of both kinds' options. */
export interface CreateOptimizerOptions {
  /**
   * Which optimizer.
   * @default {"rmsprop"}
   */
  kind?: OptimizerKind;
  /**
   * Learning rate.
   * @default {1e-5 for RMSprop, 1e-3 for Adam}
   */
  learningRate?: number;
  /**
   * RMSprop's α; also Adam's β₂ when `beta2` is absent.
   * @default {0.99 (RMSprop), 0.999 (Adam)}
   */
  alpha?: number;
  /**
   * Adam's β₁ (ignored by RMSprop).
   * @default {0.9}
   */
  beta1?: number;
  /**
   * Adam's β₂ (ignored by RMSprop).
   * @default {alpha ?? 0.999}
   */
  beta2?: number;
  /**
   * ε outside the square root.
   * @default {1e-8}
   */
  eps?: number;
}

/**
 * Create an optimizer from plain settings (e.g. an experiment's optimizer spec).
 *
 * @example
 * ```ts
 * import { createOptimizer } from "./optimizers.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const opt = createOptimizer({ w: tf.variable(tf.zeros([2])) }, { kind: "adam", learningRate: 2e-4 });
 * console.assert(opt.kind === "adam" && opt.learningRate === 2e-4);
 * ```
 */
export function createOptimizer(
  variables: Record<string, tf.Variable>,
  options: CreateOptimizerOptions = {},
): Optimizer {
  const kind = options.kind ?? "rmsprop";
  const pick = <K extends string>(o: Record<K, number | undefined>) => {
    const out: Partial<Record<K, number>> = {};
    for (const k of Object.keys(o) as K[]) if (o[k] !== undefined) out[k] = o[k];
    return out;
  };
  if (kind === "rmsprop") {
    return new RMSprop(
      variables,
      pick({ learningRate: options.learningRate, alpha: options.alpha, eps: options.eps }),
    );
  }
  if (kind === "adam") {
    return new Adam(
      variables,
      pick({
        learningRate: options.learningRate,
        beta1: options.beta1,
        beta2: options.beta2 ?? options.alpha,
        eps: options.eps,
      }),
    );
  }
  throw new RangeError(`Cannot create optimizer: unknown kind '${kind}', expected rmsprop or adam`);
}
