/**
 * `deno task compare <run dir>... [--out file.md] [--window 50]`
 *
 * Prints a side-by-side table of config differences, final metrics and
 * diagnostics (with the collapse warning) of runs, and writes it as Markdown.
 *
 * @module
 */
import { join } from "node:path";
import {
  CompareError,
  compareRunDirs,
  defaultCompareDir,
  resolveRun,
} from "../lib/runs/compare.ts";
import { intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task compare <run dir>... [options]

Compare runs side by side: config differences (vs. the first run), final loss
terms, diagnostics and the collapse warning. A run dir is runs/<exp>/<timestamp>;
runs/<exp> means its latest run with a checkpoint.

Options:
  --out <file>     where to write the Markdown table (default: compare.md in the
                   folder holding the runs, e.g. runs/compare.md)
  --window <n>     average the final loss terms over the last n iterations (default: 50)
  --help           show this help`;

/** Run the compare task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "compare",
    usage: USAGE,
    prefix: "compare: ",
    options: {
      out: { type: "string" },
      window: { type: "string", default: "50" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length === 0) {
    return usageError(cli, "Cannot compare: no run directories given");
  }
  return await runKnown([CompareError, SyntaxError, RangeError], async () => {
    const window = intFlag("--window", parsed.values.window);
    const dirs = parsed.positionals.map((p) => userPath(p));
    const chosen = await Promise.all(dirs.map(resolveRun));
    const out = parsed.values.out !== undefined
      ? userPath(parsed.values.out)
      : join(defaultCompareDir(chosen.map((c) => c.dir)), "compare.md");
    const { markdown, notes } = await compareRunDirs(dirs, { out, window });
    for (const note of notes) console.error(`compare: ${note}`);
    console.log(markdown);
    console.log(`compare: written to ${out}`);
    return 0;
  }, { prefix: cli.prefix });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
