/**
 * Converting whole utterances: a spectrogram of any length is cut into
 * overlapping windows of the generator's width (lib/data's `windows`), each
 * window is converted, and the results are cross-faded back together
 * (`stitch`); then, for audio, denormalized and inverted with Griffin-Lim.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { stitch, windows } from "../data/segments.ts";
import type { Spectrogram } from "../data/spectrogram.ts";
import type { GeneratorFn } from "./diagnostics.ts";

/** Options for {@linkcode convertUtterance}. */
export interface ConvertUtteranceOptions {
  /**
   * Frames per window: the generator's input width.
   * @default {256}
   */
  width?: number;
  /**
   * Frames between window starts; overlaps are cross-faded.
   * @default {width / 2}
   */
  step?: number;
  /**
   * Windows per generator call.
   * @default {4}
   */
  batchSize?: number;
}

/**
 * Convert a whole utterance to the target `labels` with a generator that
 * works on `[B, bins, width, 1]` windows.
 *
 * @param generator the generator in inference mode
 * @param spec the [0, 1] spectrogram `[bins x frames]`, any number of frames
 * @param labels the target's input labels `[nIn]`
 *
 * @example The identity generator gives the utterance back
 * ```ts
 * import { initBackend } from "../backend/mod.ts";
 * import { convertUtterance } from "./convert.ts";
 * await initBackend({ backend: "cpu", quiet: true });
 * const spec = { data: Float32Array.from({ length: 4 * 50 }, (_, i) => (i % 9) / 9), bins: 4, frames: 50 };
 * const out = convertUtterance((x) => x, spec, new Float32Array([1, 0]), { width: 16 });
 * console.assert(out.frames === 50 && out.data.every((v, i) => Math.abs(v - spec.data[i]!) < 1e-6));
 * ```
 */
export function convertUtterance(
  generator: GeneratorFn,
  spec: Spectrogram,
  labels: Float32Array,
  options: ConvertUtteranceOptions = {},
): Spectrogram {
  const width = options.width ?? 256;
  const batchSize = options.batchSize ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot convert utterance: batchSize must be a positive integer, got ${batchSize}`,
    );
  }
  const w = windows(spec, width, options.step === undefined ? {} : { step: options.step });
  const { bins } = spec;
  const converted: Spectrogram[] = [];
  for (let i = 0; i < w.windows.length; i += batchSize) {
    const chunk = w.windows.slice(i, i + batchSize);
    const out = tf.tidy(() => {
      // Windows are [bins x width] row-major, which is [bins, width, 1] in NHWC.
      const flat = new Float32Array(chunk.length * bins * width);
      chunk.forEach((c, j) => flat.set(c.data, j * bins * width));
      const x = tf.tensor4d(flat, [chunk.length, bins, width, 1]);
      const c = tf.tile(tf.tensor2d(labels, [1, labels.length]), [chunk.length, 1]) as tf.Tensor2D;
      return generator(x, c).dataSync() as Float32Array;
    });
    chunk.forEach((_, j) => {
      converted.push({
        data: out.slice(j * bins * width, (j + 1) * bins * width),
        bins,
        frames: width,
      });
    });
  }
  return stitch(converted, w.starts, w.frames);
}
