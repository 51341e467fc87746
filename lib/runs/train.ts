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
import { type CheckpointContents, readCheckpoint } from "../train/checkpoint.ts";
import { type LoopResult, runLoop } from "../train/loop.ts";
import { MetricsWriter, truncateMetrics } from "../train/metrics.ts";
import { ProgressBar, type ProgressBarOptions } from "../train/progress.ts";
import { configHash, experimentToYaml } from "../experiment/serialize.ts";
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

/** Where a resumed run continues from: its checkpoint and its `run.json`. */
interface Resumed {
  checkpoint: CheckpointContents<Record<string, unknown>>;
  previous: RunInfo;
}

/** Where training starts: the iteration and the seconds already trained. */
interface Start {
  iteration: number;
  elapsed: number;
}

/** Check a run to resume against the config (see `checkResume`) and read its checkpoint. */
async function readResumed(
  runDir: string,
  exp: Experiment,
  force: boolean,
  log: (line: string) => void,
): Promise<Resumed> {
  const differences = await checkResume(runDir, exp, { force });
  if (differences) log(`voxlab: resuming with a changed config (--force):\n${differences}`);
  const previous = await readRunInfo(runDir);
  try {
    return { checkpoint: await readCheckpoint(join(runDir, RUN_FILES.checkpoint)), previous };
  } catch (e) {
    throw new RunDirError(`Cannot resume run '${runDir}': ${(e as Error).message}`);
  }
}

/** Load a resumed run's checkpoint into the trainer; a forced resume records the new config. */
async function restore(
  trainer: Trainer,
  checkpoint: CheckpointContents<Record<string, unknown>>,
  runDir: string,
  force: boolean,
): Promise<Start> {
  const exp = trainer.experiment;
  const saved = String(checkpoint.state.configHash ?? "");
  if (saved !== configHash(exp) && !force) {
    throw new RunDirError(
      `Cannot resume run '${runDir}': its checkpoint was written with config ${saved}, ` +
        `this config is ${configHash(exp)} (use --force to resume anyway)`,
    );
  }
  try {
    trainer.load(checkpoint);
  } catch (e) {
    throw new RunDirError(
      `Cannot resume run '${runDir}': the checkpoint does not fit this config: ${
        (e as Error).message
      }`,
    );
  }
  // A forced resume continues under the new config: record it.
  if (force) await Deno.writeTextFile(join(runDir, RUN_FILES.config), experimentToYaml(exp));
  return {
    iteration: Number(checkpoint.state.iteration ?? 0),
    elapsed: Number(checkpoint.state.elapsed ?? 0),
  };
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
): Promise<LoopResult> {
  const exp = trainer.experiment;
  const metricsPath = join(runDir, RUN_FILES.metrics);
  // A resumed run recomputes the iterations after its checkpoint: drop their lines.
  if (options.resume) await truncateMetrics(metricsPath, start.iteration);
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

/** One line saying how a run ended, for the user. */
export function endMessage(loop: LoopResult, runDir: string, startIteration: number): string {
  switch (loop.reason) {
    case "non-finite": {
      const saved = loop.lastCheckpoint ?? (startIteration > 0 ? startIteration : null);
      return (loop.badTerm
        ? `Training stopped: loss term '${loop.badTerm.name}' is ${loop.badTerm.value} ` +
          `at iteration ${loop.iteration + 1}; `
        : `Training stopped: checkpoint tensor '${loop.badTensor?.name}' is ${loop.badTensor?.value} ` +
          `after iteration ${loop.iteration}; `) +
        (saved !== null
          ? `the last good checkpoint (iteration ${saved}) is kept in ${
            join(runDir, RUN_FILES.checkpoint)
          }`
          : "no checkpoint had been written yet");
    }
    case "completed":
      return `Training completed: ${loop.iteration} iterations`;
    case "signal":
      return `Training interrupted at iteration ${loop.iteration}; resume with --resume ${runDir}`;
    default:
      return `Training stopped at iteration ${loop.iteration} (${loop.reason}); resume with --resume ${runDir}`;
  }
}

/**
 * Train an experiment into a run directory (or continue one with `resume`),
 * then write its report.
 *
 * A NaN or infinite loss stops the run with a message naming the term; the
 * last good checkpoint is kept.
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
  const resumed = options.resume ? await readResumed(options.resume, exp, force, log) : null;
  const dataset = options.dataset ?? await loadExperimentData(exp);
  const trainer = buildTrainer(exp, dataset);
  try {
    // Only now that data and models are ready, so that a bad setting leaves no empty run behind.
    const runDir = options.resume ?? await createRunDir(exp, { root: options.root ?? "runs" });
    const start = resumed
      ? await restore(trainer, resumed.checkpoint, runDir, force)
      : { iteration: 0, elapsed: 0 };
    const resuming = start.iteration ? `resuming at iteration ${start.iteration}; ` : "";
    const overrides = options.overrides ?? [];
    const budget = resuming + budgetText(options);
    for (const line of summarize(exp, trainer, { runDir, overrides, budget })) log(line);

    const backend = options.backend ?? { name: tf.getBackend(), threads: 1 };
    const info = startInfo(trainer, start, resumed?.previous ?? null, backend);
    await writeRunInfo(runDir, info);
    // What `deno task convert` needs, so that it never has to load the dataset again.
    await writeRunLabels(runDir, runLabelsOf(dataset));

    const loop = await trainLoop(trainer, runDir, info, start, options, log);
    const message = endMessage(loop, runDir, start.iteration);
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
  } finally {
    trainer.dispose();
  }
}

/** Read a run's experiment (its `config.yaml`), e.g. to resume without the experiment file. */
export async function runExperimentConfig(runDir: string): Promise<Experiment> {
  return await readRunConfig(runDir);
}
