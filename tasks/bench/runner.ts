/**
 * Running bench suites: one process per thread count, merged into one table.
 *
 * The wasm backend fixes its thread count when it initialises, so measuring
 * "1 thread and all threads" takes one process per count: the parent spawns
 * `deno run -A tasks/bench.ts --threads N --json FILE` for each count and
 * merges the rows.
 *
 * @module
 */

import { type BackendInfo, type BackendName, initBackend } from "../../lib/backend/mod.ts";
import { registerWasmKernels } from "../../lib/backend/wasm_kernels.ts";
import type { BenchRow, BenchSuite } from "./types.ts";

let current: BackendInfo | undefined;
let repeats = 3;

/** The backend the running suite measures (name and threads); only valid inside `run`. */
export function benchBackend(): BackendInfo {
  if (current === undefined) {
    throw new Error("Cannot read the bench backend: no bench suite is running");
  }
  return current;
}

/** Timed repeats a suite should make of its slow measurements (`--repeats`); only valid inside `run`. */
export function benchRepeats(): number {
  return repeats;
}

/** Options for {@linkcode runSuitesHere}. */
export interface RunHereOptions {
  /** Backend to initialise. @default {"wasm"} */
  backend?: BackendName;
  /** Threads for the wasm backend; 0 means one per core. @default {0} */
  threads?: number;
  /** Only suites measured per thread count (the 1-thread pass of a full run). @default {false} */
  perThreadOnly?: boolean;
  /** Timed repeats of slow measurements (the model suite's forward and iteration). @default {3} */
  repeats?: number;
}

/** Initialise the backend in this process and run `suites` on it. */
export async function runSuitesHere(
  suites: readonly BenchSuite[],
  options: RunHereOptions = {},
): Promise<BenchRow[]> {
  current = await initBackend({
    backend: options.backend ?? "wasm",
    threads: options.threads ?? 0,
    quiet: true,
  });
  if (current.name === "wasm") registerWasmKernels();
  repeats = options.repeats ?? 3;
  const rows: BenchRow[] = [];
  try {
    for (const suite of suites) {
      if (options.perThreadOnly && !suite.perThreadCount) continue;
      console.error(`bench: ${suite.name} on ${current.name}, ${current.threads} thread(s)`);
      rows.push(...await suite.run());
    }
  } finally {
    current = undefined;
  }
  return rows;
}

/** Options for {@linkcode runSuitesPerThreadCount}. */
export interface RunAllOptions {
  /** Backend to measure. @default {"wasm"} */
  backend?: BackendName;
  /** Suite names passed on as `--only`. @default {[]} (all) */
  only?: string[];
  /** The bench script to spawn. @default {"tasks/bench.ts" next to this folder} */
  script?: string;
  /** Passed on as `--repeats`. @default {the child's default} */
  repeats?: number;
}

/**
 * Run the suites at 1 thread (those with `perThreadCount`) and at all
 * threads, each in its own `deno` process, and return the merged rows. Only
 * wasm takes a thread count; other backends get the all-threads pass only.
 */
export async function runSuitesPerThreadCount(options: RunAllOptions = {}): Promise<BenchRow[]> {
  const script = options.script ?? new URL("../bench.ts", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "voxlab-bench-" });
  const rows: BenchRow[] = [];
  try {
    const passes = (options.backend ?? "wasm") === "wasm"
      ? [[1, true], [0, false]] as const
      : [[0, false]] as const;
    for (const [threads, perThreadOnly] of passes) {
      const json = `${dir}/rows-${threads}.json`;
      const args = ["run", "-A", script, "--threads", String(threads), "--json", json];
      if (options.backend !== undefined) args.push("--backend", options.backend);
      if (perThreadOnly) args.push("--per-thread-only");
      if (options.repeats !== undefined) args.push("--repeats", String(options.repeats));
      for (const name of options.only ?? []) args.push("--only", name);
      // The child's table is dropped (the merged one is printed); its progress is on stderr.
      const child = new Deno.Command(Deno.execPath(), {
        args,
        stdout: "null",
        stderr: "inherit",
      });
      const { code } = await child.output();
      if (code !== 0) {
        throw new Error(
          `Cannot run the bench on ${options.backend ?? "wasm"} at ${
            threads || "all"
          } thread(s): exit code ${code}`,
        );
      }
      rows.push(...(JSON.parse(await Deno.readTextFile(json)) as { rows: BenchRow[] }).rows);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

/** Format rows as an aligned text table. */
export function formatTable(rows: readonly BenchRow[]): string {
  const head = ["name", "shape", "backend", "threads", "value", "unit", "peak MiB", "note"];
  const cells = rows.map((r) => [
    r.name,
    r.shape,
    r.backend,
    String(r.threads),
    r.value.toFixed(r.value >= 100 ? 0 : 1),
    r.unit,
    r.peakMiB === undefined ? "" : String(r.peakMiB),
    r.note ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const numeric = new Set([3, 4, 6]);
  const line = (c: string[]) =>
    c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}
