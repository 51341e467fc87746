/**
 * Log-magnitude spectrograms, mapped to [0, 1].
 *
 * Frame `t` is centred on sample `t * hop` (the signal is zero-padded by half
 * a frame at both ends), so a clip of `n` samples gives `floor(n / hop) + 1`
 * frames. Each frame is Hann-windowed (the symmetric Hann window) and
 * transformed by `fft.ts`; bins `0 .. frame/2 - 1` are kept (the Nyquist bin is dropped),
 * so `frame = 2 * bins`.
 *
 * Magnitudes are converted to dB relative to a full-scale sine
 * (`20 log10(|X| / (sum(window) / 2))`, so a sine of amplitude 1 peaks near
 * 0 dB) and mapped linearly from `[minDb, maxDb]` to `[0, 1]`, clipping
 * outside. With the defaults, [-90 dB, +10 dB] gives 100 dB of range: 16-bit
 * speech fits, and the +10 dB headroom keeps loud peaks unclipped.
 *
 * @module
 */

import { stft } from "./fft.ts";
import { RESAMPLE_QUALITIES, type ResampleQuality } from "./resample.ts";

/** The spectrogram feature configuration. Experiments override single fields. */
export interface FeatureConfig {
  /** Sample rate audio is resampled to, in Hz. */
  sampleRate: number;
  /** Hop between frames, in samples. */
  hop: number;
  /** Frequency bins kept; the frame length is `2 * bins` (a power of two). */
  bins: number;
  /** Frames per training segment (the width of the `[B, bins, frames, 1]` batches). */
  segmentFrames: number;
  /** Level mapped to 0, in dB relative to a full-scale sine. */
  minDb: number;
  /** Level mapped to 1, in dB relative to a full-scale sine. */
  maxDb: number;
  /** The resampler used to reach `sampleRate`. */
  resampleQuality: ResampleQuality;
}

/**
 * The default features (the seed's 256 x 256 inputs): 16 kHz, hop 128,
 * frame 512 -> 256 bins (Nyquist dropped), Hann window, [-90, +10] dB -> [0, 1],
 * 256-frame segments (2.05 s).
 */
export const DEFAULT_FEATURES: Readonly<FeatureConfig> = Object.freeze({
  sampleRate: 16000,
  hop: 128,
  bins: 256,
  segmentFrames: 256,
  minDb: -90,
  maxDb: 10,
  resampleQuality: "sinc",
});

/**
 * Fill in and validate a feature config from partial overrides.
 *
 * @throws {RangeError} for a non-power-of-two bin count or other out-of-range values.
 * @example Tiny features for tests
 * ```ts
 * import { resolveFeatures } from "./spectrogram.ts";
 * const f = resolveFeatures({ bins: 32, segmentFrames: 32 });
 * console.assert(f.hop === 128 && f.bins === 32);
 * ```
 */
export function resolveFeatures(overrides: Partial<FeatureConfig> = {}): FeatureConfig {
  const f: FeatureConfig = { ...DEFAULT_FEATURES, ...overrides };
  const positiveInt = (name: keyof FeatureConfig) => {
    const v = f[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new RangeError(`Invalid feature config: ${name} must be a positive integer, got ${v}`);
    }
  };
  positiveInt("sampleRate");
  positiveInt("hop");
  positiveInt("bins");
  positiveInt("segmentFrames");
  if (f.bins < 2 || !Number.isInteger(Math.log2(f.bins))) {
    throw new RangeError(`Invalid feature config: bins must be a power of two >= 2, got ${f.bins}`);
  }
  if (!(f.maxDb > f.minDb)) {
    throw new RangeError(
      `Invalid feature config: maxDb (${f.maxDb}) must exceed minDb (${f.minDb})`,
    );
  }
  if (!RESAMPLE_QUALITIES.includes(f.resampleQuality)) {
    throw new RangeError(
      `Invalid feature config: resampleQuality must be one of ${
        RESAMPLE_QUALITIES.join(", ")
      }, got '${f.resampleQuality}'`,
    );
  }
  return f;
}

/** A spectrogram in [0, 1], laid out `[bins x frames]` (bin-major: `data[bin * frames + t]`). */
export interface Spectrogram {
  /** Values in [0, 1]. */
  data: Float32Array;
  /** Frequency bins (rows). */
  bins: number;
  /** Frames (columns). */
  frames: number;
}

/** The frame length in samples for a config: `2 * bins`. */
export function frameLength(features: Pick<FeatureConfig, "bins">): number {
  return features.bins * 2;
}

/** The magnitude of a full-scale sine's peak bin: `sum(hann(frame)) / 2`. */
export function referenceMagnitude(features: Pick<FeatureConfig, "bins">): number {
  return (frameLength(features) - 1) / 4;
}

/** Frames a clip of `samples` samples yields: `floor(samples / hop) + 1`. */
export function frameCount(samples: number, features: Pick<FeatureConfig, "hop">): number {
  return Math.floor(samples / features.hop) + 1;
}

/**
 * Map linear magnitudes to [0, 1] in place (see the module doc for the mapping).
 */
export function normalizeMagnitudes(mag: Float32Array, features: FeatureConfig): Float32Array {
  const ref = referenceMagnitude(features);
  const span = features.maxDb - features.minDb;
  for (let i = 0; i < mag.length; i++) {
    const db = 20 * Math.log10(mag[i]! / ref + 1e-12);
    const v = (db - features.minDb) / span;
    mag[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return mag;
}

/**
 * The inverse of {@linkcode normalizeMagnitudes}: [0, 1] values to linear magnitudes
 * (0 maps to the `minDb` floor, not to silence).
 */
export function denormalize(spec: Spectrogram, features: FeatureConfig): Float32Array {
  const ref = referenceMagnitude(features);
  const span = features.maxDb - features.minDb;
  const out = new Float32Array(spec.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.min(1, Math.max(0, spec.data[i]!));
    out[i] = ref * Math.pow(10, (v * span + features.minDb) / 20);
  }
  return out;
}

/**
 * Linear magnitude spectrogram `[bins x frames]` of samples at
 * `features.sampleRate`: the magnitudes of the centred, Hann-windowed STFT of
 * `fft.ts` (the transform Griffin-Lim inverts), Nyquist bin dropped.
 *
 * @throws {RangeError} when the clip is shorter than one frame.
 */
export function magnitudeSpectrogram(
  samples: Float32Array,
  features: FeatureConfig,
): { data: Float32Array; bins: number; frames: number } {
  const frame = frameLength(features);
  const { bins, hop } = features;
  if (samples.length < frame) {
    throw new RangeError(
      `Cannot compute a spectrogram: the clip has ${samples.length} samples, shorter than one frame (${frame})`,
    );
  }
  const frames = frameCount(samples.length, features);
  const { re, im } = stft(samples, frame, hop, frames);
  const out = new Float32Array(bins * frames);
  for (let i = 0; i < out.length; i++) out[i] = Math.hypot(re[i]!, im[i]!);
  return { data: out, bins, frames };
}

/**
 * The [0, 1] log-magnitude spectrogram of samples at `features.sampleRate`.
 *
 * @throws {RangeError} when the clip is shorter than one frame.
 * @example A tone lights up its bin
 * ```ts
 * import { DEFAULT_FEATURES, toSpectrogram } from "./spectrogram.ts";
 * // 1 kHz at 16 kHz with 512-sample frames: bin 1000 / (16000 / 512) = 32.
 * const wave = Float32Array.from({ length: 16000 }, (_, i) => 0.5 * Math.sin(2 * Math.PI * 1000 * i / 16000));
 * const spec = toSpectrogram(wave, DEFAULT_FEATURES);
 * console.assert(spec.bins === 256 && spec.frames === 126);
 * console.assert(spec.data[32 * spec.frames + 60]! > spec.data[100 * spec.frames + 60]!);
 * ```
 */
export function toSpectrogram(samples: Float32Array, features: FeatureConfig): Spectrogram {
  const mag = magnitudeSpectrogram(samples, features);
  normalizeMagnitudes(mag.data, features);
  return mag;
}
