/**
 * Output levels for converted audio: measure peak, RMS and clipping, and
 * set the level before writing.
 *
 * Griffin-Lim rebuilds a waveform from magnitudes alone, so its level
 * follows whatever the generator drew: an undertrained generator's
 * full-scale noise came out at RMS 0.88 with 67% of the samples past full
 * scale, which a 16-bit WAV clips. {@linkcode normalizeLevel} brings each
 * output to the input's loudness (`input`, the default), or its peak to
 * -1 dBFS (`peak`), or leaves it (`off`, and then says how much would clip).
 *
 * @module
 */

/** A waveform's level. */
export interface Level {
  /** Largest |sample|, in dB relative to full scale (1.0); -Infinity for silence. */
  peakDb: number;
  /** Root mean square, in dB relative to full scale; -Infinity for silence. */
  rmsDb: number;
  /** Fraction of samples with |x| > 1 (clipped when written as 16-bit PCM). */
  clipped: number;
}

/** How {@linkcode normalizeLevel} sets the level. */
export type NormalizeMode = "input" | "peak" | "off";

/** The modes, for flag parsing. */
export const NORMALIZE_MODES: readonly NormalizeMode[] = ["input", "peak", "off"];

/** The peak every normalised output stays under, in dBFS. */
export const PEAK_CEILING_DB = -1;

const db = (x: number) => (x > 0 ? 20 * Math.log10(x) : -Infinity);

/**
 * Measure a waveform's level.
 *
 * @example A full-scale sine: peak 0 dBFS, RMS -3.01 dBFS, nothing clipped
 * ```ts
 * import { measureLevel } from "./levels.ts";
 * const sine = Float32Array.from({ length: 1600 }, (_, i) => Math.sin(2 * Math.PI * i / 16));
 * const level = measureLevel(sine);
 * console.assert(Math.abs(level.peakDb) < 1e-3 && Math.abs(level.rmsDb + 3.0103) < 1e-3);
 * console.assert(level.clipped === 0);
 * ```
 */
export function measureLevel(samples: Float32Array): Level {
  let peak = 0, sum = 0, over = 0;
  for (const x of samples) {
    const a = Math.abs(x);
    if (a > peak) peak = a;
    if (a > 1) over++;
    sum += x * x;
  }
  const n = Math.max(samples.length, 1);
  return { peakDb: db(peak), rmsDb: db(Math.sqrt(sum / n)), clipped: over / n };
}

/** What {@linkcode normalizeLevel} did. */
export interface Normalized {
  /** The waveform at its new level (the input array itself when `off`). */
  samples: Float32Array;
  /** The gain applied, in dB (0 for `off`). */
  gainDb: number;
  /** The level before. */
  before: Level;
  /** The level after. */
  after: Level;
}

/**
 * Set a waveform's level: `input` scales it to the RMS of `reference` (the
 * input utterance), `peak` scales its peak to {@linkcode PEAK_CEILING_DB};
 * both then lower the gain if needed so the peak stays at or under that
 * ceiling, so nothing clips. `off` changes nothing.
 *
 * @example An output 20 dB too loud comes back to the input's level
 * ```ts
 * import { measureLevel, normalizeLevel } from "./levels.ts";
 * const input = Float32Array.from({ length: 800 }, (_, i) => 0.05 * Math.sin(i / 3));
 * const loud = input.map((x) => x * 10);
 * const out = normalizeLevel(loud, "input", input);
 * console.assert(Math.abs(out.gainDb + 20) < 1e-3);
 * console.assert(Math.abs(out.after.rmsDb - measureLevel(input).rmsDb) < 1e-3);
 * ```
 */
export function normalizeLevel(
  samples: Float32Array,
  mode: NormalizeMode,
  reference?: Float32Array,
): Normalized {
  const before = measureLevel(samples);
  if (mode === "off" || before.peakDb === -Infinity) {
    return { samples, gainDb: 0, before, after: before };
  }
  let gainDb: number;
  if (mode === "input") {
    if (!reference) throw new TypeError("Cannot normalize to the input: no input given");
    const ref = measureLevel(reference).rmsDb;
    gainDb = ref === -Infinity ? PEAK_CEILING_DB - before.peakDb : ref - before.rmsDb;
  } else {
    gainDb = PEAK_CEILING_DB - before.peakDb;
  }
  gainDb = Math.min(gainDb, PEAK_CEILING_DB - before.peakDb);
  const g = 10 ** (gainDb / 20);
  const out = samples.map((x) => x * g);
  return { samples: out, gainDb, before, after: measureLevel(out) };
}

/**
 * A level as text: `peak -1.0 dBFS, RMS -19.4 dBFS`, with the clipped share when any.
 *
 * @example
 * ```ts
 * import { formatLevel } from "./levels.ts";
 * console.assert(formatLevel({ peakDb: -1, rmsDb: -19.44, clipped: 0 }) === "peak -1.0 dBFS, RMS -19.4 dBFS");
 * ```
 */
export function formatLevel(level: Level): string {
  const f = (v: number) => (v === -Infinity ? "-inf" : v.toFixed(1));
  return `peak ${f(level.peakDb)} dBFS, RMS ${f(level.rmsDb)} dBFS` +
    (level.clipped > 0 ? `, ${(100 * level.clipped).toFixed(1)}% of samples clipped` : "");
}
