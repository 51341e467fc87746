/**
 * One training job from the training command line: the flags of
 * `deno task train` ({@linkcode TRAIN_FLAGS}), read into a
 * {@linkcode TrainJob} and run ({@linkcode runTrainJob}).
 *
 * Run as a script it is the entry point of a training child process (a sweep
 * starts one per grid point), with the task's flags and exit codes:
 * `deno run -A lib/runs/train_main.ts <experiment.ts> [--set key=value …]
 * [--data path] [--backend name] [--threads n] [--max-steps n] [--max-time t]
 * [--out dir]`; paths are taken as given.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BACKEND_NAMES, BackendError, type BackendName, initBackend } from "../backend/init.ts";
import { DataError } from "../data/errors.ts";
import { LabelError } from "../data/labels.ts";
import { ExperimentLoadError, loadExperiment } from "../experiment/load.ts";
import { applyOverrides, OverrideError } from "../experiment/overrides.ts";
import { choiceFlag, intFlag, parseDuration } from "../flags.ts";
import { CheckpointError } from "../train/checkpoint.ts";
import type { LoopResult } from "../train/loop.ts";
import { IoError } from "../io/io_error.ts";
import { LockedError } from "../io/lock.ts";
import { RunDirError } from "./run_dir.ts";
import { runExperimentConfig, trainExperiment, type TrainResult } from "./train.ts";

/** The training command line's flags, as for `parseArgs` from `node:util`. */
export const TRAIN_FLAGS = {
  set: { type: "string", multiple: true, default: [] as string[] },
  data: { type: "string" },
  backend: { type: "string", default: "auto" },
  threads: { type: "string", default: "0" },
  "max-steps": { type: "string" },
  "max-time": { type: "string" },
  resume: { type: "string" },
  force: { type: "boolean", default: false },
  out: { type: "string" },
} as const;

/** The values of {@linkcode TRAIN_FLAGS} as `parseArgs` returns them. */
export interface TrainFlagValues {
  /** `--set key=value`, repeatable. */
  set: string[];
  /** `--data`: a manifest, a folder, or `demo`. */
  data?: string | undefined;
  /** `--backend`. */
  backend: string;
  /** `--threads`. */
  threads: string;
  /** `--max-steps`. */
  "max-steps"?: string | undefined;
  /** `--max-time`. */
  "max-time"?: string | undefined;
  /** `--resume <run dir>`. */
  resume?: string | undefined;
  /** `--force`. */
  force: boolean;
  /** `--out <root of run directories>`. */
  out?: string | undefined;
}

/** The errors a training job reports as one line (the message) instead of a stack trace. */
export const TRAIN_ERRORS = [
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
] as const;

/** One training job: what to train, on which backend, for how long, and where. */
export interface TrainJob {
  /** The experiment file; without it, the config of the run being resumed. */
  experiment?: string;
  /** Continue the run in this directory. */
  resume?: string;
  /** `--set` overrides (and `data.dataset=…` for `--data`), applied in order. */
  overrides: string[];
  /** The backend to start. */
  backend: BackendName;
  /** wasm threads, 0 = one per core. */
  threads: number;
  /** Stop after this many iterations. */
  maxSteps?: number;
  /** Stop after this many seconds of training. */
  maxSeconds?: number;
  /** Resume even when the config differs. */
  force: boolean;
  /** Root of the run directories. */
  root: string;
  /** Stop with a checkpoint on SIGINT and SIGTERM. */
  handleSignals: boolean;
}

/**
 * Read the training flags into a job. `path` resolves a path the user typed
 * (`"user"`) or a default (`"project"`, e.g. `runs`); by default paths are
 * taken as given.
 *
 * @throws {RangeError} naming the flag, for a bad value.
 * @example
 * ```ts
 * import { trainJob } from "./train_main.ts";
 * const job = trainJob({ set: [], backend: "cpu", threads: "0", force: false, "max-steps": "20" }, "exp.ts");
 * console.assert(job.maxSteps === 20 && job.root === "runs");
 * ```
 */
export function trainJob(
  v: TrainFlagValues,
  experiment: string | undefined,
  path: (p: string, base: "user" | "project") => string = (p) => p,
): TrainJob {
  const overrides = [...v.set];
  if (v.data !== undefined) {
    overrides.push(`data.dataset=${v.data === "demo" ? "null" : path(v.data, "user")}`);
  }
  const job: TrainJob = {
    overrides,
    backend: choiceFlag("--backend", v.backend, BACKEND_NAMES),
    threads: intFlag("--threads", v.threads, 0),
    force: v.force,
    root: v.out !== undefined ? path(v.out, "user") : path("runs", "project"),
    handleSignals: true,
  };
  if (experiment !== undefined) job.experiment = path(experiment, "user");
  if (v.resume !== undefined) job.resume = path(v.resume, "user");
  if (v["max-steps"] !== undefined) job.maxSteps = intFlag("--max-steps", v["max-steps"]);
  if (v["max-time"] !== undefined) job.maxSeconds = parseDuration(v["max-time"]);
  return job;
}

/** Load the job's experiment, apply its overrides, start the backend and train. */
export async function runTrainJob(job: TrainJob): Promise<TrainResult> {
  let exp = job.experiment !== undefined
    ? await loadExperiment(job.experiment)
    : await runExperimentConfig(job.resume!);
  exp = applyOverrides(exp, job.overrides);
  const backend = await initBackend({ backend: job.backend, threads: job.threads });
  return await trainExperiment(exp, {
    root: job.root,
    ...(job.resume !== undefined ? { resume: job.resume } : {}),
    force: job.force,
    ...(job.maxSteps !== undefined ? { maxSteps: job.maxSteps } : {}),
    ...(job.maxSeconds !== undefined ? { maxSeconds: job.maxSeconds } : {}),
    backend: { name: backend.name, threads: backend.threads },
    overrides: job.overrides,
    handleSignals: job.handleSignals,
  });
}

/**
 * The exit status of a training run: 0 when it ended by its budget, 1 when a
 * value went non-finite, 130 when Ctrl-C (SIGINT) stopped it, as a shell
 * reports an interrupted program. SIGTERM is how a scheduler (SLURM's time
 * limit, `scancel`, a sweep) asks a run to stop with a checkpoint: the run did
 * as asked, so that is 0, and `run.json`'s status `signal` says it can resume.
 *
 * @example
 * ```ts
 * import { exitCode } from "./train_main.ts";
 * console.assert(exitCode({ reason: "signal", stopSignal: "SIGINT" }) === 130);
 * ```
 */
export function exitCode(loop: Pick<LoopResult, "reason" | "stopSignal">): number {
  if (loop.reason === "non-finite") return 1;
  if (loop.reason === "signal") return loop.stopSignal === "SIGINT" ? 130 : 0;
  return 0;
}

/**
 * Run a job and print how it ended and where its report is; returns the exit
 * code ({@linkcode exitCode}).
 */
export async function trainAndPrint(job: TrainJob): Promise<number> {
  const result = await runTrainJob(job);
  console.log(result.message);
  console.log(`voxlab: report ${result.report}`);
  return exitCode(result.loop);
}

/** Run one job from command-line arguments; returns the exit code. */
export async function trainMain(args: string[]): Promise<number> {
  const fail = (message: string) => {
    console.error(`train: ${message}`);
    return 1;
  };
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: TRAIN_FLAGS });
  } catch (e) {
    return fail(`Cannot parse arguments: ${(e as Error).message.split(/\.\s/)[0]}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1 || (positionals.length === 0 && values.resume === undefined)) {
    return fail("Cannot train: expected one experiment file");
  }
  try {
    return await trainAndPrint(trainJob(values, positionals[0]));
  } catch (e) {
    if (!TRAIN_ERRORS.some((k) => e instanceof k)) throw e;
    return fail((e as Error).message);
  }
}

if (import.meta.main) Deno.exit(await trainMain(Deno.args));
