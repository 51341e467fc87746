/**
 * `deno task bench`: measure voxlab's kernels, data and model throughput on
 * wasm and, when installed, on tensorflow, with PyTorch's version of the model
 * suite beside them when a Python with torch is found, and print one table
 * (plus the tensorflow / PyTorch ratios); the rows are also written as JSON.
 *
 * To add a suite: create `tasks/bench/NAME.ts` exporting
 * `suite: BenchSuite` (see `tasks/bench/types.ts`), import it here and add it
 * to {@linkcode SUITES}.
 *
 * @module
 */

import { BACKEND_NAMES, BackendError, type BackendName } from "../lib/backend/mod.ts";
import { findTensorflowPackage } from "../lib/backend/tensorflow.ts";
import { suite as conv } from "./bench/conv.ts";
import { suite as model } from "./bench/model.ts";
import { suite as data } from "./bench/data.ts";
import { formatTable, runSuitesHere, runSuitesPerThreadCount } from "./bench/runner.ts";
import { measureTorch } from "./bench/torch.ts";
import type { BenchRow, BenchSuite } from "./bench/types.ts";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, type TaskArgs, usageError } from "./cli.ts";

/** Every bench suite, in the order they run. */
export const SUITES: readonly BenchSuite[] = [conv, data, model];

const USAGE = `Usage: deno task bench [options]

Measures every suite on each backend (wasm at 1 thread and at all threads,
other backends at their own thread count; one process each), then, with the
model suite, PyTorch's version of it (tools/torch/bench_iteration.py, with
$VOXLAB_PYTHON or python3, when it can import torch) at all threads. Prints one
table, the tensorflow / PyTorch time ratios, and writes the rows as JSON.

Options:
  --only NAME        run only suite NAME (repeatable); suites: ${
  SUITES.map((s) => s.name).join(", ")
}
  --backend NAME     backend to measure (repeatable): ${BACKEND_NAMES.join(", ")}
                     (default wasm, and tensorflow when installed)
  --repeats N        timed repeats of the model suite's forward and iteration (default 3)
  --no-torch         do not run the PyTorch reference
  --threads N        measure in this process with N wasm threads only (0 = one per core)
  --json PATH        where to write the rows (default runs/bench/<time>.json)
  --per-thread-only  with --threads: skip suites not measured per thread count
  --help             show this help`;

/** The bench's flags besides `--help`. */
const OPTIONS = {
  only: { type: "string", multiple: true },
  threads: { type: "string" },
  backend: { type: "string", multiple: true },
  repeats: { type: "string" },
  "no-torch": { type: "boolean" },
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

/**
 * `tensorflow / PyTorch: generator forward 0.93x, GAN iteration 0.71x` from the model rows of
 * one run (each backend's all-threads row), for every voxlab backend measured beside PyTorch.
 */
export function ratioLines(rows: readonly BenchRow[]): string[] {
  const torch = rows.filter((r) => r.backend.startsWith("PyTorch"));
  if (torch.length === 0) return [];
  const lines: string[] = [];
  const backends = [...new Set(rows.map((r) => r.backend))].filter((b) => !b.startsWith("PyTorch"));
  for (const backend of backends) {
    const parts: string[] = [];
    for (const t of torch) {
      const mine = rows.filter((r) => r.backend === backend && r.name === t.name)
        .sort((a, b) => b.threads - a.threads)[0];
      if (mine !== undefined && t.value > 0) {
        parts.push(`${t.name} ${(mine.value / t.value).toFixed(2)}x`);
      }
    }
    if (parts.length > 0) lines.push(`${backend} / ${torch[0]!.backend} time: ${parts.join(", ")}`);
  }
  return lines;
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
  const backends = (values.backend ?? []).map((b) => choiceFlag("--backend", b, BACKEND_NAMES));
  const repeats = values.repeats === undefined ? 3 : intFlag("--repeats", values.repeats, 1);
  let rows: BenchRow[];
  const notes: string[] = [];
  if (values.threads !== undefined) {
    if (backends.length > 1) throw new RangeError("Invalid --backend: --threads takes one backend");
    const threads = intFlag("--threads", values.threads, 0);
    const suites = SUITES.filter((s) => only.length === 0 || only.includes(s.name));
    rows = await runSuitesHere(suites, {
      backend: backends[0] ?? "wasm",
      threads,
      perThreadOnly: values["per-thread-only"] ?? false,
      repeats,
    });
  } else {
    const chosen: BackendName[] = backends.length > 0
      ? backends
      : findTensorflowPackage()
      ? ["wasm", "tensorflow"]
      : ["wasm"];
    if (backends.length === 0 && !chosen.includes("tensorflow")) {
      notes.push("tensorflow: not installed (deno task setup tensorflow)");
    }
    rows = [];
    for (const backend of chosen) {
      rows.push(...await runSuitesPerThreadCount({ backend, only, repeats }));
    }
    if ((only.length === 0 || only.includes("model")) && !values["no-torch"]) {
      const torch = await measureTorch({ threads: navigator.hardwareConcurrency || 1, repeats });
      if (typeof torch === "string") notes.push(`PyTorch: not available (${torch})`);
      else rows.push(...torch);
    }
  }
  console.log(formatTable(rows));
  for (const line of [...ratioLines(rows), ...notes]) console.log(line);
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
