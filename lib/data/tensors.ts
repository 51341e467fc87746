/**
 * Spectrograms to and from NHWC tensors, for running a model over the
 * windows of a whole utterance (see {@linkcode windows} and {@linkcode stitch}).
 *
 * @module
 */

import { tf } from "../deps.ts";
import type { Spectrogram } from "./spectrogram.ts";

/**
 * Stack same-sized spectrograms into a `[n, bins, frames, 1]` float32 tensor.
 *
 * @example Convert a whole utterance window by window
 * ```ts
 * import { initBackend, spectrogramsToTensor, stitch, tensorToSpectrograms, tf, windows } from "../../mod.ts";
 * await initBackend({ backend: "cpu", quiet: true });
 * const spec = { data: new Float32Array(4 * 100).fill(0.5), bins: 4, frames: 100 };
 * const w = windows(spec, 32);
 * const x = spectrogramsToTensor(w.windows);        // [n, 4, 32, 1]
 * const y = tf.tidy(() => tf.sub(1, x));            // stands in for a generator
 * const back = stitch(tensorToSpectrograms(y), w.starts, w.frames);
 * tf.dispose([x, y]);
 * console.assert(back.frames === 100 && Math.abs(back.data[0]! - 0.5) < 1e-6);
 * ```
 */
export function spectrogramsToTensor(specs: readonly Spectrogram[]): tf.Tensor4D {
  const first = specs[0];
  if (!first) throw new RangeError("Cannot stack spectrograms: the list is empty");
  const { bins, frames } = first;
  const data = new Float32Array(specs.length * bins * frames);
  specs.forEach((s, i) => {
    if (s.bins !== bins || s.frames !== frames) {
      throw new RangeError(
        `Cannot stack spectrograms: item ${i} is ${s.bins}x${s.frames}, expected ${bins}x${frames}`,
      );
    }
    data.set(s.data, i * bins * frames);
  });
  return tf.tensor4d(data, [specs.length, bins, frames, 1]);
}

/** Split a `[n, bins, frames, 1]` tensor into spectrograms (reads the data synchronously). */
export function tensorToSpectrograms(tensor: tf.Tensor): Spectrogram[] {
  if (tensor.rank !== 4 || tensor.shape[3] !== 1) {
    throw new RangeError(
      `Cannot read spectrograms: expected a [n, bins, frames, 1] tensor, got [${
        tensor.shape.join(", ")
      }]`,
    );
  }
  const [n, bins, frames] = tensor.shape as [number, number, number, number];
  const all = tensor.dataSync() as Float32Array;
  return Array.from({ length: n }, (_, i) => ({
    data: all.slice(i * bins * frames, (i + 1) * bins * frames),
    bins,
    frames,
  }));
}
