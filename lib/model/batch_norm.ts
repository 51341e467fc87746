/**
 * Batch normalisation over NHWC tensors, with raw ops and a hand-written
 * gradient.
 *
 * Conventions (Chainer's `BatchNormalization`, which the seed used):
 * - training mode normalises with the batch statistics over `[B, H, W]`,
 *   using the biased variance `mean((x - mean)²)`;
 * - the running statistics are updated as
 *   `running = decay · running + (1 - decay) · batch` with `decay = 0.9`
 *   (PyTorch's `momentum = 0.1`); the running variance receives the unbiased
 *   batch variance `var · m / (m - 1)`, `m = B·H·W`, as in Chainer and PyTorch;
 * - inference mode normalises with the running statistics;
 * - `epsilon = 2e-5` is added to the variance inside the square root;
 * - scale γ starts at 1, shift β at 0; running mean at 0, running variance at 1.
 *
 * The training-mode gradient is the closed form
 * `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))`, which costs a handful
 * of full-size ops instead of the dozen autodiff would record (tfjs's `Mean`
 * gradient alone materialises a full tensor of ones). Channel means are a
 * full-window average pooling (then a mean over the batch of `[B, 1, 1, C]`):
 * tfjs's Mean/Sum reduce the outer axes of an NHWC tensor by transposing it
 * first, ~5× slower on wasm, and a `[1, N] × [N, C]` product repacks its
 * right operand on every call (~25× slower). It is not itself
 * differentiable, so a BatchNorm layer cannot sit inside a gradient penalty;
 * the discriminator has none.
 *
 * @module
 */

import { tf } from "../deps.ts";
import type { ParamStore } from "./params.ts";
import {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
} from "../backend/kernels/tensorflow_batch_norm.ts";

/** BatchNorm hyper-parameters. */
export interface BatchNormConfig {
  /**
   * Weight of the old running statistics in each update
   * (`running = decay · running + (1 − decay) · batch`).
   * @default {0.9}
   */
  decay: number;
  /**
   * Added to the variance before the square root.
   * @default {2e-5}
   */
  epsilon: number;
}

/** Chainer's BatchNormalization defaults. */
export const DEFAULT_BATCH_NORM: Readonly<BatchNormConfig> = Object.freeze({
  decay: 0.9,
  epsilon: 2e-5,
});

/** Activation fused into a {@linkcode BatchNorm}'s output. */
export type FusedActivation = "relu" | "linear";

/**
 * A BatchNorm layer over the channel axis of NHWC input, optionally fused
 * with a ReLU.
 *
 * @example Normalise a batch in training mode
 * ```ts
 * import { BatchNorm } from "./batch_norm.ts";
 * import { ParamStore } from "./params.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const store = new ParamStore();
 * const bn = new BatchNorm(store, "bn", 2);
 * const y = bn.apply(tf.randomNormal([4, 3, 3, 2]), { training: true });
 * console.assert(y.shape.join() === "4,3,3,2");
 * store.dispose();
 * ```
 */
export class BatchNorm {
  /** Scale γ, `[C]`. */
  readonly gamma: tf.Variable;
  /** Shift β, `[C]`. */
  readonly beta: tf.Variable;
  /** Running mean, `[C]` (not trainable). */
  readonly runningMean: tf.Variable;
  /** Running (unbiased) variance, `[C]` (not trainable). */
  readonly runningVar: tf.Variable;
  /** The hyper-parameters in use. */
  readonly config: Readonly<BatchNormConfig>;

  /** Create the variables `name/gamma`, `name/beta`, `name/running_mean`, `name/running_var`. */
  constructor(
    store: ParamStore,
    name: string,
    channels: number,
    config: Partial<BatchNormConfig> = {},
  ) {
    this.config = { ...DEFAULT_BATCH_NORM, ...config };
    const { decay, epsilon } = this.config;
    if (!(decay >= 0 && decay < 1)) {
      throw new RangeError(
        `Cannot create BatchNorm '${name}': decay must be in [0, 1), got ${decay}`,
      );
    }
    if (!(epsilon > 0)) {
      throw new RangeError(
        `Cannot create BatchNorm '${name}': epsilon must be > 0, got ${epsilon}`,
      );
    }
    this.gamma = store.add(`${name}/gamma`, [channels], new Float32Array(channels).fill(1));
    this.beta = store.add(`${name}/beta`, [channels], new Float32Array(channels));
    this.runningMean = store.add(
      `${name}/running_mean`,
      [channels],
      new Float32Array(channels),
      false,
    );
    this.runningVar = store.add(
      `${name}/running_var`,
      [channels],
      new Float32Array(channels).fill(1),
      false,
    );
  }

  /**
   * Normalise `x` `[B, H, W, C]`, then apply `activation`.
   * In training mode the running statistics are updated as a side effect.
   */
  apply(
    x: tf.Tensor4D,
    options: { training: boolean; activation?: FusedActivation },
  ): tf.Tensor4D {
    const activation = options.activation ?? "linear";
    if (!options.training) {
      return tf.tidy(() => {
        const scale = tf.mul(this.gamma, tf.rsqrt(tf.add(this.runningVar, this.config.epsilon)));
        const shift = tf.sub(this.beta, tf.mul(this.runningMean, scale));
        const y = tf.add(tf.mul(x, scale), shift) as tf.Tensor4D;
        return activation === "relu" ? tf.relu(y) : y;
      });
    }
    const stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D } = {};
    const y = batchNormTrain(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, {
      epsilon: this.config.epsilon,
      activation,
      stats,
    });
    const { mean, variance } = stats;
    if (mean && variance) {
      const m = x.shape[0] * x.shape[1] * x.shape[2];
      const d = this.config.decay;
      tf.tidy(() => {
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, d), tf.mul(mean, 1 - d)));
        const unbiased = tf.mul(variance, m / Math.max(m - 1, 1));
        this.runningVar.assign(tf.add(tf.mul(this.runningVar, d), tf.mul(unbiased, 1 - d)));
      });
      mean.dispose();
      variance.dispose();
    }
    return y;
  }
}

/**
 * Whether the op whose forward pass is running (inside `tf.customGrad`) is
 * being recorded on a gradient tape: tfjs records only top-level kernels
 * (kernel depth 1 inside a forward pass) while a gradient is computed. Reads
 * tfjs-core engine state; if that is unavailable it answers true, which only
 * costs the saved tensors.
 */
function recordingForBackward(): boolean {
  const state = (tf.engine() as unknown as {
    state?: { gradientDepth?: unknown; kernelDepth?: unknown };
  }).state;
  const g = state?.gradientDepth, k = state?.kernelDepth;
  if (typeof g !== "number" || typeof k !== "number") return true;
  return g > 0 && k <= 1;
}

/**
 * Per-channel mean of NHWC `x` over `[B, H, W]`, as `[C]`: a full-window
 * average pooling, then the mean of the `[B, 1, 1, C]` result over the batch.
 */
export function channelMean(x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    const pooled = tf.avgPool(x, [h, w], [h, w], "valid"); // [B, 1, 1, C]
    return tf.reshape(tf.mean(pooled, 0), [c]) as tf.Tensor1D;
  });
}

/** Options of {@linkcode batchNormTrain}. */
export interface BatchNormTrainOptions {
  /**
   * Added to the variance before the square root.
   * @default {2e-5}
   */
  epsilon?: number;
  /**
   * Activation fused after the affine transform.
   * @default {"linear"}
   */
  activation?: FusedActivation;
  /**
   * When given, receives the batch mean and biased variance `[C]`; the caller
   * owns (and must dispose) them.
   * @default {undefined}
   */
  stats?: { mean?: tf.Tensor1D; variance?: tf.Tensor1D };
}

/**
 * Training-mode batch normalisation of NHWC `x` with batch statistics:
 * `act(γ · (x − mean) / sqrt(var + ε) + β)`, with a closed-form gradient for
 * `x`, `γ` and `β`.
 *
 * @example
 * ```ts
 * import { batchNormTrain } from "./batch_norm.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const y = batchNormTrain(tf.randomNormal([2, 4, 4, 3]), tf.ones([3]), tf.zeros([3]));
 * console.assert(Math.abs(tf.mean(y).dataSync()[0]!) < 1e-5);
 * ```
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  options: BatchNormTrainOptions = {},
): tf.Tensor4D {
  const epsilon = options.epsilon ?? DEFAULT_BATCH_NORM.epsilon;
  const relu = (options.activation ?? "linear") === "relu";
  const stats = options.stats;
  const channels = x.shape[3];
  if (gamma.shape[0] !== channels || beta.shape[0] !== channels) {
    throw new RangeError(
      `Cannot apply BatchNorm: input [${x.shape}] has ${channels} channels, gamma [${gamma.shape}], beta [${beta.shape}]`,
    );
  }
  if (tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined) {
    return fusedBatchNormTrain(x, gamma, beta, { epsilon, relu, stats });
  }
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mean = channelMean(xi); // [C]
    const centered = tf.sub(xi, mean); // [B, H, W, C]
    const variance = channelMean(tf.square(centered) as tf.Tensor4D); // [C], biased
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const affine = tf.add(tf.mul(centered, tf.mul(g, invStd)), b);
    const value = relu ? tf.relu(affine) : affine;
    // The ReLU's gradient mask is saved as bool (1 byte per element instead of
    // 4), and only computed when a gradient tape records this op.
    if (recordingForBackward()) {
      save(relu ? [centered, invStd, g, tf.greater(affine, 0)] : [centered, invStd, g]);
    }
    if (stats) {
      stats.mean = tf.keep(mean);
      stats.variance = tf.keep(variance);
    }
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sc, sInv, sg, mask] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor4D?];
        const m = sc.shape[0] * sc.shape[1] * sc.shape[2];
        const dz = (mask ? tf.mul(dy, tf.cast(mask, "float32")) : dy) as tf.Tensor4D;
        const dBeta = tf.mul(channelMean(dz), m);
        // Σ dz·x̂ = invStd · Σ dz·(x − mean)
        const dGamma = tf.mul(tf.mul(channelMean(tf.mul(dz, sc) as tf.Tensor4D), m), sInv);
        // dx = a·dz + (x − mean)·b + c, a = γ/σ, b = −a·dγ/(σ·N), c = −a·dβ/N
        const a = tf.mul(sg, sInv);
        const bCoef = tf.mul(tf.mul(a, sInv), tf.div(dGamma, -m));
        const cCoef = tf.mul(a, tf.div(dBeta, -m));
        const dx = tf.add(tf.add(tf.mul(dz, a), tf.mul(sc, bCoef)), cCoef);
        return [dx, dGamma, dBeta];
      },
    };
  });
  return fn(x, gamma, beta) as tf.Tensor4D;
}

/**
 * {@linkcode batchNormTrain} on a backend with a fused training kernel (the native tensorflow
 * backend's `FusedBatchNormV3`, see `lib/backend/kernels/tensorflow_batch_norm.ts`): one kernel
 * forward and one backward instead of about eight element-wise passes each way.
 */
function fusedBatchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  options: { epsilon: number; relu: boolean; stats: BatchNormTrainOptions["stats"] },
): tf.Tensor4D {
  const { epsilon, relu, stats } = options;
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, mean, variance, r1, r2, r3] = tf.engine().runKernel(
      BATCH_NORM_TRAIN,
      { x: xi, scale: g, offset: b },
      { epsilon },
    ) as tf.Tensor[];
    const value = relu ? tf.relu(y!) : y!;
    if (recordingForBackward()) {
      save(relu ? [xi, g, r1!, r2!, r3!, tf.greater(y!, 0)] : [xi, g, r1!, r2!, r3!]);
    }
    if (stats) {
      stats.mean = tf.keep(mean as tf.Tensor1D);
      stats.variance = tf.keep(variance as tf.Tensor1D);
    }
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, s1, s2, s3, mask] = saved;
        const dz = mask ? tf.mul(dy, tf.cast(mask, "float32")) : dy;
        return tf.engine().runKernel(
          BATCH_NORM_TRAIN_GRAD,
          { dy: dz, x: sx!, scale: sg!, r1: s1!, r2: s2!, r3: s3! },
          { epsilon },
        ) as tf.Tensor[];
      },
    };
  });
  return fn(x, gamma, beta) as tf.Tensor4D;
}
