/**
 * The records of the diagnostics: the files they go to in a run directory,
 * reading `diagnostics.jsonl`, the one-line summary and the collapse warning
 * they carry.
 *
 * @module
 */

import { readJsonl } from "../../jsonl.ts";
import type { DiagnosticsRecord } from "./evaluate.ts";

/** File names the monitor writes in a run directory. */
export const DIAGNOSTICS_FILES = {
  records: "diagnostics.jsonl",
  pictures: "diagnostics",
  curves: "curves.png",
  first: "conversions_first.png",
  last: "conversions_last.png",
} as const;

/** A diagnostic value with 3 decimals (or 3 significant digits when tiny). */
export function formatFigure(v: number): string {
  return Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(2);
}

/**
 * One line for the progress output, e.g.
 * `diagnostics @200: label sensitivity 0.004, identity distance 0.002, acc classifier 0.25, MCD 9.1 dB (source 9.2)`.
 */
export function formatDiagnostics(r: DiagnosticsRecord): string {
  const parts = [
    `label sensitivity ${formatFigure(r.labelSensitivity)}`,
    `identity distance ${formatFigure(r.identityDistance)}`,
  ];
  for (const [name, acc] of Object.entries(r.accuracy)) {
    parts.push(`acc ${name} ${formatFigure(acc)}`);
  }
  if (r.mcd) {
    parts.push(`MCD ${r.mcd.converted.toFixed(2)} dB (source ${r.mcd.source.toFixed(2)})`);
  }
  return `diagnostics @${r.iteration}: ${parts.join(", ")}`;
}

/** Read a `diagnostics.jsonl`; a missing file gives an empty list (see {@linkcode readJsonl}). */
export async function readDiagnostics(path: string): Promise<DiagnosticsRecord[]> {
  return await readJsonl<DiagnosticsRecord>(path, "diagnostics", { missingIsEmpty: true });
}

/** The collapse warning recorded in a list of records (the latest one), or null. */
export function collapseWarning(records: readonly DiagnosticsRecord[]): string | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const w = records[i]!.warning;
    if (w) return w;
  }
  return null;
}
