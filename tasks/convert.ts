/**
 * `deno task convert <run dir | checkpoint> --input <wav or folder> --target speaker=<id>[,attr=value] --out <dir>`
 *
 * Converts whole utterances with a trained run's generator: spectrogram →
 * G over overlapping windows → Griffin-Lim → WAV.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BACKEND_NAMES, BackendError, type BackendName, initBackend } from "../lib/backend/mod.ts";
import { DataError } from "../lib/data/errors.ts";
import { LabelError } from "../lib/data/labels.ts";
import {
  ConvertError,
  convertFiles,
  listAudioInputs,
  parseTarget,
  targetLabels,
} from "../lib/eval/convert.ts";
import { loadRunGenerator } from "../lib/eval/load_run.ts";

const USAGE =
  `Usage: deno task convert <run dir | checkpoint> --input <wav or folder> --target speaker=<id>[,attr=value] [options]

Convert speech with a trained run's generator: each input's spectrogram is
converted in overlapping windows of the run's width, stitched back into the
whole utterance, and turned into audio with Griffin-Lim. <run dir> may be
runs/<exp> for its latest run. Attributes the target leaves out (e.g. gender)
follow the target speaker's utterances in the run's data.

Options:
  --input <path>      a .wav/.flac file or a folder of them (searched recursively) (required)
  --target <spec>     attribute=value[,attribute=value], e.g. speaker=f1 (required)
  --out <dir>         where the converted WAVs go (default: converted)
  --iterations <n>    Griffin-Lim iterations (default: 60)
  --step <n>          frames between window starts (default: half the window)
  --backend <name>    ${BACKEND_NAMES.join(", ")} (default: auto)
  --threads <n>       wasm threads, 0 = one per core (default: 0)
  --help              show this help`;

function positiveInt(flag: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new ConvertError(`Invalid ${flag} '${text}': expected an integer >= ${min}`);
  }
  return n;
}

/** Run the convert task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        input: { type: "string" },
        target: { type: "string" },
        out: { type: "string", default: "converted" },
        iterations: { type: "string", default: "60" },
        step: { type: "string" },
        backend: { type: "string", default: "auto" },
        threads: { type: "string", default: "0" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    console.error(`convert: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1 || !v.input || !v.target) {
    console.error(
      `convert: expected a run directory or checkpoint, --input and --target\n\n${USAGE}`,
    );
    return 1;
  }
  try {
    if (!BACKEND_NAMES.includes(v.backend as BackendName)) {
      throw new ConvertError(
        `Invalid --backend '${v.backend}': expected one of ${BACKEND_NAMES.join(", ")}`,
      );
    }
    const iterations = positiveInt("--iterations", v.iterations);
    const threads = positiveInt("--threads", v.threads, 0);
    const inputs = await listAudioInputs(v.input);
    await initBackend({ backend: v.backend as BackendName, threads });
    const run = await loadRunGenerator(parsed.positionals[0]!, { progress: false });
    try {
      const target = parseTarget(v.target, run.dataset.schema);
      const labels = targetLabels(target, run.dataset);
      const suffix = "_to_" + Object.values(target).join("_").replace(/[^A-Za-z0-9._-]+/g, "-");
      const width = run.dataset.features.segmentFrames;
      console.log(
        `convert: ${inputs.length} file(s) with ${run.experiment.meta.id} at iteration ${run.iteration} ` +
          `(${run.runDir}) to ${v.target}`,
      );
      const result = await convertFiles(
        (x, c) => run.generator.apply(x, c, { training: false }),
        { inputs, labels, outDir: v.out },
        {
          features: run.dataset.features,
          width,
          iterations,
          suffix,
          ...(v.step ? { step: positiveInt("--step", v.step) } : {}),
        },
      );
      for (const s of result.skipped) console.error(`convert: skipped '${s.path}': ${s.problem}`);
      console.log(
        `convert: wrote ${result.written.length} file(s) to ${v.out}` +
          (result.skipped.length ? `, skipped ${result.skipped.length}` : ""),
      );
      return result.written.length > 0 ? 0 : 1;
    } finally {
      run.generator.dispose();
    }
  } catch (e) {
    if (
      e instanceof ConvertError || e instanceof DataError || e instanceof LabelError ||
      e instanceof BackendError || e instanceof RangeError
    ) {
      console.error(`convert: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
