/**
 * The {@linkcode Trainer}: everything one experiment trains with (models,
 * optimizers, loss terms, batch sampler), wired together as the task the
 * training loop drives, with its checkpointed state.
 *
 * Randomness: one root `Rng(trainer.seed)` is forked, in this order, into
 * the generator's initial weights, the discriminator's initial weights and
 * the loss terms' draws (the gradient penalty's ε); the batch sampler is
 * seeded with `"<seed>/data"`. So two experiments with the same seed and
 * the same model sizes start from identical weights and see identical
 * batches, whatever their loss terms.
 *
 * Data: the dataset is split by sentence (`data.split`, `lib/data`'s
 * `splitDataset`); the trainer trains on the training split only
 * ({@linkcode Trainer.dataset}) and keeps the held-out one for the
 * diagnostics ({@linkcode Trainer.heldOut}). Pairs follow `data.pairs`: with
 * `differentAttribute` set, B always differs from A in that attribute.
 *
 * An epoch is one pass over the training data: the sampler's batches per
 * epoch divided by the `nCritic + 1` batches each iteration draws (every
 * update draws its own batch), unless `trainer.itersPerEpoch` sets it.
 * Learning-rate schedules count iterations or epochs as their `unit` says.
 *
 * @module
 */
import { Rng } from "../random.ts";
import { loadDataset, type LoadDatasetOptions, type SpectrogramDataset } from "../data/dataset.ts";
import { PairSampler } from "../data/batches.ts";
import { requireItems } from "../data/dataset.ts";
import { splitDataset } from "../data/split.ts";
import { LabelSchema } from "../data/labels.ts";
import { Discriminator } from "../model/discriminator.ts";
import { Generator } from "../model/generator.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Optimizer } from "../train/optimizers.ts";
import { ganStep } from "../train/step.ts";
import { criticTerms, generatorTerms } from "../train/terms.ts";
import {
  type CheckpointContents,
  checkTensorShapes,
  type SavedTensor,
  tensorsUnder,
} from "../train/checkpoint.ts";
import { checkTrainerState, type LoopState, type TrainerState } from "../train/checkpoint_state.ts";
import { firstNonFinite, type NonFiniteValue } from "../train/non_finite.ts";
import type { tf } from "../deps.ts";
import type { LoopPosition, StepReport } from "../train/loop.ts";
import { reportTerms } from "../train/metrics.ts";
import { configHash } from "../experiment/serialize.ts";
import type { Experiment } from "../experiment/types.ts";
import { learningRateSchedule, optimizerFor, termWeights } from "./primitives.ts";

/** Options for {@linkcode buildTrainer}. */
export interface BuildTrainerOptions {
  /**
   * Iterations per epoch; overrides the experiment's `trainer.itersPerEpoch`
   * and the derived value.
   * @default {undefined}
   */
  itersPerEpoch?: number;
}

/** The checkpointed state besides tensors and the loop's fields (checked by `checkTrainerState`). */
type SavedTrainerState = Omit<TrainerState, keyof LoopState>;

/**
 * Everything one experiment trains with, wired together; it is the
 * {@linkcode LoopTask} the loop drives.
 */
export class Trainer {
  /** The experiment. */
  readonly experiment: Experiment;
  /** The training data: the training split of the experiment's dataset. */
  readonly dataset: SpectrogramDataset;
  /** The held-out sentences (`data.split`), or null when nothing is held out. */
  readonly heldOut: SpectrogramDataset | null;
  /** The held-out sentence keys, sorted (recorded in `run.json`). */
  readonly heldOutKeys: readonly string[];
  /** `G`. */
  readonly generator: Generator;
  /** `D`. */
  readonly discriminator: Discriminator;
  /** The generator's optimizer. */
  readonly generatorOptimizer: Optimizer;
  /** The discriminator's optimizer. */
  readonly discriminatorOptimizer: Optimizer;
  /** The batch sampler (seeded). */
  readonly sampler: PairSampler;
  /** Randomness of the loss terms (the gradient penalty's ε). */
  readonly termRng: Rng;
  /** Iterations per epoch. */
  readonly itersPerEpoch: number;
  /** Epochs of the full run. */
  readonly epochs: number;
  /** Generator loss terms (only those the experiment names). */
  readonly generatorTerms: ReturnType<typeof generatorTerms>;
  /** Critic loss terms. */
  readonly criticTerms: ReturnType<typeof criticTerms>;
  #lrG: Schedule;
  #lrD: Schedule;

  /**
   * Build from an experiment and its loaded dataset.
   *
   * @throws {DataError} when the dataset has no utterances (before any model is built)
   */
  constructor(exp: Experiment, dataset: SpectrogramDataset, options: BuildTrainerOptions = {}) {
    requireItems(dataset);
    this.experiment = exp;
    const split = splitDataset(dataset, exp.data.split);
    this.dataset = split.train;
    this.heldOut = split.test.size > 0 ? split.test : null;
    this.heldOutKeys = split.testKeys;
    const { bins, segmentFrames } = dataset.features;
    const { nIn, nOut } = dataset.schema;
    const root = new Rng(exp.trainer.seed);
    this.generator = new Generator(
      { ...exp.model.generator, height: bins, width: segmentFrames, channels: 1, nIn },
      { rng: root.fork("generator") },
    );
    this.discriminator = new Discriminator(
      { ...exp.model.discriminator, height: bins, width: segmentFrames, channels: 1, nOut },
      { rng: root.fork("discriminator") },
    );
    this.termRng = root.fork("terms");
    const different = exp.data.pairs.differentAttribute;
    if (different !== null && !dataset.schema.attributes.some((a) => a.name === different)) {
      throw new RangeError(
        `Invalid experiment field 'data.pairs.differentAttribute': the data has no attribute '${different}' (it has ${
          dataset.schema.attributes.map((a) => a.name).join(", ")
        })`,
      );
    }
    this.sampler = new PairSampler(this.dataset, {
      batchSize: exp.trainer.batchSize,
      seed: `${exp.trainer.seed}/data`,
      ...(different !== null ? { differentAttribute: different } : {}),
    });
    this.generatorOptimizer = optimizerFor(
      this.generator.trainableVariables,
      exp.optimizers.generator,
    );
    this.discriminatorOptimizer = optimizerFor(
      this.discriminator.trainableVariables,
      exp.optimizers.discriminator,
    );

    const adversarial = { adversarial: exp.losses.adversarial };
    this.generatorTerms = generatorTerms(termWeights(exp.losses.generator), adversarial);
    this.criticTerms = criticTerms(termWeights(exp.losses.critic), adversarial);
    this.itersPerEpoch = options.itersPerEpoch || exp.trainer.itersPerEpoch ||
      Math.max(1, Math.floor(this.sampler.batchesPerEpoch / (exp.trainer.nCritic + 1)));
    this.epochs = exp.trainer.epochs;
    this.#lrG = learningRateSchedule(exp.optimizers.generator, this.itersPerEpoch);
    this.#lrD = learningRateSchedule(exp.optimizers.discriminator, this.itersPerEpoch);
  }

  /** Iterations of the full run. */
  get totalIterations(): number {
    return this.itersPerEpoch * this.epochs;
  }

  /** Learning rates at an iteration (0-based). */
  learningRates(iteration: number): { generator: number; discriminator: number } {
    return { generator: this.#lrG(iteration), discriminator: this.#lrD(iteration) };
  }

  /** Run one iteration (nCritic critic updates, one generator update) and report every term. */
  step(position: LoopPosition): StepReport {
    const lr = this.learningRates(position.iteration);
    this.generatorOptimizer.learningRate = lr.generator;
    this.discriminatorOptimizer.learningRate = lr.discriminator;
    const result = ganStep(this, () => this.sampler.next(), {
      generatorTerms: this.generatorTerms,
      criticTerms: this.criticTerms,
      nCritic: this.experiment.trainer.nCritic,
      iteration: position.iteration,
      rng: this.termRng,
    });
    return { terms: reportTerms(result), lr };
  }

  /** The whole training state, for a checkpoint. */
  save(): CheckpointContents<Record<string, unknown>> {
    const tensors: Record<string, SavedTensor> = {};
    const put = (
      prefix: string,
      named: Record<string, Float32Array>,
      shapes: Record<string, number[]>,
    ) => {
      for (const [name, data] of Object.entries(named)) {
        tensors[`${prefix}/${name}`] = {
          dtype: "float32",
          shape: shapes[name] ?? [data.length],
          data,
        };
      }
    };
    put("G", this.generator.getWeights(), this.generator.weightShapes());
    put("D", this.discriminator.getWeights(), this.discriminator.weightShapes());
    const optG = this.generatorOptimizer.getState(), optD = this.discriminatorOptimizer.getState();
    put("optG", optG.slots, {});
    put("optD", optD.slots, {});
    const state: SavedTrainerState = {
      configHash: configHash(this.experiment),
      experiment: this.experiment.meta.id,
      sampler: this.sampler.getState(),
      termRng: this.termRng.getState(),
      optimizers: { generator: optG.config, discriminator: optD.config },
    };
    return { state, tensors };
  }

  /**
   * The first weight of `G` or `D` (BatchNorm statistics included) that is
   * NaN or infinite, named `G/<weight>` or `D/<weight>`, or `null`. The loop
   * calls it after every step, before anything else reads the weights.
   */
  nonFiniteWeight(): NonFiniteValue | null {
    const all: Record<string, tf.Tensor> = {};
    for (const [name, e] of this.generator.params.entries()) all[`G/${name}`] = e.variable;
    for (const [name, e] of this.discriminator.params.entries()) all[`D/${name}`] = e.variable;
    return firstNonFinite(all);
  }

  /**
   * Restore a state from {@linkcode Trainer.save}. The state's fields and the
   * weights' shapes are checked first; `source` names the checkpoint in the
   * one-line error.
   *
   * @throws {CheckpointError} naming `source` and the field or tensor that is wrong
   */
  load(contents: CheckpointContents<Record<string, unknown>>, source = "checkpoint"): void {
    const state = checkTrainerState(contents.state, source);
    checkTensorShapes(source, contents.tensors, "G", this.generator.weightShapes());
    checkTensorShapes(source, contents.tensors, "D", this.discriminator.weightShapes());
    const take = (prefix: string) => tensorsUnder(contents.tensors, prefix);
    this.generator.setWeights(take("G"));
    this.discriminator.setWeights(take("D"));
    this.generatorOptimizer.setState({ config: state.optimizers.generator, slots: take("optG") });
    this.discriminatorOptimizer.setState({
      config: state.optimizers.discriminator,
      slots: take("optD"),
    });
    this.sampler.setState(state.sampler);
    this.termRng.setState(state.termRng);
  }

  /** Release every tensor. */
  dispose(): void {
    this.generatorOptimizer.dispose();
    this.discriminatorOptimizer.dispose();
    this.generator.dispose();
    this.discriminator.dispose();
  }
}

/**
 * Build the {@linkcode Trainer} of an experiment for a loaded dataset.
 *
 * @example Tiny models on a tiny dataset
 * ```ts ignore
 * import { buildTrainer, loadDemoCorpus } from "../../mod.ts";
 * const ds = await loadDemoCorpus({ features: { bins: 32, segmentFrames: 32 } });
 * const trainer = buildTrainer(experiment, ds);
 * trainer.step({ iteration: 0, epoch: 0, iterInEpoch: 0 });
 * ```
 */
export function buildTrainer(
  exp: Experiment,
  dataset: SpectrogramDataset,
  options: BuildTrainerOptions = {},
): Trainer {
  return new Trainer(exp, dataset, options);
}

/** Load the dataset an experiment names (the built-in corpus when it names none). */
export async function loadExperimentData(
  exp: Experiment,
  options: Omit<LoadDatasetOptions, "features"> = {},
): Promise<SpectrogramDataset> {
  const { attributes, conditionOnly } = exp.data.labels;
  return await loadDataset(exp.data.dataset ?? "demo", {
    ...options,
    features: exp.data.features,
    ...(attributes ? { schema: new LabelSchema(attributes) } : {}),
    ...(conditionOnly.length ? { conditionOnly } : {}),
  });
}
