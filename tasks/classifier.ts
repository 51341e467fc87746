/**
 * `deno task classifier [--rate 8000] [--size 64] [--architecture tdnn] [--steps 300] [--widths 64,64]`
 * `deno task classifier --run <run dir> [--architecture cnn] [--seed 1]`
 *
 * Trains the independent speaker classifier the diagnostics use
 * (`lib/eval/speaker_classifier.ts`) on the built-in corpus's training split
 * (fresh random crops of whole utterances, as the probe does) and prints its
 * accuracy on crops of the held-out sentences (4 seeded random crops per
 * utterance) and the training time: how far its verdict on converted speech
 * can be trusted at these features.
 *
 * With `--run`, it judges a trained run instead: a classifier of the chosen
 * architecture and seed is trained on the run's training split, exactly as the
 * run's diagnostics train theirs, and scores the run's generator on the same
 * accuracy set (held-out utterances converted to every other speaker). A
 * second classifier that agrees with the run's own figure says the figure is
 * about the conversions, not about one classifier.
 *
 * @module
 */
import { BACKEND_NAMES, BackendError, initBackend } from "../lib/backend/init.ts";
import { loadDemoCorpus } from "../lib/data/dataset.ts";
import { DataError } from "../lib/data/errors.ts";
import { sliceFrames } from "../lib/data/segments.ts";
import { splitDataset } from "../lib/data/split.ts";
import { spectrogramsToTensor } from "../lib/data/tensors.ts";
import { ConvertError } from "../lib/eval/convert.ts";
import { evaluateDiagnostics } from "../lib/eval/diagnostics/evaluate.ts";
import { buildProbe } from "../lib/eval/diagnostics/probe.ts";
import { SpeakerClassifier } from "../lib/eval/speaker_classifier.ts";
import { Rng } from "../lib/random.ts";
import { loadRunGenerator } from "../lib/runs/load_run.ts";
import { loadExperimentData } from "../lib/runs/trainer.ts";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const ARCHITECTURES = ["tdnn", "cnn", "pooled"] as const;

const USAGE = `Usage: deno task classifier [options]
       deno task classifier --run <run dir> [--architecture <a>] [--seed <n>] [--steps <n>]

Train the diagnostics' independent speaker classifier on the built-in corpus's
training split and print its accuracy on held-out sentences.

With --run, judge a trained run's conversions with a classifier of your choice:
it is trained on the run's training split as the run's diagnostics train
theirs, then scores the run's generator on the same held-out conversions
(every held-out utterance to every other speaker). Compare its figure with the
run's own (report.md, diagnostics.jsonl).

Options:
  --run <dir>           a run directory (or runs/<exp> for its latest run)
  --rate <hz>           sample rate of the features (default: 8000; not with --run)
  --size <n>            bins and frames of a crop (default: 64; not with --run)
  --architecture <a>    ${ARCHITECTURES.join(", ")} (default: tdnn)
  --steps <n>           training steps (default: 300)
  --seed <n>            seed of the classifier's crops and weights, with --run (default: 0, the run's)
  --widths <a,b,…>      conv widths (default: the architecture's; not with --run)
  --backend <name>      ${BACKEND_NAMES.join(", ")} (default: wasm)
  --threads <n>         wasm threads (default: 1)
  --help                show this help`;

/** Run the classifier task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "classifier",
    usage: USAGE,
    prefix: "classifier: ",
    options: {
      run: { type: "string" },
      rate: { type: "string" },
      size: { type: "string" },
      architecture: { type: "string", default: "tdnn" },
      steps: { type: "string", default: "300" },
      seed: { type: "string" },
      widths: { type: "string" },
      backend: { type: "string", default: "wasm" },
      threads: { type: "string", default: "1" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  if (parsed.positionals.length > 0) {
    return usageError(
      cli,
      `Cannot train classifier: unexpected argument '${parsed.positionals[0]}'`,
    );
  }
  if (v.run !== undefined) {
    const stray = (["rate", "size", "widths"] as const).find((k) => v[k] !== undefined);
    if (stray) return usageError(cli, `Cannot judge a run: --${stray} comes from the run`);
  } else if (v.seed !== undefined) {
    return usageError(cli, "Cannot train classifier: --seed needs --run");
  }
  const known = [ConvertError, DataError, BackendError, RangeError];
  return await runKnown(known, async () => {
    const architecture = choiceFlag("--architecture", v.architecture, ARCHITECTURES);
    const steps = intFlag("--steps", v.steps);
    const threads = intFlag("--threads", v.threads, 0);
    const backend = choiceFlag("--backend", v.backend, BACKEND_NAMES);
    await initBackend({ backend, threads });
    if (v.run !== undefined) {
      const seed = v.seed === undefined ? 0 : intFlag("--seed", v.seed, 0);
      await judgeRun(userPath(v.run), { architecture, steps, seed });
    } else {
      await scoreOnHeldOut({
        architecture,
        steps,
        rate: intFlag("--rate", v.rate ?? "8000"),
        size: intFlag("--size", v.size ?? "64", 8),
        ...(v.widths ? { widths: v.widths.split(",").map((w) => intFlag("--widths", w)) } : {}),
      });
    }
    return 0;
  }, { prefix: cli.prefix });
}

/** Train on the built-in corpus's training split; print the accuracy on held-out crops. */
async function scoreOnHeldOut(
  o: {
    architecture: (typeof ARCHITECTURES)[number];
    steps: number;
    rate: number;
    size: number;
    widths?: number[];
  },
): Promise<void> {
  const { size } = o;
  const ds = await loadDemoCorpus({
    features: { bins: size, segmentFrames: size, sampleRate: o.rate },
  });
  const { train, test, testKeys } = splitDataset(ds, { heldOut: 0.25, seed: 0 });
  const speakers = ds.valuesOf("speaker");
  const classOf = (i: { values: Record<string, unknown> }) =>
    speakers.indexOf(i.values.speaker as string);
  const rng = new Rng(1);
  const crops = test.items.flatMap((it) => {
    const s = it.spectrogram();
    return Array.from(
      { length: 4 },
      () => sliceFrames(s, s.frames > size ? rng.int(s.frames - size + 1) : 0, size),
    );
  });
  const labels = test.items.flatMap((it) => Array(4).fill(classOf(it)) as number[]);
  const x = spectrogramsToTensor(crops);
  const t0 = performance.now();
  const clf = SpeakerClassifier.trainOnUtterances(
    train.items.map((i) => i.spectrogram()),
    train.items.map(classOf),
    {
      cropFrames: size,
      steps: o.steps,
      architecture: o.architecture,
      ...(o.widths ? { widths: o.widths } : {}),
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `${o.architecture} at ${o.rate} Hz, ${size}×${size}: trained on ${train.size} utterances in ${
      seconds.toFixed(1)
    } s; accuracy on ${crops.length} crops of held-out sentences (${testKeys.join(", ")}): ${
      clf.accuracy(x, labels).toFixed(3)
    }`,
  );
  x.dispose();
  clf.dispose();
}

/** Judge a run's generator with a freshly trained classifier (see the module doc). */
async function judgeRun(
  path: string,
  o: { architecture: (typeof ARCHITECTURES)[number]; steps: number; seed: number },
): Promise<void> {
  const run = await loadRunGenerator(path, {
    progress: false,
    log: (line) => console.error(`classifier: ${line}`),
  });
  try {
    const exp = run.experiment;
    const dataset = await loadExperimentData(exp, { progress: false });
    const { train, test, testKeys } = splitDataset(dataset, exp.data.split);
    if (test.size === 0) {
      throw new RangeError(
        `Cannot judge run '${run.runDir}': its experiment holds no sentences out (data.split.heldOut is 0)`,
      );
    }
    const t0 = performance.now();
    const built = buildProbe(test, { generator: run.generator }, {
      train,
      classifierSteps: o.steps,
      classifierArchitecture: o.architecture,
      seed: o.seed,
      pairs: 0,
    });
    try {
      const seconds = (performance.now() - t0) / 1000;
      const r = evaluateDiagnostics(built.probe, run.iteration);
      console.log(
        `classifier: ${o.architecture} (seed ${o.seed}), trained on ${train.size} utterances in ${
          seconds.toFixed(1)
        } s: ${fmt(r.realAccuracy?.classifier)} on real held-out speech (sentences ${
          testKeys.join(", ")
        }); ${fmt(r.accuracy.classifier)} on ${r.conversions} conversions by ${exp.meta.id} ` +
          `at iteration ${run.iteration} (${run.runDir})`,
      );
    } finally {
      built.dispose();
    }
  } finally {
    run.generator.dispose();
  }
}

function fmt(x: number | undefined): string {
  return x === undefined ? "–" : x.toFixed(3);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
