/**
 * Runs as they are now: a run whose `run.json` says `running` but whose
 * process is gone is `dead`; `runs/<experiment>` means the latest run that
 * has a checkpoint; and the run directories under a root, listed with their
 * status, iteration, checkpoint and last diagnostics (`deno task runs`).
 *
 * @module
 */
import { join } from "node:path";
import {
  DIAGNOSTICS_FILES,
  formatDiagnostics,
  readDiagnostics,
} from "../eval/diagnostics/records.ts";
import { liveStatus } from "./live_status.ts";
import type { LiveStatus, RunInfo } from "./report.ts";
import { readRunInfo, RUN_FILES } from "./run_dir.ts";

export { liveStatus } from "./live_status.ts";
export type { LiveStatus } from "./report.ts";

/** What {@linkcode chooseRun} found. */
export interface ChosenRun {
  /** The run directory. */
  dir: string;
  /**
   * How it was chosen from an experiment directory, e.g. `latest run with a
   * checkpoint: 20261201-101939 (2 newer without one: 20261201-111500, …)`,
   * or `null` when `path` was the run itself.
   */
  note: string | null;
}

/** Options for {@linkcode chooseRun}. */
export interface ChooseRunOptions {
  /**
   * Choose only runs with a checkpoint.
   * @default {true}
   */
  needCheckpoint?: boolean;
}

const isFile = async (path: string) => {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
};

/**
 * The run that `path` means: a run directory (one with `config.yaml`)
 * itself, or for an experiment directory (`runs/<experiment>`) its latest
 * run (by timestamp folder name) that has a checkpoint.
 *
 * @throws {Error} a one-line message naming `path` when neither applies.
 */
export async function chooseRun(path: string, options: ChooseRunOptions = {}): Promise<ChosenRun> {
  const clean = path.replace(/\/+$/, "") || "/";
  if (await isFile(join(clean, RUN_FILES.config))) return { dir: clean, note: null };
  const children: string[] = [];
  try {
    for await (const e of Deno.readDir(clean)) if (e.isDirectory) children.push(e.name);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such directory" : String(e);
    throw new Error(`Cannot read run '${path}': ${why}`);
  }
  const runs: string[] = [];
  for (const name of children.sort().reverse()) {
    if (await isFile(join(clean, name, RUN_FILES.config))) runs.push(name);
  }
  if (runs.length === 0) {
    throw new Error(
      `Cannot read run '${path}': no config.yaml in it or in any folder below it (is it a run directory?)`,
    );
  }
  if (options.needCheckpoint === false) {
    return { dir: join(clean, runs[0]!), note: `latest run: ${runs[0]}` };
  }
  const skipped: string[] = [];
  for (const name of runs) {
    if (await isFile(join(clean, name, RUN_FILES.checkpoint))) {
      const without = skipped.length === 0
        ? ""
        : ` (${skipped.length} newer without one: ${skipped.slice(0, 3).join(", ")}${
          skipped.length > 3 ? ", …" : ""
        })`;
      return { dir: join(clean, name), note: `latest run with a checkpoint: ${name}${without}` };
    }
    skipped.push(name);
  }
  throw new Error(
    `Cannot read run '${path}': none of its ${runs.length} run(s) has a checkpoint yet ` +
      `(latest: ${
        runs[0]
      }; a run writes one at its end, on Ctrl-C and every trainer.checkpointMinutes)`,
  );
}

/** One run, as `deno task runs` lists it. */
export interface RunEntry {
  /** The run directory. */
  dir: string;
  /** Experiment id. */
  experiment: string;
  /** The timestamp folder name. */
  name: string;
  /** Status now ({@linkcode liveStatus}); `unreadable` when `run.json` cannot be read. */
  status: LiveStatus | "unreadable";
  /** Iterations done (the last metrics record's, when it is ahead of `run.json`). */
  iteration: number;
  /** Iterations of the full run. */
  totalIterations: number;
  /** Whether `checkpoint.vxck` exists. */
  checkpoint: boolean;
  /** The last diagnostics line, or `""`. */
  diagnostics: string;
}

/** The last complete JSON line of a JSONL file, or `null`. */
async function lastJsonLine(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return null;
  }
  const lines = text.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 2; i--) {
    try {
      return JSON.parse(lines[i]!);
    } catch { /* a line cut short by a crash */ }
  }
  return null;
}

/**
 * Every run directory under `root` (`<root>/<experiment>/<timestamp>`),
 * oldest first within each experiment, experiments by name.
 */
export async function listRuns(root: string): Promise<RunEntry[]> {
  const out: RunEntry[] = [];
  const dirs = async (d: string) => {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(d)) if (e.isDirectory) names.push(e.name);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return names.sort();
  };
  for (const experiment of await dirs(root)) {
    for (const name of await dirs(join(root, experiment))) {
      const dir = join(root, experiment, name);
      if (!(await isFile(join(dir, RUN_FILES.config)))) continue;
      let info: RunInfo | null = null;
      try {
        info = await readRunInfo(dir);
      } catch { /* listed as unreadable */ }
      const last = await lastJsonLine(join(dir, RUN_FILES.metrics));
      const metricsIteration = typeof last?.iteration === "number" ? last.iteration : 0;
      const records = await readDiagnostics(join(dir, DIAGNOSTICS_FILES.records)).catch(() => []);
      const lastRecord = records.at(-1);
      out.push({
        dir,
        experiment: info?.experiment ?? experiment,
        name,
        status: info ? liveStatus(info) : "unreadable",
        iteration: Math.max(info?.iteration ?? 0, metricsIteration),
        totalIterations: info?.totalIterations ?? 0,
        checkpoint: await isFile(join(dir, RUN_FILES.checkpoint)),
        diagnostics: lastRecord ? formatDiagnostics(lastRecord).replace(/^diagnostics /, "") : "",
      });
    }
  }
  return out;
}

/**
 * The runs as a Markdown table: run, experiment, status, iteration,
 * checkpoint, last diagnostics.
 *
 * @example
 * ```ts
 * import { formatRunTable } from "./run_status.ts";
 * const table = formatRunTable([{
 *   dir: "runs/9ada9179/20261201-101939", experiment: "9ada9179", name: "20261201-101939",
 *   status: "dead", iteration: 3, totalIterations: 13000, checkpoint: false, diagnostics: "",
 * }]);
 * console.assert(/^\| 9ada9179\/20261201-101939 \| 9ada9179 +\| dead +\| 3\/13000 +\| no /m.test(table));
 * ```
 */
export function formatRunTable(runs: readonly RunEntry[]): string {
  const rows = runs.map((r) => [
    `${r.dir.split("/").slice(-2).join("/")}`,
    r.experiment,
    r.status,
    `${r.iteration}/${r.totalIterations}`,
    r.checkpoint ? "yes" : "no",
    r.diagnostics || "–",
  ]);
  const head = ["run", "experiment", "status", "iteration", "checkpoint", "last diagnostics"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]!].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + " ".repeat(widths[i]! - [...c].length)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
