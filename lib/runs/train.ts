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
import { sampleArrays, writeSamples } from "./samples.ts";
import { summarize } from "./summary.ts";
import { buildTrainer, loadExperimentData } from "./trainer.ts";

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
  let checkpoint: CheckpointContents<Record<string, unknown>> | null = null;
  let previous: RunInfo | null = null;
  let runDir = options.resume ?? "";
  if (options.resume) {
    const differences = await checkResume(runDir, exp, { force: options.force ?? false });
    if (differences) log(`voxlab: resuming with a changed config (--force):\n${differences}`);
    previous = await readRunInfo(runDir);
    try {
      checkpoint = await readCheckpoint(join(runDir, RUN_FILES.checkpoint));
    } catch (e) {
      throw new RunDirError(`Cannot resume run '${runDir}': ${(e as Error).message}`);
    }
  }
  const dataset = options.dataset ?? await loadExperimentData(exp);
  const trainer = buildTrainer(exp, dataset);
  try {
    // Only now that data and models are ready, so that a bad setting leaves no empty run behind.
    if (!options.resume) runDir = await createRunDir(exp, { root: options.root ?? "runs" });
    let startIteration = 0, startElapsed = 0;
    if (checkpoint) {
      const saved = String(checkpoint.state.configHash ?? "");
      if (saved !== configHash(exp) && !options.force) {
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
      startIteration = Number(checkpoint.state.iteration ?? 0);
      startElapsed = Number(checkpoint.state.elapsed ?? 0);
      // A forced resume continues under the new config: record it.
      if (options.force) {
        await Deno.writeTextFile(join(runDir, RUN_FILES.config), experimentToYaml(exp));
      }
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
    await writeRunInfo(runDir, info);
    // What `deno task convert` needs, so that it never has to load the dataset again.
    await writeRunLabels(runDir, runLabelsOf(dataset));

    const metricsPath = join(runDir, RUN_FILES.metrics);
    if (checkpoint) await truncateMetrics(metricsPath, startIteration);
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
              lastSample = iteration + 1;
            }
          },
          onCheckpoint: async (_path, iteration, elapsed) => {
            await writeRunInfo(runDir, { ...info, iteration, elapsedSeconds: elapsed });
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
      case "non-finite": {
        const saved = loop.lastCheckpoint ?? (startIteration > 0 ? startIteration : null);
        message = (loop.badTerm
          ? `Training stopped: loss term '${loop.badTerm.name}' is ${loop.badTerm.value} ` +
            `at iteration ${loop.iteration + 1}; `
          : `Training stopped: checkpoint tensor '${loop.badTensor?.name}' is ${loop.badTensor?.value} ` +
            `after iteration ${loop.iteration}; `) +
          (saved !== null
            ? `the last good checkpoint (iteration ${saved}) is kept in ${
              join(runDir, RUN_FILES.checkpoint)
            }`
            : "no checkpoint had been written yet");
        break;
      }
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
  } finally {
    trainer.dispose();
  }
}

/** Read a run's experiment (its `config.yaml`), e.g. to resume without the experiment file. */
export async function runExperimentConfig(runDir: string): Promise<Experiment> {
  return await readRunConfig(runDir);
}
