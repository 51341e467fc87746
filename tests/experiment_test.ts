import { deepEqual, equal, match, notEqual, ok, rejects, throws } from "node:assert/strict";
import {
  applyOverrides,
  configHash,
  diff,
  experimentFromYaml,
  experimentToYaml,
  extend,
  formatDiff,
  loadExperiment,
  nearestKey,
  OverrideError,
  validateExperiment,
  without,
} from "../lib/experiment/mod.ts";
import { createRunDir } from "../lib/runs/run_dir.ts";
import { CheckpointError, readCheckpoint, writeCheckpoint } from "../lib/train/checkpoint.ts";
import { MetricsWriter, readMetrics, truncateMetrics } from "../lib/train/metrics.ts";
import { formatDuration, formatProgress, ProgressBar } from "../lib/train/progress.ts";
import {
  criticTrainingDiagram,
  discriminatorDiagram,
  generatorDiagram,
  generatorTrainingDiagram,
  layerLabel,
} from "../lib/runs/mermaid.ts";
import { describeDiscriminator, describeGenerator } from "../lib/model/mod.ts";
import { termWeights } from "../lib/runs/primitives.ts";
import base from "../experiments/47c97768.ts";
import ablation from "../experiments/9ada9179.ts";

Deno.test("extend merges objects, replaces arrays, records the base and validates", () => {
  const e = extend(base, {
    meta: { id: "x1" },
    model: { generator: { widths: [8, 8, 8, 8] } },
    losses: { generator: { reconstruction: { weight: 20 } } },
  });
  equal(e.meta.base, "47c97768");
  deepEqual(e.model.generator.widths, [8, 8, 8, 8]);
  equal(e.model.generator.resBlocks, 6);
  equal(e.losses.generator.reconstruction!.weight, 20);
  equal(e.losses.generator.identity!.weight, 5);
  // The base is untouched.
  deepEqual(base.model.generator.widths, [32, 64, 128, 256]);
  // An optimizer's kind changes alone (its other fields are shared); a schedule's replaces it.
  const adam = extend(base, { meta: { id: "x2" }, optimizers: { generator: { kind: "adam" } } });
  deepEqual(adam.optimizers.generator, { ...base.optimizers.generator, kind: "adam" });
  throws(
    () => extend(base, { trainer: { batchSize: 0 } }),
    /Invalid experiment field 'trainer.batchSize': 0 is below 1/,
  );
});

Deno.test("without removes exactly one term and refuses an unknown one", () => {
  const e = without(base, "identity");
  deepEqual(Object.keys(e.losses.generator), [
    "adversarial",
    "classification",
    "reconstruction",
    "featureMatching",
  ]);
  equal(Object.keys(base.losses.generator).length, 5);
  const c = without(base, "gradientPenalty");
  ok(!("gradientPenalty" in c.losses.critic));
  throws(
    () => without(base, "idnetity"),
    /Cannot remove loss term 'idnetity'.*generator\.identity/,
  );
});

Deno.test("diff lists every difference by dot path; meta only on request", () => {
  const b = extend(base, {
    meta: { id: "y" },
    trainer: { seed: 3 },
    model: { discriminator: { widths: [32, 64, 128, 256] } },
    optimizers: { generator: { schedule: { kind: "constant" } } },
  });
  const paths = diff(base, b).map((d) => d.path);
  deepEqual(paths, [
    "model.discriminator.widths",
    "optimizers.generator.schedule.every",
    "optimizers.generator.schedule.factor",
    "optimizers.generator.schedule.kind",
    "optimizers.generator.schedule.unit",
    "trainer.seed",
  ]);
  deepEqual(diff(base, base), []);
  deepEqual(
    diff(base, b, { includeMeta: true }).filter((d) => d.path.startsWith("meta.")).map((d) =>
      d.path
    ),
    [
      "meta.base",
      "meta.id",
    ],
  );
  equal(formatDiff(diff(base, b)).split("\n")[5], "trainer.seed: 0 -> 3");
  // The pairing field shows like any other.
  const paired = extend(base, { data: { pairs: { differentAttribute: "speaker" } } });
  equal(formatDiff(diff(base, paired)), 'data.pairs.differentAttribute: null -> "speaker"');
  equal(formatDiff([]), "no differences");
});

Deno.test("--set parses by field type and refuses unknown keys naming the nearest", () => {
  const e = applyOverrides(base, [
    "trainer.batchSize=4",
    "optimizers.generator.lr=2e-4",
    "data.dataset=corpus/manifest.yaml",
    "model.generator.widths=[4, 8, 8, 16]",
    "losses.generator.identity.weight=0",
    "losses.adversarial=lsgan",
  ]);
  equal(e.trainer.batchSize, 4);
  equal(e.optimizers.generator.lr, 2e-4);
  equal(e.data.dataset, "corpus/manifest.yaml");
  deepEqual(e.model.generator.widths, [4, 8, 8, 16]);
  equal(e.losses.generator.identity!.weight, 0);
  equal(applyOverrides(e, ["data.dataset=null"]).data.dataset, null);
  throws(
    () => applyOverrides(base, ["trainer.batchsize=4"]),
    (err: Error) =>
      err instanceof OverrideError &&
      err.message ===
        "Cannot set 'trainer.batchsize': unknown key; the nearest valid key is 'trainer.batchSize'",
  );
  throws(
    () => applyOverrides(base, ["losses.generator.identiy.weight=1"]),
    /nearest valid key is 'losses.generator.identity.weight'/,
  );
  throws(() => applyOverrides(base, ["trainer.nCritic=five"]), /expected an integer, got 'five'/);
  throws(() => applyOverrides(base, ["trainer.nCritic=2.5"]), /expected an integer/);
  throws(() => applyOverrides(base, ["losses.adversarial=hinge"]), /'hinge' is not one of wgan/);
  throws(
    () => applyOverrides(base, ["model.generator.widths=[1, 2, 3, x]"]),
    /expected an integer/,
  );
  throws(() => applyOverrides(base, ["trainer.seed"]), /expected key=value/);
  throws(
    () => applyOverrides(base, ["losses.generator.identity=null"]),
    /'losses\.generator\.identity': expected an object, got null$/,
  );
  // A schedule's kind: the old kind's fields go, the new kind's must be given.
  deepEqual(
    applyOverrides(base, ["optimizers.generator.schedule.kind=constant"]).optimizers.generator
      .schedule,
    { kind: "constant" },
  );
  throws(
    () => applyOverrides(base, ["optimizers.generator.schedule.kind=linear"]),
    /'optimizers\.generator\.schedule\.start': missing/,
  );
  equal(
    nearestKey("opt.gen.lr", ["optimizers.generator.lr", "trainer.seed"]),
    "optimizers.generator.lr",
  );
});

Deno.test("a term can be on for part of the run: from / until, set like any field", () => {
  const e = applyOverrides(base, ["losses.generator.identity.until=10000"]);
  deepEqual(e.losses.generator.identity, { weight: 5, until: 10000 });
  deepEqual(diff(base, e), [{ path: "losses.generator.identity.until", a: undefined, b: 10000 }]);
  throws(
    () => applyOverrides(base, ["losses.generator.identity.untill=5"]),
    /nearest valid key is 'losses.generator.identity.until'/,
  );
  throws(
    () => applyOverrides(e, ["losses.generator.identity.from=10000"]),
    /'losses.generator.identity.until': 10000 is not after from \(10000\)/,
  );
  const w = termWeights({ a: { weight: 2 }, b: { weight: 5, from: 10, until: 20 } });
  equal(w.a, 2);
  const b = w.b as (t: number) => number;
  deepEqual([b(0), b(9), b(10), b(19), b(20)], [0, 0, 5, 5, 0]);
  match(experimentToYaml(e), /identity:\n {6}weight: 5\n {6}until: 10000\n/);
  deepEqual(experimentFromYaml(experimentToYaml(e)), e);
});

Deno.test("validation names the path of a wrong, missing or unknown field", () => {
  const bad = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
  bad.trainer!.extra = 1;
  throws(() => validateExperiment(bad), /'trainer.extra': unknown key/);
  const missing = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
  delete missing.trainer!.seed;
  throws(() => validateExperiment(missing), /'trainer.seed': missing/);
  const wrong = structuredClone(base) as unknown as {
    losses: { generator: Record<string, unknown> };
  };
  wrong.losses.generator.identity = { weight: "5" };
  throws(() => validateExperiment(wrong), TypeError);
});

Deno.test("YAML round-trips; the config hash ignores meta and key order", () => {
  const text = experimentToYaml(base);
  match(text, /^ {4}identity:\n {6}weight: 5$/m);
  deepEqual(experimentFromYaml(text), base);
  throws(() => experimentFromYaml("trainer: [1"), /Cannot parse experiment YAML/);
  const renamed = extend(base, { meta: { id: "other", title: "t" } });
  equal(configHash(renamed), configHash(base));
  const reordered = { ...base, trainer: { ...base.trainer }, losses: base.losses };
  equal(configHash(reordered), configHash(base));
  notEqual(configHash(applyOverrides(base, ["trainer.seed=1"])), configHash(base));
});

Deno.test("loadExperiment validates and reports missing files in one line", async () => {
  const e = await loadExperiment(new URL("../experiments/9ada9179.ts", import.meta.url).pathname);
  equal(e.meta.id, "9ada9179");
  await rejects(
    loadExperiment("no/such/experiment.ts"),
    /Cannot load experiment 'no\/such\/experiment.ts': file not found/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.ts`, "export default { meta: {} };\n");
    await rejects(loadExperiment(`${dir}/bad.ts`), /Cannot load experiment .*'meta.id': missing/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoints round-trip, replace atomically and reject corrupt files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ckpt.vxck`;
    const w = new Float32Array([1.5, -2, 3e-8, Math.PI]);
    await writeCheckpoint(path, {
      state: { iteration: 7, rng: [1, 2, 3, 4] },
      tensors: {
        "G/w": { dtype: "float32", shape: [2, 2], data: w },
        "n": { dtype: "int32", shape: [3], data: new Int32Array([5, -6, 7]) },
      },
    });
    const back = await readCheckpoint(path);
    deepEqual(back.state, { iteration: 7, rng: [1, 2, 3, 4] });
    deepEqual([...back.tensors["G/w"]!.data], [...w]);
    deepEqual(back.tensors["G/w"]!.shape, [2, 2]);
    deepEqual([...back.tensors.n!.data], [5, -6, 7]);
    // A second write replaces the file and leaves no temp file behind.
    await writeCheckpoint(path, { state: { iteration: 8 }, tensors: {} });
    equal((await readCheckpoint(path)).state.iteration, 8);
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ckpt.vxck"]);
    // A stale temp file from a killed write does not affect the checkpoint.
    await Deno.writeFile(`${path}.tmp`, new Uint8Array([1, 2, 3]));
    equal((await readCheckpoint(path)).state.iteration, 8);
    await Deno.writeFile(`${dir}/junk`, new Uint8Array(20));
    await rejects(
      readCheckpoint(`${dir}/junk`),
      (e: Error) => e instanceof CheckpointError && /not a voxlab checkpoint/.test(e.message),
    );
    const bytes = await Deno.readFile(path);
    await writeCheckpoint(path, {
      state: {},
      tensors: { w: { dtype: "float32", shape: [4], data: w } },
    });
    const full = await Deno.readFile(path);
    await Deno.writeFile(`${dir}/cut`, full.subarray(0, full.length - 4));
    await rejects(readCheckpoint(`${dir}/cut`), /truncated/);
    ok(bytes.length > 0);
    await rejects(readCheckpoint(`${dir}/none`), /file not found/);
    // The right magic and version with a header that is JSON but not a checkpoint's.
    const header = new TextEncoder().encode('{"state":{}}');
    const odd = new Uint8Array(16 + header.length);
    odd.set([0x56, 0x58, 0x43, 0x4b, 1]);
    new DataView(odd.buffer).setUint32(8, header.length, true);
    odd.set(header, 12);
    await Deno.writeFile(`${dir}/odd`, odd);
    await rejects(
      readCheckpoint(`${dir}/odd`),
      (e: Error) => e instanceof CheckpointError && /the header is corrupt/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("metrics.jsonl appends lines, tolerates a cut last line and truncates for resume", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    const w = new MetricsWriter(path);
    for (let i = 1; i <= 3; i++) {
      w.append({
        iteration: i,
        epoch: 1,
        terms: { a: i },
        lr: { g: 1 },
        seconds: 1,
        elapsed: i,
        time: "t",
      });
    }
    w.close();
    await Deno.writeTextFile(path, '{"iteration": 4, "ep', { append: true });
    deepEqual((await readMetrics(path)).map((r) => r.terms.a), [1, 2, 3]);
    await truncateMetrics(path, 2);
    deepEqual((await readMetrics(path)).map((r) => r.iteration), [1, 2]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("progress shows epoch, iteration, each term, it/s and ETA", () => {
  equal(formatDuration(59), "59s");
  equal(formatDuration(61), "1m01s");
  equal(formatDuration(90061), "1d01h");
  const line = formatProgress(
    { iteration: 10, epoch: 2, terms: { "D.adversarial": -1.25, "G.reconstruction": 0.0001234 } },
    { totalIterations: 110, totalEpochs: 11, rate: 2 },
  );
  match(
    line,
    /^epoch 2\/11 .* it 10\/110 \| 2\.00 it\/s \| ETA 50s \| G\.reconstruction 1\.23e-4 D\.adversarial -1\.250$/,
  );
  let clock = 0;
  const out: string[] = [];
  const bar = new ProgressBar({
    totalIterations: 100,
    totalEpochs: 1,
    inPlace: false,
    intervalMs: 1000,
    now: () => clock,
    write: (t) => out.push(t),
  });
  bar.start(0);
  for (let i = 1; i <= 5; i++) {
    clock += 400;
    bar.update({ iteration: i, epoch: 1, terms: { x: i } });
  }
  bar.done();
  // The starting state at once, the first iteration, then at most once a second, and the final state.
  equal(out.length, 4);
  match(out[0]!, /^epoch 1\/1 .* it 0\/100 \| 0\.00 it\/s \| ETA \?\n$/);
  match(out[1]!, /it 1\/100 .* 2\.50 it\/s/);
  match(out[2]!, /it 4\/100 /);
  match(out.at(-1)!, /it 5\/100 \| 2\.50 it\/s \| ETA 38s \| x 5\.000\n$/);
  // Redrawn in place, a long line is cut to the width, keeping speed and ETA.
  const drawn: string[] = [];
  const narrow = new ProgressBar({
    totalIterations: 100,
    totalEpochs: 1,
    inPlace: true,
    columns: 80,
    now: () => 0,
    write: (t) => drawn.push(t),
  });
  narrow.update({
    iteration: 1,
    epoch: 1,
    terms: { "G.reconstruction": 1, "G.featureMatching": 2 },
  });
  equal(drawn.at(-1)!.slice(0, 2), "\r\u001b");
  match(
    drawn.at(-1)!,
    /^\r.\[2K.* it 1\/100 \| 0\.00 it\/s \| ETA \? \| G\.reconstruction…$/,
  );
  equal([...drawn.at(-1)!.slice(5)].length, 79);
  // A run that stops before its first iteration still ends the drawn line,
  // and a message does not run into it.
  const early: string[] = [];
  const idle = new ProgressBar({
    totalIterations: 100,
    totalEpochs: 1,
    inPlace: true,
    now: () => 0,
    write: (t) => early.push(t),
  });
  idle.start(0);
  idle.message("voxlab: stopping");
  idle.done();
  // After done(), a message goes below the finished line, which is not drawn again.
  idle.message("diagnostics @1: …");
  match(
    early.join(""),
    /^\r.\[2Kepoch 1\/1 .* it 0\/100 .*\r.\[2Kvoxlab: stopping\n\r.\[2Kepoch .*\ndiagnostics @1: …\n$/,
  );
});

Deno.test("progress: totals and G terms come first; the ETA is smoothed over iteration times", () => {
  const line = formatProgress({
    iteration: 1,
    epoch: 1,
    terms: { "D.adversarial": 1, "D.total": 2, "G.adversarial": 3, "G.total": 4 },
  }, { totalIterations: 10, totalEpochs: 1, rate: 1 });
  match(line, /\| G\.total 4\.000 D\.total 2\.000 G\.adversarial 3\.000 D\.adversarial 1\.000$/);
  // A 120 s first iteration (warm-up, the first evaluation), then 10 s ones with a
  // 60 s one (an evaluation, a checkpoint) every 10th, 15 s on average: from the
  // 5th iteration on, the ETA stays within 40% of the true time left, and after
  // warm-up within 15% of its mean. (The plain mean since the start said 2.2× the
  // true time at the 5th.)
  let clock = 0;
  const bar = new ProgressBar({
    totalIterations: 13000,
    totalEpochs: 1000,
    inPlace: false,
    now: () => clock,
    write: () => {},
  });
  bar.start(0);
  const etas: number[] = [];
  for (let i = 1; i <= 200; i++) {
    clock += (i === 1 ? 120 : i % 10 === 0 ? 60 : 10) * 1000;
    bar.update({ iteration: i, epoch: 1, terms: {} });
    const eta = (13000 - i) / bar.rate;
    if (i >= 5) ok(Math.abs(eta / ((13000 - i) * 15) - 1) < 0.4, `ETA ${eta} at ${i}`);
    if (i > 40) etas.push(eta);
  }
  const mean = etas.reduce((a, b) => a + b, 0) / etas.length;
  for (const e of etas) ok(Math.abs(e / mean - 1) < 0.15, `ETA ${e} vs mean ${mean}`);
});

Deno.test("mermaid: the seed's generator and the 47c97768 discriminator, drawn from describe()", () => {
  const size = { height: 256, width: 256, channels: 1 };
  const g = generatorDiagram(describeGenerator({ ...base.model.generator, ...size, nIn: 1479 }), {
    nIn: 1479,
  });
  for (
    const line of [
      'input-labels("&laquo;Input&raquo;<br/>Labels<sub>input</sub><br/>1479<br/>{0, 1}")',
      "    down1[Convolution<br/>n: 32, k: 7, stride: 1, pad: 3<br/>BatchNormalization<br/>ReLU]",
      "repeat((repeat<br/>32 x 32))",
      "input-spectrogram --> down1",
      "down1 --> | 32 x 256 x 256 | down2",
      "down4 --> | 256 x 32 x 32 | concat",
      "repeat --> | 1479 x 32 x 32 | concat",
      "concat --> | 1735 x 32 x 32 | merge",
      "res6 --> | 256 x 32 x 32 | up1",
      "up1 --> | 128 x 64 x 64 | up2",
      "up3 --> | 32 x 256 x 256 | up4",
      "    up4[Deconvolution<br/>n: 1, k: 7, stride: 1, pad: 3<br/>sigmoid]",
      "up4 --> output",
    ]
  ) ok(g.includes(line), line);
  equal(g.match(/ResBlock<br\/>n: 256, k: 3, stride: 1, pad: 1/g)?.length, 6);
  const d = discriminatorDiagram(
    describeDiscriminator({ ...base.model.discriminator, ...size, nOut: 1476 }),
  );
  for (
    const line of [
      "conv4 --> | 256 x 16 x 16 | features",
      "conv5 --> | 512 x 8 x 8 | cls-head",
      "cls-head[Convolution<br/>n: 1476, k: 8×8, stride: 1, pad: 0]",
      'cls-out("&laquo;Output&raquo;<br/>Classification<br/>1476 logits")',
      "    conv1[Convolution<br/>n: 32, k: 4, stride: 2, pad: 1<br/>LeakyReLU 0.2]",
    ]
  ) ok(d.includes(line), line);
  equal(
    layerLabel("ResBlock n8 k3 s1 p1, BN, ReLU"),
    "ResBlock<br/>n: 8, k: 3, stride: 1, pad: 1<br/>BatchNormalization<br/>ReLU",
  );
});

Deno.test("mermaid: the training graphs follow the loss wiring, as in the seed", () => {
  const sizes = { input: [256, 256, 1], nIn: 1479, nOut: 1476 };
  const seedEdges = [
    "x-real --> gen1",
    "label-fake-in --> gen1",
    "gen1 --> x-fake",
    "x-fake --> gen2",
    "label-real-in --> gen2",
    "gen2 --> recon-mse",
    "x-real --> recon-mse",
    "recon-mse --> xrecon",
    "xrecon --> reconstruction",
    "x-fake --> dis-fake",
    "x-orig --> dis-orig",
    "dis-fake --> | Feature | feat-mse",
    "dis-orig --> | Feature | feat-mse",
    "feat-mse --> xfeat",
    "dis-fake --> | Classification | sce",
    "label-fake-out --> sce",
    "sce --> classification",
    "dis-fake --> | Adversarial | minus",
    "minus --> adversarial",
  ];
  const abl = generatorTrainingDiagram(ablation.losses, sizes);
  const full = generatorTrainingDiagram(base.losses, sizes);
  for (const edge of seedEdges) ok(abl.includes(`\n${edge}\n`) || abl.endsWith(`\n${edge}`), edge);
  ok(abl.includes("xrecon((x10))") && abl.includes("xfeat((x10))"));
  ok(!abl.includes("Identity") && !abl.includes("gen-id"));
  for (
    const edge of [
      "x-real --> gen-id",
      "label-real-in --> gen-id",
      "id-mse --> xid",
      "xid --> identity",
    ]
  ) {
    ok(full.includes(edge), edge);
  }
  ok(full.includes("xid((x5))") && full.includes("identity(Identity Mapping Loss)"));
  // Only what a term needs appears: without classification, y_B is not an input.
  const noCls = generatorTrainingDiagram(without(ablation, "classification").losses, sizes);
  ok(!noCls.includes("label-fake-out") && !noCls.includes("sce"));
  const critic = criticTrainingDiagram(base.losses, sizes);
  for (
    const edge of [
      "x-orig --> interp",
      "x-fake --> interp",
      "gp-op --> xgp",
      "xgp --> gradientPenalty",
      "dis-real --> | Classification | sce",
    ]
  ) {
    ok(critic.includes(edge), edge);
  }
});

Deno.test("runs started in the same second get their own directories (-2, -3)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const dirs = await Promise.all([1, 2, 3].map(() => createRunDir(base, { root, now })));
    deepEqual(
      dirs.map((d) => d.slice(root.length)).sort(),
      ["", "-2", "-3"].map((s) => `/47c97768/20260102-030405${s}`),
    );
    for (const d of dirs) ok((await Deno.stat(`${d}/config.yaml`)).isFile);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--set puts back a loss term that without() removed, and says how for its other fields", () => {
  // 9ada9179 with the identity weight set again is 47c97768's losses exactly.
  deepEqual(diff(base, applyOverrides(ablation, ["losses.generator.identity.weight=5"])), []);
  deepEqual(
    applyOverrides(ablation, ["losses.generator.identity={weight: 5, until: 10000}"]).losses
      .generator.identity,
    { weight: 5, until: 10000 },
  );
  throws(
    () => applyOverrides(ablation, ["losses.generator.identity.until=10000"]),
    (e: Error) =>
      e instanceof OverrideError &&
      e.message ===
        "Cannot set 'losses.generator.identity.until': the term 'identity' is absent in this " +
          "experiment; add it first with --set losses.generator.identity.weight=<weight> (or " +
          "--set 'losses.generator.identity={weight: <weight>, until: …}')",
  );
  // A near miss of a term the experiment has is a typo, not a new term.
  throws(
    () => applyOverrides(ablation, ["losses.generator.reconstrucion.weight=1"]),
    /nearest valid key is 'losses.generator.reconstruction.weight'/,
  );
  // A term that exists is set as before.
  equal(
    applyOverrides(base, ["losses.generator.identity.until=100"]).losses.generator.identity?.until,
    100,
  );
});
