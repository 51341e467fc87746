/**
 * The PyTorch reference of the `model` suite, run side by side with voxlab's backends.
 *
 * `tools/torch/bench_iteration.py` does the same work as `model.ts` (the seed's generator
 * forward, and one GAN iteration of 5 critic updates with the gradient penalty plus 1 generator
 * update, batch 2, 256×256, 1479/1476 labels) with the PyTorch modules of
 * `tools/torch/voxlab_torch.py`, and prints one JSON object. This module runs it with the Python
 * in `$VOXLAB_PYTHON` (default `python3`) when that Python can import torch, and turns its figures
 * into bench rows; otherwise it says why not.
 *
 * @module
 */

import type { BenchRow } from "./types.ts";

/** What `bench_iteration.py` prints. */
export interface TorchReport {
  /** torch's version. */
  torch: string;
  /** Intra-op threads used. */
  threads: number;
  /** Seconds per generator forward, one per repeat. */
  generator_forward_s: number[];
  /** Seconds per GAN iteration, one per repeat. */
  iteration_s: number[];
  /** Peak resident set of the Python process, MiB. */
  peak_rss_mib: number;
}

/** Options for {@linkcode measureTorch}. */
export interface TorchOptions {
  /** Intra-op threads. */
  threads: number;
  /** Timed repeats of the forward and of the iteration. @default {3} */
  repeats?: number;
  /** The Python to run. @default {$VOXLAB_PYTHON, else "python3"} */
  python?: string;
  /** The script. @default {tools/torch/bench_iteration.py of this checkout} */
  script?: string;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Turn a report into the two rows `model.ts` also measures (same names, backend `PyTorch`).
 *
 * @example
 * ```ts
 * import { torchRows } from "./torch.ts";
 * const rows = torchRows({ torch: "2.13.0+cpu", threads: 2, generator_forward_s: [0.2, 0.3, 0.25],
 *   iteration_s: [6.5, 6.7, 6.6], peak_rss_mib: 2100 });
 * console.assert(rows[0]!.value === 250 && rows[1]!.value === 6.6);
 * ```
 */
export function torchRows(report: TorchReport): BenchRow[] {
  const backend = `PyTorch ${report.torch}`;
  const n = report.iteration_s.length;
  return [
    {
      name: "generator forward",
      shape: "2x256x256x1 + 1479 labels",
      backend,
      threads: report.threads,
      value: Math.round(median(report.generator_forward_s) * 1000),
      unit: "ms",
      peakMiB: Math.round(report.peak_rss_mib),
      note: `median of ${report.generator_forward_s.length}; tools/torch/bench_iteration.py`,
    },
    {
      name: "GAN iteration (5 critic + 1 generator)",
      shape: "batch 2, 256x256, GP",
      backend,
      threads: report.threads,
      value: Math.round(median(report.iteration_s) * 10) / 10,
      unit: "s",
      peakMiB: Math.round(report.peak_rss_mib),
      note: `median of ${n}; peak = process RSS high-water mark`,
    },
  ];
}

/**
 * Run the PyTorch reference. Returns its rows, or a one-line reason it is not available.
 */
export async function measureTorch(options: TorchOptions): Promise<BenchRow[] | string> {
  const python = options.python ?? Deno.env.get("VOXLAB_PYTHON") ?? "python3";
  const script = options.script ??
    new URL("../../tools/torch/bench_iteration.py", import.meta.url).pathname;
  try {
    await Deno.stat(script);
  } catch {
    return `no ${script}`;
  }
  const args = [
    script,
    "--threads",
    String(options.threads),
    "--repeats",
    String(options.repeats ?? 3),
    "--warmup",
    "1",
    "--labels-in",
    "1479",
    "--labels-out",
    "1476",
    "--size",
    "256",
  ];
  let out: Deno.CommandOutput;
  try {
    const probe = await new Deno.Command(python, { args: ["-c", "import torch"], stderr: "null" })
      .output();
    if (!probe.success) return `${python} cannot import torch (pip install torch==2.13.0+cpu)`;
    console.error(`bench: PyTorch reference (${python}), ${options.threads} thread(s)`);
    out = await new Deno.Command(python, { args, stdout: "piped", stderr: "inherit" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return `no ${python}`;
    throw error;
  }
  if (!out.success) return `${script} failed with exit code ${out.code}`;
  const text = new TextDecoder().decode(out.stdout).trim();
  let report: TorchReport;
  try {
    report = JSON.parse(text.slice(text.lastIndexOf("\n") + 1)) as TorchReport;
  } catch {
    return `${script} printed no JSON`;
  }
  if (!Array.isArray(report.iteration_s) || !Array.isArray(report.generator_forward_s)) {
    return `${script} printed JSON without iteration_s and generator_forward_s`;
  }
  return torchRows(report);
}
