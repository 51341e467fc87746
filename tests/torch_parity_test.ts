/**
 * PyTorch parity: voxlab's exported weights, loaded by tools/torch/voxlab_torch.py, give the
 * same outputs in PyTorch as in voxlab (within 1e-4), and the bench's PyTorch reference keeps
 * its JSON interface.
 *
 * Runs when a Python with torch is available (`VOXLAB_PYTHON`, else `python3`); otherwise the
 * tests are reported as ignored, unless `VOXLAB_REQUIRE_TORCH=1` (CI sets it), which makes a
 * missing torch a failure.
 */
import { deepEqual, equal, fail, ok } from "node:assert/strict";
import { initBackend } from "../mod.ts";
import { tf } from "../lib/deps.ts";
import { Rng } from "../lib/random.ts";
import {
  Discriminator,
  Generator,
  resolveDiscriminatorConfig,
  resolveGeneratorConfig,
} from "../lib/model/mod.ts";
import seed from "../experiments/9ada9179.ts";
import {
  criticTerms,
  type GanBatch,
  ganStep,
  generatorTerms,
  RMSprop,
  weightsToSafetensors,
  writeSafetensors,
} from "../lib/train/mod.ts";

await initBackend({ backend: "cpu", quiet: true });

const PYTHON = Deno.env.get("VOXLAB_PYTHON") || "python3";
const REQUIRE = Deno.env.get("VOXLAB_REQUIRE_TORCH") === "1";
const TOOLS = new URL("../tools/torch/", import.meta.url).pathname;
const TOLERANCE = 1e-4;

async function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Without numpy, importing torch warns on stderr; the checks here read stderr's lines.
  const env = { PYTHONWARNINGS: "ignore" };
  const out = await new Deno.Command(PYTHON, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** torch's version, or why there is none. */
async function probeTorch(): Promise<{ version: string } | { missing: string }> {
  try {
    const r = await python(["-c", "import torch; print(torch.__version__)"]);
    if (r.code === 0) return { version: r.stdout.trim() };
    return { missing: `'${PYTHON}' cannot import torch` };
  } catch {
    return { missing: `no '${PYTHON}' on PATH` };
  }
}

const probe = await probeTorch();
const skip = "missing" in probe && !REQUIRE;
if (skip) {
  console.log(`torch parity: skipped (${probe.missing}; set VOXLAB_PYTHON or install torch)`);
}

function requireTorch(): void {
  if ("missing" in probe) fail(`VOXLAB_REQUIRE_TORCH=1 but ${probe.missing}`);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  equal(a.length, b.length, `${what}: ${a.length} values in voxlab, ${b.length} in PyTorch`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test({
  name: "torch parity: an export loads in PyTorch and G, D give voxlab's outputs within 1e-4",
  ignore: skip,
  async fn() {
    requireTorch();
    const rng = new Rng("torch-parity");
    // Not the defaults everywhere, so that each config field must reach PyTorch: uneven
    // widths, a non-square input, edge kernel 5, BatchNorm decay 0.8 / epsilon 1e-3, and more
    // than 256 classification outputs (two kernel blocks).
    const generator = new Generator({
      height: 16,
      width: 8,
      widths: [3, 5, 6],
      resBlocks: 2,
      nIn: 4,
      edgeKernel: 5,
      mergeKernel: 3,
      batchNorm: { decay: 0.8, epsilon: 1e-3 },
    }, { rng: rng.fork("G") });
    const discriminator = new Discriminator({
      height: 16,
      width: 8,
      widths: [3, 4, 5],
      featureLayer: 2,
      slope: 0.1,
      advKernel: 3,
      nOut: 300,
    }, { rng: rng.fork("D") });
    const dir = await Deno.makeTempDir({ prefix: "voxlab-torch-" });
    const data = rng.fork("data");
    const labels = (n: number) =>
      tf.tensor2d(data.uniformArray(2 * n).map((u) => u < 0.4 ? 1 : 0), [2, n]);
    const batches = (): GanBatch => ({
      xA: tf.tensor4d(data.uniformArray(2 * 16 * 8), [2, 16, 8, 1]),
      cA: labels(4),
      xB: tf.tensor4d(data.uniformArray(2 * 16 * 8), [2, 16, 8, 1]),
      cB: labels(4),
      yB: tf.tensor2d(data.uniformArray(600).map((u) => u < 0.3 ? 1 : u < 0.6 ? 0 : -1), [2, 300]),
    });
    const parts = {
      generator,
      discriminator,
      generatorOptimizer: new RMSprop(generator.trainableVariables, { learningRate: 1e-2 }),
      discriminatorOptimizer: new RMSprop(discriminator.trainableVariables, { learningRate: 1e-2 }),
    };
    try {
      // Two GAN iterations with a large learning rate: kernels, γ, β and the running
      // statistics all move away from their initial values.
      for (let i = 0; i < 2; i++) {
        ganStep(parts, batches, {
          generatorTerms: generatorTerms({ adversarial: 1, classification: 1, reconstruction: 10 }),
          criticTerms: criticTerms({ adversarial: 1, gradientPenalty: 10, classification: 1 }),
          nCritic: 2,
          iteration: i,
          rng: rng.fork(`step${i}`),
        });
      }
      const before = generator.getWeights();
      ok(before["down2/bn/running_var"]!.some((v) => Math.abs(v - 1) > 1e-3), "running var moved");
      ok(before["res1/conv2/bn/gamma"]!.some((v) => Math.abs(v - 1) > 1e-3), "gamma moved");

      const weightsPath = `${dir}/weights.safetensors`, inputsPath = `${dir}/inputs.safetensors`;
      await writeSafetensors(
        weightsPath,
        weightsToSafetensors(generator, discriminator, { configHash: "parity" }),
      );
      const x = data.uniformArray(2 * 16 * 8);
      const c = Float32Array.from([1, 0, 1, 0, 0, 1, 0, 0]);
      await writeSafetensors(inputsPath, {
        tensors: {
          x: { dtype: "F32", shape: [2, 16, 8, 1], data: x },
          c: { dtype: "F32", shape: [2, 4], data: c },
        },
        metadata: {},
      });

      // voxlab: eval mode, then training mode (which updates the running statistics), then D.
      const xt = tf.tensor4d(x, [2, 16, 8, 1]), ct = tf.tensor2d(c, [2, 4]);
      const read = (t: tf.Tensor) => {
        const v = t.dataSync().slice();
        t.dispose();
        return v;
      };
      const gEval = read(generator.apply(xt, ct, { training: false }));
      const gTrain = read(generator.apply(xt, ct, { training: true }));
      const after = generator.getWeights();
      const d = discriminator.apply(xt);
      const [dAdv, dCls, dFeatures] = [read(d.adv), read(d.cls), read(d.features)];
      tf.dispose([xt, ct]);

      // A safetensors file that is not a voxlab export: one line naming the file.
      const wrong = await python([`${TOOLS}apply_export.py`, inputsPath, inputsPath]);
      equal(wrong.code, 1);
      equal(
        wrong.stderr.trim(),
        `apply_export: Cannot load '${inputsPath}': metadata has no 'generator_config' (not a voxlab export?)`,
      );
      const r = await python([`${TOOLS}apply_export.py`, weightsPath, inputsPath]);
      equal(r.code, 0, `apply_export.py failed: ${r.stderr.trim()}`);
      const torch = JSON.parse(r.stdout);
      equal(torch.config_hash, "parity");
      const diffs: Record<string, number> = {
        "G eval": maxAbsDiff(gEval, torch.g_eval, "G eval"),
        "G eval (factored merge)": maxAbsDiff(gEval, torch.g_eval_factored, "G eval factored"),
        "G train": maxAbsDiff(gTrain, torch.g_train, "G train"),
        "D adv": maxAbsDiff(dAdv, torch.d_adv, "D adv"),
        "D cls": maxAbsDiff(dCls, torch.d_cls, "D cls"),
        "D features": maxAbsDiff(dFeatures, torch.d_features, "D features"),
      };
      const running = Object.keys(after).filter((n) => /running_(mean|var)$/.test(n));
      deepEqual(Object.keys(torch.running).sort(), running.sort());
      for (const name of running) {
        diffs[name] = maxAbsDiff(after[name]!, torch.running[name], name);
      }
      for (const [what, diff] of Object.entries(diffs)) {
        ok(diff <= TOLERANCE, `${what}: max |voxlab − PyTorch| = ${diff} > ${TOLERANCE}`);
      }
      // The comparison is not vacuous: outputs vary, and training mode differs from eval.
      ok(maxAbsDiff(gEval, gTrain, "G eval vs train") > 1e-3);
      ok(Math.max(...dCls) - Math.min(...dCls) > 1e-3);
    } finally {
      parts.generatorOptimizer.dispose();
      parts.discriminatorOptimizer.dispose();
      generator.dispose();
      discriminator.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "torch parity: the bench's PyTorch reference prints its one JSON object",
  ignore: skip,
  async fn() {
    requireTorch();
    const r = await python([
      `${TOOLS}bench_iteration.py`,
      ...["--threads", "1", "--repeats", "1", "--warmup", "0"],
      ...["--labels-in", "5", "--labels-out", "7", "--size", "32"],
    ]);
    equal(r.code, 0, `bench_iteration.py failed: ${r.stderr.trim()}`);
    const lines = r.stdout.trim().split("\n");
    equal(lines.length, 1, `expected one line, got ${lines.length}`);
    const result = JSON.parse(lines[0]!);
    equal(result.torch, (probe as { version: string }).version);
    equal(result.threads, 1);
    for (const key of ["generator_forward_s", "iteration_s"]) {
      equal(result[key].length, 1, key);
      ok(result[key].every((s: number) => s > 0), key);
    }
    ok(result.peak_rss_mib > 0);
    const bad = await python([`${TOOLS}bench_iteration.py`, "--size", "33"]);
    equal(bad.code, 2);
    equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  },
});

Deno.test({
  name: "torch parity: the PyTorch bench's sizes, terms and optimizer are the experiment files'",
  ignore: skip,
  async fn() {
    requireTorch();
    const r = await python([
      "-c",
      [
        "import json, sys",
        `sys.path.insert(0, ${JSON.stringify(TOOLS)})`,
        "import bench_iteration as b, voxlab_torch as v",
        "print(json.dumps({'settings': b.SETTINGS, 'g': v.DEFAULT_GENERATOR, 'd': v.DEFAULT_DISCRIMINATOR}))",
      ].join("\n"),
    ]);
    equal(r.code, 0, r.stderr);
    const torch = JSON.parse(r.stdout);
    const weights = (terms: Record<string, { weight: unknown }>) =>
      Object.fromEntries(Object.entries(terms).map(([name, t]) => [name, t.weight]));
    const { kind, lr, alpha, eps } = seed.optimizers.discriminator as unknown as Record<
      string,
      unknown
    >;
    deepEqual(torch.settings, {
      batch: seed.trainer.batchSize,
      nCritic: seed.trainer.nCritic,
      critic: weights(seed.losses.critic),
      generator: weights(seed.losses.generator),
      optimizer: { kind, lr, alpha, eps },
    });
    deepEqual(seed.optimizers.generator, seed.optimizers.discriminator);
    // The default networks: the experiment's sizes at 256×256 and the bench's label counts.
    deepEqual(
      torch.g,
      resolveGeneratorConfig({ ...seed.model.generator, height: 256, width: 256, nIn: 1479 }),
    );
    deepEqual(
      torch.d,
      resolveDiscriminatorConfig({
        ...seed.model.discriminator,
        height: 256,
        width: 256,
        nOut: 1476,
      }),
    );
  },
});
