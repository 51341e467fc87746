/**
 * Bench suite `model`: the seed's generator forward pass and one full GAN
 * iteration at full size, with peak memory and a per-kernel profile.
 *
 * - `generator forward`: batch 2, 256×256×1, 1479 labels, training mode.
 * - `GAN iteration`: 5 critic updates (WGAN + gradient penalty λ=10 +
 *   classification of real x_B) then 1 generator update (adversarial,
 *   classification, reconstruction ×10, feature matching ×10: 9ada9179's
 *   terms), RMSprop, batch 2, a fresh batch per update.
 *
 * Memory: `peakMiB` is the wasm heap's size after the measurement (the heap
 * only grows, so it is the process's high-water mark, which includes
 * suites run before in the same process); on other backends the process's
 * resident-set high-water mark.
 * The note adds the peak of live tensor bytes during the warm-up run
 * (`tf.memory().numBytes` sampled after every kernel), and the kernels that
 * took most of the warm-up's time (self time: a kernel's time minus the
 * kernels it calls).
 *
 * `deno task bench` runs PyTorch's version of the same work beside it (`torch.ts`).
 *
 * @module
 */

import { tf } from "../../lib/deps.ts";
import { Rng } from "../../lib/random.ts";
import { Discriminator, Generator } from "../../lib/model/mod.ts";
import {
  criticTerms,
  type GanBatch,
  ganStep,
  generatorTerms,
  RMSprop,
} from "../../lib/train/mod.ts";
import seed from "../../experiments/9ada9179.ts";
import { peakMiB } from "./conv.ts";
import { benchBackend, benchRepeats } from "./runner.ts";
import type { BenchRow, BenchSuite } from "./types.ts";

/** The seed's spectrograms: 256 bins × 256 frames (its experiment's features). */
const SEED_SIZE = seed.data.features.bins ?? 256;

/** The seed's label counts (DESIGN §1: 1479 input labels, 1476 output labels of its corpus). */
const SEED_LABELS = { nIn: 1479, nOut: 1476 } as const;

/** Time spent in one kernel during a {@linkcode kernelProfile}. */
export interface KernelTime {
  /** Kernel name, e.g. `Conv2D`. */
  name: string;
  /** Self time in ms (time in the kernel minus kernels it called). */
  ms: number;
  /** Number of calls. */
  calls: number;
}

/** What {@linkcode kernelProfile} measured. */
export interface KernelProfile<T> {
  /** `f`'s result. */
  result: T;
  /** Kernels by self time, largest first. */
  kernels: KernelTime[];
  /** Wall time of `f` in ms. */
  wallMs: number;
  /** Highest `tf.memory().numBytes` seen after any kernel, in bytes. */
  peakTensorBytes: number;
}

/**
 * Run `f` with every kernel of the current backend wrapped in a timer, then
 * restore the kernels. Kernels on the wasm and cpu backends run
 * synchronously, so wall time per call is the kernel's time.
 *
 * @example
 * ```ts
 * import { kernelProfile } from "./model.ts";
 * import { tf } from "../../lib/deps.ts";
 * await tf.setBackend("cpu");
 * const p = kernelProfile(() => tf.tidy(() => tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])).dataSync()));
 * console.assert(p.kernels.some((k) => k.name === "BatchMatMul"));
 * ```
 */
export function kernelProfile<T>(f: () => T): KernelProfile<T> {
  const backend = tf.getBackend();
  const configs = tf.getKernelsForBackend(backend);
  const times = new Map<string, KernelTime>();
  const stack: number[] = [];
  let peak = tf.memory().numBytes;
  for (const config of configs) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, backend);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        stack.push(0);
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const total = performance.now() - t0;
          const children = stack.pop()!;
          if (stack.length > 0) stack[stack.length - 1]! += total;
          const e = times.get(config.kernelName) ?? { name: config.kernelName, ms: 0, calls: 0 };
          e.ms += total - children;
          e.calls++;
          times.set(config.kernelName, e);
          peak = Math.max(peak, tf.memory().numBytes);
        }
      },
    });
  }
  try {
    const t0 = performance.now();
    const result = f();
    const wallMs = performance.now() - t0;
    const kernels = [...times.values()].sort((a, b) => b.ms - a.ms);
    return { result, kernels, wallMs, peakTensorBytes: peak };
  } finally {
    for (const config of configs) {
      tf.unregisterKernel(config.kernelName, backend);
      tf.registerKernel(config);
    }
  }
}

/** `Conv2D 41%, Conv2DBackpropInput 17%, …` for the largest kernels. */
export function formatTopKernels(kernels: readonly KernelTime[], count = 6): string {
  const total = kernels.reduce((s, k) => s + k.ms, 0) || 1;
  return kernels.slice(0, count).map((k) => `${k.name} ${Math.round(100 * k.ms / total)}%`)
    .join(", ");
}

/** A source of random full-size batches (seeded). */
export function benchBatches(
  rng: Rng,
  sizes: { batch: number; height: number; width: number; nIn: number; nOut: number },
): () => GanBatch {
  const { batch: b, height: h, width: w, nIn, nOut } = sizes;
  const labels = (n: number, f: (u: number) => number) =>
    tf.tensor2d(rng.uniformArray(b * n).map(f), [b, n]);
  return () => ({
    xA: tf.tensor4d(rng.uniformArray(b * h * w), [b, h, w, 1]),
    cA: labels(nIn, (u) => u < 0.01 ? 1 : 0),
    xB: tf.tensor4d(rng.uniformArray(b * h * w), [b, h, w, 1]),
    cB: labels(nIn, (u) => u < 0.01 ? 1 : 0),
    yB: labels(nOut, (u) => u < 0.01 ? 1 : u < 0.5 ? 0 : -1),
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Measure the generator forward pass and one GAN iteration at the seed's sizes. */
export function measureModel(
  options: { forwardReps?: number; iterationReps?: number } = {},
): BenchRow[] {
  const forwardReps = options.forwardReps ?? benchRepeats();
  const iterationReps = options.iterationReps ?? benchRepeats();
  const { name: backend, threads } = benchBackend();
  const rng = new Rng("bench-model");
  // The seed's networks at its spectrogram size and label counts.
  const size = { height: SEED_SIZE, width: SEED_SIZE, channels: 1 };
  const generator = new Generator(
    { ...seed.model.generator, ...size, nIn: SEED_LABELS.nIn },
    { rng: rng.fork("G") },
  );
  const discriminator = new Discriminator(
    { ...seed.model.discriminator, ...size, nOut: SEED_LABELS.nOut },
    { rng: rng.fork("D") },
  );
  const next = benchBatches(rng.fork("data"), {
    batch: 2,
    height: SEED_SIZE,
    width: SEED_SIZE,
    nIn: generator.config.nIn,
    nOut: discriminator.config.nOut,
  });
  const rows: BenchRow[] = [];
  try {
    // Generator forward.
    const batch = next();
    const forward = () =>
      tf.tidy(() => {
        generator.apply(batch.xA, batch.cB, { training: true }).dataSync();
      });
    const fp = kernelProfile(forward);
    const fTimes: number[] = [];
    for (let i = 0; i < forwardReps; i++) {
      const t0 = performance.now();
      forward();
      fTimes.push(performance.now() - t0);
    }
    tf.dispose(Object.values(batch));
    rows.push({
      name: "generator forward",
      shape: "2x256x256x1 + 1479 labels",
      backend,
      threads,
      value: Math.round(median(fTimes)),
      unit: "ms",
      peakMiB: peakMiB(),
      note: `median of ${forwardReps}; live tensors peak ${
        Math.round(fp.peakTensorBytes / 2 ** 20)
      } MiB; ${formatTopKernels(fp.kernels)}`,
    });

    // One GAN iteration: 5 critic + 1 generator update.
    const parts = {
      generator,
      discriminator,
      generatorOptimizer: new RMSprop(generator.trainableVariables),
      discriminatorOptimizer: new RMSprop(discriminator.trainableVariables),
    };
    const stepOptions = {
      generatorTerms: generatorTerms(seed.losses.generator),
      criticTerms: criticTerms(seed.losses.critic),
      nCritic: seed.trainer.nCritic,
      rng: rng.fork("step"),
    };
    try {
      const ip = kernelProfile(() => ganStep(parts, next, stepOptions));
      const iTimes: number[] = [];
      for (let i = 0; i < iterationReps; i++) {
        const t0 = performance.now();
        ganStep(parts, next, { ...stepOptions, iteration: i + 1 });
        iTimes.push(performance.now() - t0);
      }
      rows.push({
        name: "GAN iteration (5 critic + 1 generator)",
        shape: "batch 2, 256x256, GP",
        backend,
        threads,
        value: Math.round(median(iTimes) / 100) / 10,
        unit: "s",
        peakMiB: peakMiB(),
        note: `median of ${iterationReps}; live tensors peak ${
          Math.round(ip.peakTensorBytes / 2 ** 20)
        } MiB; ${formatTopKernels(ip.kernels)}`,
      });
    } finally {
      parts.generatorOptimizer.dispose();
      parts.discriminatorOptimizer.dispose();
    }
  } finally {
    generator.dispose();
    discriminator.dispose();
  }
  return rows;
}

/** The `model` bench suite (measured at all threads only). */
export const suite: BenchSuite = {
  name: "model",
  perThreadCount: false,
  run() {
    return Promise.resolve(measureModel());
  },
};
