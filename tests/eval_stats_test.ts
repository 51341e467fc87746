import { equal, ok, throws } from "node:assert/strict";
import {
  incompleteBeta,
  logGamma,
  meanInterval,
  pairedBootstrap,
  pairedTTest,
  studentTCdf,
  studentTQuantile,
} from "../lib/eval/stats.ts";
import { Rng } from "../lib/random.ts";

const close = (a: number, b: number, tol: number, what: string) =>
  ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

Deno.test("logGamma and the incomplete beta match closed forms", () => {
  close(logGamma(5), Math.log(24), 1e-12, "ln 4!");
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-12, "ln Γ(1/2)");
  for (const x of [0.01, 0.2, 0.5, 0.77, 0.99]) {
    close(incompleteBeta(x, 3.5, 1), x ** 3.5, 1e-12, `I_${x}(3.5, 1)`);
    close(incompleteBeta(x, 1, 2.5), 1 - (1 - x) ** 2.5, 1e-12, `I_${x}(1, 2.5)`);
    close(incompleteBeta(x, 2, 3) + incompleteBeta(1 - x, 3, 2), 1, 1e-12, "symmetry");
  }
});

Deno.test("t CDF matches the closed forms for 1 and 2 degrees of freedom, and tables", () => {
  for (const t of [-30, -3, -0.4, 0.1, 1, 7.5]) {
    close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `Cauchy ${t}`);
    close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `t(2) ${t}`);
  }
  // Two-sided 95% and 99% critical values from a t table.
  close(studentTQuantile(0.975, 1), 12.7062, 1e-4, "t(1)");
  close(studentTQuantile(0.975, 2), 4.3027, 1e-4, "t(2)");
  close(studentTQuantile(0.975, 9), 2.2622, 1e-4, "t(9)");
  close(studentTQuantile(0.975, 30), 2.0423, 1e-4, "t(30)");
  close(studentTQuantile(0.995, 5), 4.0321, 1e-4, "t(5) 99%");
  close(studentTQuantile(0.025, 9), -2.2622, 1e-4, "lower tail");
});

Deno.test("paired t-test reproduces Student's sleep data (t = -4.062, df = 9, p = 0.002833)", () => {
  // Cushny & Peebles via Student (1908), R's `sleep` data: extra hours of sleep, drug 1 and drug 2.
  const drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
  const drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
  const r = pairedTTest(drug2, drug1); // drug1 − drug2, as R's t.test(extra ~ group, paired = TRUE)
  equal(r.df, 9);
  close(r.t, -4.0621, 1e-4, "t");
  close(r.p, 0.002833, 1e-6, "p");
  close(r.difference.mean, -1.58, 1e-12, "mean difference");
  // R: 95 percent confidence interval -2.4598858 -0.7001142
  close(r.difference.low, -2.4598858, 1e-6, "CI low");
  close(r.difference.high, -0.7001142, 1e-6, "CI high");
  // Swapping the samples flips the sign and keeps p.
  const s = pairedTTest(drug1, drug2);
  close(s.t, 4.0621, 1e-4, "swapped t");
  close(s.p, r.p, 1e-15, "swapped p");
});

Deno.test("mean interval: t interval of a small sample, and degenerate cases", () => {
  const m = meanInterval([4.1, 5.3, 6.0, 4.8, 5.6]);
  // mean 5.16, sd √(2.172/4) = 0.736885, t(4) 2.776445: half-width 0.91496
  close(m.mean, 5.16, 1e-12, "mean");
  close(m.high - m.mean, 2.776445 * Math.sqrt(2.172 / 4) / Math.sqrt(5), 1e-5, "half width");
  const one = meanInterval([3]);
  ok(one.mean === 3 && Number.isNaN(one.low));
  throws(() => meanInterval([1, NaN]), /finite/);
  throws(() => pairedTTest([1, 2], [1]), /2 and 1 values/);
  ok(Number.isNaN(pairedTTest([1, 2, 3], [2, 3, 4]).p), "constant differences have no t");
});

Deno.test("paired bootstrap: seeded, and its 95% interval covers the true difference in simulation", () => {
  const rng = new Rng("bootstrap-sim");
  const truth = 0.5;
  let covered = 0;
  const trials = 200;
  for (let k = 0; k < trials; k++) {
    // Pairs share a per-seed offset (what pairing removes) plus independent noise.
    const a: number[] = [], b: number[] = [];
    for (let i = 0; i < 30; i++) {
      const seed = 3 * rng.normal();
      a.push(seed + rng.normal());
      b.push(seed + truth + rng.normal());
    }
    const r = pairedBootstrap(a, b, { resamples: 2000, seed: k });
    if (r.low <= truth && truth <= r.high) covered++;
    if (k === 0) {
      ok(r.low <= truth && truth <= r.high, `first interval [${r.low}, ${r.high}]`);
      const again = pairedBootstrap(a, b, { resamples: 2000, seed: k });
      equal(again.low, r.low, "same seed, same interval");
    }
  }
  // Nominal 95%; the percentile bootstrap at n = 30 covers a little less.
  const coverage = covered / trials;
  ok(coverage >= 0.88 && coverage <= 0.99, `coverage ${coverage}`);
  // A real difference far from 0 is not covered by an interval around 0.
  const shifted = pairedBootstrap([0, 0.1, -0.1, 0.05], [2, 2.1, 1.9, 2.05], { seed: 1 });
  ok(shifted.low > 1.8 && shifted.high < 2.2, `[${shifted.low}, ${shifted.high}]`);
});
