/**
 * Sample-rate conversion with anti-aliased band-limited resamplers.
 *
 * - `sinc` (default): voxlab's own polyphase Kaiser-windowed-sinc filter
 *   (32 zero crossings each side, Kaiser β = 9; the cutoff sits at 0.92 x the
 *   lower Nyquist rate, so the transition band ends at that Nyquist rate and
 *   nothing folds back). It is about ten times faster than libsamplerate's
 *   converters, which matters for preprocessing throughput; the tests check
 *   its stop-band attenuation and compare it with libsamplerate.
 * - `src-best`, `src-medium`, `src-fastest`: libsamplerate ("Secret Rabbit
 *   Code") compiled to wasm, from `@alexanderolsen/libsamplerate-js`
 *   (97 dB SNR; 97%, 90% and 80% of the band kept).
 *
 * @module
 */

import { LibSampleRate } from "../deps.ts";
import type { Audio } from "./wav.ts";

/** The resamplers {@linkcode resample} offers. */
export type ResampleQuality = "sinc" | "src-best" | "src-medium" | "src-fastest";

/** The accepted values of {@linkcode ResampleQuality}. */
export const RESAMPLE_QUALITIES: readonly ResampleQuality[] = [
  "sinc",
  "src-best",
  "src-medium",
  "src-fastest",
];

const CONVERTER: Record<Exclude<ResampleQuality, "sinc">, 0 | 1 | 2 | 3 | 4> = {
  "src-best": LibSampleRate.ConverterType.SRC_SINC_BEST_QUALITY,
  "src-medium": LibSampleRate.ConverterType.SRC_SINC_MEDIUM_QUALITY,
  "src-fastest": LibSampleRate.ConverterType.SRC_SINC_FASTEST,
};

/** Options for {@linkcode resample}. */
export interface ResampleOptions {
  /**
   * The resampler; see the module documentation.
   * @default {"sinc"}
   */
  quality?: ResampleQuality;
}

/** Zero crossings of the sinc on each side of the kernel centre. */
const ZEROS = 32;
/** Kaiser window shape parameter (about 90 dB side-lobe attenuation). */
const BETA = 9;
/** Cutoff as a fraction of the lower Nyquist rate. */
const ROLLOFF = 0.92;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1, term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

interface SincPlan {
  up: number;
  down: number;
  taps: number;
  half: number;
  table: Float32Array; // [up x taps]
}

const sincPlans = new Map<string, SincPlan>();

/**
 * Polyphase plan for `to/from = up/down` (reduced): output sample `n` sits at
 * input time `n * down / up`; its phase `(n * down) mod up` selects a row of
 * `taps` precomputed kernel values.
 */
function sincPlan(from: number, to: number): SincPlan {
  const key = `${from}:${to}`;
  const cached = sincPlans.get(key);
  if (cached) return cached;
  const g = gcd(from, to);
  const up = to / g, down = from / g;
  if (up > 8192) {
    throw new RangeError(
      `Cannot resample from ${from} Hz to ${to} Hz with 'sinc': the rate ratio ${up}/${down} is too fine; use 'src-medium'`,
    );
  }
  // Cutoff in cycles per input sample.
  const fc = 0.5 * Math.min(1, to / from) * ROLLOFF;
  const half = Math.ceil(ZEROS / (2 * fc)); // kernel half-width in input samples
  const taps = 2 * half;
  const table = new Float32Array(up * taps);
  const i0b = besselI0(BETA);
  for (let p = 0; p < up; p++) {
    const frac = p / up; // output time minus floor(input time)
    for (let j = 0; j < taps; j++) {
      const tau = j - half + 1 - frac; // input sample offset from the output time
      const r = tau / (half + 1);
      const w = Math.abs(r) < 1 ? besselI0(BETA * Math.sqrt(1 - r * r)) / i0b : 0;
      const x = 2 * fc * tau;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      table[p * taps + j] = 2 * fc * sinc * w;
    }
  }
  const plan = { up, down, taps, half, table };
  sincPlans.set(key, plan);
  return plan;
}

function resampleSinc(x: Float32Array, from: number, to: number, outLength: number): Float32Array {
  const { up, down, taps, half, table } = sincPlan(from, to);
  const y = new Float32Array(outLength);
  const n = x.length;
  for (let m = 0; m < outLength; m++) {
    const pos = m * down;
    const base = Math.floor(pos / up);
    const phase = pos - base * up;
    const row = phase * taps;
    const start = base - half + 1;
    let acc = 0;
    if (start >= 0 && start + taps <= n) {
      for (let j = 0; j < taps; j++) acc += x[start + j]! * table[row + j]!;
    } else {
      for (let j = 0; j < taps; j++) {
        const k = start + j;
        if (k >= 0 && k < n) acc += x[k]! * table[row + j]!;
      }
    }
    y[m] = acc;
  }
  return y;
}

/**
 * Resample mono audio to another rate. The output has
 * `round(n * rate / audio.sampleRate)` samples, aligned with the input;
 * frequencies above the lower Nyquist rate are filtered out, not folded back.
 *
 * @example 22.05 kHz to 16 kHz
 * ```ts
 * import { resample } from "./resample.ts";
 * const samples = Float32Array.from({ length: 22050 }, (_, i) => Math.sin(i / 10));
 * const y = await resample({ samples, sampleRate: 22050 }, 16000);
 * console.assert(y.samples.length === 16000 && y.sampleRate === 16000);
 * ```
 */
export async function resample(
  audio: Audio,
  rate: number,
  options: ResampleOptions = {},
): Promise<Audio> {
  const from = audio.sampleRate;
  for (const [name, r] of [["source", from], ["target", rate]] as const) {
    if (!Number.isInteger(r) || r <= 0) {
      throw new RangeError(`Cannot resample: invalid ${name} sample rate ${r}`);
    }
  }
  const quality = options.quality ?? "sinc";
  if (!RESAMPLE_QUALITIES.includes(quality)) {
    throw new RangeError(
      `Cannot resample: unknown quality '${quality}', expected ${RESAMPLE_QUALITIES.join(", ")}`,
    );
  }
  if (from === rate) return { samples: audio.samples.slice(), sampleRate: rate };
  const expected = Math.round(audio.samples.length * rate / from);
  if (expected === 0) return { samples: new Float32Array(0), sampleRate: rate };
  if (quality === "sinc") {
    return { samples: resampleSinc(audio.samples, from, rate, expected), sampleRate: rate };
  }
  const src = await LibSampleRate.create(1, from, rate, { converterType: CONVERTER[quality] });
  try {
    // A one-shot call holds back the filter's delay at the end: pad with
    // silence, then cut to the exact expected length.
    const padded = new Float32Array(audio.samples.length + Math.ceil(from / 50));
    padded.set(audio.samples);
    const y = src.simple(padded);
    const samples = new Float32Array(expected);
    samples.set(y.subarray(0, expected));
    return { samples, sampleRate: rate };
  } finally {
    src.destroy();
  }
}
