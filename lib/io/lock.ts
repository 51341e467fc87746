/**
 * One writer per folder: an exclusive operating-system lock (`flock` on
 * Linux and macOS, `LockFileEx` on Windows) on a lock file inside it.
 *
 * The lock belongs to the open file, so it dies with its process: a writer
 * killed with `kill -9` leaves no lock behind, and there is nothing stale to
 * take over. The lock file also holds who has it (pid, host, what for,
 * since when), so a second writer is refused with a line naming the holder.
 *
 * @module
 */
import { join } from "node:path";
import { IoError } from "./io_error.ts";

/** Who holds a lock, as written into the lock file. */
export interface LockHolder {
  /** Process id. */
  pid: number;
  /** Host name. */
  host: string;
  /** What the holder is doing, e.g. `train --resume`. */
  purpose: string;
  /** When the lock was taken, ISO 8601. */
  since: string;
}

/** A folder that another process is writing; the message names the holder. */
export class LockedError extends Error {
  /** The error class name. */
  override name = "LockedError";
  /** The holder, when the lock file says who it is. */
  readonly holder: LockHolder | null;

  /** Build the error. */
  constructor(message: string, holder: LockHolder | null) {
    super(message);
    this.holder = holder;
  }
}

/** A held lock; release it with {@linkcode DirLock.release} (or let the process end). */
export class DirLock {
  /** The lock file. */
  readonly path: string;
  #file: Deno.FsFile | null;

  /** Wrap an open, locked file. */
  constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Whether the lock is still held by this object. */
  get held(): boolean {
    return this.#file !== null;
  }

  /** Release the lock (closing the file). Safe to call twice. */
  release(): void {
    if (!this.#file) return;
    try {
      this.#file.unlockSync();
    } catch { /* closing below releases it too */ }
    this.#file.close();
    this.#file = null;
  }

  /** Release on `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** Options for {@linkcode lockDir}. */
export interface LockDirOptions {
  /**
   * What the holder does, written into the lock file and shown to a refused writer.
   * @default {"write"}
   */
  purpose?: string;
  /**
   * The lock file's name inside the folder.
   * @default {"run.lock"}
   */
  name?: string;
  /**
   * What the refusal says the caller could not do, e.g. `resume run 'runs/x/1'`.
   * @default {"write to '<dir>'"}
   */
  action?: string;
}

/** This machine's name, or `"unknown"` without `--allow-sys`. */
function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

function describeHolder(holder: LockHolder | null): string {
  if (!holder) return "another process";
  const here = holder.host === hostName() ? "" : ` on host ${holder.host}`;
  return `process ${holder.pid}${here} (${holder.purpose}, since ${holder.since})`;
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const json = JSON.parse(await Deno.readTextFile(path));
    if (typeof json?.pid === "number" && typeof json?.host === "string") return json as LockHolder;
  } catch { /* being written, or empty */ }
  return null;
}

/**
 * Take the exclusive lock of `dir`, or refuse at once when another process
 * (or another open of the same file in this process) holds it.
 *
 * @throws {LockedError} `Cannot <action>: it is in use by process <pid> (<purpose>, since <time>)`
 * @throws {IoError} when the lock file cannot be created
 *
 * @example The second writer is refused
 * ```ts
 * import { LockedError, lockDir } from "./lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockDir(dir, { purpose: "train" });
 * try {
 *   await lockDir(dir);
 *   throw new Error("not refused");
 * } catch (e) {
 *   console.assert(e instanceof LockedError && e.holder?.pid === Deno.pid);
 * }
 * lock.release();
 * (await lockDir(dir)).release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockDir(dir: string, options: LockDirOptions = {}): Promise<DirLock> {
  const path = join(dir, options.name ?? "run.lock");
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (e) {
    throw IoError.from("create lock file", path, e);
  }
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (e) {
    file.close();
    throw IoError.from("lock", path, e);
  }
  if (!locked) {
    file.close();
    const holder = await readHolder(path);
    throw new LockedError(
      `Cannot ${options.action ?? `write to '${dir}'`}: it is in use by ${describeHolder(holder)}`,
      holder,
    );
  }
  const holder: LockHolder = {
    pid: Deno.pid,
    host: hostName(),
    purpose: options.purpose ?? "write",
    since: new Date().toISOString(),
  };
  try {
    await file.truncate(0);
    const bytes = new TextEncoder().encode(JSON.stringify(holder) + "\n");
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
  } catch (e) {
    file.close();
    throw IoError.from("write lock file", path, e);
  }
  return new DirLock(path, file);
}
