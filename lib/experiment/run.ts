/**
 * Running an experiment: build the models, optimizers, loss terms and batch
 * sampler it names ({@linkcode buildTrainer}), then train into a run
 * directory with metrics, checkpoints, samples and a report
 * ({@linkcode trainExperiment}).
 *
 * Randomness: one root `Rng(trainer.seed)` is forked, in this order, into
 * the generator's initial weights, the discriminator's initial weights and
 * the loss terms' draws (the gradient penalty's ε); the batch sampler is
 * seeded with `"<seed>/data"`. So two experiments with the same seed and
 * the same model sizes start from identical weights and see identical
 * batches, whatever their loss terms.
 *
 * An epoch is one pass over the data: the sampler's batches per epoch
 * divided by the `nCritic + 1` batches each iteration draws (every update
 * draws its own batch), unless `trainer.itersPerEpoch` sets it.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../deps.ts";
import { Rng, type RngState } from "../random.ts";
import { loadDataset, type LoadDatasetOptions, type SpectrogramDataset } from "../data/dataset.ts";
import { PairSampler, type PairSamplerState, toTensors } from "../data/batches.ts";
import { LabelSchema } from "../data/labels.ts";
import { Discriminator } from "../model/discriminator.ts";
import { Generator } from "../model/generator.ts";
import { plotSpectrogramGrid } from "../eval/plots.ts";
import { startTrainingDiagnostics } from "../eval/probe.ts";
import { constantSchedule, linearDecay, stepDecay } from "../schedule/learning_rate.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { createOptimizer, type Optimizer, type OptimizerState } from "../train/optimizers.ts";
import { ganStep, type GanStepResult } from "../train/step.ts";
import { criticTerms, generatorTerms } from "../train/terms.ts";
import { type CheckpointContents, readCheckpoint, type SavedTensor } from "../train/checkpoint.ts";
import { type LoopPosition, type LoopResult, runLoop, type StepReport } from "../train/loop.ts";
import { MetricsWriter, truncateMetrics } from "../train/metrics.ts";
import { ProgressBar, type ProgressBarOptions } from "../train/progress.ts";
import { type RunInfo, termRange } from "./record.ts";
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
import { configHash, experimentToYaml } from "./serialize.ts";
import type { Experiment, OptimizerSpec, TermSpec } from "./types.ts";

/** The learning-rate schedule of an optimizer spec, as a function of the epoch. */
export function learningRateSchedule(spec: OptimizerSpec): Schedule {
  const s = spec.schedule;
  switch (s.kind) {
    case "constant":
      return constantSchedule(spec.lr);
    case "step":
      return stepDecay({ initial: spec.lr, factor: s.factor, every: s.every });
    case "linear":
      return linearDecay({
        initial: spec.lr,
        final: spec.lr * s.final,
        start: s.start,
        end: s.end,
      });
  }
}

/**
 * Term weights for the GAN step: a number, or a schedule of the iteration
 * when the term has `from` / `until` (0 outside, so the term is not computed).
 *
 * @example Identity mapping for the first 10,000 iterations only
 * ```ts
 * import { termWeights } from "./run.ts";
 * const w = termWeights({ identity: { weight: 5, until: 10000 } }).identity as (t: number) => number;
 * console.assert(w(9999) === 5 && w(10000) === 0);
 * ```
 */
export function termWeights(terms: Record<string, TermSpec>): Record<string, number | Schedule> {
  const out: Record<string, number | Schedule> = {};
  for (const [name, t] of Object.entries(terms)) {
    if (t.from === undefined && t.until === undefined) {
      out[name] = t.weight;
    } else {
      const from = t.from ?? 0, until = t.until ?? Infinity;
      out[name] = (iteration: number) => (iteration >= from && iteration < until ? t.weight : 0);
    }
  }
  return out;
}

function optimizerFor(variables: Record<string, tf.Variable>, spec: OptimizerSpec): Optimizer {
  return createOptimizer(variables, {
    kind: spec.kind,
    learningRate: spec.lr,
    alpha: spec.alpha,
    beta1: spec.beta1,
    eps: spec.eps,
  });
}

/** Options for {@linkcode buildTrainer}. */
export interface BuildTrainerOptions {
  /**
   * Iterations per epoch; overrides the experiment's `trainer.itersPerEpoch`
   * and the derived value.
   * @default {undefined}
   */
  itersPerEpoch?: number;
}

/** The checkpointed state besides tensors. */
interface TrainerState extends Record<string, unknown> {
  configHash: string;
  experiment: string;
  sampler: PairSamplerState;
  termRng: RngState;
  optimizers: { generator: OptimizerState["config"]; discriminator: OptimizerState["config"] };
}

/**
 * Everything one experiment trains with, wired together; it is the
 * {@linkcode LoopTask} the loop drives.
 */
export class Trainer {
  /** The experiment. */
  readonly experiment: Experiment;
  /** The training data. */
  readonly dataset: SpectrogramDataset;
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

  /** Build from an experiment and its loaded dataset. */
  constructor(exp: Experiment, dataset: SpectrogramDataset, options: BuildTrainerOptions = {}) {
    this.experiment = exp;
    this.dataset = dataset;
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
    this.sampler = new PairSampler(dataset, {
      batchSize: exp.trainer.batchSize,
      seed: `${exp.trainer.seed}/data`,
    });
    this.generatorOptimizer = optimizerFor(
      this.generator.trainableVariables,
      exp.optimizers.generator,
    );
    this.discriminatorOptimizer = optimizerFor(
      this.discriminator.trainableVariables,
      exp.optimizers.discriminator,
    );
    this.#lrG = learningRateSchedule(exp.optimizers.generator);
    this.#lrD = learningRateSchedule(exp.optimizers.discriminator);
    const adversarial = { adversarial: exp.losses.adversarial };
    this.generatorTerms = generatorTerms(termWeights(exp.losses.generator), adversarial);
    this.criticTerms = criticTerms(termWeights(exp.losses.critic), adversarial);
    this.itersPerEpoch = options.itersPerEpoch || exp.trainer.itersPerEpoch ||
      Math.max(1, Math.floor(this.sampler.batchesPerEpoch / (exp.trainer.nCritic + 1)));
    this.epochs = exp.trainer.epochs;
  }

  /** Iterations of the full run. */
  get totalIterations(): number {
    return this.itersPerEpoch * this.epochs;
  }

  /** Learning rates at an epoch (0-based). */
  learningRates(epoch: number): { generator: number; discriminator: number } {
    return { generator: this.#lrG(epoch), discriminator: this.#lrD(epoch) };
  }

  /** Run one iteration (nCritic critic updates, one generator update) and report every term. */
  step(position: LoopPosition): StepReport {
    const lr = this.learningRates(position.epoch);
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
    const state: TrainerState = {
      configHash: configHash(this.experiment),
      experiment: this.experiment.meta.id,
      sampler: this.sampler.getState(),
      termRng: this.termRng.getState(),
      optimizers: { generator: optG.config, discriminator: optD.config },
    };
    return { state, tensors };
  }

  /** Restore a state from {@linkcode Trainer.save}. */
  load(contents: CheckpointContents<Record<string, unknown>>): void {
    const state = contents.state as TrainerState;
    const take = (prefix: string) => {
      const out: Record<string, Float32Array> = {};
      for (const [name, t] of Object.entries(contents.tensors)) {
        if (name.startsWith(`${prefix}/`)) {
          out[name.slice(prefix.length + 1)] = t.data as Float32Array;
        }
      }
      return out;
    };
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
 * Per-iteration values: `D.<term>` is the mean over the critic updates,
 * `G.<term>` the generator update's value (both unweighted), and `D.total` /
 * `G.total` the weighted sums that were minimised.
 */
export function reportTerms(result: GanStepResult): Record<string, number> {
  const terms: Record<string, number> = {};
  const n = result.critic.length;
  if (n > 0) {
    for (const name of Object.keys(result.critic[0]!.values)) {
      terms[`D.${name}`] = result.critic.reduce((s, r) => s + (r.values[name] ?? NaN), 0) / n;
    }
    terms["D.total"] = result.critic.reduce((s, r) => s + r.total, 0) / n;
  }
  for (const [name, v] of Object.entries(result.generator.values)) terms[`G.${name}`] = v;
  terms["G.total"] = result.generator.total;
  return terms;
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

/** A fixed batch for samples: the first batch of a sampler seeded apart from training. */
function sampleArrays(trainer: Trainer) {
  const sampler = new PairSampler(trainer.dataset, {
    batchSize: Math.min(2, trainer.dataset.size),
    seed: `${trainer.experiment.trainer.seed}/samples`,
  });
  return sampler.nextArrays();
}

/** Write `samples/iter-NNNNNN.png`: per sample x_A, G(x_A, c_B), G(G(x_A, c_B), c_A) and x_B. */
async function writeSamples(
  dir: string,
  trainer: Trainer,
  arrays: ReturnType<typeof sampleArrays>,
  iteration: number,
): Promise<string> {
  const { bins } = trainer.dataset.features;
  const frames = trainer.sampler.segmentFrames;
  const names = (idx: number[]) =>
    idx.map((i) => {
      const v = trainer.dataset.items[i]!.values;
      return String(v.speaker ?? Object.values(v).find((x) => typeof x === "string") ?? i);
    });
  const [nameA, nameB] = [names(arrays.indexA), names(arrays.indexB)];
  const out = tf.tidy(() => {
    const b = toTensors(arrays, bins, frames);
    const fake = trainer.generator.apply(b.xA, b.cB, { training: false });
    const rec = trainer.generator.apply(fake, b.cA, { training: false });
    return { xA: b.xA.dataSync(), fake: fake.dataSync(), rec: rec.dataSync(), xB: b.xB.dataSync() };
  });
  const seg = bins * frames;
  const panels = arrays.indexA.flatMap((_, s) => {
    const part = (data: Float32Array | Int32Array | Uint8Array) =>
      data.slice(s * seg, (s + 1) * seg);
    const shape = [bins, frames] as const;
    return [
      { title: `x_A (${nameA[s]})`, values: part(out.xA), shape },
      { title: `G(x_A, ${nameB[s]})`, values: part(out.fake), shape },
      { title: `reconstruction`, values: part(out.rec), shape },
      { title: `x_B (${nameB[s]})`, values: part(out.xB), shape },
    ];
  });
  const canvas = plotSpectrogramGrid(panels, {
    columns: 4,
    cellSize: Math.max(96, Math.min(192, bins)),
    caption: `${trainer.experiment.meta.id} at iteration ${iteration}`,
  });
  const path = join(dir, RUN_FILES.samples, `iter-${String(iteration).padStart(7, "0")}.png`);
  await Deno.writeFile(path, canvas.toPng());
  return path;
}

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

/** The resolved config in a few lines, printed once before training. */
export function summarize(
  exp: Experiment,
  trainer: Trainer,
  extra: { runDir: string; overrides: string[]; budget: string },
): string[] {
  const terms = (r: Record<string, TermSpec>) =>
    Object.entries(r).map(([k, v]) => `${k} ×${v.weight}${termRange(v)}`).join(", ") || "(none)";
  const g = exp.model.generator, d = exp.model.discriminator;
  const opt = (o: OptimizerSpec) =>
    `${o.kind} lr ${o.lr}, ${
      o.schedule.kind === "step"
        ? `×${Number(o.schedule.factor.toPrecision(4))} every ${o.schedule.every} epochs`
        : o.schedule.kind
    }`;
  const f = trainer.dataset.features;
  return [
    `voxlab: experiment ${exp.meta.id}: ${exp.meta.title}` +
    (exp.meta.base ? ` (base ${exp.meta.base})` : ""),
    `  config     hash ${configHash(exp)}` +
    (extra.overrides.length ? `; --set ${extra.overrides.join(" ")}` : ""),
    `  data       ${trainer.dataset.summary()}; ${f.bins}×${f.segmentFrames} spectrograms`,
    `  generator  widths [${g.widths}], ${g.resBlocks} res blocks, ` +
    `${trainer.generator.params.countTrainable().toLocaleString("en-US")} params`,
    `  critic     widths [${d.widths}], features at conv${d.featureLayer}, ` +
    `${trainer.discriminator.params.countTrainable().toLocaleString("en-US")} params`,
    `  G terms    ${terms(exp.losses.generator)} (${exp.losses.adversarial})`,
    `  D terms    ${terms(exp.losses.critic)}`,
    `  optimizers G ${opt(exp.optimizers.generator)}; D ${opt(exp.optimizers.discriminator)}`,
    `  trainer    batch ${exp.trainer.batchSize}, ${exp.trainer.epochs} epochs × ${trainer.itersPerEpoch} ` +
    `iterations, nCritic ${exp.trainer.nCritic}, seed ${exp.trainer.seed}; ${extra.budget}`,
    `  run        ${extra.runDir}`,
  ];
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
