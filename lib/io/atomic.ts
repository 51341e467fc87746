/**
 * Durable file writes: atomic replacement, fsync of the file and its folder,
 * and the clean-up of temporary files a killed writer left behind.
 *
 * A file is written to a temporary sibling named
 * `<name>.<pid>.<8 hex>.tmp` (unique per process and per write, so two
 * writers never share one), synced, renamed over the target, and the folder
 * is synced so that the rename itself survives a power cut. When anything
 * fails the temporary file is removed, the target is left as it was, and the
 * error is an {@linkcode IoError} naming the path and the cause.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { IoError } from "./io_error.ts";

/** What {@linkcode writeFileAtomic} writes: text, bytes, or byte chunks in order. */
export type FileContent = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** The pattern of a temporary name made by {@linkcode tempPathFor}: `<name>.<pid>.<hex>.tmp`. */
const TEMP_NAME = /^(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * A unique temporary sibling of `path`: `<path>.<pid>.<8 hex>.tmp`.
 *
 * @example
 * ```ts
 * import { tempPathFor } from "./atomic.ts";
 * console.assert(tempPathFor("a/b.json") !== tempPathFor("a/b.json"));
 * console.assert(tempPathFor("a/b.json").startsWith(`a/b.json.${Deno.pid}.`));
 * ```
 */
export function tempPathFor(path: string): string {
  return `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Flush a folder's entries (renames, new files) to disk, where the platform
 * allows it (Linux and macOS; elsewhere it does nothing).
 *
 * @throws {IoError} when the folder cannot be opened or synced
 */
export async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(dir, { read: true });
  } catch (e) {
    throw IoError.from("sync folder", dir, e);
  }
  try {
    await file.sync();
  } catch (e) {
    // Some file systems refuse fsync on a folder (EINVAL); the rename is done all the same.
    if (!(e instanceof Error && /os error 22\b/.test(e.message))) {
      throw IoError.from("sync folder", dir, e);
    }
  } finally {
    file.close();
  }
}

async function* chunksOf(content: FileContent): AsyncIterable<Uint8Array> {
  if (typeof content === "string") yield new TextEncoder().encode(content);
  else if (content instanceof Uint8Array) yield content;
  else yield* content;
}

/** Options for {@linkcode writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /**
   * Sync the file's data and the folder's entry to disk before returning.
   * Off only for files that may be lost in a power cut (images, caches).
   * @default {true}
   */
  sync?: boolean;
}

/**
 * Replace `path` with `content` atomically: a reader, or a crash at any
 * moment, sees the old file or the new one, never a mix. The temporary file
 * is removed when the write fails.
 *
 * @throws {IoError} naming `path` and the cause (`No space left on device`,
 *   `Permission denied`, …); the old file is kept
 *
 * @example Write, then replace
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, "one");
 * await writeFileAtomic(`${dir}/a.txt`, [new TextEncoder().encode("two")]);
 * console.assert((await Deno.readTextFile(`${dir}/a.txt`)) === "two");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  content: FileContent,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const sync = options.sync ?? true;
  const tmp = tempPathFor(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true });
  } catch (e) {
    throw IoError.from("write", path, e);
  }
  let step = "write";
  try {
    try {
      for await (const bytes of chunksOf(content)) {
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
      }
      step = "sync";
      if (sync) await file.sync();
    } finally {
      file.close();
    }
    step = "rename";
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw IoError.from(step === "rename" ? "rename into" : "write", path, e);
  }
  if (sync) await syncDir(dirname(path) || ".");
}

/** A temporary file removed by {@linkcode removeStaleTemps}. */
export interface RemovedTemp {
  /** Its path. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
}

/** Options for {@linkcode removeStaleTemps}. */
export interface RemoveStaleTempsOptions {
  /**
   * Remove every `*.tmp` file in the folder, whoever wrote it. Right when
   * the caller holds the folder's lock (so no one else is writing there).
   * Otherwise only temporary files of {@linkcode tempPathFor}'s form whose
   * process is no longer running on this machine are removed.
   * @default {false}
   */
  all?: boolean;
}

/** Whether a process id is running on this machine; `true` when it cannot be told. */
export function processAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Remove the temporary files a killed writer left in `dir` (a partial
 * checkpoint can hold gigabytes of a full disk). Returns what was removed.
 *
 * @example
 * ```ts
 * import { removeStaleTemps } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/c.vxck.999999999.0123abcd.tmp`, "partial");
 * const removed = await removeStaleTemps(dir);
 * console.assert(removed.length === 1 && removed[0]!.bytes === 7);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeStaleTemps(
  dir: string,
  options: RemoveStaleTempsOptions = {},
): Promise<RemovedTemp[]> {
  const removed: RemovedTemp[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return removed;
    throw IoError.from("list", dir, e);
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".tmp")) continue;
    const match = TEMP_NAME.exec(entry.name);
    const stale = options.all || (match !== null && !processAlive(Number(match[2])));
    if (!stale) continue;
    const path = join(dir, entry.name);
    try {
      const { size } = await Deno.stat(path);
      await Deno.remove(path);
      removed.push({ path, bytes: size });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw IoError.from("remove", path, e);
    }
  }
  if (removed.length > 0) await syncDir(dir);
  return removed;
}

/** One line telling what {@linkcode removeStaleTemps} removed, or `""` when nothing. */
export function describeRemovedTemps(removed: readonly RemovedTemp[]): string {
  if (removed.length === 0) return "";
  const bytes = removed.reduce((s, r) => s + r.bytes, 0);
  const names = removed.map((r) => basename(r.path)).join(", ");
  return `voxlab: removed ${removed.length} temporary file(s) left by a killed writer ` +
    `(${(bytes / 1e6).toFixed(1)} MB): ${names}`;
}
