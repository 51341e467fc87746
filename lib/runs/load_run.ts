/**
 * Loading a trained run's generator for conversion, from a run directory or
 * a checkpoint file.
 *
 * @module
 */

import type { LabelSchema, LabelValues } from "../data/labels.ts";
import type { FeatureConfig } from "../data/spectrogram.ts";
import { Generator } from "../model/generator.ts";
import { checkTensorShapes, readCheckpoint, tensorsUnder } from "../train/checkpoint.ts";
import { checkTrainerState } from "../train/checkpoint_state.ts";
import type { Experiment } from "../experiment/types.ts";
import { distinctLabelValues, readRunConfig, readRunLabels, RUN_FILES } from "./run_dir.ts";
import { loadExperimentData } from "./trainer.ts";
import { resolveRun } from "./compare.ts";
import { ConvertError } from "../eval/convert.ts";

/** A trained run, loaded for conversion. */
export interface LoadedRun {
  /** The run directory. */
  runDir: string;
  /** The run's resolved experiment (`config.yaml`). */
  experiment: Experiment;
  /** The run's label schema (what the target is parsed and encoded against). */
  schema: LabelSchema;
  /** The feature config the run's spectrograms were computed with. */
  features: FeatureConfig;
  /** The distinct label combinations of the run's data (see `targetLabels`). */
  targets: LabelValues[];
  /**
   * Where schema, features and targets came from: the run's `labels.json`, or
   * (runs written before it existed) the run's dataset, loaded again.
   */
  labelsFrom: "run" | "dataset";
  /** The generator with the checkpoint's weights. */
  generator: Generator;
  /** The checkpoint's iteration. */
  iteration: number;
  /** How the run was chosen when `path` was an experiment directory, else `null`. */
  note: string | null;
}

/** Options for {@linkcode loadRunGenerator}. */
export interface LoadRunOptions {
  /**
   * Show the data preparation progress (only for old runs without `labels.json`).
   * @default {true}
   */
  progress?: boolean;
  /**
   * Where the one-line notice about the old-run fallback goes.
   * @default {console.error, prefixed with "voxlab: "}
   */
  log?: (line: string) => void;
}

/**
 * Load a run's generator for conversion: `path` is a run directory
 * (`runs/<exp>/<timestamp>`, or `runs/<exp>` for its latest run with a checkpoint) or a
 * checkpoint file inside one.
 *
 * The generator is built from the run's `config.yaml`, its `labels.json`
 * (label schema, features, label combinations) and the checkpoint; the
 * dataset is not read. Runs written before `labels.json` existed fall back to
 * loading their dataset, after a one-line notice through `options.log`.
 *
 * @throws {ConvertError} when the run, its config or its checkpoint cannot be read.
 */
export async function loadRunGenerator(
  path: string,
  options: LoadRunOptions = {},
): Promise<LoadedRun> {
  let runDir: string, checkpointPath: string;
  let isFile = false;
  let note: string | null = null;
  try {
    isFile = (await Deno.stat(path)).isFile;
  } catch {
    throw new ConvertError(`Cannot load run '${path}': no such file or directory`);
  }
  try {
    if (isFile) {
      checkpointPath = path;
      runDir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
    } else {
      const chosen = await resolveRun(path);
      runDir = chosen.dir;
      note = chosen.note;
      checkpointPath = `${runDir}/${RUN_FILES.checkpoint}`;
    }
  } catch (e) {
    throw new ConvertError((e as Error).message);
  }
  let experiment: Experiment;
  try {
    experiment = await readRunConfig(runDir);
  } catch (e) {
    throw new ConvertError((e as Error).message);
  }
  let checkpoint, state;
  try {
    checkpoint = await readCheckpoint(checkpointPath);
    // A damaged state (`iteration: "abc"`) is refused here, not reported as `iteration NaN`.
    state = checkTrainerState(checkpoint.state, checkpointPath);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no checkpoint yet (has the run done an iteration?)"
      : (e as Error).message;
    throw new ConvertError(`Cannot load run '${path}': ${why}`);
  }
  let labels;
  try {
    labels = await readRunLabels(runDir);
  } catch (e) {
    throw new ConvertError((e as Error).message);
  }
  let labelsFrom: LoadedRun["labelsFrom"] = "run";
  if (!labels) {
    labelsFrom = "dataset";
    (options.log ?? ((l: string) => console.error(`voxlab: ${l}`)))(
      `run '${runDir}' has no ${RUN_FILES.labels} (written before voxlab saved it): ` +
        `loading its dataset for the label schema`,
    );
    const dataset = await loadExperimentData(experiment, { progress: options.progress ?? true });
    labels = {
      schema: dataset.schema,
      features: dataset.features,
      targets: distinctLabelValues(dataset.items),
    };
  }
  const { schema, features, targets } = labels;
  const generator = new Generator({
    ...experiment.model.generator,
    height: features.bins,
    width: features.segmentFrames,
    channels: 1,
    nIn: schema.nIn,
  });
  const weights = tensorsUnder(checkpoint.tensors, "G");
  try {
    checkTensorShapes(checkpointPath, checkpoint.tensors, "G", generator.weightShapes());
    generator.setWeights(weights);
  } catch (e) {
    generator.dispose();
    throw new ConvertError(
      `Cannot load run '${path}': the checkpoint's generator does not match config.yaml: ${
        (e as Error).message
      }`,
    );
  }
  return {
    runDir,
    experiment,
    schema,
    features,
    targets,
    labelsFrom,
    generator,
    iteration: state.iteration,
    note,
  };
}
