/**
 * Statistics over seeds: a mean with its 95% confidence interval, the paired
 * t-test, and a paired bootstrap interval — what `deno task ablate` reports
 * for every diagnostic of a base and its ablation.
 *
 * Everything is computed here, with no statistics library:
 *
 * - Student's t distribution through the regularized incomplete beta
 *   function `I_x(a, b)` (continued fraction, Numerical Recipes §6.4), with
 *   `ln Γ` by the Lanczos approximation (g = 7, 9 terms);
 *   `P(|T| > t) = I_{ν/(ν+t²)}(ν/2, 1/2)`.
 * - Its quantile by bisection on that CDF (to 1e-12).
 * - The bootstrap: resampling seeds with replacement with a seeded
 *   {@linkcode Rng}, the percentile interval of the resampled mean difference.
 *
 * `tests/eval_stats_test.ts` checks them against textbook values (Student's
 * 1908 sleep data: t = −4.062, df = 9, p = 0.002833; t quantiles from
 * tables) and the bootstrap's coverage in a simulation.
 *
 * @module
 */

import { Rng } from "../random.ts";

/** `ln Γ(x)` for x > 0 (Lanczos, g = 7; relative error below 1e-13). */
export function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const g = 7;
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  x -= 1;
  let a = c[0]!;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300, eps = 1e-15;
  const qab = a + b, qap = a + 1, qam = a - 1;
  let c = 1, d = 1 - qab * x / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < eps) break;
  }
  return h;
}

/**
 * The regularized incomplete beta function `I_x(a, b)`.
 *
 * @example I_x(1, 1) = x; I_0.5(a, a) = 0.5
 * ```ts
 * import { incompleteBeta } from "./stats.ts";
 * console.assert(Math.abs(incompleteBeta(0.3, 1, 1) - 0.3) < 1e-12);
 * console.assert(Math.abs(incompleteBeta(0.5, 4.5, 4.5) - 0.5) < 1e-12);
 * ```
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`Cannot compute I_x(a, b): a and b must be > 0`);
  if (!(x >= 0 && x <= 1)) {
    throw new RangeError(`Cannot compute I_x(a, b): x must be in [0, 1], got ${x}`);
  }
  if (x === 0 || x === 1) return x;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use symmetry otherwise.
  return x < (a + 1) / (a + b + 2)
    ? front * betaContinuedFraction(x, a, b) / a
    : 1 - front * betaContinuedFraction(1 - x, b, a) / b;
}

/**
 * Student's t CDF `P(T ≤ t)` with `df` degrees of freedom.
 *
 * @example Symmetric around 0; the 97.5% point of t(9) is 2.262
 * ```ts
 * import { studentTCdf } from "./stats.ts";
 * console.assert(studentTCdf(0, 5) === 0.5);
 * console.assert(Math.abs(studentTCdf(2.262157, 9) - 0.975) < 1e-6);
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`Cannot compute the t CDF: df must be > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (t === 0) return 0.5;
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5); // P(T > |t|)
  return t > 0 ? 1 - tail : tail;
}

/**
 * The quantile of Student's t: the `t` with `P(T ≤ t) = p`.
 *
 * @example The two-sided 95% critical value for 4 degrees of freedom
 * ```ts
 * import { studentTQuantile } from "./stats.ts";
 * console.assert(Math.abs(studentTQuantile(0.975, 4) - 2.776445) < 1e-5);
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) {
    throw new RangeError(`Cannot compute a t quantile: p must be in (0, 1), got ${p}`);
  }
  if (p === 0.5) return 0;
  let lo = -1, hi = 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean with a confidence interval. */
export interface MeanInterval {
  /** The sample size. */
  n: number;
  /** The sample mean. */
  mean: number;
  /** The sample standard deviation (n − 1 denominator); NaN for n < 2. */
  sd: number;
  /** Lower bound of the interval (NaN for n < 2). */
  low: number;
  /** Upper bound of the interval (NaN for n < 2). */
  high: number;
}

/**
 * The mean with its t confidence interval `mean ± t_{(1+level)/2, n−1} · sd / √n`.
 * Non-finite values are refused: a missing seed must be left out, not averaged.
 *
 * @example
 * ```ts
 * import { meanInterval } from "./stats.ts";
 * const m = meanInterval([1, 2, 3, 4]);
 * console.assert(m.mean === 2.5 && Math.abs(m.high - 4.554) < 1e-3);
 * ```
 */
export function meanInterval(values: readonly number[], level = 0.95): MeanInterval {
  if (values.some((v) => !Number.isFinite(v))) {
    throw new RangeError(`Cannot average: values must be finite, got [${values.join(", ")}]`);
  }
  const n = values.length;
  const mean = n ? values.reduce((s, v) => s + v, 0) / n : NaN;
  if (n < 2) return { n, mean, sd: NaN, low: NaN, high: NaN };
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = studentTQuantile((1 + level) / 2, n - 1) * sd / Math.sqrt(n);
  return { n, mean, sd, low: mean - half, high: mean + half };
}

/** The result of {@linkcode pairedTTest}. */
export interface PairedTTest {
  /** Number of pairs. */
  n: number;
  /** Mean difference `b − a`, with its t interval. */
  difference: MeanInterval;
  /** The t statistic (NaN when the differences do not vary). */
  t: number;
  /** Degrees of freedom, n − 1. */
  df: number;
  /** Two-sided p-value (NaN when t is undefined). */
  p: number;
}

/**
 * Paired t-test of `b − a` (two-sided): `t = mean(d) / (sd(d)/√n)`, df n − 1.
 *
 * @example Student's sleep data (1908): the two drugs differ, p = 0.0028
 * ```ts
 * import { pairedTTest } from "./stats.ts";
 * const a = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
 * const b = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
 * const r = pairedTTest(b, a); // a − b
 * console.assert(Math.abs(r.t + 4.062) < 1e-3 && Math.abs(r.p - 0.002833) < 1e-6);
 * ```
 *
 * @throws {RangeError} when the samples differ in length.
 */
export function pairedTTest(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): PairedTTest {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot pair samples: ${a.length} and ${b.length} values`);
  }
  const d = b.map((v, i) => v - a[i]!);
  const difference = meanInterval(d, level);
  const n = d.length, df = n - 1;
  const se = difference.sd / Math.sqrt(n);
  const t = n >= 2 && se > 0 ? difference.mean / se : NaN;
  const p = Number.isFinite(t) ? 2 * studentTCdf(-Math.abs(t), df) : NaN;
  return { n, difference, t, df, p };
}

/** Options of {@linkcode pairedBootstrap}. */
export interface BootstrapOptions {
  /**
   * Resamples.
   * @default {10000}
   */
  resamples?: number;
  /**
   * Confidence level.
   * @default {0.95}
   */
  level?: number;
  /**
   * Seed of the resampling.
   * @default {0}
   */
  seed?: number | string;
}

/** A bootstrap interval. */
export interface BootstrapInterval {
  /** The observed mean difference `b − a`. */
  mean: number;
  /** Lower percentile bound. */
  low: number;
  /** Upper percentile bound. */
  high: number;
  /** Resamples drawn. */
  resamples: number;
}

/**
 * Paired percentile bootstrap of the mean difference `b − a`: resample the
 * pairs (seeds) with replacement, take the `(1−level)/2` and `(1+level)/2`
 * quantiles of the resampled means. With few pairs (n < 10) it is narrower
 * than the t interval: it cannot see variation the sample does not show.
 *
 * @example
 * ```ts
 * import { pairedBootstrap } from "./stats.ts";
 * const r = pairedBootstrap([1, 2, 3, 4, 5], [2, 3.5, 3.9, 5.2, 6.1], { seed: 1 });
 * console.assert(r.low > 0 && r.low <= r.mean && r.mean <= r.high);
 * ```
 *
 * @throws {RangeError} when the samples differ in length or are empty.
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: BootstrapOptions = {},
): BootstrapInterval {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(`Cannot bootstrap pairs: ${a.length} and ${b.length} values`);
  }
  const d = b.map((v, i) => v - a[i]!);
  const n = d.length;
  const resamples = options.resamples ?? 10000;
  const level = options.level ?? 0.95;
  const rng = new Rng(options.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.int(n)]!;
    means[r] = s / n;
  }
  means.sort();
  const at = (q: number) => {
    // Linear interpolation between order statistics (type 7).
    const pos = q * (resamples - 1), lo = Math.floor(pos), hi = Math.min(resamples - 1, lo + 1);
    return means[lo]! + (pos - lo) * (means[hi]! - means[lo]!);
  };
  return {
    mean: d.reduce((s, v) => s + v, 0) / n,
    low: at((1 - level) / 2),
    high: at((1 + level) / 2),
    resamples,
  };
}
