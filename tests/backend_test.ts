/**
 * voxlab's kernels on the wasm and native tensorflow backends against the cpu reference backend.
 *
 * Every case is computed on cpu first, then on the backend under test (with voxlab's kernels
 * registered) from the same numbers, and compared. The tensorflow cases run when
 * `@tensorflow/tfjs-node(-gpu)` is installed (`deno task setup tensorflow`) and are reported as
 * ignored otherwise; with `VOXLAB_REQUIRE_TENSORFLOW=1` (set by CI) a missing backend fails.
 *
 * Tolerance: outputs are float32 sums of up to a few thousand products whose
 * order differs between backends (XNNPACK and oneDNN block and vectorise, cpu loops
 * naively). Rounding then differs by about sqrt(terms) · 2^-24 relative to the
 * output scale, i.e. below 1e-5 here; `closeTo` allows 1e-4 of the largest
 * reference magnitude. A wrong tap, phase, padding or transpose gives errors of
 * the order of the values themselves, far above that.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import {
  Discriminator,
  Generator,
  initBackend,
  registerWasmKernels,
  Rng,
  tensorflowKernelsRegistered,
  tf,
  wasmKernelsRegistered,
} from "../mod.ts";
import { findTensorflowPackage } from "../lib/backend/tensorflow.ts";
import { batchNormTrain } from "../lib/model/batch_norm.ts";
import { termWeights } from "../lib/runs/primitives.ts";
import base from "../experiments/47c97768.ts";
import { criticTerms, type GanParts, ganStep, generatorTerms, RMSprop } from "../lib/train/mod.ts";

type Arr = Float32Array | Int32Array | Uint8Array;

/** The backends checked against cpu. */
type Backend = "wasm" | "tensorflow";

const TENSORFLOW_INSTALLED = findTensorflowPackage() !== undefined;
const TENSORFLOW_REQUIRED = Deno.env.get("VOXLAB_REQUIRE_TENSORFLOW") === "1";

/** The backends to test, each with whether its tests are skipped. */
const BACKENDS: { name: Backend; ignore: boolean }[] = [
  { name: "wasm", ignore: false },
  // When required (CI), a missing package is not skipped: the tests fail on its load error.
  { name: "tensorflow", ignore: !TENSORFLOW_INSTALLED && !TENSORFLOW_REQUIRED },
];

if (!TENSORFLOW_INSTALLED && !TENSORFLOW_REQUIRED) {
  console.error(
    "backend_test: tensorflow not installed, its tests are skipped (deno task setup tensorflow)",
  );
}

/** Assert `actual` equals `expected` within `rtol` of the largest |expected|. */
function closeTo(actual: Arr, expected: Arr, what: string, rtol = 1e-4): void {
  equal(actual.length, expected.length, `${what}: sizes differ`);
  let scale = 0, worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  ok(
    worst <= rtol * Math.max(scale, 1e-6),
    `${what}: max |backend - cpu| = ${worst.toExponential(2)} exceeds ${rtol} x ${
      scale.toExponential(2)
    }`,
  );
}

const ready = new Set<Backend>();
/** Switch to `backend` (initialised once through initBackend; wasm on 1 thread to share the machine). */
async function useBackend(backend: Backend): Promise<void> {
  if (!ready.has(backend)) {
    await initBackend({ backend, threads: 1, quiet: true });
    ready.add(backend);
  } else {
    await tf.setBackend(backend);
  }
  if (backend === "wasm") {
    ok(wasmKernelsRegistered(), "voxlab's wasm kernels are registered once wasm runs");
  } else {
    ok(tensorflowKernelsRegistered(), "voxlab's tensorflow kernels are registered once it runs");
  }
}

/** Run `compute` on cpu and on `backend` with the same inputs; compare every output. */
async function compareBackends(
  backend: Backend,
  what: string,
  compute: () => tf.Tensor[],
  rtol = 1e-4,
): Promise<void> {
  await tf.setBackend("cpu");
  const expected = tf.tidy(compute).map((t) => {
    const d = t.dataSync().slice();
    t.dispose();
    return { shape: t.shape, data: d };
  });
  await useBackend(backend);
  const actual = tf.tidy(compute);
  try {
    equal(actual.length, expected.length);
    actual.forEach((t, i) => {
      deepEqual(t.shape, expected[i]!.shape, `${what} output ${i}: shapes differ`);
      closeTo(t.dataSync(), expected[i]!.data, `${what} on ${backend}, output ${i}`, rtol);
    });
  } finally {
    tf.dispose(actual);
  }
}

/** `Deno.test` once per backend, named `<backend> <name>`, skipped where the backend is not installed. */
function testOnBackends(name: string, fn: (backend: Backend) => Promise<void>): void {
  for (const { name: backend, ignore } of BACKENDS) {
    Deno.test({ name: `${backend} ${name}`, ignore, fn: () => fn(backend) });
  }
}

Deno.test({
  name: "tensorflow is installed where it is required (VOXLAB_REQUIRE_TENSORFLOW=1)",
  ignore: !TENSORFLOW_REQUIRED,
  fn: () => {
    ok(
      TENSORFLOW_INSTALLED,
      "tensorflow is required but not installed: deno task setup tensorflow",
    );
  },
});

/** A seeded normal tensor on the current backend. */
function normal(shape: number[], seed: string, std = 1): tf.Tensor {
  return tf.tensor(new Rng(seed).normalArray(tf.util.sizeFromShape(shape), std), shape);
}

/** A convolution case: input `[B, H, W, C]`, filter `[kh, kw, C, Co]`. */
interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  s: number;
  pad: number | "valid" | "same";
  co: number;
}

const CONV_CASES: ConvCase[] = [
  { name: "conv k7 s1 p3, odd size", x: [2, 9, 7, 3], k: [7, 7], s: 1, pad: 3, co: 4 },
  { name: "conv k4 s2 p1, batch 1", x: [1, 8, 8, 3], k: [4, 4], s: 2, pad: 1, co: 5 },
  { name: "conv k4 s2 p1, odd size", x: [2, 9, 11, 3], k: [4, 4], s: 2, pad: 1, co: 5 },
  { name: "conv k3 s1 p1", x: [2, 5, 6, 4], k: [3, 3], s: 1, pad: 1, co: 3 },
  { name: "classifier head, valid k8", x: [2, 8, 8, 6], k: [8, 8], s: 1, pad: "valid", co: 7 },
  { name: "classifier head, valid 5x7", x: [1, 5, 7, 3], k: [5, 7], s: 1, pad: "valid", co: 4 },
  { name: "same k3 s2, odd size", x: [1, 9, 9, 3], k: [3, 3], s: 2, pad: "same", co: 3 },
  { name: "valid k2 s3, unused rows", x: [2, 7, 8, 3], k: [2, 2], s: 3, pad: "valid", co: 3 },
  { name: "padding wider than the filter", x: [1, 5, 4, 3], k: [3, 3], s: 1, pad: 4, co: 2 },
  // Wide rows: the patch matrix copies long runs with TypedArray.set.
  { name: "wide k3 s1 p1", x: [1, 3, 100, 3], k: [3, 3], s: 1, pad: 1, co: 2 },
  { name: "wide k4 s2 p1, odd width", x: [2, 4, 111, 3], k: [4, 4], s: 2, pad: 1, co: 2 },
  // Up to two input channels the input gradient is a product plus a scatter-add.
  { name: "conv k4 s2 p1, one channel", x: [2, 8, 10, 1], k: [4, 4], s: 2, pad: 1, co: 4 },
  { name: "conv k7 s1 p3, two channels", x: [1, 9, 8, 2], k: [7, 7], s: 1, pad: 3, co: 3 },
  { name: "valid k2 s3, two channels", x: [2, 7, 8, 2], k: [2, 2], s: 3, pad: "valid", co: 3 },
  { name: "padding wider, one channel", x: [1, 5, 4, 1], k: [3, 3], s: 1, pad: 4, co: 2 },
];

function explicit(pad: ConvCase["pad"]): "valid" | "same" | tf.backend_util.ExplicitPadding {
  return typeof pad === "number" ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : pad;
}

for (const c of CONV_CASES) {
  testOnBackends(`Conv2D and its gradients match cpu: ${c.name}`, async (backend) => {
    const attrs = {
      strides: [c.s, c.s],
      pad: explicit(c.pad),
      dataFormat: "NHWC",
      dimRoundingMode: "floor",
    };
    await compareBackends(backend, c.name, () => {
      const x = normal(c.x, `${c.name} x`) as tf.Tensor4D;
      const w = normal([...c.k, c.x[3], c.co], `${c.name} w`) as tf.Tensor4D;
      const y = tf.conv2d(x, w, c.s, explicit(c.pad));
      const dy = normal(y.shape, `${c.name} dy`);
      const dx = tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
        ...attrs,
        inputShape: c.x,
      }) as tf.Tensor;
      const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
        ...attrs,
        filterShape: w.shape,
      }) as tf.Tensor;
      return [y, dx, dw];
    });
  });
}

const DECONV_CASES = [
  { name: "deconv k4 s2 p1", x: [2, 5, 4, 6], k: 4, s: 2, pad: 1, co: 3, out: [2, 10, 8, 3] },
  { name: "deconv k7 s1 p3", x: [1, 7, 9, 4], k: 7, s: 1, pad: 3, co: 1, out: [1, 7, 9, 1] },
] as const;

for (const c of DECONV_CASES) {
  testOnBackends(`conv2dTranspose and its gradients match cpu: ${c.name}`, async (backend) => {
    await compareBackends(backend, c.name, () => {
      const x = normal([...c.x], `${c.name} x`) as tf.Tensor4D;
      const w = normal([c.k, c.k, c.co, c.x[3]], `${c.name} w`) as tf.Tensor4D;
      const pad = explicit(c.pad) as tf.backend_util.ExplicitPadding;
      const dy = normal([...c.out], `${c.name} dy`);
      const f = (xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.mul(
          tf.conv2dTranspose(xx as tf.Tensor4D, ww as tf.Tensor4D, [...c.out], c.s, pad as never),
          dy,
        ));
      const y = tf.conv2dTranspose(x, w, [...c.out], c.s, pad as never);
      const [gx, gw] = tf.grads(f)([x, w]);
      return [y, gx!, gw!];
    });
  });
}

testOnBackends("matMul with transposes (and fused) matches cpu", async (backend) => {
  await compareBackends(backend, "matMul", () => {
    const out: tf.Tensor[] = [];
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = normal(ta ? [5, 3] : [3, 5], `a${ta}`) as tf.Tensor2D;
      const b = normal(tb ? [4, 5] : [5, 4], `b${tb}`) as tf.Tensor2D;
      out.push(tf.matMul(a, b, ta, tb));
      const a3 = normal(ta ? [2, 5, 3] : [2, 3, 5], `a3${ta}`) as tf.Tensor3D;
      const b3 = normal(tb ? [2, 4, 5] : [2, 5, 4], `b3${tb}`) as tf.Tensor3D;
      out.push(tf.matMul(a3, b3, ta, tb));
      out.push(tf.fused.matMul({
        a,
        b,
        transposeA: ta,
        transposeB: tb,
        bias: normal([4], "bias"),
        activation: "relu",
      }));
    }
    // Broadcast batch dimensions with both transposes.
    out.push(tf.matMul(normal([1, 5, 3], "ab"), normal([2, 4, 5], "bb"), true, true));
    // The MatMul gradient uses both transposes.
    const a = normal([6, 7], "ga") as tf.Tensor2D, b = normal([7, 3], "gb") as tf.Tensor2D;
    out.push(
      ...tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D)))
      )([a, b]),
    );
    return out;
  });
});

testOnBackends("Tile matches cpu, including the batchNorm gradient", async (backend) => {
  await compareBackends(backend, "tile", () => {
    const out: tf.Tensor[] = [
      tf.tile(normal([1, 1, 1, 5], "t1"), [2, 3, 4, 1]),
      tf.tile(normal([2, 3], "t2"), [2, 2]),
      tf.tile(normal([2, 1, 3], "t3"), [1, 4, 2]),
      tf.tile(normal([2, 3], "t4"), [1, 1]),
      tf.tile(tf.tensor([[1, -2], [3, 4]], [2, 2], "int32"), [3, 2]),
      // Seven alternating axes: beyond the broadcasting Add, the package's kernel runs.
      tf.tile(normal([2, 1, 2, 1, 2, 1, 2], "t5"), [1, 2, 1, 2, 1, 2, 1]),
      tf.cast(tf.tile(tf.tensor([true, false], [2], "bool"), [3]), "float32"),
    ];
    const x = normal([2, 4, 3, 5], "bn x") as tf.Tensor4D;
    const gamma = normal([5], "bn g"), beta = normal([5], "bn b"), r = normal(x.shape, "bn r");
    out.push(
      ...tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, [0, 1, 2]);
        return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, b, g, 1e-5), r));
      })([x, gamma, beta]),
    );
    return out;
  });
});

testOnBackends(
  "voxlab's training BatchNorm (fused kernels on tensorflow) matches cpu: output, batch statistics, gradients",
  async (backend) => {
    await compareBackends(backend, "batchNormTrain", () => {
      const out: tf.Tensor[] = [];
      for (const activation of ["linear", "relu"] as const) {
        const x = tf.add(normal([2, 5, 3, 4], `bn x ${activation}`, 2), 0.5) as tf.Tensor4D;
        const g = normal([4], "bn gamma"), b = normal([4], "bn beta");
        const r = normal(x.shape, "bn r");
        const stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D } = {};
        out.push(batchNormTrain(x, g as tf.Tensor1D, b as tf.Tensor1D, { activation, stats }));
        out.push(stats.mean!, stats.variance!);
        out.push(
          ...tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
            tf.sum(tf.mul(
              batchNormTrain(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, {
                activation,
              }),
              r,
            ))
          )([x, g, b]),
        );
      }
      return out;
    });
  },
);

/** Small versions of the seed's nets: every kind of layer, a few channels. */
interface Params {
  [name: string]: tf.Tensor;
}

const PAD1: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];
const PAD3: tf.backend_util.ExplicitPadding = [[0, 0], [3, 3], [3, 3], [0, 0]];

function makeParams(seed: string): { g: Params; d: Params } {
  const w = (shape: number[], name: string) => normal(shape, `${seed} ${name}`, 0.3);
  const g: Params = {
    c1: w([7, 7, 1, 4], "c1"),
    c2: w([4, 4, 4, 6], "c2"),
    merge: w([3, 3, 6 + 3, 6], "merge"),
    r1: w([3, 3, 6, 6], "r1"),
    r2: w([3, 3, 6, 6], "r2"),
    up1: w([4, 4, 4, 6], "up1"),
    up2: w([7, 7, 1, 4], "up2"),
  };
  for (
    const [name, ch] of [["c1", 4], ["c2", 6], ["merge", 6], ["r1", 6], ["r2", 6], [
      "up1",
      4,
    ]] as const
  ) {
    g[`${name}.gamma`] = tf.add(1, w([ch], `${name}.gamma`));
    g[`${name}.beta`] = w([ch], `${name}.beta`);
  }
  const d: Params = {
    d1: w([4, 4, 1, 4], "d1"),
    d2: w([4, 4, 4, 8], "d2"),
    adv: w([3, 3, 8, 1], "adv"),
    cls: w([4, 4, 8, 2], "cls"),
  };
  return { g, d };
}

function bn(x: tf.Tensor4D, p: Params, name: string): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(
    x,
    mean,
    variance,
    p[`${name}.beta`]!,
    p[`${name}.gamma`]!,
    1e-5,
  ) as tf.Tensor4D;
}

/** G: [B, 16, 16, 1] spectrogram and [B, 3] labels to [B, 16, 16, 1] in (0, 1). */
function generator(p: Params, x: tf.Tensor4D, c: tf.Tensor2D): tf.Tensor4D {
  let h = tf.relu(bn(tf.conv2d(x, p.c1 as tf.Tensor4D, 1, PAD3), p, "c1")); // [B, 16, 16, 4]
  h = tf.relu(bn(tf.conv2d(h, p.c2 as tf.Tensor4D, 2, PAD1), p, "c2")); // [B, 8, 8, 6]
  const [b, hh, ww] = h.shape;
  const labels = tf.tile(tf.reshape(c, [b, 1, 1, c.shape[1]]), [1, hh, ww, 1]);
  h = tf.concat([h, labels], 3) as tf.Tensor4D; // [B, 8, 8, 9]
  h = tf.relu(bn(tf.conv2d(h, p.merge as tf.Tensor4D, 1, PAD1), p, "merge"));
  const r = tf.relu(bn(tf.conv2d(h, p.r1 as tf.Tensor4D, 1, PAD1), p, "r1"));
  h = tf.add(h, bn(tf.conv2d(r, p.r2 as tf.Tensor4D, 1, PAD1), p, "r2"));
  h = tf.relu(
    bn(tf.conv2dTranspose(h, p.up1 as tf.Tensor4D, [b, 16, 16, 4], 2, PAD1 as never), p, "up1"),
  );
  return tf.sigmoid(tf.conv2dTranspose(h, p.up2 as tf.Tensor4D, [b, 16, 16, 1], 1, PAD3 as never));
}

/** D: adversarial score [B] and class logits [B, 2]. */
function discriminator(p: Params, x: tf.Tensor4D): { adv: tf.Tensor1D; cls: tf.Tensor2D } {
  let h = tf.leakyRelu(tf.conv2d(x, p.d1 as tf.Tensor4D, 2, PAD1), 0.2); // [B, 8, 8, 4]
  h = tf.leakyRelu(tf.conv2d(h, p.d2 as tf.Tensor4D, 2, PAD1), 0.2); // [B, 4, 4, 8]
  const adv = tf.mean(tf.conv2d(h, p.adv as tf.Tensor4D, 1, PAD1), [1, 2, 3]) as tf.Tensor1D;
  const cls = tf.reshape(tf.conv2d(h, p.cls as tf.Tensor4D, 1, "valid"), [x.shape[0], 2]);
  return { adv, cls: cls as tf.Tensor2D };
}

/** WGAN-GP critic loss plus classification on real: its gradient differentiates through D's input gradient. */
function criticLoss(d: Params, real: tf.Tensor4D, fake: tf.Tensor4D, eps: tf.Tensor): tf.Scalar {
  const xhat = tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake)) as tf.Tensor4D;
  const gradX = tf.grad((xx: tf.Tensor) => tf.sum(discriminator(d, xx as tf.Tensor4D).adv))(xhat);
  const norm = tf.sqrt(tf.add(tf.sum(tf.square(gradX), [1, 2, 3]), 1e-12));
  const gp = tf.mean(tf.square(tf.sub(norm, 1)));
  const onReal = discriminator(d, real);
  const w = tf.sub(tf.mean(discriminator(d, fake).adv), tf.mean(onReal.adv));
  const cls = tf.losses.sigmoidCrossEntropy(tf.tensor2d([0, 1, 1, 0], [2, 2]), onReal.cls);
  return tf.add(tf.add(w, tf.mul(10, gp)), cls) as tf.Scalar;
}

function netInputs(seed: string) {
  const rng = new Rng(seed);
  const real = tf.tensor4d(rng.uniformArray(2 * 16 * 16), [2, 16, 16, 1]);
  const x = tf.tensor4d(rng.uniformArray(2 * 16 * 16), [2, 16, 16, 1]);
  const c = tf.tensor2d([1, 0, 1, 0, 1, 0], [2, 3]);
  const eps = tf.tensor4d(rng.uniformArray(2), [2, 1, 1, 1]);
  return { real, x, c, eps };
}

testOnBackends(
  "small G and D: forward, backward and gradient-penalty gradients match cpu",
  async (backend) => {
    await compareBackends(backend, "nets", () => {
      const { g, d } = makeParams("nets");
      const { real, x, c, eps } = netInputs("nets");
      const gNames = Object.keys(g), dNames = Object.keys(d);
      const fake = generator(g, x, c);
      const out = discriminator(d, fake);
      // Generator step: adversarial + classification + reconstruction.
      const gGrads = tf.grads((...ws: tf.Tensor[]) => {
        const gp: Params = Object.fromEntries(gNames.map((n, i) => [n, ws[i]!]));
        const f = generator(gp, x, c);
        const o = discriminator(d, f);
        const cls = tf.losses.sigmoidCrossEntropy(tf.tensor2d([1, 0, 0, 1], [2, 2]), o.cls);
        const rec = tf.losses.meanSquaredError(x, generator(gp, f, c));
        return tf.add(tf.add(tf.neg(tf.mean(o.adv)), cls), tf.mul(10, rec)) as tf.Scalar;
      })(gNames.map((n) => g[n]!));
      // Critic step with the gradient penalty (second order through D).
      const dGrads = tf.grads((...ws: tf.Tensor[]) =>
        criticLoss(Object.fromEntries(dNames.map((n, i) => [n, ws[i]!])), real, fake, eps)
      )(dNames.map((n) => d[n]!));
      return [fake, out.adv, out.cls, ...gGrads, ...dGrads];
    });
  },
);

testOnBackends("training steps keep tensors and backend buffers flat", async (backend) => {
  await useBackend(backend);
  const { g, d } = makeParams("flat");
  const gv = Object.fromEntries(Object.entries(g).map(([n, t]) => [n, tf.variable(t)]));
  const dv = Object.fromEntries(Object.entries(d).map(([n, t]) => [n, tf.variable(t)]));
  tf.dispose([...Object.values(g), ...Object.values(d)]);
  const { real, x, c, eps } = netInputs("flat");
  const optG = tf.train.rmsprop(1e-4), optD = tf.train.rmsprop(1e-4);
  const step = () => {
    optD.minimize(() => criticLoss(dv, real, tf.tidy(() => generator(gv, x, c)), eps));
    optG.minimize(() => tf.neg(tf.mean(discriminator(dv, generator(gv, x, c)).adv)) as tf.Scalar);
  };
  try {
    step(); // optimiser slots are created here
    const tensors = tf.memory().numTensors, buffers = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) step();
    equal(tf.memory().numTensors, tensors, "tensors leak across training steps");
    equal(tf.backend().numDataIds(), buffers, `${backend} buffers leak across training steps`);
  } finally {
    optG.dispose();
    optD.dispose();
    tf.dispose([...Object.values(gv), ...Object.values(dv), real, x, c, eps]);
  }
});

/** voxlab's own G and D at toy size, with RMSprop, from fixed seeds. */
function voxlabParts(): GanParts {
  const size = { height: 16, width: 16 };
  const generator = new Generator({ ...size, widths: [2, 4, 8], resBlocks: 1, nIn: 3 }, {
    rng: new Rng(5),
  });
  const discriminator = new Discriminator(
    { ...size, widths: [2, 4, 8], featureLayer: 2, nOut: 3 },
    { rng: new Rng(6) },
  );
  return {
    generator,
    discriminator,
    generatorOptimizer: new RMSprop(generator.trainableVariables, { learningRate: 1e-3 }),
    discriminatorOptimizer: new RMSprop(discriminator.trainableVariables, { learningRate: 1e-3 }),
  };
}

/** One GAN iteration (2 critic updates with the gradient penalty, 1 generator update). */
function voxlabStep(): { losses: number[]; weights: Float32Array[] } {
  const parts = voxlabParts();
  const rng = new Rng(7);
  const batch = () => ({
    xA: tf.tensor4d(rng.uniformArray(2 * 256), [2, 16, 16, 1]),
    cA: tf.tensor2d([[1, 0, 0], [0, 1, 0]]),
    xB: tf.tensor4d(rng.uniformArray(2 * 256), [2, 16, 16, 1]),
    cB: tf.tensor2d([[0, 0, 1], [1, 0, 0]]),
    yB: tf.tensor2d([[-1, 0, 1], [1, 0, -1]]),
  });
  try {
    const result = ganStep(parts, batch, {
      nCritic: 2,
      criticTerms: criticTerms(termWeights(base.losses.critic)),
      generatorTerms: generatorTerms(termWeights(base.losses.generator)),
      rng: new Rng(8),
    });
    const losses = [...result.critic.map((c) => c.total), result.generator.total];
    const weights = [
      ...Object.values(parts.generator.getWeights()),
      ...Object.values(parts.discriminator.getWeights()),
    ];
    return { losses, weights };
  } finally {
    parts.generator.dispose();
    parts.discriminator.dispose();
    parts.generatorOptimizer.dispose();
    parts.discriminatorOptimizer.dispose();
  }
}

testOnBackends(
  "one voxlab training iteration matches cpu (losses and updated weights)",
  async (backend) => {
    await tf.setBackend("cpu");
    const expected = voxlabStep();
    await useBackend(backend);
    const actual = voxlabStep();
    closeTo(
      Float32Array.from(actual.losses),
      Float32Array.from(expected.losses),
      "losses",
      1e-3,
    );
    equal(actual.weights.length, expected.weights.length);
    // RMSprop divides by the gradient's running RMS, so one step moves every weight by about lr
    // whatever the rounding; the weights agree to a fraction of that step.
    actual.weights.forEach((w, i) => closeTo(w, expected.weights[i]!, `weights ${i}`, 1e-3));
  },
);

Deno.test("registerWasmKernels is idempotent and replaces the package's kernels", async () => {
  await useBackend("wasm");
  registerWasmKernels();
  registerWasmKernels();
  ok(wasmKernelsRegistered());
  ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
});
