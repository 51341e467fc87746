/**
 * Generated files that are written once, under a content-hashed name, in voxlab's cache dir.
 *
 * A file is written to a temporary name and renamed into place, so a reader (another process,
 * a worker thread) sees either no file or the whole file, never a truncated one. A file that is
 * already present with the right content is never rewritten.
 *
 * @module
 */

/** The environment variables {@linkcode voxlabCacheDir} reads, in order. */
const CACHE_VARIABLES = Deno.build.os === "windows"
  ? ["XDG_CACHE_HOME", "LOCALAPPDATA", "USERPROFILE"]
  : ["XDG_CACHE_HOME", "HOME"];

/** Whether a permission is granted, asking nothing (a prompt would stall a training run). */
export function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/**
 * voxlab's cache dir: `$XDG_CACHE_HOME/voxlab`, else `~/.cache/voxlab` (`%LOCALAPPDATA%\\voxlab`
 * on Windows).
 *
 * @throws {Error} when env access is not granted or no home or cache dir is set
 */
export function voxlabCacheDir(): string {
  const missing = CACHE_VARIABLES.filter((variable) => !granted({ name: "env", variable }));
  if (missing.length > 0) {
    throw new Error(`finding the cache dir needs --allow-env=${CACHE_VARIABLES.join(",")}`);
  }
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/voxlab`;
  if (Deno.build.os === "windows") {
    const local = Deno.env.get("LOCALAPPDATA");
    if (local) return `${local}\\voxlab`;
  }
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (home) return `${home}/.cache/voxlab`;
  throw new Error(`no cache dir: none of ${CACHE_VARIABLES.join(", ")} is set`);
}

/** Hex SHA-256 of a text. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Make sure `dir/<stem>-<hash><ext>` holds `content`, and return its path.
 *
 * The hash is the first 16 hex digits of the content's SHA-256, so different contents never share
 * a name. When the file exists with that content it is left alone; otherwise the content goes to
 * a unique temporary file in `dir` that is then renamed over the target (atomic on one file
 * system).
 *
 * @throws {Error} when read and write access to `dir` are not granted (nothing is asked), or the
 *   file system refuses
 *
 * @example Write a generated script once
 * ```ts
 * import { writeOnce } from "./write_once.ts";
 * const dir = await Deno.makeTempDir();
 * const a = await writeOnce(dir, "hello", ".cjs", "module.exports = 1;\n");
 * const b = await writeOnce(dir, "hello", ".cjs", "module.exports = 1;\n");
 * console.assert(a === b);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeOnce(
  dir: string,
  stem: string,
  ext: string,
  content: string,
): Promise<string> {
  if (!granted({ name: "read", path: dir }) || !granted({ name: "write", path: dir })) {
    throw new Error(`needs --allow-read and --allow-write for '${dir}'`);
  }
  const path = `${dir}/${stem}-${(await sha256Hex(content)).slice(0, 16)}${ext}`;
  try {
    if ((await Deno.readTextFile(path)) === content) return path;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, content);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  return path;
}
