/**
 * `deno task bench`: measure voxlab's kernels (and, as suites are added, data
 * and model throughput) and print a table; the rows are also written as JSON.
 *
 * To add a suite: create `tasks/bench/NAME.ts` exporting
 * `suite: BenchSuite` (see `tasks/bench/types.ts`), import it here and add it
 * to {@linkcode SUITES}.
 *
 * @module
 */

import { BACKEND_NAMES, BackendError } from "../lib/backend/mod.ts";
import { suite as conv } from "./bench/conv.ts";
import { suite as model } from "./bench/model.ts";
import { suite as data } from "./bench/data.ts";
import { formatTable, runSuitesHere, runSuitesPerThreadCount } from "./bench/runner.ts";
import type { BenchRow, BenchSuite } from "./bench/types.ts";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, type TaskArgs, usageError } from "./cli.ts";

/** Every bench suite, in the order they run. */
export const SUITES: readonly BenchSuite[] = [conv, data, model];

const USAGE = `Usage: deno task bench [options]

Measures every suite at 1 thread and at all threads (one process each), prints
a table and writes the rows as JSON.

Options:
  --only NAME        run only suite NAME (repeatable); suites: ${
  SUITES.map((s) => s.name).join(", ")
}
  --threads N        measure in this process with N wasm threads only (0 = one per core)
  --backend NAME     backend to measure: ${BACKEND_NAMES.join(", ")} (default wasm)
  --json PATH        where to write the rows (default runs/bench/<time>.json)
  --per-thread-only  with --threads: skip suites not measured per thread count
  --help             show this help`;

/** The bench's flags besides `--help`. */
const OPTIONS = {
  only: { type: "string", multiple: true },
  threads: { type: "string" },
  backend: { type: "string" },
  json: { type: "string" },
  "per-thread-only": { type: "boolean" },
} as const;

/** Parse the flags, run the bench, print and save the table; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = { name: "bench", usage: USAGE, options: OPTIONS };
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length > 0) {
    return usageError(cli, `Cannot run the bench: unexpected argument '${parsed.positionals[0]}'`);
  }
  return await runKnown([RangeError, BackendError, TypeError], () => bench(args, parsed.values));
}

/** Run the suites the flags select, print the table and write the rows. */
async function bench(args: string[], values: TaskArgs<typeof OPTIONS>["values"]): Promise<number> {
  const only = values.only ?? [];
  for (const name of only) {
    if (!SUITES.some((s) => s.name === name)) {
      throw new RangeError(
        `Cannot run bench suite '${name}': expected one of ${SUITES.map((s) => s.name).join(", ")}`,
      );
    }
  }
  const backend = choiceFlag("--backend", values.backend ?? "wasm", BACKEND_NAMES);
  let rows: BenchRow[];
  if (values.threads !== undefined) {
    const threads = intFlag("--threads", values.threads, 0);
    const suites = SUITES.filter((s) => only.length === 0 || only.includes(s.name));
    rows = await runSuitesHere(suites, {
      backend,
      threads,
      perThreadOnly: values["per-thread-only"] ?? false,
    });
  } else {
    rows = await runSuitesPerThreadCount({ backend, only });
  }
  console.log(formatTable(rows));
  const json = values.json ??
    `runs/bench/${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  const dir = json.includes("/") ? json.slice(0, json.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    json,
    JSON.stringify({ date: new Date().toISOString(), args, rows }, null, 2) + "\n",
  );
  console.log(`bench: rows written to ${json}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
