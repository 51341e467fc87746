/**
 * Experiment 47c97768: StarGAN voice conversion, the base of the seed's ablation.
 *
 * Its record is lost; this is the reconstruction of DESIGN §2. The generator is
 * the seed's (four down-sampling convs, labels tiled and concatenated at 32×32,
 * six residual blocks, four up-sampling deconvs). The discriminator, the critic
 * loss (WGAN-GP, λ_gp = 10, plus classification of real x_B) and the identity
 * mapping loss (λ_id = 5 with λ_rec = 10, the CycleGAN-VC convention) are
 * choices: each is a field here, so an experiment can change it.
 *
 * @module
 */
import type { Experiment, OptimizerSpec } from "../lib/experiment/types.ts";

/** The seed's optimizer: RMSprop, lr 1e-5, ×10^-0.5 every 100 epochs. */
function seedRmsprop(): OptimizerSpec {
  return {
    kind: "rmsprop",
    lr: 1e-5,
    alpha: 0.99,
    beta1: 0.9,
    eps: 1e-8,
    schedule: { kind: "step", every: 100, factor: 10 ** -0.5 },
  };
}

const experiment: Experiment = {
  meta: {
    id: "47c97768",
    title: "StarGAN voice conversion with the identity-mapping loss",
    base: null,
    note: "StarGAN voice conversion following CycleGAN: adversarial (WGAN-GP), domain " +
      "classification, reconstruction ×10, feature matching ×10 and identity mapping ×5. " +
      "Reconstructed from DESIGN §2; the original record is not available.",
    tags: [],
  },
  data: {
    // null: the built-in corpus. The seed's spectrograms are 256 bins × 256 frames at 16 kHz.
    dataset: null,
    features: {
      sampleRate: 16000,
      hop: 128,
      bins: 256,
      segmentFrames: 256,
      minDb: -90,
      maxDb: 10,
      resampleQuality: "sinc",
    },
    // The dataset's own schema (the built-in corpus: speaker, gender, accent), all classified.
    labels: { attributes: null, conditionOnly: [] },
  },
  model: {
    // The seed's generator table; BatchNorm as Chainer's defaults.
    generator: {
      widths: [32, 64, 128, 256],
      resBlocks: 6,
      edgeKernel: 7,
      mergeKernel: 3,
      batchNorm: { decay: 0.9, epsilon: 2e-5 },
    },
    // DESIGN §2: five k4 s2 p1 convs, LeakyReLU 0.2, features at conv4, adv head k3.
    discriminator: { widths: [32, 64, 128, 256, 512], featureLayer: 4, slope: 0.2, advKernel: 3 },
  },
  losses: {
    adversarial: "wgan",
    critic: {
      adversarial: { weight: 1 },
      gradientPenalty: { weight: 10 },
      classification: { weight: 1 },
    },
    generator: {
      adversarial: { weight: 1 },
      classification: { weight: 1 },
      reconstruction: { weight: 10 },
      featureMatching: { weight: 10 },
      identity: { weight: 5 },
    },
  },
  // The seed's RMSprop for both networks, each its own object.
  optimizers: { generator: seedRmsprop(), discriminator: seedRmsprop() },
  trainer: {
    batchSize: 2,
    epochs: 1000,
    itersPerEpoch: 0,
    nCritic: 5,
    seed: 0,
    checkpointMinutes: 10,
    sampleEvery: 200,
  },
};

export default experiment;
