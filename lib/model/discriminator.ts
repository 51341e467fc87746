/**
 * The discriminator of experiment 47c97768, as reconstructed in DESIGN §2
 * (the seed only says "same as 47c97768"; these are choices).
 *
 * | stage | layer | output (C×H×W) |
 * |---|---|---|
 * | conv1 | conv n32 k4 s2 p1, LeakyReLU 0.2 | 32×128×128 |
 * | conv2 | conv n64 k4 s2 p1, LeakyReLU 0.2 | 64×64×64 |
 * | conv3 | conv n128 k4 s2 p1, LeakyReLU 0.2 | 128×32×32 |
 * | conv4 | conv n256 k4 s2 p1, LeakyReLU 0.2 (features) | 256×16×16 |
 * | conv5 | conv n512 k4 s2 p1, LeakyReLU 0.2 | 512×8×8 |
 * | adv | conv n1 k3 s1 p1, mean over space | 1 per sample |
 * | cls | conv n1476 k8 s1 p0 (kernel covers the map) | 1476 logits |
 *
 * No normalisation (so the gradient penalty is well defined per sample);
 * every convolution has a bias; weights are Chainer's LeCun normal.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { Rng } from "../random.ts";
import {
  ConvBlock,
  type ConvGeometry,
  convOutputSize,
  type LayerDescription,
  type Shape3,
} from "./blocks.ts";
import { lecunNormal, ParamModel } from "./params.ts";

/** The discriminator's sizes; a plain, serialisable object. */
export interface DiscriminatorConfig {
  /** Input height. */
  height: number;
  /** Input width. */
  width: number;
  /** Input channels. */
  channels: number;
  /** Channels of the k4 s2 p1 convolutions; each halves the size. */
  widths: number[];
  /** 1-based index of the convolution whose output is the feature map for feature matching. */
  featureLayer: number;
  /** Negative slope of the LeakyReLUs. */
  slope: number;
  /** Kernel of the adversarial head (odd; s1, pad (k − 1)/2). */
  advKernel: number;
  /** Number of classification outputs `nOut`. */
  nOut: number;
}

/** DESIGN §2's discriminator: 256×256×1 in, widths 32…512, features at conv4, 1476 outputs. */
export const DEFAULT_DISCRIMINATOR: Readonly<DiscriminatorConfig> = Object.freeze({
  height: 256,
  width: 256,
  channels: 1,
  widths: [32, 64, 128, 256, 512],
  featureLayer: 4,
  slope: 0.2,
  advKernel: 3,
  nOut: 1476,
});

/** Rows (outputs) per block of the classification kernel; see the constructor. */
export const CLS_ROWS = 256;

/** What {@linkcode Discriminator.apply} returns. */
export interface DiscriminatorOutput {
  /** Adversarial score per sample `[B]` (a WGAN critic value, unbounded). */
  adv: tf.Tensor1D;
  /** Classification logits `[B, nOut]`. */
  cls: tf.Tensor2D;
  /** Feature map `[B, h, w, C]` of conv `featureLayer` (after its LeakyReLU). */
  features: tf.Tensor4D;
}

/** Options of the {@linkcode Discriminator} constructor. */
export interface DiscriminatorOptions {
  /**
   * Source of the initial weights; one seed gives identical weights.
   * @default {new Rng(0)}
   */
  rng?: Rng;
}

/** Options of {@linkcode Discriminator.apply}. */
export interface DiscriminatorApplyOptions {
  /**
   * Training mode. The discriminator has no BatchNorm or dropout, so it
   * computes the same either way; the flag exists for symmetry with the generator.
   * @default {false}
   */
  training?: boolean;
}

/** Fill defaults into a partial config and validate it. */
export function resolveDiscriminatorConfig(
  config: Partial<DiscriminatorConfig> = {},
): DiscriminatorConfig {
  const c: DiscriminatorConfig = {
    ...DEFAULT_DISCRIMINATOR,
    ...config,
    widths: [...(config.widths ?? DEFAULT_DISCRIMINATOR.widths)],
  };
  for (const key of ["height", "width", "channels", "nOut", "advKernel", "featureLayer"] as const) {
    const v = c[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `Cannot build discriminator: ${key} must be a positive integer, got ${v}`,
      );
    }
  }
  if (!Array.isArray(c.widths) || c.widths.length < 1) {
    throw new RangeError(`Cannot build discriminator: widths must list at least one channel count`);
  }
  c.widths.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 1) {
      throw new RangeError(
        `Cannot build discriminator: widths[${i}] must be a positive integer, got ${w}`,
      );
    }
  });
  if (c.featureLayer > c.widths.length) {
    throw new RangeError(
      `Cannot build discriminator: featureLayer ${c.featureLayer} exceeds the ${c.widths.length} convolutions`,
    );
  }
  if (c.advKernel % 2 !== 1) {
    throw new RangeError(`Cannot build discriminator: advKernel must be odd, got ${c.advKernel}`);
  }
  if (!(c.slope >= 0)) {
    throw new RangeError(`Cannot build discriminator: slope must be >= 0, got ${c.slope}`);
  }
  let h = c.height, w = c.width;
  for (let i = 0; i < c.widths.length; i++) {
    h = convOutputSize(h, 4, 2, 1);
    w = convOutputSize(w, 4, 2, 1);
  }
  if (h < 1 || w < 1) {
    throw new RangeError(
      `Cannot build discriminator: input ${c.height}×${c.width} is too small for ${c.widths.length} halvings`,
    );
  }
  return c;
}

/** One stage of the discriminator's layer plan, with its per-sample output shape `[H, W, C]`. */
export type DiscriminatorStage =
  | {
    /** conv (with bias) → LeakyReLU; `features` marks the feature-matching layer. */
    kind: "conv";
    name: string;
    inChannels: number;
    geometry: ConvGeometry;
    features: boolean;
    outputShape: Shape3;
  }
  | {
    /** The adversarial head: conv n1 k s1 p(k − 1)/2 with bias, averaged over space. */
    kind: "adv";
    name: "adv";
    inChannels: number;
    kernel: number;
    outputShape: Shape3;
  }
  | {
    /** The classification head: a conv whose kernel covers the whole last feature map. */
    kind: "cls";
    name: "cls";
    input: Shape3;
    nOut: number;
    outputShape: Shape3;
  };

/**
 * The discriminator's layer plan: every stage with its sizes and output
 * shape, from the config alone. The {@linkcode Discriminator} constructor
 * builds these stages, in this order; {@linkcode describeDiscriminator}
 * lists them.
 */
export function discriminatorPlan(
  config: Partial<DiscriminatorConfig> = {},
): DiscriminatorStage[] {
  const c = resolveDiscriminatorConfig(config);
  const stages: DiscriminatorStage[] = [];
  let shape: Shape3 = [c.height, c.width, c.channels];
  c.widths.forEach((filters, i) => {
    const outputShape: Shape3 = [
      convOutputSize(shape[0], 4, 2, 1),
      convOutputSize(shape[1], 4, 2, 1),
      filters,
    ];
    stages.push({
      kind: "conv",
      name: `conv${i + 1}`,
      inChannels: shape[2],
      geometry: { filters, kernel: 4, stride: 2, pad: 1 },
      features: i + 1 === c.featureLayer,
      outputShape,
    });
    shape = outputShape;
  });
  stages.push({
    kind: "adv",
    name: "adv",
    inChannels: shape[2],
    kernel: c.advKernel,
    outputShape: [1, 1, 1],
  });
  stages.push({
    kind: "cls",
    name: "cls",
    input: shape,
    nOut: c.nOut,
    outputShape: [1, 1, c.nOut],
  });
  return stages;
}

/** A stage's trainable scalars: kernel and bias. */
function stageParams(stage: DiscriminatorStage): number {
  switch (stage.kind) {
    case "conv": {
      const { kernel: k, filters: f } = stage.geometry;
      return k * k * stage.inChannels * f + f;
    }
    case "adv":
      return stage.kernel * stage.kernel * stage.inChannels + 1;
    case "cls":
      return stage.input[0] * stage.input[1] * stage.input[2] * stage.nOut + stage.nOut;
  }
}

/**
 * The discriminator's layers with output shapes, from the config alone.
 *
 * @example
 * ```ts
 * import { describeDiscriminator, DEFAULT_DISCRIMINATOR } from "./discriminator.ts";
 * const cls = describeDiscriminator(DEFAULT_DISCRIMINATOR).find((l) => l.name === "cls")!;
 * console.assert(cls.outputShape.join() === "1,1,1476");
 * ```
 */
export function describeDiscriminator(
  config: Partial<DiscriminatorConfig> = {},
): LayerDescription[] {
  const c = resolveDiscriminatorConfig(config);
  const out: LayerDescription[] = [
    { name: "input", op: "spectrogram", outputShape: [c.height, c.width, c.channels], params: 0 },
  ];
  for (const stage of discriminatorPlan(c)) {
    const { name, outputShape } = stage, params = stageParams(stage);
    switch (stage.kind) {
      case "conv": {
        const { filters: f, kernel: k, stride: s, pad: p } = stage.geometry;
        const tag = stage.features ? " (features)" : "";
        const op = `conv n${f} k${k} s${s} p${p}, LeakyReLU ${c.slope}${tag}`;
        out.push({ name, op, outputShape, params });
        break;
      }
      case "adv": {
        const k = stage.kernel;
        out.push({
          name,
          op: `conv n1 k${k} s1 p${(k - 1) / 2}, mean over space`,
          outputShape,
          params,
        });
        break;
      }
      case "cls": {
        const [h, w] = stage.input;
        out.push({ name, op: `conv n${stage.nOut} k${h}×${w} s1 p0`, outputShape, params });
        break;
      }
    }
  }
  return out;
}

/**
 * The discriminator `D(x)` → adversarial score, classification logits and
 * feature map.
 *
 * @example A small discriminator
 * ```ts
 * import { Discriminator } from "./discriminator.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const d = new Discriminator({ height: 32, width: 32, widths: [2, 4, 4, 8, 8], nOut: 5 });
 * const out = d.apply(tf.zeros([2, 32, 32, 1]));
 * console.assert(out.adv.shape.join() === "2" && out.cls.shape.join() === "2,5");
 * tf.dispose([out.adv, out.cls, out.features]);
 * d.dispose();
 * ```
 */
export class Discriminator extends ParamModel {
  /** The resolved config. */
  readonly config: Readonly<DiscriminatorConfig>;
  #convs: ConvBlock[] = [];
  #advKernel: tf.Variable;
  #advBias: tf.Variable;
  #clsKernel: tf.Variable[];
  #clsBias: tf.Variable;
  #final: Shape3;

  /** Build the layers and draw initial weights from `options.rng`. */
  constructor(config: Partial<DiscriminatorConfig> = {}, options: DiscriminatorOptions = {}) {
    super();
    const c = resolveDiscriminatorConfig(config);
    this.config = c;
    const rng = options.rng ?? new Rng(0);
    let adv: { kernel: tf.Variable; bias: tf.Variable } | null = null;
    let cls: { kernels: tf.Variable[]; bias: tf.Variable; input: Shape3 } | null = null;
    for (const stage of discriminatorPlan(c)) {
      switch (stage.kind) {
        case "conv":
          this.#convs.push(
            new ConvBlock(this.params, rng, stage.name, stage.inChannels, stage.geometry, {
              batchNorm: false,
              activation: "leaky_relu",
              slope: c.slope,
            }),
          );
          break;
        case "adv": {
          const k = stage.kernel, fanIn = k * k * stage.inChannels;
          adv = {
            kernel: this.params.add(
              "adv/conv/kernel",
              [k, k, stage.inChannels, 1],
              lecunNormal(rng, fanIn, fanIn),
            ),
            bias: this.params.add("adv/conv/bias", [1], new Float32Array(1)),
          };
          break;
        }
        case "cls":
          cls = { ...this.#classifier(rng, stage.input, stage.nOut), input: stage.input };
      }
    }
    this.#advKernel = adv!.kernel;
    this.#advBias = adv!.bias;
    this.#clsKernel = cls!.kernels;
    this.#clsBias = cls!.bias;
    this.#final = cls!.input;
  }

  /**
   * The classification head's variables. The k8×8 conv is stored output-first
   * as [nOut, h·w·C] in blocks of at most CLS_ROWS rows (`cls/kernel/0`,
   * `cls/kernel/1`, …) and applied as Wᵀ·flatᵀ.
   * - Left operand: wasm's matMul repacks its right operand whenever that
   *   tensor is new (after every update), ~0.5 s for 48M weights.
   * - Blocks: at the seed's size the kernel is 48M weights (194 MB); whole, its
   *   gradient, optimizer slot and update temporaries are 194 MB allocations
   *   that fragment the wasm heap. Blocks of ≤ 32 MB keep the peak lower.
   */
  #classifier(
    rng: Rng,
    input: Shape3,
    nOut: number,
  ): { kernels: tf.Variable[]; bias: tf.Variable } {
    const flat = input[0] * input[1] * input[2];
    const values = lecunNormal(rng, flat * nOut, flat);
    const kernels: tf.Variable[] = [];
    for (let r = 0, i = 0; r < nOut; r += CLS_ROWS, i++) {
      const rows = Math.min(CLS_ROWS, nOut - r);
      kernels.push(
        this.params.add(
          `cls/kernel/${i}`,
          [rows, flat],
          values.subarray(r * flat, (r + rows) * flat),
        ),
      );
    }
    return { kernels, bias: this.params.add("cls/bias", [nOut], new Float32Array(nOut)) };
  }

  #check(x: tf.Tensor): void {
    const c = this.config;
    if (
      x.rank !== 4 || x.shape[1] !== c.height || x.shape[2] !== c.width || x.shape[3] !== c.channels
    ) {
      throw new RangeError(
        `Cannot apply discriminator: expected x [B, ${c.height}, ${c.width}, ${c.channels}], got [${x.shape}]`,
      );
    }
  }

  #trunk(x: tf.Tensor4D): { last: tf.Tensor4D; features: tf.Tensor4D } {
    let h = x;
    let features = x;
    this.#convs.forEach((block, i) => {
      h = block.apply(h, { training: false });
      if (i + 1 === this.config.featureLayer) features = h;
    });
    return { last: h, features };
  }

  #adv(last: tf.Tensor4D): tf.Tensor1D {
    const p = (this.config.advKernel - 1) / 2;
    const map = tf.add(tf.conv2d(last, this.#advKernel as tf.Tensor4D, 1, p), this.#advBias);
    return tf.mean(map, [1, 2, 3]) as tf.Tensor1D;
  }

  /** `D(x)`: `x` `[B, H, W, channels]` → `{ adv [B], cls [B, nOut], features [B, h, w, C] }`. */
  apply(x: tf.Tensor4D, _options: DiscriminatorApplyOptions = {}): DiscriminatorOutput {
    this.#check(x);
    return tf.tidy(() => {
      const { last, features } = this.#trunk(x);
      const b = x.shape[0];
      const [h, w, ch] = this.#final;
      const flat = tf.reshape(last, [b, h * w * ch]);
      const blocks = this.#clsKernel.map((w) => tf.matMul(w as tf.Tensor2D, flat, false, true));
      const clsT = blocks.length === 1 ? blocks[0]! : tf.concat(blocks, 0); // [nOut, B]
      const cls = tf.add(tf.transpose(clsT), this.#clsBias) as tf.Tensor2D;
      return { adv: this.#adv(last), cls, features };
    });
  }

  /** Only the adversarial score `[B]` (skips the classification head). */
  score(x: tf.Tensor4D): tf.Tensor1D {
    this.#check(x);
    return tf.tidy(() => this.#adv(this.#trunk(x).last));
  }

  /** The layers with output shapes (see {@linkcode describeDiscriminator}). */
  describe(): LayerDescription[] {
    return describeDiscriminator(this.config);
  }
}
