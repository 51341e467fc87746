/**
 * Sweeps: run an experiment over a grid of `--set` overrides, one run after
 * another or N at a time, into one sweep directory, and end with the
 * comparison table of all runs.
 *
 * Each run is a separate training process (`lib/runs/train_main.ts
 * <experiment> --set key=value … --out <sweep dir>/<run name>`, the flags of
 * `deno task train`), so runs cannot disturb each other's tfjs state and a
 * crash stops only its own run.
 *
 * @module
 */

import { CompareError, compareRunDirs, type CompareRunDirsOptions } from "./compare.ts";
import { loadExperiment } from "../experiment/load.ts";
import { applyOverrides } from "../experiment/overrides.ts";
import { DEFAULT_PROGRESS_SECONDS, withProgress } from "./heartbeat.ts";
import { findRunDir, localRunner, runPool } from "./point.ts";

export { findRunDir };

/** A sweep could not be set up; the message is one line meant for the user. */
export class SweepError extends Error {
  /** The error class name. */
  override name = "SweepError";
}

/** One axis of the grid: a dot path and its values (as `--set` text). */
export interface GridAxis {
  /** Dot path, e.g. `trainer.batchSize`. */
  key: string;
  /** Values, e.g. `["1", "2"]`. */
  values: string[];
}

/**
 * Parse `key=v1,v2` grid arguments.
 *
 * @throws {SweepError} for a missing `=`, an empty value list or a key given twice.
 * @example
 * ```ts
 * import { parseGrid } from "./sweep.ts";
 * const g = parseGrid(["trainer.batchSize=1,2", "losses.generator.identity.weight=0,5"]);
 * console.assert(g[1]!.values.join() === "0,5");
 * ```
 */
export function parseGrid(args: readonly string[]): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const arg of args) {
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(0, eq).trim() : "";
    const values = eq > 0 ? arg.slice(eq + 1).split(",").map((v) => v.trim()) : [];
    if (!key || values.length === 0 || values.some((v) => v === "")) {
      throw new SweepError(`Cannot parse grid '${arg}': expected key=value1,value2,…`);
    }
    if (axes.some((a) => a.key === key)) {
      throw new SweepError(`Cannot parse grid: key '${key}' is given twice`);
    }
    axes.push({ key, values });
  }
  return axes;
}

/** One point of the grid: its overrides and a directory-safe name. */
export interface GridPoint {
  /** `key → value` overrides. */
  overrides: Record<string, string>;
  /** E.g. `03_batchSize=2_weight=0` (index, then the last path part of each key). */
  name: string;
}

/**
 * Every combination of the axes (the last axis varies fastest).
 *
 * @example
 * ```ts
 * import { expandGrid, parseGrid } from "./sweep.ts";
 * const points = expandGrid(parseGrid(["a.x=1,2", "b.y=p,q"]));
 * console.assert(points.map((p) => p.name).join(" ") === "01_x=1_y=p 02_x=1_y=q 03_x=2_y=p 04_x=2_y=q");
 * ```
 */
export function expandGrid(axes: readonly GridAxis[]): GridPoint[] {
  let combos: Record<string, string>[] = [{}];
  for (const axis of axes) {
    combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.key]: v })));
  }
  const width = String(combos.length).length < 2 ? 2 : String(combos.length).length;
  return combos.map((overrides, i) => {
    const label = Object.entries(overrides)
      .map(([k, v]) => `${k.split(".").pop()}=${v}`.replace(/[^A-Za-z0-9=._-]+/g, "-"))
      .join("_");
    return {
      overrides,
      name: `${String(i + 1).padStart(width, "0")}${label ? "_" + label : ""}`,
    };
  });
}

/** Options for {@linkcode runSweep}. */
export interface SweepOptions extends Pick<CompareRunDirsOptions, "window"> {
  /** The grid axes (see {@linkcode parseGrid}). */
  grid: readonly GridAxis[];
  /** The sweep directory; runs go to `<out>/<point name>`. */
  out: string;
  /**
   * Runs at the same time.
   * @default {1}
   */
  parallel?: number;
  /**
   * Arguments passed to every run (e.g. `--max-steps 50`, `--set trainer.seed=3`).
   * @default {[]}
   */
  trainArgs?: readonly string[];
  /**
   * The training entry point run for each point.
   * @default {lib/runs/train_main.ts}
   */
  trainScript?: string;
  /**
   * Show each run's output live (only when `parallel` is 1); otherwise it goes to `<run>/train.log`.
   * @default {true}
   */
  live?: boolean;
  /**
   * Seconds between the progress lines of each running point (iteration and
   * latest diagnostics, from its directory); 0: none. Not with `live`.
   * @default {DEFAULT_PROGRESS_SECONDS (300)}
   */
  progressSeconds?: number;
  /**
   * Called with one-line status messages.
   * @default {console.log}
   */
  log?: (line: string) => void;
  /**
   * Before starting any run, load the experiment and apply every point's
   * `--set` values (and those of `trainArgs`), so that a bad grid key or
   * value is one error at once instead of a failure in every run.
   * @default {true unless a `trainScript` is given}
   */
  validate?: boolean;
}

/** The outcome of one run of a sweep. */
export interface SweepRun {
  /** The grid point. */
  point: GridPoint;
  /** The `--out` directory given to the run. */
  out: string;
  /** The run directory found under `out` (holding `config.yaml`), or null. */
  runDir: string | null;
  /** The training process's exit code. */
  code: number;
  /** Wall seconds. */
  seconds: number;
}

/** What {@linkcode runSweep} returns. */
export interface SweepResult {
  /** Every run, in grid order. */
  runs: SweepRun[];
  /** The comparison of the runs that produced a run directory. */
  markdown: string;
  /** Where the comparison was written. */
  comparePath: string;
}

/**
 * Load the experiment and apply each point's overrides after the shared
 * `--set` values of `trainArgs`; the first that fails is one error naming
 * the point. Both launchers call it before starting or submitting anything.
 *
 * @throws {SweepError} naming the experiment's problem or the first bad point.
 */
export async function validatePoints(
  experiment: string,
  points: readonly GridPoint[],
  trainArgs: readonly string[],
): Promise<void> {
  let exp;
  try {
    exp = await loadExperiment(experiment);
  } catch (e) {
    throw new SweepError(`Cannot run sweep: ${(e as Error).message}`);
  }
  const shared = trainArgs.flatMap((
    a,
    i,
  ) => (a === "--set" && trainArgs[i + 1] ? [trainArgs[i + 1]!] : []));
  for (const point of points) {
    const sets = Object.entries(point.overrides).map(([k, v]) => `${k}=${v}`);
    try {
      applyOverrides(exp, [...shared, ...sets]);
    } catch (e) {
      throw new SweepError(
        `Cannot run sweep: grid point ${point.name}: ${(e as Error).message}; no run was started`,
      );
    }
  }
}

/**
 * Run every grid point of an experiment, `parallel` at a time, then compare
 * the runs (`<out>/compare.md`) and record the sweep (`<out>/sweep.json`).
 *
 * @throws {SweepError} for an empty grid or a bad `parallel`.
 */
export async function runSweep(experiment: string, options: SweepOptions): Promise<SweepResult> {
  const points = expandGrid(options.grid);
  if (options.grid.length === 0) {
    throw new SweepError("Cannot run sweep: no --grid given");
  }
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new SweepError(
      `Cannot run sweep: --parallel must be a positive integer, got ${parallel}`,
    );
  }
  try {
    await Deno.stat(experiment);
  } catch {
    throw new SweepError(`Cannot run sweep: experiment file '${experiment}' not found`);
  }
  const log = options.log ?? ((l: string) => console.log(l));
  if (options.validate ?? options.trainScript === undefined) {
    await validatePoints(experiment, points, options.trainArgs ?? []);
  }
  // Each run computes on every core by default: N at a time on C cores gets
  // C/N threads each, unless --threads says otherwise. (2 at a time on 2
  // cores with 2 threads each was slower than one after the other.)
  const trainArgs = [...(options.trainArgs ?? [])];
  if (parallel > 1 && !trainArgs.includes("--threads")) {
    const threads = Math.max(1, Math.floor(navigator.hardwareConcurrency / parallel));
    trainArgs.push("--threads", String(threads));
    log(
      `sweep: ${parallel} runs at a time on ${navigator.hardwareConcurrency} cores: --threads ${threads} each`,
    );
  }
  const script = options.trainScript ?? new URL("./train_main.ts", import.meta.url).pathname;
  const live = (options.live ?? true) && parallel === 1;
  await Deno.mkdir(options.out, { recursive: true });
  log(`sweep: ${points.length} runs of ${experiment}, ${parallel} at a time, into ${options.out}`);

  const runner = localRunner({ trainScript: script });
  const runs: SweepRun[] = await runPool(points, parallel, async (point, i) => {
    const out = `${options.out}/${point.name}`;
    const args = [
      experiment,
      ...Object.entries(point.overrides).flatMap(([k, v]) => ["--set", `${k}=${v}`]),
      ...trainArgs,
      "--out",
      out,
    ];
    log(`sweep: [${i + 1}/${points.length}] ${point.name} started`);
    // A point starts afresh, and so does its log (the runner appends, for resumed runs).
    if (!live) {
      await Deno.mkdir(out, { recursive: true });
      await Deno.writeTextFile(`${out}/train.log`, "");
    }
    const every = live ? 0 : options.progressSeconds ?? DEFAULT_PROGRESS_SECONDS;
    const { code, seconds, runDir } = await withProgress(
      out,
      { seconds: every, log: (l) => log(`sweep: [${i + 1}/${points.length}] ${point.name}: ${l}`) },
      () => runner({ args, out, live }),
    );
    log(
      `sweep: [${i + 1}/${points.length}] ${point.name} ${
        code === 0 ? "done" : `FAILED (exit ${code}${live ? "" : `, see ${out}/train.log`})`
      } in ${seconds.toFixed(1)} s`,
    );
    return { point, out, runDir, code, seconds };
  });

  // The record names the arguments every run got, --threads included.
  const record = { ...options, trainArgs };
  const { markdown, comparePath } = await writeSweepRecord(experiment, record, runs);
  return { runs, markdown, comparePath };
}

/**
 * Write `<out>/sweep.json` (the experiment, grid, shared arguments and every
 * run) and the comparison of the runs that produced a run directory
 * (`<out>/compare.md`). Shared by the local and the SLURM launchers.
 */
export async function writeSweepRecord(
  experiment: string,
  options: Pick<SweepOptions, "grid" | "out" | "trainArgs" | "window"> & {
    launcher?: string;
  },
  runs: readonly SweepRun[],
): Promise<{ markdown: string; comparePath: string }> {
  await Deno.writeTextFile(
    `${options.out}/sweep.json`,
    JSON.stringify(
      {
        experiment,
        grid: options.grid,
        trainArgs: options.trainArgs ?? [],
        ...(options.launcher ? { launcher: options.launcher } : {}),
        runs: runs.map((r) => ({ ...r, point: r.point.name, overrides: r.point.overrides })),
      },
      null,
      2,
    ) + "\n",
  );
  const comparePath = `${options.out}/compare.md`;
  const dirs = runs.filter((r) => r.runDir).map((r) => r.runDir!);
  let markdown: string;
  if (dirs.length === 0) {
    markdown = "# Sweep\n\nNo run produced a run directory.\n";
    await Deno.writeTextFile(comparePath, markdown);
  } else {
    try {
      const names = runs.filter((r) => r.runDir).map((r) => r.point.name);
      markdown = (await compareRunDirs(dirs, { out: comparePath, names, ...pickWindow(options) }))
        .markdown;
    } catch (e) {
      if (!(e instanceof CompareError)) throw e;
      markdown = `# Sweep\n\n${e.message}\n`;
      await Deno.writeTextFile(comparePath, markdown);
    }
  }
  return { markdown, comparePath };
}

function pickWindow(options: { window?: number }): { window?: number } {
  return options.window === undefined ? {} : { window: options.window };
}
