/**
 * Training batches: the seed's input pairs as tfjs tensors.
 *
 * Each sample is an A utterance (spectrogram `x_A`, input labels `c_A`) and
 * a B utterance (spectrogram `x_B`, input labels `c_B`, output labels `y_B`),
 * each a seeded random crop of `segmentFrames` frames (silence-padded when
 * the clip is shorter). One epoch visits every utterance once as A, in a
 * seeded shuffled order; B is drawn at random (optionally with a different
 * value of an attribute, e.g. another speaker).
 *
 * @module
 */

import { tf } from "../deps.ts";
import { Rng, type RngState } from "../random.ts";
import type { SpectrogramDataset } from "./dataset.ts";
import { randomCrop } from "./segments.ts";

/** One batch as plain arrays (NHWC layout, see {@linkcode PairBatch}). */
export interface PairArrays {
  /** `[B, bins, frames, 1]` in [0, 1]. */
  xA: Float32Array;
  /** `[B, nIn]` in {0, 1}. */
  cA: Float32Array;
  /** `[B, bins, frames, 1]` in [0, 1]. */
  xB: Float32Array;
  /** `[B, nIn]` in {0, 1}. */
  cB: Float32Array;
  /** `[B, nOut]` in {-1, 0, 1}. */
  yB: Float32Array;
  /** Indices of the A and B items in the dataset. */
  indexA: number[];
  /** Indices of the B items. */
  indexB: number[];
}

/**
 * One batch as tensors; dispose it (`tf.dispose(batch)`, or create it under
 * `tf.tidy`) when done. A type alias, so it is a `tf.TensorContainer`.
 */
export type PairBatch = {
  /** `[B, bins, frames, 1]` float32 in [0, 1]. */
  xA: tf.Tensor4D;
  /** `[B, nIn]` float32 {0, 1}. */
  cA: tf.Tensor2D;
  /** `[B, bins, frames, 1]` float32 in [0, 1]. */
  xB: tf.Tensor4D;
  /** `[B, nIn]` float32 {0, 1}. */
  cB: tf.Tensor2D;
  /** `[B, nOut]` float32 {-1, 0, 1}. */
  yB: tf.Tensor2D;
};

/** Options for {@linkcode PairSampler}. */
export interface PairSamplerOptions {
  /**
   * Samples per batch (the seed's minibatch is 2).
   * @default {2}
   */
  batchSize?: number;
  /**
   * Seed of the order, the B draws and the crops.
   * @default {0}
   */
  seed?: number | string;
  /**
   * Frames per segment.
   * @default {dataset.features.segmentFrames}
   */
  segmentFrames?: number;
  /**
   * When set, B is drawn among items whose value of this attribute differs
   * from A's (e.g. `"speaker"`); items with no such partner fall back to any other item.
   * @default {undefined}
   */
  differentAttribute?: string;
}

/** The sampler's position, for checkpoints. */
export interface PairSamplerState {
  /** RNG state. */
  rng: RngState;
  /** Completed epochs. */
  epoch: number;
  /** Position within the current epoch's order. */
  position: number;
  /** The current epoch's order. */
  order: number[];
}

/**
 * Draws the seed's (A, B) pairs from a dataset, epoch by epoch.
 *
 * @example Tiny batches from the demo corpus
 * ```ts ignore
 * import { loadDemoCorpus, PairSampler, tf } from "./mod.ts";
 * const ds = await loadDemoCorpus({ features: { bins: 32, segmentFrames: 32 } });
 * const sampler = new PairSampler(ds, { batchSize: 2, seed: 1 });
 * for (const batch of sampler.epochBatches()) {
 *   console.log(batch.xA.shape); // [2, 32, 32, 1]
 *   tf.dispose(batch);
 * }
 * ```
 */
export class PairSampler {
  /** The dataset sampled from. */
  readonly dataset: SpectrogramDataset;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Frames per segment. */
  readonly segmentFrames: number;
  /**
   * Batches in one epoch: `floor(size / batchSize)`. The `size mod batchSize`
   * items left at the end of an epoch's shuffled order are not drawn as A in
   * that epoch; the next epoch reshuffles all items.
   */
  readonly batchesPerEpoch: number;
  #rng: Rng;
  #epoch = 0;
  #position = 0;
  #order: number[] = [];
  // For `differentAttribute`: item indices sorted by group, and each item's
  // group range [start, end) in that order.
  #byGroup: number[] | null = null;
  #groupStart: number[] = [];
  #groupEnd: number[] = [];

  /** Create a sampler; the first epoch's order is drawn here. */
  constructor(dataset: SpectrogramDataset, options: PairSamplerOptions = {}) {
    this.dataset = dataset;
    this.batchSize = options.batchSize ?? 2;
    this.segmentFrames = options.segmentFrames ?? dataset.features.segmentFrames;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new RangeError(`Invalid batch size ${this.batchSize}: expected a positive integer`);
    }
    if (!Number.isInteger(this.segmentFrames) || this.segmentFrames < 1) {
      throw new RangeError(
        `Invalid segment frames ${this.segmentFrames}: expected a positive integer`,
      );
    }
    if (dataset.size < 2) {
      throw new RangeError(
        `Cannot sample pairs: the dataset '${dataset.name}' has ${dataset.size} item(s), need at least 2`,
      );
    }
    if (dataset.size < this.batchSize) {
      throw new RangeError(
        `Cannot sample pairs: batch size ${this.batchSize} exceeds the dataset's ${dataset.size} items`,
      );
    }
    this.batchesPerEpoch = Math.floor(dataset.size / this.batchSize);
    this.#rng = new Rng(options.seed ?? 0);
    const attr = options.differentAttribute;
    if (attr !== undefined) {
      const key = (i: number) => JSON.stringify(dataset.items[i]!.values[attr] ?? null);
      const keys = dataset.items.map((_, i) => key(i));
      const order = [...keys.keys()].sort((
        a,
        b,
      ) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
      this.#byGroup = order;
      this.#groupStart = new Array(order.length).fill(0);
      this.#groupEnd = new Array(order.length).fill(0);
      let start = 0;
      for (let p = 1; p <= order.length; p++) {
        if (p === order.length || keys[order[p]!] !== keys[order[start]!]) {
          for (let q = start; q < p; q++) {
            this.#groupStart[order[q]!] = start;
            this.#groupEnd[order[q]!] = p;
          }
          start = p;
        }
      }
    }
    this.#newEpochOrder();
  }

  /** Completed epochs. */
  get epoch(): number {
    return this.#epoch;
  }

  #newEpochOrder(): void {
    this.#order = this.#rng.shuffle([...Array(this.dataset.size).keys()]);
    this.#position = 0;
  }

  #drawB(a: number): number {
    if (this.#byGroup) {
      // Uniform over the items outside A's group, without listing them.
      const start = this.#groupStart[a]!, len = this.#groupEnd[a]! - start;
      const others = this.dataset.size - len;
      if (others > 0) {
        const r = this.#rng.int(others);
        return this.#byGroup[r < start ? r : r + len]!;
      }
    }
    const b = this.#rng.int(this.dataset.size - 1);
    return b >= a ? b + 1 : b;
  }

  /** The next batch as arrays; starts a new epoch when the current one is used up. */
  nextArrays(): PairArrays {
    if (this.#position + this.batchSize > this.#order.length) {
      this.#epoch++;
      this.#newEpochOrder();
    }
    const { schema, features } = this.dataset;
    const B = this.batchSize, W = this.segmentFrames, H = features.bins;
    const seg = H * W;
    const out: PairArrays = {
      xA: new Float32Array(B * seg),
      cA: new Float32Array(B * schema.nIn),
      xB: new Float32Array(B * seg),
      cB: new Float32Array(B * schema.nIn),
      yB: new Float32Array(B * schema.nOut),
      indexA: [],
      indexB: [],
    };
    for (let s = 0; s < B; s++) {
      const a = this.#order[this.#position++]!;
      const b = this.#drawB(a);
      const itemA = this.dataset.items[a]!, itemB = this.dataset.items[b]!;
      // [bins x frames] bin-major is exactly [H, W, 1] for NHWC.
      out.xA.set(randomCrop(itemA.spectrogram(), W, this.#rng).data, s * seg);
      out.xB.set(randomCrop(itemB.spectrogram(), W, this.#rng).data, s * seg);
      out.cA.set(itemA.input, s * schema.nIn);
      out.cB.set(itemB.input, s * schema.nIn);
      out.yB.set(itemB.output, s * schema.nOut);
      out.indexA.push(a);
      out.indexB.push(b);
    }
    if (this.#position + this.batchSize > this.#order.length) {
      // The epoch is complete after this batch.
      this.#epoch++;
      this.#newEpochOrder();
    }
    return out;
  }

  /** The next batch as tensors (safe under `tf.tidy`). */
  next(): PairBatch {
    return toTensors(this.nextArrays(), this.dataset.features.bins, this.segmentFrames);
  }

  /** The batches of one epoch, as tensors; the caller disposes each. */
  *epochBatches(): Generator<PairBatch> {
    for (let i = 0; i < this.batchesPerEpoch; i++) yield this.next();
  }

  /** The sampler's state, for checkpoints. */
  getState(): PairSamplerState {
    return {
      rng: this.#rng.getState(),
      epoch: this.#epoch,
      position: this.#position,
      order: [...this.#order],
    };
  }

  /** Restore a state from {@linkcode PairSampler.getState}. */
  setState(state: PairSamplerState): void {
    if (state.order.length !== this.dataset.size) {
      throw new RangeError(
        `Cannot restore sampler state: it covers ${state.order.length} items, the dataset has ${this.dataset.size}`,
      );
    }
    this.#rng.setState(state.rng);
    this.#epoch = state.epoch;
    this.#position = state.position;
    this.#order = [...state.order];
  }
}

/** Wrap batch arrays as tensors of the documented shapes. */
export function toTensors(arrays: PairArrays, bins: number, frames: number): PairBatch {
  const B = arrays.indexA.length;
  return {
    xA: tf.tensor4d(arrays.xA, [B, bins, frames, 1]),
    cA: tf.tensor2d(arrays.cA, [B, arrays.cA.length / B]),
    xB: tf.tensor4d(arrays.xB, [B, bins, frames, 1]),
    cB: tf.tensor2d(arrays.cB, [B, arrays.cB.length / B]),
    yB: tf.tensor2d(arrays.yB, [B, arrays.yB.length / B]),
  };
}
