/**
 * `deno task compare <run dir>... [--out compare.md] [--window 50]`
 *
 * Prints a side-by-side table of config differences, final metrics and
 * diagnostics (with the collapse warning) of runs, and writes it as Markdown.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { CompareError, compareRunDirs } from "../lib/eval/compare.ts";

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
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string", default: "compare.md" },
        window: { type: "string", default: "50" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    console.error(`compare: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    console.error(`compare: no run directories given\n\n${USAGE}`);
    return 1;
  }
  const window = Number(parsed.values.window);
  if (!Number.isInteger(window) || window < 1) {
    console.error(`compare: --window must be a positive integer, got '${parsed.values.window}'`);
    return 1;
  }
  try {
    const { markdown } = await compareRunDirs(parsed.positionals, {
      out: parsed.values.out,
      window,
    });
    console.log(markdown);
    console.log(`compare: written to ${parsed.values.out}`);
    return 0;
  } catch (e) {
    if (e instanceof CompareError || e instanceof SyntaxError) {
      console.error(`compare: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
