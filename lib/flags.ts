/**
 * Reading command-line flag values: integers, names from a list, durations.
 * Each throws a `RangeError` whose message names the flag and what it expects,
 * for the one-line error a command prints.
 *
 * @module
 */

/**
 * Read an integer flag.
 *
 * @param flag The flag as the user typed it, e.g. `--threads`.
 * @param text The flag's value.
 * @param min The smallest value allowed.
 * @throws {RangeError} when `text` is not an integer >= `min`.
 * @example Zero threads means one per core
 * ```ts
 * import { intFlag } from "./flags.ts";
 * console.assert(intFlag("--threads", "0", 0) === 0);
 * ```
 */
export function intFlag(flag: string, text: string, min = 1): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new RangeError(`Invalid ${flag} '${text}': expected an integer >= ${min}`);
  }
  return n;
}

/**
 * Read a flag that must be one of a fixed list of names.
 *
 * @throws {RangeError} when `text` is not in `choices`.
 * @example A backend name
 * ```ts
 * import { choiceFlag } from "./flags.ts";
 * const backend = choiceFlag("--backend", "cpu", ["cpu", "wasm"] as const);
 * ```
 */
export function choiceFlag<T extends string>(
  flag: string,
  text: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new RangeError(`Invalid ${flag} '${text}': expected one of ${choices.join(", ")}`);
  }
  return text as T;
}

/**
 * Parse a duration (`--max-time`): plain seconds or a number with s, m or h.
 *
 * @throws {RangeError} for anything else.
 * @example
 * ```ts
 * import { parseDuration } from "./flags.ts";
 * console.assert(parseDuration("1.5h") === 5400 && parseDuration("90") === 90);
 * ```
 */
export function parseDuration(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)\s*(s|m|h)?$/);
  if (!m) {
    throw new RangeError(
      `Invalid --max-time '${text}': expected seconds or a number with s, m or h`,
    );
  }
  const unit = { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s" | "m" | "h"];
  return Number(m[1]) * unit;
}
