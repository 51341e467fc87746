import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { initBackend, tf } from "../mod.ts";
import { applyOverrides, diff } from "../lib/experiment/mod.ts";
import { buildTrainer, loadExperimentData } from "../lib/runs/trainer.ts";
import { trainExperiment } from "../lib/runs/train.ts";
import { readCheckpoint } from "../lib/train/checkpoint.ts";
import { runLoop } from "../lib/train/loop.ts";
import { MetricsWriter, readMetrics } from "../lib/train/metrics.ts";
import { main as trainMain } from "../tasks/train.ts";
import { parseDuration } from "../lib/flags.ts";
import { main as reportMain } from "../tasks/report.ts";
import base from "../experiments/47c97768.ts";
import ablation from "../experiments/9ada9179.ts";
import { captured } from "./capture.ts";
import { TINY_SET, tinyTrainArgs, writeTinyCorpus } from "./tiny_corpus.ts";

await initBackend({ backend: "cpu", quiet: true });
const repo = new URL("../", import.meta.url);
const manifest = await writeTinyCorpus();
const corpusDir = manifest.slice(0, manifest.lastIndexOf("/"));

const tinyArgs = (extra: string[]) => tinyTrainArgs(manifest, extra);
const train = (args: string[]) => captured(() => trainMain(tinyArgs(args)));
const onlyRun = (root: string, id = "9ada9179") => {
  const dirs = [...Deno.readDirSync(`${root}/${id}`)].map((e) => e.name);
  equal(dirs.length, 1);
  return `${root}/${id}/${dirs[0]}`;
};

/** The code block after `<!-- test: NAME -->` in the README. */
async function readmeBlock(name: string): Promise<string> {
  const text = await Deno.readTextFile(new URL("README.md", repo));
  const m = text.match(new RegExp(`<!-- test: ${name} -->\\n\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``));
  ok(m, `README has no '${name}' example`);
  return m[1]!;
}

Deno.test("README: the ad-hoc script runs as written from outside the repository", async () => {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-adhoc-" });
  try {
    const code = (await readmeBlock("adhoc")).replace(
      '"./mod.ts"',
      JSON.stringify(new URL("mod.ts", repo).href),
    );
    await Deno.writeTextFile(`${dir}/adhoc.ts`, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "--quiet", "adhoc.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    // No tfjs banner ("Hi, looks like you are running TensorFlow.js in Node.js …") on cpu.
    const err = new TextDecoder().decode(out.stderr);
    ok(!err.includes("looks like you are running TensorFlow.js"), err);
    match(
      new TextDecoder().decode(out.stdout),
      /adversarial: -?[\d.e-]+,\s+classification: [\d.e-]+,\s+reconstruction: [\d.e-]+/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README: the new-ablation example is a few lines and differs as it says", async () => {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-ablation-" });
  try {
    const code = (await readmeBlock("ablation"))
      .replace(
        '"../lib/experiment/mod.ts"',
        JSON.stringify(new URL("lib/experiment/mod.ts", repo).href),
      )
      .replace('"./47c97768.ts"', JSON.stringify(new URL("experiments/47c97768.ts", repo).href));
    ok(code.trim().split("\n").length <= 12);
    await Deno.writeTextFile(`${dir}/nofm.ts`, code);
    const exp = (await import(`file://${dir}/nofm.ts`)).default;
    deepEqual(diff(base, exp), [
      { path: "losses.generator.featureMatching", a: { weight: 10 }, b: undefined },
      { path: "losses.generator.reconstruction.weight", a: 10, b: 20 },
    ]);
    equal(exp.meta.base, "47c97768");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loop: a NaN loss stops the run naming the term; the last good checkpoint is kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ckpt.vxck`;
    const metrics = new MetricsWriter(`${dir}/metrics.jsonl`);
    let weight = 0;
    const result = await runLoop({
      itersPerEpoch: 3,
      epochs: 10,
      step: ({ iteration }) => {
        weight = iteration + 1;
        return {
          terms: { "D.adversarial": 1, "G.reconstruction": iteration === 4 ? NaN : 0.5 },
          lr: {},
        };
      },
      save: () => ({
        state: {},
        tensors: { w: { dtype: "float32", shape: [1], data: new Float32Array([weight]) } },
      }),
    }, { checkpointPath: path, checkpointMinutes: 0, metrics });
    metrics.close();
    equal(result.reason, "non-finite");
    deepEqual(result.badTerm, { name: "G.reconstruction", value: NaN });
    equal(result.iteration, 4);
    equal(result.lastCheckpoint, 4);
    const ckpt = await readCheckpoint(path);
    equal(ckpt.state.iteration, 4);
    equal(ckpt.tensors.w!.data[0], 4); // the state after iteration 4, not the corrupt 5th
    deepEqual((await readMetrics(`${dir}/metrics.jsonl`)).map((r) => r.iteration), [1, 2, 3, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loop: weights gone NaN before any loss shows it are not checkpointed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ckpt.vxck`;
    let weight = 0;
    const task = {
      itersPerEpoch: 3,
      epochs: 10,
      // The loss is computed before the update: iteration 3's update makes the weight NaN.
      step: ({ iteration }: { iteration: number }) => {
        weight = iteration === 2 ? NaN : iteration + 1;
        return { terms: { "G.total": 1 }, lr: {} };
      },
      save: () => ({
        state: {},
        tensors: {
          "G/w": { dtype: "float32" as const, shape: [1], data: new Float32Array([weight]) },
        },
      }),
    };
    const periodic = await runLoop(task, { checkpointPath: path, checkpointMinutes: 0 });
    deepEqual([periodic.reason, periodic.iteration, periodic.lastCheckpoint], ["non-finite", 3, 2]);
    deepEqual(periodic.badTensor, { name: "G/w", value: NaN });
    equal(periodic.badTerm, undefined);
    equal((await readCheckpoint(path)).tensors["G/w"]!.data[0], 2);
    // The same at the end of a budget: the checkpoint of iteration 2 stays.
    await Deno.remove(path);
    weight = 0;
    const budget = await runLoop(task, { checkpointPath: path, maxSteps: 2 });
    equal(budget.reason, "max-steps");
    const last = await runLoop(task, { checkpointPath: path, startIteration: 2, maxSteps: 1 });
    deepEqual([last.reason, last.iteration, last.lastCheckpoint], ["non-finite", 3, null]);
    equal((await readCheckpoint(path)).state.iteration, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loop: max-steps, max-time, abort and periodic checkpoints", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const task = (ms: number) => ({
      itersPerEpoch: 2,
      epochs: 1000,
      step: async () => {
        await new Promise((r) => setTimeout(r, ms));
        return { terms: { x: 1 }, lr: {} };
      },
      save: () => ({ state: {}, tensors: {} }),
    });
    const saves: number[] = [];
    const r1 = await runLoop(task(0), {
      maxSteps: 5,
      startIteration: 3,
      checkpointPath: `${dir}/a.vxck`,
      checkpointMinutes: 1e-9,
      hooks: { onCheckpoint: (_p, it) => void saves.push(it) },
    });
    deepEqual([r1.reason, r1.iteration, r1.epoch], ["max-steps", 8, 4]);
    deepEqual(saves, [4, 5, 6, 7, 8]);
    const r2 = await runLoop(task(30), { maxSeconds: 0.1, checkpointPath: `${dir}/b.vxck` });
    equal(r2.reason, "max-time");
    ok(r2.iteration >= 2 && r2.iteration <= 6, `${r2.iteration}`);
    equal((await readCheckpoint(`${dir}/b.vxck`)).state.iteration, r2.iteration);
    const abort = new AbortController();
    const r3 = await runLoop(task(1), {
      checkpointPath: `${dir}/c.vxck`,
      signal: abort.signal,
      hooks: { onStepEnd: ({ iteration }) => void (iteration === 2 && abort.abort()) },
    });
    deepEqual([r3.reason, r3.iteration, r3.lastCheckpoint], ["signal", 3, 3]);
    const r4 = await runLoop({ ...task(0), epochs: 2 }, {});
    deepEqual([r4.reason, r4.iteration], ["completed", 4]);
    const r5 = await runLoop(task(0), { signal: AbortSignal.abort(), startIteration: 7 });
    deepEqual([r5.reason, r5.iteration], ["signal", 7]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loop: a signal raised from a timer is seen while every step is synchronous", async () => {
  // A wasm iteration awaits only microtasks; a signal listener (a macrotask)
  // must still run between iterations, not at the next file write.
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 20);
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) { /* compute */ }
  };
  const result = await runLoop({
    itersPerEpoch: 10,
    epochs: 100,
    step: async () => {
      busy(5);
      await Promise.resolve();
      return { terms: { x: 1 }, lr: {} };
    },
    save: () => ({ state: {}, tensors: {} }),
  }, { maxSteps: 400, signal: abort.signal });
  equal(result.reason, "signal");
  ok(result.iteration < 50, `stopped only at iteration ${result.iteration}`);
});

Deno.test("train task: a NaN on resume stops with the term named and keeps the checkpoint", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "2"])).value, 0);
    const dir = onlyRun(root);
    const before = await Deno.readFile(`${dir}/checkpoint.vxck`);
    // A learning rate of 1e6 blows the weights up within the first update.
    const r = await train([
      "--resume",
      dir,
      "--force",
      "--set",
      "optimizers.discriminator.lr=1e6",
      "--set",
      "optimizers.generator.lr=1e6",
    ]);
    equal(r.value, 1);
    match(
      r.out,
      /^Training stopped: loss term '[DG]\.\w+' is (NaN|-?Infinity) at iteration 3; the last good checkpoint \(iteration 2\) is kept in /m,
    );
    deepEqual(await Deno.readFile(`${dir}/checkpoint.vxck`), before);
    const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    equal(info.status, "non-finite");
    match(
      await Deno.readTextFile(`${dir}/report.md`),
      /stopped: a loss was not finite: Training stopped: loss term/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("train task: resuming with a changed config is refused with the diff unless --force", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "1"])).value, 0);
    const dir = onlyRun(root);
    const refused = await train(["--resume", dir, "--max-steps", "1", "--set", "trainer.seed=7"]);
    equal(refused.value, 1);
    match(refused.err, /^Cannot resume run '.*': the config differs from the run's \(use --force/);
    match(refused.err, /^trainer\.seed: 0 -> 7$/m);
    // Naming the base experiment differs by the identity term: refused as well.
    const other = await train(["experiments/47c97768.ts", "--resume", dir, "--max-steps", "1"]);
    equal(other.value, 1);
    match(other.err, /^losses\.generator\.identity: \(absent\) -> \{"weight":5\}$/m);
    const forced = await train([
      "--resume",
      dir,
      "--max-steps",
      "1",
      "--set",
      "trainer.seed=7",
      "--force",
    ]);
    equal(forced.value, 0, forced.err);
    match(forced.out, /resuming with a changed config \(--force\):\ntrainer\.seed: 0 -> 7/);
    match(await Deno.readTextFile(`${dir}/config.yaml`), /^ {2}seed: 7$/m);
    deepEqual((await readMetrics(`${dir}/metrics.jsonl`)).map((m) => m.iteration), [1, 2]);
    // Model sizes that do not fit the checkpoint: refused in one line, even with --force.
    const misfit = await train([
      "--resume",
      dir,
      "--max-steps",
      "1",
      "--force",
      "--set",
      "model.generator.widths=[2, 4, 8]",
    ]);
    equal(misfit.value, 1);
    match(misfit.err, /^Cannot resume run '.*': the checkpoint does not fit this config: /m);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("train task: the learning rate in metrics.jsonl follows the schedule by epoch", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    const r = await train([
      "experiments/9ada9179.ts",
      "--out",
      root,
      "--max-steps",
      "3",
      "--set",
      "trainer.itersPerEpoch=1",
      "--set",
      "optimizers.generator.schedule={kind: step, unit: epochs, every: 2, factor: 0.5}",
    ]);
    equal(r.value, 0, r.err);
    const m = await readMetrics(`${onlyRun(root)}/metrics.jsonl`);
    deepEqual(m.map((x) => [x.epoch, x.lr.generator, x.lr.discriminator]), [
      [1, 1e-5, 1e-5],
      [2, 1e-5, 1e-5],
      [3, 5e-6, 1e-5],
    ]);
    ok(
      m.every((x) => x.seconds > 0 && x.elapsed >= x.seconds && !Number.isNaN(Date.parse(x.time))),
    );
    // `deno task report` rewrites the record from the run directory.
    const dir = onlyRun(root);
    await Deno.remove(`${dir}/report.md`);
    const report = await captured(() => reportMain([dir]));
    equal(report.value, 0);
    equal(report.out.trim(), `${dir}/report.md`);
    match(await Deno.readTextFile(`${dir}/report.md`), /^---\ntitle: Experiment record 9ada9179\n/);
    equal((await captured(() => reportMain(["/nonexistent"]))).value, 1);
    // A metrics line broken in the middle (not a cut last line) is one line, for both tasks.
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).split("\n");
    lines[1] = lines[1]!.slice(0, 20);
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, lines.join("\n"));
    for (
      const run of [() => reportMain([dir]), () => trainMain(["--resume", dir, "--backend", "cpu"])]
    ) {
      const broken = await captured(run);
      equal(broken.value, 1);
      match(broken.err, /Cannot read metrics '.*metrics\.jsonl': line 2 is not valid JSON\n$/);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("train task: a term with 'until' is computed only while it is on", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    const r = await train([
      "experiments/47c97768.ts",
      "--out",
      root,
      "--max-steps",
      "3",
      "--set",
      "losses.generator.identity.until=1",
    ]);
    equal(r.value, 0, r.err);
    match(r.out, /G terms {4}.*identity ×5 \(iterations 0–1\)/);
    const m = await readMetrics(`${onlyRun(root, "47c97768")}/metrics.jsonl`);
    deepEqual(m.map((x) => "G.identity" in x.terms), [true, false, false]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("train task: --help lists every flag; bad input is one line without a stack trace", async () => {
  const help = await captured(() => trainMain(["--help"]));
  equal(help.value, 0);
  for (
    const flag of [
      "--set",
      "--data",
      "--backend",
      "--threads",
      "--max-steps",
      "--max-time",
      "--resume",
      "--force",
      "--out",
      "--help",
    ]
  ) match(help.out, new RegExp(`^  ${flag} `, "m"));
  const cases: [string[], RegExp][] = [
    [
      ["experiments/9ada9179.ts", "--set", "trainer.batchsize=4"],
      /^Cannot set 'trainer.batchsize': unknown key; the nearest valid key is 'trainer.batchSize'\n$/,
    ],
    [["experiments/9ada9179.ts", "--max-time", "soon"], /^Invalid --max-time 'soon'/],
    [["experiments/9ada9179.ts", "--max-steps", "0"], /^Invalid --max-steps '0'/],
    [["experiments/9ada9179.ts", "--backend", "gpu"], /^Invalid --backend 'gpu'/],
    [["experiments/nope.ts"], /^Cannot load experiment 'experiments\/nope.ts': file not found\n$/],
    [["--resume", "/nonexistent/run"], /^Cannot read run '\/nonexistent\/run': no config.yaml/],
    [
      ["experiments/9ada9179.ts", "--backend", "cpu", "--data", "/nonexistent/data.csv"],
      /^Cannot (load dataset|read manifest)/,
    ],
  ];
  for (const [args, expected] of cases) {
    const r = await captured(() => trainMain(args));
    equal(r.value, 1, args.join(" "));
    match(r.err.replace(/^voxlab: backend .*\n/, ""), expected);
    ok(!/\n\s+at /.test(r.err), `stack trace for ${args.join(" ")}: ${r.err}`);
  }
  equal(tf.getBackend(), "cpu");
  equal(parseDuration("90"), 90);
  equal(parseDuration("20m"), 1200);
  equal(parseDuration("1.5h"), 5400);
});

Deno.test("train task: a setting refused at set-up leaves no empty run directory", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    const r = await train([
      "experiments/9ada9179.ts",
      "--out",
      root,
      "--set",
      "trainer.batchSize=99",
    ]);
    equal(r.value, 1);
    match(r.err, /^Cannot sample pairs: batch size 99 exceeds/m);
    deepEqual([...Deno.readDirSync(root)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the experiment's label spec decides the schema: inferred, condition-only or fixed", async () => {
  const load = async (sets: string[]) =>
    (await loadExperimentData(
      applyOverrides(ablation, [...TINY_SET, `data.dataset=${manifest}`, ...sets]),
      {
        cacheDir: null,
        progress: false,
      },
    )).schema;
  const inferred = await load([]);
  deepEqual([inferred.nIn, inferred.nOut], [5, 5]); // speaker s1..s3, gender f, m
  const conditioned = await load(["data.labels.conditionOnly=[gender]"]);
  deepEqual([conditioned.nIn, conditioned.nOut], [5, 3]);
  const fixed = await load([
    "data.labels.attributes=[{name: speaker, values: [s1, s2, s3, s4], classified: true}, " +
    "{name: gender, values: [f, m], classified: false}]",
  ]);
  deepEqual([fixed.nIn, fixed.nOut], [6, 4]);
});

Deno.test("Trainer: an iteration leaves tf.memory().numTensors unchanged", async () => {
  const exp = applyOverrides(ablation, [...TINY_SET, `data.dataset=${manifest}`]);
  const dataset = await loadExperimentData(exp, { cacheDir: null, progress: false });
  const trainer = buildTrainer(exp, dataset);
  try {
    trainer.step({ iteration: 0, epoch: 0, iterInEpoch: 0 });
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 3; i++) trainer.step({ iteration: i, epoch: 0, iterInEpoch: i });
    equal(tf.memory().numTensors, before);
    trainer.save();
    equal(tf.memory().numTensors, before);
  } finally {
    trainer.dispose();
  }
});

Deno.test("train task: SIGTERM stops after the iteration with a checkpoint and a report", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "tasks/train.ts",
        "experiments/9ada9179.ts",
        "--out",
        root,
        ...tinyArgs([]),
      ],
      cwd: new URL(".", repo).pathname,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    // Wait until two iterations are logged, then ask it to stop.
    const deadline = Date.now() + 40_000;
    let lines = 0;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        lines = (await readMetrics(`${onlyRun(root)}/metrics.jsonl`)).length;
      } catch { /* not started yet */ }
      if (lines >= 2) break;
    }
    ok(lines >= 2, "the run did not start");
    child.kill("SIGTERM");
    const out = await output;
    const stdout = new TextDecoder().decode(out.stdout);
    // A scheduler's stop request that was honoured: exit 0 (Ctrl-C gives 130).
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const dir = onlyRun(root);
    const m = stdout.match(/^Training interrupted at iteration (\d+); resume with --resume (.+)$/m);
    ok(m, stdout);
    equal(m[2], dir);
    const iteration = Number(m[1]);
    equal((await readCheckpoint(`${dir}/checkpoint.vxck`)).state.iteration, iteration);
    equal((await readMetrics(`${dir}/metrics.jsonl`)).length, iteration);
    equal(JSON.parse(await Deno.readTextFile(`${dir}/run.json`)).status, "signal");
    match(await Deno.readTextFile(`${dir}/report.md`), /stopped by a signal/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("train: a run killed after a checkpoint leaves run.json agreeing with the checkpoint", async () => {
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    const exp = applyOverrides(ablation, [
      ...TINY_SET,
      `data.dataset=${manifest}`,
      "trainer.checkpointMinutes=1e-9",
    ]);
    // The process "dies" while showing iteration 3, after the checkpoints of iterations 1 and 2.
    const write = (text: string) => {
      if (text.includes(" it 3/")) throw new Error("killed");
    };
    await rejects(
      trainExperiment(exp, {
        root,
        maxSteps: 10,
        log: () => {},
        progress: { write, inPlace: false, intervalMs: 0 },
      }),
      /killed/,
    );
    const dir = onlyRun(root);
    const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    const ckpt = await readCheckpoint(`${dir}/checkpoint.vxck`);
    equal(ckpt.state.iteration, 2);
    equal(info.iteration, 2);
    equal(info.status, "running");
    ok(info.elapsedSeconds > 0);
    equal(info.elapsedSeconds, ckpt.state.elapsed);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "tiny corpus cleanup",
  fn: async () => await Deno.remove(corpusDir, { recursive: true }),
});
