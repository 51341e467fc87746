/**
 * The one error kind for a failed file-system operation: a full disk, a
 * read-only or missing folder, a permission refused. Its message is one line
 * that names the action, the path and the operating system's cause:
 * `Cannot write 'runs/x/checkpoint.vxck': No space left on device (os error 28)`.
 *
 * @module
 */

/**
 * A file-system operation that failed; the message is one line for the user.
 *
 * @example Wrap a failed write
 * ```ts
 * import { IoError } from "./io_error.ts";
 * const e = IoError.from("write", "/nowhere/x", new Deno.errors.NotFound("No such file or directory (os error 2)"));
 * console.assert(e.message === "Cannot write '/nowhere/x': No such file or directory (os error 2)");
 * ```
 */
export class IoError extends Error {
  /** The error class name. */
  override name = "IoError";
  /** The path the operation was on. */
  readonly path: string;
  /** The operating system's message, e.g. `No space left on device (os error 28)`. */
  readonly problem: string;

  /** Build the error; `action` is a verb such as `write` or `rename`. */
  constructor(action: string, path: string, problem: string, options?: ErrorOptions) {
    super(`Cannot ${action} '${path}': ${problem}`, options);
    this.path = path;
    this.problem = problem;
  }

  /**
   * Wrap an error thrown by a `Deno` file-system call. An {@linkcode IoError}
   * is returned as it is, so wrapping twice keeps the innermost path.
   */
  static from(action: string, path: string, error: unknown): IoError {
    if (error instanceof IoError) return error;
    const problem = error instanceof Error ? firstLine(error.message) : String(error);
    return new IoError(action, path, problem, { cause: error });
  }
}

/** The first line of a message, without Deno's `: <syscall> '<path>'` suffix. */
function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/: [a-z_]+ '.*$/, "");
}

/** Whether an error is the operating system saying the disk (or quota) is full. */
export function isNoSpace(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /os error (28|122)\b|No space left|ENOSPC|quota exceeded/i.test(text);
}
