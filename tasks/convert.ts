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
  targetSuffix,
} from "../lib/eval/convert.ts";
import { formatLevel, NORMALIZE_MODES } from "../lib/eval/levels.ts";
import { loadRunGenerator } from "../lib/runs/load_run.ts";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE =
  `Usage: deno task convert <run dir | checkpoint> --input <wav or folder> --target speaker=<id>[,attr=value] [options]
       deno task convert <run dir | checkpoint> --input <wav or folder> --resynth [options]

Convert speech with a trained run's generator: each input's spectrogram is
converted in overlapping windows of the run's width, stitched back into the
whole utterance, and turned into audio with Griffin-Lim. <run dir> may be
runs/<exp> for its latest run with a checkpoint (the run chosen is named). The run's dataset is not needed: the label
schema and features come from the run's labels.json (older runs without it
load their dataset once, with a notice). An attribute the target leaves out
is taken from the run's data when it is the same for every label combination
matching the target (speaker=f1 brings f1's gender); otherwise it is unknown,
encoded as zeros in the input labels (gender=male alone leaves the speaker
unknown).

Each output is brought to the input's loudness (RMS), with its peak kept
under -1 dBFS so nothing clips, and its level is printed. Existing outputs
are not replaced unless --overwrite.

Options:
  --input <path>      a .wav/.flac/.mp3/.ogg file or a folder of them (searched recursively) (required)
  --target <spec>     attribute=value[,attribute=value], e.g. speaker=f1 (required)
  --out <dir>         where the converted WAVs go (default: converted)
  --normalize <mode>  output level: input (the input's RMS, peak under -1 dBFS),
                      peak (peak at -1 dBFS) or off (as Griffin-Lim gives it; a
                      warning says how much clips) (default: input)
  --resynth           also write <name>_resynth.wav: the input's own spectrogram
                      through the same Griffin-Lim, to hear the vocoder alone
                      (--target may then be left out)
  --overwrite         replace existing output files
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
      normalize: { type: "string", default: "input" },
      resynth: { type: "boolean", default: false },
      overwrite: { type: "boolean", default: false },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const { target: targetSpec } = v;
  const input = v.input === undefined ? undefined : userPath(v.input);
  const out = userPath(v.out);
  if (parsed.positionals.length !== 1 || !input || (!targetSpec && !v.resynth)) {
    return usageError(
      cli,
      "Cannot convert: expected a run directory or checkpoint, --input and --target (or --resynth)",
    );
  }
  const known = [ConvertError, DataError, LabelError, BackendError, RangeError];
  return await runKnown(known, async () => {
    const backend = choiceFlag("--backend", v.backend, BACKEND_NAMES);
    const iterations = intFlag("--iterations", v.iterations);
    const threads = intFlag("--threads", v.threads, 0);
    const normalize = choiceFlag("--normalize", v.normalize, NORMALIZE_MODES);
    const inputs = await listAudioInputs(input);
    await initBackend({ backend, threads });
    const run = await loadRunGenerator(userPath(parsed.positionals[0]!), {
      progress: false,
      log: (line) => console.error(`${cli.prefix}${line}`),
    });
    try {
      if (run.note) console.error(`${cli.prefix}${parsed.positionals[0]}: ${run.note}`);
      const target = targetSpec ? parseTarget(targetSpec, run.schema) : null;
      const labels = target ? targetLabels(target, run) : new Float32Array(run.schema.nIn);
      const width = run.features.segmentFrames;
      console.log(
        `convert: ${inputs.length} file(s) with ${run.experiment.meta.id} at iteration ${run.iteration} ` +
          `(${run.runDir}) ${target ? `to ${targetSpec}` : "resynthesized only"}`,
      );
      const result = await convertFiles(
        target ? (x, c) => run.generator.apply(x, c, { training: false }) : null,
        { inputs, labels, outDir: out },
        {
          features: run.features,
          width,
          iterations,
          ...(target ? { suffix: targetSuffix(target) } : {}),
          normalize,
          resynth: v.resynth,
          overwrite: v.overwrite,
          ...(v.step ? { step: intFlag("--step", v.step) } : {}),
        },
      );
      for (const s of result.skipped) console.error(`convert: skipped '${s.path}': ${s.problem}`);
      for (const w of result.written) {
        const raw = normalize === "off"
          ? ""
          : `; Griffin-Lim gave ${formatLevel(w.raw)}, gain ${w.gainDb >= 0 ? "+" : ""}${
            w.gainDb.toFixed(1)
          } dB`;
        console.log(
          `convert: ${w.path}: ${formatLevel(w.level)} (input RMS ${
            w.input.rmsDb.toFixed(1)
          } dBFS${raw})`,
        );
        if (w.level.clipped > 0) {
          console.error(
            `convert: warning: ${w.path} clips (${(100 * w.level.clipped).toFixed(1)}% of ` +
              `samples past full scale); --normalize input or peak avoids it`,
          );
        }
      }
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
