/**
 * `deno task compare <run dir>... [--out compare.md] [--window 50]`
 *
 * Prints a side-by-side table of config differences, final metrics and
 * diagnostics (with the collapse warning) of runs, and writes it as Markdown.
 *
 * @module
 */
import { CompareError, compareRunDirs } from "../lib/runs/compare.ts";
import { intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task compare <run dir>... [options]

Compare runs side by side: config differences (vs. the first run), final loss
terms, diagnostics and the collapse warning. A run dir is runs/<exp>/<timestamp>;
runs/<exp> means its latest run.

Options:
  --out <file>     where to write the Markdown table (default: compare.md)
  --window <n>     average the final loss terms over the last n iterations (default: 50)
  --help           show this help`;

/** Run the compare task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "compare",
    usage: USAGE,
    prefix: "compare: ",
    options: {
      out: { type: "string", default: "compare.md" },
      window: { type: "string", default: "50" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length === 0) {
    return usageError(cli, "Cannot compare: no run directories given");
  }
  return await runKnown([CompareError, SyntaxError, RangeError], async () => {
    const { markdown } = await compareRunDirs(parsed.positionals.map((p) => userPath(p)), {
      out: userPath(parsed.values.out),
      window: intFlag("--window", parsed.values.window),
    });
    console.log(markdown);
    console.log(`compare: written to ${userPath(parsed.values.out)}`);
    return 0;
  }, { prefix: cli.prefix });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
