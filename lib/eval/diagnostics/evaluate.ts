/**
 * Evaluating the diagnostics once: the generator is run on a fixed probe (a
 * held-out batch, targets, classifiers, parallel pairs) and the numbers of
 * `measures.ts`, with MCD against the target speaker's own rendition, form
 * one {@linkcode DiagnosticsRecord}.
 *
 * @module
 */

import { tf } from "../../deps.ts";
import {
  type ClassifierFn,
  conversionAccuracy,
  dataSpread,
  type GeneratorFn,
  identityDistance,
  labelSensitivity,
} from "./measures.ts";
import { mcd, spectrogramMelCepstra, type SpectrogramMelCepstrumOptions } from "../mcd.ts";
import type { Spectrogram } from "../../data/spectrogram.ts";
import { convertUtterance } from "../convert.ts";

/**
 * One parallel pair for MCD: a source utterance, the target's input labels,
 * and the target speaker's own rendition of the same sentence.
 */
export interface ParallelPair {
  /** The whole source utterance, [0, 1] `[bins x frames]`. */
  source: Spectrogram;
  /** The target's input labels `[nIn]`. */
  target: Float32Array;
  /** The target speaker saying the same sentence. */
  reference: Spectrogram;
}

/** Everything the diagnostics need, fixed for the whole run. */
export interface DiagnosticsProbe {
  /** The generator in inference mode (BN running statistics). */
  generator: GeneratorFn;
  /** Held-out real spectrograms `[B, H, W, 1]`, B ≥ 2. */
  x: tf.Tensor4D;
  /** Input labels of the targets `[K, nIn]`, K ≥ 2 distinct. */
  targets: tf.Tensor2D;
  /** A readable name per target (e.g. `speaker=f1`). */
  targetNames: readonly string[];
  /** The held-out spectrograms' own input labels `[B, nIn]` (for the reconstruction picture). */
  sourceLabels?: tf.Tensor2D;
  /** A readable name per held-out spectrogram (e.g. `speaker=m2`). */
  sourceNames?: readonly string[];
  /** Per target, the class index the classifiers should predict. */
  targetClasses?: readonly number[];
  /** Classifiers by name (`discriminator`, `classifier`); each needs `targetClasses`. */
  classifiers?: Readonly<Record<string, ClassifierFn>>;
  /** Parallel pairs for MCD, if the corpus is parallel; converted whole, in windows as wide as `x`. */
  parallel?: readonly ParallelPair[];
  /** dB range and mel-cepstrum settings for MCD. */
  mcdOptions?: SpectrogramMelCepstrumOptions;
}

/** One line of `diagnostics.jsonl`. */
export interface DiagnosticsRecord {
  /** Training iteration (1-based, as in `metrics.jsonl`). */
  iteration: number;
  /** Relative label sensitivity (see `labelSensitivity`). */
  labelSensitivity: number;
  /** Mean |G(x, c_t) − x| over the targets. */
  identityDistance: number;
  /** The held-out batch's spread (the yardstick of label sensitivity). */
  spread: number;
  /** Conversion accuracy by classifier name. */
  accuracy: Record<string, number>;
  /** Mean MCD (dB, DTW) of converted vs reference, and of source vs reference (no conversion). */
  mcd?: { converted: number; source: number };
  /** Whether the collapse detector's streak is at or past its patience. */
  collapsed: boolean;
  /** The collapse warning, when it fired at this evaluation. */
  warning?: string;
  /** Seconds the evaluation took. */
  seconds: number;
}

function mcdOf(a: Spectrogram, b: Spectrogram, options: SpectrogramMelCepstrumOptions): number {
  const ca = spectrogramMelCepstra(a.data, [a.bins, a.frames], options);
  const cb = spectrogramMelCepstra(b.data, [b.bins, b.frames], options);
  return mcd(ca, cb).mcd;
}

/**
 * Compute every diagnostic once on a probe (without the collapse verdict).
 *
 * @example An identity generator: sensitivity 0, distance 0
 * ```ts
 * import { tf } from "../../deps.ts";
 * import { initBackend } from "../../backend/mod.ts";
 * import { evaluateDiagnostics } from "./evaluate.ts";
 * await initBackend({ backend: "cpu", quiet: true });
 * const x = tf.randomUniform([2, 8, 8, 1], 0, 1, "float32", 1) as tf.Tensor4D;
 * const r = evaluateDiagnostics({ generator: (xx) => xx, x, targets: tf.eye(2) as tf.Tensor2D, targetNames: ["a", "b"] }, 10);
 * console.assert(r.labelSensitivity === 0 && r.identityDistance === 0);
 * ```
 */
export function evaluateDiagnostics(
  probe: DiagnosticsProbe,
  iteration: number,
): Omit<DiagnosticsRecord, "collapsed" | "warning"> {
  const t0 = performance.now();
  const cache = cachedGenerator(probe.generator, probe.x, probe.targets);
  try {
    return evaluateWith({ ...probe, generator: cache.generator }, iteration, t0);
  } finally {
    cache.dispose();
  }
}

/**
 * The generator, run once per target on the held-out batch up front: the
 * diagnostics ask for G(x, c_k) several times (sensitivity, distance, each
 * classifier), and at full size each call is seconds.
 */
function cachedGenerator(
  generator: GeneratorFn,
  x: tf.Tensor4D,
  targets: tf.Tensor2D,
): { generator: GeneratorFn; dispose(): void } {
  const outs = new Map<string, tf.Tensor4D>();
  const rows = targets.arraySync() as number[][];
  for (const row of rows) {
    const key = row.join(",");
    if (outs.has(key)) continue;
    outs.set(
      key,
      // clone: a generator may hand back its input, which must outlive the cache.
      tf.tidy(() =>
        tf.clone(generator(x, tf.tile(tf.tensor2d([row]), [x.shape[0], 1]) as tf.Tensor2D))
      ),
    );
  }
  return {
    generator: (xx, c) => {
      if (xx === x) {
        const rowsC = c.arraySync() as number[][];
        const key = rowsC[0]!.join(",");
        const hit = outs.get(key);
        if (hit && rowsC.every((r) => r.join(",") === key)) return hit.clone();
      }
      return generator(xx, c);
    },
    dispose: () => tf.dispose([...outs.values()]),
  };
}

function evaluateWith(
  probe: DiagnosticsProbe,
  iteration: number,
  t0: number,
): Omit<DiagnosticsRecord, "collapsed" | "warning"> {
  const spread = dataSpread(probe.x);
  const record: Omit<DiagnosticsRecord, "collapsed" | "warning"> = {
    iteration,
    labelSensitivity: labelSensitivity(probe.generator, probe, { spread }),
    identityDistance: identityDistance(probe.generator, probe),
    spread,
    accuracy: {},
    seconds: 0,
  };
  for (const [name, classifier] of Object.entries(probe.classifiers ?? {})) {
    if (!probe.targetClasses) {
      throw new TypeError(
        `Cannot evaluate classifier '${name}': the probe gives no target classes`,
      );
    }
    record.accuracy[name] = conversionAccuracy(probe.generator, probe, {
      classifier,
      targetClasses: probe.targetClasses,
    });
  }
  if (probe.parallel && probe.parallel.length > 0) {
    const options = probe.mcdOptions ?? {};
    let converted = 0, source = 0;
    for (const pair of probe.parallel) {
      const y = convertUtterance(
        probe.generator,
        { spectrogram: pair.source, labels: pair.target },
        {
          width: probe.x.shape[2],
        },
      );
      converted += mcdOf(y, pair.reference, options);
      source += mcdOf(pair.source, pair.reference, options);
    }
    record.mcd = {
      converted: converted / probe.parallel.length,
      source: source / probe.parallel.length,
    };
  }
  record.seconds = (performance.now() - t0) / 1000;
  return record;
}
