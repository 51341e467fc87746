import { equal, ok, throws } from "node:assert/strict";
import { initBackend, Rng, tf } from "../mod.ts";
import {
  bceCriticLoss,
  featureMatchingLoss,
  gradientPenalty,
  identityLoss,
  lsganCriticLoss,
  lsganGeneratorLoss,
  meanFeatureMatchingLoss,
  nonSaturatingGeneratorLoss,
  reconstructionLoss,
  sigmoidCrossEntropy,
  wganCriticLoss,
  wganGeneratorLoss,
} from "../lib/loss/mod.ts";
import { Discriminator } from "../lib/model/mod.ts";

await initBackend({ backend: "cpu", quiet: true });

function value(t: tf.Tensor): number {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

function close(actual: number, expected: number, tol = 1e-5, what = ""): void {
  ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what} ${actual} vs ${expected}`,
  );
}

const t1 = (v: number[]) => tf.tensor1d(v);

Deno.test("WGAN: critic mean(fake) − mean(real), generator −mean(fake)", () => {
  close(value(wganCriticLoss(t1([1, 2, 3]), t1([0.5, -0.5]))), 0 - 2);
  close(value(wganGeneratorLoss(t1([0.5, -1.5]))), 0.5);
  throws(
    () => wganCriticLoss(tf.zeros([2, 1]) as unknown as tf.Tensor1D, t1([1])),
    /expected scores \[B\], got \[2,1\]/,
  );
});

Deno.test("LSGAN and non-saturating BCE against hand values", () => {
  // ½·mean((r − 1)²) + ½·mean(f²): r = [0, 3] → (1 + 4)/2; f = [2] → 4
  close(value(lsganCriticLoss(t1([0, 3]), t1([2]))), 0.5 * 2.5 + 0.5 * 4);
  close(value(lsganGeneratorLoss(t1([0, 3]))), 0.5 * 2.5);
  const sp = (x: number) => Math.log(1 + Math.exp(x));
  close(value(bceCriticLoss(t1([1, -2]), t1([0.5]))), (sp(-1) + sp(2)) / 2 + sp(0.5));
  close(value(nonSaturatingGeneratorLoss(t1([0.5, 3]))), (sp(-0.5) + sp(-3)) / 2);
});

Deno.test("sigmoid cross-entropy: ignore label −1, Chainer normalisation, all-ignored gives 0", () => {
  const logits = tf.tensor2d([[0, 2, -1], [3, 0, 1]]);
  const targets = tf.tensor2d([[1, 0, -1], [-1, -1, 1]]);
  // Known entries: (x=0,t=1) log 2; (x=2,t=0) 2 + log(1+e^−2); (x=1,t=1) log(1+e^−1).
  const sum = Math.log(2) + 2 + Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(-1));
  close(value(sigmoidCrossEntropy(logits, targets)), sum / 3);
  close(value(sigmoidCrossEntropy(logits, targets, { normalize: "batch" })), sum / 2);
  // All ignored: 0 and a finite (zero) gradient.
  const ignored = tf.fill([2, 3], -1) as tf.Tensor2D;
  equal(value(sigmoidCrossEntropy(logits, ignored)), 0);
  const g = tf.grad((x: tf.Tensor) => sigmoidCrossEntropy(x as tf.Tensor2D, ignored))(logits);
  ok(g.dataSync().every((v) => v === 0));
  // Large logits stay finite: x = 100, t = 0 → 100; x = −100, t = 0 → ~0.
  close(value(sigmoidCrossEntropy(tf.tensor2d([[100, -100]]), tf.tensor2d([[0, 0]]))), 50);
  throws(
    () => sigmoidCrossEntropy(logits, tf.zeros([2, 2]) as tf.Tensor2D),
    /logits \[2,3\] and targets \[2,2\] differ/,
  );
  tf.dispose([logits, targets, ignored, g]);
});

Deno.test("reconstruction, identity and feature matching against hand values", () => {
  const a = tf.tensor4d([0.1, 0.5, 0.9, 0.3], [1, 2, 2, 1]);
  const b = tf.tensor4d([0.2, 0.5, 0.4, 0.0], [1, 2, 2, 1]);
  close(value(reconstructionLoss(a, b)), (0.01 + 0 + 0.25 + 0.09) / 4);
  close(value(reconstructionLoss(a, b, { distance: "mae" })), (0.1 + 0 + 0.5 + 0.3) / 4);
  close(value(identityLoss(a, b)), (0.01 + 0 + 0.25 + 0.09) / 4);
  // Features [2 samples, 1×1×2].
  const f = tf.tensor4d([1, 2, 3, 6], [2, 1, 1, 2]);
  const r = tf.tensor4d([0, 2, 2, 2], [2, 1, 1, 2]);
  close(value(featureMatchingLoss(f, r)), (1 + 0 + 1 + 16) / 4);
  // Batch means: fake [2, 4], real [1, 2] → (1 + 4)/2.
  close(value(meanFeatureMatchingLoss(f, r)), 2.5);
  throws(
    () => reconstructionLoss(a, tf.zeros([1, 2, 1, 1]) as tf.Tensor4D),
    /\[1,2,2,1\] and \[1,2,1,1\] differ/,
  );
  tf.dispose([a, b, f, r]);
});

Deno.test("gradient penalty: value and critic-weight gradient against finite differences", () => {
  const d = new Discriminator({ height: 8, width: 8, widths: [2, 3], featureLayer: 1, nOut: 2 }, {
    rng: new Rng(21),
  });
  const rng = new Rng(5);
  const real = tf.tensor4d(rng.uniformArray(2 * 64), [2, 8, 8, 1]);
  const fake = tf.tensor4d(rng.uniformArray(2 * 64), [2, 8, 8, 1]);
  const epsilon = [0.3, 0.8];
  const critic = (x: tf.Tensor4D) => d.score(x);
  const gp = value(gradientPenalty(critic, real, fake, { epsilon, lambda: 10 }));

  // Finite-difference input gradients, per sample, in float64 from float32 evaluations.
  const xs = [...real.dataSync()].map((r, i) => {
    const e = epsilon[Math.floor(i / 64)]!;
    return e * r + (1 - e) * fake.dataSync()[i]!;
  });
  const score = (arr: number[]) =>
    tf.tidy(() => [...d.score(tf.tensor4d(arr, [2, 8, 8, 1])).dataSync()]);
  const h = 1e-2;
  const sq = [0, 0];
  for (let i = 0; i < xs.length; i++) {
    const up = [...xs], down = [...xs];
    up[i]! += h;
    down[i]! -= h;
    const s = Math.floor(i / 64);
    const gi = (score(up)[s]! - score(down)[s]!) / (2 * h);
    sq[s]! += gi * gi;
  }
  const expected = 10 * sq.reduce((acc, v) => acc + (Math.sqrt(v) - 1) ** 2, 0) / 2;
  close(gp, expected, 2e-3, "GP value");

  // Double back-propagation: d GP / d (one critic weight) against finite differences.
  const kernel = d.trainableVariables["conv1/conv/kernel"]!;
  const { grads } = tf.variableGrads(
    () => gradientPenalty(critic, real, fake, { epsilon, lambda: 10 }),
    [kernel],
  );
  const analytic = grads[kernel.name]!.dataSync();
  const base = kernel.dataSync().slice();
  for (const idx of [0, 5, 11]) {
    const at = (delta: number) => {
      const w = base.slice();
      w[idx]! += delta;
      kernel.assign(tf.tensor(w, kernel.shape));
      return value(gradientPenalty(critic, real, fake, { epsilon, lambda: 10 }));
    };
    const fd = (at(1e-3) - at(-1e-3)) / 2e-3;
    ok(Math.abs(fd) > 1e-3, `finite difference ${fd} should be informative`);
    close(analytic[idx]!, fd, 2e-2, `dGP/dw[${idx}]`);
  }
  kernel.assign(tf.tensor(base, kernel.shape));
  tf.dispose(Object.values(grads));

  // rng-drawn ε is reproducible; neither ε nor rng is refused.
  const g1 = value(gradientPenalty(critic, real, fake, { rng: new Rng(1) }));
  const g2 = value(gradientPenalty(critic, real, fake, { rng: new Rng(1) }));
  equal(g1, g2);
  throws(() => gradientPenalty(critic, real, fake), /give either epsilon or rng/);
  throws(
    () => gradientPenalty(critic, real, fake, { epsilon: [0.5] }),
    /1 interpolation weights for a batch of 2/,
  );
  tf.dispose([real, fake]);
  d.dispose();
});
