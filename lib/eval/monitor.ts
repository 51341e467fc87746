/**
 * Diagnostics during training: every N iterations the generator is run on a
 * fixed held-out batch, the numbers of `diagnostics.ts` (and MCD against the
 * target speaker's own rendition) are appended to `diagnostics.jsonl`, and a
 * {@linkcode CollapseDetector} turns a run of low label sensitivities into a
 * warning for the progress output and the report.
 *
 * The training loop calls {@linkcode DiagnosticsMonitor.onStepEnd} from its
 * `onStepEnd` hook; the report embeds {@linkcode DiagnosticsMonitor.markdown}.
 *
 * @module
 */

import { tf } from "../deps.ts";
import {
  type ClassifierFn,
  CollapseDetector,
  type CollapseDetectorOptions,
  conversionAccuracy,
  dataSpread,
  DEFAULT_COLLAPSE_THRESHOLD,
  type GeneratorFn,
  identityDistance,
  labelSensitivity,
} from "./diagnostics.ts";
import { mcd, spectrogramMelCepstra, type SpectrogramMelCepstrumOptions } from "./mcd.ts";
import type { Canvas } from "./png.ts";
import type { Spectrogram } from "../data/spectrogram.ts";
import { convertUtterance } from "./convert.ts";
import { type LinePanel, plotConversionGrid, plotLinePanels } from "./plots.ts";

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
 * import { tf } from "../deps.ts";
 * import { initBackend } from "../backend/mod.ts";
 * import { evaluateDiagnostics } from "./monitor.ts";
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
      Deno.writeTextFileSync(this.#path, JSON.stringify(record) + "\n", { append: true });
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
      caption: `iteration ${record.iteration}: label sensitivity ${f3(record.labelSensitivity)}${
        record.collapsed ? " (COLLAPSED)" : ""
      }`,
      cellSize: 128,
      ...(p.sourceLabels ? { sourceLabels: p.sourceLabels } : {}),
      ...(p.sourceNames ? { sourceNames: p.sourceNames } : {}),
    }).toPng();
    if (this.records.length === 1) Deno.writeFileSync(`${dir}/${DIAGNOSTICS_FILES.first}`, grid);
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

/** File names the monitor writes in a run directory. */
export const DIAGNOSTICS_FILES = {
  records: "diagnostics.jsonl",
  pictures: "diagnostics",
  curves: "curves.png",
  first: "conversions_first.png",
  last: "conversions_last.png",
} as const;

const f3 = (v: number) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(2));

/**
 * One line for the progress output, e.g.
 * `diagnostics @200: label sensitivity 0.004, identity distance 0.002, acc classifier 0.25, MCD 9.1 dB (source 9.2)`.
 */
export function formatDiagnostics(r: DiagnosticsRecord): string {
  const parts = [
    `label sensitivity ${f3(r.labelSensitivity)}`,
    `identity distance ${f3(r.identityDistance)}`,
  ];
  for (const [name, acc] of Object.entries(r.accuracy)) parts.push(`acc ${name} ${f3(acc)}`);
  if (r.mcd) {
    parts.push(`MCD ${r.mcd.converted.toFixed(2)} dB (source ${r.mcd.source.toFixed(2)})`);
  }
  return `diagnostics @${r.iteration}: ${parts.join(", ")}`;
}

/** Read a `diagnostics.jsonl`; a missing file gives an empty list. */
export async function readDiagnostics(path: string): Promise<DiagnosticsRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: DiagnosticsRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as DiagnosticsRecord);
    } catch {
      if (i >= lines.length - 2) break; // a last line cut short by a crash
      throw new SyntaxError(`Cannot read diagnostics '${path}': line ${i + 1} is not valid JSON`);
    }
  }
  return out;
}

/** The collapse warning recorded in a list of records (the latest one), or null. */
export function collapseWarning(records: readonly DiagnosticsRecord[]): string | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const w = records[i]!.warning;
    if (w) return w;
  }
  return null;
}

/** Options for {@linkcode diagnosticsMarkdown}. */
export interface DiagnosticsMarkdownOptions {
  /**
   * The collapse threshold, shown in the text.
   * @default {0.1}
   */
  threshold?: number;
  /**
   * Target names, listed in the text.
   * @default {[]}
   */
  targetNames?: readonly string[];
  /**
   * Relative path of a diagnostics plot to embed.
   * @default {undefined}
   */
  plot?: string;
}

/**
 * The report's diagnostics section: the collapse warning (if any) as a quote,
 * a table of the evaluations (at most 12 rows, evenly spread, always the
 * last), and the plot.
 */
export function diagnosticsMarkdown(
  records: readonly DiagnosticsRecord[],
  options: DiagnosticsMarkdownOptions = {},
): string {
  const lines = ["## Diagnostics", ""];
  if (records.length === 0) {
    lines.push("No diagnostics were computed.", "");
    return lines.join("\n");
  }
  const warning = collapseWarning(records);
  if (warning) lines.push(`> **⚠ ${warning}**`, "");
  else {
    lines.push(
      `No collapse: label sensitivity stayed at or above ${
        options.threshold ?? DEFAULT_COLLAPSE_THRESHOLD
      } (or not for long enough to fire).`,
      "",
    );
  }
  if (options.targetNames?.length) {
    lines.push(`Targets: ${options.targetNames.join(", ")}.`, "");
  }
  const names = [...new Set(records.flatMap((r) => Object.keys(r.accuracy)))];
  const hasMcd = records.some((r) => r.mcd);
  const header = ["iteration", "label sensitivity", "identity distance"];
  for (const n of names) header.push(`accuracy (${n})`);
  if (hasMcd) header.push("MCD converted [dB]", "MCD source [dB]");
  lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---:").join("|")}|`);
  const pick = records.length <= 12 ? records : Array.from(
    { length: 12 },
    (_, i) => records[Math.round(i * (records.length - 1) / 11)]!,
  );
  for (const r of pick) {
    const row = [
      String(r.iteration),
      f3(r.labelSensitivity) + (r.collapsed ? " ⚠" : ""),
      f3(r.identityDistance),
    ];
    for (const n of names) row.push(r.accuracy[n] === undefined ? "–" : f3(r.accuracy[n]!));
    if (hasMcd) row.push(r.mcd?.converted.toFixed(2) ?? "–", r.mcd?.source.toFixed(2) ?? "–");
    lines.push(`| ${row.join(" | ")} |`);
  }
  lines.push("");
  lines.push(
    "Label sensitivity is mean |G(x,c₁)−G(x,c₂)| over pairs of targets divided by the held-out " +
      "batch's spread (mean |x_i−x_j|); identity distance is mean |G(x,c)−x|; accuracy is the " +
      "fraction of converted outputs classified as their target; MCD compares each converted " +
      "utterance with the target speaker's own rendition (DTW), next to the unconverted source.",
    "",
  );
  if (options.plot) lines.push(`![diagnostics](${options.plot})`, "");
  return lines.join("\n");
}

/** Panels of diagnostics over iterations: sensitivity (with the threshold), distance, accuracy, MCD. */
export function plotDiagnostics(
  records: readonly DiagnosticsRecord[],
  options: { threshold?: number } = {},
): Canvas {
  const x = records.map((r) => r.iteration);
  const panels: LinePanel[] = [
    {
      title: "label sensitivity",
      x,
      y: records.map((r) => r.labelSensitivity),
      reference: options.threshold ?? DEFAULT_COLLAPSE_THRESHOLD,
    },
    { title: "identity distance", x, y: records.map((r) => r.identityDistance) },
  ];
  for (const name of new Set(records.flatMap((r) => Object.keys(r.accuracy)))) {
    panels.push({
      title: `accuracy (${name})`,
      x,
      y: records.map((r) => r.accuracy[name] ?? NaN),
    });
  }
  if (records.some((r) => r.mcd)) {
    panels.push({
      title: "MCD converted [dB]",
      x,
      y: records.map((r) => r.mcd?.converted ?? NaN),
    });
  }
  return plotLinePanels(panels, { yLabel: "value", smooth: 1 });
}

/**
 * The diagnostics section of a run's report, from `<dir>/diagnostics.jsonl`
 * and the pictures the monitor wrote; redraws `diagnostics/curves.png` from
 * the records. Returns "" when the run has no diagnostics.
 *
 * @example In a report writer
 * ```ts ignore
 * text += await diagnosticsSection(runDir);
 * ```
 */
export async function diagnosticsSection(dir: string): Promise<string> {
  const records = await readDiagnostics(`${dir}/${DIAGNOSTICS_FILES.records}`);
  if (records.length === 0) return "";
  const pics = `${dir}/${DIAGNOSTICS_FILES.pictures}`;
  await Deno.mkdir(pics, { recursive: true });
  await Deno.writeFile(`${pics}/${DIAGNOSTICS_FILES.curves}`, plotDiagnostics(records).toPng());
  const exists = async (p: string) => {
    try {
      return (await Deno.stat(p)).isFile;
    } catch {
      return false;
    }
  };
  let text = "\n" +
    diagnosticsMarkdown(records, {
      plot: `${DIAGNOSTICS_FILES.pictures}/${DIAGNOSTICS_FILES.curves}`,
    });
  for (
    const [file, caption] of [
      [DIAGNOSTICS_FILES.first, "at the first evaluation"],
      [DIAGNOSTICS_FILES.last, "at the last evaluation"],
    ] as const
  ) {
    if (await exists(`${pics}/${file}`)) {
      text += `\nConversions ${caption}: input, output for each target, reconstruction.\n\n` +
        `![conversions ${caption}](${DIAGNOSTICS_FILES.pictures}/${file})\n`;
    }
  }
  return text;
}
