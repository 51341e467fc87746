/**
 * Notice when `deno` runs under the npm package's Node wrapper.
 *
 * The npm package `deno` ships the binary and a Node script, `bin.cjs`, that
 * runs it with `child_process.spawnSync`. Its install script points the
 * command `deno` at the binary itself; when install scripts do not run
 * (`npm install --ignore-scripts`, `ignore-scripts=true` in `.npmrc`, package
 * managers that block build scripts by default), `deno` stays the Node script.
 * Node has no SIGINT handler while it waits in `spawnSync`, so Ctrl-C kills
 * the wrapper at once: the shell prompt comes back while training, which got
 * the same Ctrl-C, still finishes its iteration and writes its checkpoint
 * (10–25 s at full size), and closing the terminal then loses it.
 * `npm rebuild deno` runs the install script again and links the binary.
 *
 * Linux only (it reads `/proc`); elsewhere it finds nothing.
 *
 * @module
 */

/** Options for {@linkcode npmWrapperAncestor}. */
export interface NpmWrapperOptions {
  /**
   * The proc filesystem to read.
   * @default {"/proc"}
   */
  procRoot?: string;
  /**
   * The process whose ancestors are searched (itself included).
   * @default {Deno.ppid}
   */
  pid?: number;
  /**
   * How many generations to look at.
   * @default {6}
   */
  depth?: number;
}

/**
 * The path of the npm `deno` wrapper (`…/deno/bin.cjs`) if a process among
 * the ancestors runs it under Node, else `null`.
 *
 * @example Nothing to find outside Linux or without a wrapper
 * ```ts
 * import { npmWrapperAncestor } from "./npm_wrapper.ts";
 * const found = npmWrapperAncestor({ procRoot: "/nonexistent" });
 * console.assert(found === null);
 * ```
 */
export function npmWrapperAncestor(options: NpmWrapperOptions = {}): string | null {
  const root = options.procRoot ?? "/proc";
  let pid = options.pid ?? Deno.ppid;
  for (let i = 0; i < (options.depth ?? 6) && pid > 1; i++) {
    let args: string[], stat: string;
    try {
      args = Deno.readTextFileSync(`${root}/${pid}/cmdline`).split("\0").filter((a) => a);
      stat = Deno.readTextFileSync(`${root}/${pid}/stat`);
    } catch {
      return null;
    }
    const program = args[0]?.split("/").pop() ?? "";
    const script = args.slice(1).find((a) => !a.startsWith("-"));
    if (/^node(js)?(\d+)?$/.test(program) && script && /(^|\/)deno\/bin\.cjs$/.test(script)) {
      return script;
    }
    // stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!Number.isInteger(ppid)) return null;
    pid = ppid;
  }
  return null;
}

/**
 * A one-line notice for a long-running task when `deno` is the npm wrapper,
 * else `null`.
 *
 * @example
 * ```ts
 * import { npmWrapperNotice } from "./npm_wrapper.ts";
 * const notice = npmWrapperNotice({ procRoot: "/nonexistent" });
 * console.assert(notice === null);
 * ```
 */
export function npmWrapperNotice(options: NpmWrapperOptions = {}): string | null {
  const wrapper = npmWrapperAncestor(options);
  if (wrapper === null) return null;
  return `voxlab: note: deno runs through npm's Node wrapper (${wrapper}), so Ctrl-C gives ` +
    `the prompt back before the checkpoint is written; 'npm rebuild deno' (with -g for a global ` +
    `install) makes 'deno' the binary itself (README, Getting Deno)`;
}
