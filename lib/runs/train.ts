/**
 * Training a run: build the {@linkcode Trainer} of an experiment, then train
 * into a run directory with metrics, checkpoints, samples, diagnostics and a
 * report ({@linkcode trainExperiment}), or continue one from its checkpoint.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../deps.ts";
import type { SpectrogramDataset } from "../data/dataset.ts";
import { startTrainingDiagnostics } from "../eval/diagnostics/start.ts";
import { DIAGNOSTICS_FILES } from "../eval/diagnostics/records.ts";
import {
  type CheckpointContents,
  CheckpointError,
  readCheckpoint,
  type ReadCheckpointResult,
} from "../train/checkpoint.ts";
import { checkTrainerState, type TrainerState } from "../train/checkpoint_state.ts";
import { type LoopResult, runLoop } from "../train/loop.ts";
import { MetricsWriter } from "../train/metrics.ts";
import { ProgressBar, type ProgressBarOptions } from "../train/progress.ts";
import { trimJsonl } from "../jsonl.ts";
import type { DirLock } from "../io/lock.ts";
import { IoError } from "../io/io_error.ts";
import { configHash } from "../experiment/serialize.ts";
import type { Experiment } from "../experiment/types.ts";
import type { RunInfo } from "./report.ts";
import {
  checkResume,
  createRunDir,
  readRunConfig,
  readRunInfo,
  RUN_FILES,
  RunDirError,
  runLabelsOf,
  writeReport,
  writeRunInfo,
  writeRunLabels,
} from "./run_dir.ts";
import { promotePendingConfig, settlePendingConfig, writePendingConfig } from "./forced_config.ts";
import { nonFiniteMessage } from "./outcome.ts";
import { claimRunDir } from "./run_lock.ts";
import { sampleArrays, writeLossCurves, writeSamples } from "./samples.ts";
import { summarize } from "./summary.ts";
import { buildTrainer, loadExperimentData, type Trainer } from "./trainer.ts";

/** Options for {@linkcode trainExperiment}. */
export interface TrainOptions {
  /**
   * Root folder of run directories (`<root>/<id>/<timestamp>/`).
   * @default {"runs"}
   */
  root?: string;
  /**
   * Continue the run in this directory from its checkpoint.
   * @default {undefined}
   */
  resume?: string;
  /**
   * Resume even when the config differs from the run's.
   * @default {false}
   */
  force?: boolean;
  /**
   * Stop after this many iterations in this invocation.
   * @default {Infinity}
   */
  maxSteps?: number;
  /**
   * Stop after this many seconds of training in this invocation.
   * @default {Infinity}
   */
  maxSeconds?: number;
  /**
   * The dataset, when already loaded (otherwise the experiment's is loaded).
   * @default {undefined}
   */
  dataset?: SpectrogramDataset;
  /**
   * The backend in use, for the record.
   * @default {the current tfjs backend, 1 thread}
   */
  backend?: { name: string; threads: number };
  /**
   * Where summary lines and messages go.
   * @default {console.log}
   */
  log?: (line: string) => void;
  /**
   * Progress display options, or `false` for none.
   * @default {{}}
   */
  progress?: Partial<ProgressBarOptions> | false;
  /**
   * Stop with a checkpoint on SIGINT and SIGTERM.
   * @default {false}
   */
  handleSignals?: boolean;
  /**
   * Stop (with a checkpoint) when aborted.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Overrides applied on the command line, for the summary.
   * @default {[]}
   */
  overrides?: string[];
}

/** What {@linkcode trainExperiment} returns. */
export interface TrainResult {
  /** The run directory. */
  runDir: string;
  /** How the loop ended. */
  loop: LoopResult;
  /** The report's path. */
  report: string;
  /** One line saying how the run ended, for the user. */
  message: string;
}

/** Where a resumed run continues from: its checkpoint (checked) and its `run.json`. */
interface Resumed {
  checkpoint: CheckpointContents<Record<string, unknown>>;
  /** The checkpoint's state, every field checked. */
  state: TrainerState;
  /** Whether the checkpoint's checksum was checked (false for format 1 files). */
  verified: boolean;
  previous: RunInfo;
  /** Whether the run continues under another config than its checkpoint's (`--force`). */
  forced: boolean;
}

/**
 * What the run's last checkpoint holds (updated at each checkpoint, for
 * `run.json` if an I/O error stops the run), and whether the run continues
 * under a forced config that its first checkpoint makes the run's.
 */
interface OnDisk {
  iteration: number;
  elapsedSeconds: number;
  forced: boolean;
}

/** Where training starts: the iteration and the seconds already trained. */
interface Start {
  iteration: number;
  elapsed: number;
}

/** The run's per-iteration JSONL logs (file, what it holds), trimmed to the checkpoint on resume. */
const ITERATION_LOGS = [
  [RUN_FILES.metrics, "metrics"],
  [DIAGNOSTICS_FILES.records, "diagnostics"],
] as const;

/**
 * Read and check what a resume starts from: the checkpoint (checksum,
 * entries, finite values, state fields), a pending forced config left by an
 * earlier forced resume (see `forced_config.ts`), and whether the config may
 * continue the run (see `checkResume`).
 */
async function readResumed(
  runDir: string,
  exp: Experiment,
  force: boolean,
  log: (line: string) => void,
): Promise<Resumed> {
  const path = join(runDir, RUN_FILES.checkpoint);
  let checkpoint: ReadCheckpointResult<Record<string, unknown>>;
  let state: TrainerState;
  try {
    checkpoint = await readCheckpoint(path);
    state = checkTrainerState(checkpoint.state, path);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    throw new RunDirError(`Cannot resume run '${runDir}': ${e.message}`);
  }
  if (!checkpoint.verified) {
    log(
      `voxlab: checkpoint '${path}' has no checksum (format ${checkpoint.version}); its values ` +
        `were checked, and the next checkpoint is written with one`,
    );
  }
  const settled = await settlePendingConfig(runDir, state.configHash);
  if (settled) log(settled);
  const differences = await checkResume(runDir, exp, { force });
  if (differences) log(`voxlab: resuming with a changed config (--force):\n${differences}`);
  if (state.configHash !== configHash(exp) && !force) {
    throw new RunDirError(
      `Cannot resume run '${runDir}': its checkpoint was written with config ${state.configHash}, ` +
        `this config is ${configHash(exp)} (use --force to resume anyway)`,
    );
  }
  return {
    checkpoint,
    state,
    verified: checkpoint.verified,
    previous: await readRunInfo(runDir),
    forced: state.configHash !== configHash(exp),
  };
}

/**
 * Load a resumed run's checkpoint into the trainer (its weights' shapes
 * checked); a forced resume writes its config as pending, to become the
 * run's with its first checkpoint (see `forced_config.ts`).
 */
async function restore(trainer: Trainer, resumed: Resumed, runDir: string): Promise<Start> {
  const path = join(runDir, RUN_FILES.checkpoint);
  try {
    trainer.load(resumed.checkpoint, path);
  } catch (e) {
    throw new RunDirError(
      `Cannot resume run '${runDir}': the checkpoint does not fit this config: ${
        (e as Error).message
      }`,
    );
  }
  if (resumed.forced) await writePendingConfig(runDir, trainer.experiment);
  return { iteration: resumed.state.iteration, elapsed: resumed.state.elapsed };
}

/** The budget in the summary, e.g. `--max-steps 20`. */
function budgetText(options: TrainOptions): string {
  return [
    options.maxSteps !== undefined ? `--max-steps ${options.maxSteps}` : "",
    options.maxSeconds !== undefined ? `--max-time ${options.maxSeconds}s` : "",
  ].filter(Boolean).join(", ") || "no budget limit";
}

/** `run.json` as training starts. */
function startInfo(
  trainer: Trainer,
  start: Start,
  previous: RunInfo | null,
  backend: { name: string; threads: number },
): RunInfo {
  const exp = trainer.experiment, dataset = trainer.dataset;
  return {
    experiment: exp.meta.id,
    configHash: configHash(exp),
    status: "running",
    statusMessage: "",
    started: previous?.started ?? new Date().toISOString(),
    ended: null,
    iteration: start.iteration,
    totalIterations: trainer.totalIterations,
    itersPerEpoch: trainer.itersPerEpoch,
    elapsedSeconds: start.elapsed,
    backend,
    data: {
      summary: dataset.summary(),
      split: {
        heldOut: exp.data.split.heldOut,
        seed: exp.data.split.seed,
        keys: [...trainer.heldOutKeys],
        train: dataset.size,
        test: trainer.heldOut?.size ?? 0,
      },
      pairsDifferIn: exp.data.pairs.differentAttribute,
      nIn: dataset.schema.nIn,
      nOut: dataset.schema.nOut,
      height: dataset.features.bins,
      width: trainer.sampler.segmentFrames,
    },
    resumes: (previous?.resumes ?? -1) + 1,
    params: {
      generator: trainer.generator.params.countTrainable(),
      discriminator: trainer.discriminator.params.countTrainable(),
    },
    pid: Deno.pid,
    host: Deno.hostname(),
  };
}

/**
 * Run the training loop with everything a run writes on the way: metrics,
 * progress, samples, diagnostics and `run.json` at each checkpoint.
 */
async function trainLoop(
  trainer: Trainer,
  runDir: string,
  info: RunInfo,
  start: Start,
  options: TrainOptions,
  log: (line: string) => void,
  disk: OnDisk,
): Promise<LoopResult> {
  const exp = trainer.experiment;
  // A resumed run recomputes the iterations after its checkpoint: every per-iteration log drops them.
  if (options.resume) {
    for (const [file, what] of ITERATION_LOGS) {
      await trimJsonl<{ iteration: number }>(
        join(runDir, file),
        what,
        (r) => r.iteration <= start.iteration,
      );
    }
  }
  const metrics = new MetricsWriter(join(runDir, RUN_FILES.metrics));
  const progress = options.progress === false ? undefined : new ProgressBar({
    totalIterations: trainer.totalIterations,
    totalEpochs: trainer.epochs,
    ...options.progress,
  });
  const samples = sampleArrays(trainer);
  const every = exp.trainer.sampleEvery;
  let lastSample = -1;
  const diagnostics = startTrainingDiagnostics(trainer, {
    dir: runDir,
    every,
    log: (l) => progress ? progress.message(l) : log(l),
  });
  let loop: LoopResult;
  try {
    loop = await runLoop(trainer, {
      startIteration: start.iteration,
      startElapsed: start.elapsed,
      maxSteps: options.maxSteps ?? Infinity,
      maxSeconds: options.maxSeconds ?? Infinity,
      checkpointPath: join(runDir, RUN_FILES.checkpoint),
      checkpointMinutes: exp.trainer.checkpointMinutes,
      metrics,
      ...(progress ? { progress } : {}),
      handleSignals: options.handleSignals ?? false,
      ...(options.signal ? { signal: options.signal } : {}),
      hooks: {
        onStepEnd: async ({ iteration }) => {
          diagnostics.onStepEnd({ iteration });
          if (every > 0 && (iteration + 1) % every === 0) {
            await writeSamples(runDir, trainer, samples, iteration + 1);
            await writeLossCurves(runDir);
            lastSample = iteration + 1;
          }
        },
        onCheckpoint: async (_path, iteration, elapsed) => {
          Object.assign(disk, { iteration, elapsedSeconds: elapsed });
          if (disk.forced) await promotePendingConfig(runDir);
          await writeRunInfo(runDir, { ...info, iteration, elapsedSeconds: elapsed });
        },
      },
    });
    // The report's diagnostics describe the generator as the run leaves it.
    if (loop.reason !== "non-finite" && loop.iteration > start.iteration) {
      diagnostics.finish(loop.iteration);
    }
  } finally {
    metrics.close();
    diagnostics.dispose();
  }
  if (loop.reason !== "non-finite" && lastSample !== loop.iteration && every > 0) {
    await writeSamples(runDir, trainer, samples, loop.iteration);
  }
  return loop;
}

/**
 * One line saying how a run ended, for the user. `startVerified` says
 * whether the checkpoint resumed from had a checksum (see `outcome.ts`).
 */
export function endMessage(
  loop: LoopResult,
  runDir: string,
  startIteration: number,
  startVerified = true,
): string {
  switch (loop.reason) {
    case "non-finite":
      return nonFiniteMessage(loop, {
        checkpointPath: join(runDir, RUN_FILES.checkpoint),
        startIteration,
        startVerified,
      });
    case "completed":
      return `Training completed: ${loop.iteration} iterations`;
    case "signal":
      return `Training interrupted at iteration ${loop.iteration}; resume with --resume ${runDir}`;
    default:
      return `Training stopped at iteration ${loop.iteration} (${loop.reason}); resume with --resume ${runDir}`;
  }
}

/** The error when `e` is a disk or file-system failure (as an {@linkcode IoError}), else null. */
function ioFailure(e: unknown, runDir: string): IoError | null {
  if (e instanceof IoError) return e;
  if (e instanceof Error && /\(os error \d+\)/.test(e.message)) {
    return IoError.from("write in", runDir, e);
  }
  return null;
}

/** After an I/O failure: mark `run.json` failed and write the report, each only if there is room. */
async function recordFailure(runDir: string, info: RunInfo, message: string): Promise<void> {
  try {
    await writeRunInfo(runDir, {
      ...info,
      status: "failed",
      statusMessage: message,
      ended: new Date().toISOString(),
    });
    await writeReport(runDir);
  } catch { /* no room even for that: the error itself is still reported */ }
}

/**
 * Train an experiment into a run directory (or continue one with `resume`),
 * then write its report.
 *
 * One process writes a run at a time: the run directory's lock is taken
 * first (a second writer is refused naming the holder, see `claimRunDir`),
 * and temporary files a killed writer left are removed.
 *
 * A NaN or infinite value (a loss term, a weight after a step, a
 * diagnostic) stops the run with a message naming it; the last good
 * checkpoint is kept. A disk or I/O error stops it with an `IoError` naming
 * the path and the cause: the partial file is removed, the last checkpoint
 * kept, `run.json` marked `failed` and the report written when there is
 * room; a resume continues once the cause is fixed.
 *
 * @example Three iterations of the seed's ablation at toy size
 * ```ts ignore
 * import { applyOverrides, initBackend, trainExperiment } from "../../mod.ts";
 * import ablation from "../../experiments/9ada9179.ts";
 * await initBackend({ backend: "cpu" });
 * const exp = applyOverrides(ablation, ["data.features.bins=32", "data.features.segmentFrames=32",
 *   "model.generator.widths=[4, 8, 8]", "model.discriminator.widths=[4, 8, 8, 8]",
 *   "model.discriminator.featureLayer=3"]);
 * const { runDir, message } = await trainExperiment(exp, { maxSteps: 3 });
 * console.log(message, runDir); // Training stopped at iteration 3 (max-steps); …
 * ```
 */
export async function trainExperiment(
  exp: Experiment,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const force = options.force ?? false;
  let lock: DirLock | null = null;
  try {
    let resumed: Resumed | null = null;
    if (options.resume) {
      lock = await claimRunDir(options.resume, {
        purpose: "train --resume",
        action: `resume run '${options.resume}'`,
        log,
      });
      resumed = await readResumed(options.resume, exp, force, log);
    }
    const dataset = options.dataset ?? await loadExperimentData(exp);
    const trainer = buildTrainer(exp, dataset);
    try {
      // Only now that data and models are ready, so that a bad setting leaves no empty run behind.
      let runDir = options.resume ?? "";
      if (!options.resume) {
        runDir = await createRunDir(exp, { root: options.root ?? "runs" });
        lock = await claimRunDir(runDir, { purpose: "train", log });
      }
      const start = resumed
        ? await restore(trainer, resumed, runDir)
        : { iteration: 0, elapsed: 0 };
      const resuming = start.iteration ? `resuming at iteration ${start.iteration}; ` : "";
      const overrides = options.overrides ?? [];
      const budget = resuming + budgetText(options);
      for (const line of summarize(exp, trainer, { runDir, overrides, budget })) log(line);

      const backend = options.backend ?? { name: tf.getBackend(), threads: 1 };
      const info = startInfo(trainer, start, resumed?.previous ?? null, backend);
      const disk: OnDisk = {
        iteration: start.iteration,
        elapsedSeconds: start.elapsed,
        forced: resumed?.forced ?? false,
      };
      try {
        await writeRunInfo(runDir, info);
        // What `deno task convert` needs, so that it never has to load the dataset again.
        await writeRunLabels(runDir, runLabelsOf(dataset));

        const loop = await trainLoop(trainer, runDir, info, start, options, log, disk);
        const message = endMessage(loop, runDir, start.iteration, resumed?.verified ?? true);
        await writeRunInfo(runDir, {
          ...info,
          status: loop.reason,
          statusMessage: loop.reason === "non-finite" ? message : "",
          ended: new Date().toISOString(),
          iteration: loop.iteration,
          elapsedSeconds: loop.elapsed,
        });
        const report = await writeReport(runDir);
        return { runDir, loop, report, message };
      } catch (e) {
        const failure = ioFailure(e, runDir);
        if (!failure) throw e;
        const { iteration, elapsedSeconds } = disk;
        await recordFailure(runDir, { ...info, iteration, elapsedSeconds }, failure.message);
        throw failure;
      }
    } finally {
      trainer.dispose();
    }
  } finally {
    lock?.release();
  }
}

/** Read a run's experiment (its `config.yaml`), e.g. to resume without the experiment file. */
export async function runExperimentConfig(runDir: string): Promise<Experiment> {
  return await readRunConfig(runDir);
}
