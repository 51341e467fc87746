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

import { parseArgs } from "node:util";
import { BACKEND_NAMES, BackendError, type BackendName } from "../lib/backend/mod.ts";
import { suite as conv } from "./bench/conv.ts";
import { suite as model } from "./bench/model.ts";
import { suite as data } from "./bench/data.ts";
import { formatTable, runSuitesHere, runSuitesPerThreadCount } from "./bench/runner.ts";
import type { BenchRow, BenchSuite } from "./bench/types.ts";

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

/** Parse the flags, run the bench, print and save the table. */
async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: "string", multiple: true },
      threads: { type: "string" },
      backend: { type: "string" },
      json: { type: "string" },
      "per-thread-only": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const only = values.only ?? [];
  for (const name of only) {
    if (!SUITES.some((s) => s.name === name)) {
      throw new RangeError(
        `Cannot run bench suite '${name}': expected one of ${SUITES.map((s) => s.name).join(", ")}`,
      );
    }
  }
  const backend = (values.backend ?? "wasm") as BackendName;
  if (!BACKEND_NAMES.includes(backend)) {
    throw new RangeError(
      `Cannot run the bench on backend '${backend}': expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  let rows: BenchRow[];
  if (values.threads !== undefined) {
    const threads = Number(values.threads);
    if (!Number.isInteger(threads) || threads < 0) {
      throw new RangeError(
        `Cannot run the bench with --threads '${values.threads}': expected an integer >= 0`,
      );
    }
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
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    if (
      error instanceof RangeError || error instanceof BackendError || error instanceof TypeError
    ) {
      console.error(error.message);
      Deno.exit(1);
    }
    throw error;
  }
}
