/**
 * Export a run's networks for other frameworks: `deno task export`.
 *
 * The networks are rebuilt from the run's `config.yaml` (model sizes and
 * BatchNorm settings), its `labels.json` features (input size; else the
 * config's features) and the checkpoint's weight shapes (label counts), then
 * loaded with the checkpoint's weights, which checks that every weight is
 * present with the right size, and written as safetensors (see
 * `lib/train/export_weights.ts` for names, layouts and metadata).
 *
 * @module
 */

import { resolveFeatures } from "../data/spectrogram.ts";
import { Discriminator } from "../model/discriminator.ts";
import { Generator } from "../model/generator.ts";
import { Rng } from "../random.ts";
import { type CheckpointContents, readCheckpoint, tensorsUnder } from "../train/checkpoint.ts";
import { checkTrainerState, type TrainerState } from "../train/checkpoint_state.ts";
import { weightsToSafetensors } from "../train/export_weights.ts";
import { writeSafetensors } from "../train/safetensors.ts";
import { resolveRunDir } from "./compare.ts";
import { readRunConfig, readRunLabels, RUN_FILES } from "./run_dir.ts";

/** Export formats. */
export type ExportFormat = "safetensors";

/** The formats {@linkcode exportRun} writes. */
export const EXPORT_FORMATS: readonly ExportFormat[] = ["safetensors"];

/** A run that cannot be exported; the message is one line for the user. */
export class ExportError extends Error {
  /** The error class name. */
  override name = "ExportError";
}

/** Options of {@linkcode exportRun}. */
export interface ExportRunOptions {
  /**
   * Output format.
   * @default {"safetensors"}
   */
  format?: ExportFormat;
  /**
   * Output file.
   * @default {the checkpoint's path with `.safetensors` for `.vxck`}
   */
  out?: string;
}

/** What {@linkcode exportRun} wrote. */
export interface ExportResult {
  /** The file written. */
  out: string;
  /** The checkpoint read. */
  checkpoint: string;
  /** Number of tensors written. */
  tensors: number;
  /** Size of the file in bytes. */
  bytes: number;
  /** The checkpoint's iteration. */
  iteration: number;
}

async function locate(path: string): Promise<{ runDir: string; checkpoint: string }> {
  let isFile: boolean;
  try {
    isFile = (await Deno.stat(path)).isFile;
  } catch {
    throw new ExportError(`Cannot export '${path}': no such file or directory`);
  }
  if (isFile) {
    const slash = path.lastIndexOf("/");
    return { runDir: slash < 0 ? "." : path.slice(0, slash) || "/", checkpoint: path };
  }
  try {
    const runDir = await resolveRunDir(path);
    return { runDir, checkpoint: `${runDir}/${RUN_FILES.checkpoint}` };
  } catch (e) {
    throw new ExportError((e as Error).message.replace(/^Cannot read run/, "Cannot export"));
  }
}

function shapeOf(checkpoint: CheckpointContents, name: string, what: string): number[] {
  const t = checkpoint.tensors[name];
  if (!t) throw new Error(`it has no ${what} ('${name}')`);
  return t.shape;
}

/**
 * Export the networks of a run directory (`runs/<exp>/<timestamp>`, or
 * `runs/<exp>` for its latest run) or of a checkpoint file inside one.
 *
 * @throws {ExportError} when the run, its config or its checkpoint cannot be read or do not fit.
 * @example Export a run (see tests/export_test.ts)
 * ```ts ignore
 * import { exportRun } from "./export_run.ts";
 * const { out } = await exportRun("runs/9ada9179");
 * console.log(out); // runs/9ada9179/<timestamp>/checkpoint.safetensors
 * ```
 */
export async function exportRun(
  path: string,
  options: ExportRunOptions = {},
): Promise<ExportResult> {
  const format = options.format ?? "safetensors";
  if (!EXPORT_FORMATS.includes(format)) {
    throw new ExportError(
      `Cannot export '${path}': unknown format '${format}', expected one of ${
        EXPORT_FORMATS.join(", ")
      }`,
    );
  }
  const { runDir, checkpoint: checkpointPath } = await locate(path);
  const out = options.out ?? checkpointPath.replace(/(\.vxck)?$/, ".safetensors");
  let experiment, labels, checkpoint: CheckpointContents, state: TrainerState;
  try {
    experiment = await readRunConfig(runDir);
    labels = await readRunLabels(runDir);
  } catch (e) {
    throw new ExportError((e as Error).message.replace(/^Cannot read run/, "Cannot export"));
  }
  try {
    checkpoint = await readCheckpoint(checkpointPath);
    // A damaged state (`iteration: "abc"`) is refused here, not written into the export's metadata.
    state = checkTrainerState(checkpoint.state, checkpointPath);
  } catch (e) {
    throw new ExportError(
      e instanceof Error && /file not found/.test(e.message)
        ? `Cannot export '${path}': no checkpoint '${checkpointPath}' (has the run done an iteration?)`
        : (e as Error).message,
    );
  }
  let generator: Generator | undefined, discriminator: Discriminator | undefined;
  try {
    const features = labels?.features ?? resolveFeatures(experiment.data.features);
    const size = { height: features.bins, width: features.segmentFrames, channels: 1 };
    // [k, k, nIn, C] and [nOut]: the label counts the weights were trained with.
    const nIn = shapeOf(checkpoint, "G/merge/conv/kernel_labels", "generator")[2]!;
    const nOut = shapeOf(checkpoint, "D/cls/bias", "discriminator")[0]!;
    // The initial values are overwritten by the checkpoint's.
    const rng = new Rng(0);
    generator = new Generator({ ...experiment.model.generator, ...size, nIn }, { rng });
    discriminator = new Discriminator({ ...experiment.model.discriminator, ...size, nOut }, {
      rng,
    });
    generator.setWeights(tensorsUnder(checkpoint.tensors, "G"));
    discriminator.setWeights(tensorsUnder(checkpoint.tensors, "D"));
    const contents = weightsToSafetensors(generator, discriminator, {
      configHash: state.configHash,
      experiment: state.experiment,
      iteration: state.iteration,
      ...(labels ? { labels: JSON.stringify(labels.schema.toJSON()) } : {}),
    });
    await writeSafetensors(out, contents);
    return {
      out,
      checkpoint: checkpointPath,
      tensors: Object.keys(contents.tensors).length,
      bytes: (await Deno.stat(out)).size,
      iteration: state.iteration,
    };
  } catch (e) {
    if (e instanceof ExportError) throw e;
    const message = (e as Error).message;
    throw new ExportError(
      message.startsWith("Cannot write")
        ? message
        : `Cannot export '${checkpointPath}': ${message.replace(/^Cannot load weights: /, "")}`,
    );
  } finally {
    generator?.dispose();
    discriminator?.dispose();
  }
}
