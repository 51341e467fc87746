/**
 * `deno task export <run dir | checkpoint.vxck> --format safetensors [--out PATH]`:
 * write a run's generator and discriminator weights for PyTorch and other
 * frameworks (`lib/runs/export_run.ts`).
 *
 * @module
 */
import { initBackend } from "../lib/backend/mod.ts";
import { EXPORT_FORMATS, ExportError, exportRun } from "../lib/runs/export_run.ts";
import { choiceFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE =
  `Usage: deno task export <run dir | checkpoint.vxck> [--format safetensors] [--out PATH]

Write the run's generator and discriminator weights (BatchNorm running
statistics included) as one safetensors file, named generator.* and
discriminator.*, in voxlab's layouts, with the config hash, the model configs
and the layer plans in its metadata. tools/torch/voxlab_torch.py loads it in
PyTorch. A run directory runs/<exp> means its latest run.

Options:
  --format FORMAT   output format: ${EXPORT_FORMATS.join(", ")} (default safetensors)
  --out PATH        output file (default: the checkpoint's path with .safetensors)
  --help            show this help`;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = {
    name: "export",
    usage: USAGE,
    options: {
      format: { type: "string", default: "safetensors" },
      out: { type: "string" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length !== 1) {
    return usageError(
      cli,
      `Cannot export: expected one run directory or checkpoint, got ${parsed.positionals.length}`,
    );
  }
  return await runKnown([ExportError, RangeError], async () => {
    const format = choiceFlag("--format", parsed.values.format, EXPORT_FORMATS);
    await initBackend({ backend: "cpu", quiet: true });
    const result = await exportRun(userPath(parsed.positionals[0]!), {
      format,
      ...(parsed.values.out !== undefined ? { out: userPath(parsed.values.out) } : {}),
    });
    console.log(
      `voxlab: wrote ${result.out} (${result.tensors} tensors, ${
        (result.bytes / 2 ** 20).toFixed(1)
      } MiB, iteration ${result.iteration})`,
    );
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
