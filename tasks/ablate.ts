/**
 * `deno task ablate <base.ts> <ablation.ts> --seeds N [--parallel K] [--max-steps n | --max-time t] [--set …]`
 *
 * Trains both experiments over N seeds (paired: same seed, same initial
 * weights and data order), then prints and writes each diagnostic's means
 * with 95% intervals, the paired difference with t and bootstrap intervals,
 * the paired t-test's p-value and the collapse-warning counts
 * (`lib/runs/ablate.ts`). Rerunning continues only missing or unfinished seeds.
 * `--launcher slurm` runs the seeds as one SLURM job array (`lib/runs/slurm/`).
 *
 * @module
 */
import { resolve } from "node:path";
import {
  AblateError,
  type AblateResult,
  attachSlurmAblation,
  runAblation,
  runAblationOnSlurm,
  type SlurmAblateResult,
} from "../lib/runs/ablate.ts";
import { SlurmError } from "../lib/runs/slurm/mod.ts";
import { choiceFlag, parseDuration } from "../lib/flags.ts";
import { intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task ablate <base.ts> <ablation.ts> --seeds N [options]
       deno task ablate --attach <ablation dir>

Train the base and the ablation over seeds 0…N−1, paired by seed (identical
initial weights and data order), and report for every diagnostic each
experiment's mean with a 95% confidence interval, the paired difference
(ablation − base) with a paired t and a paired bootstrap interval, the paired
t-test's p-value, and in how many seeds the collapse warning fired. Writes
ablate.md, ablate.png and ablate.json into the output directory. Rerunning
the same command continues only the missing or unfinished seeds.

Options:
  --seeds <n>         number of seeds, at least 2 (required)
  --parallel <k>      runs at the same time (default: 1)
  --max-steps <n>     iterations per run (across resumes)
  --max-time <t>      training time per run, e.g. 20m (across resumes)
  --set <key=value>   an override for every run of both experiments; repeatable
  --out <dir>         output directory (default: runs/ablations/<base>-vs-<ablation>)
  --data <path>       passed to every run
  --backend <name>    passed to every run
  --threads <n>       passed to every run
  --live              show the training output (only with --parallel 1)
  --launcher <name>   local (default) or slurm: one sbatch job array, one task per seed and side
  --help              show this help

SLURM (with --launcher slurm; see README "Running on a cluster"):
  --partition <name>  sbatch --partition
  --time <t>          sbatch --time per task (minutes, HH:MM:SS, D-HH:MM)
  --signal <s>        with --time: seconds before the limit at which training is told to stop
  --cpus-per-task <n> sbatch --cpus-per-task
  --mem <size>        sbatch --mem, e.g. 8G
  --gres <list>       sbatch --gres, e.g. gpu:1
  --sbatch <option>   another #SBATCH line; repeatable
  --dry-run           print the job script and the commands; submit nothing
  --detach            submit and return; watch later with --attach
  --attach <dir>      watch a SLURM ablation's job again and end with its statistics`;

/** Run the ablate task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "ablate",
    usage: USAGE,
    prefix: "ablate: ",
    options: {
      seeds: { type: "string" },
      parallel: { type: "string", default: "1" },
      "max-steps": { type: "string" },
      "max-time": { type: "string" },
      set: { type: "string", multiple: true, default: [] as string[] },
      out: { type: "string" },
      data: { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      live: { type: "boolean", default: false },
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
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const known = [AblateError, SlurmError, RangeError];
  if (v.attach !== undefined) {
    if (parsed.positionals.length > 0) {
      return usageError(cli, "Cannot attach: --attach takes the ablation directory, no experiment");
    }
    return await runKnown(known, async () => {
      return report(await attachSlurmAblation(userPath(v.attach!)), userPath(v.attach!));
    }, { prefix: cli.prefix });
  }
  if (parsed.positionals.length !== 2) {
    return usageError(
      cli,
      `Cannot ablate: expected a base and an ablation experiment file, got ${parsed.positionals.length} file(s)`,
    );
  }
  if (v.seeds === undefined) return usageError(cli, "Cannot ablate: --seeds N is required");
  const [base, ablation] = parsed.positionals.map((p) => userPath(p)) as [string, string];
  const trainArgs = [
    ...v.set.flatMap((s) => ["--set", s]),
    ...(["data", "backend", "threads"] as const).flatMap((k) =>
      v[k] === undefined
        ? []
        : [`--${k}`, k === "data" && v[k] !== "demo" ? resolve(userPath(v[k]!)) : v[k]!]
    ),
  ];
  const stem = (p: string) => p.split("/").pop()!.replace(/\.ts$/, "");
  return await runKnown(known, async () => {
    const launcher = choiceFlag("--launcher", v.launcher, ["local", "slurm"] as const);
    const common = {
      seeds: intFlag("--seeds", v.seeds!),
      ...(v["max-steps"] !== undefined ? { maxSteps: intFlag("--max-steps", v["max-steps"]) } : {}),
      ...(v["max-time"] !== undefined ? { maxSeconds: parseDuration(v["max-time"]) } : {}),
      trainArgs,
      out: v.out !== undefined
        ? userPath(v.out)
        : userPath(`runs/ablations/${stem(base)}-vs-${stem(ablation)}`, { base: "project" }),
    };
    if (launcher === "slurm") {
      const int = (flag: string, text: string | undefined, min = 1) =>
        text === undefined ? undefined : intFlag(flag, text, min);
      const given = <T>(key: string, value: T | undefined) =>
        value === undefined ? {} : { [key]: value };
      const result = await runAblationOnSlurm(base, ablation, {
        ...common,
        ...given(
          "parallel",
          args.some((a) => a === "--parallel" || a.startsWith("--parallel="))
            ? int("--parallel", v.parallel)
            : undefined,
        ),
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
      });
      return report(result, common.out);
    }
    const slurmOnly = ["partition", "time", "signal", "cpus-per-task", "mem", "gres"] as const;
    const stray = [
      ...slurmOnly.filter((k) => v[k] !== undefined),
      ...(v.sbatch.length ? ["sbatch"] : []),
      ...(v["dry-run"] ? ["dry-run"] : []),
      ...(v.detach ? ["detach"] : []),
    ];
    if (stray.length > 0) {
      return usageError(cli, `Cannot ablate: --${stray[0]} needs --launcher slurm`);
    }
    const result = await runAblation(base, ablation, {
      ...common,
      parallel: intFlag("--parallel", v.parallel),
      live: v.live,
    });
    return printResult(result);
  }, { prefix: cli.prefix });
}

/** Print an ablation's table and files; returns the exit code. */
function printResult(result: AblateResult): number {
  console.log(`\n${result.markdown}`);
  console.log(
    `ablate: written ${result.files.markdown}, ${result.files.png}, ${result.files.json}`,
  );
  const failed = result.runs.filter((r) => r.base.code !== 0 || r.ablation.code !== 0).length;
  if (failed > 0) {
    console.error(`ablate: ${failed} of ${result.runs.length} seeds had a failed run`);
  }
  return failed > 0 ? 1 : 0;
}

/** Print how a SLURM ablation ended; returns the exit code. */
function report({ launch, result }: SlurmAblateResult, dir: string): number {
  if (launch.outcome === "dry-run") return 0;
  if (result === null) {
    console.log(
      `ablate: job ${launch.jobId} keeps running; watch it with: deno task ablate --attach ${dir}`,
    );
    return 0;
  }
  return printResult(result);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
