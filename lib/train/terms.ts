/**
 * The named loss terms of StarGAN voice conversion, ready for the GAN step.
 *
 * Names match the experiment files (`losses.generator` / `losses.critic`):
 *
 * | side | name | term |
 * |---|---|---|
 * | generator | `adversarial` | WGAN `−mean(D(fake))` (or LSGAN / non-saturating BCE) |
 * | generator | `classification` | sigmoid CE of `D_cls(fake)` against `y_B`, −1 ignored |
 * | generator | `reconstruction` | `MSE(G(fake, c_A), x_A)` |
 * | generator | `featureMatching` | `MSE(D_f(fake), D_f(x_B))` |
 * | generator | `meanFeatureMatching` | batch-mean variant of feature matching |
 * | generator | `identity` | `MSE(G(x_A, c_A), x_A)` |
 * | generator | `reconstructionL1` | `MAE(G(fake, c_A), x_A)`, CycleGAN-VC's L1 cycle loss |
 * | generator | `identityL1` | `MAE(G(x_A, c_A), x_A)`, CycleGAN-VC's L1 identity loss |
 * | critic | `adversarial` | WGAN `mean(D(fake)) − mean(D(x_B))` (or LSGAN / BCE) |
 * | critic | `gradientPenalty` | `(‖∇D(x̂)‖ − 1)²` between `x_B` and fake (λ is the weight) |
 * | critic | `classification` | sigmoid CE of `D_cls(x_B)` against `y_B` |
 *
 * @module
 */

import type { tf } from "../deps.ts";
import {
  bceCriticLoss,
  featureMatchingLoss,
  gradientPenalty,
  identityLoss,
  lsganCriticLoss,
  lsganGeneratorLoss,
  meanFeatureMatchingLoss,
  nonSaturatingGeneratorLoss,
  reconstructionLoss,
  sigmoidCrossEntropy,
  wganCriticLoss,
  wganGeneratorLoss,
} from "../loss/mod.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { CriticContext, GeneratorContext, LossTerm } from "./step.ts";

/** Adversarial objective. */
export type AdversarialKind = "wgan" | "lsgan" | "bce";

/** The generator term functions by name, for an adversarial objective. */
export function generatorTermFunctions(
  adversarial: AdversarialKind = "wgan",
): Record<string, (c: GeneratorContext) => tf.Scalar> {
  const adv = {
    wgan: (c: GeneratorContext) => wganGeneratorLoss(c.dFake.adv),
    lsgan: (c: GeneratorContext) => lsganGeneratorLoss(c.dFake.adv),
    bce: (c: GeneratorContext) => nonSaturatingGeneratorLoss(c.dFake.adv),
  }[adversarial];
  if (!adv) {
    throw new RangeError(`Cannot build generator terms: unknown adversarial '${adversarial}'`);
  }
  return {
    adversarial: adv,
    classification: (c) => sigmoidCrossEntropy(c.dFake.cls, c.batch.yB),
    reconstruction: (c) => reconstructionLoss(c.reconstruction, c.batch.xA),
    featureMatching: (c) => featureMatchingLoss(c.dFake.features, c.dRealB.features),
    meanFeatureMatching: (c) => meanFeatureMatchingLoss(c.dFake.features, c.dRealB.features),
    identity: (c) => identityLoss(c.identity, c.batch.xA),
    reconstructionL1: (c) => reconstructionLoss(c.reconstruction, c.batch.xA, { distance: "mae" }),
    identityL1: (c) => identityLoss(c.identity, c.batch.xA, { distance: "mae" }),
  };
}

/** The critic term functions by name, for an adversarial objective. */
export function criticTermFunctions(
  adversarial: AdversarialKind = "wgan",
): Record<string, (c: CriticContext) => tf.Scalar> {
  const adv = {
    wgan: (c: CriticContext) => wganCriticLoss(c.dReal.adv, c.dFake.adv),
    lsgan: (c: CriticContext) => lsganCriticLoss(c.dReal.adv, c.dFake.adv),
    bce: (c: CriticContext) => bceCriticLoss(c.dReal.adv, c.dFake.adv),
  }[adversarial];
  if (!adv) throw new RangeError(`Cannot build critic terms: unknown adversarial '${adversarial}'`);
  return {
    adversarial: adv,
    gradientPenalty: (c) =>
      gradientPenalty((x) => c.models.discriminator.score(x), c.batch.xB, c.fake, {
        lambda: 1,
        rng: c.rng,
      }),
    classification: (c) => sigmoidCrossEntropy(c.dReal.cls, c.batch.yB),
  };
}

/** Options of {@linkcode generatorTerms} and {@linkcode criticTerms}. */
export interface TermsOptions {
  /**
   * Adversarial objective.
   * @default {"wgan"}
   */
  adversarial?: AdversarialKind;
}

function build<C>(
  side: string,
  weights: Record<string, number | Schedule | { weight: number | Schedule }>,
  fns: Record<string, (c: C) => tf.Scalar>,
): LossTerm<C>[] {
  return Object.entries(weights).map(([name, w]) => {
    const fn = fns[name];
    if (!fn) {
      throw new RangeError(
        `Cannot build ${side} terms: unknown term '${name}', expected one of ${
          Object.keys(fns).join(", ")
        }`,
      );
    }
    return { name, weight: typeof w === "object" ? w.weight : w, fn };
  });
}

/**
 * Generator terms from weights by name (numbers, schedules, or `{ weight }`
 * as in an experiment's `losses.generator`).
 *
 * @example The base experiment 47c97768
 * ```ts
 * import { generatorTerms } from "./terms.ts";
 * const terms = generatorTerms({ adversarial: 1, classification: 1, reconstruction: 10,
 *   featureMatching: 10, identity: 5 });
 * console.assert(terms.length === 5 && terms[4]!.name === "identity");
 * ```
 */
export function generatorTerms(
  weights: Record<string, number | Schedule | { weight: number | Schedule }>,
  options: TermsOptions = {},
): LossTerm<GeneratorContext>[] {
  return build("generator", weights, generatorTermFunctions(options.adversarial ?? "wgan"));
}

/**
 * Critic terms from weights by name.
 *
 * @example WGAN-GP with λ = 10 plus classification of real x_B
 * ```ts
 * import { criticTerms } from "./terms.ts";
 * const terms = criticTerms({ adversarial: 1, gradientPenalty: 10, classification: 1 });
 * console.assert(terms[1]!.weight === 10);
 * ```
 */
export function criticTerms(
  weights: Record<string, number | Schedule | { weight: number | Schedule }>,
  options: TermsOptions = {},
): LossTerm<CriticContext>[] {
  return build("critic", weights, criticTermFunctions(options.adversarial ?? "wgan"));
}
