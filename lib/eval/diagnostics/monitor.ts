/**
 * The diagnostics monitor: during training it evaluates the diagnostics every
 * N iterations (and every few minutes), keeps the records, appends them to
 * `diagnostics.jsonl`, draws the pictures, and feeds a
 * {@linkcode CollapseDetector} that turns a run of low label sensitivities
 * into a warning for the progress output and the report.
 *
 * The training loop calls {@linkcode DiagnosticsMonitor.onStepEnd} from its
 * `onStepEnd` hook; the report embeds {@linkcode DiagnosticsMonitor.markdown}.
 *
 * @module
 */

import { appendJsonl } from "../../jsonl.ts";
import { CollapseDetector, type CollapseDetectorOptions } from "./measures.ts";
import { NonFiniteError } from "../../train/non_finite.ts";
import type { Canvas } from "../png.ts";
import { plotConversionGrid } from "../plots.ts";

const existsSync = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};
import { type DiagnosticsProbe, type DiagnosticsRecord, evaluateDiagnostics } from "./evaluate.ts";
import { DIAGNOSTICS_FILES, formatDiagnostics, formatFigure } from "./records.ts";
import { diagnosticsMarkdown, plotDiagnostics } from "./report.ts";

/** Options for {@linkcode DiagnosticsMonitor}. */
export interface DiagnosticsMonitorOptions extends CollapseDetectorOptions {
  /**
   * Evaluate every this many iterations (and at iteration 1 if `atStart`, and
   * when `everyMinutes` have passed).
   * @default {50}
   */
  every?: number;
  /**
   * Also evaluate after the first iteration, so a run shows a baseline at once.
   * @default {true}
   */
  atStart?: boolean;
  /**
   * Also evaluate when this many minutes of wall time have passed since the
   * last evaluation, so slow full-size runs are checked within minutes; 0
   * turns the time trigger off. (Diagnostics run G in inference mode only, so
   * when they run never changes what training computes.)
   * @default {5}
   */
  everyMinutes?: number;
  /**
   * Clock in milliseconds, for tests.
   * @default {performance.now}
   */
  now?: () => number;
  /**
   * Where to append `diagnostics.jsonl` lines; `null` keeps records in memory only.
   * @default {null}
   */
  path?: string | null;
  /**
   * A run directory: records go to `<dir>/diagnostics.jsonl` (unless `path`
   * says otherwise) and pictures to `<dir>/diagnostics/`: `curves.png` (the
   * diagnostics over iterations), `conversions_first.png` and
   * `conversions_last.png` (input, outputs for each target, reconstruction).
   * @default {null}
   */
  dir?: string | null;
  /**
   * Spectrogram axes in seconds and kHz (`hop / sampleRate`, `sampleRate / frame length`).
   * @default {frames and bins}
   */
  axes?: { secondsPerFrame?: number; hzPerBin?: number };
  /**
   * Called by {@linkcode DiagnosticsMonitor.dispose} to free what the probe holds.
   * @default {undefined}
   */
  release?: () => void;
  /**
   * Called with a one-line summary after each evaluation, and with the collapse
   * warning whenever it fires (e.g. `progress.message`).
   * @default {undefined}
   */
  log?: (line: string) => void;
}

/**
 * Runs the diagnostics every N iterations, keeps the records, writes
 * `diagnostics.jsonl` and raises the collapse warning.
 *
 * @example Wire it into the training loop
 * ```ts ignore
 * const monitor = new DiagnosticsMonitor(probe, { every: 50, path: `${runDir}/diagnostics.jsonl`, log: (l) => progress.message(l) });
 * await runLoop(task, { hooks: { onStepEnd: (info) => monitor.onStepEnd(info) } });
 * ```
 */
export class DiagnosticsMonitor {
  /** The evaluations so far. */
  readonly records: DiagnosticsRecord[] = [];
  /** The probe in use. */
  readonly probe: DiagnosticsProbe;
  /** The collapse detector in use. */
  readonly detector: CollapseDetector;
  readonly #every: number;
  readonly #atStart: boolean;
  readonly #everyMs: number;
  readonly #now: () => number;
  #lastEval: number;
  readonly #path: string | null;
  readonly #pictures: string | null;
  readonly #axes: { secondsPerFrame?: number; hzPerBin?: number };
  readonly #log: ((line: string) => void) | undefined;
  readonly #release: (() => void) | undefined;

  /** Create a monitor for a probe. */
  constructor(probe: DiagnosticsProbe, options: DiagnosticsMonitorOptions = {}) {
    this.probe = probe;
    this.detector = new CollapseDetector(options);
    this.#every = options.every ?? 50;
    if (!Number.isInteger(this.#every) || this.#every < 1) {
      throw new RangeError(
        `Cannot create diagnostics monitor: every must be a positive integer, got ${this.#every}`,
      );
    }
    this.#atStart = options.atStart ?? true;
    this.#everyMs = (options.everyMinutes ?? 5) * 60_000;
    if (!(this.#everyMs >= 0)) {
      throw new RangeError(
        `Cannot create diagnostics monitor: everyMinutes must be >= 0, got ${options.everyMinutes}`,
      );
    }
    this.#now = options.now ?? (() => performance.now());
    this.#lastEval = this.#now();
    const dir = options.dir ?? null;
    this.#path = options.path ?? (dir ? `${dir}/${DIAGNOSTICS_FILES.records}` : null);
    this.#pictures = dir ? `${dir}/${DIAGNOSTICS_FILES.pictures}` : null;
    this.#axes = options.axes ?? {};
    if (dir) Deno.mkdirSync(dir, { recursive: true });
    this.#log = options.log;
    this.#release = options.release;
  }

  /**
   * The loop hook: evaluates when the iteration just finished is due.
   * `info.iteration` is the 0-based index of that iteration (as the loop passes it).
   */
  onStepEnd(info: { iteration: number }): DiagnosticsRecord | null {
    const done = info.iteration + 1;
    const byTime = this.#everyMs > 0 && this.#now() - this.#lastEval >= this.#everyMs;
    if (done % this.#every === 0 || (this.#atStart && done === 1) || byTime) {
      return this.evaluate(done);
    }
    return null;
  }

  /** Evaluate now, at `iteration` (1-based); records, writes and logs the result. */
  evaluate(iteration: number): DiagnosticsRecord {
    const base = evaluateDiagnostics(this.probe, iteration);
    this.#lastEval = this.#now();
    // A measure that is not finite stops training the way a NaN loss does (the loop catches it).
    for (const key of ["labelSensitivity", "identityDistance"] as const) {
      if (!Number.isFinite(base[key])) throw new NonFiniteError(`diagnostics.${key}`, base[key]);
    }
    const warning = this.detector.update({
      iteration,
      labelSensitivity: base.labelSensitivity,
      identityDistance: base.identityDistance,
      spread: base.spread,
    });
    const record: DiagnosticsRecord = { ...base, collapsed: this.detector.collapsed };
    if (warning) record.warning = warning;
    this.records.push(record);
    if (this.#path) {
      appendJsonl(this.#path, record);
    }
    if (this.#pictures) this.#writePictures(record);
    this.#log?.(formatDiagnostics(record));
    if (warning) this.#log?.(warning);
    return record;
  }

  #writePictures(record: DiagnosticsRecord): void {
    const dir = this.#pictures!;
    Deno.mkdirSync(dir, { recursive: true });
    const p = this.probe;
    const grid = plotConversionGrid(p.generator, {
      x: p.x,
      targets: p.targets,
      targetNames: p.targetNames,
    }, {
      caption: `iteration ${record.iteration}: label sensitivity ${
        formatFigure(record.labelSensitivity)
      }${record.collapsed ? " (COLLAPSED)" : ""}`,
      cellSize: 128,
      ...this.#axes,
      ...(p.sourceLabels ? { sourceLabels: p.sourceLabels } : {}),
      ...(p.sourceNames ? { sourceNames: p.sourceNames } : {}),
    }).toPng();
    // The first evaluation of the run, not of this process: a resumed run keeps its picture.
    const first = `${dir}/${DIAGNOSTICS_FILES.first}`;
    if (!existsSync(first)) Deno.writeFileSync(first, grid);
    Deno.writeFileSync(`${dir}/${DIAGNOSTICS_FILES.last}`, grid);
    Deno.writeFileSync(`${dir}/${DIAGNOSTICS_FILES.curves}`, this.plot().toPng());
  }

  /** Free the probe's tensors (via the `release` option). */
  dispose(): void {
    this.#release?.();
  }

  /** The collapse warning if it fired during the run, else null. */
  get warning(): string | null {
    return this.detector.warning;
  }

  /** A Markdown section for the run report (see {@linkcode diagnosticsMarkdown}). */
  markdown(options: { plot?: string } = {}): string {
    return diagnosticsMarkdown(this.records, {
      threshold: this.detector.threshold,
      targetNames: this.probe.targetNames,
      ...options,
    });
  }

  /** Diagnostics over iterations (see {@linkcode plotDiagnostics}). */
  plot(): Canvas {
    return plotDiagnostics(this.records, { threshold: this.detector.threshold });
  }
}
