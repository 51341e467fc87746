import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { initBackend, Rng, tf } from "../mod.ts";
import { Discriminator, Generator } from "../lib/model/mod.ts";
import { weightUntil } from "../lib/schedule/mod.ts";
import {
  Adam,
  createOptimizer,
  criticGradients,
  criticTerms,
  type GanBatch,
  type GanParts,
  ganStep,
  generatorGradients,
  generatorTerms,
  leanVariableGrads,
  RMSprop,
} from "../lib/train/mod.ts";
import { gradientPenalty } from "../lib/loss/mod.ts";
import { termWeights } from "../lib/runs/primitives.ts";
import base from "../experiments/47c97768.ts";

/** The base experiment's loss weights by term. */
const BASE_GENERATOR_WEIGHTS = termWeights(base.losses.generator);
const BASE_CRITIC_WEIGHTS = termWeights(base.losses.critic);

await initBackend({ backend: "cpu", quiet: true });

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function close(a: number, b: number, tol: number, what = ""): void {
  ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);
}

Deno.test("RMSprop: hand-computed steps, eps outside the square root, zero gradient", () => {
  const p = tf.variable(tf.tensor1d([1, -2, 0.5]));
  const opt = new RMSprop({ p }, { learningRate: 0.01 });
  const g1 = [0.5, -1e-6, 0];
  const g2 = [-0.25, 3, 0];
  opt.applyGradients({ p: tf.tensor1d(g1) });
  opt.applyGradients({ p: tf.tensor1d(g2) });
  const expected = [1, -2, 0.5].map((p0, i) => {
    let v = 0, w = p0;
    for (const g of [g1[i]!, g2[i]!]) {
      v = 0.99 * v + 0.01 * g * g;
      w -= 0.01 * g / (Math.sqrt(v) + 1e-8);
    }
    return w;
  });
  ok(maxAbsDiff(p.dataSync(), expected) < 1e-5, `${p.dataSync()} vs ${expected}`);
  // After g = −1e-6 the first step moves by lr·1e-6/(1e-7 + 1e-8) ≈ 9.09·lr; with ε inside
  // the root (tfjs) it would move by ~0.01·lr. The expected value above encodes ε outside.
  const q = tf.variable(tf.scalar(0));
  const o2 = new RMSprop({ q }, { learningRate: 1 });
  o2.applyGradients({ q: tf.scalar(-1e-6) });
  close(q.dataSync()[0]!, 1e-6 / (Math.sqrt(0.01) * 1e-6 + 1e-8), 1e-4, "tiny-gradient step");
  equal(p.dataSync()[2], 0.5, "a zero gradient leaves the weight unchanged (no NaN)");
  equal(opt.iterations, 2);
  throws(() => opt.applyGradients({ r: tf.scalar(1) }), /unknown variable 'r'/);
  throws(
    () => opt.applyGradients({ p: tf.tensor1d([1, 2]) }),
    /'p' has gradient \[2\] for variable \[3\]/,
  );
  // A bad gradient for one variable leaves the others and the step count untouched.
  const a = tf.variable(tf.scalar(1)), z = tf.variable(tf.tensor1d([1, 2]));
  const o3 = new RMSprop({ a, z }, { learningRate: 0.1 });
  throws(() => o3.applyGradients({ a: tf.scalar(1), z: tf.scalar(1) }), /'z' has gradient/);
  equal(a.dataSync()[0], 1);
  equal(o3.iterations, 0);
  o3.dispose();
  tf.dispose([a, z]);
  tf.dispose([p, q]);
  opt.dispose();
  o2.dispose();
});

Deno.test("Adam: hand-computed steps with bias correction", () => {
  const p = tf.variable(tf.tensor1d([1, -1]));
  const opt = new Adam({ p }, { learningRate: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  const gs = [[0.3, -2], [0.1, 1]];
  for (const g of gs) opt.applyGradients({ p: tf.tensor1d(g) });
  const expected = [1, -1].map((p0, i) => {
    let m = 0, v = 0, w = p0;
    gs.forEach((g, k) => {
      const t = k + 1;
      m = 0.9 * m + 0.1 * g[i]!;
      v = 0.999 * v + 0.001 * g[i]! ** 2;
      w -= 0.1 * (m / (1 - 0.9 ** t)) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
    });
    return w;
  });
  ok(maxAbsDiff(p.dataSync(), expected) < 1e-5, `${p.dataSync()} vs ${expected}`);
  p.dispose();
  opt.dispose();
});

Deno.test("optimizers: learning rate settable between steps; state round-trips", () => {
  for (const kind of ["rmsprop", "adam"] as const) {
    const a = tf.variable(tf.tensor1d([1, 2, 3]));
    const b = tf.variable(tf.tensor1d([1, 2, 3]));
    const optA = createOptimizer({ w: a }, { kind, learningRate: 0.1 });
    optA.applyGradients({ w: tf.tensor1d([1, -1, 0.5]) });
    optA.learningRate = 0.05;
    optA.applyGradients({ w: tf.tensor1d([0.2, 0.3, -0.4]) });
    // A fresh optimizer on a copy of the weights, given A's state, continues identically.
    b.assign(a);
    const optB = createOptimizer({ w: b }, { kind, learningRate: 0.7 });
    const state = JSON.parse(JSON.stringify(optA.getState().config));
    optB.setState({ config: state, slots: optA.getState().slots });
    equal(optB.learningRate, 0.05);
    equal(optB.iterations, 2);
    optA.applyGradients({ w: tf.tensor1d([0.3, 0.3, 0.3]) });
    optB.applyGradients({ w: tf.tensor1d([0.3, 0.3, 0.3]) });
    equal(maxAbsDiff(a.dataSync(), b.dataSync()), 0, kind);
    // The second step used lr 0.05: replaying with lr 0.1 throughout gives different weights.
    const c = tf.variable(tf.tensor1d([1, 2, 3]));
    const optC = createOptimizer({ w: c }, { kind, learningRate: 0.1 });
    optC.applyGradients({ w: tf.tensor1d([1, -1, 0.5]) });
    optC.applyGradients({ w: tf.tensor1d([0.2, 0.3, -0.4]) });
    optC.applyGradients({ w: tf.tensor1d([0.3, 0.3, 0.3]) });
    ok(maxAbsDiff(a.dataSync(), c.dataSync()) > 1e-4);
    throws(
      () =>
        optB.setState({
          ...optA.getState(),
          config: { ...state, kind: kind === "adam" ? "rmsprop" : "adam" },
        }),
      /expected kind/,
    );
    throws(() => optB.setState({ config: state, slots: {} }), /missing slot 'w\//);
    [optA, optB, optC].forEach((o) => o.dispose());
    tf.dispose([a, b, c]);
  }
  throws(() => createOptimizer({}, { kind: "sgd" as never }), /unknown kind 'sgd'/);
  throws(() => new RMSprop({}, { alpha: 1 }), /alpha must be in \[0, 1\), got 1/);
});

// ---- GAN step on small models ----

const G_CONFIG = { height: 16, width: 16, widths: [2, 4, 8], resBlocks: 1, nIn: 6 };
const D_CONFIG = { height: 16, width: 16, widths: [2, 4, 8], featureLayer: 2, nOut: 5 };

function makeParts(seed: number): GanParts {
  const generator = new Generator(G_CONFIG, { rng: new Rng(seed) });
  const discriminator = new Discriminator(D_CONFIG, { rng: new Rng(seed + 1) });
  return {
    generator,
    discriminator,
    generatorOptimizer: new RMSprop(generator.trainableVariables, { learningRate: 1e-3 }),
    discriminatorOptimizer: new RMSprop(discriminator.trainableVariables, { learningRate: 1e-3 }),
  };
}

function disposeParts(p: GanParts): void {
  p.generator.dispose();
  p.discriminator.dispose();
  p.generatorOptimizer.dispose();
  p.discriminatorOptimizer.dispose();
}

/** A batch source drawing fresh tensors from a seeded Rng. */
function batchSource(seed: number): () => GanBatch {
  const rng = new Rng(seed);
  const labels = (n: number, values: number[]) =>
    tf.tensor2d(Array.from({ length: 2 * n }, () => values[rng.int(values.length)]!), [2, n]);
  return () => ({
    xA: tf.tensor4d(rng.uniformArray(2 * 256), [2, 16, 16, 1]),
    cA: labels(6, [0, 1]),
    xB: tf.tensor4d(rng.uniformArray(2 * 256), [2, 16, 16, 1]),
    cB: labels(6, [0, 1]),
    yB: labels(5, [-1, 0, 1]),
  });
}

Deno.test("GAN step: seed wiring, per-term values, numTensors flat across iterations", () => {
  const parts = makeParts(1);
  const next = batchSource(2);
  const options = {
    generatorTerms: generatorTerms(BASE_GENERATOR_WEIGHTS),
    criticTerms: criticTerms(BASE_CRITIC_WEIGHTS),
    nCritic: 5,
    rng: new Rng(3),
  };
  const gBefore = parts.generator.getWeights();
  const first = ganStep(parts, next, options);
  equal(first.critic.length, 5);
  deepEqual(Object.keys(first.critic[0]!.values), [
    "adversarial",
    "gradientPenalty",
    "classification",
  ]);
  deepEqual(Object.keys(first.generator.values), Object.keys(BASE_GENERATOR_WEIGHTS));
  for (const phase of [...first.critic, first.generator]) {
    let total = 0;
    for (const [name, v] of Object.entries(phase.values)) {
      ok(Number.isFinite(v), name);
      total += v * phase.weights[name]!;
    }
    close(phase.total, total, 1e-4, "total = Σ weight·value");
  }
  ok(
    maxAbsDiff(
      gBefore["res1/conv1/conv/kernel"]!,
      parts.generator.getWeights()["res1/conv1/conv/kernel"]!,
    ) > 0,
  );
  const n1 = tf.memory().numTensors;
  for (let i = 1; i < 4; i++) ganStep(parts, next, { ...options, iteration: i });
  equal(tf.memory().numTensors, n1, "no tensor leaks across iterations");
  disposeParts(parts);
});

Deno.test("GAN step: a removed or zero-weight term is never computed", () => {
  const parts = makeParts(4);
  let calls = 0;
  const apply = parts.generator.apply.bind(parts.generator);
  parts.generator.apply = (x, c, o) => {
    calls++;
    return apply(x, c, o);
  };
  const run = (weights: Record<string, number | ((t: number) => number)>, iteration = 0) => {
    calls = 0;
    const r = ganStep(parts, batchSource(5), {
      generatorTerms: generatorTerms(weights),
      criticTerms: criticTerms(BASE_CRITIC_WEIGHTS),
      nCritic: 1,
      iteration,
    });
    return { r, calls };
  };
  // Critic: 1 fake. Generator: fake + reconstruction (+ identity when present).
  const withId = run(BASE_GENERATOR_WEIGHTS);
  equal(withId.calls, 1 + 3);
  const { identity: _, ...noIdentity } = BASE_GENERATOR_WEIGHTS;
  const withoutId = run(noIdentity);
  equal(withoutId.calls, 1 + 2);
  equal("identity" in withoutId.r.generator.values, false);
  equal(run({ ...BASE_GENERATOR_WEIGHTS, identity: 0 }).calls, 1 + 2);
  // A schedule: identity on for the first iteration only.
  const scheduled = { ...BASE_GENERATOR_WEIGHTS, identity: weightUntil(1, 5) };
  equal(run(scheduled, 0).calls, 1 + 3);
  equal(run(scheduled, 1).calls, 1 + 2);
  // Adversarial alone needs no reconstruction.
  equal(run({ adversarial: 1 }).calls, 1 + 1);
  throws(() => generatorTerms({ cycle: 1 }), /unknown term 'cycle', expected one of adversarial/);
  disposeParts(parts);
});

Deno.test("generator gradient of a weighted sum is the weighted sum of term gradients", () => {
  const parts = makeParts(6);
  const batch = batchSource(7)();
  const grad = (weights: Record<string, number>) =>
    generatorGradients(parts, batch, { terms: generatorTerms(weights) });
  const both = grad({ adversarial: 1, reconstruction: 10, featureMatching: 10 });
  const adv = grad({ adversarial: 1 });
  const rec = grad({ reconstruction: 1 });
  const fm = grad({ featureMatching: 1 });
  const name = "down1/conv/kernel";
  const expected = tf.tidy(() =>
    tf.addN([adv.grads[name]!, tf.mul(rec.grads[name]!, 10), tf.mul(fm.grads[name]!, 10)])
      .dataSync()
  );
  const scale = Math.max(...expected.map(Math.abs));
  ok(scale > 0);
  ok(maxAbsDiff(both.grads[name]!.dataSync(), expected) < 1e-4 * scale);
  close(both.values.reconstruction!, rec.values.reconstruction!, 1e-6);
  // Every generator weight is on the adversarial term's path, so each gets a gradient.
  equal(Object.keys(adv.grads).length, Object.keys(parts.generator.trainableVariables).length);
  for (const r of [both, adv, rec, fm]) tf.dispose(Object.values(r.grads));
  tf.dispose(Object.values(batch));
  disposeParts(parts);
});

Deno.test("L1 terms: reconstructionL1 and identityL1 are the mean absolute errors of G's outputs", () => {
  const parts = makeParts(12);
  const batch = batchSource(13)();
  const g = (x: tf.Tensor4D, c: tf.Tensor2D) =>
    parts.generator.apply(x, c, { training: true }) as tf.Tensor4D;
  // Independently: G(G(x_A, c_B), c_A) and G(x_A, c_A), compared with x_A elementwise on the host.
  const mean = (y: tf.Tensor4D, f: (d: number) => number) => {
    const a = y.dataSync(), x = batch.xA.dataSync();
    let s = 0;
    for (let i = 0; i < a.length; i++) s += f(a[i]! - x[i]!);
    return s / a.length;
  };
  const before = parts.generator.getWeights();
  const recon = tf.tidy(() => g(g(batch.xA, batch.cB), batch.cA));
  const ident = tf.tidy(() => g(batch.xA, batch.cA));
  parts.generator.setWeights(before); // undo the BatchNorm running-statistics updates
  const r = generatorGradients(parts, batch, {
    terms: generatorTerms({ reconstruction: 1, reconstructionL1: 1, identity: 1, identityL1: 1 }),
  });
  close(r.values.reconstructionL1!, mean(recon, Math.abs), 1e-5, "reconstructionL1");
  close(r.values.reconstruction!, mean(recon, (d) => d * d), 1e-5, "reconstruction");
  close(r.values.identityL1!, mean(ident, Math.abs), 1e-5, "identityL1");
  close(r.values.identity!, mean(ident, (d) => d * d), 1e-5, "identity");
  ok(r.values.reconstructionL1! > r.values.reconstruction!, "|d| > d² for errors below 1");
  tf.dispose([recon, ident, ...Object.values(r.grads), ...Object.values(batch)]);
  disposeParts(parts);
});

Deno.test("critic update applies exactly the critic gradient; G is untouched", () => {
  const parts = makeParts(8);
  const batch = batchSource(9)();
  const terms = criticTerms(BASE_CRITIC_WEIGHTS);
  // Reference gradient with the same ε draws (same Rng seed), before any update.
  const gBefore = parts.generator.getWeights();
  const dBefore = parts.discriminator.getWeights();
  const ref = criticGradients(parts, batch, { terms, rng: new Rng(10) });
  // Undo the BatchNorm running-stat update of the reference pass so both start equal.
  parts.generator.setWeights(gBefore);
  const result = ganStep(parts, batch, {
    generatorTerms: [],
    criticTerms: terms,
    nCritic: 1,
    rng: new Rng(10),
  });
  close(result.critic[0]!.total, ref.total, 1e-5, "critic loss");
  const lr = 1e-3;
  const name = "conv2/conv/kernel";
  const g = ref.grads[name]!.dataSync();
  const expected = dBefore[name]!.map((w, i) =>
    w - lr * g[i]! / (Math.sqrt(0.01 * g[i]! ** 2) + 1e-8)
  );
  ok(maxAbsDiff(parts.discriminator.getWeights()[name]!, expected) < 1e-6);
  // The generator's trainable weights did not move (its running stats may).
  for (const key of Object.keys(parts.generator.trainableVariables)) {
    equal(maxAbsDiff(parts.generator.getWeights()[key]!, gBefore[key]!), 0, key);
  }
  deepEqual(result.generator.values, {});
  tf.dispose(Object.values(ref.grads));
  tf.dispose(Object.values(batch));
  disposeParts(parts);
});

Deno.test("leanVariableGrads equals tf.variableGrads (incl. a gradient penalty) and leaks nothing", () => {
  const parts = makeParts(11);
  const batch = batchSource(12)();
  const models = { generator: parts.generator, discriminator: parts.discriminator };
  const cases: [string, () => tf.Scalar, tf.Variable[]][] = [
    ["generator", () => {
      const fake = models.generator.apply(batch.xA, batch.cB, { training: true });
      const rec = models.generator.apply(fake, batch.cA, { training: true });
      const d = models.discriminator.apply(fake);
      return tf.addN([
        tf.neg(tf.mean(d.adv)),
        tf.mul(tf.mean(tf.squaredDifference(rec, batch.xA)), 10),
      ]) as tf.Scalar;
    }, Object.values(models.generator.trainableVariables)],
    ["critic", () =>
      tf.add(
        tf.mean(models.discriminator.score(batch.xB)),
        gradientPenalty((x) => models.discriminator.score(x), batch.xB, batch.xA, {
          epsilon: [0.3, 0.6],
        }),
      ) as tf.Scalar, Object.values(models.discriminator.trainableVariables)],
  ];
  for (const [what, f, vars] of cases) {
    // BatchNorm running statistics change with every training-mode pass, but the
    // gradients depend only on batch statistics.
    const n0 = tf.memory().numTensors;
    const lean = leanVariableGrads(f, vars);
    const ref = tf.variableGrads(f, vars);
    deepEqual(Object.keys(lean.grads).sort(), Object.keys(ref.grads).sort(), what);
    equal(lean.value.dataSync()[0], ref.value.dataSync()[0], what);
    for (const k of Object.keys(ref.grads)) {
      const scale = Math.max(1e-6, ...ref.grads[k]!.dataSync().map(Math.abs));
      ok(
        maxAbsDiff(lean.grads[k]!.dataSync(), ref.grads[k]!.dataSync()) <= 1e-5 * scale,
        `${what} ${k}`,
      );
    }
    tf.dispose([lean.value, ref.value, ...Object.values(lean.grads), ...Object.values(ref.grads)]);
    equal(tf.memory().numTensors, n0, `${what}: no tensors left behind`);
  }
  tf.dispose(Object.values(batch));
  disposeParts(parts);
});

Deno.test("leanVariableGrads: a non-scalar value or a failing gradient leaks nothing", () => {
  const w = tf.variable(tf.tensor1d([1, 2]));
  const n0 = tf.memory().numTensors;
  throws(() => leanVariableGrads(() => tf.square(w) as never, [w]), /must return a scalar/);
  equal(tf.memory().numTensors, n0, "non-scalar value");
  const failing = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.sum(args[0] as tf.Tensor),
    gradFunc: () => {
      throw new RangeError("no gradient here");
    },
  }));
  throws(
    () => leanVariableGrads(() => failing(tf.square(w)) as tf.Scalar, [w]),
    /no gradient here/,
  );
  equal(tf.memory().numTensors, n0, "failing gradient");
  // The engine is left clean: a later call works.
  const { value, grads } = leanVariableGrads(() => tf.sum(tf.square(w)), [w]);
  deepEqual([...grads[w.name]!.dataSync()], [2, 4]);
  tf.dispose([value, w, ...Object.values(grads)]);
});

Deno.test({
  name: "wasm backend matches cpu: G/D outputs, generator and critic (GP) gradients",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const parts = makeParts(13);
    const batch = batchSource(14)();
    const arrays = Object.fromEntries(
      Object.entries(batch).map(([k, t]) => [k, { data: t.dataSync().slice(), shape: t.shape }]),
    );
    tf.dispose(Object.values(batch));
    const run = () => {
      const b = Object.fromEntries(
        Object.entries(arrays).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]),
      ) as unknown as GanBatch;
      const fake = tf.tidy(() =>
        parts.generator.apply(b.xA, b.cB, { training: true }).dataSync().slice()
      );
      const dOut = parts.discriminator.apply(b.xB);
      const cls = dOut.cls.dataSync().slice();
      tf.dispose([dOut.adv, dOut.cls, dOut.features]);
      const g = generatorGradients(parts, b, { terms: generatorTerms(BASE_GENERATOR_WEIGHTS) });
      const c = criticGradients(parts, b, {
        terms: criticTerms(BASE_CRITIC_WEIGHTS),
        rng: new Rng(1),
      });
      const read = (r: typeof g) =>
        Object.fromEntries(Object.entries(r.grads).map(([k, t]) => [k, t.dataSync().slice()]));
      const out = { fake, cls, g: read(g), c: read(c), gTotal: g.total, cTotal: c.total };
      tf.dispose([...Object.values(g.grads), ...Object.values(c.grads), ...Object.values(b)]);
      return out;
    };
    const cpu = run();
    await initBackend({ backend: "wasm", quiet: true });
    try {
      const wasm = run();
      ok(maxAbsDiff(cpu.fake, wasm.fake) < 1e-4, "G(x, c)");
      ok(maxAbsDiff(cpu.cls, wasm.cls) < 1e-4, "D cls");
      close(wasm.gTotal, cpu.gTotal, 1e-4, "generator loss");
      close(wasm.cTotal, cpu.cTotal, 1e-4, "critic loss");
      for (const [side, ref, got] of [["G", cpu.g, wasm.g], ["D", cpu.c, wasm.c]] as const) {
        deepEqual(Object.keys(got).sort(), Object.keys(ref).sort());
        for (const k of Object.keys(ref)) {
          const scale = Math.max(1e-3, ...ref[k]!.map(Math.abs));
          ok(maxAbsDiff(got[k]!, ref[k]!) <= 2e-3 * scale, `${side} ${k}`);
        }
      }
    } finally {
      await initBackend({ backend: "cpu", quiet: true });
      disposeParts(parts);
    }
  },
});

Deno.test("GAN step: a failing or non-scalar term is reported and leaks nothing", () => {
  const parts = makeParts(15);
  const batch = batchSource(16)();
  const n0 = tf.memory().numTensors;
  const terms = (fn: () => tf.Scalar) => [
    ...generatorTerms({ reconstruction: 1 }),
    { name: "broken", weight: 1, fn },
  ];
  throws(
    () => generatorGradients(parts, batch, { terms: terms(() => tf.ones([2]) as never) }),
    /term 'broken' did not return a scalar/,
  );
  throws(
    () =>
      generatorGradients(parts, batch, {
        terms: terms(() => {
          throw new RangeError("bad term");
        }),
      }),
    /bad term/,
  );
  equal(tf.memory().numTensors, n0);
  // A size-1 term of rank 1 counts as a scalar: weighted, summed and reported.
  const r = generatorGradients(parts, batch, {
    terms: terms(() => tf.ones([1]) as never).map((t) => ({ ...t, weight: 2 })),
  });
  equal(r.values.broken, 1);
  close(r.total, 2 * r.values.reconstruction! + 2, 1e-6, "total with a [1]-shaped term");
  tf.dispose(Object.values(r.grads));
  equal(tf.memory().numTensors, n0);
  throws(
    () => ganStep(parts, batch, { generatorTerms: [], criticTerms: [], nCritic: -1 }),
    /nCritic must be an integer >= 0, got -1/,
  );
  throws(
    () =>
      ganStep(parts, batch, {
        generatorTerms: [...generatorTerms({ identity: 1 }), ...generatorTerms({ identity: 1 })],
        criticTerms: [],
      }),
    /duplicate generator term 'identity'/,
  );
  tf.dispose(Object.values(batch));
  disposeParts(parts);
});
