/**
 * The GAN step: one iteration is `nCritic` critic (discriminator) updates,
 * then one generator update, each wired from named, weighted loss terms.
 *
 * A term is `{ name, weight, fn }`; `fn` receives a context whose derived
 * tensors (`fake`, `reconstruction`, `identity`, discriminator outputs) are
 * computed on first access and shared by the terms of that update. A term
 * with weight 0 (or a schedule at 0) is not called, so what it alone needs is
 * never computed: without the identity term, `G(x_A, c_A)` is never run.
 *
 * Choices, documented here because the seed does not say:
 * - Batches: every update draws its own batch from the source (`nCritic + 1`
 *   batches per iteration), as PyTorch StarGAN-VC does; pass a fixed
 *   {@linkcode GanBatch} to reuse one. Tensors the source creates during an
 *   update are disposed when the update ends; tensors that existed before
 *   (a fixed batch) are left to the caller.
 * - Both networks run in training mode throughout: the critic's fake is
 *   `G(x_A, c_B)` with batch statistics (updating G's BatchNorm running
 *   statistics), as Chainer and PyTorch StarGAN do. The critic's fake is
 *   computed without recording G on the gradient tape, so G's activations are
 *   not kept for the critic's backward pass.
 * - Reported values are the unweighted terms; `total` is the weighted sum
 *   that was minimised.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { Rng } from "../random.ts";
import type { Discriminator, DiscriminatorOutput } from "../model/discriminator.ts";
import type { Generator } from "../model/generator.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { leanVariableGrads } from "./lean_grads.ts";
import type { Optimizer } from "./optimizers.ts";

/** One training batch: two real samples sets with their labels. */
export interface GanBatch {
  /** Source spectrograms `[B, H, W, 1]` in [0, 1]. */
  xA: tf.Tensor4D;
  /** Input labels of `xA` `[B, nIn]` in {0, 1}. */
  cA: tf.Tensor2D;
  /** Target-domain spectrograms `[B, H, W, 1]` in [0, 1]. */
  xB: tf.Tensor4D;
  /** Input labels of `xB` `[B, nIn]` in {0, 1}: the conversion target. */
  cB: tf.Tensor2D;
  /** Output labels of `xB` `[B, nOut]` in {−1, 0, 1} (−1 unknown). */
  yB: tf.Tensor2D;
}

/** A fixed batch, or a function returning a fresh batch per update. */
export type BatchSource = GanBatch | (() => GanBatch);

/** The two networks. */
export interface GanModels {
  /** Generator `G(x, c)`. */
  generator: Generator;
  /** Discriminator `D(x)`. */
  discriminator: Discriminator;
}

/** The networks and their optimizers. */
export interface GanParts extends GanModels {
  /** Updates the generator's trainable variables. */
  generatorOptimizer: Optimizer;
  /** Updates the discriminator's trainable variables. */
  discriminatorOptimizer: Optimizer;
}

/** What every term's context holds. */
export interface TermContextBase {
  /** The update's batch. */
  readonly batch: GanBatch;
  /** The networks. */
  readonly models: GanModels;
  /** The iteration (0-based), as passed to the step. */
  readonly iteration: number;
  /** Randomness for the update (e.g. the gradient penalty's ε). */
  readonly rng: Rng;
}

/** Context of critic terms; derived tensors computed on first access. */
export interface CriticContext extends TermContextBase {
  /** `G(x_A, c_B)`, a constant for the critic (not on the gradient tape). */
  readonly fake: tf.Tensor4D;
  /** `D(x_B)`. */
  readonly dReal: DiscriminatorOutput;
  /** `D(fake)`. */
  readonly dFake: DiscriminatorOutput;
}

/** Context of generator terms; derived tensors computed on first access. */
export interface GeneratorContext extends TermContextBase {
  /** `fake = G(x_A, c_B)`. */
  readonly fake: tf.Tensor4D;
  /** `G(fake, c_A)`, the cycle reconstruction of `x_A`. */
  readonly reconstruction: tf.Tensor4D;
  /** `G(x_A, c_A)`, the identity mapping. */
  readonly identity: tf.Tensor4D;
  /** `D(fake)`. */
  readonly dFake: DiscriminatorOutput;
  /** `D(x_B)`, the real target (e.g. for feature matching). */
  readonly dRealB: DiscriminatorOutput;
}

/** A named, weighted loss term. */
export interface LossTerm<C> {
  /** Name reported with the term's value, e.g. `reconstruction`. */
  name: string;
  /** Weight, or a schedule of the iteration; 0 means the term is skipped. */
  weight: number | Schedule;
  /** The unweighted term, a scalar. */
  fn: (context: C) => tf.Scalar;
}

/** One update's reported values. */
export interface PhaseResult {
  /** Unweighted value of each active term. */
  values: Record<string, number>;
  /** Weight each active term had. */
  weights: Record<string, number>;
  /** The minimised weighted sum. */
  total: number;
}

/** What {@linkcode ganStep} reports. */
export interface GanStepResult {
  /** One entry per critic update. */
  critic: PhaseResult[];
  /** The generator update. */
  generator: PhaseResult;
}

/** Options of {@linkcode ganStep}. */
export interface GanStepOptions {
  /** Terms of the generator loss. */
  generatorTerms: LossTerm<GeneratorContext>[];
  /** Terms of the critic loss. */
  criticTerms: LossTerm<CriticContext>[];
  /**
   * Critic updates before the generator update.
   * @default {5}
   */
  nCritic?: number;
  /**
   * The iteration (0-based), for weight schedules.
   * @default {0}
   */
  iteration?: number;
  /**
   * Randomness for the terms (the gradient penalty's ε).
   * @default {new Rng(0)}
   */
  rng?: Rng;
}

/** Options of {@linkcode generatorGradients} and {@linkcode criticGradients}. */
export interface GradientOptions<C> {
  /** The loss terms. */
  terms: LossTerm<C>[];
  /**
   * The iteration (0-based), for weight schedules.
   * @default {0}
   */
  iteration?: number;
  /**
   * Randomness for the terms.
   * @default {new Rng(0)}
   */
  rng?: Rng;
}

/** Gradients by variable name plus the reported values. */
export interface GradientResult extends PhaseResult {
  /** Gradient of the weighted sum for each variable it depends on; the caller disposes them. */
  grads: Record<string, tf.Tensor>;
}

/**
 * Run `f` without recording it on the gradient tape: the result is a
 * constant for any enclosing gradient computation (and `f`'s activations are
 * not kept for a backward pass). `anchor` must be a tensor (any input).
 */
function untaped<T extends tf.Tensor>(anchor: tf.Tensor, f: () => T): T {
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: f(),
    gradFunc: (_dy: tf.Tensor) => [tf.zerosLike(args[0] as tf.Tensor)],
  }));
  return fn(anchor) as T;
}

function checkBatch(batch: GanBatch): void {
  if (typeof batch !== "object" || batch === null) {
    throw new TypeError(`Cannot run GAN step: the batch source returned ${batch}`);
  }
  for (const key of ["xA", "cA", "xB", "cB", "yB"] as const) {
    if (!(batch[key] instanceof tf.Tensor)) {
      throw new TypeError(`Cannot run GAN step: batch.${key} is not a tensor`);
    }
  }
  const b = batch.xA.shape[0];
  for (const key of ["cA", "xB", "cB", "yB"] as const) {
    if (batch[key].shape[0] !== b) {
      throw new RangeError(
        `Cannot run GAN step: batch.${key} [${
          batch[key].shape
        }] and batch.xA [${batch.xA.shape}] differ in batch size`,
      );
    }
  }
}

/** What both sides' contexts hold: the batch, the models, the iteration and the terms' randomness. */
abstract class ContextBase {
  constructor(
    readonly batch: GanBatch,
    readonly models: GanModels,
    readonly iteration: number,
    readonly rng: Rng,
  ) {}
}

class CriticContextImpl extends ContextBase implements CriticContext {
  #fake?: tf.Tensor4D;
  #dReal?: DiscriminatorOutput;
  #dFake?: DiscriminatorOutput;
  get fake(): tf.Tensor4D {
    const { xA, cB } = this.batch;
    return this.#fake ??= untaped(
      xA,
      () => this.models.generator.apply(xA, cB, { training: true }),
    );
  }
  get dReal(): DiscriminatorOutput {
    return this.#dReal ??= this.models.discriminator.apply(this.batch.xB, { training: true });
  }
  get dFake(): DiscriminatorOutput {
    return this.#dFake ??= this.models.discriminator.apply(this.fake, { training: true });
  }
}

class GeneratorContextImpl extends ContextBase implements GeneratorContext {
  #fake?: tf.Tensor4D;
  #rec?: tf.Tensor4D;
  #id?: tf.Tensor4D;
  #dFake?: DiscriminatorOutput;
  #dRealB?: DiscriminatorOutput;
  get fake(): tf.Tensor4D {
    return this.#fake ??= this.models.generator.apply(this.batch.xA, this.batch.cB, {
      training: true,
    });
  }
  get reconstruction(): tf.Tensor4D {
    return this.#rec ??= this.models.generator.apply(this.fake, this.batch.cA, { training: true });
  }
  get identity(): tf.Tensor4D {
    return this.#id ??= this.models.generator.apply(this.batch.xA, this.batch.cA, {
      training: true,
    });
  }
  get dFake(): DiscriminatorOutput {
    return this.#dFake ??= this.models.discriminator.apply(this.fake, { training: true });
  }
  get dRealB(): DiscriminatorOutput {
    return this.#dRealB ??= this.models.discriminator.apply(this.batch.xB, { training: true });
  }
}

function weightOf<C>(term: LossTerm<C>, iteration: number): number {
  const w = typeof term.weight === "function" ? term.weight(iteration) : term.weight;
  if (!Number.isFinite(w)) {
    throw new RangeError(
      `Cannot run GAN step: term '${term.name}' has weight ${w} at iteration ${iteration}`,
    );
  }
  return w;
}

function checkTerms<C>(terms: LossTerm<C>[], side: string): void {
  const seen = new Set<string>();
  for (const t of terms) {
    if (typeof t.fn !== "function") {
      throw new TypeError(`Cannot run GAN step: ${side} term '${t.name}' has no function`);
    }
    if (seen.has(t.name)) {
      throw new Error(`Cannot run GAN step: duplicate ${side} term '${t.name}'`);
    }
    seen.add(t.name);
  }
}

/**
 * Gradients of `Σ weight·term` over `variables`; returns grads by the
 * caller's names and the term values. Must run inside a tidy only if the
 * caller disposes nothing itself: the returned grads are fresh tensors.
 */
function termGradients<C>(
  variables: Record<string, tf.Variable>,
  context: C,
  terms: LossTerm<C>[],
  iteration: number,
): GradientResult {
  const active = terms
    .map((term) => ({ term, weight: weightOf(term, iteration) }))
    .filter(({ weight }) => weight !== 0);
  const weights: Record<string, number> = {};
  for (const { term, weight } of active) weights[term.name] = weight;
  if (active.length === 0) return { grads: {}, values: {}, weights, total: 0 };
  const names = new Map<string, string>();
  for (const [name, v] of Object.entries(variables)) names.set(v.name, name);
  const kept: tf.Tensor[] = [];
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    result = leanVariableGrads(() => {
      let total: tf.Scalar | null = null;
      for (const { term, weight } of active) {
        const v = term.fn(context);
        if (!(v instanceof tf.Tensor) || v.size !== 1) {
          throw new TypeError(`Cannot run GAN step: term '${term.name}' did not return a scalar`);
        }
        // A size-1 term of any rank (e.g. [1]) counts as a scalar.
        const scalar = tf.reshape(v, []) as tf.Scalar;
        kept.push(tf.keep(scalar));
        const weighted = tf.mul(scalar, weight) as tf.Scalar;
        total = total === null ? weighted : tf.add(total, weighted);
      }
      return total!;
    }, Object.values(variables));
  } catch (error) {
    tf.dispose(kept);
    throw error;
  }
  const { value, grads } = result;
  const read = tf.tidy(() => tf.stack([value, ...kept]).dataSync());
  value.dispose();
  tf.dispose(kept);
  const values: Record<string, number> = {};
  active.forEach(({ term }, i) => values[term.name] = read[i + 1]!);
  const named: Record<string, tf.Tensor> = {};
  for (const [tfName, g] of Object.entries(grads)) {
    const name = names.get(tfName);
    if (name === undefined) g.dispose();
    else named[name] = g;
  }
  return { grads: named, values, weights, total: read[0]! };
}

/** One side's gradients: check the batch and terms, make the side's context, differentiate. */
function sideGradients<C>(
  side: "generator" | "critic",
  Context: new (batch: GanBatch, models: GanModels, iteration: number, rng: Rng) => C,
  models: GanModels,
  batch: GanBatch,
  options: GradientOptions<C>,
): GradientResult {
  checkBatch(batch);
  checkTerms(options.terms, side);
  const iteration = options.iteration ?? 0;
  const context = new Context(batch, models, iteration, options.rng ?? new Rng(0));
  const model = side === "generator" ? models.generator : models.discriminator;
  return termGradients(model.trainableVariables, context, options.terms, iteration);
}

/**
 * Gradients of the generator loss `Σ weight·term` with respect to the
 * generator's trainable variables, for one batch. Nothing is updated except
 * BatchNorm running statistics (training-mode forward passes).
 *
 * @example Gradient of the reconstruction term alone
 * ```ts
 * import { generatorGradients } from "./step.ts";
 * import { Discriminator, Generator } from "../model/mod.ts";
 * import { reconstructionLoss } from "../loss/mod.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const generator = new Generator({ height: 16, width: 16, widths: [2, 4], resBlocks: 1, nIn: 3 });
 * const discriminator = new Discriminator({ height: 16, width: 16, widths: [2, 4], nOut: 2, featureLayer: 1 });
 * const batch = { xA: tf.zeros([1, 16, 16, 1]), cA: tf.ones([1, 3]), xB: tf.zeros([1, 16, 16, 1]),
 *   cB: tf.zeros([1, 3]), yB: tf.ones([1, 2]) } as never;
 * const r = generatorGradients({ generator, discriminator }, batch, {
 *   terms: [{ name: "rec", weight: 10, fn: (c) => reconstructionLoss(c.reconstruction, c.batch.xA) }],
 * });
 * console.assert("down1/conv/kernel" in r.grads);
 * tf.dispose(Object.values(r.grads));
 * ```
 */
export function generatorGradients(
  models: GanModels,
  batch: GanBatch,
  options: GradientOptions<GeneratorContext>,
): GradientResult {
  return sideGradients("generator", GeneratorContextImpl, models, batch, options);
}

/**
 * Gradients of the critic loss `Σ weight·term` with respect to the
 * discriminator's trainable variables, for one batch.
 */
export function criticGradients(
  models: GanModels,
  batch: GanBatch,
  options: GradientOptions<CriticContext>,
): GradientResult {
  return sideGradients("critic", CriticContextImpl, models, batch, options);
}

function update(
  optimizer: Optimizer,
  compute: (batch: GanBatch) => GradientResult,
  source: BatchSource,
): PhaseResult {
  let result: PhaseResult = { values: {}, weights: {}, total: 0 };
  tf.tidy(() => {
    const batch = typeof source === "function" ? source() : source;
    const { grads, values, weights, total } = compute(batch);
    if (Object.keys(grads).length > 0) optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
    result = { values, weights, total };
  });
  return result;
}

/**
 * One GAN iteration: `nCritic` critic updates, then one generator update.
 * Each update draws a batch from `batches` (see the module doc).
 *
 * @example A seed-style iteration on tiny models
 * ```ts
 * import { ganStep } from "./step.ts";
 * import { criticTerms, generatorTerms } from "./terms.ts";
 * import { RMSprop } from "./optimizers.ts";
 * import { Discriminator, Generator } from "../model/mod.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const generator = new Generator({ height: 16, width: 16, widths: [2, 4], resBlocks: 1, nIn: 3 });
 * const discriminator = new Discriminator({ height: 16, width: 16, widths: [2, 4], nOut: 2, featureLayer: 1 });
 * const parts = {
 *   generator, discriminator,
 *   generatorOptimizer: new RMSprop(generator.trainableVariables),
 *   discriminatorOptimizer: new RMSprop(discriminator.trainableVariables),
 * };
 * const batch = () => ({ xA: tf.randomUniform([2, 16, 16, 1]), cA: tf.ones([2, 3]),
 *   xB: tf.randomUniform([2, 16, 16, 1]), cB: tf.zeros([2, 3]), yB: tf.ones([2, 2]) }) as never;
 * const result = ganStep(parts, batch, {
 *   generatorTerms: generatorTerms({ adversarial: 1, classification: 1, reconstruction: 10 }),
 *   criticTerms: criticTerms({ adversarial: 1, gradientPenalty: 10, classification: 1 }),
 * });
 * console.assert(result.critic.length === 5 && "reconstruction" in result.generator.values);
 * ```
 */
export function ganStep(
  parts: GanParts,
  batches: BatchSource,
  options: GanStepOptions,
): GanStepResult {
  const nCritic = options.nCritic ?? 5;
  if (!Number.isInteger(nCritic) || nCritic < 0) {
    throw new RangeError(`Cannot run GAN step: nCritic must be an integer >= 0, got ${nCritic}`);
  }
  checkTerms(options.generatorTerms, "generator");
  checkTerms(options.criticTerms, "critic");
  const rng = options.rng ?? new Rng(0);
  const iteration = options.iteration ?? 0;
  const critic: PhaseResult[] = [];
  for (let i = 0; i < nCritic; i++) {
    critic.push(update(
      parts.discriminatorOptimizer,
      (batch) => criticGradients(parts, batch, { terms: options.criticTerms, iteration, rng }),
      batches,
    ));
  }
  const generator = update(
    parts.generatorOptimizer,
    (batch) => generatorGradients(parts, batch, { terms: options.generatorTerms, iteration, rng }),
    batches,
  );
  return { critic, generator };
}
