/**
 * A deterministic train/test split of a dataset by sentence, so that every
 * evaluation (diagnostics, the independent speaker classifier's real-speech
 * accuracy, `convert`'s examples) is on sentences the models never trained on.
 *
 * The unit is the **sentence**, not the utterance: in a parallel corpus (the
 * built-in one: 8 speakers × the same 20 sentences) every speaker's rendition
 * of a held-out sentence is held out, so a conversion can be scored against
 * the target speaker's own rendition of a sentence neither network saw.
 *
 * A sentence's key is the file name without extension, with the value of the
 * speaker attribute stripped where it begins or ends the name
 * (`wav/m1/m1_007.wav` → `007`, VCTK's `p225_001.flac` → `001`). Names that
 * do not contain the speaker are their own key, so a non-parallel corpus is
 * split by utterance.
 *
 * The held-out keys are `round(fraction · keys)` (at least 1 and at most
 * `keys − 1` when there are 2 or more keys) taken from the sorted distinct keys
 * shuffled by `Rng("split/<seed>")`: the same dataset, fraction and seed give
 * the same split on every machine, whatever the order of the files.
 *
 * @module
 */

import { Rng } from "../random.ts";
import { type DatasetItem, SpectrogramDataset } from "./dataset.ts";

/** The split of an experiment (`data.split`): which share of sentences is held out. */
export interface SplitSpec {
  /** Share of distinct sentences held out for evaluation, in [0, 1); 0 disables the split. */
  heldOut: number;
  /** Seed of the choice of held-out sentences. */
  seed: number;
}

/** Options of {@linkcode splitDataset} and {@linkcode sentenceKeyOf}. */
export interface SplitOptions {
  /**
   * The attribute whose value is stripped from file names to get the sentence key.
   * @default {"speaker"}
   */
  attribute?: string;
}

/** A dataset split into training and held-out items. */
export interface DatasetSplit {
  /** The items to train on (name `<name>[train]`). */
  train: SpectrogramDataset;
  /** The held-out items (name `<name>[test]`); empty when `heldOut` is 0. */
  test: SpectrogramDataset;
  /** Sentence keys of the held-out items, sorted (recorded in the run). */
  testKeys: string[];
  /** Number of distinct sentence keys in the dataset. */
  keys: number;
}

/** The sentence key of an item (see the module doc). */
export function sentenceKeyOf(
  item: Pick<DatasetItem, "path" | "values">,
  options: SplitOptions = {},
): string {
  const base = item.path.replace(/\\/g, "/").split("/").pop() ?? item.path;
  let stem = base.includes(".") ? base.slice(0, base.lastIndexOf(".")) : base;
  const value = item.values[options.attribute ?? "speaker"];
  if (typeof value === "string" && value.length > 0 && stem !== value) {
    const sep = /^[-_.\s]+|[-_.\s]+$/g;
    if (stem.startsWith(value)) stem = stem.slice(value.length).replace(sep, "");
    else if (stem.endsWith(value)) stem = stem.slice(0, -value.length).replace(sep, "");
  }
  return stem;
}

/**
 * Split a dataset by sentence (see the module doc).
 *
 * @example The built-in corpus's split used by the reference recipe
 * ```ts ignore
 * import { loadDemoCorpus, splitDataset } from "./mod.ts";
 * const ds = await loadDemoCorpus({ features: { bins: 64, segmentFrames: 64 } });
 * const { train, test, testKeys } = splitDataset(ds, { heldOut: 0.25, seed: 0 });
 * console.log(train.size, test.size, testKeys); // 120 40 [5 sentence keys]
 * ```
 *
 * @throws {RangeError} when `heldOut` is outside [0, 1).
 */
export function splitDataset(
  dataset: SpectrogramDataset,
  spec: SplitSpec,
  options: SplitOptions = {},
): DatasetSplit {
  if (!(spec.heldOut >= 0 && spec.heldOut < 1)) {
    throw new RangeError(
      `Cannot split dataset '${dataset.name}': heldOut must be in [0, 1), got ${spec.heldOut}`,
    );
  }
  const keyOf = dataset.items.map((item) => sentenceKeyOf(item, options));
  const distinct = [...new Set(keyOf)].sort();
  let n = Math.round(spec.heldOut * distinct.length);
  if (spec.heldOut > 0 && distinct.length >= 2) n = Math.min(distinct.length - 1, Math.max(1, n));
  const testKeys = new Rng(`split/${spec.seed}`).shuffle(distinct).slice(0, n).sort();
  const held = new Set(testKeys);
  const subset = (suffix: string, keep: (i: number) => boolean) =>
    new SpectrogramDataset(
      `${dataset.name}[${suffix}]`,
      dataset.items.filter((_, i) => keep(i)),
      dataset.schema,
      dataset.features,
      dataset.skipped,
      dataset.preparation,
    );
  return {
    train: subset("train", (i) => !held.has(keyOf[i]!)),
    test: subset("test", (i) => held.has(keyOf[i]!)),
    testKeys,
    keys: distinct.length,
  };
}
