/**
 * The paths a sweep's tasks use on the compute nodes, and whether they can
 * see them: on a cluster the repository, the sweep directory, the data, the
 * data cache and Deno's cache must be on a filesystem every node mounts, at
 * the same path.
 *
 * @module
 */
import { SlurmError } from "./options.ts";
import { exists } from "./state.ts";

/** One path the tasks use. */
export interface SharedPath {
  /** What it is, e.g. `repository`, `Deno cache`. */
  what: string;
  /** Absolute path. */
  path: string;
  /**
   * Whether it must exist before the tasks start (else a task creates it).
   * @default {true}
   */
  required?: boolean;
}

/** What {@linkcode checkSharedPaths} finds. */
export interface SharedPathReport {
  /** One line per path: what, path, filesystem type. */
  lines: string[];
  /** Problems the user should fix or know about (the job is still submitted). */
  warnings: string[];
}

/** Filesystem types that are seen from other machines. */
const NETWORK_FS =
  /^(nfs4?|lustre|gpfs|beegfs|cifs|smb3?|ceph|cephfs|glusterfs|panfs|wekafs|9p|fuse\..*|afs|orangefs|pvfs2|virtiofs)$/;

/** The mount table: mount point → filesystem type (empty where there is no /proc/mounts). */
async function mounts(): Promise<[string, string][]> {
  try {
    const text = await Deno.readTextFile("/proc/mounts");
    return text.split("\n").map((l) => l.split(" "))
      .filter((f) => f.length > 2)
      .map((f) => [f[1]!.replace(/\\040/g, " "), f[2]!] as [string, string]);
  } catch {
    return [];
  }
}

/** The filesystem type holding `path` (its nearest existing ancestor), or `"?"`. */
function fsType(path: string, table: [string, string][]): string {
  let best = "", type = "?";
  for (const [mount, t] of table) {
    const inside = path === mount || path.startsWith(mount.endsWith("/") ? mount : mount + "/");
    if (inside && mount.length >= best.length) [best, type] = [mount, t];
  }
  return type;
}

/**
 * Check the paths the tasks use.
 *
 * @param nodes The partition's node count (null if unknown): a path local to
 * this machine is a warning only when the tasks may run elsewhere.
 * @throws {SlurmError} when a required path does not exist.
 */
export async function checkSharedPaths(
  paths: readonly SharedPath[],
  nodes: number | null,
): Promise<SharedPathReport> {
  const table = await mounts();
  const width = Math.max(...paths.map((p) => p.what.length));
  const lines: string[] = [], warnings: string[] = [];
  for (const p of paths) {
    const present = await exists(p.path);
    if (!present && (p.required ?? true)) {
      throw new SlurmError(`Cannot submit: the ${p.what} '${p.path}' does not exist`);
    }
    const type = fsType(p.path, table);
    const local = /^\/(tmp|var\/tmp|dev\/shm)(\/|$)/.test(p.path) || type === "tmpfs";
    const network = NETWORK_FS.test(type);
    lines.push(
      `  ${p.what.padEnd(width)}  ${p.path}  (${type}${network ? ", network" : ""}${
        present ? "" : ", created by the tasks"
      })`,
    );
    if (local && nodes !== 1) {
      warnings.push(
        `the ${p.what} '${p.path}' is on ${
          type === "tmpfs" ? "tmpfs" : "a temporary directory"
        } of this machine: tasks on other nodes will not see it`,
      );
    }
  }
  return { lines, warnings };
}
