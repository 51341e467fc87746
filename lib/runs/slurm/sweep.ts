/**
 * A sweep on SLURM: the grid's points as one job array (see
 * {@linkcode runOnSlurm}), then the same comparison table and `sweep.json`
 * as a local sweep. `attachSlurmSweep` watches a sweep's job again and ends
 * the same way.
 *
 * Re-running a sweep into the same directory submits only the points that
 * are missing, failed or unfinished; the directory's `sweep.json` must
 * describe the same sweep (experiment, grid and shared arguments).
 *
 * @module
 */
import { resolve } from "node:path";
import {
  expandGrid,
  type GridAxis,
  SweepError,
  type SweepOptions,
  type SweepRun,
  validatePoints,
  writeSweepRecord,
} from "../sweep.ts";
import { attachSlurm, type LaunchOptions, type LaunchResult, runOnSlurm } from "./launch.ts";
import { sbatchOptionLines } from "./options.ts";
import type { SlurmPoint } from "./script.ts";

/** Options for {@linkcode runSlurmSweep}. */
export interface SlurmSweepOptions
  extends
    Pick<SweepOptions, "grid" | "out" | "trainArgs" | "window">,
    Omit<LaunchOptions, "dir" | "environment"> {
  /**
   * The training entry point each task runs.
   * @default {lib/runs/train_main.ts of this repository}
   */
  trainScript?: string;
}

/** What {@linkcode runSlurmSweep} and {@linkcode attachSlurmSweep} return. */
export interface SlurmSweepResult {
  /** What the launcher did, and every point's state. */
  launch: LaunchResult;
  /** Every point as a sweep run (code 0 when done), in grid order. */
  runs: SweepRun[];
  /** The comparison, or null when the job still runs (detached, dry run). */
  markdown: string | null;
  /** Where the comparison was written, or null. */
  comparePath: string | null;
}

/** What a sweep directory's `sweep.json` holds about the sweep itself. */
interface SweepIdentity {
  experiment: string;
  grid: GridAxis[];
  trainArgs: string[];
}

async function readIdentity(dir: string): Promise<SweepIdentity | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/sweep.json`);
  } catch {
    return null;
  }
  try {
    const j = JSON.parse(text) as SweepIdentity;
    if (typeof j.experiment !== "string" || !Array.isArray(j.grid)) throw new Error("incomplete");
    return { experiment: j.experiment, grid: j.grid, trainArgs: j.trainArgs ?? [] };
  } catch (e) {
    throw new SweepError(`Cannot read '${dir}/sweep.json': ${(e as Error).message}`);
  }
}

/** The launcher's points for a sweep: array index = grid index. */
function sweepPoints(id: SweepIdentity, out: string): SlurmPoint[] {
  return expandGrid(id.grid).map((point, index) => ({
    index,
    name: point.name,
    out: `${out}/${point.name}`,
    args: [
      id.experiment,
      ...Object.entries(point.overrides).flatMap(([k, v]) => ["--set", `${k}=${v}`]),
      ...id.trainArgs,
    ],
  }));
}

async function finish(
  id: SweepIdentity,
  out: string,
  launch: LaunchResult,
  window: number | undefined,
): Promise<SlurmSweepResult> {
  const grid = expandGrid(id.grid);
  const runs: SweepRun[] = launch.points.map((p) => ({
    point: grid[p.point.index]!,
    out: p.point.out,
    runDir: p.status.runDir,
    code: p.status.state === "done" ? 0 : p.status.exitCode || 1,
    seconds: p.status.info?.elapsedSeconds ?? 0,
  }));
  if (!["finished", "cancelled", "nothing-to-do"].includes(launch.outcome)) {
    return { launch, runs, markdown: null, comparePath: null };
  }
  const { markdown, comparePath } = await writeSweepRecord(
    id.experiment,
    {
      grid: id.grid,
      out,
      trainArgs: id.trainArgs,
      launcher: "slurm",
      ...(window ? { window } : {}),
    },
    runs,
  );
  return { launch, runs, markdown, comparePath };
}

/**
 * Run every grid point of an experiment as one SLURM job array, watch it and
 * compare the runs (`<out>/compare.md`, `<out>/sweep.json`).
 *
 * @throws {SweepError} for an empty grid, a missing experiment, or a directory holding another sweep.
 * @throws {SlurmError} for bad SLURM options, SLURM not answering, or sbatch refusing.
 */
export async function runSlurmSweep(
  experiment: string,
  options: SlurmSweepOptions,
): Promise<SlurmSweepResult> {
  if (options.grid.length === 0) throw new SweepError("Cannot run sweep: no --grid given");
  try {
    await Deno.stat(experiment);
  } catch {
    throw new SweepError(`Cannot run sweep: experiment file '${experiment}' not found`);
  }
  // Bad sbatch options, then a bad grid key, fail here in one line, not in every array task.
  sbatchOptionLines(options);
  if (options.trainScript === undefined) {
    await validatePoints(experiment, expandGrid(options.grid), options.trainArgs ?? []);
  }
  const out = resolve(options.out);
  const id: SweepIdentity = {
    experiment: resolve(experiment),
    grid: [...options.grid],
    trainArgs: [...(options.trainArgs ?? [])],
  };
  const before = await readIdentity(out);
  if (before && JSON.stringify(before) !== JSON.stringify(id)) {
    throw new SweepError(
      `Cannot run sweep into '${out}': it holds another sweep (its sweep.json names a different ` +
        "experiment, grid or arguments); choose another --out",
    );
  }
  const log = options.log ?? ((l: string) => console.log(l));
  const points = sweepPoints(id, out);
  log(`sweep: ${points.length} runs of ${experiment} on SLURM, into ${out}`);
  if (!options.dryRun) {
    await Deno.mkdir(out, { recursive: true });
    // Written before submitting, so that --attach and a re-run know the sweep.
    if (!before) {
      await Deno.writeTextFile(
        `${out}/sweep.json`,
        JSON.stringify({ ...id, launcher: "slurm", runs: [] }, null, 2) + "\n",
      );
    }
  }
  const launch = await runOnSlurm(points, {
    ...options,
    dir: out,
    ...(options.trainScript ? { environment: { trainScript: resolve(options.trainScript) } } : {}),
  });
  return await finish(id, out, launch, options.window);
}

/**
 * Watch the SLURM job of the sweep in `dir` again and end with its comparison.
 *
 * @throws {SweepError} when `dir` holds no sweep.
 */
export async function attachSlurmSweep(
  dir: string,
  options: Omit<SlurmSweepOptions, "grid" | "out" | "trainArgs"> = {},
): Promise<SlurmSweepResult> {
  const out = resolve(dir);
  const id = await readIdentity(out);
  if (!id) throw new SweepError(`Cannot attach: '${out}' holds no sweep.json`);
  const launch = await attachSlurm(sweepPoints(id, out), { ...options, dir: out });
  return await finish(id, out, launch, options.window);
}
