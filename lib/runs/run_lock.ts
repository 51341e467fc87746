/**
 * One writer per run directory: the process that trains a run (or resumes
 * it) holds an OS lock on its `run.lock` for as long as it writes there, so
 * a second `train --resume` (or a sweep point, or any other writer) is
 * refused with a line naming the holder instead of interleaving its
 * checkpoints and metrics with the first one's. The lock dies with its
 * process (`kill -9` included), so there is never a stale lock to remove.
 *
 * Holding the lock, the writer also removes the temporary files a killed
 * writer left behind (a partial checkpoint can fill a disk).
 *
 * @module
 */
import { join } from "node:path";
import { describeRemovedTemps, type RemovedTemp, removeStaleTemps } from "../io/atomic.ts";
import { type DirLock, lockDir } from "../io/lock.ts";
import { DIAGNOSTICS_FILES } from "../eval/diagnostics/records.ts";
import { RUN_FILES } from "./run_dir.ts";

/** Options for {@linkcode claimRunDir}. */
export interface ClaimRunDirOptions {
  /**
   * What this process does, shown to a refused writer (`train`, `train --resume`, …).
   * @default {"train"}
   */
  purpose?: string;
  /**
   * What a refused writer was trying, for its message.
   * @default {"write to run '<dir>'"}
   */
  action?: string;
  /**
   * Where the notice about removed temporary files goes.
   * @default {console.log}
   */
  log?: (line: string) => void;
}

/**
 * Take the run directory's lock, then remove the temporary files a killed
 * writer left in it (and in its `samples/` and diagnostics folders).
 *
 * @throws {LockedError} `Cannot resume run '<dir>': it is in use by process 1234 (train --resume, since …)`
 * @throws {IoError} when the lock file cannot be created
 *
 * @example
 * ```ts
 * import { claimRunDir } from "./run_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await claimRunDir(dir, { purpose: "train" });
 * lock.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function claimRunDir(dir: string, options: ClaimRunDirOptions = {}): Promise<DirLock> {
  const lock = await lockDir(dir, {
    name: RUN_FILES.lock,
    purpose: options.purpose ?? "train",
    action: options.action ?? `write to run '${dir}'`,
  });
  try {
    const removed: RemovedTemp[] = [];
    for (const sub of ["", RUN_FILES.samples, DIAGNOSTICS_FILES.pictures]) {
      removed.push(...await removeStaleTemps(sub ? join(dir, sub) : dir, { all: true }));
    }
    const notice = describeRemovedTemps(removed);
    if (notice) (options.log ?? console.log)(notice);
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}
