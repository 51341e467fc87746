/**
 * `deno task diff <a.ts> <b.ts>`: print every difference between two
 * experiments by dot path.
 *
 * @module
 */
import { diff, ExperimentLoadError, formatDiff, loadExperiment } from "../lib/experiment/mod.ts";
import { parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE = `Usage: deno task diff <a.ts> <b.ts> [--meta]

Print every difference between two experiments, one per line, as
'dot.path: value in a -> value in b' ('(absent)' where a side lacks the path).

Options:
  --meta    also compare the descriptive fields (meta.id, meta.title, …)
  --help    show this help`;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "diff",
    usage: USAGE,
    options: { meta: { type: "boolean", default: false } },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length !== 2) {
    return usageError(
      cli,
      `Cannot diff: expected two experiment files, got ${parsed.positionals.length}`,
    );
  }
  return await runKnown([ExperimentLoadError], async () => {
    const [a, b] = await Promise.all(parsed.positionals.map((p) => loadExperiment(userPath(p))));
    console.log(formatDiff(diff(a!, b!, { includeMeta: parsed.values.meta })));
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
