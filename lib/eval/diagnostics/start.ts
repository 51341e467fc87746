/**
 * Diagnostics for a training run: build the probe from the run's dataset and
 * models, wrap it in a {@linkcode DiagnosticsMonitor}, and never fail the
 * run when the data allows no diagnostics.
 *
 * @module
 */

import type { SpectrogramDataset } from "../../data/dataset.ts";
import { DiagnosticsMonitor, type DiagnosticsMonitorOptions } from "./monitor.ts";
import {
  buildProbe,
  type BuildProbeOptions,
  type DiscriminatorLike,
  type GeneratorLike,
} from "./probe.ts";

/** Options for {@linkcode createDiagnosticsMonitor}. */
export interface CreateDiagnosticsMonitorOptions
  extends BuildProbeOptions, DiagnosticsMonitorOptions {}

/**
 * Build the probe from a run's dataset and models and wrap it in a
 * {@linkcode DiagnosticsMonitor}; this is what a training run calls. It logs
 * one line describing the probe. `monitor.dispose()` frees the probe.
 *
 * @example In a training loop
 * ```ts ignore
 * const diagnostics = createDiagnosticsMonitor(trainer.dataset, trainer, { dir: runDir, log });
 * // hooks: { onStepEnd: (info) => diagnostics.onStepEnd(info) }
 * ```
 */
export function createDiagnosticsMonitor(
  dataset: SpectrogramDataset,
  models: { generator: GeneratorLike; discriminator?: DiscriminatorLike },
  options: CreateDiagnosticsMonitorOptions = {},
): DiagnosticsMonitor {
  const t0 = performance.now();
  const built = buildProbe(dataset, models, options);
  const p = built.probe;
  const acc = built.classifierRealAccuracy;
  options.log?.(
    `diagnostics: every ${options.every ?? 50} iterations on ${
      p.x.shape[0]
    } held-out spectrograms, ` +
      `targets ${p.targetNames.join(" ")}; classifiers ${
        Object.keys(p.classifiers ?? {}).join(", ") || "none"
      }${
        acc === null ? "" : ` (independent one: ${(acc * 100).toFixed(1)}% on real held-out data)`
      }` +
      (p.accuracySet
        ? `; accuracy on ${
          p.accuracySet.x.shape[0]
        } held-out utterances × ${p.accuracySet.targetClasses.length} targets (same speaker left out)`
        : "") +
      `; ${p.parallel?.length ?? 0} MCD pairs; set up in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  const f = dataset.features;
  return new DiagnosticsMonitor(p, {
    axes: { secondsPerFrame: f.hop / f.sampleRate, hzPerBin: f.sampleRate / (2 * f.bins) },
    ...options,
    release: () => built.dispose(),
  });
}

/** What {@linkcode startTrainingDiagnostics} returns: safe to call even when diagnostics are off. */
export interface TrainingDiagnostics {
  /** The monitor, or null when diagnostics are off (see the logged reason). */
  readonly monitor: DiagnosticsMonitor | null;
  /** The loop hook (0-based iteration index, as the loop passes it). */
  onStepEnd(info: { iteration: number }): void;
  /**
   * Evaluate once more at the end of a run (1-based `iteration`, the number
   * of iterations done), unless the last evaluation was at that iteration, so
   * the report's figures describe the final generator.
   */
  finish(iteration: number): void;
  /** Free the probe. */
  dispose(): void;
}

/**
 * Start diagnostics for a training run, never failing it: when the data has
 * no usable attribute (or `every` is 0) diagnostics are off and one line
 * says why. The trainer's generator and discriminator are used, on its
 * held-out sentences when it has them (else on its training data).
 *
 * @example In `trainExperiment`
 * ```ts ignore
 * const diagnostics = startTrainingDiagnostics(trainer, { dir: runDir, every: 20, log });
 * // hooks: { onStepEnd: (info) => diagnostics.onStepEnd(info) }, and finally diagnostics.dispose()
 * ```
 */
export function startTrainingDiagnostics(
  trainer: {
    dataset: SpectrogramDataset;
    heldOut?: SpectrogramDataset | null;
    generator: GeneratorLike;
    discriminator?: DiscriminatorLike;
  },
  options: CreateDiagnosticsMonitorOptions = {},
): TrainingDiagnostics {
  let monitor: DiagnosticsMonitor | null = null;
  if ((options.every ?? 50) > 0) {
    try {
      // With a split: the probe is drawn from the held-out sentences, the classifier trains on the rest.
      monitor = trainer.heldOut
        ? createDiagnosticsMonitor(trainer.heldOut, trainer, { ...options, train: trainer.dataset })
        : createDiagnosticsMonitor(trainer.dataset, trainer, options);
    } catch (e) {
      if (!(e instanceof RangeError || e instanceof TypeError)) throw e;
      options.log?.(`diagnostics: off: ${e.message}`);
    }
  }
  return {
    monitor,
    onStepEnd: (info) => void monitor?.onStepEnd(info),
    finish: (iteration) => {
      if (monitor && iteration > 0 && monitor.records.at(-1)?.iteration !== iteration) {
        monitor.evaluate(iteration);
      }
    },
    dispose: () => monitor?.dispose(),
  };
}
