import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { initBackend, Rng, tf } from "../mod.ts";
import {
  BatchNorm,
  batchNormTrain,
  CLS_ROWS,
  DeconvBlock,
  describeDiscriminator,
  describeGenerator,
  Discriminator,
  Generator,
  LabelMergeBlock,
  ParamStore,
} from "../lib/model/mod.ts";
import base from "../experiments/47c97768.ts";

await initBackend({ backend: "cpu", quiet: true });

/** The seed's networks: the base experiment's models at its spectrogram size, with the label
 * counts of the seed's corpus (DESIGN §1: 1479 input, 1476 output labels). */
const SEED_SIZE = {
  height: base.data.features.bins,
  width: base.data.features.segmentFrames,
  channels: 1,
};
const SEED_G = { ...base.model.generator, ...SEED_SIZE, nIn: 1479 };
const SEED_D = { ...base.model.discriminator, ...SEED_SIZE, nOut: 1476 };

/** 1/8 of the seed's widths at 32×32, 12 input and 10 output labels. */
const SMALL_G = { height: 32, width: 32, widths: [4, 8, 16, 32], resBlocks: 2, nIn: 12 };
const SMALL_D = { height: 32, width: 32, widths: [4, 8, 16, 32, 64], nOut: 10 };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function chw(shape: number[]): string {
  return `${shape[2]}×${shape[0]}×${shape[1]}`;
}

Deno.test("generator: the seed's table at full size, by shape inference only", () => {
  const expected: [string, string][] = [
    ["down1", "32×256×256"],
    ["down2", "64×128×128"],
    ["down3", "128×64×64"],
    ["down4", "256×32×32"],
    ["labels", "1735×32×32"],
    ["merge", "256×32×32"],
    ["res1", "256×32×32"],
    ["res2", "256×32×32"],
    ["res3", "256×32×32"],
    ["res4", "256×32×32"],
    ["res5", "256×32×32"],
    ["res6", "256×32×32"],
    ["up1", "128×64×64"],
    ["up2", "64×128×128"],
    ["up3", "32×256×256"],
    ["up4", "1×256×256"],
  ];
  const before = tf.memory().numBytes;
  const layers = describeGenerator(SEED_G).filter((l) => l.name !== "input");
  equal(tf.memory().numBytes, before, "describing allocates no tensors");
  deepEqual(layers.map((l) => [l.name, chw(l.outputShape)]), expected);
  equal(layers[0]!.op, "conv n32 k7 s1 p3, BN, ReLU");
  equal(layers.at(-1)!.op, "deconv n1 k7 s1 p3, sigmoid");
  equal(layers.find((l) => l.name === "up1")!.op, "deconv n128 k4 s2 p1, BN, ReLU");
  // merge: a 3×3 conv over 1735 channels to 256, plus BN scale and shift.
  equal(layers.find((l) => l.name === "merge")!.params, 9 * 1735 * 256 + 512);
});

Deno.test("discriminator: DESIGN §2's table at full size, by shape inference only", () => {
  const layers = describeDiscriminator(SEED_D).filter((l) => l.name !== "input");
  deepEqual(layers.map((l) => [l.name, chw(l.outputShape)]), [
    ["conv1", "32×128×128"],
    ["conv2", "64×64×64"],
    ["conv3", "128×32×32"],
    ["conv4", "256×16×16"],
    ["conv5", "512×8×8"],
    ["adv", "1×1×1"],
    ["cls", "1476×1×1"],
  ]);
  ok(layers[3]!.op.includes("(features)"));
  equal(layers.find((l) => l.name === "cls")!.op, "conv n1476 k8×8 s1 p0");
});

Deno.test("generator: small model runs, shapes match describe(), output in (0, 1)", () => {
  const g = new Generator(SMALL_G, { rng: new Rng(1) });
  const last = g.describe().at(-1)!;
  const n0 = tf.memory().numTensors;
  const seen: [string, string][] = [];
  const y = tf.tidy(() =>
    g.apply(tf.randomUniform([2, 32, 32, 1]), tf.ones([2, 12]) as tf.Tensor2D, {
      training: true,
      onLayer: (name, shape) => seen.push([name, shape.join()]),
    })
  );
  // Every computed stage has the shape describe() infers (labels is a virtual stage).
  deepEqual(
    seen,
    g.describe().filter((l) => l.name !== "input" && l.name !== "labels")
      .map((l) => [l.name, [2, ...l.outputShape].join()]),
  );
  deepEqual(y.shape, [2, ...last.outputShape]);
  const v = y.dataSync();
  ok(v.every((t) => t > 0 && t < 1));
  y.dispose();
  equal(tf.memory().numTensors, n0, "apply leaks no tensors");
  // Parameter count: describe() agrees with the variables.
  const described = g.describe().reduce((s, l) => s + l.params, 0);
  equal(g.params.countTrainable(), described);
  g.dispose();
});

Deno.test("generator: same seed gives the same weights, another seed different ones", () => {
  const a = new Generator(SMALL_G, { rng: new Rng(5) });
  const b = new Generator(SMALL_G, { rng: new Rng(5) });
  const c = new Generator(SMALL_G, { rng: new Rng(6) });
  const wa = a.getWeights(), wb = b.getWeights(), wc = c.getWeights();
  deepEqual(Object.keys(wa), Object.keys(wb));
  for (const k of Object.keys(wa)) deepEqual(wa[k], wb[k]);
  ok(maxAbsDiff(wa["down1/conv/kernel"]!, wc["down1/conv/kernel"]!) > 0);
  // LeCun normal: std ≈ sqrt(1/fan_in) with fan_in = 3·3·32 for a res conv.
  const k = wa["res1/conv1/conv/kernel"]!;
  const std = Math.sqrt(k.reduce((s, t) => s + t * t, 0) / k.length);
  ok(Math.abs(std - Math.sqrt(1 / 288)) < 0.01, `std ${std}`);
  [a, b, c].forEach((m) => m.dispose());
});

Deno.test("generator: BN running stats update in training, are used in inference, and round-trip", () => {
  const g = new Generator(SMALL_G, { rng: new Rng(2) });
  const x = tf.randomUniform([2, 32, 32, 1], 0, 1, "float32", 3) as tf.Tensor4D;
  const c = tf.tensor2d([[1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [
    0,
    1,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    1,
  ]]);
  const before = g.getWeights();
  deepEqual([...before["down1/bn/running_mean"]!], new Array(4).fill(0));
  const evalBefore = tf.tidy(() => g.apply(x, c).dataSync());
  tf.tidy(() => g.apply(x, c, { training: true }));
  const after = g.getWeights();
  ok(maxAbsDiff(before["down1/bn/running_mean"]!, after["down1/bn/running_mean"]!) > 0);
  ok(maxAbsDiff(before["down1/bn/running_var"]!, after["down1/bn/running_var"]!) > 0);
  deepEqual(
    after["down1/bn/gamma"],
    before["down1/bn/gamma"],
    "a forward pass changes no trainable weight",
  );
  const evalAfter = tf.tidy(() => g.apply(x, c).dataSync());
  ok(maxAbsDiff(evalBefore, evalAfter) > 1e-6, "inference uses the running statistics");
  // Another model given these weights computes the same.
  const h = new Generator(SMALL_G, { rng: new Rng(99) });
  h.setWeights(after);
  equal(maxAbsDiff(tf.tidy(() => h.apply(x, c).dataSync()), evalAfter), 0);
  throws(() => h.setWeights({ ...after, extra: new Float32Array(1) }), /unknown weight 'extra'/);
  const missing = { ...after };
  delete missing["up4/deconv/bias"];
  throws(() => h.setWeights(missing), /missing weight 'up4\/deconv\/bias'/);
  throws(
    () => h.setWeights({ ...after, "up4/deconv/bias": new Float32Array(3) }),
    /'up4\/deconv\/bias' has 3 values, expected 1/,
  );
  tf.dispose([x, c]);
  g.dispose();
  h.dispose();
});

Deno.test("BatchNorm: training output, running stats and gradients against hand/autodiff values", () => {
  const store = new ParamStore();
  const rng = new Rng(4);
  const xs = rng.normalArray(2 * 3 * 2 * 2, 2, 1);
  const x = tf.tensor4d(xs, [2, 3, 2, 2]);
  // Hand computation, channel by channel (biased variance, eps 2e-5).
  const n = 12;
  const mean = [0, 1].map((ch) => xs.filter((_, i) => i % 2 === ch).reduce((a, b) => a + b, 0) / n);
  const varB = [0, 1].map((ch) =>
    xs.filter((_, i) => i % 2 === ch).reduce((a, b) => a + (b - mean[ch]!) ** 2, 0) / n
  );
  const expected = Array.from(xs, (v, i) => (v - mean[i % 2]!) / Math.sqrt(varB[i % 2]! + 2e-5));
  const y = batchNormTrain(x, tf.ones([2]), tf.zeros([2]));
  ok(maxAbsDiff(y.dataSync(), expected) < 1e-5);
  // Running stats after one update: 0.9·init + 0.1·batch (unbiased variance).
  const bn = new BatchNorm(store, "bn", 2);
  tf.tidy(() => bn.apply(x, { training: true }));
  ok(maxAbsDiff(bn.runningMean.dataSync(), mean.map((m) => 0.1 * m)) < 1e-6);
  ok(maxAbsDiff(bn.runningVar.dataSync(), varB.map((v) => 0.9 + 0.1 * v * n / (n - 1))) < 1e-5);
  // Inference mode: γ·(x − running mean)/sqrt(running var + ε) + β, running stats untouched.
  tf.tidy(() => {
    bn.gamma.assign(tf.tensor1d([2, -0.5]));
    bn.beta.assign(tf.tensor1d([0.3, 1]));
  });
  const [rm, rv] = [bn.runningMean.dataSync().slice(), bn.runningVar.dataSync().slice()];
  const inferred = tf.tidy(() => bn.apply(x, { training: false, activation: "relu" }).dataSync());
  const byHand = Array.from(xs, (v, i) => {
    const c = i % 2;
    const z = [2, -0.5][c]! * (v - rm[c]!) / Math.sqrt(rv[c]! + 2e-5) + [0.3, 1][c]!;
    return Math.max(z, 0);
  });
  ok(maxAbsDiff(inferred, byHand) < 1e-5, "inference with the running statistics");
  deepEqual([...bn.runningMean.dataSync()], [...rm], "inference leaves the running mean");
  // Gradient of the closed form (with fused ReLU) against autodiff of the plain formula.
  const gamma = tf.tensor1d([1.5, -0.7]), beta = tf.tensor1d([0.2, 0.1]);
  const w = tf.tensor4d(rng.normalArray(24), [2, 3, 2, 2]);
  const reference = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean: m, variance: v } = tf.moments(xi, [0, 1, 2]);
    const out = tf.relu(tf.add(tf.mul(tf.div(tf.sub(xi, m), tf.sqrt(tf.add(v, 2e-5))), g), b));
    return tf.sum(tf.mul(out, w));
  };
  const fused = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(
      batchNormTrain(xi as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, { activation: "relu" }),
      w,
    ));
  const gr = tf.grads(reference)([x, gamma, beta]);
  const gf = tf.grads(fused)([x, gamma, beta]);
  for (let i = 0; i < 3; i++) {
    ok(maxAbsDiff(gr[i]!.dataSync(), gf[i]!.dataSync()) < 1e-4, `grad ${i}`);
  }
  tf.dispose([x, y, gamma, beta, w, ...gr, ...gf]);
  store.dispose();
});

Deno.test("label merge: factored form equals a convolution over the tiled concatenation", () => {
  const store = new ParamStore();
  const block = new LabelMergeBlock(store, new Rng(3), "merge", {
    inChannels: 3,
    labels: 5,
    filters: 4,
    kernel: 3,
  });
  const x = tf.randomNormal([2, 5, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const c = tf.tensor2d([[1, 0, 1, 0, 0], [0, 1, 0, 0, 1]]);
  const factored = block.convolve(x, c);
  const direct = tf.tidy(() => {
    const tiled = tf.broadcastTo(tf.reshape(c, [2, 1, 1, 5]), [2, 5, 6, 5]);
    const kernel = tf.concat([block.kernelFeatures, block.kernelLabels], 2) as tf.Tensor4D;
    return tf.conv2d(tf.concat([x, tiled], 3) as tf.Tensor4D, kernel, 1, 1);
  });
  deepEqual(factored.shape, [2, 5, 6, 4]);
  ok(maxAbsDiff(factored.dataSync(), direct.dataSync()) < 1e-5);
  throws(
    () => block.convolve(x, tf.ones([2, 4]) as tf.Tensor2D),
    /expected labels \[2, 5\], got \[2,4\]/,
  );
  tf.dispose([x, c, factored, direct]);
  store.dispose();
});

Deno.test("deconv: Chainer's Deconvolution2D semantics against a loop implementation", () => {
  for (const [k, s, p, size] of [[4, 2, 1, 3], [7, 1, 3, 4]] as const) {
    const store = new ParamStore();
    const cin = 2, cout = 3;
    const block = new DeconvBlock(store, new Rng(k), "up", cin, {
      filters: cout,
      kernel: k,
      stride: s,
      pad: p,
    }, { batchNorm: false, activation: "linear" });
    const xs = new Rng(11).normalArray(size * size * cin);
    const y = block.apply(tf.tensor4d(xs, [1, size, size, cin]), { training: false });
    const out = s * (size - 1) + k - 2 * p;
    deepEqual(y.shape, [1, out, out, cout]);
    equal(out, s === 2 ? 2 * size : size);
    const w = block.kernel.dataSync(); // [k, k, cout, cin]
    const ref = new Float64Array(out * out * cout);
    for (let iy = 0; iy < size; iy++) {
      for (let ix = 0; ix < size; ix++) {
        for (let ci = 0; ci < cin; ci++) {
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < k; j++) {
              const oy = iy * s - p + i, ox = ix * s - p + j;
              if (oy < 0 || oy >= out || ox < 0 || ox >= out) continue;
              for (let co = 0; co < cout; co++) {
                ref[(oy * out + ox) * cout + co]! += xs[(iy * size + ix) * cin + ci]! *
                  w[((i * k + j) * cout + co) * cin + ci]!;
              }
            }
          }
        }
      }
    }
    ok(maxAbsDiff(y.dataSync(), ref) < 1e-5, `k${k} s${s} p${p}`);
    y.dispose();
    store.dispose();
  }
});

Deno.test("discriminator: outputs, features at conv4, cls head equals a valid convolution", () => {
  // nOut 300 stores the classification kernel in two blocks (256 + 44 rows).
  for (const nOut of [10, 300]) {
    const d = new Discriminator({ ...SMALL_D, nOut }, { rng: new Rng(7) });
    const x = tf.randomUniform([3, 32, 32, 1], 0, 1, "float32", 2) as tf.Tensor4D;
    const n0 = tf.memory().numTensors;
    const out = d.apply(x, { training: true });
    deepEqual(out.adv.shape, [3]);
    deepEqual(out.cls.shape, [3, nOut]);
    deepEqual(out.features.shape, [3, 2, 2, 32]);
    const score = d.score(x);
    ok(maxAbsDiff(score.dataSync(), out.adv.dataSync()) < 1e-6);
    const w = d.getWeights();
    const blocks = Object.keys(w).filter((k) => k.startsWith("cls/kernel/"));
    equal(blocks.length, Math.ceil(nOut / CLS_ROWS));
    equal(d.params.countTrainable(), d.describe().reduce((s, l) => s + l.params, 0));
    // Independent cls: conv5's output through a valid 1×1-map convolution.
    const cls = tf.tidy(() => {
      let h: tf.Tensor4D = x;
      for (let i = 1; i <= 5; i++) {
        const kernel = tf.tensor4d(
          w[`conv${i}/conv/kernel`]!,
          d.weightShapes()[`conv${i}/conv/kernel`] as [number, number, number, number],
        );
        h = tf.leakyRelu(
          tf.add(tf.conv2d(h, kernel, 2, 1), tf.tensor1d(w[`conv${i}/conv/bias`]!)),
          0.2,
        );
      }
      // Stored [nOut, h·w·C] in row blocks: as a conv kernel [h, w, C, nOut] it is the transpose.
      const rows = tf.concat(blocks.map((k) => tf.tensor2d(w[k]!, [w[k]!.length / 64, 64])), 0);
      const k = tf.transpose(tf.reshape(rows, [nOut, 1, 1, 64]), [1, 2, 3, 0]);
      return tf.add(tf.conv2d(h, k as tf.Tensor4D, 1, "valid"), tf.tensor1d(w["cls/bias"]!));
    });
    ok(maxAbsDiff(cls.dataSync(), out.cls.dataSync()) < 1e-5);
    tf.dispose([out.adv, out.cls, out.features, score, cls]);
    equal(tf.memory().numTensors, n0);
    throws(
      () => d.apply(tf.zeros([1, 16, 32, 1]) as tf.Tensor4D),
      /Cannot apply discriminator: expected x \[B, 32, 32, 1\], got \[1,16,32,1\]/,
    );
    x.dispose();
    d.dispose();
  }
});

Deno.test("models: bad configs and inputs are refused with clear errors", () => {
  throws(() => new Generator({ ...SMALL_G, height: 30 }), /30×32 is not divisible by 8/);
  throws(() => new Generator({ ...SMALL_G, widths: [] }), RangeError);
  throws(() => new Discriminator({ ...SMALL_D, featureLayer: 6 }), /featureLayer 6 exceeds/);
  const g = new Generator(SMALL_G);
  throws(
    () => g.apply(tf.zeros([2, 32, 32, 1]) as tf.Tensor4D, tf.zeros([3, 12]) as tf.Tensor2D),
    /expected c \[2, 12\] for x \[2,32,32,1\], got \[3,12\]/,
  );
  g.dispose();
});
