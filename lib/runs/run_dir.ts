/**
 * Run directories: `runs/<experiment>/<timestamp>/` with `config.yaml`,
 * `run.json`, `labels.json`, `metrics.jsonl`, `checkpoint.vxck`, `samples/` and `report.md`.
 *
 * @module
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { IoError } from "../io/io_error.ts";
import { checkPathName } from "../io/path_name.ts";
import { join } from "node:path";
import { plotLossCurves } from "../eval/plots.ts";
import { diagnosticsSection } from "../eval/diagnostics/report.ts";
import type { SpectrogramDataset } from "../data/dataset.ts";
import { type AttributeSpec, LabelSchema, type LabelValues } from "../data/labels.ts";
import { type FeatureConfig, resolveFeatures } from "../data/spectrogram.ts";
import { describeDiscriminator, describeGenerator } from "../model/mod.ts";
import { readMetrics } from "../train/metrics.ts";
import { diff, formatDiff } from "../experiment/diff.ts";
import { renderReport, type RunInfo } from "./report.ts";
import { configHash, experimentFromYaml, experimentToYaml } from "../experiment/serialize.ts";
import type { Experiment } from "../experiment/types.ts";

/** File names inside a run directory. */
export const RUN_FILES = {
  config: "config.yaml",
  info: "run.json",
  labels: "labels.json",
  metrics: "metrics.jsonl",
  checkpoint: "checkpoint.vxck",
  samples: "samples",
  lossCurves: "loss_curves.png",
  report: "report.md",
  /** Held (an OS lock) by the one process writing the run; see `claimRunDir`. */
  lock: "run.lock",
  /** A forced resume's config until its first checkpoint; see `forced_config.ts`. */
  pendingConfig: "config.pending.yaml",
} as const;

/** A run directory that cannot be used; the message is one line (or a diff) for the user. */
export class RunDirError extends Error {
  /** The error class name. */
  override name = "RunDirError";
}

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

/** Options for {@linkcode createRunDir}. */
export interface CreateRunDirOptions {
  /**
   * The folder that holds `<experiment>/<timestamp>/`.
   * @default {"runs"}
   */
  root?: string;
  /**
   * The time the directory is named after (UTC, `YYYYMMDD-HHMMSS`).
   * @default {new Date()}
   */
  now?: Date;
}

/**
 * Create `<root>/<id>/<timestamp>/` (with a `-2`, `-3`… suffix if taken) and
 * write the resolved `config.yaml`. Returns the directory path.
 */
export async function createRunDir(
  exp: Experiment,
  options: CreateRunDirOptions = {},
): Promise<string> {
  // The id is one path component (validated with the experiment; checked again where it becomes one).
  checkPathName("experiment id", exp.meta.id);
  const parent = join(options.root ?? "runs", exp.meta.id);
  try {
    await Deno.mkdir(parent, { recursive: true });
  } catch (e) {
    throw IoError.from("create folder", parent, e);
  }
  const base = stamp(options.now ?? new Date());
  for (let n = 1;; n++) {
    const dir = join(parent, n === 1 ? base : `${base}-${n}`);
    try {
      await Deno.mkdir(dir);
      await Deno.mkdir(join(dir, RUN_FILES.samples));
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) continue;
      throw IoError.from("create folder", dir, e);
    }
    await writeFileAtomic(join(dir, RUN_FILES.config), experimentToYaml(exp));
    return dir;
  }
}

/** Write `run.json` (atomically and synced, see {@linkcode writeFileAtomic}). */
export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  await writeFileAtomic(join(dir, RUN_FILES.info), JSON.stringify(info, null, 2) + "\n");
}

/**
 * What conversion needs from a run's data, saved in `labels.json` when the
 * run starts so that a trained generator can be used without its dataset.
 */
export interface RunLabels {
  /** The resolved label schema ({@linkcode LabelSchema.toJSON}). */
  schema: { attributes: Required<AttributeSpec>[] };
  /** The resolved feature config the spectrograms were computed with. */
  features: FeatureConfig;
  /**
   * The distinct label combinations of the data's utterances (e.g. each
   * speaker with its gender), in first-seen order: what a partial conversion
   * target is completed from.
   */
  targets: LabelValues[];
}

/** The distinct label combinations of labelled items, in first-seen order. */
export function distinctLabelValues(items: readonly { values: LabelValues }[]): LabelValues[] {
  const seen = new Map<string, LabelValues>();
  for (const item of items) {
    const values: LabelValues = {};
    for (const key of Object.keys(item.values).sort()) {
      const v = item.values[key];
      values[key] = v === undefined ? null : v;
    }
    const key = JSON.stringify(values);
    if (!seen.has(key)) seen.set(key, values);
  }
  return [...seen.values()];
}

/** The {@linkcode RunLabels} of a loaded dataset. */
export function runLabelsOf(
  dataset: Pick<SpectrogramDataset, "schema" | "features" | "items">,
): RunLabels {
  return {
    schema: dataset.schema.toJSON(),
    features: { ...dataset.features },
    targets: distinctLabelValues(dataset.items),
  };
}

/** Write `labels.json` (atomically and synced, see {@linkcode writeFileAtomic}). */
export async function writeRunLabels(dir: string, labels: RunLabels): Promise<void> {
  await writeFileAtomic(join(dir, RUN_FILES.labels), JSON.stringify(labels, null, 2) + "\n");
}

/**
 * Read `labels.json` as a schema, features and targets, or `null` when the
 * run has none (runs written before voxlab saved it).
 *
 * @throws {RunDirError} when the file exists but is not valid.
 */
export async function readRunLabels(
  dir: string,
): Promise<{ schema: LabelSchema; features: FeatureConfig; targets: LabelValues[] } | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, RUN_FILES.labels));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new RunDirError(`Cannot read run '${dir}': ${(e as Error).message}`);
  }
  try {
    const json = JSON.parse(text) as Partial<RunLabels>;
    if (!json.schema || !Array.isArray(json.schema.attributes)) {
      throw new Error("no label schema");
    }
    if (!json.features || typeof json.features !== "object") throw new Error("no feature config");
    if (json.targets !== undefined && !Array.isArray(json.targets)) {
      throw new Error("targets is not a list");
    }
    return {
      schema: LabelSchema.fromJSON(json.schema),
      features: resolveFeatures(json.features),
      targets: json.targets ?? [],
    };
  } catch (e) {
    throw new RunDirError(
      `Cannot read run '${dir}': ${RUN_FILES.labels} is invalid: ${(e as Error).message}`,
    );
  }
}

/** Read one of a run's files as text; a missing file says the folder may not be a run. */
async function readRunText(dir: string, file: "info" | "config"): Promise<string> {
  try {
    return await Deno.readTextFile(join(dir, RUN_FILES[file]));
  } catch (e) {
    throw new RunDirError(
      `Cannot read run '${dir}': ${
        e instanceof Deno.errors.NotFound
          ? `no ${RUN_FILES[file]} (not a run directory?)`
          : (e as Error).message
      }`,
    );
  }
}

/** Read `run.json`. */
export async function readRunInfo(dir: string): Promise<RunInfo> {
  const text = await readRunText(dir, "info");
  try {
    return JSON.parse(text) as RunInfo;
  } catch (e) {
    throw new RunDirError(`Cannot read run '${dir}': ${(e as Error).message}`);
  }
}

/** Read the resolved experiment from `config.yaml`. */
export async function readRunConfig(dir: string): Promise<Experiment> {
  const text = await readRunText(dir, "config");
  try {
    return experimentFromYaml(text);
  } catch (e) {
    throw new RunDirError(
      `Cannot read run '${dir}': config.yaml is invalid: ${(e as Error).message}`,
    );
  }
}

/**
 * Check that `exp` may resume the run in `dir`: its config hash must equal
 * the run's. Otherwise a {@linkcode RunDirError} lists the differences, unless
 * `force` is set.
 *
 * @returns the differences (empty when the configs agree).
 */
export async function checkResume(
  dir: string,
  exp: Experiment,
  options: { force?: boolean } = {},
): Promise<string> {
  const saved = await readRunConfig(dir);
  if (configHash(saved) === configHash(exp)) return "";
  const text = formatDiff(diff(saved, exp));
  if (!options.force) {
    throw new RunDirError(
      `Cannot resume run '${dir}': the config differs from the run's (use --force to resume anyway):\n${text}`,
    );
  }
  return text;
}

/** The images of a run directory to embed in its report: loss curves, first and last samples. */
async function reportImages(dir: string): Promise<{ path: string; caption: string }[]> {
  const images: { path: string; caption: string }[] = [];
  try {
    await Deno.stat(join(dir, RUN_FILES.lossCurves));
    images.push({ path: RUN_FILES.lossCurves, caption: "Loss terms over iterations." });
  } catch { /* no curves yet */ }
  const samples: string[] = [];
  try {
    for await (const e of Deno.readDir(join(dir, RUN_FILES.samples))) {
      if (e.isFile && e.name.endsWith(".png")) samples.push(e.name);
    }
  } catch { /* no samples */ }
  samples.sort();
  const picked = samples.length > 1 ? [samples[0]!, samples.at(-1)!] : samples;
  for (const name of picked) {
    const iter = Number(name.match(/(\d+)/)?.[1] ?? NaN);
    images.push({
      path: `${RUN_FILES.samples}/${name}`,
      caption:
        `Samples at iteration ${iter}: input x_A, G(x_A, c_B) for the target labels, and the ` +
        `reconstruction G(G(x_A, c_B), c_A).`,
    });
  }
  return images;
}

/**
 * Render and write `report.md` for a run directory (and `loss_curves.png`
 * from its metrics). Returns the report's path.
 *
 * The model diagrams come from the models' `describe()` at the run's sizes;
 * the training diagrams from the run's loss wiring.
 */
export async function writeReport(dir: string): Promise<string> {
  const exp = await readRunConfig(dir);
  const info = await readRunInfo(dir);
  let metrics: Awaited<ReturnType<typeof readMetrics>> = [];
  try {
    metrics = await readMetrics(join(dir, RUN_FILES.metrics));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (metrics.length > 0) {
    await writeFileAtomic(join(dir, RUN_FILES.lossCurves), plotLossCurves(metrics).toPng(), {
      sync: false,
    });
  }
  const sizes = { height: info.data.height, width: info.data.width, channels: 1 };
  const generator = describeGenerator({ ...exp.model.generator, ...sizes, nIn: info.data.nIn });
  const discriminator = describeDiscriminator({
    ...exp.model.discriminator,
    ...sizes,
    nOut: info.data.nOut,
  });
  const text = renderReport({
    experiment: exp,
    info,
    generator,
    discriminator,
    metrics,
    images: await reportImages(dir),
    sections: [await diagnosticsSection(dir)],
  });
  const path = join(dir, RUN_FILES.report);
  await writeFileAtomic(path, text);
  return path;
}
