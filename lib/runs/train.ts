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
import {
  type CheckpointContents,
  CheckpointError,
  readCheckpoint,
  type ReadCheckpointResult,
} from "../train/checkpoint.ts";
import { checkTrainerState, type TrainerState } from "../train/checkpoint_state.ts";
import type { DirLock } from "../io/lock.ts";
import { IoError } from "../io/io_error.ts";
import { promotePendingConfig, settlePendingConfig, writePendingConfig } from "./forced_config.ts";
import { nonFiniteMessage } from "./outcome.ts";
import { claimRunDir } from "./run_lock.ts";
import { type LoopResult, runLoop } from "../train/loop.ts";
import { MetricsWriter } from "../train/metrics.ts";
import { trimJsonl } from "../jsonl.ts";
import { DIAGNOSTICS_FILES } from "../eval/diagnostics/records.ts";
import { ProgressBar, type ProgressBarOptions } from "../train/progress.ts";
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
import { sampleArrays, writeSamples } from "./samples.ts";
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
  let lock: DirLock | null = null;
  try {
    let resumed: Resumed | null = null;
    if (options.resume) {
      lock = await claimRunDir(options.resume, {
        purpose: "train --resume",
        action: `resume run '${options.resume}'`,
        log,
      });
      resumed = await openResume(options.resume, exp, options.force ?? false, log);
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
      return await trainInRun(exp, trainer, runDir, resumed, options, log);
    } finally {
      trainer.dispose();
    }
  } finally {
    lock?.release();
  }
}

/** The run's per-iteration JSONL logs (file, what it holds), trimmed to the checkpoint on resume. */
const ITERATION_LOGS = [
  [RUN_FILES.metrics, "metrics"],
  [DIAGNOSTICS_FILES.records, "diagnostics"],
] as const;

/** A resume's checkpoint, checked, and what the run recorded before. */
interface Resumed {
  checkpoint: CheckpointContents<Record<string, unknown>>;
  state: TrainerState;
  verified: boolean;
  previous: RunInfo;
  forced: boolean;
}

/**
 * Read and check what a resume starts from: the checkpoint (checksum,
 * entries, finite values, state fields), a pending forced config left by an
 * earlier forced resume, and whether `exp` may continue the run.
 */
async function openResume(
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

/** The training of {@linkcode trainExperiment}, in a run directory it holds. */
async function trainInRun(
  exp: Experiment,
  trainer: Trainer,
  runDir: string,
  resumed: Resumed | null,
  options: TrainOptions,
  log: (line: string) => void,
): Promise<TrainResult> {
  const checkpointPath = join(runDir, RUN_FILES.checkpoint);
  let startIteration = 0, startElapsed = 0;
  if (resumed) {
    try {
      trainer.load(resumed.checkpoint, checkpointPath);
    } catch (e) {
      throw new RunDirError(
        `Cannot resume run '${runDir}': the checkpoint does not fit this config: ${
          (e as Error).message
        }`,
      );
    }
    startIteration = resumed.state.iteration;
    startElapsed = resumed.state.elapsed;
    // A forced resume's config becomes the run's with its first checkpoint (forced_config.ts).
    if (resumed.forced) await writePendingConfig(runDir, exp);
  }
  const budget = [
    options.maxSteps !== undefined ? `--max-steps ${options.maxSteps}` : "",
    options.maxSeconds !== undefined ? `--max-time ${options.maxSeconds}s` : "",
  ].filter(Boolean).join(", ") || "no budget limit";
  const backend = options.backend ?? { name: tf.getBackend(), threads: 1 };
  for (
    const line of summarize(exp, trainer, {
      runDir,
      overrides: options.overrides ?? [],
      budget: (startIteration ? `resuming at iteration ${startIteration}; ` : "") + budget,
    })
  ) log(line);

  const previous = resumed?.previous ?? null;
  const dataset = trainer.dataset;
  const info: RunInfo = {
    experiment: exp.meta.id,
    configHash: configHash(exp),
    status: "running",
    statusMessage: "",
    started: previous?.started ?? new Date().toISOString(),
    ended: null,
    iteration: startIteration,
    totalIterations: trainer.totalIterations,
    itersPerEpoch: trainer.itersPerEpoch,
    elapsedSeconds: startElapsed,
    backend,
    data: {
      summary: dataset.summary(),
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
  };
  // Where the run is on disk: its last checkpoint, for run.json if an I/O error stops it.
  let saved = { iteration: startIteration, elapsedSeconds: startElapsed };
  try {
    await writeRunInfo(runDir, info);
    // What `deno task convert` needs, so that it never has to load the dataset again.
    await writeRunLabels(runDir, runLabelsOf(dataset));

    const metricsPath = join(runDir, RUN_FILES.metrics);
    // The iterations after the checkpoint are recomputed: every per-iteration log forgets them.
    if (resumed) {
      for (const [file, what] of ITERATION_LOGS) {
        await trimJsonl<{ iteration: number }>(
          join(runDir, file),
          what,
          (r) => r.iteration <= startIteration,
        );
      }
    }
    const metrics = new MetricsWriter(metricsPath);
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
        startIteration,
        startElapsed,
        maxSteps: options.maxSteps ?? Infinity,
        maxSeconds: options.maxSeconds ?? Infinity,
        checkpointPath,
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
              lastSample = iteration + 1;
            }
          },
          onCheckpoint: async (_path, iteration, elapsed) => {
            saved = { iteration, elapsedSeconds: elapsed };
            if (resumed?.forced) await promotePendingConfig(runDir);
            await writeRunInfo(runDir, { ...info, ...saved });
          },
        },
      });
      // The report's diagnostics describe the generator as the run leaves it.
      if (loop.reason !== "non-finite" && loop.iteration > startIteration) {
        diagnostics.finish(loop.iteration);
      }
    } finally {
      metrics.close();
      diagnostics.dispose();
    }
    if (loop.reason !== "non-finite" && lastSample !== loop.iteration && every > 0) {
      await writeSamples(runDir, trainer, samples, loop.iteration);
    }
    let message: string;
    switch (loop.reason) {
      case "non-finite":
        message = nonFiniteMessage(loop, {
          checkpointPath,
          startIteration,
          startVerified: resumed?.verified ?? true,
        });
        break;
      case "completed":
        message = `Training completed: ${loop.iteration} iterations`;
        break;
      case "signal":
        message =
          `Training interrupted at iteration ${loop.iteration}; resume with --resume ${runDir}`;
        break;
      default:
        message =
          `Training stopped at iteration ${loop.iteration} (${loop.reason}); resume with --resume ${runDir}`;
    }
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
    await recordFailure(runDir, { ...info, ...saved }, failure.message);
    throw failure;
  }
}

/** Read a run's experiment (its `config.yaml`), e.g. to resume without the experiment file. */
export async function runExperimentConfig(runDir: string): Promise<Experiment> {
  return await readRunConfig(runDir);
}
