/**
 * `deno task convert <run dir | checkpoint> --input <wav or folder> --target speaker=<id>[,attr=value] --out <dir>`
 *
 * Converts whole utterances with a trained run's generator: spectrogram →
 * G over overlapping windows → Griffin-Lim → WAV.
 *
 * @module
 */
import { BACKEND_NAMES, BackendError, initBackend } from "../lib/backend/mod.ts";
import { DataError } from "../lib/data/errors.ts";
import { LabelError } from "../lib/data/labels.ts";
import {
  ConvertError,
  convertFiles,
  listAudioInputs,
  parseTarget,
  targetLabels,
} from "../lib/eval/convert.ts";
import { loadRunGenerator } from "../lib/runs/load_run.ts";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE =
  `Usage: deno task convert <run dir | checkpoint> --input <wav or folder> --target speaker=<id>[,attr=value] [options]

Convert speech with a trained run's generator: each input's spectrogram is
converted in overlapping windows of the run's width, stitched back into the
whole utterance, and turned into audio with Griffin-Lim. <run dir> may be
runs/<exp> for its latest run. The run's dataset is not needed: the label
schema and features come from the run's labels.json (older runs without it
load their dataset once, with a notice). An attribute the target leaves out
is taken from the run's data when it is the same for every label combination
matching the target (speaker=f1 brings f1's gender); otherwise it is unknown,
encoded as zeros in the input labels (gender=male alone leaves the speaker
unknown).

Options:
  --input <path>      a .wav/.flac/.mp3/.ogg file or a folder of them (searched recursively) (required)
  --target <spec>     attribute=value[,attribute=value], e.g. speaker=f1 (required)
  --out <dir>         where the converted WAVs go (default: converted)
  --iterations <n>    Griffin-Lim iterations (default: 60)
  --step <n>          frames between window starts (default: half the window)
  --backend <name>    ${BACKEND_NAMES.join(", ")} (default: auto)
  --threads <n>       wasm threads, 0 = one per core (default: 0)
  --help              show this help`;

/** Run the convert task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "convert",
    usage: USAGE,
    prefix: "convert: ",
    options: {
      input: { type: "string" },
      target: { type: "string" },
      out: { type: "string", default: "converted" },
      iterations: { type: "string", default: "60" },
      step: { type: "string" },
      backend: { type: "string", default: "auto" },
      threads: { type: "string", default: "0" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const { target: targetSpec } = v;
  const input = v.input === undefined ? undefined : userPath(v.input);
  const out = userPath(v.out);
  if (parsed.positionals.length !== 1 || !input || !targetSpec) {
    return usageError(
      cli,
      "Cannot convert: expected a run directory or checkpoint, --input and --target",
    );
  }
  const known = [ConvertError, DataError, LabelError, BackendError, RangeError];
  return await runKnown(known, async () => {
    const backend = choiceFlag("--backend", v.backend, BACKEND_NAMES);
    const iterations = intFlag("--iterations", v.iterations);
    const threads = intFlag("--threads", v.threads, 0);
    const inputs = await listAudioInputs(input);
    await initBackend({ backend, threads });
    const run = await loadRunGenerator(userPath(parsed.positionals[0]!), {
      progress: false,
      log: (line) => console.error(`${cli.prefix}${line}`),
    });
    try {
      const target = parseTarget(targetSpec, run.schema);
      const labels = targetLabels(target, run);
      const suffix = "_to_" + Object.values(target).join("_").replace(/[^A-Za-z0-9._-]+/g, "-");
      const width = run.features.segmentFrames;
      console.log(
        `convert: ${inputs.length} file(s) with ${run.experiment.meta.id} at iteration ${run.iteration} ` +
          `(${run.runDir}) to ${targetSpec}`,
      );
      const result = await convertFiles(
        (x, c) => run.generator.apply(x, c, { training: false }),
        { inputs, labels, outDir: out },
        {
          features: run.features,
          width,
          iterations,
          suffix,
          ...(v.step ? { step: intFlag("--step", v.step) } : {}),
        },
      );
      for (const s of result.skipped) console.error(`convert: skipped '${s.path}': ${s.problem}`);
      console.log(
        `convert: wrote ${result.written.length} file(s) to ${out}` +
          (result.skipped.length ? `, skipped ${result.skipped.length}` : ""),
      );
      return result.written.length > 0 ? 0 : 1;
    } finally {
      run.generator.dispose();
    }
  }, { prefix: cli.prefix });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
