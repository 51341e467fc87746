/**
 * `deno task runs [root]`: list the run directories with their experiment,
 * status, iteration, checkpoint and last diagnostics.
 *
 * @module
 */
import { formatRunTable, listRuns } from "../lib/runs/run_status.ts";
import { parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task runs [<root>]

List the runs under <root> (default: runs, next to deno.json) as a table: the
run (<experiment>/<timestamp>), its experiment, its status now, the iteration
reached, whether it has a checkpoint, and its last diagnostics.

Status is run.json's (completed, max-steps, max-time, signal, non-finite), or
running while its process lives, or dead when run.json still says running but
the process that wrote it is gone (killed, or its terminal closed): --resume
continues such a run from its checkpoint, if it has one.

Options:
  --help    show this help`;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = { name: "runs", usage: USAGE, prefix: "runs: ", options: {} } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length > 1) {
    return usageError(cli, "Cannot list runs: expected at most one folder");
  }
  return await runKnown([Deno.errors.PermissionDenied], async () => {
    const root = parsed.positionals[0] !== undefined
      ? userPath(parsed.positionals[0])
      : userPath("runs", { base: "project" });
    const runs = await listRuns(root);
    if (runs.length === 0) {
      console.log(`runs: no runs under ${root}`);
      return 0;
    }
    console.log(formatRunTable(runs));
    return 0;
  }, { prefix: cli.prefix });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
