/**
 * `deno task train <experiment.ts>`: train an experiment into
 * `runs/<experiment>/<timestamp>/`, or continue a run with `--resume`.
 *
 * @module
 */
import { BACKEND_NAMES } from "../lib/backend/mod.ts";
import { TRAIN_ERRORS, TRAIN_FLAGS, trainAndPrint, trainJob } from "../lib/runs/train_main.ts";
import { parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";
import { npmWrapperNotice } from "./npm_wrapper.ts";

const USAGE = `Usage: deno task train <experiment.ts> [options]
       deno task train --resume <run dir> [<experiment.ts>] [options]

Train an experiment into <out>/<experiment id>/<timestamp>/ (config.yaml,
run.json, metrics.jsonl, checkpoint.vxck, samples/, report.md). With no data
named, the built-in corpus is used (synthesized on first use).

Options:
  --set key=value     override a config field by dot path (repeatable), e.g.
                      --set trainer.batchSize=4 --set model.generator.widths=[8,16,32,64]
  --data <path>       dataset: a manifest (.yaml/.csv), a folder holding one, or a
                      VCTK-style folder; 'demo' for the built-in corpus
  --backend <name>    ${BACKEND_NAMES.join(", ")} (default auto)
  --threads <n>       wasm threads, 0 = one per core (default 0)
  --max-steps <n>     stop after n iterations (a checkpoint and report are written)
  --max-time <t>      stop after t of training: seconds, or with a unit: 90s, 20m, 1.5h
  --resume <run dir>  continue a run from its checkpoint; the experiment defaults to
                      the run's config.yaml
  --force             resume even if the config differs from the run's
  --out <dir>         root of the run directories (default runs, next to deno.json)

Relative paths are taken from the directory you run the task in.
  --help              show this help

Ctrl-C (SIGINT) or SIGTERM stops after the current iteration with a checkpoint
and the report, then exits with status 130 (SIGTERM: 0). A second Ctrl-C, a
second or more after the first, quits at once; the last checkpoint on disk is
kept.`;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = { name: "train", usage: USAGE, options: TRAIN_FLAGS } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  if (parsed.positionals.length > 1 || (parsed.positionals.length === 0 && !v.resume)) {
    return usageError(cli, "Cannot train: expected one experiment file");
  }
  const notice = npmWrapperNotice();
  if (notice) console.error(notice);
  return await runKnown(
    TRAIN_ERRORS,
    () => trainAndPrint(trainJob(v, parsed.positionals[0], (p, base) => userPath(p, { base }))),
  );
}

if (import.meta.main) Deno.exit(await main(Deno.args));
