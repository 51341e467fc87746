import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { initBackend } from "../mod.ts";
import { tf } from "../lib/deps.ts";
import { applyOverrides } from "../lib/experiment/overrides.ts";
import { trainExperiment } from "../lib/runs/train.ts";
import { ExportError, exportRun } from "../lib/runs/export_run.ts";
import { readCheckpoint } from "../lib/train/checkpoint.ts";
import { loadRunGenerator } from "../lib/runs/load_run.ts";
import {
  networksFromSafetensors,
  safetensorsToWeights,
  VOXLAB_VERSION,
  WEIGHTS_FORMAT,
} from "../lib/train/export_weights.ts";
import { readSafetensors } from "../lib/train/safetensors.ts";
import { main as exportMain } from "../tasks/export.ts";
import base from "../experiments/47c97768.ts";
import { captured } from "./capture.ts";
import { TINY_SET, writeTinyCorpus } from "./tiny_corpus.ts";

await initBackend({ backend: "cpu", quiet: true });

const manifest = await writeTinyCorpus(6);
const root = await Deno.makeTempDir({ prefix: "voxlab-export-" });
const trained = await trainExperiment(
  applyOverrides(base, [`data.dataset=${manifest}`, ...TINY_SET, "trainer.sampleEvery=0"]),
  { root, maxSteps: 2, progress: false, log: () => {} },
);
const runDir = trained.runDir;

Deno.test("export: a run's G and D with BatchNorm statistics, configs, layer plans and hash", async () => {
  const result = await exportRun(runDir);
  equal(result.out, `${runDir}/checkpoint.safetensors`);
  equal(result.iteration, 2);
  const contents = await readSafetensors(result.out);
  const checkpoint = await readCheckpoint(`${runDir}/checkpoint.vxck`);
  const meta = contents.metadata;
  equal(meta.format, WEIGHTS_FORMAT);
  equal(meta.voxlab_version, VOXLAB_VERSION);
  equal(meta.config_hash, checkpoint.state.configHash);
  equal(meta.experiment, "47c97768");
  equal(meta.iteration, "2");
  deepEqual(JSON.parse(meta.generator_config!).widths, [2, 4, 4]);
  deepEqual(JSON.parse(meta.discriminator_config!).widths, [2, 4, 4, 4]);
  const plan = JSON.parse(meta.generator_plan!) as { name: string; kind: string }[];
  deepEqual(plan.map((l) => l.name), [
    "down1",
    "down2",
    "down3",
    "merge",
    "res1",
    "up1",
    "up2",
    "up3",
  ]);
  ok(JSON.parse(meta.discriminator_plan!).some((l: { kind: string }) => l.kind === "cls"));
  deepEqual(JSON.parse(meta.labels!).attributes.map((a: { name: string }) => a.name), [
    "speaker",
    "gender",
  ]);
  // Names: generator.* / discriminator.* in the layer plan's order, "/" written as ".".
  const names = Object.keys(contents.tensors);
  equal(names[0], "generator.down1.conv.kernel");
  ok(names.includes("generator.down1.bn.running_var"));
  ok(names.includes("discriminator.cls.kernel.0"));
  // Every checkpoint weight of G and D, bit for bit, and nothing else.
  const back = safetensorsToWeights(contents);
  const fromCheckpoint = (prefix: string) =>
    Object.fromEntries(
      Object.entries(checkpoint.tensors)
        .filter(([n]) => n.startsWith(prefix))
        .map(([n, t]) => [n.slice(prefix.length), t.data]),
    );
  deepEqual(back.generator, fromCheckpoint("G/"));
  deepEqual(back.discriminator, fromCheckpoint("D/"));
  equal(
    contents.tensors["generator.down1.conv.kernel"]!.shape.join(),
    checkpoint.tensors["G/down1/conv/kernel"]!.shape.join(),
  );
  // BatchNorm statistics were trained (not the initial 0 / 1).
  ok(back.generator["down1/bn/running_mean"]!.some((v) => v !== 0));
});

Deno.test("export: networks rebuilt from the file compute what the run's networks compute", async () => {
  const out = `${root}/rebuilt.safetensors`;
  await exportRun(`${runDir}/checkpoint.vxck`, { out });
  const { generator, discriminator } = networksFromSafetensors(await readSafetensors(out), out);
  // The run's generator as conversion loads it: from the checkpoint, not the export.
  const run = await loadRunGenerator(runDir, { progress: false, log: () => {} });
  const x = tf.randomUniform([2, 16, 16, 1], 0, 1, "float32", 3) as tf.Tensor4D;
  const c = tf.tensor2d([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]]);
  try {
    const [y1, y2] = [generator, run.generator].map((g) =>
      tf.tidy(() => g.apply(x, c, { training: false }).dataSync())
    );
    deepEqual(y1, y2);
    deepEqual(generator.config, run.generator.config);
    const nOut =
      (await readCheckpoint(`${runDir}/checkpoint.vxck`)).tensors["D/cls/bias"]!.shape[0];
    equal(discriminator.config.nOut, nOut);
  } finally {
    tf.dispose([x, c]);
    for (const m of [generator, discriminator, run.generator]) m.dispose();
  }
});

Deno.test("export: errors are one line naming the path", async () => {
  await rejects(
    () => exportRun(`${root}/nowhere`),
    (e: Error) =>
      e instanceof ExportError && /^Cannot export '.*nowhere': no such file/.test(e.message),
  );
  const empty = await Deno.makeTempDir({ dir: root });
  await rejects(
    () => exportRun(empty),
    (e: Error) => e instanceof ExportError && /no config.yaml/.test(e.message),
  );
  const notCheckpoint = `${runDir}/config.yaml`;
  await rejects(
    () => exportRun(notCheckpoint),
    (e: Error) => e instanceof Error && /not a voxlab checkpoint/.test(e.message),
  );
  await rejects(
    () => exportRun(runDir, { format: "onnx" as never }),
    /unknown format 'onnx', expected one of safetensors/,
  );
});

Deno.test("export task: --help, a written file, one-line errors", async () => {
  const help = await captured(() => exportMain(["--help"]));
  equal(help.value, 0);
  ok(help.out.includes("--format") && help.out.includes("--out"));
  const out = `${root}/task.safetensors`;
  const ran = await captured(() => exportMain([runDir, "--format", "safetensors", "--out", out]));
  equal(ran.value, 0, ran.err);
  ok(ran.out.startsWith(`voxlab: wrote ${out} (`), ran.out);
  ok((await Deno.stat(out)).size > 0);
  for (
    const [args, pattern] of [
      [[runDir, "--format", "onnx"], /^Invalid --format 'onnx': expected one of safetensors$/],
      [[`${root}/missing`], /^Cannot export '.*missing': no such file or directory$/],
      [[], /^Cannot export: expected one run directory or checkpoint, got 0; see/],
      [[runDir, "--bogus"], /^Cannot parse arguments: Unknown option '--bogus'/],
    ] as const
  ) {
    const r = await captured(() => exportMain([...args]));
    equal(r.value, 1, args.join(" "));
    equal(r.err.trim().split("\n").length, 1, r.err);
    ok(pattern.test(r.err.trim()), r.err);
  }
});

Deno.test("export: clean up", async () => {
  await Deno.remove(root, { recursive: true });
  await Deno.remove(manifest.slice(0, manifest.lastIndexOf("/")), { recursive: true });
});
