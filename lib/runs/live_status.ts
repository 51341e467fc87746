/**
 * A run's status as it is now. `run.json` says `running` from the start of
 * training until it ends; when the process is killed (kill -9, a closed
 * terminal, a crash) it keeps saying so. A run that records its process and
 * host, and whose process no longer runs on this host, is `dead`.
 *
 * @module
 */
/** What {@linkcode liveStatus} reads of a run's `run.json` (`RunInfo` in `./report.ts`). */
export interface ProcessRecord<S extends string> {
  /** The recorded status. */
  status: S;
  /** The training process's id, when recorded. */
  pid?: number | undefined;
  /** The host it ran on, when recorded. */
  host?: string | undefined;
}

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
export function liveStatus<S extends string>(info: ProcessRecord<S>): S | "running" | "dead" {
  if (info.status !== "running" || info.pid === undefined || info.host === undefined) {
    return info.status;
  }
  if (info.host !== Deno.hostname()) return "running";
  return processRunning(info.pid) === false ? "dead" : "running";
}
