/**
 * `deno task report <run dir>`: (re)write a run's `report.md` in the seed's
 * form from its config, metrics and samples.
 *
 * @module
 */
import { RunDirError, writeReport } from "../lib/runs/run_dir.ts";
import { parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task report <run dir>

Write <run dir>/report.md (and loss_curves.png) from the run's config.yaml,
run.json, metrics.jsonl and samples. Training writes it too when a run ends.

Options:
  --help    show this help`;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = { name: "report", usage: USAGE, options: {} } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length !== 1) {
    return usageError(
      cli,
      `Cannot write report: expected one run directory, got ${parsed.positionals.length}`,
    );
  }
  // SyntaxError: a broken metrics.jsonl line, named by readMetrics.
  return await runKnown([RunDirError, SyntaxError], async () => {
    console.log(await writeReport(userPath(parsed.positionals[0]!)));
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
