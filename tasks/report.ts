/**
 * `deno task report <run dir>`: (re)write a run's `report.md` in the seed's
 * form from its config, metrics and samples.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { RunDirError, writeReport } from "../lib/experiment/run_dir.ts";

const USAGE = `Usage: deno task report <run dir>

Write <run dir>/report.md (and loss_curves.png) from the run's config.yaml,
run.json, metrics.jsonl and samples. Training writes it too when a run ends.

Options:
  --help    show this help`;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { help: { type: "boolean", default: false } },
    });
  } catch (e) {
    console.error(`Cannot parse arguments: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(
      `Cannot write report: expected one run directory, got ${parsed.positionals.length}\n\n${USAGE}`,
    );
    return 1;
  }
  try {
    console.log(await writeReport(parsed.positionals[0]!));
    return 0;
  } catch (e) {
    if (e instanceof RunDirError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
