/**
 * Watch a submitted job array until its tasks have left the queue: one
 * progress line (tasks pending, running, done and failed, and each running
 * run's iteration from its `metrics.jsonl`), a line per event (a task starts,
 * ends, fails — named by the last line of its log), and Ctrl-C to cancel the
 * job or detach from it.
 *
 * @module
 */
import { findRunDir } from "../point.ts";
import { lastIteration, type PointStatus, readPointStatus } from "./state.ts";
import type { SlurmPoint } from "./script.ts";
import { cancel, type EndedTask, jobTaskStates, queuedTasks } from "./scheduler.ts";
import { SlurmError } from "./options.ts";

/** What Ctrl-C does while watching. */
export type InterruptChoice = "cancel" | "detach";

/** Options for {@linkcode watchJob}. */
export interface WatchOptions {
  /**
   * Milliseconds between polls of the queue.
   * @default {2000}
   */
  interval?: number;
  /**
   * Event lines (a task started, ended, failed).
   * @default {console.log}
   */
  log?: (line: string) => void;
  /**
   * The progress line, each time it changes.
   * @default {rewritten in place on a terminal, else printed at most every 30 s}
   */
  progress?: (line: string) => void;
  /**
   * Asked on Ctrl-C; without it, a terminal asks the user and anything else detaches.
   * @default {ask on a terminal, else "detach"}
   */
  onInterrupt?: () => InterruptChoice | Promise<InterruptChoice>;
  /**
   * Stops watching (as a detach) when aborted.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** A point's outcome after watching. */
export interface WatchedPoint {
  /** The point as submitted. */
  point: SlurmPoint;
  /** Its state read from its directory once its task left the queue. */
  status: PointStatus;
  /** How SLURM saw its task end (while it remembers the job), or null. */
  scheduler: EndedTask | null;
}

/** What {@linkcode watchJob} returns. */
export interface WatchResult {
  /** `finished`: every task left the queue; `detached`: the job runs on; `cancelled`: scancel'ed. */
  outcome: "finished" | "detached" | "cancelled";
  /** The submitted points, in index order (statuses as of the end of watching). */
  points: WatchedPoint[];
}

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

/** A short label for a point in the progress line: the name's leading number if it has one. */
function short(name: string): string {
  return name.match(/^\d+(?=_|$)/)?.[0] ?? (name.length > 14 ? name.slice(0, 13) + "…" : name);
}

/** The default progress display: in place on a terminal, else a line every 30 s at most. */
function defaultProgress(): { show: (line: string) => void; clear: () => void } {
  const tty = Deno.stdout.isTerminal();
  const enc = new TextEncoder();
  let last = 0, shown = "";
  return {
    show: (line) => {
      if (tty) {
        Deno.stdout.writeSync(enc.encode(`\r\x1b[K${line}`));
        shown = line;
      } else if (Date.now() - last >= 30_000) {
        console.log(line);
        last = Date.now();
      }
    },
    clear: () => {
      if (tty && shown) Deno.stdout.writeSync(enc.encode("\r\x1b[K"));
      shown = "";
    },
  };
}

/** Ask on the terminal whether to cancel the job or detach. */
function askUser(jobId: string): InterruptChoice {
  if (!Deno.stdin.isTerminal()) return "detach";
  const answer = prompt(`\nCancel job ${jobId} with scancel, or detach and let it run? [c/D]`);
  return answer?.trim().toLowerCase().startsWith("c") ? "cancel" : "detach";
}

/**
 * Watch array job `jobId`, whose tasks run `points` (array index = point
 * index), until none of them is queued, the user detaches, or it is cancelled.
 *
 * @throws {SlurmError} when squeue keeps failing (the controller is down).
 */
export async function watchJob(
  jobId: string,
  points: readonly SlurmPoint[],
  options: WatchOptions = {},
): Promise<WatchResult> {
  const interval = options.interval ?? 2000;
  const display = defaultProgress();
  const log = (line: string) => {
    display.clear();
    (options.log ?? console.log)(line);
  };
  const progress = options.progress ?? display.show;

  // Ctrl-C: stop sleeping and decide.
  let interrupted = false;
  let wake: () => void = () => {};
  const onSigint = () => {
    interrupted = true;
    wake();
  };
  let listening = false;
  try {
    Deno.addSignalListener("SIGINT", onSigint);
    listening = true;
  } catch { /* no SIGINT here */ }
  options.signal?.addEventListener("abort", onSigint);

  const seen = new Map<number, string>(); // index → last shown state
  const ended = new Map<number, PointStatus>();
  let failures = 0;
  let outcome: WatchResult["outcome"] = "finished";
  let cancelling = false;
  try {
    while (true) {
      let queue;
      try {
        queue = await queuedTasks(jobId);
        failures = 0;
      } catch (e) {
        if (!(e instanceof SlurmError) || ++failures >= 5) throw e;
        queue = null;
      }
      if (queue) {
        const counts = { pending: 0, running: 0, done: 0, failed: 0 };
        const iterations: string[] = [];
        for (const p of points) {
          const q = queue.get(p.index);
          let state: string;
          if (q) {
            state = q.state === "PD" ? "pending" : "running";
            if (state === "running") {
              const runDir = await findRunDir(p.out);
              iterations.push(`${short(p.name)} it ${runDir ? await lastIteration(runDir) : 0}`);
            }
          } else {
            let status = ended.get(p.index);
            if (!status) {
              status = await readPointStatus(p.out);
              ended.set(p.index, status);
            }
            state = status.state === "done" ? "done" : "failed";
          }
          counts[state as keyof typeof counts]++;
          if (seen.get(p.index) !== state) {
            seen.set(p.index, state);
            const s = ended.get(p.index);
            if (state === "running") log(`${clock()} ${p.name} running`);
            else if (state === "done") {
              log(`${clock()} ${p.name} done at iteration ${s!.iteration}`);
            } else if (state === "failed") {
              const how = (await jobTaskStates(jobId)).get(p.index);
              log(`${clock()} ${p.name} ${describeFailure(s!, how)}`);
            }
          }
        }
        progress(
          `job ${jobId}: ${counts.pending} pending, ${counts.running} running, ${counts.done} done, ${counts.failed} failed` +
            (iterations.length ? ` | ${iterations.join(", ")}` : ""),
        );
        if (counts.pending + counts.running === 0) break;
      }
      if (interrupted && !cancelling) {
        interrupted = false;
        display.clear();
        const choice = options.signal?.aborted
          ? "detach"
          : options.onInterrupt
          ? await options.onInterrupt()
          : askUser(jobId);
        if (choice === "detach") {
          outcome = "detached";
          break;
        }
        await cancel(jobId);
        log(`${clock()} job ${jobId} cancelled; waiting for its tasks to save and leave the queue`);
        outcome = "cancelled";
        cancelling = true;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    if (listening) Deno.removeSignalListener("SIGINT", onSigint);
    options.signal?.removeEventListener("abort", onSigint);
    display.clear();
  }
  const scheduler = await jobTaskStates(jobId);
  const result: WatchedPoint[] = [];
  for (const p of points) {
    const status = outcome === "detached" ? await readPointStatus(p.out) : ended.get(p.index) ??
      await readPointStatus(p.out);
    result.push({ point: p, status, scheduler: scheduler.get(p.index) ?? null });
  }
  return { outcome, points: result };
}

/** One line naming why a point is not done: its state and its log's last line. */
export function describeFailure(status: PointStatus, scheduler?: EndedTask | null): string {
  // SLURM's verdict when it says more than the exit code (CANCELLED, TIMEOUT, OUT_OF_MEMORY, …).
  const how = scheduler && !["COMPLETED", "FAILED"].includes(scheduler.state)
    ? ` (${scheduler.state})`
    : "";
  if (status.state === "unfinished") {
    return `stopped at iteration ${status.iteration}${how}, with a checkpoint: re-run the sweep to resume`;
  }
  const last = status.info?.statusMessage || status.lastLine || "no output";
  return `FAILED${status.exitCode ? ` (exit ${status.exitCode})` : ""}${how}: ${last}`;
}
