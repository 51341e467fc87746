/**
 * Fixed-width segments of spectrograms: a seeded random crop for training
 * (silence-padded when the clip is short), and overlapping windows plus
 * stitching for converting whole utterances.
 *
 * @module
 */

import type { Rng } from "../random.ts";
import type { Spectrogram } from "./spectrogram.ts";

/**
 * Copy frames `start .. start + width - 1` of a spectrogram into a new one of
 * `width` frames; frames past the end are silence (0, the dB floor).
 */
export function sliceFrames(spec: Spectrogram, start: number, width: number): Spectrogram {
  const { bins, frames, data } = spec;
  const out = new Float32Array(bins * width);
  const lo = Math.max(0, start), hi = Math.min(frames, start + width);
  if (hi > lo) {
    for (let k = 0; k < bins; k++) {
      out.set(data.subarray(k * frames + lo, k * frames + hi), k * width + (lo - start));
    }
  }
  return { data: out, bins, frames: width };
}

/**
 * A seeded random crop of `width` frames. A clip shorter than `width` is
 * placed at the start and padded with silence on the right.
 *
 * @example
 * ```ts
 * import { randomCrop, Rng } from "../../mod.ts";
 * const spec = { data: new Float32Array(4 * 10).fill(0.5), bins: 4, frames: 10 };
 * const seg = randomCrop(spec, 6, new Rng(1));
 * console.assert(seg.frames === 6 && seg.data.every((v) => v === 0.5));
 * ```
 */
export function randomCrop(spec: Spectrogram, width: number, rng: Rng): Spectrogram {
  const start = spec.frames > width ? rng.int(spec.frames - width + 1) : 0;
  return sliceFrames(spec, start, width);
}

/** Options for {@linkcode windows}. */
export interface WindowOptions {
  /**
   * Frames between the starts of consecutive windows.
   * @default {width / 2}
   */
  step?: number;
}

/** Overlapping windows over a whole utterance, and where each starts. */
export interface Windows {
  /** The windows, each `width` frames (the last is silence-padded if needed). */
  windows: Spectrogram[];
  /** The first frame of each window in the utterance. */
  starts: number[];
  /** Frames of the whole utterance. */
  frames: number;
}

/**
 * Cut a whole utterance into overlapping `width`-frame windows that cover
 * every frame; undo with {@linkcode stitch}.
 *
 * @example
 * ```ts
 * import { stitch, windows } from "./segments.ts";
 * const spec = { data: Float32Array.from({ length: 2 * 600 }, (_, i) => (i % 7) / 7), bins: 2, frames: 600 };
 * const w = windows(spec, 256);
 * const back = stitch(w.windows, w.starts, w.frames);
 * console.assert(back.data.every((v, i) => Math.abs(v - spec.data[i]!) < 1e-6));
 * ```
 */
export function windows(spec: Spectrogram, width: number, options: WindowOptions = {}): Windows {
  const step = options.step ?? Math.max(1, Math.floor(width / 2));
  if (!Number.isInteger(step) || step < 1 || step > width) {
    throw new RangeError(`Invalid window step ${step}: expected an integer in [1, ${width}]`);
  }
  const starts: number[] = [];
  for (let s = 0; s + width < spec.frames; s += step) starts.push(s);
  starts.push(Math.max(0, spec.frames - width));
  return { windows: starts.map((s) => sliceFrames(spec, s, width)), starts, frames: spec.frames };
}

/**
 * Join overlapping windows back into one spectrogram of `frames` frames,
 * cross-fading overlaps with Hann-shaped weights (so seams are smooth when
 * the windows disagree, e.g. after conversion).
 */
export function stitch(parts: Spectrogram[], starts: number[], frames: number): Spectrogram {
  const first = parts[0];
  if (!first || parts.length !== starts.length) {
    throw new RangeError(
      `Cannot stitch windows: got ${parts.length} windows and ${starts.length} starts`,
    );
  }
  const { bins, frames: width } = first;
  const out = new Float64Array(bins * frames), weight = new Float64Array(frames);
  const w = new Float64Array(width);
  for (let i = 0; i < width; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / width);
  parts.forEach((part, p) => {
    if (part.bins !== bins || part.frames !== width) {
      throw new RangeError(
        `Cannot stitch windows: window ${p} is ${part.bins}x${part.frames}, expected ${bins}x${width}`,
      );
    }
    const s = starts[p]!;
    for (let t = 0; t < width && s + t < frames; t++) {
      weight[s + t] = weight[s + t]! + w[t]!;
      for (let k = 0; k < bins; k++) {
        out[k * frames + s + t] = out[k * frames + s + t]! + w[t]! * part.data[k * width + t]!;
      }
    }
  });
  const data = new Float32Array(bins * frames);
  for (let k = 0; k < bins; k++) {
    for (let t = 0; t < frames; t++) data[k * frames + t] = out[k * frames + t]! / weight[t]!;
  }
  return { data, bins, frames };
}
