/**
 * What a user can ask of SLURM for a sweep's tasks (`--partition`, `--time`,
 * `--cpus-per-task`, `--mem`, `--gres`, extra `#SBATCH` lines, the signal
 * margin and the array's parallelism), and their checks.
 *
 * @module
 */

/** A launcher setting SLURM would refuse or voxlab cannot use; the message is one line. */
export class SlurmError extends Error {
  /** The error class name. */
  override name = "SlurmError";
}

/** The resources and limits of every array task. */
export interface SlurmOptions {
  /**
   * `--partition`.
   * @default {the cluster's default partition}
   */
  partition?: string;
  /**
   * `--time`, in SLURM's form: minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`
   * or `D-HH:MM:SS`.
   * @default {the partition's limit}
   */
  time?: string;
  /**
   * `--cpus-per-task`.
   * @default {SLURM's default, 1}
   */
  cpusPerTask?: number;
  /**
   * `--mem`, e.g. `8G`.
   * @default {the partition's default}
   */
  mem?: string;
  /**
   * `--gres`, e.g. `gpu:1` for the tensorflow backend on a GPU.
   * @default {none}
   */
  gres?: string;
  /**
   * Extra sbatch options, one per `#SBATCH` line, e.g. `--account=speech`.
   * @default {[]}
   */
  sbatch?: readonly string[];
  /**
   * Seconds before the time limit at which SLURM signals the task, so that
   * training stops after its current iteration with a checkpoint. Used only
   * with `time`; 0 leaves it to the time limit's own SIGTERM (and SLURM's
   * KillWait before SIGKILL).
   * @default {120}
   */
  signalSeconds?: number;
  /**
   * Array tasks running at once (`%K`).
   * @default {all of them}
   */
  parallel?: number;
  /**
   * `--job-name`.
   * @default {"voxlab"}
   */
  jobName?: string;
}

/** The default margin, in seconds, between the checkpoint signal and the time limit. */
export const DEFAULT_SIGNAL_SECONDS = 120;

/**
 * Seconds in a SLURM time limit.
 *
 * @throws {SlurmError} when the text is not one of SLURM's forms.
 * @example
 * ```ts
 * import { parseSlurmTime } from "./options.ts";
 * console.assert(parseSlurmTime("90") === 5400);        // minutes
 * console.assert(parseSlurmTime("1:30:00") === 5400);
 * console.assert(parseSlurmTime("1-00") === 86400);     // days-hours
 * ```
 */
export function parseSlurmTime(text: string): number {
  const t = text.trim();
  const m = t.match(/^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/);
  if (!m) {
    throw new SlurmError(
      `Invalid --time '${text}': expected minutes, MM:SS, HH:MM:SS or D-HH[:MM[:SS]]`,
    );
  }
  const [, d, a, b, c] = m;
  const n = (s: string | undefined) => Number(s ?? 0);
  if (d !== undefined) return n(d) * 86400 + n(a) * 3600 + n(b) * 60 + n(c); // D-HH:MM:SS
  if (c !== undefined) return n(a) * 3600 + n(b) * 60 + n(c); // HH:MM:SS
  if (b !== undefined) return n(a) * 60 + n(b); // MM:SS
  return n(a) * 60; // minutes
}

/**
 * Check the options; returns the `#SBATCH` option lines (without the
 * `#SBATCH ` prefix) they stand for, array and output excepted.
 *
 * @throws {SlurmError} for a malformed value or a signal margin not inside the time limit.
 * @example
 * ```ts
 * import { sbatchOptionLines } from "./options.ts";
 * const lines = sbatchOptionLines({ time: "30", signalSeconds: 60, mem: "4G" });
 * console.assert(lines.join(" ") === "--job-name=voxlab --time=30 --mem=4G --signal=B:USR1@60");
 * ```
 */
export function sbatchOptionLines(options: SlurmOptions): string[] {
  const word = (flag: string, value: string | undefined, re: RegExp, what: string) => {
    if (value === undefined) return [];
    if (!re.test(value)) throw new SlurmError(`Invalid ${flag} '${value}': expected ${what}`);
    return [`${flag}=${value}`];
  };
  const lines = [
    ...word("--job-name", options.jobName ?? "voxlab", /^[\w.+-]+$/, "letters, digits, ._+-"),
    ...word("--partition", options.partition, /^[\w.,-]+$/, "a partition name"),
  ];
  let limit: number | undefined;
  if (options.time !== undefined) {
    limit = parseSlurmTime(options.time);
    lines.push(`--time=${options.time.trim()}`);
  }
  if (options.cpusPerTask !== undefined) {
    if (!Number.isInteger(options.cpusPerTask) || options.cpusPerTask < 1) {
      throw new SlurmError(
        `Invalid --cpus-per-task '${options.cpusPerTask}': expected an integer >= 1`,
      );
    }
    lines.push(`--cpus-per-task=${options.cpusPerTask}`);
  }
  lines.push(...word("--mem", options.mem, /^\d+[KMGT]?$/i, "a size such as 8G or 16000M"));
  lines.push(...word("--gres", options.gres, /^[\w:,.=-]+$/, "a list such as gpu:1"));
  const margin = options.signalSeconds ?? DEFAULT_SIGNAL_SECONDS;
  if (!Number.isInteger(margin) || margin < 0) {
    throw new SlurmError(`Invalid --signal '${margin}': expected whole seconds >= 0`);
  }
  if (limit !== undefined && margin > 0) {
    if (margin >= limit) {
      throw new SlurmError(
        `Invalid --signal ${margin}: it must be shorter than --time ${options.time} (${limit} s)`,
      );
    }
    // B: signals only the batch shell, which passes SIGTERM on to training
    // once (see the script): a second SIGTERM would make training quit at once.
    lines.push(`--signal=B:USR1@${margin}`);
  }
  for (const extra of options.sbatch ?? []) {
    const line = extra.trim().replace(/^#SBATCH\s+/, "");
    if (!/^--?[A-Za-z]/.test(line) || /[\n\r]/.test(line)) {
      throw new SlurmError(
        `Invalid --sbatch '${extra}': expected one sbatch option such as --account=speech`,
      );
    }
    if (/^--(array|output|error|open-mode)\b/.test(line)) {
      throw new SlurmError(
        `Invalid --sbatch '${extra}': voxlab sets ${line.split("=")[0]} itself`,
      );
    }
    lines.push(line);
  }
  if (
    options.parallel !== undefined && (!Number.isInteger(options.parallel) || options.parallel < 1)
  ) {
    throw new SlurmError(`Invalid --parallel '${options.parallel}': expected an integer >= 1`);
  }
  return lines;
}
