/**
 * `deno task ablate <base.ts> <ablation.ts> --seeds N [--parallel K] [--max-steps n | --max-time t] [--set …]`
 *
 * Trains both experiments over N seeds (paired: same seed, same initial
 * weights and data order), then prints and writes each diagnostic's means
 * with 95% intervals, the paired difference with t and bootstrap intervals,
 * the paired t-test's p-value and the collapse-warning counts
 * (`lib/runs/ablate.ts`). Rerunning continues only missing or unfinished seeds.
 *
 * @module
 */
import { AblateError, runAblation } from "../lib/runs/ablate.ts";
import { parseDuration } from "../lib/flags.ts";
import { intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task ablate <base.ts> <ablation.ts> --seeds N [options]

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
  --help              show this help`;

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
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
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
        : [`--${k}`, k === "data" && v[k] !== "demo" ? userPath(v[k]!) : v[k]!]
    ),
  ];
  const stem = (p: string) => p.split("/").pop()!.replace(/\.ts$/, "");
  return await runKnown([AblateError, RangeError], async () => {
    const result = await runAblation(base, ablation, {
      seeds: intFlag("--seeds", v.seeds!),
      parallel: intFlag("--parallel", v.parallel),
      ...(v["max-steps"] !== undefined ? { maxSteps: intFlag("--max-steps", v["max-steps"]) } : {}),
      ...(v["max-time"] !== undefined ? { maxSeconds: parseDuration(v["max-time"]) } : {}),
      trainArgs,
      live: v.live,
      out: v.out !== undefined
        ? userPath(v.out)
        : userPath(`runs/ablations/${stem(base)}-vs-${stem(ablation)}`, { base: "project" }),
    });
    console.log(`\n${result.markdown}`);
    console.log(
      `ablate: written ${result.files.markdown}, ${result.files.png}, ${result.files.json}`,
    );
    const failed = result.runs.filter((r) => r.base.code !== 0 || r.ablation.code !== 0).length;
    if (failed > 0) {
      console.error(`ablate: ${failed} of ${result.runs.length} seeds had a failed run`);
    }
    return failed > 0 ? 1 : 0;
  }, { prefix: cli.prefix });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
