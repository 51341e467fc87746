/**
 * A run's status as it is now. `run.json` says `running` from the start of
 * training until it ends; when the process is killed (kill -9, a closed
 * terminal, a crash) it keeps saying so. A run that records its process and
 * host, and whose process no longer runs on this host, is `dead`.
 *
 * @module
 */
import type { RunInfo, RunStatus } from "./report.ts";

/** A run's status now: `run.json`'s, or `dead` for a `running` run whose process is gone. */
export type LiveStatus = RunStatus | "dead";

/** Whether process `pid` runs on this machine; `null` when that cannot be told. */
function processRunning(pid: number): boolean | null {
  if (pid === Deno.pid) return true;
  if (Deno.build.os !== "linux") return null;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * A run's status now. A run on another host, or written before voxlab
 * recorded the process, keeps what `run.json` says.
 *
 * @example
 * ```ts
 * import { liveStatus } from "./live_status.ts";
 * console.assert(liveStatus({ status: "completed" }) === "completed");
 * console.assert(liveStatus({ status: "running", pid: Deno.pid, host: Deno.hostname() }) === "running");
 * ```
 */
export function liveStatus(info: Pick<RunInfo, "status" | "pid" | "host">): LiveStatus {
  if (info.status !== "running" || info.pid === undefined || info.host === undefined) {
    return info.status;
  }
  if (info.host !== Deno.hostname()) return "running";
  return processRunning(info.pid) === false ? "dead" : "running";
}
