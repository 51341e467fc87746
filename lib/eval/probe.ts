/**
 * Building the fixed probe the diagnostics run on, from a dataset and the
 * models of a run: a held-out batch, one target per chosen speaker, the
 * discriminator's classifier, an independent {@linkcode SpeakerClassifier}
 * trained on real spectrograms of the same corpus, and parallel pairs for MCD
 * (same sentence, target speaker's own rendition).
 *
 * @module
 */

import { tf } from "../deps.ts";
import { Rng } from "../random.ts";
import type { DatasetItem, SpectrogramDataset } from "../data/dataset.ts";
import { sliceFrames } from "../data/segments.ts";
import { spectrogramsToTensor } from "../data/tensors.ts";
import type { Spectrogram } from "../data/spectrogram.ts";
import type { ClassifierFn, GeneratorFn } from "./diagnostics.ts";
import {
  DiagnosticsMonitor,
  type DiagnosticsMonitorOptions,
  type DiagnosticsProbe,
  type ParallelPair,
} from "./monitor.ts";
import { SpeakerClassifier } from "./speaker_classifier.ts";

/** The generator as the probe needs it (lib/model's `Generator` fits). */
export interface GeneratorLike {
  /** `G(x, c)` with `training: false` for inference. */
  apply(x: tf.Tensor4D, c: tf.Tensor2D, options?: { training?: boolean }): tf.Tensor4D;
}

/** The discriminator as the probe needs it (lib/model's `Discriminator` fits). */
export interface DiscriminatorLike {
  /** `D(x)`; only the classification logits `cls` `[B, nOut]` are used. */
  apply(x: tf.Tensor4D): { cls: tf.Tensor };
}

/** Options for {@linkcode buildProbe}. */
export interface BuildProbeOptions {
  /**
   * The attribute whose values are the conversion targets.
   * @default {"speaker"}
   */
  attribute?: string;
  /**
   * How many target values: the first value present, then each time the one whose
   * input labels differ most from those chosen (so targets span genders, accents…).
   * @default {4}
   */
  targets?: number;
  /**
   * Held-out spectrograms in the batch (from distinct speakers where possible).
   * @default {4}
   */
  batch?: number;
  /**
   * Parallel pairs for MCD; 0 disables MCD.
   * @default {4}
   */
  pairs?: number;
  /**
   * Frames per spectrogram: the generator's input width.
   * @default {dataset.features.segmentFrames}
   */
  width?: number;
  /**
   * Seed of the choice of held-out items and of the classifier's crops and weights.
   * @default {0}
   */
  seed?: number;
  /**
   * Train the independent speaker classifier (steps; 0 disables it).
   * @default {300}
   */
  classifierSteps?: number;
  /**
   * Random crops per utterance the classifier trains on.
   * @default {2}
   */
  cropsPerItem?: number;
}

/** What {@linkcode buildProbe} returns; call `dispose` when the run ends. */
export interface BuiltProbe {
  /** The probe for `evaluateDiagnostics` / `DiagnosticsMonitor`. */
  probe: DiagnosticsProbe;
  /** The independent classifier, if trained. */
  classifier: SpeakerClassifier | null;
  /** The classifier's accuracy on the real held-out batch (a sanity figure), or null. */
  classifierRealAccuracy: number | null;
  /** Free the probe's tensors and the classifier. */
  dispose(): void;
}

/** The sentence an item says: its file name without the speaker prefix (`p225_001.wav` → `001`). */
export function sentenceKey(
  item: Pick<DatasetItem, "path" | "values">,
  attribute = "speaker",
): string {
  const base = item.path.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, "");
  const who = item.values[attribute];
  if (typeof who === "string" && base.startsWith(who)) {
    return base.slice(who.length).replace(/^[_-]/, "");
  }
  return base;
}

function centreCrop(spec: Spectrogram, width: number): Spectrogram {
  return sliceFrames(spec, Math.max(0, Math.floor((spec.frames - width) / 2)), width);
}

/** The probe's choice of targets and held-out utterances; see {@linkcode probeSelection}. */
export interface ProbeSelection {
  /** The attribute whose values are the targets. */
  attribute: string;
  /** The target values (e.g. speaker names), in order. */
  targetValues: string[];
  /** Each target's input labels `[nIn]`: those of an utterance by that speaker. */
  targetLabels: Float32Array[];
  /** The held-out utterances. */
  held: DatasetItem[];
}

/**
 * The targets and held-out utterances {@linkcode buildProbe} chooses for the
 * same dataset and options, without building anything: what a viewer needs to
 * render the probe's audio from a run's checkpoint.
 *
 * @throws {RangeError} when the attribute is not in the schema or has fewer than 2 values present.
 */
export function probeSelection(
  dataset: SpectrogramDataset,
  options: Pick<BuildProbeOptions, "attribute" | "targets" | "batch" | "seed"> = {},
): ProbeSelection {
  const { attribute, targetValues, targetLabels, held } = selectProbe(
    dataset,
    options,
    new Rng(options.seed ?? 0),
  );
  return { attribute, targetValues, targetLabels, held };
}

function selectProbe(
  dataset: SpectrogramDataset,
  options: Pick<BuildProbeOptions, "attribute" | "targets" | "batch">,
  rng: Rng,
) {
  const attribute = options.attribute ?? "speaker";
  const layout = dataset.schema.describe().attributes.find((a) => a.name === attribute);
  const spec = dataset.schema.attributes.find((a) => a.name === attribute);
  if (!layout || !spec) {
    throw new RangeError(
      `Cannot build diagnostics probe: the label schema has no attribute '${attribute}' (it has ${
        dataset.schema.attributes.map((a) => a.name).join(", ")
      })`,
    );
  }
  const byValue = new Map<string, DatasetItem[]>();
  for (const item of dataset.items) {
    const v = item.values[attribute];
    if (typeof v !== "string") continue;
    if (!byValue.has(v)) byValue.set(v, []);
    byValue.get(v)!.push(item);
  }
  const present = spec.values.filter((v) => byValue.has(v));
  if (present.length < 2) {
    throw new RangeError(
      `Cannot build diagnostics probe: attribute '${attribute}' has ${present.length} value(s) in the data, need 2`,
    );
  }
  const k = Math.min(options.targets ?? 4, present.length);
  // Targets as different as possible: greedy farthest-point over the targets' full
  // input labels (so they span genders, accents… and not just speaker ids).
  const labelsOf = new Map(present.map((v) => [v, byValue.get(v)![0]!.input] as const));
  const distance = (a: Float32Array, b: Float32Array) =>
    a.reduce((s, x, i) => s + Math.abs(x - b[i]!), 0);
  const targetValues = [present[0]!];
  while (targetValues.length < k) {
    let best = "", bestD = -1;
    for (const v of present) {
      if (targetValues.includes(v)) continue;
      const d = Math.min(...targetValues.map((t) => distance(labelsOf.get(v)!, labelsOf.get(t)!)));
      if (d > bestD) [best, bestD] = [v, d];
    }
    targetValues.push(best);
  }
  // A target's labels: those of an utterance by that speaker (so gender etc. match).
  const targetLabels = targetValues.map((v) => labelsOf.get(v)!);

  // Held-out batch: round-robin over the speakers, a seeded item of each.
  const shuffled = new Map(
    [...byValue].map(([v, items]) => [v, rng.shuffle([...items])] as const),
  );
  const order = rng.shuffle([...present]);
  const batchSize = Math.max(2, options.batch ?? 4);
  const held: DatasetItem[] = [];
  for (let round = 0; held.length < batchSize; round++) {
    let added = false;
    for (const v of order) {
      const item = shuffled.get(v)![round];
      if (item && held.length < batchSize) {
        held.push(item);
        added = true;
      }
    }
    if (!added) break;
  }
  if (held.length < 2) {
    throw new RangeError("Cannot build diagnostics probe: fewer than 2 usable utterances");
  }
  return { attribute, layout, spec, byValue, targetValues, targetLabels, held };
}

/**
 * Choose the probe from a dataset and wrap the models as diagnostics functions.
 *
 * @throws {RangeError} when the attribute is not in the schema or has fewer than 2 values present.
 */
export function buildProbe(
  dataset: SpectrogramDataset,
  models: { generator: GeneratorLike; discriminator?: DiscriminatorLike },
  options: BuildProbeOptions = {},
): BuiltProbe {
  const width = options.width ?? dataset.features.segmentFrames;
  const rng = new Rng(options.seed ?? 0);
  const { attribute, layout, spec, byValue, targetValues, targetLabels, held } = selectProbe(
    dataset,
    options,
    rng,
  );
  const k = targetValues.length;
  const nIn = dataset.schema.nIn;
  const targets = tf.tensor2d(
    Float32Array.from(targetLabels.flatMap((l) => [...l])),
    [k, nIn],
  );
  const targetClasses = targetValues.map((v) => spec.values.indexOf(v));
  const x = spectrogramsToTensor(held.map((i) => centreCrop(i.spectrogram(), width)));
  const sourceLabels = tf.tensor2d(Float32Array.from(held.flatMap((i) => [...i.input])), [
    held.length,
    nIn,
  ]);

  const generator: GeneratorFn = (xx, c) => models.generator.apply(xx, c, { training: false });
  const classifiers: Record<string, ClassifierFn> = {};
  const d = models.discriminator;
  if (d && layout.classified && layout.outOffset >= 0) {
    classifiers.discriminator = (y) =>
      tf.slice(d.apply(y).cls as tf.Tensor2D, [0, layout.outOffset], [-1, layout.size]);
  }

  // The independent classifier: random crops of every utterance not in the held-out batch.
  let classifier: SpeakerClassifier | null = null;
  let classifierRealAccuracy: number | null = null;
  const steps = options.classifierSteps ?? 300;
  if (steps > 0) {
    const heldSet = new Set(held);
    const crops: Spectrogram[] = [], labels: number[] = [];
    for (const [v, items] of byValue) {
      for (const item of items) {
        if (heldSet.has(item)) continue;
        const s = item.spectrogram();
        for (let c = 0; c < (options.cropsPerItem ?? 2); c++) {
          const start = s.frames > width ? rng.int(s.frames - width + 1) : 0;
          crops.push(sliceFrames(s, start, width));
          labels.push(spec.values.indexOf(v));
        }
      }
    }
    if (new Set(labels).size >= 2) {
      const train = spectrogramsToTensor(crops);
      try {
        classifier = SpeakerClassifier.train(train, labels, {
          steps,
          seed: options.seed ?? 0,
          classNames: spec.values,
        });
      } finally {
        train.dispose();
      }
      const c = classifier;
      classifiers.classifier = (y) => c.predict(y);
      classifierRealAccuracy = c.accuracy(
        x,
        held.map((i) => spec.values.indexOf(i.values[attribute] as string)),
      );
    }
  }

  // Parallel pairs: a held-out utterance, a target of another speaker, that speaker's same sentence.
  const parallel: ParallelPair[] = [];
  const nPairs = options.pairs ?? 4;
  for (let i = 0; i < held.length && parallel.length < nPairs; i++) {
    const item = held[i]!;
    const key = sentenceKey(item, attribute);
    for (let j = 0; j < k; j++) {
      const t = (i + 1 + j) % k;
      if (targetValues[t] === item.values[attribute]) continue;
      const reference = byValue.get(targetValues[t]!)!.find((r) =>
        sentenceKey(r, attribute) === key
      );
      if (!reference) continue;
      parallel.push({
        source: item.spectrogram(),
        target: targetLabels[t]!,
        reference: reference.spectrogram(),
      });
      break;
    }
  }

  const probe: DiagnosticsProbe = {
    generator,
    x,
    targets,
    targetNames: targetValues.map((v) => `${attribute}=${v}`),
    sourceLabels,
    sourceNames: held.map((i) => `${attribute}=${i.values[attribute]}`),
    targetClasses,
    classifiers,
    mcdOptions: { minDb: dataset.features.minDb, maxDb: dataset.features.maxDb },
  };
  if (parallel.length > 0) probe.parallel = parallel;
  return {
    probe,
    classifier,
    classifierRealAccuracy,
    dispose() {
      tf.dispose([x, targets, sourceLabels]);
      classifier?.dispose();
    },
  };
}

/** Options for {@linkcode createDiagnosticsMonitor}. */
export interface CreateDiagnosticsMonitorOptions
  extends BuildProbeOptions, DiagnosticsMonitorOptions {}

/**
 * Build the probe from a run's dataset and models and wrap it in a
 * {@linkcode DiagnosticsMonitor}; this is what a training run calls. It logs
 * one line describing the probe. `monitor.dispose()` frees the probe.
 *
 * @example In a training loop
 * ```ts ignore
 * const diagnostics = createDiagnosticsMonitor(trainer.dataset, trainer, { dir: runDir, log });
 * // hooks: { onStepEnd: (info) => diagnostics.onStepEnd(info) }
 * ```
 */
export function createDiagnosticsMonitor(
  dataset: SpectrogramDataset,
  models: { generator: GeneratorLike; discriminator?: DiscriminatorLike },
  options: CreateDiagnosticsMonitorOptions = {},
): DiagnosticsMonitor {
  const t0 = performance.now();
  const built = buildProbe(dataset, models, options);
  const p = built.probe;
  const acc = built.classifierRealAccuracy;
  options.log?.(
    `diagnostics: every ${options.every ?? 50} iterations on ${
      p.x.shape[0]
    } held-out spectrograms, ` +
      `targets ${p.targetNames.join(" ")}; classifiers ${
        Object.keys(p.classifiers ?? {}).join(", ") || "none"
      }${
        acc === null ? "" : ` (independent one: ${(acc * 100).toFixed(0)}% on real held-out data)`
      }` +
      `; ${p.parallel?.length ?? 0} MCD pairs; set up in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  return new DiagnosticsMonitor(p, { ...options, release: () => built.dispose() });
}

/** What {@linkcode startTrainingDiagnostics} returns: safe to call even when diagnostics are off. */
export interface TrainingDiagnostics {
  /** The monitor, or null when diagnostics are off (see the logged reason). */
  readonly monitor: DiagnosticsMonitor | null;
  /** The loop hook (0-based iteration index, as the loop passes it). */
  onStepEnd(info: { iteration: number }): void;
  /**
   * Evaluate once more at the end of a run (1-based `iteration`, the number
   * of iterations done), unless the last evaluation was at that iteration, so
   * the report's figures describe the final generator.
   */
  finish(iteration: number): void;
  /** Free the probe. */
  dispose(): void;
}

/**
 * Start diagnostics for a training run, never failing it: when the data has
 * no usable attribute (or `every` is 0) diagnostics are off and one line
 * says why. The trainer's dataset, generator and discriminator are used.
 *
 * @example In `trainExperiment`
 * ```ts ignore
 * const diagnostics = startTrainingDiagnostics(trainer, { dir: runDir, every: 20, log });
 * // hooks: { onStepEnd: (info) => diagnostics.onStepEnd(info) }, and finally diagnostics.dispose()
 * ```
 */
export function startTrainingDiagnostics(
  trainer: {
    dataset: SpectrogramDataset;
    generator: GeneratorLike;
    discriminator?: DiscriminatorLike;
  },
  options: CreateDiagnosticsMonitorOptions = {},
): TrainingDiagnostics {
  let monitor: DiagnosticsMonitor | null = null;
  if ((options.every ?? 50) > 0) {
    try {
      monitor = createDiagnosticsMonitor(trainer.dataset, trainer, options);
    } catch (e) {
      if (!(e instanceof RangeError || e instanceof TypeError)) throw e;
      options.log?.(`diagnostics: off: ${e.message}`);
    }
  }
  return {
    monitor,
    onStepEnd: (info) => void monitor?.onStepEnd(info),
    finish: (iteration) => {
      if (monitor && iteration > 0 && monitor.records.at(-1)?.iteration !== iteration) {
        monitor.evaluate(iteration);
      }
    },
    dispose: () => monitor?.dispose(),
  };
}
