/**
 * The command-line plumbing every task shares: parse the flags (`--help`
 * prints the usage, a bad flag is a one-line error), read integer and choice
 * flags, and turn known errors into a one-line message and exit code 1.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** How a task describes its command line to {@linkcode parseTaskArgs}. */
export interface TaskCli<O extends ParseArgsOptionsConfig> {
  /** The task's name, used in the hint `see 'deno task NAME --help'`. */
  name: string;
  /** The usage text `--help` prints; it lists every flag. */
  usage: string;
  /** The flags besides `--help`, as for `parseArgs` from `node:util`. */
  options: O;
  /**
   * Put before every error line, e.g. `"compare: "`.
   * @default {""}
   */
  prefix?: string;
}

/** The flags and positionals of a task's command line, as `parseArgs` returns them. */
export type TaskArgs<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{
    args: string[];
    allowPositionals: true;
    options: O & { help: { type: "boolean"; default: false } };
  }>
>;

/**
 * Parse a task's command line. Returns the exit code instead when there is
 * nothing left to do: 0 after printing the usage for `--help`, 1 after a
 * one-line error for an unknown flag or a flag without its value.
 *
 * @throws {Error} when the usage does not mention one of the flags (a
 * mistake in the task, not in the command line).
 *
 * @example Parse, or return the exit code
 * ```ts
 * import { parseTaskArgs } from "./cli.ts";
 * const parsed = parseTaskArgs(["a.ts", "--out", "x"], {
 *   name: "demo",
 *   usage: "Usage: deno task demo <file> [--out DIR] [--help]",
 *   options: { out: { type: "string", default: "runs" } },
 * });
 * if (typeof parsed !== "number") console.log(parsed.values.out, parsed.positionals);
 * ```
 */
export function parseTaskArgs<const O extends ParseArgsOptionsConfig>(
  args: string[],
  cli: TaskCli<O>,
): TaskArgs<O> | number {
  const unlisted = [...Object.keys(cli.options), "help"].filter((flag) =>
    !new RegExp(`--${flag}(?![\\w-])`).test(cli.usage)
  );
  if (unlisted.length > 0) {
    throw new Error(
      `Cannot parse the arguments of task '${cli.name}': its usage does not list ${
        unlisted.map((f) => `--${f}`).join(", ")
      }`,
    );
  }
  let parsed: TaskArgs<O>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...cli.options, help: { type: "boolean", default: false } as const },
    }) as TaskArgs<O>;
  } catch (e) {
    // node's message goes on with advice about '--'; its first sentence is the point.
    const first = (e as Error).message.split(/\.\s/)[0]!.replace(/\.$/, "");
    return usageError(cli, `Cannot parse arguments: ${first}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(cli.usage);
    return 0;
  }
  return parsed;
}

/**
 * Print a one-line usage error (with the hint to `--help`) and return exit code 1.
 *
 * @example Too many positionals
 * ```ts
 * import { usageError } from "./cli.ts";
 * const code = usageError({ name: "demo" }, "Cannot run: expected one file, got 2");
 * console.assert(code === 1);
 * ```
 */
export function usageError(cli: { name: string; prefix?: string }, message: string): number {
  console.error(`${cli.prefix ?? ""}${message}; see 'deno task ${cli.name} --help'`);
  return 1;
}

export { choiceFlag, intFlag } from "../lib/flags.ts";

/** Options for {@linkcode userPath}. */
export interface UserPathOptions {
  /**
   * What a relative path is relative to: `"user"`, the directory the user
   * ran `deno task` in (a path they typed), or `"project"`, the directory of
   * deno.json (a default such as `runs`).
   * @default {"user"}
   */
  base?: "user" | "project";
}

/**
 * A path from the command line, usable from the task's working directory.
 *
 * `deno task` runs a task in the directory of deno.json and puts the
 * directory the user ran it in into `INIT_CWD`. A relative path the user
 * typed is resolved against `INIT_CWD`, so `cd experiments && deno task
 * train 9ada9179.ts` finds the file; a `"project"` path stays relative to
 * deno.json's directory. When the two directories differ the result is
 * absolute (so that a path printed back is right for the user too);
 * otherwise, and without `INIT_CWD` (`deno run tasks/….ts`), the path is
 * returned as it is.
 *
 * @example From a subdirectory
 * ```ts
 * import { userPath } from "./cli.ts";
 * import { equal } from "node:assert/strict";
 * const saved = Deno.env.get("INIT_CWD");
 * Deno.env.set("INIT_CWD", Deno.cwd() + "/experiments");
 * equal(userPath("9ada9179.ts"), Deno.cwd() + "/experiments/9ada9179.ts");
 * equal(userPath("runs", { base: "project" }), Deno.cwd() + "/runs");
 * Deno.env.set("INIT_CWD", Deno.cwd());
 * equal(userPath("runs"), "runs");
 * if (saved === undefined) Deno.env.delete("INIT_CWD");
 * else Deno.env.set("INIT_CWD", saved);
 * ```
 */
export function userPath(path: string, options: UserPathOptions = {}): string {
  const init = Deno.env.get("INIT_CWD");
  if (!init || isAbsolute(path) || resolve(init) === resolve(".")) return path;
  return options.base === "project" ? resolve(path) : resolve(init, path);
}

/** An error class a task turns into a one-line message. */
// deno-lint-ignore no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/** Options for {@linkcode runKnown}. */
export interface RunKnownOptions {
  /**
   * Put before the error line, e.g. `"convert: "`.
   * @default {""}
   */
  prefix?: string;
}

/**
 * Run a task's body; an error of one of the `known` classes becomes one line
 * on stderr (after `prefix`) and exit code 1, anything else is rethrown.
 *
 * @example Map a RangeError to exit code 1
 * ```ts
 * import { runKnown } from "./cli.ts";
 * const code = await runKnown([RangeError], () => {
 *   throw new RangeError("Invalid --n 'x': expected an integer >= 1");
 * }, { prefix: "demo: " });
 * console.assert(code === 1);
 * ```
 */
export async function runKnown(
  known: readonly ErrorClass[],
  body: () => number | Promise<number>,
  options: RunKnownOptions = {},
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (known.some((k) => e instanceof k)) {
      console.error(`${options.prefix ?? ""}${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
