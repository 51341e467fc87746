/**
 * Building the fixed probe the diagnostics run on, from a dataset and the
 * models of a run: a held-out batch, one target per chosen speaker, the
 * discriminator's classifier, an independent {@linkcode SpeakerClassifier}
 * trained on real spectrograms of the same corpus, and parallel pairs for MCD
 * (same sentence, target speaker's own rendition).
 *
 * @module
 */

import { tf } from "../../deps.ts";
import { Rng } from "../../random.ts";
import type { DatasetItem, SpectrogramDataset } from "../../data/dataset.ts";
import { sliceFrames } from "../../data/segments.ts";
import { spectrogramsToTensor } from "../../data/tensors.ts";
import type { Spectrogram } from "../../data/spectrogram.ts";
import type { ClassifierFn } from "./measures.ts";
import type { DiagnosticsProbe, ParallelPair } from "./evaluate.ts";
import { SpeakerClassifier } from "../speaker_classifier.ts";

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

/** The utterances of each value of the target attribute, and the values present. */
interface Voices {
  /** The attribute, e.g. `speaker`. */
  attribute: string;
  /** Its values in schema order (a value's index is its class). */
  values: readonly string[];
  /** Where its one-hot block sits in the output labels, if classified. */
  layout: { classified: boolean; outOffset: number; size: number };
  /** The utterances of each value. */
  byValue: Map<string, DatasetItem[]>;
  /** The values with at least one utterance, in schema order. */
  present: string[];
}

/** Group the dataset's utterances by the attribute's value; it needs 2 values present. */
function voicesOf(dataset: SpectrogramDataset, attribute: string): Voices {
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
  return { attribute, values: spec.values, layout, byValue, present };
}

/**
 * `k` targets as different as possible: greedy farthest-point over their
 * full input labels (so they span genders, accents… and not just speaker
 * ids). A target's labels are those of an utterance by that speaker.
 */
function chooseTargets(voices: Voices, k: number): { values: string[]; labels: Float32Array[] } {
  const labelsOf = new Map(
    voices.present.map((v) => [v, voices.byValue.get(v)![0]!.input] as const),
  );
  const distance = (a: Float32Array, b: Float32Array) =>
    a.reduce((s, x, i) => s + Math.abs(x - b[i]!), 0);
  const values = [voices.present[0]!];
  while (values.length < k) {
    let best = "", bestD = -1;
    for (const v of voices.present) {
      if (values.includes(v)) continue;
      const d = Math.min(...values.map((t) => distance(labelsOf.get(v)!, labelsOf.get(t)!)));
      if (d > bestD) [best, bestD] = [v, d];
    }
    values.push(best);
  }
  return { values, labels: values.map((v) => labelsOf.get(v)!) };
}

/** The held-out batch: round-robin over the speakers, a seeded item of each. */
function chooseHeldOut(voices: Voices, size: number, rng: Rng): DatasetItem[] {
  const shuffled = new Map(
    [...voices.byValue].map(([v, items]) => [v, rng.shuffle([...items])] as const),
  );
  const order = rng.shuffle([...voices.present]);
  const held: DatasetItem[] = [];
  for (let round = 0; held.length < size; round++) {
    let added = false;
    for (const v of order) {
      const item = shuffled.get(v)![round];
      if (item && held.length < size) {
        held.push(item);
        added = true;
      }
    }
    if (!added) break;
  }
  if (held.length < 2) {
    throw new RangeError("Cannot build diagnostics probe: fewer than 2 usable utterances");
  }
  return held;
}

/**
 * The independent classifier, trained on random crops of every utterance not
 * in the held-out batch; null when fewer than 2 classes remain.
 */
function trainIndependentClassifier(
  voices: Voices,
  held: readonly DatasetItem[],
  options: { steps: number; cropsPerItem: number; width: number; seed: number; rng: Rng },
): SpeakerClassifier | null {
  const heldSet = new Set(held);
  const { width, rng } = options;
  const crops: Spectrogram[] = [], labels: number[] = [];
  for (const [v, items] of voices.byValue) {
    for (const item of items) {
      if (heldSet.has(item)) continue;
      const s = item.spectrogram();
      for (let c = 0; c < options.cropsPerItem; c++) {
        const start = s.frames > width ? rng.int(s.frames - width + 1) : 0;
        crops.push(sliceFrames(s, start, width));
        labels.push(voices.values.indexOf(v));
      }
    }
  }
  if (new Set(labels).size < 2) return null;
  const train = spectrogramsToTensor(crops);
  try {
    return SpeakerClassifier.train(train, labels, {
      steps: options.steps,
      seed: options.seed,
      classNames: voices.values,
    });
  } finally {
    train.dispose();
  }
}

/**
 * Parallel pairs for MCD: a held-out utterance, a target of another speaker,
 * and that speaker's rendition of the same sentence.
 */
function parallelPairs(
  voices: Voices,
  held: readonly DatasetItem[],
  targets: { values: string[]; labels: Float32Array[] },
  n: number,
): ParallelPair[] {
  const { attribute } = voices;
  const k = targets.values.length;
  const pairs: ParallelPair[] = [];
  for (let i = 0; i < held.length && pairs.length < n; i++) {
    const item = held[i]!;
    const key = sentenceKey(item, attribute);
    for (let j = 0; j < k; j++) {
      const t = (i + 1 + j) % k;
      if (targets.values[t] === item.values[attribute]) continue;
      const reference = voices.byValue.get(targets.values[t]!)!.find((r) =>
        sentenceKey(r, attribute) === key
      );
      if (!reference) continue;
      pairs.push({
        source: item.spectrogram(),
        target: targets.labels[t]!,
        reference: reference.spectrogram(),
      });
      break;
    }
  }
  return pairs;
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
 * same dataset and options, without building anything: what the board needs
 * to render a run's probe audio from its checkpoint.
 *
 * @throws {RangeError} when the attribute is not in the schema or has fewer than 2 values present.
 */
export function probeSelection(
  dataset: SpectrogramDataset,
  options: Pick<BuildProbeOptions, "attribute" | "targets" | "batch" | "seed"> = {},
): ProbeSelection {
  const attribute = options.attribute ?? "speaker";
  const voices = voicesOf(dataset, attribute);
  const chosen = chooseTargets(voices, Math.min(options.targets ?? 4, voices.present.length));
  const held = chooseHeldOut(voices, Math.max(2, options.batch ?? 4), new Rng(options.seed ?? 0));
  return { attribute, targetValues: chosen.values, targetLabels: chosen.labels, held };
}

/**
 * Choose the probe from a dataset and wrap the models as diagnostics
 * functions: group the utterances by speaker, choose the targets and the
 * held-out batch, train the independent classifier, find parallel pairs.
 *
 * @throws {RangeError} when the attribute is not in the schema or has fewer than 2 values present.
 */
export function buildProbe(
  dataset: SpectrogramDataset,
  models: { generator: GeneratorLike; discriminator?: DiscriminatorLike },
  options: BuildProbeOptions = {},
): BuiltProbe {
  const attribute = options.attribute ?? "speaker";
  const width = options.width ?? dataset.features.segmentFrames;
  const seed = options.seed ?? 0;
  const rng = new Rng(seed);
  const voices = voicesOf(dataset, attribute);
  const chosen = chooseTargets(voices, Math.min(options.targets ?? 4, voices.present.length));
  const nIn = dataset.schema.nIn;
  const k = chosen.values.length;
  const targets = tf.tensor2d(Float32Array.from(chosen.labels.flatMap((l) => [...l])), [k, nIn]);
  const held = chooseHeldOut(voices, Math.max(2, options.batch ?? 4), rng);
  const x = spectrogramsToTensor(held.map((i) => centreCrop(i.spectrogram(), width)));
  const sourceLabels = tf.tensor2d(Float32Array.from(held.flatMap((i) => [...i.input])), [
    held.length,
    nIn,
  ]);

  const classifiers: Record<string, ClassifierFn> = {};
  const d = models.discriminator;
  const { layout } = voices;
  if (d && layout.classified && layout.outOffset >= 0) {
    classifiers.discriminator = (y) =>
      tf.slice(d.apply(y).cls as tf.Tensor2D, [0, layout.outOffset], [-1, layout.size]);
  }
  const steps = options.classifierSteps ?? 300;
  const classifier = steps > 0
    ? trainIndependentClassifier(voices, held, {
      steps,
      cropsPerItem: options.cropsPerItem ?? 2,
      width,
      seed,
      rng,
    })
    : null;
  let classifierRealAccuracy: number | null = null;
  if (classifier) {
    classifiers.classifier = (y) => classifier.predict(y);
    classifierRealAccuracy = classifier.accuracy(
      x,
      held.map((i) => voices.values.indexOf(i.values[attribute] as string)),
    );
  }

  const parallel = parallelPairs(voices, held, chosen, options.pairs ?? 4);
  const probe: DiagnosticsProbe = {
    generator: (xx, c) => models.generator.apply(xx, c, { training: false }),
    x,
    targets,
    targetNames: chosen.values.map((v) => `${attribute}=${v}`),
    sourceLabels,
    sourceNames: held.map((i) => `${attribute}=${i.values[attribute]}`),
    targetClasses: chosen.values.map((v) => voices.values.indexOf(v)),
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
