import { deepEqual, equal, match, ok } from "node:assert/strict";
import { initBackend, tf } from "../mod.ts";
import { YAML } from "../lib/deps.ts";
import { applyOverrides, diff, type Experiment, formatDiff } from "../lib/experiment/mod.ts";
import { buildTrainer, loadExperimentData, type Trainer } from "../lib/runs/trainer.ts";
import { toTensors } from "../lib/data/batches.ts";
import { generatorGradients } from "../lib/train/step.ts";
import { readCheckpoint } from "../lib/train/checkpoint.ts";
import { readMetrics } from "../lib/train/metrics.ts";
import { main as diffMain } from "../tasks/diff.ts";
import { main as trainMain } from "../tasks/train.ts";
import base from "../experiments/47c97768.ts";
import ablation from "../experiments/9ada9179.ts";
import ref64 from "../experiments/ref64.ts";
import ref64NoId from "../experiments/ref64-noid.ts";
import ref64L1 from "../experiments/ref64-l1.ts";
import { captured } from "./capture.ts";
import { TINY_SET, tinyTrainArgs, writeTinyCorpus } from "./tiny_corpus.ts";

await initBackend({ backend: "cpu", quiet: true });
const manifest = await writeTinyCorpus();
const corpusDir = manifest.slice(0, manifest.lastIndexOf("/"));
/** The YAML front matter of a Markdown document. */
function frontMatter(text: string): Record<string, unknown> {
  const m = text.match(/^---\n([\s\S]*?)\n---\n/);
  ok(m, "no front matter");
  return YAML.parse(m[1]!);
}
const tiny = (exp: Experiment) => applyOverrides(exp, [...TINY_SET, `data.dataset=${manifest}`]);

Deno.test("9ada9179 differs from 47c97768 by exactly the identity term", async () => {
  deepEqual(diff(base, ablation), [{
    path: "losses.generator.identity",
    a: { weight: 5 },
    b: undefined,
  }]);
  equal(ablation.meta.base, "47c97768");
  const { value: code, out } = await captured(() =>
    diffMain(["experiments/47c97768.ts", "experiments/9ada9179.ts"])
  );
  equal(code, 0);
  equal(out, 'losses.generator.identity: {"weight":5} -> (absent)\n');
  equal(formatDiff(diff(base, base)), "no differences");
});

Deno.test("the reference recipe's ablations differ from it by exactly what their names say", () => {
  // ref64-noid: the identity term removed, nothing else.
  deepEqual(diff(ref64, ref64NoId), [{
    path: "losses.generator.identity",
    a: { weight: 5 },
    b: undefined,
  }]);
  equal(ref64NoId.meta.base, "ref64");
  // ref64-l1: each MSE term replaced by its L1 namesake at the same weight.
  deepEqual(
    diff(ref64, ref64L1).sort((x, y) => x.path.localeCompare(y.path)),
    [
      { path: "losses.generator.identity", a: { weight: 5 }, b: undefined },
      { path: "losses.generator.identityL1", a: undefined, b: { weight: 5 } },
      { path: "losses.generator.reconstruction", a: { weight: 10 }, b: undefined },
      { path: "losses.generator.reconstructionL1", a: undefined, b: { weight: 10 } },
    ],
  );
  equal(ref64L1.meta.base, "ref64");
  deepEqual([ref64.meta.id, ref64NoId.meta.id, ref64L1.meta.id], [
    "ref64",
    "ref64-noid",
    "ref64-l1",
  ]);
});

Deno.test("same seed: both experiments start from identical weights and see identical batches", async () => {
  const a = tiny(base), b = tiny(ablation);
  const dataset = await loadExperimentData(a, { cacheDir: null, progress: false });
  const ta = buildTrainer(a, dataset), tb = buildTrainer(b, dataset);
  const other = buildTrainer(applyOverrides(a, ["trainer.seed=1"]), dataset);
  try {
    const same = (x: Record<string, Float32Array>, y: Record<string, Float32Array>) =>
      Object.keys(x).length === Object.keys(y).length &&
      Object.entries(x).every(([k, v]) => y[k] !== undefined && v.every((e, i) => e === y[k]![i]));
    ok(same(ta.generator.getWeights(), tb.generator.getWeights()));
    ok(same(ta.discriminator.getWeights(), tb.discriminator.getWeights()));
    ok(
      !same(ta.generator.getWeights(), other.generator.getWeights()),
      "another seed gives other weights",
    );
    for (let i = 0; i < 4; i++) {
      const x = ta.sampler.nextArrays(), y = tb.sampler.nextArrays();
      deepEqual([x.indexA, x.indexB], [y.indexA, y.indexB]);
      for (const k of ["xA", "cA", "xB", "cB", "yB"] as const) deepEqual(x[k], y[k]);
    }
    deepEqual(ta.termRng.getState(), tb.termRng.getState());
  } finally {
    ta.dispose();
    tb.dispose();
    other.dispose();
  }
});

/** The seed's generator loss written out by hand, from its formulas, without the step's machinery. */
function handWrittenLoss(t: Trainer, batch: ReturnType<typeof toTensors>, withIdentity: boolean) {
  const G = t.generator, D = t.discriminator;
  const mse = (p: tf.Tensor, q: tf.Tensor) => tf.mean(tf.square(tf.sub(p, q)));
  return () => {
    const fake = G.apply(batch.xA, batch.cB, { training: true });
    const dFake = D.apply(fake, { training: true });
    const dReal = D.apply(batch.xB, { training: true });
    const adversarial = tf.neg(tf.mean(dFake.adv));
    // Sigmoid cross-entropy over the entries of y_B that are not -1.
    const y = batch.yB, x = dFake.cls;
    const known = tf.cast(tf.notEqual(y, -1), "float32");
    const target = tf.cast(tf.equal(y, 1), "float32");
    const ce = tf.sub(tf.softplus(x), tf.mul(x, target));
    const classification = tf.div(tf.sum(tf.mul(ce, known)), tf.maximum(tf.sum(known), 1));
    const reconstruction = mse(G.apply(fake, batch.cA, { training: true }), batch.xA);
    const featureMatching = mse(dFake.features, dReal.features);
    let total = tf.addN([
      adversarial,
      classification,
      tf.mul(reconstruction, 10),
      tf.mul(featureMatching, 10),
    ]);
    if (withIdentity) {
      total = tf.add(
        total,
        tf.mul(mse(G.apply(batch.xA, batch.cA, { training: true }), batch.xA), 5),
      );
    }
    return total as tf.Scalar;
  };
}

Deno.test("9ada9179: G's gradient is that of the remaining terms; identity is never computed", async () => {
  const exp = tiny(ablation), expBase = tiny(base);
  const dataset = await loadExperimentData(exp, { cacheDir: null, progress: false });
  for (const [e, withIdentity] of [[exp, false], [expBase, true]] as const) {
    const t = buildTrainer(e, dataset);
    const arrays = t.sampler.nextArrays();
    const batch = toTensors(arrays, 16, 16);
    // Record every generator call by its inputs.
    const calls: string[] = [];
    const apply = t.generator.apply.bind(t.generator);
    t.generator.apply = (x, c, o) => {
      calls.push(
        `${x === batch.xA ? "xA" : "other"},${c === batch.cA ? "cA" : c === batch.cB ? "cB" : "?"}`,
      );
      return apply(x, c, o);
    };
    const step = generatorGradients(t, batch, { terms: t.generatorTerms });
    equal(calls.includes("xA,cA"), withIdentity, `G(x_A, c_A) computed: ${calls}`);
    deepEqual(Object.keys(step.values).sort(), Object.keys(e.losses.generator).sort());
    t.generator.apply = apply;
    const vars = t.generator.trainableVariables;
    const names = new Map(Object.entries(vars).map(([n, v]) => [v.name, n]));
    const hand = tf.variableGrads(handWrittenLoss(t, batch, withIdentity), Object.values(vars));
    equal(Object.keys(step.grads).length, Object.keys(vars).length);
    let worst = 0, scale = 0;
    for (const [tfName, g] of Object.entries(hand.grads)) {
      const mine = step.grads[names.get(tfName)!]!;
      const [p, q] = [g.dataSync(), mine.dataSync()];
      p.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - q[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
    }
    ok(scale > 0 && worst <= 1e-5 * scale, `gradient mismatch ${worst} (scale ${scale})`);
    ok(Math.abs(hand.value.dataSync()[0]! - step.total) <= 1e-5 * Math.abs(step.total));
    tf.dispose([hand.value, ...Object.values(hand.grads), ...Object.values(step.grads)]);
    tf.dispose(batch);
    t.dispose();
  }
});

const tinyArgs = (extra: string[]) => tinyTrainArgs(manifest, extra);

function runDirOf(root: string, id: string): string {
  const dirs = [...Deno.readDirSync(`${root}/${id}`)].map((e) => e.name).sort();
  return `${root}/${id}/${dirs.at(-1)}`;
}

for (const exp of [base, ablation]) {
  Deno.test(`tiny end-to-end run of ${exp.meta.id} writes a complete run directory and report`, async () => {
    const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
    try {
      const { value: code, out } = await captured(() =>
        trainMain([
          `experiments/${exp.meta.id}.ts`,
          "--out",
          root,
          "--max-steps",
          "3",
          ...tinyArgs([]),
        ])
      );
      equal(code, 0);
      match(out, new RegExp(`^voxlab: experiment ${exp.meta.id}: `, "m"));
      match(out, /^Training stopped at iteration 3 \(max-steps\)/m);
      const dir = runDirOf(root, exp.meta.id);
      const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      for (
        const name of [
          "checkpoint.vxck",
          "config.yaml",
          "labels.json",
          "loss_curves.png",
          "metrics.jsonl",
          "report.md",
          "run.json",
          "samples",
        ]
      ) ok(names.includes(name), `${name} missing from ${names}`);
      ok(!names.some((n) => n.endsWith(".tmp")), `temp files left: ${names}`);
      deepEqual([...Deno.readDirSync(`${dir}/samples`)].map((e) => e.name).sort(), [
        "iter-0000002.png",
        "iter-0000003.png",
      ]);
      const metrics = await readMetrics(`${dir}/metrics.jsonl`);
      deepEqual(metrics.map((m) => m.iteration), [1, 2, 3]);
      for (const term of Object.keys(exp.losses.generator)) ok(`G.${term}` in metrics[0]!.terms);
      equal("G.identity" in metrics[0]!.terms, exp.meta.id === "47c97768");
      equal(metrics[0]!.lr.generator, 1e-5);
      // Diagnostics ran at 1 and 2 (every 2) and once more when the run ended.
      const diagnostics = (await Deno.readTextFile(`${dir}/diagnostics.jsonl`)).trim().split("\n");
      deepEqual(diagnostics.map((l) => JSON.parse(l).iteration), [1, 2, 3]);
      const ckpt = await readCheckpoint(`${dir}/checkpoint.vxck`);
      equal(ckpt.state.iteration, 3);
      for (const prefix of ["G/", "D/", "optG/", "optD/"]) {
        ok(Object.keys(ckpt.tensors).some((k) => k.startsWith(prefix)), prefix);
      }
      ok(
        "G/down1/bn/running_mean" in ckpt.tensors ||
          Object.keys(ckpt.tensors).some((k) => k.includes("running_mean")),
      );
      ok(Array.isArray(ckpt.state.termRng) && typeof ckpt.state.configHash === "string");

      const report = await Deno.readTextFile(`${dir}/report.md`);
      const front = frontMatter(report);
      equal(front.title, `Experiment record ${exp.meta.id}`);
      equal(front.experiment, exp.meta.id);
      equal(front.base, exp.meta.base);
      match(String(front.date), /^\d{4}-\d{2}-\d{2}$/);
      ok(front.closed_at);
      ok((front.tags as string[]).includes("max-steps"));
      equal(report.match(/```mermaid/g)?.length, 4);
      const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
      // The generator diagram is drawn from describe() at the run's sizes.
      match(report, new RegExp(`concat --> \\| ${4 + info.data.nIn} x 4 x 4 \\| merge`));
      match(report, /\nup3 --> output\n/);
      const gTraining = report.slice(
        report.indexOf("### Generator training"),
        report.indexOf("## Parameters"),
      );
      equal(gTraining.includes("Identity Mapping Loss"), exp.meta.id === "47c97768");
      match(gTraining, /recon-mse --> xrecon\nxrecon --> reconstruction/);
      match(
        report,
        /\* {3}learning rate: 1e-5\n\n {4}\* {3}multiplied by 10<sup>-0.5<\/sup> every 100 epochs\./,
      );
      match(report, /\* {3}minibatch size: 2/);
      match(report, /\* {3}epoch: 1000 /);
      match(report, /Training time: \d+\.\d\d hours/);
      match(report, /\| G\.reconstruction \| [-\d.e]+ \| [-\d.e]+ \|/);
      match(report, /!\[Samples at iteration 3[^\]]*\]\(samples\/iter-0000003\.png\)/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("resume: the next iterations' losses equal an uninterrupted run's", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    const run = (args: string[]) => captured(() => trainMain(tinyArgs(args)));
    equal(
      (await run(["experiments/9ada9179.ts", "--out", `${root}/a`, "--max-steps", "4"])).value,
      0,
    );
    equal(
      (await run(["experiments/9ada9179.ts", "--out", `${root}/b`, "--max-steps", "2"])).value,
      0,
    );
    const dirA = runDirOf(`${root}/a`, "9ada9179"),
      dirB = runDirOf(`${root}/b`, "9ada9179");
    // Resume without naming the experiment: it comes from the run's config.yaml.
    const resumed = await run(["--resume", dirB, "--max-steps", "2"]);
    equal(resumed.value, 0, resumed.err);
    match(resumed.out, /resuming at iteration 2/);
    const a = await readMetrics(`${dirA}/metrics.jsonl`),
      b = await readMetrics(`${dirB}/metrics.jsonl`);
    deepEqual(b.map((m) => m.iteration), [1, 2, 3, 4]);
    deepEqual(b.map((m) => m.terms), a.map((m) => m.terms));
    const [ca, cb] = [
      await readCheckpoint(`${dirA}/checkpoint.vxck`),
      await readCheckpoint(`${dirB}/checkpoint.vxck`),
    ];
    deepEqual(Object.keys(cb.tensors), Object.keys(ca.tensors));
    for (const [k, t] of Object.entries(ca.tensors)) deepEqual(cb.tensors[k]!.data, t.data, k);
    equal(JSON.parse(await Deno.readTextFile(`${dirB}/run.json`)).resumes, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "tiny corpus cleanup",
  fn: async () => await Deno.remove(corpusDir, { recursive: true }),
});
