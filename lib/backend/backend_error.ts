/**
 * The error voxlab raises when a backend cannot be prepared.
 *
 * @module
 */

/**
 * A backend could not be prepared; the message is one line meant for the user, e.g.
 * `Cannot use backend 'webgpu': no WebGPU adapter found`.
 */
export class BackendError extends Error {
  /** The class name, shown before the message in a stack trace. */
  override name = "BackendError";
}

/** The first non-empty line of a thrown value's message, for one-line reports. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n").map((line) => line.trim()).find((line) => line !== "") ??
    "unknown error";
}
