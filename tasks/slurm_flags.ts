/**
 * The SLURM flags `deno task sweep` and `deno task ablate` share: their
 * `parseArgs` options, their usage lines, and the launcher options they give
 * (`lib/runs/slurm/`). One place, so both tasks take the same flags.
 *
 * @module
 */
import { resolve } from "node:path";
import type { LaunchOptions } from "../lib/runs/slurm/mod.ts";
import { intFlag, userPath } from "./cli.ts";

/** The `parseArgs` options of the SLURM flags. */
export const SLURM_FLAGS = {
  launcher: { type: "string", default: "local" },
  partition: { type: "string" },
  time: { type: "string" },
  signal: { type: "string" },
  "cpus-per-task": { type: "string" },
  mem: { type: "string" },
  gres: { type: "string" },
  sbatch: { type: "string", multiple: true, default: [] as string[] },
  "dry-run": { type: "boolean", default: false },
  detach: { type: "boolean", default: false },
  attach: { type: "string" },
} as const;

/** The usage lines of the SLURM flags; `what` names what `--attach` ends with. */
export function slurmUsage(what: string): string {
  return `SLURM (with --launcher slurm; see README "Running on a cluster"):
  --partition <name>  sbatch --partition
  --time <t>          sbatch --time per task (minutes, HH:MM:SS, D-HH:MM)
  --signal <s>        with --time: seconds before the limit at which training is told to stop
                      with a checkpoint (default: 120; 0: only at the limit)
  --cpus-per-task <n> sbatch --cpus-per-task
  --mem <size>        sbatch --mem, e.g. 8G
  --gres <list>       sbatch --gres, e.g. gpu:1
  --sbatch <option>   another #SBATCH line, e.g. --sbatch=--account=speech; repeatable
  --dry-run           print the job script and the commands; submit nothing
  --detach            submit and return; watch later with --attach
  --attach <dir>      watch the job again and end with ${what}`;
}

/** The parsed values of the SLURM flags (and `--data`, which the tasks must see too). */
export interface SlurmFlagValues {
  partition?: string | undefined;
  time?: string | undefined;
  signal?: string | undefined;
  "cpus-per-task"?: string | undefined;
  mem?: string | undefined;
  gres?: string | undefined;
  sbatch: string[];
  "dry-run": boolean;
  detach: boolean;
  data?: string | undefined;
}

/** The launcher options the flags give (`parallel` is the task's own). */
export function slurmLaunchOptions(
  v: SlurmFlagValues,
): Omit<LaunchOptions, "dir" | "parallel" | "log"> {
  const int = (flag: string, text: string | undefined, min = 1) =>
    text === undefined ? undefined : intFlag(flag, text, min);
  const given = <T>(key: string, value: T | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    ...given("partition", v.partition),
    ...given("time", v.time),
    ...given("signalSeconds", int("--signal", v.signal, 0)),
    ...given("cpusPerTask", int("--cpus-per-task", v["cpus-per-task"])),
    ...given("mem", v.mem),
    ...given("gres", v.gres),
    sbatch: v.sbatch,
    dryRun: v["dry-run"],
    detach: v.detach,
    shared: v.data !== undefined && v.data !== "demo"
      ? [{ what: "data", path: resolve(userPath(v.data)) }]
      : [],
  };
}

/** The first SLURM-only flag given without `--launcher slurm`, or null. */
export function straySlurmFlag(v: SlurmFlagValues): string | null {
  const slurmOnly = ["partition", "time", "signal", "cpus-per-task", "mem", "gres"] as const;
  const stray = [
    ...slurmOnly.filter((k) => v[k] !== undefined),
    ...(v.sbatch.length ? ["sbatch"] : []),
    ...(v["dry-run"] ? ["dry-run"] : []),
    ...(v.detach ? ["detach"] : []),
  ];
  return stray[0] ?? null;
}
