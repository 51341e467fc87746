/**
 * `deno task train <experiment.ts>`: train an experiment into
 * `runs/<experiment>/<timestamp>/`, or continue a run with `--resume`.
 *
 * @module
 */
import { BACKEND_NAMES, BackendError, initBackend } from "../lib/backend/mod.ts";
import { DataError } from "../lib/data/errors.ts";
import { LabelError } from "../lib/data/labels.ts";
import {
  applyOverrides,
  type Experiment,
  ExperimentLoadError,
  loadExperiment,
  OverrideError,
} from "../lib/experiment/mod.ts";
import { runExperimentConfig, trainExperiment } from "../lib/experiment/run.ts";
import { RunDirError } from "../lib/experiment/run_dir.ts";
import { CheckpointError } from "../lib/train/checkpoint.ts";
import { IoError, LockedError } from "../lib/io/mod.ts";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task train <experiment.ts> [options]
       deno task train --resume <run dir> [<experiment.ts>] [options]

Train an experiment into <out>/<experiment id>/<timestamp>/ (config.yaml,
run.json, metrics.jsonl, checkpoint.vxck, samples/, report.md). With no data
named, the built-in corpus is used (synthesized on first use).

Options:
  --set key=value     override a config field by dot path (repeatable), e.g.
                      --set trainer.batchSize=4 --set model.generator.widths=[8,16,32,64]
  --data <path>       dataset: a manifest (.yaml/.csv), a folder holding one, or a
                      VCTK-style folder; 'demo' for the built-in corpus
  --backend <name>    ${BACKEND_NAMES.join(", ")} (default auto)
  --threads <n>       wasm threads, 0 = one per core (default 0)
  --max-steps <n>     stop after n iterations (a checkpoint and report are written)
  --max-time <t>      stop after t of training: seconds, or with a unit: 90s, 20m, 1.5h
  --resume <run dir>  continue a run from its checkpoint; the experiment defaults to
                      the run's config.yaml
  --force             resume even if the config differs from the run's
  --out <dir>         root of the run directories (default runs, next to deno.json)

Relative paths are taken from the directory you run the task in.
  --help              show this help

Ctrl-C (SIGINT) or SIGTERM stops after the current iteration with a checkpoint;
a second Ctrl-C quits at once (the last checkpoint on disk is kept).`;

/** Parse a duration: plain seconds or a number with s, m or h. */
export function parseDuration(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)\s*(s|m|h)?$/);
  if (!m) {
    throw new RangeError(
      `Invalid --max-time '${text}': expected seconds or a number with s, m or h`,
    );
  }
  const unit = { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "train",
    usage: USAGE,
    options: {
      set: { type: "string", multiple: true, default: [] as string[] },
      data: { type: "string" },
      backend: { type: "string", default: "auto" },
      threads: { type: "string", default: "0" },
      "max-steps": { type: "string" },
      "max-time": { type: "string" },
      resume: { type: "string" },
      force: { type: "boolean", default: false },
      out: { type: "string" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  if (parsed.positionals.length > 1 || (parsed.positionals.length === 0 && !v.resume)) {
    return usageError(cli, "Cannot train: expected one experiment file");
  }
  const known = [
    ExperimentLoadError,
    OverrideError,
    RunDirError,
    CheckpointError,
    BackendError,
    DataError,
    LabelError,
    RangeError,
    SyntaxError, // a broken metrics.jsonl line, named by readMetrics
    IoError, // a full disk, a read-only --out: the path and the cause
    LockedError, // another process is writing the run
  ];
  return await runKnown(known, async () => {
    const backendName = choiceFlag("--backend", v.backend, BACKEND_NAMES);
    const threads = intFlag("--threads", v.threads, 0);
    const maxSteps = v["max-steps"] !== undefined
      ? intFlag("--max-steps", v["max-steps"])
      : undefined;
    const maxSeconds = v["max-time"] !== undefined ? parseDuration(v["max-time"]) : undefined;

    const resume = v.resume !== undefined ? userPath(v.resume) : undefined;
    let exp: Experiment = parsed.positionals[0]
      ? await loadExperiment(userPath(parsed.positionals[0]))
      : await runExperimentConfig(resume!);
    const overrides = [...v.set];
    if (v.data !== undefined) {
      overrides.push(`data.dataset=${v.data === "demo" ? "null" : userPath(v.data)}`);
    }
    exp = applyOverrides(exp, overrides);

    const backend = await initBackend({ backend: backendName, threads });
    const result = await trainExperiment(exp, {
      root: v.out !== undefined ? userPath(v.out) : userPath("runs", { base: "project" }),
      ...(resume ? { resume } : {}),
      force: v.force,
      ...(maxSteps !== undefined ? { maxSteps } : {}),
      ...(maxSeconds !== undefined ? { maxSeconds } : {}),
      backend: { name: backend.name, threads: backend.threads },
      overrides,
      handleSignals: true,
    });
    console.log(result.message);
    console.log(`voxlab: report ${result.report}`);
    return result.loop.reason === "non-finite" ? 1 : 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
