/**
 * Plots for run directories: loss curves (one panel per term) and spectrogram
 * grids (input, outputs for several targets, reconstruction), drawn on a
 * {@linkcode Canvas} with axis labels and the viridis colormap.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { Canvas, COLORS, GLYPH, type Rgb, textWidth } from "./png.ts";

/** One line-plot panel. */
export interface LinePanel {
  /** Panel title, e.g. the loss term's name. */
  title: string;
  /** X values (e.g. iterations), increasing (the first is taken as the minimum). */
  x: readonly number[];
  /** Y values, one per x; non-finite values are skipped. */
  y: readonly number[];
  /**
   * A horizontal reference line (e.g. the collapse threshold), drawn dashed.
   */
  reference?: number;
  /** The reference line's label, drawn beside it (e.g. `collapse threshold 0.1`). */
  referenceLabel?: string;
  /** The y axis label of this panel (else the plot's `yLabel`). */
  yLabel?: string;
  /** A fixed y range, e.g. `[0, 1]` for a fraction (widened if a value falls outside). */
  yRange?: readonly [number, number];
  /** A second series on the same axes, drawn gray (e.g. MCD of the unconverted source). */
  second?: { label: string; y: readonly number[] };
  /** The main series' label in the legend, when there is a second series. */
  label?: string;
}

/** Options for {@linkcode plotLinePanels} and {@linkcode plotLossCurves}. */
export interface LinePlotOptions {
  /**
   * Panels per row.
   * @default {2}
   */
  columns?: number;
  /**
   * Width of one panel in pixels.
   * @default {360}
   */
  panelWidth?: number;
  /**
   * Height of one panel in pixels.
   * @default {220}
   */
  panelHeight?: number;
  /**
   * Label of every x axis.
   * @default {"iteration"}
   */
  xLabel?: string;
  /**
   * Label of every y axis.
   * @default {"value"}
   */
  yLabel?: string;
  /**
   * Window of the moving average drawn over the raw curve; 0 picks one from
   * the number of points (about 1/50 of them), 1 draws the raw curve only.
   * @default {0}
   */
  smooth?: number;
}

/**
 * "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi].
 *
 * @example
 * ```ts
 * import { niceTicks } from "./plots.ts";
 * console.assert(niceTicks(0, 1, 5).join() === "0,0.2,0.4,0.6,0.8,1");
 * ```
 */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let i = first; i * step <= hi + step * 1e-9; i++) {
    out.push(Number((i * step).toPrecision(12)));
  }
  return out;
}

/**
 * A short tick label: integers as is, small or large magnitudes in exponent form.
 *
 * @example
 * ```ts
 * import { formatTick } from "./plots.ts";
 * console.assert(formatTick(2000) === "2000" && formatTick(0.25) === "0.25");
 * console.assert(formatTick(1.5e-5) === "1.5e-5");
 * ```
 */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential(2).split("e");
    return `${Number(m)}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(4)));
}

function movingAverage(y: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0, count = 0;
  const q: number[] = [];
  for (const v of y) {
    const fin = Number.isFinite(v);
    q.push(v);
    if (fin) {
      sum += v;
      count++;
    }
    if (q.length > window) {
      const old = q.shift()!;
      if (Number.isFinite(old)) {
        sum -= old;
        count--;
      }
    }
    out.push(count > 0 ? sum / count : NaN);
  }
  return out;
}

const MARGIN = { left: 58, right: 12, top: 22, bottom: 34 } as const;

function drawPanel(
  canvas: Canvas,
  panel: LinePanel,
  origin: readonly [number, number],
  size: readonly [number, number],
  options: LinePlotOptions,
): void {
  const [ox, oy] = origin;
  const [pw, ph] = size;
  const x0 = ox + MARGIN.left, y0 = oy + MARGIN.top;
  const w = pw - MARGIN.left - MARGIN.right, h = ph - MARGIN.top - MARGIN.bottom;
  canvas.text(panel.title, ox + MARGIN.left + w / 2, oy + 6, { align: "center" });
  const pts: [number, number][] = [];
  for (let i = 0; i < Math.min(panel.x.length, panel.y.length); i++) {
    if (Number.isFinite(panel.x[i]) && Number.isFinite(panel.y[i])) {
      pts.push([panel.x[i]!, panel.y[i]!]);
    }
  }
  canvas.strokeRect(x0, y0, w, h, COLORS.black);
  if (pts.length === 0) {
    canvas.text("no data", x0 + w / 2, y0 + h / 2 - 4, { align: "center", color: COLORS.gray });
    return;
  }
  const second: [number, number][] = [];
  for (let i = 0; i < Math.min(panel.x.length, panel.second?.y.length ?? 0); i++) {
    const y = panel.second!.y[i]!;
    if (Number.isFinite(panel.x[i]) && Number.isFinite(y)) second.push([panel.x[i]!, y]);
  }
  // Loops, not Math.min(...), so that long runs do not overflow the call stack.
  const xmin = pts[0]![0];
  let xmax = pts[0]![0], ymin = pts[0]![1], ymax = pts[0]![1];
  for (const [x, y] of [...pts, ...second]) {
    xmax = Math.max(xmax, x);
    ymin = Math.min(ymin, y);
    ymax = Math.max(ymax, y);
  }
  const fixed = panel.yRange !== undefined;
  if (panel.yRange) {
    ymin = Math.min(ymin, panel.yRange[0]);
    ymax = Math.max(ymax, panel.yRange[1]);
  }
  if (panel.reference !== undefined) {
    ymin = Math.min(ymin, panel.reference);
    ymax = Math.max(ymax, panel.reference);
  }
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) {
    const d = Math.abs(ymin) * 0.1 || 1;
    ymin -= d;
    ymax += d;
  }
  const pad = fixed ? (ymax - ymin) * 0.02 : (ymax - ymin) * 0.05;
  ymin -= pad;
  ymax += pad;
  const px = (v: number) => x0 + (v - xmin) / (xmax - xmin) * (w - 1);
  const py = (v: number) => y0 + h - 1 - (v - ymin) / (ymax - ymin) * (h - 1);
  // Grid and ticks.
  for (const t of niceTicks(ymin, ymax, Math.max(2, Math.floor(h / 40)))) {
    const y = Math.round(py(t));
    if (y <= y0 || y >= y0 + h - 1) continue;
    canvas.line(x0 + 1, y, x0 + w - 2, y, COLORS.lightGray);
    canvas.line(x0 - 3, y, x0, y, COLORS.black);
    canvas.text(formatTick(t), x0 - 5, y - 3, { align: "right" });
  }
  for (const t of niceTicks(xmin, xmax, Math.max(2, Math.floor(w / 70)))) {
    const x = Math.round(px(t));
    if (x < x0 || x > x0 + w - 1) continue;
    canvas.line(x, y0 + h, x, y0 + h + 3, COLORS.black);
    canvas.text(formatTick(t), x, y0 + h + 6, { align: "center" });
  }
  canvas.text(options.xLabel ?? "iteration", x0 + w / 2, y0 + h + 6 + GLYPH.height + 2, {
    align: "center",
    color: COLORS.gray,
  });
  canvas.text(panel.yLabel ?? options.yLabel ?? "value", ox + 4, y0 + h / 2, {
    vertical: true,
    align: "center",
    color: COLORS.gray,
  });
  if (panel.reference !== undefined) {
    const y = Math.round(py(panel.reference));
    for (let x = x0 + 1; x < x0 + w - 1; x += 6) canvas.line(x, y, x + 2, y, COLORS.red);
    if (panel.referenceLabel) {
      // Above the line when there is room, else below it.
      const ty = y - GLYPH.height - 2 > y0 + 1 ? y - GLYPH.height - 2 : y + 3;
      canvas.text(panel.referenceLabel, x0 + w - 4, ty, { align: "right", color: COLORS.red });
    }
  }
  // Raw curve, then its moving average on top.
  const window = options.smooth && options.smooth > 0
    ? options.smooth
    : Math.max(1, Math.round(pts.length / 50));
  const drawCurve = (ys: readonly number[], color: Rgb, xs = pts.map((p) => p[0])) => {
    let prev: [number, number] | null = null;
    let drawn = 0;
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(ys[i])) continue;
      const p: [number, number] = [px(xs[i]!), py(ys[i]!)];
      if (prev) canvas.line(prev[0], prev[1], p[0], p[1], color);
      prev = p;
      drawn++;
    }
    // A curve of one point is a visible dot, not a lone pixel.
    if (drawn === 1 && prev) canvas.fillRect(prev[0] - 2, prev[1] - 2, 5, 5, color);
  };
  if (second.length > 0) {
    drawCurve(second.map((p) => p[1]), COLORS.gray, second.map((p) => p[0]));
    const label = panel.label ?? "value";
    canvas.text(`${label} (blue), ${panel.second!.label} (gray)`, x0 + 4, y0 + 3, {
      color: COLORS.gray,
    });
  }
  const ys = pts.map((p) => p[1]);
  if (window > 1) {
    drawCurve(ys, [174, 199, 232]);
    drawCurve(movingAverage(ys, window), COLORS.blue);
  } else {
    drawCurve(ys, COLORS.blue);
  }
}

/**
 * Draw line panels in a grid, each with its own axes, ticks and labels.
 *
 * @example
 * ```ts
 * import { plotLinePanels } from "./plots.ts";
 * const canvas = plotLinePanels([{ title: "loss", x: [1, 2, 3], y: [3, 2, 1] }]);
 * console.assert(canvas.width === 360);
 * ```
 */
export function plotLinePanels(
  panels: readonly LinePanel[],
  options: LinePlotOptions = {},
): Canvas {
  if (panels.length === 0) {
    throw new RangeError("Cannot plot line panels: no panels given");
  }
  const cols = Math.min(options.columns ?? 2, panels.length);
  const pw = options.panelWidth ?? 360, ph = options.panelHeight ?? 220;
  const rows = Math.ceil(panels.length / cols);
  const canvas = new Canvas(cols * pw, rows * ph);
  panels.forEach((panel, i) => {
    drawPanel(canvas, panel, [(i % cols) * pw, Math.floor(i / cols) * ph], [pw, ph], options);
  });
  return canvas;
}

/** The part of a `metrics.jsonl` record the loss plot reads. */
export interface LossRecord {
  /** Iteration number. */
  iteration: number;
  /** Loss terms by name. */
  terms: Record<string, number>;
}

/**
 * Loss curves from `metrics.jsonl` records: one panel per term (all terms
 * seen in any record, sorted by name), against the iteration.
 *
 * @example
 * ```ts
 * import { plotLossCurves } from "./plots.ts";
 * const records = [1, 2, 3].map((i) => ({ iteration: i, terms: { "G.adv": 1 / i, "D.adv": -i } }));
 * const canvas = plotLossCurves(records);
 * console.assert(canvas.height === 220); // two panels side by side
 * ```
 */
export function plotLossCurves(
  records: readonly LossRecord[],
  options: LinePlotOptions = {},
): Canvas {
  const names = [...new Set(records.flatMap((r) => Object.keys(r.terms)))].sort();
  if (names.length === 0) {
    throw new RangeError("Cannot plot loss curves: the records hold no loss terms");
  }
  const x = records.map((r) => r.iteration);
  const panels = names.map((name) => ({
    title: name,
    x,
    y: records.map((r) => r.terms[name] ?? NaN),
  }));
  return plotLinePanels(panels, { yLabel: "loss", ...options });
}

/** One spectrogram of a grid. */
export interface SpectrogramPanel {
  /** Title above the panel, e.g. `input (p225)` or `-> speaker f3`. */
  title: string;
  /** Values in [min, max], `bins × frames` row-major (row 0 = lowest bin). */
  values: ArrayLike<number>;
  /** `[bins, frames]`. */
  shape: readonly [number, number];
}

/** Options for {@linkcode plotSpectrogramGrid}. */
export interface SpectrogramGridOptions {
  /**
   * Panels per row.
   * @default {4}
   */
  columns?: number;
  /**
   * Size of one spectrogram image in pixels (square).
   * @default {192}
   */
  cellSize?: number;
  /**
   * Value at the bottom of the colormap.
   * @default {0}
   */
  min?: number;
  /**
   * Value at the top of the colormap.
   * @default {1}
   */
  max?: number;
  /**
   * Label of the x axes.
   * @default {"frame"}
   */
  xLabel?: string;
  /**
   * Label of the y axes.
   * @default {"freq bin"}
   */
  yLabel?: string;
  /**
   * Optional line drawn above the grid (e.g. run id and iteration).
   * @default {""}
   */
  caption?: string;
  /**
   * Seconds per frame (hop / sample rate): with it the x axis is in seconds.
   * @default {undefined}
   */
  secondsPerFrame?: number;
  /**
   * Hz per frequency bin (sample rate / frame length): with it the y axis is in kHz.
   * @default {undefined}
   */
  hzPerBin?: number;
}

/**
 * A grid of spectrograms with titles, axes (frame, frequency bin, low bins at
 * the bottom) and a viridis colour bar.
 *
 * @example
 * ```ts
 * import { plotSpectrogramGrid } from "./plots.ts";
 * const values = Float32Array.from({ length: 16 * 16 }, (_, i) => (i % 16) / 15);
 * const canvas = plotSpectrogramGrid([{ title: "input", values, shape: [16, 16] }]);
 * console.assert(canvas.width > 192);
 * ```
 */
export function plotSpectrogramGrid(
  panels: readonly SpectrogramPanel[],
  options: SpectrogramGridOptions = {},
): Canvas {
  if (panels.length === 0) {
    throw new RangeError("Cannot plot spectrogram grid: no panels given");
  }
  const cols = Math.min(options.columns ?? 4, panels.length);
  const cell = options.cellSize ?? 192;
  const min = options.min ?? 0, max = options.max ?? 1;
  const left = 44, top = 20, bottom = 34, gap = 14;
  const captionH = options.caption ? 18 : 0;
  const cw = left + cell + gap, chh = top + cell + bottom;
  const rows = Math.ceil(panels.length / cols);
  const barW = 60;
  const canvas = new Canvas(cols * cw + barW, captionH + rows * chh);
  if (options.caption) canvas.text(options.caption, 6, 5);
  panels.forEach((panel, i) => {
    const ox = (i % cols) * cw + left, oy = captionH + Math.floor(i / cols) * chh + top;
    const [bins, frames] = panel.shape;
    canvas.text(panel.title, ox + cell / 2, oy - 13, { align: "center" });
    canvas.heatmap(panel.values, panel.shape, [ox, oy, cell, cell], { min, max, flipY: true });
    canvas.strokeRect(ox - 1, oy - 1, cell + 2, cell + 2, COLORS.black);
    const spf = options.secondsPerFrame, hpb = options.hzPerBin;
    const xTicks = spf
      ? niceTicks(0, frames * spf, 3).map((v) => v / spf)
      : [0, frames / 2, frames];
    for (const t of xTicks.filter((t) => t <= frames + 1e-9)) {
      const x = ox + Math.round(t / frames * cell);
      canvas.line(x, oy + cell + 1, x, oy + cell + 3, COLORS.black);
      const label = spf ? formatTick(t * spf) : String(Math.round(t));
      canvas.text(label, x, oy + cell + 5, { align: "center" });
    }
    const yTicks = hpb ? niceTicks(0, bins * hpb / 1000, 3).map((v) => v * 1000 / hpb) : [
      0,
      bins / 2,
      bins,
    ];
    for (const t of yTicks.filter((t) => t <= bins + 1e-9)) {
      const y = oy + cell - Math.round(t / bins * cell);
      canvas.line(ox - 4, y, ox - 2, y, COLORS.black);
      const label = hpb ? formatTick(t * hpb / 1000) : String(Math.round(t));
      canvas.text(label, ox - 6, y - 3, { align: "right" });
    }
    const xLabel = options.xLabel ?? (spf ? "time [s]" : "frame");
    const yLabel = options.yLabel ?? (hpb ? "freq [kHz]" : "freq bin");
    canvas.text(xLabel, ox + cell / 2, oy + cell + 6 + GLYPH.height, {
      align: "center",
      color: COLORS.gray,
    });
    canvas.text(yLabel, ox - left + 2, oy + cell / 2, {
      vertical: true,
      align: "center",
      color: COLORS.gray,
    });
  });
  // Colour bar with its range.
  const bx = cols * cw + 8, by = captionH + top, bh = Math.min(cell, 160);
  const ramp = Float32Array.from({ length: 64 }, (_, i) => min + (max - min) * i / 63);
  canvas.heatmap(ramp, [64, 1], [bx, by, 12, bh], { min, max, flipY: true });
  canvas.strokeRect(bx - 1, by - 1, 14, bh + 2, COLORS.black);
  canvas.text(formatTick(max), bx + 16, by - 3);
  canvas.text(formatTick(min), bx + 16, by + bh - 4);
  canvas.text("level", bx + 16 + textWidth("0"), by + bh / 2 - 4, { color: COLORS.gray });
  return canvas;
}

/** Options for {@linkcode plotConversionGrid}. */
export interface ConversionGridOptions extends SpectrogramGridOptions {
  /**
   * Held-out samples shown (one row each).
   * @default {2}
   */
  samples?: number;
  /** Names of the samples (e.g. `speaker=m1`), for the titles. */
  sourceNames?: readonly string[];
  /** The samples' own input labels `[B, nIn]`; with them a reconstruction column is added. */
  sourceLabels?: tf.Tensor2D;
}

/**
 * The conversion picture: per sample one row with the input, the outputs for
 * every target, and the reconstruction G(G(x, c_t), c_source) through the
 * first target that is not the sample's own.
 *
 * @param generator the generator in inference mode
 * @param batch held-out spectrograms `x` `[B, H, W, 1]`, target input labels `[K, nIn]`
 *   and their names
 */
export function plotConversionGrid(
  generator: (x: tf.Tensor4D, c: tf.Tensor2D) => tf.Tensor4D,
  batch: { x: tf.Tensor4D; targets: tf.Tensor2D; targetNames: readonly string[] },
  options: ConversionGridOptions = {},
): Canvas {
  const { x } = batch;
  const targets = { labels: batch.targets, names: batch.targetNames };
  const n = Math.min(options.samples ?? 2, x.shape[0]);
  const k = targets.labels.shape[0];
  const [, h, w] = x.shape;
  const panels: SpectrogramPanel[] = [];
  const shape: [number, number] = [h, w];
  tf.tidy(() => {
    const xs = tf.slice(x, [0, 0, 0, 0], [n, -1, -1, -1]);
    const outs: Float32Array[] = [];
    for (let t = 0; t < k; t++) {
      const c = tf.tile(tf.slice(targets.labels, [t, 0], [1, -1]), [n, 1]) as tf.Tensor2D;
      outs.push(generator(xs, c).dataSync() as Float32Array);
    }
    const src = xs.dataSync() as Float32Array;
    const own = options.sourceLabels
      ? (tf.slice(options.sourceLabels, [0, 0], [n, -1]).arraySync() as number[][])
      : null;
    const tl = targets.labels.arraySync() as number[][];
    for (let i = 0; i < n; i++) {
      const cut = (a: Float32Array) => a.slice(i * h * w, (i + 1) * h * w);
      const name = options.sourceNames?.[i];
      panels.push({ title: name ? `input ${name}` : "input", values: cut(src), shape });
      for (let t = 0; t < k; t++) {
        panels.push({ title: `-> ${targets.names[t] ?? t}`, values: cut(outs[t]!), shape });
      }
      if (own) {
        const row = own[i]!;
        const via = tl.findIndex((l) => l.some((v, j) => v !== row[j]));
        const t = via < 0 ? 0 : via;
        const fake = tf.tensor4d(cut(outs[t]!), [1, h, w, 1]);
        const rec = generator(fake, tf.tensor2d([row], [1, row.length])).dataSync() as Float32Array;
        panels.push({ title: `recon via ${targets.names[t] ?? t}`, values: rec.slice(), shape });
      }
    }
  });
  return plotSpectrogramGrid(panels, {
    columns: k + 1 + (options.sourceLabels ? 1 : 0),
    ...options,
  });
}
