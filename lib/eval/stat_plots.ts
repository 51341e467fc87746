/**
 * Plots for statistics over seeds: several curves on one set of axes (e.g.
 * each seed's label sensitivity for a base and its ablation) and a forest
 * plot (each diagnostic's paired difference with its interval).
 *
 * @module
 */

import { formatTick, niceTicks } from "./plots.ts";
import { Canvas, COLORS, GLYPH, type Rgb } from "./png.ts";

/** One curve of {@linkcode plotSeries}. */
export interface Series {
  /** X values (e.g. iterations). */
  x: readonly number[];
  /** Y values; non-finite ones are skipped. */
  y: readonly number[];
  /** Line colour. */
  color: Rgb;
}

/** Options of {@linkcode plotSeries}. */
export interface SeriesPlotOptions {
  /** Title above the axes. */
  title: string;
  /** Legend entries: a label per colour. */
  legend?: readonly { label: string; color: Rgb }[];
  /** A dashed horizontal reference line (e.g. the collapse threshold). */
  reference?: number;
  /**
   * Size in pixels.
   * @default {[560, 300]}
   */
  size?: readonly [number, number];
  /**
   * X axis label.
   * @default {"iteration"}
   */
  xLabel?: string;
}

const M = { left: 58, right: 12, top: 22, bottom: 34 } as const;

/**
 * Several curves on one set of axes.
 *
 * @example
 * ```ts
 * import { plotSeries } from "./stat_plots.ts";
 * import { COLORS } from "./png.ts";
 * const c = plotSeries([{ x: [1, 2], y: [0.5, 0.7], color: COLORS.blue }], { title: "t" });
 * console.assert(c.width === 560);
 * ```
 */
export function plotSeries(series: readonly Series[], options: SeriesPlotOptions): Canvas {
  const [pw, ph] = options.size ?? [560, 300];
  const canvas = new Canvas(pw, ph);
  const x0 = M.left, y0 = M.top, w = pw - M.left - M.right, h = ph - M.top - M.bottom;
  canvas.text(options.title, x0 + w / 2, 6, { align: "center" });
  canvas.strokeRect(x0, y0, w, h, COLORS.black);
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (const s of series) {
    s.x.forEach((x, i) => {
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      xmin = Math.min(xmin, x), xmax = Math.max(xmax, x);
      ymin = Math.min(ymin, y), ymax = Math.max(ymax, y);
    });
  }
  if (!Number.isFinite(xmin)) {
    canvas.text("no data", x0 + w / 2, y0 + h / 2 - 4, { align: "center", color: COLORS.gray });
    return canvas;
  }
  if (options.reference !== undefined) {
    ymin = Math.min(ymin, options.reference), ymax = Math.max(ymax, options.reference);
  }
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) ymin -= 1, ymax += 1;
  const pad = (ymax - ymin) * 0.05;
  ymin -= pad, ymax += pad;
  const px = (v: number) => x0 + (v - xmin) / (xmax - xmin) * (w - 1);
  const py = (v: number) => y0 + h - 1 - (v - ymin) / (ymax - ymin) * (h - 1);
  axes(canvas, { x0, y0, w, h }, { xmin, xmax, ymin, ymax }, px, py);
  canvas.text(options.xLabel ?? "iteration", x0 + w / 2, y0 + h + 8 + GLYPH.height, {
    align: "center",
    color: COLORS.gray,
  });
  if (options.reference !== undefined) {
    const y = Math.round(py(options.reference));
    for (let x = x0 + 1; x < x0 + w - 1; x += 6) canvas.line(x, y, x + 2, y, COLORS.red);
  }
  for (const s of series) {
    let prev: [number, number] | null = null;
    s.x.forEach((x, i) => {
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      const p: [number, number] = [px(x), py(y)];
      if (prev) canvas.line(prev[0], prev[1], p[0], p[1], s.color);
      else canvas.setPixel(p[0], p[1], s.color);
      prev = p;
    });
  }
  (options.legend ?? []).forEach((l, i) => {
    const ly = y0 + 6 + i * (GLYPH.height + 4);
    canvas.fillRect(x0 + w - 110, ly + 2, 12, 4, l.color);
    canvas.text(l.label, x0 + w - 94, ly);
  });
  return canvas;
}

function axes(
  canvas: Canvas,
  box: { x0: number; y0: number; w: number; h: number },
  range: { xmin: number; xmax: number; ymin: number; ymax: number },
  px: (v: number) => number,
  py: (v: number) => number,
  showX = true,
): void {
  const { x0, y0, w, h } = box;
  for (const t of niceTicks(range.ymin, range.ymax, Math.max(2, Math.floor(h / 40)))) {
    const y = Math.round(py(t));
    if (y <= y0 || y >= y0 + h - 1) continue;
    canvas.line(x0 + 1, y, x0 + w - 2, y, COLORS.lightGray);
    canvas.text(formatTick(t), x0 - 5, y - 3, { align: "right" });
  }
  if (!showX) return;
  for (const t of niceTicks(range.xmin, range.xmax, Math.max(2, Math.floor(w / 70)))) {
    const x = Math.round(px(t));
    if (x < x0 || x > x0 + w - 1) continue;
    canvas.line(x, y0 + h, x, y0 + h + 3, COLORS.black);
    canvas.text(formatTick(t), x, y0 + h + 6, { align: "center" });
  }
}

/** One row of a forest plot: an estimate and its interval. */
export interface ForestRow {
  /** Row label, e.g. the diagnostic's name. */
  label: string;
  /** The point estimate (e.g. the mean paired difference). */
  estimate: number;
  /** Lower bound of the interval. */
  low: number;
  /** Upper bound of the interval. */
  high: number;
}

/**
 * A forest plot: one row per estimate with its interval, each row on its own
 * scale (diagnostics have different units), with the zero line where it falls
 * inside the row's range.
 *
 * @example
 * ```ts
 * import { plotForest } from "./stat_plots.ts";
 * const c = plotForest([{ label: "a", estimate: 1, low: 0.5, high: 1.5 }], { title: "diff" });
 * console.assert(c.height > 0);
 * ```
 */
export function plotForest(
  rows: readonly ForestRow[],
  options: { title: string; width?: number },
): Canvas {
  const width = options.width ?? 560, rowH = 26, labelW = 200;
  const canvas = new Canvas(width, 30 + rows.length * rowH + 10);
  canvas.text(options.title, width / 2, 6, { align: "center" });
  rows.forEach((r, i) => {
    const y = 30 + i * rowH + rowH / 2;
    canvas.text(r.label, 6, y - 4);
    const x0 = labelW, w = width - labelW - 80;
    const vals = [r.low, r.high, r.estimate, 0].filter(Number.isFinite);
    if (!Number.isFinite(r.estimate) || vals.length < 2) {
      canvas.text("n/a", x0 + w / 2, y - 4, { align: "center", color: COLORS.gray });
      return;
    }
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (hi === lo) lo -= 1, hi += 1;
    const pad = (hi - lo) * 0.08;
    lo -= pad, hi += pad;
    const px = (v: number) => Math.round(x0 + (v - lo) / (hi - lo) * (w - 1));
    canvas.line(x0, y + 8, x0 + w - 1, y + 8, COLORS.lightGray);
    const z = px(0);
    for (let yy = y - 9; yy < y + 9; yy += 3) canvas.line(z, yy, z, yy + 1, COLORS.gray);
    const color = r.low > 0 || r.high < 0 ? COLORS.red : COLORS.blue;
    if (Number.isFinite(r.low) && Number.isFinite(r.high)) {
      canvas.line(px(r.low), y, px(r.high), y, color);
      canvas.line(px(r.low), y - 3, px(r.low), y + 3, color);
      canvas.line(px(r.high), y - 3, px(r.high), y + 3, color);
    }
    canvas.fillRect(px(r.estimate) - 2, y - 2, 5, 5, color);
    canvas.text(formatTick(r.estimate), x0 + w + 6, y - 4);
  });
  return canvas;
}

/** Stack canvases vertically into one. */
export function stackCanvases(parts: readonly Canvas[]): Canvas {
  const width = Math.max(...parts.map((p) => p.width));
  const out = new Canvas(width, parts.reduce((s, p) => s + p.height, 0));
  let y = 0;
  for (const p of parts) {
    for (let yy = 0; yy < p.height; yy++) {
      for (let x = 0; x < p.width; x++) out.setPixel(x, y + yy, p.getPixel(x, yy));
    }
    y += p.height;
  }
  return out;
}
