/**
 * The diagnostics shown: the run report's Markdown section (the collapse
 * warning, a table of the evaluations, the pictures) and the plot of the
 * diagnostics over iterations.
 *
 * @module
 */

import type { Canvas } from "../png.ts";
import { type LinePanel, plotLinePanels } from "../plots.ts";
import { DEFAULT_COLLAPSE_THRESHOLD } from "./measures.ts";
import type { DiagnosticsRecord } from "./evaluate.ts";
import { collapseWarning, DIAGNOSTICS_FILES, formatFigure, readDiagnostics } from "./records.ts";

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
  const hasReal = records.some((r) => r.realAccuracy);
  const hasFloor = records.some((r) => r.mcd?.reconstruction !== undefined);
  for (const n of names) {
    header.push(`accuracy (${n})`);
    if (hasReal) header.push(`real (${n})`);
  }
  if (hasMcd) header.push("MCD converted [dB]", "MCD source [dB]");
  if (hasFloor) header.push("MCD reconstruction [dB]");
  lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---:").join("|")}|`);
  const pick = records.length <= 12 ? records : Array.from(
    { length: 12 },
    (_, i) => records[Math.round(i * (records.length - 1) / 11)]!,
  );
  for (const r of pick) {
    const row = [
      String(r.iteration),
      formatFigure(r.labelSensitivity) + (r.collapsed ? " ⚠" : ""),
      formatFigure(r.identityDistance),
    ];
    for (const n of names) {
      row.push(r.accuracy[n] === undefined ? "–" : formatFigure(r.accuracy[n]!));
      const real = r.realAccuracy?.[n];
      if (hasReal) row.push(real === undefined ? "–" : formatFigure(real));
    }
    if (hasMcd) row.push(r.mcd?.converted.toFixed(2) ?? "–", r.mcd?.source.toFixed(2) ?? "–");
    if (hasFloor) row.push(r.mcd?.reconstruction?.toFixed(2) ?? "–");
    lines.push(`| ${row.join(" | ")} |`);
  }
  lines.push("");
  lines.push(
    "Label sensitivity is mean |G(x,c₁)−G(x,c₂)| over pairs of targets divided by the held-out " +
      "batch's spread (mean |x_i−x_j|); identity distance is mean |G(x,c)−x|; accuracy is the " +
      "fraction of converted outputs classified as their target (same-speaker targets left out " +
      "when measured on the accuracy set), with each classifier's accuracy on the real held-out " +
      "speech beside it; MCD compares each converted utterance with the target speaker's own " +
      "rendition (DTW), next to the unconverted source and to the reconstruction G(x, c_x) vs x, " +
      "the floor at this model size.",
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
  const threshold = options.threshold ?? DEFAULT_COLLAPSE_THRESHOLD;
  const panels: LinePanel[] = [
    {
      title: "label sensitivity",
      x,
      y: records.map((r) => r.labelSensitivity),
      reference: threshold,
      referenceLabel: `collapse threshold ${threshold}`,
      yLabel: "sensitivity / spread",
    },
    {
      title: "identity distance",
      x,
      y: records.map((r) => r.identityDistance),
      yLabel: "mean |G(x,c) - x|",
    },
  ];
  for (const name of new Set(records.flatMap((r) => Object.keys(r.accuracy)))) {
    panels.push({
      title: `accuracy (${name})`,
      x,
      y: records.map((r) => r.accuracy[name] ?? NaN),
      yLabel: "fraction correct",
      yRange: [0, 1],
    });
  }
  if (records.some((r) => r.mcd)) {
    panels.push({
      title: "MCD to the target speaker",
      x,
      y: records.map((r) => r.mcd?.converted ?? NaN),
      label: "converted",
      second: { label: "source", y: records.map((r) => r.mcd?.source ?? NaN) },
      yLabel: "MCD [dB]",
    });
  }
  return plotLinePanels(panels, { smooth: 1 });
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
      [DIAGNOSTICS_FILES.first, `at the first evaluation (iteration ${records[0]?.iteration})`],
      [DIAGNOSTICS_FILES.last, `at the last evaluation (iteration ${records.at(-1)?.iteration})`],
    ] as const
  ) {
    if (await exists(`${pics}/${file}`)) {
      text += `\nConversions ${caption}: input, output for each target, reconstruction.\n\n` +
        `![conversions ${caption}](${DIAGNOSTICS_FILES.pictures}/${file})\n`;
    }
  }
  return text;
}
