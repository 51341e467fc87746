/**
 * The experiment type: everything a run needs, as plain, YAML-serializable data.
 *
 * An experiment file (`experiments/<id>.ts`) default-exports one
 * {@linkcode Experiment}. Functions are never stored in it: loss terms,
 * optimizers and schedules are named, and the trainer looks the names up in
 * the primitives of `lib/loss`, `lib/train` and `lib/schedule`. That keeps an
 * experiment diffable, hashable and savable beside its checkpoints.
 *
 * @module
 */
import type { FeatureConfig } from "../data/spectrogram.ts";
import type { DiscriminatorConfig } from "../model/discriminator.ts";
import type { GeneratorConfig } from "../model/generator.ts";

/** Descriptive fields of an experiment; they never change what a run computes. */
export interface ExperimentMeta {
  /** Short id, e.g. `9ada9179`; names the run directory `runs/<id>/…`. */
  id: string;
  /** One-line title for the run record. */
  title: string;
  /** Id of the experiment this one was derived from, or `null` for a root experiment. */
  base: string | null;
  /** Free text: why the experiment exists; it opens the run record. */
  note: string;
  /** Tags copied into the run record's front matter. */
  tags: string[];
}

/** Spectrogram features: `lib/data`'s `FeatureConfig` (sample rate, hop, bins, segment frames, dB range, resampler). */
export type FeatureSpec = FeatureConfig;

/** One attribute of a fixed label schema (`lib/data`'s `AttributeSpec`, every field explicit). */
export interface AttributeSpecEntry {
  /** Attribute name, e.g. `speaker`. */
  name: string;
  /** Its values, in encoding order. */
  values: string[];
  /** Whether the discriminator classifies it; `false` makes it condition-only. */
  classified: boolean;
}

/** The label schema: fixed, or taken from the data. */
export interface LabelSpec {
  /**
   * A fixed schema, or `null` to use the dataset's own (a YAML manifest's
   * `attributes:`, the built-in corpus's) or one inferred from its values.
   */
  attributes: AttributeSpecEntry[] | null;
  /** Attributes that only condition the generator (not classified), when the schema is inferred. */
  conditionOnly: string[];
}

/** Where the training data comes from. */
export interface DataSpec {
  /**
   * A dataset path (manifest YAML/CSV or a VCTK-style folder), or `null` for
   * the built-in corpus.
   */
  dataset: string | null;
  /** The spectrogram features. */
  features: FeatureSpec;
  /** The label schema. */
  labels: LabelSpec;
}

/**
 * The generator's architecture: `lib/model`'s {@linkcode GeneratorConfig}
 * without the fields the data decides (height and width from the features,
 * `nIn` from the label schema, one channel).
 */
export type GeneratorSpec = Omit<GeneratorConfig, "height" | "width" | "channels" | "nIn">;

/**
 * The discriminator's architecture (DESIGN §2): `lib/model`'s
 * {@linkcode DiscriminatorConfig} without the fields the data decides
 * (height, width, one channel, `nOut` from the label schema).
 */
export type DiscriminatorSpec = Omit<
  DiscriminatorConfig,
  "height" | "width" | "channels" | "nOut"
>;

/** One weighted loss term; the term's name is its key in {@linkcode LossSpec}. */
export interface TermSpec {
  /** The factor the term is multiplied by before summing. */
  weight: number;
  /**
   * First iteration (0-based) at which the term is on; before it the weight is
   * 0 and the term is not computed. Absent: from the start.
   */
  from?: number;
  /**
   * Iteration (0-based) at which the term turns off, e.g. an identity loss
   * for the first 10,000 iterations only (MaskCycleGAN-VC). Absent: never.
   */
  until?: number;
}

/** The loss wiring: named, weighted terms for each side. */
export interface LossSpec {
  /** Adversarial objective shared by both sides. */
  adversarial: "wgan" | "lsgan" | "bce";
  /** Terms of the critic (discriminator) loss, by name. */
  critic: Record<string, TermSpec>;
  /** Terms of the generator loss, by name. */
  generator: Record<string, TermSpec>;
}

/** An optimizer and its learning-rate schedule. */
export interface OptimizerSpec {
  /** Optimizer kind. */
  kind: "rmsprop" | "adam";
  /** Initial learning rate. */
  lr: number;
  /** RMSprop's decay of the squared-gradient average; Adam's beta2. */
  alpha: number;
  /** Adam's beta1 (unused by RMSprop). */
  beta1: number;
  /** Added outside the square root. */
  eps: number;
  /** Learning-rate schedule over epochs. */
  schedule: ScheduleSpec;
}

/** A learning-rate schedule over epochs. */
export type ScheduleSpec =
  | { kind: "constant" }
  | { kind: "step"; every: number; factor: number }
  | { kind: "linear"; start: number; end: number; final: number };

/** Trainer settings. */
export interface TrainerSpec {
  /** Minibatch size. */
  batchSize: number;
  /** Epochs to train. */
  epochs: number;
  /** Iterations per epoch; `0` means one pass over the dataset's pairs. */
  itersPerEpoch: number;
  /** Critic updates per generator update. */
  nCritic: number;
  /** Seed of every random draw (weights, data order, penalty interpolation). */
  seed: number;
  /** Minutes between periodic checkpoints. */
  checkpointMinutes: number;
  /** Iterations between sample spectrograms; `0` disables them. */
  sampleEvery: number;
}

/** A complete experiment. */
export interface Experiment {
  /** Descriptive fields (ignored by {@linkcode diff} and the config hash). */
  meta: ExperimentMeta;
  /** Training data. */
  data: DataSpec;
  /** Model architectures. */
  model: { generator: GeneratorSpec; discriminator: DiscriminatorSpec };
  /** Loss terms and weights. */
  losses: LossSpec;
  /** Optimizers with their schedules. */
  optimizers: { generator: OptimizerSpec; discriminator: OptimizerSpec };
  /** Trainer settings. */
  trainer: TrainerSpec;
}

/** A recursive partial, used for {@linkcode extend}'s changes. */
export type DeepPartial<T> = T extends (infer U)[] ? U[]
  : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> }
  : T;
