/**
 * Building blocks of the generator and discriminator, written with
 * `tf.variable` and ops (no tfjs-layers).
 *
 * Every block knows its output shape from its input shape without computing
 * anything ({@linkcode Block.outputShape}), so a model can describe itself at
 * full size without allocating activations.
 *
 * Padding follows Chainer: `conv k s p` pads `p` zeros on every side, giving
 * `floor((n + 2p − k) / s) + 1`; `deconv k s p` is the transpose (the
 * gradient of that convolution with respect to its input), giving
 * `s · (n − 1) + k − 2p`, so k4 s2 p1 doubles the size and k7 s1 p3 keeps it.
 *
 * @module
 */

import { tf } from "../deps.ts";
import type { Rng } from "../random.ts";
import { BatchNorm, type BatchNormConfig } from "./batch_norm.ts";
import { lecunNormal, type ParamStore } from "./params.ts";

/** A per-sample activation shape `[H, W, C]` (batch axis left out). */
export type Shape3 = [number, number, number];

/** One line of a model's `describe()` listing. */
export interface LayerDescription {
  /** Stage name, e.g. `down2`, `res3`, `adv`. */
  name: string;
  /** What the stage does, in the seed's notation, e.g. `conv n64 k4 s2 p1, BN, ReLU`. */
  op: string;
  /** Per-sample output shape `[H, W, C]`. */
  outputShape: Shape3;
  /** Trainable scalars of the stage. */
  params: number;
}

/** What every block offers besides its forward pass. */
export interface Block {
  /** Stage name. */
  readonly name: string;
  /** Output shape for an input shape, without computing anything. */
  outputShape(input: Shape3): Shape3;
}

/** Activation after a block. */
export type Activation = "relu" | "leaky_relu" | "sigmoid" | "linear";

/** Geometry of a convolution or deconvolution. */
export interface ConvGeometry {
  /** Output channels. */
  filters: number;
  /** Square kernel size. */
  kernel: number;
  /** Stride. */
  stride: number;
  /** Zero padding on every side. */
  pad: number;
}

/** Output length of a Chainer convolution. */
export function convOutputSize(n: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - kernel) / stride) + 1;
}

/** Output length of a Chainer deconvolution. */
export function deconvOutputSize(n: number, kernel: number, stride: number, pad: number): number {
  return stride * (n - 1) + kernel - 2 * pad;
}

function checkGeometry(name: string, g: ConvGeometry): void {
  for (const key of ["filters", "kernel", "stride"] as const) {
    if (!Number.isInteger(g[key]) || g[key] < 1) {
      throw new RangeError(
        `Cannot create layer '${name}': ${key} must be a positive integer, got ${g[key]}`,
      );
    }
  }
  if (!Number.isInteger(g.pad) || g.pad < 0) {
    throw new RangeError(
      `Cannot create layer '${name}': pad must be a non-negative integer, got ${g.pad}`,
    );
  }
}

function checkInput(name: string, x: tf.Tensor, channels: number): void {
  if (x.rank !== 4 || x.shape[3] !== channels) {
    throw new RangeError(
      `Cannot apply layer '${name}': expected input [B, H, W, ${channels}], got [${x.shape}]`,
    );
  }
}

/**
 * LeakyReLU `max(x, 0) + slope · min(x, 0)` whose gradient is itself
 * differentiable, as a gradient penalty needs. tfjs's own `LeakyRelu`
 * gradient goes through `Greater` (differentiable only with voxlab's zero
 * comparison gradients, `lib/backend/gradients.ts`) and `Where`, and its
 * forward plus backward pass is ~3× slower on wasm than this one (measured
 * at 2×128×128×32). Here the forward pass saves the slope map
 * `s(x) = x > 0 ? 1 : slope` (a constant for the tape) and the gradient is
 * `dy · s(x)`, linear in `dy`.
 *
 * @example
 * ```ts
 * import { leakyRelu } from "./blocks.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * console.assert(leakyRelu(tf.tensor1d([-1, 2]), 0.2).dataSync().join() === "-0.2,2");
 * ```
 */
export function leakyRelu<T extends tf.Tensor>(x: T, slope: number): T {
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const slopeMap = tf.add(tf.mul(tf.step(xi), 1 - slope), slope);
    save([slopeMap]);
    return {
      value: tf.mul(xi, slopeMap),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]!)],
    };
  });
  return fn(x) as T;
}

function activate(x: tf.Tensor4D, activation: Activation, slope: number): tf.Tensor4D {
  switch (activation) {
    case "relu":
      return tf.relu(x);
    case "leaky_relu":
      return leakyRelu(x, slope);
    case "sigmoid":
      return tf.sigmoid(x);
    case "linear":
      return x;
  }
}

/** Options shared by the convolution blocks. */
export interface ConvBlockOptions {
  /**
   * Activation after the (normalised) convolution.
   * @default {"relu"}
   */
  activation?: Activation;
  /**
   * Follow the convolution by BatchNorm (then the convolution has no bias,
   * which BatchNorm's shift would cancel).
   * @default {true}
   */
  batchNorm?: boolean;
  /**
   * BatchNorm hyper-parameters.
   * @default {DEFAULT_BATCH_NORM}
   */
  batchNormConfig?: Partial<BatchNormConfig>;
  /**
   * Negative slope of `leaky_relu`.
   * @default {0.2}
   */
  slope?: number;
}

/**
 * What {@linkcode ConvBlock} and {@linkcode DeconvBlock} share: a checked
 * geometry, the kernel `name/LAYER/kernel`, and BatchNorm (`name/bn/*`) or a
 * bias (`name/LAYER/bias`) followed by the activation.
 */
export abstract class ConvLikeBlock implements Block {
  /** Stage name. */
  readonly name: string;
  /** Input channels. */
  readonly inChannels: number;
  /** Geometry. */
  readonly geometry: Readonly<ConvGeometry>;
  /** Kernel: `[k, k, C_in, C_out]` for a convolution, `[k, k, C_out, C_in]` for a deconvolution. */
  readonly kernel: tf.Variable;
  /** Bias `[C_out]`, only without BatchNorm. */
  readonly bias: tf.Variable | null;
  /** The BatchNorm layer, if any. */
  readonly bn: BatchNorm | null;
  /** Activation. */
  readonly activation: Activation;
  /** LeakyReLU slope. */
  readonly slope: number;
  /** A convolution or a transposed convolution (deconvolution). */
  readonly layer: "conv" | "deconv";

  /**
   * Check `geometry`, then create the kernel (shape and initial values from
   * `initKernel`) and BatchNorm or a bias in `store`, in that order.
   */
  protected constructor(
    store: ParamStore,
    name: string,
    inChannels: number,
    geometry: ConvGeometry,
    options: ConvBlockOptions,
    layer: "conv" | "deconv",
    initKernel: (geometry: ConvGeometry) => { shape: number[]; values: Float32Array },
  ) {
    checkGeometry(name, geometry);
    this.name = name;
    this.layer = layer;
    this.inChannels = inChannels;
    this.geometry = { ...geometry };
    this.activation = options.activation ?? "relu";
    this.slope = options.slope ?? 0.2;
    const { filters } = geometry;
    const init = initKernel(geometry);
    this.kernel = store.add(`${name}/${layer}/kernel`, init.shape, init.values);
    const useBn = options.batchNorm ?? true;
    this.bias = useBn
      ? null
      : store.add(`${name}/${layer}/bias`, [filters], new Float32Array(filters));
    this.bn = useBn ? new BatchNorm(store, `${name}/bn`, filters, options.batchNormConfig) : null;
  }

  /** `[B, H, W, C_in]` → `[B, H', W', C_out]`. */
  abstract apply(x: tf.Tensor4D, options: { training: boolean }): tf.Tensor4D;

  /** Output shape `[H', W', C_out]` for an input `[H, W, C_in]`, without computing anything. */
  outputShape(input: Shape3): Shape3 {
    const { filters, kernel, stride, pad } = this.geometry;
    const size = this.layer === "conv" ? convOutputSize : deconvOutputSize;
    return [size(input[0], kernel, stride, pad), size(input[1], kernel, stride, pad), filters];
  }

  /** BatchNorm (or bias) and activation of a (de)convolution output. */
  finish(y: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (this.bn) {
      if (this.activation === "relu" || this.activation === "linear") {
        return this.bn.apply(y, { training, activation: this.activation });
      }
      return activate(this.bn.apply(y, { training }), this.activation, this.slope);
    }
    return activate(tf.add(y, this.bias!), this.activation, this.slope);
  }
}

/**
 * Convolution (Chainer padding) → optional BatchNorm → activation.
 * Weights: `name/conv/kernel` `[k, k, C_in, C_out]`, `name/conv/bias` (only
 * without BatchNorm), `name/bn/*`.
 *
 * @example A conv n8 k4 s2 p1 halves the size
 * ```ts
 * import { ConvBlock } from "./blocks.ts";
 * import { ParamStore } from "./params.ts";
 * import { Rng } from "../random.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const store = new ParamStore();
 * const conv = new ConvBlock(store, new Rng(0), "down", 1, { filters: 8, kernel: 4, stride: 2, pad: 1 });
 * console.assert(conv.outputShape([32, 32, 1]).join() === "16,16,8");
 * store.dispose();
 * ```
 */
export class ConvBlock extends ConvLikeBlock {
  /** Create the block's variables in `store`, drawing initial values from `rng`. */
  constructor(
    store: ParamStore,
    rng: Rng,
    name: string,
    inChannels: number,
    geometry: ConvGeometry,
    options: ConvBlockOptions = {},
  ) {
    super(store, name, inChannels, geometry, options, "conv", ({ filters, kernel: k }) => {
      const fanIn = k * k * inChannels;
      return {
        shape: [k, k, inChannels, filters],
        values: lecunNormal(rng, fanIn * filters, fanIn),
      };
    });
  }

  /** `[B, H, W, C_in]` → `[B, H', W', C_out]`. */
  apply(x: tf.Tensor4D, options: { training: boolean }): tf.Tensor4D {
    checkInput(this.name, x, this.inChannels);
    const { stride, pad } = this.geometry;
    const y = tf.conv2d(x, this.kernel as tf.Tensor4D, stride, pad);
    return this.finish(y, options.training);
  }
}

/**
 * Transposed convolution (Chainer's `Deconvolution2D` padding) → optional
 * BatchNorm → activation. Kernel `name/deconv/kernel` `[k, k, C_out, C_in]`
 * (tfjs's `conv2dTranspose` layout), bias `name/deconv/bias` only without
 * BatchNorm.
 *
 * @example k4 s2 p1 doubles the size
 * ```ts
 * import { DeconvBlock } from "./blocks.ts";
 * import { ParamStore } from "./params.ts";
 * import { Rng } from "../random.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const store = new ParamStore();
 * const up = new DeconvBlock(store, new Rng(0), "up", 8, { filters: 4, kernel: 4, stride: 2, pad: 1 });
 * console.assert(up.outputShape([16, 16, 8]).join() === "32,32,4");
 * store.dispose();
 * ```
 */
export class DeconvBlock extends ConvLikeBlock {
  /** Create the block's variables in `store`, drawing initial values from `rng`. */
  constructor(
    store: ParamStore,
    rng: Rng,
    name: string,
    inChannels: number,
    geometry: ConvGeometry,
    options: ConvBlockOptions = {},
  ) {
    super(store, name, inChannels, geometry, options, "deconv", ({ filters, kernel: k }) => {
      // Chainer's fan-in for a deconvolution weight (C_in, C_out, k, k) is C_out·k·k.
      const fanIn = k * k * filters;
      return {
        shape: [k, k, filters, inChannels],
        values: lecunNormal(rng, k * k * filters * inChannels, fanIn),
      };
    });
  }

  /** `[B, H, W, C_in]` → `[B, H', W', C_out]`. */
  apply(x: tf.Tensor4D, options: { training: boolean }): tf.Tensor4D {
    checkInput(this.name, x, this.inChannels);
    const [h, w] = this.outputShape([x.shape[1], x.shape[2], x.shape[3]]);
    const { stride, pad, filters } = this.geometry;
    const y = tf.conv2dTranspose(
      x,
      this.kernel as tf.Tensor4D,
      [x.shape[0], h, w, filters],
      stride,
      pad,
    );
    return this.finish(y, options.training);
  }
}

/**
 * Residual block as in StarGAN: `x + BN(conv(ReLU(BN(conv(x)))))`, both
 * convolutions k3 s1 p1 with `C` channels, no activation after the sum.
 *
 * @example
 * ```ts
 * import { ResBlock } from "./blocks.ts";
 * import { ParamStore } from "./params.ts";
 * import { Rng } from "../random.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const store = new ParamStore();
 * const res = new ResBlock(store, new Rng(0), "res1", 8);
 * console.assert(res.outputShape([4, 4, 8]).join() === "4,4,8");
 * store.dispose();
 * ```
 */
export class ResBlock implements Block {
  /** Stage name. */
  readonly name: string;
  /** First conv-BN-ReLU. */
  readonly conv1: ConvBlock;
  /** Second conv-BN (no activation). */
  readonly conv2: ConvBlock;

  /** Create the block's variables (`name/conv1/*`, `name/conv2/*`). */
  constructor(
    store: ParamStore,
    rng: Rng,
    name: string,
    channels: number,
    options: { batchNormConfig?: Partial<BatchNormConfig> } = {},
  ) {
    this.name = name;
    const geometry = { filters: channels, kernel: 3, stride: 1, pad: 1 };
    const bn = options.batchNormConfig ?? {};
    this.conv1 = new ConvBlock(store, rng, `${name}/conv1`, channels, geometry, {
      activation: "relu",
      batchNormConfig: bn,
    });
    this.conv2 = new ConvBlock(store, rng, `${name}/conv2`, channels, geometry, {
      activation: "linear",
      batchNormConfig: bn,
    });
  }

  /** `[B, H, W, C]` → `[B, H, W, C]`. */
  apply(x: tf.Tensor4D, options: { training: boolean }): tf.Tensor4D {
    return tf.add(x, this.conv2.apply(this.conv1.apply(x, options), options));
  }

  /** Output shape `[H', W', C_out]` for an input `[H, W, C_in]`, without computing anything. */
  outputShape(input: Shape3): Shape3 {
    return this.conv2.outputShape(this.conv1.outputShape(input));
  }
}

/**
 * Tile labels `[B, n]` over space: `[B, h, w, n]`, each position holding the
 * sample's labels.
 *
 * @example
 * ```ts
 * import { tileLabels } from "./blocks.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const t = tileLabels(tf.tensor2d([[1, 0, 1]]), 2, 2);
 * console.assert(t.shape.join() === "1,2,2,3");
 * ```
 */
export function tileLabels(c: tf.Tensor2D, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, n] = c.shape;
    return tf.broadcastTo(tf.reshape(c, [b, 1, 1, n]), [b, height, width, n]) as tf.Tensor4D;
  });
}

/**
 * Concatenate features `[B, h, w, C]` with tiled labels `[B, n]`: `[B, h, w, C + n]`.
 *
 * @example
 * ```ts
 * import { concatLabels } from "./blocks.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const y = concatLabels(tf.zeros([1, 2, 2, 4]), tf.ones([1, 3]));
 * console.assert(y.shape.join() === "1,2,2,7");
 * ```
 */
export function concatLabels(x: tf.Tensor4D, c: tf.Tensor2D): tf.Tensor4D {
  if (c.rank !== 2 || c.shape[0] !== x.shape[0]) {
    throw new RangeError(
      `Cannot concatenate labels: features [${x.shape}] and labels [${c.shape}] differ in batch size`,
    );
  }
  return tf.tidy(() => tf.concat([x, tileLabels(c, x.shape[1], x.shape[2])], 3));
}

/**
 * The generator's merge stage: tile labels `[B, n]` over features
 * `[B, h, w, C]`, concatenate (`C + n` channels), then conv k s1 p → BN → ReLU.
 *
 * The result equals that convolution over the explicit concatenation, but
 * the label part is computed in factored form: since the tiled labels are
 * constant over space, their convolution is
 * `Σ_(i,j) M_ij(y, x) · (c · W_c[i, j])`, where `M_ij` is 1 where kernel tap
 * `(i, j)` falls inside the image. That is a `[B, n] × [n, k²·C_out]` matrix
 * product and a `[h·w, k²] × [k², B·C_out]` one instead of a convolution
 * over `n` extra channels (at the seed's 1479 labels and batch 2,
 * `2·B·h·w·k²·n·C_out` ≈ 14 GFLOP per forward saved). The kernel is stored in two parts,
 * `name/conv/kernel_features` `[k, k, C, C_out]` and
 * `name/conv/kernel_labels` `[k, k, n, C_out]`, both initialised with the
 * fan-in of the full concatenation `k²·(C + n)`.
 */
export class LabelMergeBlock implements Block {
  /** Stage name. */
  readonly name: string;
  /** Feature channels `C`. */
  readonly inChannels: number;
  /** Number of labels `n`. */
  readonly labels: number;
  /** Output channels. */
  readonly filters: number;
  /** Kernel size (stride 1, pad `(k − 1) / 2`). */
  readonly kernelSize: number;
  /** Kernel over the features `[k, k, C, C_out]`. */
  readonly kernelFeatures: tf.Variable;
  /** Kernel over the labels `[k, k, n, C_out]`. */
  readonly kernelLabels: tf.Variable;
  /** BatchNorm after the convolution. */
  readonly bn: BatchNorm;
  #maskCache = new Map<string, Float32Array>();

  /** Create the block's variables. `kernel` must be odd. */
  constructor(
    store: ParamStore,
    rng: Rng,
    name: string,
    sizes: { inChannels: number; labels: number; filters: number; kernel: number },
    options: { batchNormConfig?: Partial<BatchNormConfig> } = {},
  ) {
    const { inChannels, labels, filters, kernel: k } = sizes;
    checkGeometry(name, { filters, kernel: k, stride: 1, pad: 0 });
    if (k % 2 !== 1) {
      throw new RangeError(`Cannot create layer '${name}': kernel must be odd, got ${k}`);
    }
    if (!Number.isInteger(labels) || labels < 1) {
      throw new RangeError(
        `Cannot create layer '${name}': labels must be a positive integer, got ${labels}`,
      );
    }
    this.name = name;
    this.inChannels = inChannels;
    this.labels = labels;
    this.filters = filters;
    this.kernelSize = k;
    const fanIn = k * k * (inChannels + labels);
    this.kernelFeatures = store.add(
      `${name}/conv/kernel_features`,
      [k, k, inChannels, filters],
      lecunNormal(rng, k * k * inChannels * filters, fanIn),
    );
    this.kernelLabels = store.add(
      `${name}/conv/kernel_labels`,
      [k, k, labels, filters],
      lecunNormal(rng, k * k * labels * filters, fanIn),
    );
    this.bn = new BatchNorm(store, `${name}/bn`, filters, options.batchNormConfig);
  }

  /** `M[(y, x), (i, j)]`: 1 where kernel tap `(i, j)` reads inside the `h × w` image. */
  tapMask(height: number, width: number): Float32Array {
    const key = `${height}x${width}`;
    let mask = this.#maskCache.get(key);
    if (!mask) {
      const k = this.kernelSize, p = (k - 1) / 2;
      mask = new Float32Array(height * width * k * k);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < k; j++) {
              const yy = y + i - p, xx = x + j - p;
              if (yy >= 0 && yy < height && xx >= 0 && xx < width) {
                mask[((y * width + x) * k + i) * k + j] = 1;
              }
            }
          }
        }
      }
      this.#maskCache.set(key, mask);
    }
    return mask;
  }

  /** The convolution over `concat(x, tile(c))` before BatchNorm: `[B, h, w, C_out]`. */
  convolve(x: tf.Tensor4D, c: tf.Tensor2D): tf.Tensor4D {
    checkInput(this.name, x, this.inChannels);
    if (c.rank !== 2 || c.shape[0] !== x.shape[0] || c.shape[1] !== this.labels) {
      throw new RangeError(
        `Cannot apply layer '${this.name}': expected labels [${
          x.shape[0]
        }, ${this.labels}], got [${c.shape}]`,
      );
    }
    const [b, h, w] = x.shape;
    const k = this.kernelSize, f = this.filters, n = this.labels;
    const p = (k - 1) / 2;
    return tf.tidy(() => {
      const fromFeatures = tf.conv2d(x, this.kernelFeatures as tf.Tensor4D, 1, p);
      // [k², n, F] × [1, B, n]ᵀ: per tap, the labels' contribution c · W_c[i, j].
      const wc = tf.reshape(this.kernelLabels, [k * k, n, f]);
      const perTap = tf.matMul(tf.reshape(c, [1, b, n]), wc); // [k², B, F]
      const mask = tf.tensor2d(this.tapMask(h, w), [h * w, k * k]);
      const spatial = tf.matMul(mask, tf.reshape(perTap, [k * k, b * f])); // [h·w, B·F]
      const fromLabels = tf.transpose(tf.reshape(spatial, [h, w, b, f]), [2, 0, 1, 3]);
      return tf.add(fromFeatures, fromLabels) as tf.Tensor4D;
    });
  }

  /** `[B, h, w, C]` and labels `[B, n]` → `[B, h, w, C_out]`. */
  apply(x: tf.Tensor4D, c: tf.Tensor2D, options: { training: boolean }): tf.Tensor4D {
    return this.bn.apply(this.convolve(x, c), {
      training: options.training,
      activation: "relu",
    });
  }

  /** Output shape `[H', W', C_out]` for an input `[H, W, C_in]`, without computing anything. */
  outputShape(input: Shape3): Shape3 {
    return [input[0], input[1], this.filters];
  }
}
