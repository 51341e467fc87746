/**
 * The sbatch job-array script: one array task per point, each running
 * training (`lib/runs/train_main.ts`, what `deno task train` runs) for its point into its own directory, with its stdout and
 * stderr in `train.log` there.
 *
 * Signals: `--signal=B:USR1@margin` reaches only the batch shell, which sends
 * training one SIGTERM (training stops after its iteration with a
 * checkpoint). `scancel` and the time limit itself send SIGTERM to every
 * process of the task; the shell then only waits, so training gets exactly
 * one SIGTERM (a second one would make it quit without saving).
 *
 * @module
 */
import { sbatchOptionLines, SlurmError, type SlurmOptions } from "./options.ts";

/** One point of a sweep (or an ablation) as the launcher runs it. */
export interface SlurmPoint {
  /** The array index: the point's place in the sweep, the same on every resubmission. */
  index: number;
  /** A directory-safe name, e.g. `03_weight=5`. */
  name: string;
  /** The point's directory (absolute): training's `--out`; `train.log` goes here. */
  out: string;
  /**
   * Training's arguments without `--out`: the experiment file, `--set …`,
   * `--max-steps …`, and `--resume <run dir>` when continuing.
   */
  args: readonly string[];
}

/** Where the tasks find their programs and caches; all absolute paths. */
export interface ScriptEnvironment {
  /** The deno executable (`Deno.execPath()`). */
  deno: string;
  /** The repository (the directory of deno.json). */
  repo: string;
  /** The training entry point, `<repo>/lib/runs/train_main.ts`. */
  trainScript: string;
  /** Deno's cache (`DENO_DIR`). */
  denoDir: string;
  /** `XDG_CACHE_HOME` for the tasks: the data cache is `<it>/voxlab`. */
  cacheHome: string;
  /** The sweep directory; the scheduler's own messages go to `<it>/slurm/`. */
  dir: string;
}

/** Quote a word for bash. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The `--array` value: the points' indices and the `%K` limit. */
export function arraySpec(points: readonly SlurmPoint[], parallel?: number): string {
  const ids = points.map((p) => p.index).sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    ranges.push(j > i ? `${ids[i]}-${ids[j]}` : `${ids[i]}`);
    i = j + 1;
  }
  return ranges.join(",") + (parallel !== undefined ? `%${parallel}` : "");
}

/** The command line one point's task runs (for `--dry-run` and the script). */
export function taskCommand(point: SlurmPoint, env: ScriptEnvironment): string[] {
  return [env.deno, "run", "-A", env.trainScript, ...point.args, "--out", point.out];
}

/**
 * The job-array script for `points`.
 *
 * @throws {SlurmError} for bad options, no points, or a path SLURM cannot take.
 * @example
 * ```ts
 * import { jobScript } from "./script.ts";
 * const text = jobScript([{ index: 0, name: "01_a=1", out: "/s/01_a=1", args: ["/e.ts"] }], {
 *   deno: "/bin/deno", repo: "/r", trainScript: "/r/lib/runs/train_main.ts", denoDir: "/d",
 *   cacheHome: "/c", dir: "/s",
 * }, { parallel: 2 });
 * console.assert(text.includes("#SBATCH --array=0%2"));
 * ```
 */
export function jobScript(
  points: readonly SlurmPoint[],
  env: ScriptEnvironment,
  options: SlurmOptions = {},
): string {
  if (points.length === 0) throw new SlurmError("Cannot write the job script: no points");
  if (/\s/.test(env.dir)) {
    throw new SlurmError(
      `Cannot use sweep directory '${env.dir}' on SLURM: #SBATCH lines cannot hold a path with spaces`,
    );
  }
  const q = shellQuote;
  const sbatch = [
    `--array=${arraySpec(points, options.parallel)}`,
    `--output=${env.dir}/slurm/%A_%a.out`,
    "--open-mode=append",
    ...sbatchOptionLines(options),
  ];
  const cases = points.map((p) =>
    `  ${p.index}) out=${q(p.out)}; set -- ${
      [...p.args, "--out", p.out].map(q).join(" ")
    } ;; # ${p.name}`
  );
  return [
    "#!/bin/bash",
    `# voxlab: ${points.length} training run(s), one array task each; written by the sweep launcher.`,
    "# Each task's output: <point>/train.log; the scheduler's messages: slurm/<job>_<task>.out.",
    ...sbatch.map((l) => `#SBATCH ${l}`),
    "set -u",
    `export DENO_DIR=${q(env.denoDir)}`,
    `export XDG_CACHE_HOME=${q(env.cacheHome)} # voxlab's data cache is $XDG_CACHE_HOME/voxlab`,
    `cd ${q(env.repo)} || exit 1`,
    'case "$SLURM_ARRAY_TASK_ID" in',
    ...cases,
    '  *) echo "voxlab: no point for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;',
    "esac",
    'mkdir -p "$out" || exit 1',
    'rm -f "$out/slurm.exit"',
    'echo "== voxlab: task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%FT%TZ)" >>"$out/train.log"',
    `${q(env.deno)} run -A ${q(env.trainScript)} "$@" >>"$out/train.log" 2>&1 &`,
    "pid=$!",
    "# --signal: SLURM sends USR1 to this shell only; training stops with a checkpoint on SIGTERM.",
    `trap 'kill -TERM "$pid" 2>/dev/null' USR1`,
    "# scancel and the time limit signal training directly: wait until it has saved.",
    "trap ':' TERM INT",
    'while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done',
    'wait "$pid"; code=$?',
    'echo "$code" >"$out/slurm.exit"',
    'exit "$code"',
    "",
  ].join("\n");
}
