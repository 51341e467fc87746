/**
 * Back from a [0, 1] spectrogram to a waveform: denormalize, then
 * Griffin-Lim phase reconstruction (the "fast" variant with momentum,
 * Perraudin, Balazs & Søndergaard 2013; momentum 0 gives the classic
 * algorithm of Griffin & Lim 1984).
 *
 * @module
 */

import { Rng } from "../random.ts";
import { type ComplexStft, istft, stft } from "./fft.ts";
import { denormalize, type FeatureConfig, frameLength, type Spectrogram } from "./spectrogram.ts";

/** Options for {@linkcode griffinLim} and {@linkcode toWaveform}. */
export interface GriffinLimOptions {
  /**
   * Iterations of phase re-estimation.
   * @default {60}
   */
  iterations?: number;
  /**
   * Momentum of the fast Griffin-Lim update; 0 is the classic algorithm.
   * @default {0.99}
   */
  momentum?: number;
  /**
   * Seed of the random initial phases.
   * @default {0}
   */
  seed?: number;
  /**
   * Output length in samples.
   * @default {(frames - 1) * hop}
   */
  length?: number;
}

function checkOptions(options: GriffinLimOptions): Required<Omit<GriffinLimOptions, "length">> {
  const iterations = options.iterations ?? 60;
  const momentum = options.momentum ?? 0.99;
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new RangeError(
      `Invalid Griffin-Lim iterations: expected an integer >= 0, got ${iterations}`,
    );
  }
  if (!(momentum >= 0 && momentum < 1)) {
    throw new RangeError(
      `Invalid Griffin-Lim momentum: expected 0 <= momentum < 1, got ${momentum}`,
    );
  }
  return { iterations, momentum, seed: options.seed ?? 0 };
}

/**
 * Reconstruct a waveform whose STFT magnitude approximates `magnitude`
 * (linear, `[bins x frames]`, bins = frame/2 with the Nyquist bin dropped).
 *
 * @example
 * ```ts
 * import { griffinLim } from "./griffin_lim.ts";
 * import { DEFAULT_FEATURES, magnitudeSpectrogram } from "./spectrogram.ts";
 * const wave = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i / 7));
 * const mag = magnitudeSpectrogram(wave, DEFAULT_FEATURES);
 * const back = griffinLim(mag, DEFAULT_FEATURES, { iterations: 10 });
 * console.assert(back.length === (mag.frames - 1) * 128);
 * ```
 */
export function griffinLim(
  magnitude: { data: Float32Array; bins: number; frames: number },
  features: FeatureConfig,
  options: GriffinLimOptions = {},
): Float32Array {
  const { iterations, momentum, seed } = checkOptions(options);
  const { bins, frames, data } = magnitude;
  if (bins !== features.bins) {
    throw new RangeError(
      `Cannot run Griffin-Lim: spectrogram has ${bins} bins, features expect ${features.bins}`,
    );
  }
  if (data.length !== bins * frames) {
    throw new RangeError(
      `Cannot run Griffin-Lim: data length ${data.length} is not ${bins} x ${frames}`,
    );
  }
  const hop = features.hop;
  const frame = frameLength(features);
  const length = options.length ?? (frames - 1) * hop;
  const n = bins * frames;
  const rng = new Rng(seed);
  // angles: the current unit-modulus phase estimate; spec = magnitude * angles.
  const angRe = new Float64Array(n), angIm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const phi = 2 * Math.PI * rng.uniform();
    angRe[i] = Math.cos(phi);
    angIm[i] = Math.sin(phi);
  }
  const spec: ComplexStft = { re: new Float64Array(n), im: new Float64Array(n), bins, frames };
  const applyMagnitude = () => {
    for (let i = 0; i < n; i++) {
      spec.re[i] = data[i]! * angRe[i]!;
      spec.im[i] = data[i]! * angIm[i]!;
    }
  };
  let prevRe: Float64Array | null = null, prevIm: Float64Array | null = null;
  const beta = momentum / (1 + momentum);
  for (let it = 0; it < iterations; it++) {
    applyMagnitude();
    const wave = istft(spec, hop, length);
    const rebuilt = stft(wave, frame, hop, frames);
    for (let i = 0; i < n; i++) {
      let re = rebuilt.re[i]!, im = rebuilt.im[i]!;
      if (prevRe && prevIm) {
        re -= beta * prevRe[i]!;
        im -= beta * prevIm[i]!;
      }
      const m = Math.hypot(re, im);
      if (m > 1e-16) {
        angRe[i] = re / m;
        angIm[i] = im / m;
      }
    }
    prevRe = rebuilt.re;
    prevIm = rebuilt.im;
  }
  applyMagnitude();
  return Float32Array.from(istft(spec, hop, length));
}

/**
 * Turn a [0, 1] spectrogram back into a waveform at `features.sampleRate`:
 * denormalize to linear magnitudes, then {@linkcode griffinLim}.
 *
 * @example Round trip
 * ```ts
 * import { DEFAULT_FEATURES, toSpectrogram, toWaveform } from "./mod.ts";
 * const wave = Float32Array.from({ length: 8000 }, (_, i) => 0.3 * Math.sin(i / 9));
 * const spec = toSpectrogram(wave, DEFAULT_FEATURES); // 63 frames
 * const back = toWaveform(spec, DEFAULT_FEATURES, { iterations: 8, length: 8000 });
 * console.assert(back.length === 8000);
 * ```
 */
export function toWaveform(
  spec: Spectrogram,
  features: FeatureConfig,
  options: GriffinLimOptions = {},
): Float32Array {
  return griffinLim(
    { data: denormalize(spec, features), bins: spec.bins, frames: spec.frames },
    features,
    options,
  );
}

/**
 * Spectral convergence of a waveform against a target linear magnitude:
 * `||S - |STFT(x)|||_F / ||S||_F` (0 is a perfect match; lower is better).
 */
export function spectralConvergence(
  magnitude: { data: Float32Array; bins: number; frames: number },
  wave: Float32Array,
  features: FeatureConfig,
): number {
  const { bins, frames, data } = magnitude;
  const rebuilt = stft(wave, frameLength(features), features.hop, frames);
  let num = 0, den = 0;
  for (let i = 0; i < bins * frames; i++) {
    const d = data[i]! - Math.hypot(rebuilt.re[i]!, rebuilt.im[i]!);
    num += d * d;
    den += data[i]! * data[i]!;
  }
  return Math.sqrt(num / den);
}
