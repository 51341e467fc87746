/**
 * `deno task diff <a.ts> <b.ts>`: print every difference between two
 * experiments by dot path.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { diff, ExperimentLoadError, formatDiff, loadExperiment } from "../lib/experiment/mod.ts";

const USAGE = `Usage: deno task diff <a.ts> <b.ts> [--meta]

Print every difference between two experiments, one per line, as
'dot.path: value in a -> value in b' ('(absent)' where a side lacks the path).

Options:
  --meta    also compare the descriptive fields (meta.id, meta.title, …)
  --help    show this help`;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        meta: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    console.error(`Cannot parse arguments: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 2) {
    console.error(
      `Cannot diff: expected two experiment files, got ${parsed.positionals.length}\n\n${USAGE}`,
    );
    return 1;
  }
  try {
    const [a, b] = await Promise.all(parsed.positionals.map((p) => loadExperiment(p)));
    console.log(formatDiff(diff(a!, b!, { includeMeta: parsed.values.meta })));
    return 0;
  } catch (e) {
    if (e instanceof ExperimentLoadError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
