/**
 * The seed's generator (experiment 9ada9179): an encoder–ResNet–decoder over
 * `[B, 256, 256, 1]` spectrograms, with the input labels tiled and
 * concatenated at the bottleneck.
 *
 * | stage | layer | output (C×H×W) |
 * |---|---|---|
 * | down1 | conv n32 k7 s1 p3, BN, ReLU | 32×256×256 |
 * | down2 | conv n64 k4 s2 p1, BN, ReLU | 64×128×128 |
 * | down3 | conv n128 k4 s2 p1, BN, ReLU | 128×64×64 |
 * | down4 | conv n256 k4 s2 p1, BN, ReLU | 256×32×32 |
 * | labels | tile the 1479 labels to 1479×32×32, concat | 1735×32×32 |
 * | merge | conv n256 k3 s1 p1, BN, ReLU | 256×32×32 |
 * | res1..6 | ResBlock n256 k3 s1 p1, BN, ReLU | 256×32×32 |
 * | up1 | deconv n128 k4 s2 p1, BN, ReLU | 128×64×64 |
 * | up2 | deconv n64 k4 s2 p1, BN, ReLU | 64×128×128 |
 * | up3 | deconv n32 k4 s2 p1, BN, ReLU | 32×256×256 |
 * | up4 | deconv n1 k7 s1 p3, sigmoid | 1×256×256 |
 *
 * Sizes are parameters ({@linkcode GeneratorConfig}): `widths` lists the
 * encoder's channels (the decoder mirrors them), so `[4, 8, 16, 32]` is the
 * seed's network at 1/8 width. Choices the seed leaves open: convolutions
 * followed by BatchNorm have no bias (BatchNorm's shift replaces it); the last
 * deconvolution has a bias; ResBlocks are StarGAN's (no activation after the
 * sum); weights are Chainer's LeCun normal (see `params.ts`).
 *
 * @module
 */

import { tf } from "../deps.ts";
import { Rng } from "../random.ts";
import { type BatchNormConfig, DEFAULT_BATCH_NORM } from "./batch_norm.ts";
import {
  ConvBlock,
  type ConvGeometry,
  convOutputSize,
  DeconvBlock,
  deconvOutputSize,
  LabelMergeBlock,
  type LayerDescription,
  ResBlock,
  type Shape3,
} from "./blocks.ts";
import { ParamModel } from "./params.ts";

/** The generator's sizes; a plain, serialisable object. */
export interface GeneratorConfig {
  /** Input height (frequency bins). Must be divisible by 2^(widths.length − 1). */
  height: number;
  /** Input width (frames). Must be divisible by 2^(widths.length − 1). */
  width: number;
  /** Channels of the input spectrogram (and of the output). */
  channels: number;
  /** Encoder channels: the first layer is k7 s1 p3, each further one k4 s2 p1 halves the size. */
  widths: number[];
  /** Number of residual blocks at the bottleneck. */
  resBlocks: number;
  /** Number of input labels `c`. */
  nIn: number;
  /** Kernel of the first convolution and of the last deconvolution (odd; pad (k − 1)/2). */
  edgeKernel: number;
  /** Kernel of the merge convolution after the label concatenation (odd). */
  mergeKernel: number;
  /** BatchNorm hyper-parameters. */
  batchNorm: BatchNormConfig;
}

/** The seed's generator: 256×256×1 in, 1479 labels, widths 32…256, 6 ResBlocks. */
export const DEFAULT_GENERATOR: Readonly<GeneratorConfig> = Object.freeze({
  height: 256,
  width: 256,
  channels: 1,
  widths: [32, 64, 128, 256],
  resBlocks: 6,
  nIn: 1479,
  edgeKernel: 7,
  mergeKernel: 3,
  batchNorm: { ...DEFAULT_BATCH_NORM },
});

/** Options of the {@linkcode Generator} constructor. */
export interface GeneratorOptions {
  /**
   * Source of the initial weights; one seed gives identical weights.
   * @default {new Rng(0)}
   */
  rng?: Rng;
}

/** Options of {@linkcode Generator.apply}. */
export interface GeneratorApplyOptions {
  /**
   * Training mode: BatchNorm uses batch statistics and updates its running
   * statistics. Otherwise BatchNorm uses the running statistics.
   * @default {false}
   */
  training?: boolean;
  /**
   * Called with each stage's name and output shape `[B, H, W, C]` as it is
   * computed (the names of {@linkcode describeGenerator}), e.g. to check
   * shapes or log activations.
   * @default {undefined}
   */
  onLayer?: (name: string, shape: number[]) => void;
}

function checkPositiveInt(what: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot build generator: ${what} must be a positive integer, got ${value}`,
    );
  }
}

/** Fill defaults into a partial config and validate it. */
export function resolveGeneratorConfig(config: Partial<GeneratorConfig> = {}): GeneratorConfig {
  const c: GeneratorConfig = {
    ...DEFAULT_GENERATOR,
    ...config,
    widths: [...(config.widths ?? DEFAULT_GENERATOR.widths)],
    batchNorm: { ...DEFAULT_GENERATOR.batchNorm, ...config.batchNorm },
  };
  for (const key of ["height", "width", "channels", "nIn", "edgeKernel", "mergeKernel"] as const) {
    checkPositiveInt(key, c[key]);
  }
  if (!Number.isInteger(c.resBlocks) || c.resBlocks < 0) {
    throw new RangeError(
      `Cannot build generator: resBlocks must be a non-negative integer, got ${c.resBlocks}`,
    );
  }
  if (!Array.isArray(c.widths) || c.widths.length < 1) {
    throw new RangeError(`Cannot build generator: widths must list at least one channel count`);
  }
  c.widths.forEach((w, i) => checkPositiveInt(`widths[${i}]`, w));
  if (c.edgeKernel % 2 !== 1 || c.mergeKernel % 2 !== 1) {
    throw new RangeError(
      `Cannot build generator: edgeKernel and mergeKernel must be odd, got ${c.edgeKernel} and ${c.mergeKernel}`,
    );
  }
  const factor = 2 ** (c.widths.length - 1);
  if (c.height % factor !== 0 || c.width % factor !== 0) {
    throw new RangeError(
      `Cannot build generator: input ${c.height}×${c.width} is not divisible by ${factor} (${
        c.widths.length - 1
      } halvings)`,
    );
  }
  return c;
}

/** One stage of the generator's layer plan, with its per-sample output shape `[H, W, C]`. */
export type GeneratorStage =
  | {
    /** conv → BN → ReLU (the encoder). */
    kind: "conv";
    name: string;
    inChannels: number;
    geometry: ConvGeometry;
    outputShape: Shape3;
  }
  | {
    /** Tile the labels, concatenate, conv k s1 → BN → ReLU (see `LabelMergeBlock`). */
    kind: "merge";
    name: string;
    inChannels: number;
    labels: number;
    filters: number;
    kernel: number;
    outputShape: Shape3;
  }
  | {
    /** StarGAN's residual block, k3 s1 p1. */
    kind: "res";
    name: string;
    channels: number;
    outputShape: Shape3;
  }
  | {
    /** deconv → BN → ReLU, or for the last one deconv (with bias) → sigmoid. */
    kind: "deconv";
    name: string;
    inChannels: number;
    geometry: ConvGeometry;
    last: boolean;
    outputShape: Shape3;
  };

/**
 * The generator's layer plan: every stage with its sizes and output shape,
 * from the config alone. The {@linkcode Generator} constructor builds these
 * stages, in this order; {@linkcode describeGenerator} lists them.
 */
export function generatorPlan(config: Partial<GeneratorConfig> = {}): GeneratorStage[] {
  const c = resolveGeneratorConfig(config);
  const stages: GeneratorStage[] = [];
  let shape: Shape3 = [c.height, c.width, c.channels];
  const conv = (name: string, geometry: ConvGeometry) => {
    const { kernel: k, stride: s, pad: p, filters } = geometry;
    const outputShape: Shape3 = [
      convOutputSize(shape[0], k, s, p),
      convOutputSize(shape[1], k, s, p),
      filters,
    ];
    stages.push({ kind: "conv", name, inChannels: shape[2], geometry, outputShape });
    shape = outputShape;
  };
  const deconv = (name: string, geometry: ConvGeometry, last: boolean) => {
    const { kernel: k, stride: s, pad: p, filters } = geometry;
    const outputShape: Shape3 = [
      deconvOutputSize(shape[0], k, s, p),
      deconvOutputSize(shape[1], k, s, p),
      filters,
    ];
    stages.push({ kind: "deconv", name, inChannels: shape[2], geometry, last, outputShape });
    shape = outputShape;
  };
  const ek = c.edgeKernel, ep = (ek - 1) / 2;
  c.widths.forEach((w, i) =>
    i === 0
      ? conv("down1", { filters: w, kernel: ek, stride: 1, pad: ep })
      : conv(`down${i + 1}`, { filters: w, kernel: 4, stride: 2, pad: 1 })
  );
  const bottleneck = shape[2];
  stages.push({
    kind: "merge",
    name: "merge",
    inChannels: bottleneck,
    labels: c.nIn,
    filters: bottleneck,
    kernel: c.mergeKernel,
    outputShape: shape,
  });
  for (let i = 0; i < c.resBlocks; i++) {
    stages.push({ kind: "res", name: `res${i + 1}`, channels: bottleneck, outputShape: shape });
  }
  const ups = c.widths.slice(0, -1).reverse();
  ups.forEach((w, i) => deconv(`up${i + 1}`, { filters: w, kernel: 4, stride: 2, pad: 1 }, false));
  deconv(`up${ups.length + 1}`, { filters: c.channels, kernel: ek, stride: 1, pad: ep }, true);
  return stages;
}

/** A stage's trainable scalars: kernels, and BatchNorm's scale and shift or a bias. */
function stageParams(stage: GeneratorStage): number {
  switch (stage.kind) {
    case "conv":
    case "deconv": {
      const { kernel: k, filters: f } = stage.geometry;
      return k * k * stage.inChannels * f + (stage.kind === "deconv" && stage.last ? f : 2 * f);
    }
    case "merge": {
      const k = stage.kernel, f = stage.filters;
      return k * k * (stage.inChannels + stage.labels) * f + 2 * f;
    }
    case "res":
      return 2 * (9 * stage.channels * stage.channels + 2 * stage.channels);
  }
}

/**
 * The generator's layers with their output shapes: its layer plan in the
 * seed's notation (nothing is allocated or computed), so a full-size model
 * can be described cheaply.
 *
 * @example The seed's bottleneck
 * ```ts
 * import { describeGenerator, DEFAULT_GENERATOR } from "./generator.ts";
 * const layers = describeGenerator(DEFAULT_GENERATOR);
 * const labels = layers.find((l) => l.name === "labels")!;
 * console.assert(labels.outputShape.join() === "32,32,1735");
 * ```
 */
export function describeGenerator(config: Partial<GeneratorConfig> = {}): LayerDescription[] {
  const c = resolveGeneratorConfig(config);
  const out: LayerDescription[] = [
    { name: "input", op: "spectrogram", outputShape: [c.height, c.width, c.channels], params: 0 },
  ];
  const geo = (g: ConvGeometry) => `n${g.filters} k${g.kernel} s${g.stride} p${g.pad}`;
  for (const stage of generatorPlan(c)) {
    const { name, outputShape } = stage, params = stageParams(stage);
    switch (stage.kind) {
      case "conv":
        out.push({ name, op: `conv ${geo(stage.geometry)}, BN, ReLU`, outputShape, params });
        break;
      case "merge": {
        const [h, w] = outputShape, n = stage.labels, k = stage.kernel;
        out.push({
          name: "labels",
          op: `tile the ${n} labels to ${n}×${h}×${w}, concat`,
          outputShape: [h, w, stage.inChannels + n],
          params: 0,
        });
        const op = `conv n${stage.filters} k${k} s1 p${(k - 1) / 2}, BN, ReLU`;
        out.push({ name, op, outputShape, params });
        break;
      }
      case "res":
        out.push({
          name,
          op: `ResBlock n${stage.channels} k3 s1 p1, BN, ReLU`,
          outputShape,
          params,
        });
        break;
      case "deconv": {
        const tail = stage.last ? "sigmoid" : "BN, ReLU";
        out.push({ name, op: `deconv ${geo(stage.geometry)}, ${tail}`, outputShape, params });
        break;
      }
    }
  }
  return out;
}

/**
 * The generator `G(x, c)`: spectrogram `[B, H, W, 1]` in [0, 1] and input
 * labels `[B, nIn]` → spectrogram `[B, H, W, 1]` in (0, 1).
 *
 * @example A small generator
 * ```ts
 * import { Generator } from "./generator.ts";
 * import { Rng } from "../random.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const g = new Generator({ height: 16, width: 16, widths: [2, 4], resBlocks: 1, nIn: 3 }, { rng: new Rng(1) });
 * const y = tf.tidy(() => g.apply(tf.zeros([2, 16, 16, 1]), tf.ones([2, 3]), { training: true }));
 * console.assert(y.shape.join() === "2,16,16,1");
 * g.dispose();
 * ```
 */
export class Generator extends ParamModel {
  /** The resolved config. */
  readonly config: Readonly<GeneratorConfig>;
  #down: ConvBlock[] = [];
  #merge: LabelMergeBlock;
  #res: ResBlock[] = [];
  #up: DeconvBlock[] = [];

  /** Build the layers and draw initial weights from `options.rng`. */
  constructor(config: Partial<GeneratorConfig> = {}, options: GeneratorOptions = {}) {
    super();
    const c = resolveGeneratorConfig(config);
    this.config = c;
    const rng = options.rng ?? new Rng(0);
    const batchNormConfig = c.batchNorm;
    let merge: LabelMergeBlock | null = null;
    for (const stage of generatorPlan(c)) {
      switch (stage.kind) {
        case "conv":
          this.#down.push(
            new ConvBlock(this.params, rng, stage.name, stage.inChannels, stage.geometry, {
              batchNormConfig,
            }),
          );
          break;
        case "merge":
          merge = new LabelMergeBlock(this.params, rng, stage.name, stage, { batchNormConfig });
          break;
        case "res":
          this.#res.push(
            new ResBlock(this.params, rng, stage.name, stage.channels, { batchNormConfig }),
          );
          break;
        case "deconv":
          this.#up.push(
            new DeconvBlock(
              this.params,
              rng,
              stage.name,
              stage.inChannels,
              stage.geometry,
              stage.last ? { batchNorm: false, activation: "sigmoid" } : { batchNormConfig },
            ),
          );
      }
    }
    this.#merge = merge!;
  }

  /** `G(x, c)`: `x` `[B, H, W, channels]`, `c` `[B, nIn]` → `[B, H, W, channels]` in (0, 1). */
  apply(x: tf.Tensor4D, c: tf.Tensor2D, options: GeneratorApplyOptions = {}): tf.Tensor4D {
    const cfg = this.config;
    if (
      x.rank !== 4 || x.shape[1] !== cfg.height || x.shape[2] !== cfg.width ||
      x.shape[3] !== cfg.channels
    ) {
      throw new RangeError(
        `Cannot apply generator: expected x [B, ${cfg.height}, ${cfg.width}, ${cfg.channels}], got [${x.shape}]`,
      );
    }
    if (c.rank !== 2 || c.shape[0] !== x.shape[0] || c.shape[1] !== cfg.nIn) {
      throw new RangeError(
        `Cannot apply generator: expected c [${
          x.shape[0]
        }, ${cfg.nIn}] for x [${x.shape}], got [${c.shape}]`,
      );
    }
    const training = options.training ?? false;
    return tf.tidy(() => {
      let h = x;
      const report = options.onLayer ?? (() => {});
      for (const block of this.#down) {
        h = block.apply(h, { training }); // [B, h, w, widths[i]]
        report(block.name, h.shape);
      }
      h = this.#merge.apply(h, tf.cast(c, "float32") as tf.Tensor2D, { training }); // [B, h, w, C]
      report(this.#merge.name, h.shape);
      for (const block of this.#res) {
        h = block.apply(h, { training });
        report(block.name, h.shape);
      }
      for (const block of this.#up) {
        h = block.apply(h, { training }); // ... [B, H, W, channels]
        report(block.name, h.shape);
      }
      return h;
    });
  }

  /** The layers with output shapes (see {@linkcode describeGenerator}). */
  describe(): LayerDescription[] {
    return describeGenerator(this.config);
  }
}
