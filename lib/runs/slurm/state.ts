/**
 * Where a point stands, read from its directory alone (no accounting
 * database needed): its newest run's `run.json`, checkpoint and
 * `metrics.jsonl`, the task's `train.log` and the exit code the job script
 * leaves in `slurm.exit`. From that, which points to (re)submit and with
 * which arguments.
 *
 * @module
 */
import { join } from "node:path";
import type { RunInfo } from "../report.ts";
import { RUN_FILES } from "../run_dir.ts";
import { findRunDir } from "../point.ts";
import type { SlurmPoint } from "./script.ts";

/**
 * - `missing`: never started;
 * - `done`: training ended as asked (all iterations, `--max-steps` or `--max-time`);
 * - `unfinished`: stopped with a checkpoint (cancelled, time limit, killed): `--resume` continues it;
 * - `failed`: ended with an error, or died before its first checkpoint.
 */
export type PointState = "missing" | "done" | "unfinished" | "failed";

/** What {@linkcode readPointStatus} finds. */
export interface PointStatus {
  /** See {@linkcode PointState}. */
  state: PointState;
  /** The newest run directory under the point's directory, or null. */
  runDir: string | null;
  /** Iterations done (from `run.json`, or `metrics.jsonl` while running). */
  iteration: number;
  /** The run's `run.json`, when there is one. */
  info: RunInfo | null;
  /** The task's exit code, when the job script recorded one. */
  exitCode: number | null;
  /** The last non-empty line of `train.log` (`""` if none): what a failure is named by. */
  lastLine: string;
}

/** The last `bytes` of a file as text, or `""` when it cannot be read. */
async function tail(path: string, bytes = 4096): Promise<string> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    const size = (await file.stat()).size;
    const start = Math.max(0, size - bytes);
    await file.seek(start, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - start);
    let read = 0;
    while (read < buf.length) {
      const n = await file.read(buf.subarray(read));
      if (n === null) break;
      read += n;
    }
    return new TextDecoder().decode(buf.subarray(0, read));
  } catch {
    return "";
  } finally {
    file?.close();
  }
}

/** The last non-empty line of a log, with progress-bar carriage returns resolved. */
export async function lastLogLine(path: string): Promise<string> {
  const lines = (await tail(path)).split("\n")
    .map((l) => l.split("\r").filter((s) => s.trim()).pop() ?? "")
    .map((l) => l.trim())
    .filter((l) => l);
  return lines.at(-1) ?? "";
}

/** The iteration of the last complete record in a run's `metrics.jsonl`, or 0. */
export async function lastIteration(runDir: string): Promise<number> {
  const lines = (await tail(join(runDir, RUN_FILES.metrics))).split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const rec = JSON.parse(lines[i]!) as { iteration?: unknown };
      // 1-based: the number of iterations done.
      if (typeof rec.iteration === "number") return rec.iteration;
    } catch { /* a partial first or last line */ }
  }
  return 0;
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return null;
  }
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Training ended the way it was asked to. */
const ENDED_AS_ASKED: readonly string[] = ["completed", "max-steps", "max-time"];

/**
 * Read a point's state from its directory. Call it for points whose task is
 * not in the queue: a task still running looks `unfinished` or `failed`.
 */
export async function readPointStatus(out: string): Promise<PointStatus> {
  const runDir = await findRunDir(out);
  const info = runDir ? await readJson<RunInfo>(join(runDir, RUN_FILES.info)) : null;
  const exitText = await Deno.readTextFile(join(out, "slurm.exit")).catch(() => null);
  const exitCode = exitText !== null && /^\d+\s*$/.test(exitText) ? Number(exitText) : null;
  const lastLine = await lastLogLine(join(out, "train.log"));
  const iteration = info?.iteration ?? (runDir ? await lastIteration(runDir) : 0);
  const base = { runDir, info, exitCode, lastLine, iteration };
  if (info && ENDED_AS_ASKED.includes(info.status) && (exitCode ?? 0) === 0) {
    return { ...base, state: "done" };
  }
  const checkpoint = runDir !== null && await exists(join(runDir, RUN_FILES.checkpoint));
  if (info && info.status !== "non-finite" && checkpoint && info.iteration > 0) {
    return { ...base, state: "unfinished" };
  }
  if (runDir || exitCode !== null || lastLine) return { ...base, state: "failed" };
  return { ...base, state: "missing" };
}

/** Seconds in a `--max-time` value (plain seconds, or with s, m or h). */
function seconds(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)\s*(s|m|h)?$/);
  return m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s" | "m" | "h"] : NaN;
}

/**
 * The arguments that continue an unfinished run: `--resume <run dir>`, and a
 * `--max-steps` / `--max-time` budget reduced by what the run has done (both
 * count from where a run starts). Null when the budget is already spent.
 *
 * @example
 * ```ts
 * import { resumeArgs } from "./state.ts";
 * const args = resumeArgs(["e.ts", "--max-steps", "40"], "/s/01/e/t", { iteration: 15, elapsedSeconds: 9 });
 * console.assert(args!.join(" ") === "e.ts --max-steps 25 --resume /s/01/e/t");
 * ```
 */
export function resumeArgs(
  args: readonly string[],
  runDir: string,
  done: { iteration: number; elapsedSeconds: number },
): string[] | null {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--resume") {
      i++;
      continue;
    }
    if ((a === "--max-steps" || a === "--max-time") && i + 1 < args.length) {
      const budget = a === "--max-steps" ? Number(args[i + 1]) : seconds(args[i + 1]!);
      const left = budget - (a === "--max-steps" ? done.iteration : done.elapsedSeconds);
      if (Number.isFinite(left) && left <= 0) return null;
      out.push(
        a,
        Number.isFinite(left) ? String(a === "--max-steps" ? left : Math.ceil(left)) : args[i + 1]!,
      );
      i++;
      continue;
    }
    out.push(a);
  }
  return [...out, "--resume", runDir];
}

/** A point and what re-running the sweep does with it. */
export interface PlannedPoint {
  /** The point, with the arguments to submit it with (fresh, or `--resume`). */
  point: SlurmPoint;
  /** Its state before submission. */
  status: PointStatus;
  /** Whether it is (re)submitted. */
  submit: boolean;
}

/**
 * Decide, for every point of a sweep, whether to submit it: missing and
 * failed points start afresh, unfinished ones continue with `--resume`, done
 * ones are left alone. `points` carry the fresh-start arguments.
 */
export async function planPoints(points: readonly SlurmPoint[]): Promise<PlannedPoint[]> {
  const plan: PlannedPoint[] = [];
  for (const point of points) {
    const status = await readPointStatus(point.out);
    if (status.state === "done") {
      plan.push({ point, status, submit: false });
    } else if (status.state === "unfinished") {
      const args = resumeArgs(point.args, status.runDir!, {
        iteration: status.iteration,
        elapsedSeconds: status.info?.elapsedSeconds ?? 0,
      });
      // A run whose budget is spent but that was stopped right at its end is done.
      plan.push(
        args === null
          ? { point, status: { ...status, state: "done" }, submit: false }
          : { point: { ...point, args }, status, submit: true },
      );
    } else {
      plan.push({ point, status, submit: true });
    }
  }
  return plan;
}
