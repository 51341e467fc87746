/**
 * Loading a trained run's generator for conversion, from a run directory or
 * a checkpoint file.
 *
 * @module
 */

import type { SpectrogramDataset } from "../data/dataset.ts";
import { Generator } from "../model/generator.ts";
import { readCheckpoint } from "../train/checkpoint.ts";
import type { Experiment } from "../experiment/types.ts";
import { readRunConfig, RUN_FILES } from "../experiment/run_dir.ts";
import { loadExperimentData } from "../experiment/run.ts";
import { resolveRunDir } from "./compare.ts";
import { ConvertError } from "./convert.ts";

/** A trained run, loaded for conversion. */
export interface LoadedRun {
  /** The run directory. */
  runDir: string;
  /** The run's resolved experiment (`config.yaml`). */
  experiment: Experiment;
  /** The run's dataset (for the label schema, the features and the targets' labels). */
  dataset: SpectrogramDataset;
  /** The generator with the checkpoint's weights. */
  generator: Generator;
  /** The checkpoint's iteration. */
  iteration: number;
}

/**
 * Load a run's generator for conversion: `path` is a run directory
 * (`runs/<exp>/<timestamp>`, or `runs/<exp>` for its latest run) or a
 * checkpoint file inside one.
 *
 * @throws {ConvertError} when the run, its config or its checkpoint cannot be read.
 */
export async function loadRunGenerator(
  path: string,
  options: { progress?: boolean } = {},
): Promise<LoadedRun> {
  let runDir: string, checkpointPath: string;
  let isFile = false;
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
      runDir = await resolveRunDir(path);
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
  let checkpoint;
  try {
    checkpoint = await readCheckpoint(checkpointPath);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no checkpoint yet (has the run done an iteration?)"
      : (e as Error).message;
    throw new ConvertError(`Cannot load run '${path}': ${why}`);
  }
  const dataset = await loadExperimentData(experiment, { progress: options.progress ?? true });
  const { bins, segmentFrames } = dataset.features;
  const generator = new Generator({
    ...experiment.model.generator,
    height: bins,
    width: segmentFrames,
    channels: 1,
    nIn: dataset.schema.nIn,
  });
  const weights: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(checkpoint.tensors)) {
    if (name.startsWith("G/")) weights[name.slice(2)] = t.data as Float32Array;
  }
  try {
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
    dataset,
    generator,
    iteration: Number(checkpoint.state.iteration ?? 0),
  };
}
