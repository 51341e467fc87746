/**
 * Progress of training runs that other processes write: one line per run,
 * read from its directory (iterations done of the total, the latest
 * diagnostics), printed every few minutes while an ablation or a sweep waits
 * on runs whose output goes to their `train.log`.
 *
 * @module
 */
import { join } from "node:path";
import {
  DIAGNOSTICS_FILES,
  formatDiagnostics,
  readDiagnostics,
} from "../eval/diagnostics/records.ts";
import { findRunDir } from "./point.ts";
import { readRunInfo } from "./run_dir.ts";
import { lastIteration } from "./slurm/state.ts";

/** How often a waiting ablation or sweep reports each running run, by default. */
export const DEFAULT_PROGRESS_SECONDS = 300;

/**
 * One line on the run under `out` (a run directory, or a folder holding one),
 * e.g. `iteration 4,500/9,000; diagnostics @4500: label sensitivity 0.574, …`,
 * or null while there is no run directory yet.
 */
export async function progressLine(out: string): Promise<string | null> {
  const runDir = await findRunDir(out);
  if (!runDir) return null;
  const done = await lastIteration(runDir);
  let total: number | null = null;
  try {
    total = (await readRunInfo(runDir)).totalIterations;
  } catch { /* run.json not written yet, or being replaced: no total */ }
  let latest = "";
  try {
    const records = await readDiagnostics(join(runDir, DIAGNOSTICS_FILES.records));
    if (records.length > 0) latest = `; ${formatDiagnostics(records.at(-1)!)}`;
  } catch { /* a record being written: report it next time */ }
  const n = (x: number) => x.toLocaleString("en-US");
  return `iteration ${n(done)}${total ? `/${n(total)}` : ""}${latest}`;
}

/** Options of {@linkcode watchProgress}. */
export interface WatchProgressOptions {
  /** Milliseconds between lines. */
  everyMs: number;
  /** Where each line goes. */
  log: (line: string) => void;
}

/**
 * Log {@linkcode progressLine} of the run under `out` every `everyMs` until
 * `stop()` is called (nothing while there is no run directory yet).
 */
export function watchProgress(out: string, options: WatchProgressOptions): { stop(): void } {
  let busy = false, stopped = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const line = await progressLine(out);
      if (line !== null && !stopped) options.log(line);
    } finally {
      busy = false;
    }
  }, options.everyMs);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * Run `body` (which waits on the run under `out`) while logging that run's
 * {@linkcode progressLine} every `seconds`; 0 or less: just run it.
 */
export async function withProgress<T>(
  out: string,
  options: { seconds: number; log: (line: string) => void },
  body: () => Promise<T>,
): Promise<T> {
  if (options.seconds <= 0) return await body();
  const watch = watchProgress(out, { everyMs: options.seconds * 1000, log: options.log });
  try {
    return await body();
  } finally {
    watch.stop();
  }
}
