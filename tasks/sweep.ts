/**
 * `deno task sweep <experiment.ts> --grid key=v1,v2 [--grid …] [--parallel N]`
 *
 * Runs the experiment once per grid point (through `tasks/train.ts`) into one
 * sweep directory and ends with the comparison table of all runs.
 *
 * @module
 */
import { parseGrid, runSweep, SweepError } from "../lib/runs/sweep.ts";
import { intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE =
  `Usage: deno task sweep <experiment.ts> --grid key=v1,v2 [--grid key=v1,v2 …] [options]

Run the experiment for every combination of the grid values (as --set
overrides), one after another or N at a time, into one sweep directory, then
print and write the comparison table (compare.md) of all runs.

Options:
  --grid <key=v1,v2>  a dot path and its values; repeat for more axes (required)
  --parallel <n>      runs at the same time (default: 1; output goes to <run>/train.log when > 1)
  --out <dir>         the sweep directory (default: runs/sweeps/<experiment>-<timestamp>)
  --set <key=value>   an override for every run; repeatable
  --max-steps <n>     passed to every run
  --max-time <t>      passed to every run
  --data <path>       passed to every run
  --backend <name>    passed to every run
  --threads <n>       passed to every run
  --window <n>        average final loss terms over the last n iterations (default: 50)
  --help              show this help`;

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
      parallel: { type: "string", default: "1" },
      out: { type: "string" },
      set: { type: "string", multiple: true, default: [] as string[] },
      "max-steps": { type: "string" },
      "max-time": { type: "string" },
      data: { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      window: { type: "string", default: "50" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
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
        : [`--${k}`, k === "data" && v[k] !== "demo" ? userPath(v[k]!) : v[k]!]
    ),
  ];
  const name = experiment.split("/").pop()!.replace(/\.ts$/, "");
  return await runKnown([SweepError, RangeError], async () => {
    const window = intFlag("--window", v.window);
    const parallel = intFlag("--parallel", v.parallel);
    const result = await runSweep(experiment, {
      grid: parseGrid(v.grid),
      parallel,
      out: v.out !== undefined
        ? userPath(v.out)
        : userPath(`runs/sweeps/${name}-${stamp()}`, { base: "project" }),
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

if (import.meta.main) Deno.exit(await main(Deno.args));
