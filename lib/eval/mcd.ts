/**
 * Mel-cepstral distortion (MCD) with dynamic time warping.
 *
 * MCD measures how far two utterances' spectral envelopes are apart, in dB;
 * with DTW the two may differ in timing (a converted utterance against the
 * target speaker's own rendition of the same sentence).
 *
 * **Mel-cepstrum.** For one frame with natural-log amplitude spectrum
 * L(ω) = ln|X(ω)|, the mel-cepstrum c̃ is the cosine series of L on a warped
 * frequency axis β:
 *
 *   L(ω) = c̃_0 + Σ_{m≥1} c̃_m cos(m β(ω)),
 *   β(ω) = ω + 2 atan(α sin ω / (1 − α cos ω)),
 *
 * where β is the phase response of the first-order all-pass filter used by
 * SPTK's `mcep` (α = 0.42 approximates the mel scale at 16 kHz, 0.455 at
 * 22.05 kHz, 0.544 at 48 kHz). This is SPTK's convention
 * (log H(z) = Σ_m c̃_m z̃^{−m}, one-sided, so c̃_m for m ≥ 1 is twice the
 * symmetric cepstrum's coefficient), the one the MCD formula below assumes:
 * with it, MCD is the RMS distance in dB between the two log spectra over the
 * warped axis, c̃_0 (the level) left out.
 *
 * The coefficients are computed by resampling L onto a uniform β grid (linear interpolation between FFT bins; ω = β warped
 * by −α is the inverse map) and integrating against cos(m β) with the
 * trapezoid rule, which is exact for a log spectrum of that form. This is the
 * frequency-warped cepstrum of the log spectrum, a simpler estimate than
 * SPTK's iterative UELS `mcep`: MCD figures are comparable between voxlab
 * runs, and only roughly with published figures. The default order is 24 (c̃_1 … c̃_24), the usual
 * choice for MCD at 16 kHz.
 *
 * **MCD.** Per aligned frame pair, with c̃_0 (energy) excluded:
 *
 *   MCD = (10 / ln 10) · sqrt(2 Σ_{m=1}^{order} (c̃_m − c̃'_m)²)   [dB]
 *
 * averaged over the DTW path (steps (1,0), (0,1), (1,1), Euclidean frame
 * cost, mean cost along the optimal path).
 *
 * @module
 */

import { type FeatureConfig, magnitudeSpectrogram } from "../data/spectrogram.ts";

/** Options for {@linkcode melCepstrum}. */
export interface MelCepstrumOptions {
  /**
   * Highest coefficient index; the result has `order + 1` coefficients c̃_0 … c̃_order.
   * @default {24}
   */
  order?: number;
  /**
   * All-pass warping constant α in (−1, 1); 0 gives the plain (linear-frequency) cepstrum.
   * @default {0.42}
   */
  alpha?: number;
  /**
   * The bin index that would sit at the Nyquist frequency: bin k is at
   * ω = π·k / nyquistBin. voxlab's spectrograms drop the Nyquist bin of a
   * 512-point FFT, so 256 bins have nyquistBin 256. Defaults to the frame length.
   * @default {frame.length}
   */
  nyquistBin?: number;
  /**
   * Points of the uniform warped-frequency grid the integral is taken on.
   * @default {512}
   */
  gridSize?: number;
}

/** Default mel-cepstrum order used by {@linkcode melCepstrum} and {@linkcode mcd}. */
export const DEFAULT_MCEP_ORDER = 24;
/** Default all-pass constant (mel scale at 16 kHz). */
export const DEFAULT_MCEP_ALPHA = 0.42;

/**
 * The all-pass frequency warping β(ω) = ω + 2 atan(α sin ω / (1 − α cos ω)).
 * `warpFrequency(warpFrequency(w, a), -a) === w` up to rounding.
 *
 * @example Endpoints are fixed; low frequencies are stretched for α > 0
 * ```ts
 * import { warpFrequency } from "./mcd.ts";
 * console.assert(warpFrequency(0, 0.42) === 0);
 * console.assert(Math.abs(warpFrequency(Math.PI, 0.42) - Math.PI) < 1e-12);
 * console.assert(warpFrequency(0.5, 0.42) > 0.5);
 * ```
 */
export function warpFrequency(omega: number, alpha: number): number {
  return omega + 2 * Math.atan2(alpha * Math.sin(omega), 1 - alpha * Math.cos(omega));
}

/**
 * The mel-cepstrum c̃_0 … c̃_order of one frame's natural-log amplitude spectrum.
 *
 * @param logAmplitude ln|X| at bins 0 … N−1 (bin k at ω = π·k / nyquistBin)
 *
 * @example A log spectrum that is exactly 0.5 + 0.6·cos β(ω)
 * ```ts
 * import { melCepstrum, warpFrequency } from "./mcd.ts";
 * const n = 256;
 * const frame = Float32Array.from({ length: n }, (_, k) =>
 *   0.5 + 0.6 * Math.cos(warpFrequency(Math.PI * k / n, 0.42)));
 * const c = melCepstrum(frame, { nyquistBin: n });
 * console.assert(Math.abs(c[1]! - 0.6) < 1e-3);
 * ```
 */
export function melCepstrum(
  logAmplitude: Float32Array | readonly number[],
  options: MelCepstrumOptions = {},
): Float64Array {
  const order = options.order ?? DEFAULT_MCEP_ORDER;
  const alpha = options.alpha ?? DEFAULT_MCEP_ALPHA;
  const n = logAmplitude.length;
  const nyquistBin = options.nyquistBin ?? n;
  const grid = options.gridSize ?? 512;
  if (!Number.isInteger(order) || order < 1) {
    throw new RangeError(
      `Cannot compute mel-cepstrum: order must be an integer >= 1, got ${order}`,
    );
  }
  if (!(alpha > -1 && alpha < 1)) {
    throw new RangeError(`Cannot compute mel-cepstrum: alpha must be in (-1, 1), got ${alpha}`);
  }
  if (n < 2) {
    throw new RangeError(`Cannot compute mel-cepstrum: expected at least 2 bins, got ${n}`);
  }
  if (!(nyquistBin >= n - 1)) {
    throw new RangeError(
      `Cannot compute mel-cepstrum: nyquistBin ${nyquistBin} is below the last bin ${n - 1}`,
    );
  }
  if (!Number.isInteger(grid) || grid < 2 * order + 2) {
    throw new RangeError(
      `Cannot compute mel-cepstrum: gridSize must be an integer >= ${2 * order + 2}, got ${grid}`,
    );
  }
  const { lo, t, basis } = mcepTables(n, nyquistBin, alpha, grid, order);
  // Resample L onto a uniform grid of the warped axis β ∈ [0, π].
  const sampled = new Float64Array(grid);
  for (let g = 0; g < grid; g++) {
    const i = lo[g]!, hi = Math.min(i + 1, n - 1);
    sampled[g] = (1 - t[g]!) * Number(logAmplitude[i]) + t[g]! * Number(logAmplitude[hi]);
  }
  // c̃_0 = (1/π) ∫_0^π L dβ and c̃_m = (2/π) ∫_0^π L cos(mβ) dβ (m ≥ 1) by the trapezoid
  // rule (exact for such cosine series); basis[m·grid + g] holds the trapezoid weight ×
  // cos(m β_g) / (grid − 1), doubled for m ≥ 1.
  const c = new Float64Array(order + 1);
  for (let m = 0; m <= order; m++) {
    let sum = 0;
    const row = m * grid;
    for (let g = 0; g < grid; g++) sum += basis[row + g]! * sampled[g]!;
    c[m] = sum;
  }
  return c;
}

interface McepTables {
  lo: Int32Array;
  t: Float64Array;
  basis: Float64Array;
}

const tableCache = new Map<string, McepTables>();

/** Interpolation positions and the cosine basis, cached per (bins, nyquistBin, α, grid, order). */
function mcepTables(
  n: number,
  nyquistBin: number,
  alpha: number,
  grid: number,
  order: number,
): McepTables {
  const key = `${n}/${nyquistBin}/${alpha}/${grid}/${order}`;
  const hit = tableCache.get(key);
  if (hit) return hit;
  const lo = new Int32Array(grid), t = new Float64Array(grid);
  for (let g = 0; g < grid; g++) {
    const omega = warpFrequency(Math.PI * g / (grid - 1), -alpha);
    const pos = Math.min(Math.max(omega / Math.PI * nyquistBin, 0), n - 1);
    lo[g] = Math.floor(pos);
    t[g] = pos - lo[g]!;
  }
  const basis = new Float64Array((order + 1) * grid);
  for (let m = 0; m <= order; m++) {
    for (let g = 0; g < grid; g++) {
      const w = (g === 0 || g === grid - 1 ? 0.5 : 1) * (m === 0 ? 1 : 2);
      basis[m * grid + g] = w * Math.cos(m * Math.PI * g / (grid - 1)) / (grid - 1);
    }
  }
  const tables = { lo, t, basis };
  if (tableCache.size > 16) tableCache.clear();
  tableCache.set(key, tables);
  return tables;
}

/** Options for {@linkcode melCepstra} and {@linkcode spectrogramMelCepstra}. */
export interface SpectrogramMelCepstrumOptions extends MelCepstrumOptions {
  /**
   * Lower dB bound of the [0, 1] normalisation: value 0 is this level
   * (lib/data's `DEFAULT_FEATURES.minDb`).
   * @default {-90}
   */
  minDb?: number;
  /**
   * Upper dB bound of the [0, 1] normalisation: value 1 is this level
   * (lib/data's `DEFAULT_FEATURES.maxDb`).
   * @default {10}
   */
  maxDb?: number;
}

/**
 * Mel-cepstra of every frame of a spectrogram of natural-log amplitudes.
 *
 * @param frames one natural-log amplitude spectrum per frame
 */
export function melCepstra(
  frames: readonly (Float32Array | readonly number[])[],
  options: MelCepstrumOptions = {},
): Float64Array[] {
  return frames.map((f) => melCepstrum(f, options));
}

/**
 * Mel-cepstra of every frame of a voxlab spectrogram: values in [0, 1] that map
 * linearly to [minDb, maxDb] of 20·log10 amplitude, laid out `[freq, frames]`
 * row-major (row = frequency bin, bin 0 lowest), as one `[H, W, 1]` sample of
 * an NHWC batch is.
 *
 * @param data the spectrogram values, `height × width` row-major
 * @param shape `[height (bins), width (frames)]`
 */
export function spectrogramMelCepstra(
  data: Float32Array,
  shape: readonly [number, number],
  options: SpectrogramMelCepstrumOptions = {},
): Float64Array[] {
  const [h, w] = shape;
  if (data.length !== h * w) {
    throw new RangeError(
      `Cannot compute mel-cepstra: ${data.length} values do not fill a ${h}×${w} spectrogram`,
    );
  }
  const minDb = options.minDb ?? -90;
  const maxDb = options.maxDb ?? 10;
  const toLn = Math.LN10 / 20; // dB of amplitude -> natural log
  const frames: Float32Array[] = [];
  for (let t = 0; t < w; t++) {
    const f = new Float32Array(h);
    for (let k = 0; k < h; k++) f[k] = (minDb + (maxDb - minDb) * data[k * w + t]!) * toLn;
    frames.push(f);
  }
  const { minDb: _a, maxDb: _b, ...mcepOptions } = options;
  return melCepstra(frames, { nyquistBin: h, ...mcepOptions });
}

const MCD_SCALE = 10 / Math.LN10 * Math.SQRT2;

/**
 * MCD of one pair of mel-cepstra, in dB, excluding c̃_0.
 *
 * Formula: (10 / ln 10) · sqrt(2 Σ_{m≥1} (a_m − b_m)²)
 */
export function frameMcd(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) {
    throw new RangeError(
      `Cannot compute MCD: mel-cepstra have different orders (${a.length - 1} and ${b.length - 1})`,
    );
  }
  let s = 0;
  for (let m = 1; m < a.length; m++) s += (a[m]! - b[m]!) ** 2;
  return MCD_SCALE * Math.sqrt(s);
}

/** Options for {@linkcode mcd}. */
export interface McdOptions {
  /**
   * Align the sequences with DTW; without it frames are compared one to one
   * over the shorter length.
   * @default {true}
   */
  dtw?: boolean;
}

/** The result of {@linkcode mcd}. */
export interface McdResult {
  /** Mean MCD along the alignment, in dB. */
  mcd: number;
  /** Number of aligned frame pairs the mean is over. */
  pathLength: number;
}

/**
 * Mel-cepstral distortion between two sequences of mel-cepstra, in dB.
 *
 * @example Identical sequences have MCD 0
 * ```ts
 * import { mcd, melCepstrum } from "./mcd.ts";
 * const frame = melCepstrum(Float32Array.from({ length: 64 }, (_, k) => Math.cos(k / 9)));
 * console.assert(mcd([frame, frame], [frame]).mcd === 0);
 * ```
 */
export function mcd(
  a: readonly Float64Array[],
  b: readonly Float64Array[],
  options: McdOptions = {},
): McdResult {
  const n = a.length, m = b.length;
  if (n === 0 || m === 0) {
    throw new RangeError(`Cannot compute MCD: a sequence is empty (${n} and ${m} frames)`);
  }
  if (options.dtw === false) {
    const len = Math.min(n, m);
    let s = 0;
    for (let i = 0; i < len; i++) s += frameMcd(a[i]!, b[i]!);
    return { mcd: s / len, pathLength: len };
  }
  // acc[i][j]: least total cost of a path from (0,0) to (i,j); len: its number of steps.
  const acc = new Float64Array(n * m);
  const len = new Int32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const cost = frameMcd(a[i]!, b[j]!);
      const idx = i * m + j;
      if (i === 0 && j === 0) {
        acc[idx] = cost;
        len[idx] = 1;
        continue;
      }
      let best = Infinity, bestLen = 0;
      const consider = (p: number) => {
        // Ties prefer the shorter path, i.e. the diagonal step.
        if (acc[p]! < best || (acc[p] === best && len[p]! < bestLen)) {
          best = acc[p]!;
          bestLen = len[p]!;
        }
      };
      if (i > 0 && j > 0) consider(idx - m - 1);
      if (i > 0) consider(idx - m);
      if (j > 0) consider(idx - 1);
      acc[idx] = best + cost;
      len[idx] = bestLen + 1;
    }
  }
  const end = n * m - 1;
  return { mcd: acc[end]! / len[end]!, pathLength: len[end]! };
}

/** Options for {@linkcode waveformMelCepstra}. */
export interface WaveformMelCepstrumOptions extends MelCepstrumOptions {
  /**
   * Amplitude floor before the logarithm, relative to the loudest bin of the utterance.
   * @default {1e-5}
   */
  floor?: number;
}

/**
 * Mel-cepstra of every frame of a waveform: the magnitude STFT of lib/data
 * (`magnitudeSpectrogram`: frame 2·bins, hop, Hann; Nyquist dropped), floored,
 * natural log, then {@linkcode melCepstrum} per frame.
 *
 * @param samples the waveform at `features.sampleRate`
 * @param features the STFT settings (`bins`, `hop`, `sampleRate`)
 *
 * @example A tone against itself
 * ```ts
 * import { DEFAULT_FEATURES } from "../data/spectrogram.ts";
 * import { mcd, waveformMelCepstra } from "./mcd.ts";
 * const tone = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i / 5));
 * const c = waveformMelCepstra(tone, DEFAULT_FEATURES);
 * console.assert(mcd(c, c).mcd === 0);
 * ```
 */
export function waveformMelCepstra(
  samples: Float32Array,
  features: FeatureConfig,
  options: WaveformMelCepstrumOptions = {},
): Float64Array[] {
  const mag = magnitudeSpectrogram(samples, features);
  const { bins, frames, data } = mag;
  let peak = 0;
  for (const v of data) peak = Math.max(peak, v);
  const floor = Math.max(peak * (options.floor ?? 1e-5), 1e-12);
  const out: Float64Array[] = [];
  const frame = new Float32Array(bins);
  const { floor: _f, ...mcepOptions } = options;
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < bins; k++) frame[k] = Math.log(Math.max(data[k * frames + t]!, floor));
    out.push(melCepstrum(frame, { nyquistBin: bins, ...mcepOptions }));
  }
  return out;
}
