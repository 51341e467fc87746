/**
 * The few SLURM commands the launcher uses: `sbatch` to submit, `squeue`
 * and `scontrol show job` to watch (there may be no accounting database, so
 * no `sacct`), `scancel` to cancel, `sinfo` to count a partition's nodes.
 *
 * @module
 */
import { SlurmError } from "./options.ts";

/** What a command printed, and its exit code; null when it is not installed. */
async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string } | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/**
 * Why SLURM cannot take jobs from here, or null when it can: `sbatch` is
 * installed and the controller answers `squeue`.
 */
export async function slurmUnavailable(): Promise<string | null> {
  if ((await run("sbatch", ["--version"])) === null) return "no 'sbatch' on PATH";
  const q = await run("squeue", ["-h", "-o", "%i"]);
  if (q === null) return "no 'squeue' on PATH";
  if (q.code !== 0) return `the SLURM controller does not answer: ${firstLine(q.stderr)}`;
  return null;
}

/**
 * Submit a batch script; returns the job id.
 *
 * @throws {SlurmError} with sbatch's own message when it refuses.
 */
export async function submit(scriptPath: string, cwd: string): Promise<string> {
  const out = await run("sbatch", ["--parsable", `--chdir=${cwd}`, scriptPath]);
  if (out === null) throw new SlurmError("Cannot submit the job: no 'sbatch' on PATH");
  const id = out.stdout.trim().split(";")[0] ?? "";
  if (out.code !== 0 || !/^\d+$/.test(id)) {
    throw new SlurmError(
      `Cannot submit the job: sbatch ${scriptPath}: ${
        firstLine(out.stderr) || firstLine(out.stdout) || `exit ${out.code}`
      }`,
    );
  }
  return id;
}

/** A queued or running array task. */
export interface QueuedTask {
  /** The array index. */
  index: number;
  /** squeue's compact state: `PD` pending, `R` running, `CG` completing, … */
  state: string;
  /** Why it waits, when pending (e.g. `Resources`, `JobArrayTaskLimit`). */
  reason: string;
}

/**
 * The array tasks of a job still in the queue, by array index. An empty map
 * means every task has left the queue.
 *
 * @throws {SlurmError} when squeue fails (the controller is down).
 */
export async function queuedTasks(jobId: string): Promise<Map<number, QueuedTask>> {
  const out = await run("squeue", ["-h", "-r", "-j", jobId, "-o", "%i|%t|%r"]);
  if (out === null) throw new SlurmError("Cannot watch the job: no 'squeue' on PATH");
  const tasks = new Map<number, QueuedTask>();
  if (out.code !== 0) {
    // A job id the controller has forgotten: nothing of it is queued.
    if (/Invalid job id/i.test(out.stderr)) return tasks;
    throw new SlurmError(`Cannot watch job ${jobId}: squeue: ${firstLine(out.stderr)}`);
  }
  for (const line of out.stdout.split("\n")) {
    const [id, state, reason] = line.trim().split("|");
    const m = id?.match(/^\d+_(\d+)$/);
    if (m && state) tasks.set(Number(m[1]), { index: Number(m[1]), state, reason: reason ?? "" });
  }
  return tasks;
}

/** How the scheduler saw an array task end, while it still remembers the job. */
export interface EndedTask {
  /** `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, … */
  state: string;
  /** `exit:signal`, e.g. `0:0`, `1:0`, `0:15`. */
  exitCode: string;
}

/**
 * Every array task's state from `scontrol show job` (kept for `MinJobAge`
 * after the job ends; empty once forgotten).
 */
export async function jobTaskStates(jobId: string): Promise<Map<number, EndedTask>> {
  const out = await run("scontrol", ["-o", "show", "job", jobId]);
  const tasks = new Map<number, EndedTask>();
  if (out === null || out.code !== 0) return tasks;
  for (const line of out.stdout.split("\n")) {
    const field = (name: string) => line.match(new RegExp(`(?:^|\\s)${name}=(\\S*)`))?.[1];
    const index = field("ArrayTaskId");
    const state = field("JobState");
    if (index !== undefined && /^\d+$/.test(index) && state) {
      tasks.set(Number(index), { state, exitCode: field("ExitCode") ?? "" });
    }
  }
  return tasks;
}

/**
 * Cancel a job (all its array tasks) or one task (`<job>_<index>`).
 *
 * @throws {SlurmError} with scancel's message when it fails.
 */
export async function cancel(id: string): Promise<void> {
  const out = await run("scancel", [id]);
  if (out === null) throw new SlurmError("Cannot cancel: no 'scancel' on PATH");
  if (out.code !== 0) throw new SlurmError(`Cannot cancel ${id}: ${firstLine(out.stderr)}`);
}

/** The number of nodes in a partition (the default one when not named), or null if unknown. */
export async function partitionNodes(partition?: string): Promise<number | null> {
  const out = await run("sinfo", ["-h", "-o", "%D|%P", ...(partition ? ["-p", partition] : [])]);
  if (out === null || out.code !== 0) return null;
  const rows = out.stdout.trim().split("\n").map((l) => l.split("|"));
  // sinfo prints a row per node state; without -p the default partition is marked '*'.
  const name = partition ?? rows.find((r) => r[1]?.endsWith("*"))?.[1];
  if (name === undefined) return null;
  const nodes = rows.filter((r) => r[1] === name).map((r) => Number(r[0]));
  return nodes.length > 0 && nodes.every(Number.isFinite) ? nodes.reduce((a, b) => a + b, 0) : null;
}
