/**
 * Confining request paths to a folder: the board serves files of the runs
 * directory only, so a path from a request is refused when it is absolute,
 * has a `..` part, or resolves (through symlinks) to a place outside.
 *
 * @module
 */

import { join } from "node:path";

/** A request path that points outside the allowed folder, or at nothing. */
export class BoardPathError extends Error {
  /** The error class name. */
  override name = "BoardPathError";
  /** The HTTP status the board answers with: 403 refused, 404 missing. */
  readonly status: 403 | 404;

  /** A refused (403) or missing (404) path. */
  constructor(message: string, status: 403 | 404) {
    super(message);
    this.status = status;
  }
}

/**
 * Resolve `relative` inside `root` and return its real path.
 *
 * Refused (403): absolute paths (`/x`, `\x`, `C:x`), any `..` part, NUL
 * bytes, and paths whose real path (symlinks resolved) lies outside the real
 * path of `root`. Missing (404): paths that do not exist.
 *
 * @example
 * ```ts
 * import { confinePath } from "./paths.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/a.txt`, "a");
 * console.assert((await confinePath(root, "a.txt")).endsWith("/a.txt"));
 * await confinePath(root, "../etc/passwd").catch((e) => console.assert(e.status === 403));
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function confinePath(root: string, relative: string): Promise<string> {
  if (relative.includes("\0")) throw new BoardPathError("Cannot open path: it has a NUL byte", 403);
  if (/^([/\\]|[a-zA-Z]:)/.test(relative)) {
    throw new BoardPathError(`Cannot open path '${relative}': absolute paths are refused`, 403);
  }
  const parts = relative.split(/[/\\]+/).filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new BoardPathError(`Cannot open path '${relative}': '..' is refused`, 403);
  }
  const realRoot = await Deno.realPath(root);
  let real: string;
  try {
    real = await Deno.realPath(join(realRoot, ...parts));
  } catch {
    throw new BoardPathError(`Cannot open path '${relative}': no such file`, 404);
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith("/") ? realRoot : `${realRoot}/`)) {
    throw new BoardPathError(`Cannot open path '${relative}': it leads outside the folder`, 403);
  }
  return real;
}
