/**
 * The one error kind the data pipeline throws for bad input.
 *
 * @module
 */

/**
 * Bad input data: a file that cannot be decoded, an unsupported encoding, NaN
 * samples, a clip shorter than one frame, a manifest row naming a missing file
 * or an unknown attribute value. The message is one line that names the file
 * and the problem, e.g.
 * `Cannot read audio file 'a.wav': expected 'RIFF' header, found 'ID3'`.
 *
 * Loaders skip such inputs by default and count them; with `strict` they
 * throw the first one.
 *
 * @example Catch it and print the one-line message
 * ```ts
 * import { DataError, decodeWav } from "./mod.ts";
 * try {
 *   decodeWav(new Uint8Array(4), { path: "empty.wav" });
 * } catch (e) {
 *   if (!(e instanceof DataError)) throw e;
 *   console.assert(e.path === "empty.wav");
 * }
 * ```
 */
export class DataError extends Error {
  /** The class name, shown before the message in a stack trace. */
  override name = "DataError";
  /** The file (or manifest) the problem is in. */
  readonly path: string;
  /** The problem, without the file name. */
  readonly problem: string;

  /** Build the error; `action` is e.g. `Cannot read audio file`. */
  constructor(action: string, path: string, problem: string) {
    super(`${action} '${path}': ${problem}`);
    this.path = path;
    this.problem = problem;
  }
}

/** One input that a loader skipped, with the reason. */
export interface SkippedInput {
  /** The file or manifest row location. */
  path: string;
  /** The problem, one line. */
  problem: string;
}
