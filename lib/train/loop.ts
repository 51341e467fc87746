/**
 * The training loop: iterations until the budget ends, with metrics, progress,
 * periodic and final checkpoints, signal handling and a NaN/Inf stop.
 *
 * The loop knows nothing about a particular model: a {@linkcode LoopTask}
 * runs one iteration and saves or restores its whole state; hooks carry
 * anything else (sample spectrograms, diagnostics).
 *
 * @module
 */
import { type CheckpointContents, writeCheckpoint } from "./checkpoint.ts";
import { type Interrupts, listenForInterrupts, type StopSignal } from "./interrupt.ts";
import type { MetricsWriter } from "./metrics.ts";
import { indexOfNonFinite, NonFiniteError, type NonFiniteValue } from "./non_finite.ts";
import type { ProgressBar } from "./progress.ts";

/** Where the loop is. All counts are 0-based before the step and 1-based in records. */
export interface LoopPosition {
  /** Iterations completed before this one (0-based index of this iteration). */
  iteration: number;
  /** Epoch of this iteration (0-based). */
  epoch: number;
  /** Index of this iteration within its epoch (0-based). */
  iterInEpoch: number;
}

/** What one iteration reports. */
export interface StepReport {
  /** Loss terms by name (as the task reports them; a voxlab run: unweighted terms and weighted totals). */
  terms: Record<string, number>;
  /** Learning rates by optimizer name. */
  lr: Record<string, number>;
}

/** The model-specific half of training, driven by {@linkcode runLoop}. */
export interface LoopTask {
  /** Iterations per epoch. */
  itersPerEpoch: number;
  /** Epochs of the full run. */
  epochs: number;
  /** Run one iteration. */
  step(position: LoopPosition): StepReport | Promise<StepReport>;
  /**
   * Everything needed to continue exactly (weights, optimizer states, RNG
   * states…). The loop adds `iteration`, `epoch` and `elapsed` to `state`.
   */
  save(): CheckpointContents<Record<string, unknown>>;
  /**
   * The first weight that is NaN or infinite after a step, or `null`. The
   * loop calls it right after each step, before metrics, hooks or anything
   * else reads the weights: a step can turn the weights NaN while its own
   * losses (computed before the update) are still finite.
   */
  nonFiniteWeight?(): NonFiniteValue | null;
}

/** Why {@linkcode runLoop} stopped. */
export type StopReason = "completed" | "max-steps" | "max-time" | "signal" | "non-finite";

/** Information passed to hooks after each iteration. */
export interface StepEndInfo extends LoopPosition {
  /** The iteration's report. */
  report: StepReport;
}

/** Hooks called by {@linkcode runLoop}. */
export interface LoopHooks {
  /** After every iteration whose losses are finite. */
  onStepEnd?(info: StepEndInfo): void | Promise<void>;
  /** After the last iteration of each epoch. */
  onEpochEnd?(epoch: number): void | Promise<void>;
  /** After each checkpoint is written, with the training seconds so far. */
  onCheckpoint?(path: string, iteration: number, elapsed: number): void | Promise<void>;
}

/** Options for {@linkcode runLoop}. */
export interface LoopOptions {
  /**
   * Iterations already done (when resuming).
   * @default {0}
   */
  startIteration?: number;
  /**
   * Training seconds already spent (when resuming).
   * @default {0}
   */
  startElapsed?: number;
  /**
   * Stop after this many iterations in this invocation.
   * @default {Infinity}
   */
  maxSteps?: number;
  /**
   * Stop after this many seconds in this invocation (checked after each iteration).
   * @default {Infinity}
   */
  maxSeconds?: number;
  /**
   * Where checkpoints go (written atomically); `null` disables them.
   * @default {null}
   */
  checkpointPath?: string | null;
  /**
   * Minutes between periodic checkpoints.
   * @default {10}
   */
  checkpointMinutes?: number;
  /**
   * Metrics sink, one record per iteration.
   * @default {undefined}
   */
  metrics?: MetricsWriter;
  /**
   * Progress display.
   * @default {undefined}
   */
  progress?: ProgressBar;
  /**
   * Stop (after the current iteration, with a checkpoint) when aborted.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Also stop that way on SIGINT and SIGTERM (see `interrupt.ts`: a second
   * signal quits at once, one within a second of the first is a copy of it).
   * @default {false}
   */
  handleSignals?: boolean;
  /**
   * Hooks.
   * @default {{}}
   */
  hooks?: LoopHooks;
}

/** What {@linkcode runLoop} returns. */
export interface LoopResult {
  /** Why it stopped. */
  reason: StopReason;
  /** Iterations completed (including those before a resume). */
  iteration: number;
  /** Epoch reached (0-based epoch of the next iteration). */
  epoch: number;
  /** Training seconds in total (including those before a resume). */
  elapsed: number;
  /** When `reason` is `signal` because of SIGINT or SIGTERM: which one. */
  stopSignal?: StopSignal;
  /** Iteration of the last checkpoint written, or `null` if none was written. */
  lastCheckpoint: number | null;
  /** When `reason` is `non-finite`: the first term that was NaN or infinite, and its value. */
  badTerm?: { name: string; value: number };
  /**
   * When `reason` is `non-finite` because a hook found a measure of iteration
   * `iteration` NaN or infinite (a {@linkcode NonFiniteError}, e.g.
   * `diagnostics.labelSensitivity`): its name and value.
   */
  badMeasure?: NonFiniteValue;
  /**
   * When `reason` is `non-finite` because a step left a weight NaN or
   * infinite while its losses were finite: the first such weight and value.
   */
  badWeight?: NonFiniteValue;
  /**
   * When `reason` is `non-finite` because a checkpoint's tensor was (the last
   * update made the weights NaN or infinite before any loss showed it): the
   * first such tensor and value. That checkpoint is not written.
   */
  badTensor?: { name: string; value: number };
  /** Terms of the last finite iteration. */
  lastTerms: Record<string, number>;
}

/**
 * Run iterations until the task's epochs are done, a budget ends, a signal
 * arrives or a loss is not finite.
 *
 * Phases of each iteration: step → finite checks (losses, then weights) →
 * metrics and progress → hooks → periodic checkpoint → stop checks. Every
 * non-finite value stops the run the same way, as `non-finite` with the
 * value named and no checkpoint written, so the last good one is kept: a
 * loss term (`badTerm`), a weight the step left NaN while its losses were
 * finite (`badWeight`, checked before any hook reads the weights), a
 * measure a hook throws as a {@linkcode NonFiniteError} (`badMeasure`), and a
 * checkpoint tensor such as an optimizer slot (`badTensor`).
 *
 * @example A task that only counts
 * ```ts
 * import { runLoop } from "./loop.ts";
 * let n = 0;
 * const result = await runLoop({
 *   itersPerEpoch: 2, epochs: 2,
 *   step: () => ({ terms: { loss: ++n }, lr: {} }),
 *   save: () => ({ state: {}, tensors: {} }),
 * });
 * console.assert(result.reason === "completed" && result.iteration === 4);
 * ```
 */
export async function runLoop(task: LoopTask, options: LoopOptions = {}): Promise<LoopResult> {
  const total = task.itersPerEpoch * task.epochs;
  const start = options.startIteration ?? 0;
  const maxSteps = options.maxSteps ?? Infinity;
  const maxSeconds = options.maxSeconds ?? Infinity;
  const checkpointPath = options.checkpointPath ?? null;
  const checkpointMs = (options.checkpointMinutes ?? 10) * 60_000;
  const hooks = options.hooks ?? {};
  if (!(task.itersPerEpoch >= 1)) {
    throw new RangeError(
      `Cannot train: iterations per epoch must be at least 1, got ${task.itersPerEpoch}`,
    );
  }

  // Programmatic stops come as an abort; SIGINT and SIGTERM through a
  // listener whose state is read without an event-loop turn.
  let aborted = options.signal?.aborted ?? false;
  const onAbort = () => void (aborted = true);
  options.signal?.addEventListener("abort", onAbort);
  let interrupts: Interrupts | null = null;
  try {
    if (options.handleSignals) interrupts = await listenForInterrupts();
  } catch (e) {
    options.signal?.removeEventListener("abort", onAbort);
    throw e;
  }

  const t0 = performance.now();
  const elapsed = () => (options.startElapsed ?? 0) + (performance.now() - t0) / 1000;
  let lastSave = performance.now();
  let lastCheckpoint: number | null = null;
  let iteration = start;
  let lastTerms: Record<string, number> = {};
  let reason: StopReason = "completed";
  let badTerm: { name: string; value: number } | undefined;
  let badTensor: { name: string; value: number } | undefined;
  let badWeight: NonFiniteValue | undefined;
  let badMeasure: NonFiniteValue | undefined;

  /** Write a checkpoint; false (and nothing written) when a tensor is not finite. */
  const save = async (): Promise<boolean> => {
    if (!checkpointPath) return true;
    const contents = task.save();
    for (const [name, t] of Object.entries(contents.tensors)) {
      const i = indexOfNonFinite(t.data);
      if (i >= 0) {
        badTensor = { name, value: t.data[i]! };
        return false;
      }
    }
    const seconds = elapsed();
    contents.state = {
      ...contents.state,
      iteration,
      epoch: Math.floor(iteration / task.itersPerEpoch),
      elapsed: seconds,
    };
    if (interrupts) await interrupts.protect(() => writeCheckpoint(checkpointPath, contents));
    else await writeCheckpoint(checkpointPath, contents);
    lastSave = performance.now();
    lastCheckpoint = iteration;
    await hooks.onCheckpoint?.(checkpointPath, iteration, seconds);
    return true;
  };

  options.progress?.start(start, Math.floor(start / task.itersPerEpoch) + 1);
  try {
    while (true) {
      if (iteration >= total) {
        reason = "completed";
        break;
      }
      if (iteration - start >= maxSteps) {
        reason = "max-steps";
        break;
      }
      if (aborted || interrupts?.requested) {
        reason = "signal";
        break;
      }
      if (elapsed() - (options.startElapsed ?? 0) >= maxSeconds) {
        reason = "max-time";
        break;
      }

      // Phase 1: one iteration.
      const position: LoopPosition = {
        iteration,
        epoch: Math.floor(iteration / task.itersPerEpoch),
        iterInEpoch: iteration % task.itersPerEpoch,
      };
      interrupts?.setIteration(iteration + 1);
      const stepStart = performance.now();
      const report = await task.step(position);
      const seconds = (performance.now() - stepStart) / 1000;

      // Phase 2: a NaN or Inf loss stops the run; its weights are not saved.
      const bad = Object.entries(report.terms).find(([, v]) => !Number.isFinite(v));
      if (bad) {
        reason = "non-finite";
        badTerm = { name: bad[0], value: bad[1] };
        break;
      }
      const weight = task.nonFiniteWeight?.() ?? null;
      if (weight) {
        reason = "non-finite";
        badWeight = weight;
        break;
      }
      iteration++;
      lastTerms = report.terms;

      // Phase 3: metrics and progress.
      options.metrics?.append({
        iteration,
        epoch: position.epoch + 1,
        terms: report.terms,
        lr: report.lr,
        seconds,
        elapsed: elapsed(),
        time: new Date().toISOString(),
      });
      options.progress?.update({ iteration, epoch: position.epoch + 1, terms: report.terms });

      // Phase 4: hooks. A measure they find non-finite stops the run like a loss.
      try {
        await hooks.onStepEnd?.({ ...position, report });
        if (position.iterInEpoch === task.itersPerEpoch - 1) {
          await hooks.onEpochEnd?.(position.epoch);
        }
      } catch (e) {
        if (!(e instanceof NonFiniteError)) throw e;
        reason = "non-finite";
        badMeasure = e.bad;
        break;
      }

      // Phase 5: periodic checkpoint.
      if (performance.now() - lastSave >= checkpointMs && !(await save())) {
        reason = "non-finite";
        break;
      }

      // Phase 6: yield to the event loop. An iteration on wasm resolves its
      // awaits as microtasks, so without a macrotask turn here an abort
      // would not be seen until the next file write.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (reason !== "non-finite" && lastCheckpoint !== iteration && !(await save())) {
      reason = "non-finite";
    }
  } finally {
    interrupts?.close();
    options.signal?.removeEventListener("abort", onAbort);
    options.progress?.done();
  }
  const result: LoopResult = {
    reason,
    iteration,
    epoch: Math.floor(iteration / task.itersPerEpoch),
    elapsed: elapsed(),
    lastCheckpoint,
    lastTerms,
  };
  const stopSignal = interrupts?.requested;
  if (reason === "signal" && stopSignal) result.stopSignal = stopSignal;
  if (badTerm) result.badTerm = badTerm;
  if (badTensor) result.badTensor = badTensor;
  if (badWeight) result.badWeight = badWeight;
  if (badMeasure) result.badMeasure = badMeasure;
  return result;
}
