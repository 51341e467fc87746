/**
 * `deno task sweep <experiment.ts> --grid key=v1,v2 [--grid …] [--parallel N]
 * [--launcher local|slurm]`, and `deno task sweep --attach <dir>`.
 *
 * Runs the experiment once per grid point (a training process each, through
 * `lib/runs/train_main.ts`), on this machine or as a SLURM job array, into one
 * sweep directory and ends with the comparison table of all runs.
 *
 * @module
 */
import { parseGrid, runSweep, SweepError } from "../lib/runs/sweep.ts";
import {
  attachSlurmSweep,
  describeFailure,
  runSlurmSweep,
  SlurmError,
  type SlurmSweepResult,
} from "../lib/runs/slurm/mod.ts";
import { resolve } from "node:path";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";
import { SLURM_FLAGS, slurmLaunchOptions, slurmUsage, straySlurmFlag } from "./slurm_flags.ts";

const USAGE =
  `Usage: deno task sweep <experiment.ts> --grid key=v1,v2 [--grid key=v1,v2 …] [options]
       deno task sweep --attach <sweep dir>

Run the experiment for every combination of the grid values (as --set
overrides), one after another or N at a time, into one sweep directory, then
print and write the comparison table (compare.md) of all runs.

Options:
  --grid <key=v1,v2>  a dot path and its values; repeat for more axes (required)
  --parallel <n>      runs at the same time (local default: 1, output goes to <run>/train.log
                      when > 1; slurm: the array's %n limit, default none)
  --launcher <name>   local (default) or slurm: one sbatch job array, one task per point
  --out <dir>         the sweep directory (default: runs/sweeps/<experiment>-<timestamp>)
  --set <key=value>   an override for every run; repeatable
  --max-steps <n>     passed to every run
  --max-time <t>      passed to every run
  --data <path>       passed to every run
  --backend <name>    passed to every run
  --threads <n>       passed to every run
  --window <n>        average final loss terms over the last n iterations (default: 50)
  --help              show this help

${slurmUsage("its comparison")}

Re-running a SLURM sweep with the same --out submits only the points that are
missing, failed or unfinished (these continue with --resume). Ctrl-C while
watching asks whether to scancel the job or detach (without a terminal: detach).`;

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

/** Run the sweep task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "sweep",
    usage: USAGE,
    prefix: "sweep: ",
    options: {
      grid: { type: "string", multiple: true, default: [] as string[] },
      parallel: { type: "string" },
      out: { type: "string" },
      set: { type: "string", multiple: true, default: [] as string[] },
      "max-steps": { type: "string" },
      "max-time": { type: "string" },
      data: { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      window: { type: "string", default: "50" },
      ...SLURM_FLAGS,
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const known = [SweepError, SlurmError, RangeError];
  if (v.attach !== undefined) {
    if (parsed.positionals.length > 0) {
      return usageError(cli, "Cannot attach: --attach takes the sweep directory, no experiment");
    }
    return await runKnown(known, async () => {
      const result = await attachSlurmSweep(userPath(v.attach!), {
        window: intFlag("--window", v.window),
      });
      return reportSlurm(result);
    }, { prefix: cli.prefix });
  }
  if (parsed.positionals.length !== 1) {
    return usageError(
      cli,
      `Cannot sweep: expected one experiment file, got ${parsed.positionals.length}`,
    );
  }
  const experiment = userPath(parsed.positionals[0]!);
  const trainArgs = [
    ...v.set.flatMap((s) => ["--set", s]),
    ...(["max-steps", "max-time", "data", "backend", "threads"] as const).flatMap((k) =>
      v[k] === undefined
        ? []
        // Absolute: SLURM tasks run in the repository, not where the user is.
        : [`--${k}`, k === "data" && v[k] !== "demo" ? resolve(userPath(v[k]!)) : v[k]!]
    ),
  ];
  const name = experiment.split("/").pop()!.replace(/\.ts$/, "");
  return await runKnown(known, async () => {
    const window = intFlag("--window", v.window);
    const launcher = choiceFlag("--launcher", v.launcher, ["local", "slurm"] as const);
    const out = v.out !== undefined
      ? userPath(v.out)
      : userPath(`runs/sweeps/${name}-${stamp()}`, { base: "project" });
    if (launcher === "slurm") {
      const result = await runSlurmSweep(experiment, {
        grid: parseGrid(v.grid),
        out,
        trainArgs,
        window,
        ...(v.parallel === undefined ? {} : { parallel: intFlag("--parallel", v.parallel) }),
        ...slurmLaunchOptions(v),
      });
      return reportSlurm(result);
    }
    const stray = straySlurmFlag(v);
    if (stray !== null) {
      return usageError(cli, `Cannot sweep: --${stray} needs --launcher slurm`);
    }
    const result = await runSweep(experiment, {
      grid: parseGrid(v.grid),
      parallel: intFlag("--parallel", v.parallel ?? "1"),
      out,
      trainArgs,
      window,
    });
    console.log(`\n${result.markdown}`);
    console.log(`sweep: comparison written to ${result.comparePath}`);
    const failed = result.runs.filter((r) => r.code !== 0).length;
    if (failed > 0) console.error(`sweep: ${failed} of ${result.runs.length} runs failed`);
    return failed > 0 ? 1 : 0;
  }, { prefix: cli.prefix });
}

/** Print how a SLURM sweep ended; returns the exit code. */
function reportSlurm(result: SlurmSweepResult): number {
  const { launch } = result;
  if (launch.outcome === "dry-run") return 0;
  const dir = launch.points[0]?.point.out.replace(/\/[^/]*$/, "") ?? "";
  if (launch.outcome === "detached" || launch.outcome === "submitted") {
    console.log(
      `sweep: job ${launch.jobId} keeps running; watch it with: deno task sweep --attach ${dir}`,
    );
    return 0;
  }
  if (result.markdown !== null) {
    console.log(`\n${result.markdown}`);
    console.log(`sweep: comparison written to ${result.comparePath}`);
  }
  const notDone = launch.points.filter((p) => p.status.state !== "done");
  for (const p of notDone) {
    console.error(`sweep: ${p.point.name}: ${describeFailure(p.status, p.scheduler)}`);
  }
  if (notDone.length > 0) {
    console.error(
      `sweep: ${notDone.length} of ${launch.points.length} runs not done; ` +
        `re-run the sweep with --out ${dir} to submit only those`,
    );
  }
  return notDone.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
