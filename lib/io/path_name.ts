/**
 * Names that become one component of a path (an experiment id under
 * `runs/`, a file name): checked, so that `../../elsewhere`, an empty name or
 * a name with a separator never writes outside the folder meant for it.
 *
 * @module
 */

/** The longest name accepted (most file systems allow 255 bytes). */
export const MAX_PATH_NAME = 100;

/**
 * What is wrong with `name` as one path component, or `null` when it is
 * fine: 1 to {@linkcode MAX_PATH_NAME} characters among letters, digits,
 * `.`, `_`, `-` and `+`, starting with a letter or a digit (so never `.`,
 * `..` or a hidden file).
 *
 * @example
 * ```ts
 * import { pathNameProblem } from "./path_name.ts";
 * console.assert(pathNameProblem("9ada9179") === null);
 * console.assert(pathNameProblem("../x") !== null && pathNameProblem("") !== null);
 * ```
 */
export function pathNameProblem(name: string): string | null {
  if (name === "") return "it is empty";
  if (name.length > MAX_PATH_NAME) {
    return `it has ${name.length} characters, at most ${MAX_PATH_NAME} are allowed`;
  }
  const bad = name.match(/[^A-Za-z0-9._+-]/)?.[0];
  if (bad !== undefined) {
    return `it contains ${JSON.stringify(bad)}; use letters, digits, '.', '_', '-' and '+'`;
  }
  if (!/^[A-Za-z0-9]/.test(name)) return "it must start with a letter or a digit";
  return null;
}

/**
 * Throw a `RangeError` when `name` cannot be one path component.
 *
 * @example
 * ```ts
 * import { checkPathName } from "./path_name.ts";
 * checkPathName("experiment id", "nofm");
 * ```
 */
export function checkPathName(what: string, name: string): void {
  const problem = pathNameProblem(name);
  if (problem) throw new RangeError(`Invalid ${what} ${JSON.stringify(name)}: ${problem}`);
}
