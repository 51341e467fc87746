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
import { SLURM_FLAGS, slurmLaunchOptions, slurmUsage, straySlurmFlag } from "./slurm_flags.ts";

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

${slurmUsage("its statistics")}`;

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
      ...SLURM_FLAGS,
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
      const result = await runAblationOnSlurm(base, ablation, {
        ...common,
        // --parallel is the array's %K only when given: by default the array has no limit.
        ...(args.some((a) => a === "--parallel" || a.startsWith("--parallel="))
          ? { parallel: intFlag("--parallel", v.parallel) }
          : {}),
        ...slurmLaunchOptions(v),
      });
      return report(result, common.out);
    }
    const stray = straySlurmFlag(v);
    if (stray !== null) {
      return usageError(cli, `Cannot ablate: --${stray} needs --launcher slurm`);
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
